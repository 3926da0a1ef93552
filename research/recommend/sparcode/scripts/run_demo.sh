#!/bin/bash
# Copyright 2026 The MindSpore Model Zoo Contributors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
# http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
# ============================================================================
# Demo on the embedded synthetic data (no download): train SparCode and the two-tower baseline on the same preset,
# build SparCode's inverted index, evaluate SparCode THROUGH the index and two-tower by brute force, and print the
# metrics side by side.
#   bash scripts/run_demo.sh [OUTPUT_DIR](optional, default ./demo) [CONFIG_PATH](optional, configs/synthetic_demo.yaml)
#                            [TWO_TOWER_CONFIG_PATH](optional, configs/synthetic_demo_two_tower.yaml)
#                            [--key=value ...](optional, passed to both trainings)
# The baseline is configs/synthetic_demo_two_tower.yaml (also used by tests/test_quality.py).
# `python` must be the interpreter of the MindSpore environment (an activated venv), or set PYTHON=/path/to/python.

BASE_PATH=$(cd "$(dirname "$0")/.." || exit; pwd)
# shellcheck source=/dev/null
source "$BASE_PATH/scripts/common.sh"
OUTPUT_DIR=$(get_real_path "${1:-demo}")
CONFIG_PATH=$(get_real_path "${2:-$BASE_PATH/configs/synthetic_demo.yaml}")
TWO_TOWER_CONFIG_PATH="$BASE_PATH/configs/synthetic_demo_two_tower.yaml"
if [ $# -ge 3 ] && [ "${3#--}" = "$3" ]; then TWO_TOWER_CONFIG_PATH=$(get_real_path "$3"); shift 3
elif [ $# -ge 2 ]; then shift 2; else shift $#; fi
TRAIN_ARGS=("$@")
require_file CONFIG_PATH "$CONFIG_PATH"
require_file TWO_TOWER_CONFIG_PATH "$TWO_TOWER_CONFIG_PATH"
rm -rf "$OUTPUT_DIR"
mkdir -p "$OUTPUT_DIR"
START=$(date +%s)

run() {  # run a step quietly, keep its log, stop the demo if it fails
    local name=$1
    shift
    echo "[$(($(date +%s) - START))s] $name"
    if ! "$PYTHON" "$@" > "$OUTPUT_DIR/$name.log" 2>&1; then
        grep -v "WARNING" "$OUTPUT_DIR/$name.log" | tail -30
        echo "error: step '$name' failed, full log: $OUTPUT_DIR/$name.log"
        exit 1
    fi
}

run train_sparcode "$BASE_PATH/train.py" --config_path="$CONFIG_PATH" --model=sparcode \
    --ckpt_path="$OUTPUT_DIR/sparcode" "${TRAIN_ARGS[@]}"
run train_two_tower "$BASE_PATH/train.py" --config_path="$TWO_TOWER_CONFIG_PATH" \
    --ckpt_path="$OUTPUT_DIR/two_tower" "${TRAIN_ARGS[@]}"
run eval_sparcode "$BASE_PATH/eval.py" --ckpt_path="$OUTPUT_DIR/sparcode" --metrics_file="$OUTPUT_DIR/sparcode.json"
run eval_two_tower "$BASE_PATH/eval.py" --ckpt_path="$OUTPUT_DIR/two_tower" --metrics_file="$OUTPUT_DIR/two_tower.json"

"$PYTHON" - "$OUTPUT_DIR/sparcode.json" "$OUTPUT_DIR/two_tower.json" << 'PYEOF'
import json
import sys

sc, tt = (json.load(open(path, encoding="utf-8")) for path in sys.argv[1:3])
print(f"\n{sc['dataset']}, {sc['split']} split, {sc['n_queries']} users, {sc['n_items']} items "
      f"(train items excluded from the ranking)")
print(f"{'metric':<14}{'SparCode (index)':>18}{'two-tower':>12}{'delta':>9}")
for name in ("recall", "ndcg", "hitrate", "precision"):
    for k in sc["topk"]:
        key = f"{name}@{k}"
        print(f"{key:<14}{sc['metrics'][key]:>18.4f}{tt['metrics'][key]:>12.4f}"
              f"{sc['metrics'][key] - tt['metrics'][key]:>+9.4f}")
ix = sc["index"]
print(f"\nSparCode index: {ix['codes']} codes of {ix['code_space']}, {ix['nnz']} entries, density "
      f"{ix['density']:.4f}, mean/max posting length {ix['mean_posting_length']:.1f}/{ix['max_posting_length']}, "
      f"{ix['bytes'] / 2 ** 20:.2f} MB, score bias {ix['score_bias']}")
PYEOF
echo "demo finished in $(($(date +%s) - START))s; outputs in $OUTPUT_DIR"
