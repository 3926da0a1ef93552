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
# Data-parallel training with msrun (MindSpore >= 2.3; works on CPU, GPU and Ascend without OpenMPI or a rank table).
#   bash scripts/run_distribute_train.sh [DEVICE_TARGET] [DEVICE_NUM] [DATA_PATH] [CONFIG_PATH] [--key=value ...](optional)
# DATA_PATH: folder of the original MovieLens files, or "none" for the synthetic configs.
# Output: ./train_distribute/{log/worker_<rank>.log, log/scheduler.log, checkpoints/} in the current directory.
#
# This script activates nothing: msrun starts every worker with the bare command `python` found on PATH, so run it
# from a shell where `python` is the interpreter of the MindSpore environment (e.g. `source <venv>/bin/activate`).
# Each rank trains on its own shard with batch_size samples; gradients are averaged (global batch =
# batch_size * DEVICE_NUM, scale lr accordingly). Checkpoints and the index are written by rank 0 only.
#
# Ascend with a rank table instead of msrun (older stacks): generate the json with the model zoo's
# utils/hccl_tools/hccl_tools.py, then start one process per card:
#     export RANK_TABLE_FILE=/path/hccl_8p.json RANK_SIZE=8
#     for i in $(seq 0 7); do
#         export DEVICE_ID=$i RANK_ID=$i
#         python train.py --config_path=... --device_target=Ascend > log_$i.txt 2>&1 &
#     done
# (msrun also accepts --rank_table_file=/path/hccl_8p.json on Ascend clusters.)

if [ $# -lt 4 ]; then
    echo "Usage: bash run_distribute_train.sh [DEVICE_TARGET] [DEVICE_NUM] [DATA_PATH] [CONFIG_PATH] [--key=value ...](optional)"
    exit 1
fi

BASE_PATH=$(cd "$(dirname "$0")/.." || exit; pwd)
# shellcheck source=/dev/null
source "$BASE_PATH/scripts/common.sh"
DEVICE_TARGET=$1
DEVICE_NUM=$2
DATA_PATH=$3
CONFIG_PATH=$(get_real_path "$4")
shift 4
set_data_args "$DATA_PATH"
require_file CONFIG_PATH "$CONFIG_PATH"
if ! command -v msrun > /dev/null; then
    echo "error: msrun not found on PATH (it comes with the mindspore wheel; activate its environment)"
    exit 1
fi

RUN_DIR=$PWD/train_distribute
CKPT_SUBDIR=checkpoints new_run_dir "$RUN_DIR" "$@"
cd "$RUN_DIR" || exit
env > env.log
msrun --worker_num="$DEVICE_NUM" --local_worker_num="$DEVICE_NUM" --master_port="${MASTER_PORT:-8118}" \
    --log_dir="$RUN_DIR/log" --join=False \
    "$BASE_PATH/train.py" --config_path="$CONFIG_PATH" --device_target="$DEVICE_TARGET" \
    --ckpt_path="$RUN_DIR/checkpoints" "${DATA_ARGS[@]}" "$@"
echo "distributed training started; logs: $RUN_DIR/log/worker_*.log, checkpoints: $RUN_DIR/checkpoints"
