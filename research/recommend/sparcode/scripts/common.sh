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
# Helpers sourced by the run_*.sh scripts (not meant to be run directly).

get_real_path() {
    if [ "${1:0:1}" == "/" ]; then echo "$1"; else realpath -m "$PWD/$1"; fi
}

require_file() {  # require_file NAME PATH
    if [ ! -f "$2" ]; then
        echo "error: $1=$2 is not a file"
        exit 1
    fi
}

# set_data_args DATA_PATH: DATA_ARGS=(--data_path=<abs>) for a MovieLens folder, () for "none" (synthetic data)
set_data_args() {
    DATA_ARGS=()
    if [ "$1" != "none" ]; then
        local path
        path=$(get_real_path "$1")
        if [ ! -d "$path" ]; then
            echo "error: DATA_PATH=$path is not a directory"
            exit 1
        fi
        DATA_ARGS=("--data_path=$path")
    fi
}

# interpreter of the MindSpore environment; override with PYTHON=/path/to/venv/bin/python
PYTHON=${PYTHON:-python}

# new_run_dir DIR ARGS...: an empty DIR for the run, except that with --resume (continue the last checkpoint in
# ckpt_path) its checkpoint folder DIR/CKPT_SUBDIR is kept, since the run continues from it.
new_run_dir() {
    local dir=$1 keep=""
    shift
    if printf '%s\n' "$@" | grep -qE '^--resume(=.*)?$' && ! printf '%s\n' "$@" | grep -qE '^--resume=(false|False)$'; then
        keep=$CKPT_SUBDIR
    fi
    if [ -n "$keep" ] && [ -d "$dir" ]; then
        find "$dir" -mindepth 1 -maxdepth 1 ! -name "$keep" -exec rm -rf {} +
    else
        rm -rf "$dir"
    fi
    mkdir -p "$dir"
}
