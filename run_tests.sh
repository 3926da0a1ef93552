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
# package, as the model zoo requires), both at the same time, each writing its output to test-results/<model>.log
# (printed, one after the other, when both are done), then prints one combined summary line.
# Usage: bash run_tests.sh [extra pytest args]        (RUN_TESTS_SERIAL=1: one suite after the other)
set -u
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-python3}"
MODELS=("research/cv/dgsct" "research/recommend/sparcode")      # the longer suite first
RESULTS="${ROOT}/test-results"
mkdir -p "${RESULTS}"
# Both suites run at the same time by default (the DG-SCT suite is mostly one busy thread, so the SparCode suite
# takes the second core); RUN_TESTS_SERIAL=1 runs them one after the other, output straight to the terminal.
SERIAL="${RUN_TESTS_SERIAL:-0}"
# Each suite gets its own pytest base temp folder (two pytest sessions sharing /tmp/pytest-of-$USER can race in the
# cleanup of old numbered folders); kept when a suite fails, removed when it passes.
TMP_BASE="$(mktemp -d "${TMPDIR:-/tmp}/run_tests.XXXXXX")"

pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill -- "-${pid}" 2>/dev/null || kill "${pid}" 2>/dev/null
    done
    wait
    rm -rf "${TMP_BASE:?}"
}
trap 'cleanup; exit 130' INT TERM

run_suite() {  # run_suite MODEL [extra pytest args]: pytest in the model folder; writes <name>.rc and <name>.time
    local model="$1" name
    shift
    name="$(basename "${model}")"
    local start=$SECONDS
    (cd "${ROOT}/${model}" && "${PYTHON}" -m pytest tests -q -rs --durations=25 \
        --junitxml="${RESULTS}/${name}.xml" --basetemp="${TMP_BASE}/${name}" "$@"
     rc=$?
     # wall time, and the CPU time of the suite's processes (pytest and every subprocess it waited for)
     times > "${RESULTS}/${name}.times"      # (not in a pipe: a pipe would run it in a fresh child process)
     tail -n 1 "${RESULTS}/${name}.times" | awk -v w=$(( SECONDS - start )) '{
         split($1, a, "m"); split($2, b, "m"); u = a[1] * 60 + a[2]; s = b[1] * 60 + b[2]
         printf "wall %d s, CPU user %.0f s + sys %.0f s (%.2f cores on average)\n", w, u, s, (u + s) / (w > 0 ? w : 1) }' \
         > "${RESULTS}/${name}.time"
     rm -f "${RESULTS}/${name}.times"
     exit ${rc})
    echo $? > "${RESULTS}/${name}.rc"
}

for model in "${MODELS[@]}"; do
    name="$(basename "${model}")"
    rm -f "${RESULTS}/${name}".{xml,rc,time,log}     # no stale results
    if [ "${SERIAL}" = "1" ]; then
        echo "==================== ${model} ===================="
        run_suite "${model}" "$@"
    else
        # own process group (set -m), so an interrupt stops the suite's subprocesses too
        set -m
        run_suite "${model}" "$@" > "${RESULTS}/${name}.log" 2>&1 &
        pids+=($!)
        set +m
        echo "started ${model} (pid $!), output in ${RESULTS}/${name}.log"
    fi
done
if [ "${SERIAL}" != "1" ]; then
    # a progress line every PROGRESS_EVERY seconds (default 300), so the CI log is not silent for the whole run
    every="${PROGRESS_EVERY:-300}"
    begin=$SECONDS
    last=$SECONDS
    while kill -0 "${pids[@]}" 2>/dev/null; do      # (true while at least one suite runs)
        sleep 5
        if [ $(( SECONDS - last )) -ge "${every}" ]; then
            last=$SECONDS
            line="[$(( SECONDS - begin )) s]"
            for model in "${MODELS[@]}"; do
                name="$(basename "${model}")"
                if [ -f "${RESULTS}/${name}.rc" ]; then
                    line+=" ${name}: done;"
                else
                    done_part="$(grep -o '\[ *[0-9]*%\]' "${RESULTS}/${name}.log" 2>/dev/null | tail -n 1)"
                    line+=" ${name}: ${done_part:-running};"
                fi
            done
            echo "${line}"
        fi
    done
    wait "${pids[@]}"
fi
trap - INT TERM

status=0
for model in "${MODELS[@]}"; do
    name="$(basename "${model}")"
    if [ "${SERIAL}" != "1" ]; then
        echo "==================== ${model} ===================="
        cat "${RESULTS}/${name}.log"
    fi
    rc="$(cat "${RESULTS}/${name}.rc" 2>/dev/null || echo missing)"
    echo "${model}: pytest exit ${rc}; $(cat "${RESULTS}/${name}.time" 2>/dev/null || echo 'no timing')"
    # pytest exit code 5 = no tests collected: a missing suite is a failure here.
    if [ "${rc}" != "0" ]; then
        echo "pytest in ${model} exited with ${rc}"
        [ -d "${TMP_BASE}/${name}" ] && echo "  its temporary files are kept in ${TMP_BASE}/${name}"
        status=1
    else
        rm -rf "${TMP_BASE:?}/${name}"
    fi
done
rmdir "${TMP_BASE}" 2>/dev/null

"${PYTHON}" - "${RESULTS}" "${MODELS[@]}" <<'PY'
import os, sys
import xml.etree.ElementTree as ET
passed = failed = skipped = 0
for model in sys.argv[2:]:
    path = os.path.join(sys.argv[1], os.path.basename(model) + ".xml")
    if not os.path.isfile(path):
        print(f"{model}: no junit xml (the suite did not finish)")
        failed += 1
        continue
    for suite in ET.parse(path).getroot().iter("testsuite"):
        tests, fail = int(suite.get("tests", 0)), int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skip = int(suite.get("skipped", 0))
        passed += tests - fail - skip
        failed += fail
        skipped += skip
print(f"all models: {passed} passed, {failed} failed, {skipped} skipped")
PY
exit ${status}
