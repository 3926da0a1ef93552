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
# Data-parallel training with msrun (Ascend, GPU and CPU; one process per device).
# Usage: bash scripts/run_distribute_train.sh [DEVICE_TARGET] [DEVICE_NUM] [DATA_PATH] [CONFIG_PATH] [--key=value ...](optional)
# Ascend clusters with a rank table: add --rank_table_file=[RANK_TABLE_JSON] to the msrun line below (rank table from
# utils/hccl_tools/hccl_tools.py); the rest is unchanged. Each rank writes its checkpoints to <output_dir>/rank_<i>/.
if [ $# -lt 4 ]; then
    echo "Usage: bash scripts/run_distribute_train.sh [DEVICE_TARGET] [DEVICE_NUM] [DATA_PATH] [CONFIG_PATH] [--key=value ...](optional)"
    exit 1
fi
BASE_PATH=$(cd "$(dirname "$0")/.." || exit; pwd)
get_real_path() { if [ "${1:0:1}" == "/" ]; then echo "$1"; else realpath -m "$PWD/$1"; fi; }
DEVICE_TARGET=$1
DEVICE_NUM=$2
DATA_PATH=$(get_real_path "$3")
CONFIG_PATH=$(get_real_path "$4")
shift 4
if [ ! -d "$DATA_PATH" ]; then echo "error: DATA_PATH=$DATA_PATH is not a directory"; exit 1; fi
if [ ! -f "$CONFIG_PATH" ]; then echo "error: CONFIG_PATH=$CONFIG_PATH is not a file"; exit 1; fi
if ! command -v msrun > /dev/null; then echo "error: msrun not on PATH (activate the MindSpore environment)"; exit 1; fi
RUN_DIR=$PWD/train_distribute
rm -rf "$RUN_DIR" && mkdir -p "$RUN_DIR" && cd "$RUN_DIR" || exit 1
env > env.log
msrun --worker_num="$DEVICE_NUM" --local_worker_num="$DEVICE_NUM" --master_port=8118 --log_dir="$RUN_DIR/logs" \
    --join=False "$BASE_PATH/train.py" --config_path="$CONFIG_PATH" --data.root="$DATA_PATH" \
    --device_target="$DEVICE_TARGET" --train.output_dir="$RUN_DIR/ckpt" "$@"
echo "distributed training started; logs: $RUN_DIR/logs/worker_*.log, checkpoints: $RUN_DIR/ckpt/rank_*"
