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
# Usage: bash scripts/run_export.sh [CKPT_PATH] [CONFIG_PATH] [FILE_NAME](optional) [--key=value ...](optional)
# Writes FILE_NAME.mindir and FILE_NAME.yaml (relative to the current folder); exits with export.py's exit code.
if [ $# -lt 2 ]; then
    echo "Usage: bash scripts/run_export.sh [CKPT_PATH] [CONFIG_PATH] [FILE_NAME](optional) [--key=value ...](optional)"
    exit 1
fi
BASE_PATH=$(cd "$(dirname "$0")/.." || exit; pwd)
source "$BASE_PATH/scripts/common.sh"
CKPT_PATH=$(get_real_path "$1")
CONFIG_PATH=$(get_real_path "$2")
FILE_NAME=$(get_real_path "${3:-dgsct}")
shift 2; [ $# -gt 0 ] && shift
require_file CKPT_PATH "$CKPT_PATH"
require_file CONFIG_PATH "$CONFIG_PATH"
resolve_extra_args "$@"
"$PYTHON" "$BASE_PATH/export.py" --config_path="$CONFIG_PATH" --ckpt_file="$CKPT_PATH" --file_name="$FILE_NAME" \
    "${EXTRA_ARGS[@]}"
