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
# Helpers sourced by the DG-SCT scripts. $PYTHON (default: python) runs the entry points.
PYTHON=${PYTHON:-python}
# MindSpore log level: errors only (its graph-compiler warnings, e.g. "Some side effect nodes were eliminated by
# mistake", are harmless here, see README); GLOG_v=2 shows warnings again.
export GLOG_v=${GLOG_v:-3}

get_real_path() {
    if [ "${1:0:1}" == "/" ]; then echo "$1"; else realpath -m "$PWD/$1"; fi
}

require_file() {  # require_file NAME PATH
    if [ ! -f "$2" ]; then echo "error: $1=$2 is not a file"; exit 1; fi
}

require_dir() {  # require_dir NAME PATH
    if [ ! -d "$2" ]; then echo "error: $1=$2 is not a directory"; exit 1; fi
}

# EXTRA_ARGS <- "$@" with relative paths made absolute against the caller's folder, so that they still point to the
# same files after the scripts cd into their run folder: the value of every --key=value whose last key segment names
# a file or folder (*ckpt, *root, *path, *dir, *file, *file_name, plot; resume only when it is not a bool, the
# deprecated --resume=CKPT form).
resolve_extra_args() {
    EXTRA_ARGS=()
    local arg key value leaf
    for arg in "$@"; do
        if [[ "$arg" == --*=* ]]; then
            key=${arg%%=*}
            value=${arg#*=}
            leaf=${key##*[.-]}
            if [ -n "$value" ] && [ "${value:0:1}" != "/" ] && \
                { [[ "$leaf" =~ (ckpt|root|path|dir|file|file_name|plot)$ ]] || \
                  { [ "$leaf" = resume ] && [[ ! "$value" =~ ^(true|false|True|False)$ ]]; }; }; then
                arg="$key=$(get_real_path "$value")"
            fi
        fi
        EXTRA_ARGS+=("$arg")
    done
}

# Only the variables that describe the run (MindSpore, ranks, devices, threads), never the whole environment.
write_run_env() {  # write_run_env FILE
    env | grep -E '^(MS_|RANK|DEVICE_|GLOG_|OMP_NUM_THREADS|CUDA_VISIBLE_DEVICES|ASCEND_)' | sort > "$1" || true
}

# Run a command in the background; its pid goes to RUN_DIR/pid and, when it ends, its exit code to RUN_DIR/exit_status.
start_background() {  # start_background LOG_FILE COMMAND...
    local log=$1
    shift
    rm -f "$RUN_DIR/pid" "$RUN_DIR/exit_status"
    (
        "$@" > "$log" 2>&1 &
        echo $! > "$RUN_DIR/pid"
        wait $!
        echo $? > "$RUN_DIR/exit_status"
    ) &
    while [ ! -s "$RUN_DIR/pid" ]; do sleep 0.1; done
    BG_PID=$(cat "$RUN_DIR/pid")
}

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
