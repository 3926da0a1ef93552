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
# DG-SCT demo: tiny config on a generated synthetic AVE set: generate data, train 8 epochs, evaluate, export (CPU).
# Usage: bash scripts/run_demo.sh [OUTPUT_DIR](optional, default ./outputs/demo)
set -e
BASE_PATH=$(cd "$(dirname "$0")/.." || exit; pwd)
OUT=$(realpath -m "${1:-$BASE_PATH/outputs/demo}")
PYTHON=${PYTHON:-python}
cd "$BASE_PATH"
start=$(date +%s)
$PYTHON -m src.data.synthetic --out "$OUT/data" --videos 48 --classes 4 --rate 8000
COMMON=(--config_path=configs/tiny/ave.yaml --data.root="$OUT/data")
$PYTHON train.py "${COMMON[@]}" --ckpt_path="$OUT/train"
$PYTHON eval.py "${COMMON[@]}" --ckpt_file="$OUT/train/last.ckpt" --metrics_file="$OUT/metrics.json" --plot="$OUT/plots"
$PYTHON export.py "${COMMON[@]}" --ckpt_file="$OUT/train/last.ckpt" --file_name="$OUT/dgsct_ave_tiny"
echo "DG-SCT demo done in $(( $(date +%s) - start )) s: metrics $OUT/metrics.json, MindIR $OUT/dgsct_ave_tiny.mindir"
