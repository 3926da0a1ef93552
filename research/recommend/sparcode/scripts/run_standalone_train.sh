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
# Single-process training.
#   bash scripts/run_standalone_train.sh [DEVICE_TARGET] [DATA_PATH] [CONFIG_PATH] [--key=value ...](optional)
# DATA_PATH: folder of the original MovieLens files, or "none" for the synthetic configs (data is generated).
# Output: ./train_standalone/{log.txt, checkpoints/} in the current directory; training runs in the background.
# `python` must be the interpreter of the environment with MindSpore installed (e.g. an activated venv).

if [ $# -lt 3 ]; then
    echo "Usage: bash run_standalone_train.sh [DEVICE_TARGET] [DATA_PATH] [CONFIG_PATH] [--key=value ...](optional)"
    echo "       DEVICE_TARGET: CPU | GPU | Ascend;  DATA_PATH: MovieLens folder or none"
    exit 1
fi

BASE_PATH=$(cd "$(dirname "$0")/.." || exit; pwd)
# shellcheck source=/dev/null
source "$BASE_PATH/scripts/common.sh"
DEVICE_TARGET=$1
DATA_PATH=$2
CONFIG_PATH=$(get_real_path "$3")
shift 3
set_data_args "$DATA_PATH"
require_file CONFIG_PATH "$CONFIG_PATH"

RUN_DIR=$PWD/train_standalone
CKPT_SUBDIR=checkpoints new_run_dir "$RUN_DIR" "$@"
cd "$RUN_DIR" || exit
env > env.log
"$PYTHON" "$BASE_PATH/train.py" --config_path="$CONFIG_PATH" --device_target="$DEVICE_TARGET" \
    --ckpt_path="$RUN_DIR/checkpoints" "${DATA_ARGS[@]}" "$@" > log.txt 2>&1 &
echo "training started in the background (pid $!); log: $RUN_DIR/log.txt, checkpoints: $RUN_DIR/checkpoints"
