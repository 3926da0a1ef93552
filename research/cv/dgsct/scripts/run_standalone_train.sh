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
# Usage: bash scripts/run_standalone_train.sh [DEVICE_TARGET] [DATA_PATH] [CONFIG_PATH] [--key=value ...](optional)
# Checks the config, data and checkpoint paths first (fails with exit 1), then trains in the background in
# ./train_standalone: prints the pid; log in log.txt; the exit code goes to exit_status when training ends.
if [ $# -lt 3 ]; then
    echo "Usage: bash scripts/run_standalone_train.sh [DEVICE_TARGET] [DATA_PATH] [CONFIG_PATH] [--key=value ...](optional)"
    exit 1
fi
BASE_PATH=$(cd "$(dirname "$0")/.." || exit; pwd)
source "$BASE_PATH/scripts/common.sh"
DEVICE_TARGET=$1
DATA_PATH=$(get_real_path "$2")
CONFIG_PATH=$(get_real_path "$3")
shift 3
require_dir DATA_PATH "$DATA_PATH"
require_file CONFIG_PATH "$CONFIG_PATH"
resolve_extra_args "$@"
RUN_DIR=$PWD/train_standalone
ARGS=(--config_path="$CONFIG_PATH" --data.root="$DATA_PATH" --device_target="$DEVICE_TARGET"
      --ckpt_path="$RUN_DIR/ckpt" "${EXTRA_ARGS[@]}")
"$PYTHON" "$BASE_PATH/train.py" "${ARGS[@]}" --dry_run || exit 1
CKPT_SUBDIR=ckpt new_run_dir "$RUN_DIR" "${EXTRA_ARGS[@]}" && cd "$RUN_DIR" || exit 1
write_run_env env.log
start_background "$RUN_DIR/log.txt" "$PYTHON" "$BASE_PATH/train.py" "${ARGS[@]}"
echo "training started in the background (pid $BG_PID); log: $RUN_DIR/log.txt, checkpoints: $RUN_DIR/ckpt,"
echo "exit code: $RUN_DIR/exit_status when it ends"
