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
# The repository's main job on embedded data (no download), CPU:
#   1. SparCode: train SparCode and the two-tower baseline on a synthetic preset, build SparCode's inverted index,
#      evaluate SparCode through the index and two-tower by brute force, print both side by side;
#   2. DG-SCT: tiny config on a generated synthetic AVE set: train, evaluate, export MindIR.
# Usage: bash run_demo.sh [OUTPUT_DIR](optional, default ./outputs/demo)
set -e
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$(realpath -m "${1:-${ROOT}/outputs/demo}")"
# interpreter of the MindSpore environment (python3 when no `python` is on PATH)
PYTHON="${PYTHON:-$(command -v python || command -v python3)}"
export PYTHON
start=$(date +%s)
echo "== SparCode (research/recommend/sparcode) =="
bash "${ROOT}/research/recommend/sparcode/scripts/run_demo.sh" "${OUT}/sparcode"
echo "== DG-SCT (research/cv/dgsct) =="
bash "${ROOT}/research/cv/dgsct/scripts/run_demo.sh" "${OUT}/dgsct"
echo "main job finished in $(( $(date +%s) - start )) s; outputs in ${OUT}"
