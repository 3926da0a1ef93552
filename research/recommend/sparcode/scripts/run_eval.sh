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
# Evaluate a checkpoint (SparCode through its inverted index; two-tower / all-to-all by brute force).
#   bash scripts/run_eval.sh [DEVICE_TARGET] [DATA_PATH] [CKPT_PATH] [CONFIG_PATH](optional)
# The config.yaml saved by train.py next to CKPT_PATH is used; CONFIG_PATH only when there is none.
# DATA_PATH: MovieLens folder, or "none" for synthetic data. Output: ./eval/{log.txt, metrics.json}.

if [ $# -lt 3 ]; then
    echo "Usage: bash run_eval.sh [DEVICE_TARGET] [DATA_PATH] [CKPT_PATH] [CONFIG_PATH](optional)"
    exit 1
fi

BASE_PATH=$(cd "$(dirname "$0")/.." || exit; pwd)
# shellcheck source=/dev/null
source "$BASE_PATH/scripts/common.sh"
DEVICE_TARGET=$1
DATA_PATH=$2
CKPT_PATH=$(get_real_path "$3")
require_file CKPT_PATH "$CKPT_PATH"
set_data_args "$DATA_PATH"
ARGS=("--ckpt_file=$CKPT_PATH" "--device_target=$DEVICE_TARGET" "${DATA_ARGS[@]}")
if [ $# -ge 4 ]; then
    CONFIG_PATH=$(get_real_path "$4")
    require_file CONFIG_PATH "$CONFIG_PATH"
    ARGS+=("--config_path=$CONFIG_PATH")
fi

RUN_DIR=$PWD/eval
rm -rf "$RUN_DIR"
mkdir -p "$RUN_DIR"
cd "$RUN_DIR" || exit
"$PYTHON" "$BASE_PATH/eval.py" "${ARGS[@]}" --metrics_file="$RUN_DIR/metrics.json" > log.txt 2>&1
STATUS=$?
grep -v "WARNING" log.txt
exit $STATUS
