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
# Usage: bash scripts/run_standalone_train.sh [DEVICE_TARGET] [DATA_PATH] [CONFIG_PATH] [EXTRA --key=value ...](optional)
if [ $# -lt 3 ]; then
    echo "Usage: bash scripts/run_standalone_train.sh [DEVICE_TARGET] [DATA_PATH] [CONFIG_PATH] [--key=value ...](optional)"
    exit 1
fi
BASE_PATH=$(cd "$(dirname "$0")/.." || exit; pwd)
get_real_path() { if [ "${1:0:1}" == "/" ]; then echo "$1"; else realpath -m "$PWD/$1"; fi; }
DEVICE_TARGET=$1
DATA_PATH=$(get_real_path "$2")
CONFIG_PATH=$(get_real_path "$3")
shift 3
if [ ! -d "$DATA_PATH" ]; then echo "error: DATA_PATH=$DATA_PATH is not a directory"; exit 1; fi
if [ ! -f "$CONFIG_PATH" ]; then echo "error: CONFIG_PATH=$CONFIG_PATH is not a file"; exit 1; fi
RUN_DIR=$PWD/train_standalone
rm -rf "$RUN_DIR" && mkdir -p "$RUN_DIR" && cd "$RUN_DIR" || exit 1
env > env.log
python "$BASE_PATH/train.py" --config_path="$CONFIG_PATH" --data.root="$DATA_PATH" --device_target="$DEVICE_TARGET" \
    --train.output_dir="$RUN_DIR/ckpt" "$@" > log.txt 2>&1 &
echo "training started in the background; log: $RUN_DIR/log.txt, checkpoints: $RUN_DIR/ckpt"
