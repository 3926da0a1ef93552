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
# Usage: [MASTER_PORT=8118] bash scripts/run_distribute_train.sh [DEVICE_TARGET] [DEVICE_NUM] [DATA_PATH] [CONFIG_PATH] [--key=value ...](optional)
# Checks the config, data and checkpoint paths first (fails with exit 1), then runs msrun in the background in
# ./train_distribute: prints its pid; worker logs in logs/; the exit code goes to exit_status when all workers end.
# train.batch_size is the global batch: each of the DEVICE_NUM workers takes batch_size / DEVICE_NUM samples per step.
# Rank 0 writes the checkpoints (BatchNorm statistics averaged over the ranks) to ckpt_path (<run folder>/ckpt).
# Ascend clusters with a rank table: add --rank_table_file=[RANK_TABLE_JSON] to the msrun line below (rank table from
# utils/hccl_tools/hccl_tools.py); the rest is unchanged.
if [ $# -lt 4 ]; then
    echo "Usage: [MASTER_PORT=8118] bash scripts/run_distribute_train.sh [DEVICE_TARGET] [DEVICE_NUM] [DATA_PATH] [CONFIG_PATH] [--key=value ...](optional)"
    exit 1
fi
BASE_PATH=$(cd "$(dirname "$0")/.." || exit; pwd)
source "$BASE_PATH/scripts/common.sh"
DEVICE_TARGET=$1
DEVICE_NUM=$2
DATA_PATH=$(get_real_path "$3")
CONFIG_PATH=$(get_real_path "$4")
shift 4
require_dir DATA_PATH "$DATA_PATH"
require_file CONFIG_PATH "$CONFIG_PATH"
if ! command -v msrun > /dev/null; then echo "error: msrun not on PATH (activate the MindSpore environment)"; exit 1; fi
resolve_extra_args "$@"
RUN_DIR=$PWD/train_distribute
ARGS=(--config_path="$CONFIG_PATH" --data.root="$DATA_PATH" --device_target="$DEVICE_TARGET"
      --ckpt_path="$RUN_DIR/ckpt" "${EXTRA_ARGS[@]}")
"$PYTHON" "$BASE_PATH/train.py" "${ARGS[@]}" --dry_run --dry_run_workers="$DEVICE_NUM" || exit 1
CKPT_SUBDIR=ckpt new_run_dir "$RUN_DIR" "${EXTRA_ARGS[@]}" && cd "$RUN_DIR" || exit 1
write_run_env env.log
# msrun starts the workers with the bare word python: put $PYTHON's folder first on PATH
PYTHON_BIN=$(dirname "$(command -v "$PYTHON")")
start_background "$RUN_DIR/msrun.log" env PATH="$PYTHON_BIN:$PATH" msrun --worker_num="$DEVICE_NUM" \
    --local_worker_num="$DEVICE_NUM" --master_port="${MASTER_PORT:-8118}" --log_dir="$RUN_DIR/logs" --join=True \
    "$BASE_PATH/train.py" "${ARGS[@]}"
echo "distributed training started in the background (msrun pid $BG_PID, port ${MASTER_PORT:-8118}); logs:"
echo "$RUN_DIR/logs/worker_*.log, checkpoints: $RUN_DIR/ckpt, exit code: $RUN_DIR/exit_status when it ends"
