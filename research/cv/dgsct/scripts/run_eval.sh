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
# Usage: bash scripts/run_eval.sh [DEVICE_TARGET] [DATA_PATH] [CKPT_PATH] [CONFIG_PATH] [--key=value ...](optional)
# Evaluates in the foreground in ./eval (log.txt, metrics.json); exits with eval.py's exit code.
if [ $# -lt 4 ]; then
    echo "Usage: bash scripts/run_eval.sh [DEVICE_TARGET] [DATA_PATH] [CKPT_PATH] [CONFIG_PATH] [--key=value ...](optional)"
    exit 1
fi
BASE_PATH=$(cd "$(dirname "$0")/.." || exit; pwd)
source "$BASE_PATH/scripts/common.sh"
DEVICE_TARGET=$1
DATA_PATH=$(get_real_path "$2")
CKPT_PATH=$(get_real_path "$3")
CONFIG_PATH=$(get_real_path "$4")
shift 4
require_dir DATA_PATH "$DATA_PATH"
require_file CKPT_PATH "$CKPT_PATH"
require_file CONFIG_PATH "$CONFIG_PATH"
resolve_extra_args "$@"
RUN_DIR=$PWD/eval
rm -rf "$RUN_DIR" && mkdir -p "$RUN_DIR" && cd "$RUN_DIR" || exit 1
"$PYTHON" "$BASE_PATH/eval.py" --config_path="$CONFIG_PATH" --data.root="$DATA_PATH" --device_target="$DEVICE_TARGET" \
    --ckpt_file="$CKPT_PATH" --metrics_file="$RUN_DIR/metrics.json" "${EXTRA_ARGS[@]}" > log.txt 2>&1
STATUS=$?
if [ $STATUS -ne 0 ] || [ ! -f "$RUN_DIR/metrics.json" ]; then
    tail -n 20 log.txt
    echo "evaluation FAILED (exit $STATUS); log: $RUN_DIR/log.txt"
    exit $(( STATUS == 0 ? 1 : STATUS ))
fi
echo "evaluation done; log: $RUN_DIR/log.txt, metrics: $RUN_DIR/metrics.json"
cat "$RUN_DIR/metrics.json"
