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
# Runs the whole test suite: pytest processes in the model folders (each model has its own `src` package, as the
# model zoo requires), all at the same time, each writing its output to test-results/<suite>.log (printed, one after
# the other, when all are done), then prints one combined summary line. The DG-SCT tests are split in two suites
# (dgsct-a, dgsct-b): the SparCode suite ends after about half of DG-SCT's time, and a single DG-SCT process would
# then leave the second core idle.
# Usage: bash run_tests.sh [extra pytest args]        (RUN_TESTS_SERIAL=1: one suite after the other)
set -u
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-python3}"
# The test files of DG-SCT's second suite: its longest files (time in the CI run of 2026-12-08), about half of its
# total; dgsct-a runs every other DG-SCT test file, so a new file runs there without being listed.
DGSCT_B_FILES=(tests/test_avs_train.py tests/test_distributed_ave.py tests/test_readme_demo.py tests/test_train_ave.py
               tests/test_avqa_train.py tests/test_zeroshot.py)
DGSCT_A_ARGS=(tests)
for f in "${DGSCT_B_FILES[@]}"; do DGSCT_A_ARGS+=("--ignore=${f}"); done
# suite name -> model folder, and the pytest paths of each suite
SUITES=("dgsct-a" "dgsct-b" "sparcode")
declare -A SUITE_DIR=([dgsct-a]="research/cv/dgsct" [dgsct-b]="research/cv/dgsct" [sparcode]="research/recommend/sparcode")
declare -A SUITE_ARGS=([dgsct-a]="${DGSCT_A_ARGS[*]}" [dgsct-b]="${DGSCT_B_FILES[*]}" [sparcode]="tests")
RESULTS="${ROOT}/test-results"
mkdir -p "${RESULTS}"
# The suites run at the same time by default (each is mostly one busy thread); RUN_TESTS_SERIAL=1 runs them one
# after the other, output straight to the terminal.
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

run_suite() {  # run_suite SUITE [extra pytest args]: pytest in the suite's model folder; writes <suite>.rc and .time
    local name="$1"
    shift
    local start=$SECONDS
    # (SUITE_ARGS holds paths without spaces: word splitting is intended)
    # shellcheck disable=SC2086
    (cd "${ROOT}/${SUITE_DIR[${name}]}" && "${PYTHON}" -m pytest ${SUITE_ARGS[${name}]} -q -rs --durations=25 \
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

rm -f "${RESULTS}"/{dgsct,sparcode,dgsct-a,dgsct-b}.{xml,rc,time,log}     # no stale results
for name in "${SUITES[@]}"; do
    if [ "${SERIAL}" = "1" ]; then
        echo "==================== ${name}: ${SUITE_DIR[${name}]} ===================="
        run_suite "${name}" "$@"
    else
        # own process group (set -m), so an interrupt stops the suite's subprocesses too
        set -m
        run_suite "${name}" "$@" > "${RESULTS}/${name}.log" 2>&1 &
        pids+=($!)
        set +m
        echo "started ${name}: ${SUITE_DIR[${name}]} (pid $!), output in ${RESULTS}/${name}.log"
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
            for name in "${SUITES[@]}"; do
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
for name in "${SUITES[@]}"; do
    if [ "${SERIAL}" != "1" ]; then
        echo "==================== ${name}: ${SUITE_DIR[${name}]} ===================="
        cat "${RESULTS}/${name}.log"
    fi
done
for name in "${SUITES[@]}"; do
    rc="$(cat "${RESULTS}/${name}.rc" 2>/dev/null || echo missing)"
    echo "${name} (${SUITE_DIR[${name}]}): pytest exit ${rc}; $(cat "${RESULTS}/${name}.time" 2>/dev/null || echo 'no timing')"
    # pytest exit code 5 = no tests collected: a missing suite is a failure here.
    if [ "${rc}" != "0" ]; then
        echo "pytest in ${name} (${SUITE_DIR[${name}]}) exited with ${rc}"
        [ -d "${TMP_BASE}/${name}" ] && echo "  its temporary files are kept in ${TMP_BASE}/${name}"
        status=1
    else
        rm -rf "${TMP_BASE:?}/${name}"
    fi
done
rmdir "${TMP_BASE}" 2>/dev/null

"${PYTHON}" - "${RESULTS}" "${SUITES[@]}" <<'PY'
import os, sys
import xml.etree.ElementTree as ET
passed = failed = skipped = 0
for name in sys.argv[2:]:
    path = os.path.join(sys.argv[1], name + ".xml")
    if not os.path.isfile(path):
        print(f"{name}: no junit xml (the suite did not finish)")
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
