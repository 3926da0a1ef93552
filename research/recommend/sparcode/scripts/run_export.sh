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
# Export MindIR files (query side, g, item tokenizer) plus the index and config, for infer.py.
#   bash scripts/run_export.sh [CKPT_PATH] [FILE_NAME] [FILE_FORMAT](optional, MINDIR)
# FILE_NAME is a path prefix: <FILE_NAME>_query.mindir, _g.mindir, _item.mindir, _index.npz, _config.yaml.

if [ $# -lt 2 ]; then
    echo "Usage: bash run_export.sh [CKPT_PATH] [FILE_NAME] [FILE_FORMAT](optional, MINDIR)"
    exit 1
fi

BASE_PATH=$(cd "$(dirname "$0")/.." || exit; pwd)
# shellcheck source=/dev/null
source "$BASE_PATH/scripts/common.sh"
CKPT_PATH=$(get_real_path "$1")
FILE_NAME=$(get_real_path "$2")
FILE_FORMAT=${3:-MINDIR}
require_file CKPT_PATH "$CKPT_PATH"
"$PYTHON" "$BASE_PATH/export.py" --ckpt_file="$CKPT_PATH" --file_name="$FILE_NAME" --file_format="$FILE_FORMAT" 2>&1 \
    | grep -v "WARNING"
exit "${PIPESTATUS[0]}"
