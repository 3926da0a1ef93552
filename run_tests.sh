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
# Runs the whole test suite: one pytest process per model folder (each model has its own `src`
# package, as the model zoo requires), then prints one combined summary line.
# Usage: bash run_tests.sh [extra pytest args]
set -u
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-python3}"
MODELS=("research/recommend/sparcode" "research/cv/dgsct")
RESULTS="${ROOT}/test-results"
mkdir -p "${RESULTS}"

status=0
for model in "${MODELS[@]}"; do
    name="$(basename "${model}")"
    echo "==================== ${model} ===================="
    (cd "${ROOT}/${model}" && "${PYTHON}" -m pytest tests -q -rs --durations=25 --junitxml="${RESULTS}/${name}.xml" "$@")
    rc=$?
    # pytest exit code 5 = no tests collected: a missing suite is a failure here.
    if [ "${rc}" -ne 0 ]; then
        echo "pytest in ${model} exited with ${rc}"
        status=1
    fi
done

"${PYTHON}" - "${RESULTS}" <<'PY'
import glob, sys
import xml.etree.ElementTree as ET
passed = failed = skipped = 0
for path in sorted(glob.glob(sys.argv[1] + "/*.xml")):
    for suite in ET.parse(path).getroot().iter("testsuite"):
        tests, fail = int(suite.get("tests", 0)), int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skip = int(suite.get("skipped", 0))
        passed += tests - fail - skip
        failed += fail
        skipped += skip
print(f"all models: {passed} passed, {failed} failed, {skipped} skipped")
PY
exit ${status}
