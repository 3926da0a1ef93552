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
"""benchmark.py's memory guard: a config whose child passes --max_rss_gb is killed and reported as over the limit,
and the guard counts swapped-out memory (a swapped process' resident size stays under any limit)."""
import os
import subprocess
import sys

import pytest

MODEL_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, MODEL_DIR)

import benchmark  # noqa: E402  (the model folder is the import root)


def _status_kib(pid, key):
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(key))


@pytest.mark.skipif(not os.path.isfile("/proc/self/status"), reason="needs Linux /proc")
def test_guard_memory_is_resident_plus_swap():
    pid = os.getpid()
    before = (_status_kib(pid, "VmRSS:") + _status_kib(pid, "VmSwap:")) / 2 ** 20
    got = benchmark._rss_gb(pid)
    after = (_status_kib(pid, "VmRSS:") + _status_kib(pid, "VmSwap:")) / 2 ** 20
    assert min(before, after) - 0.05 <= got <= max(before, after) + 0.05
    assert benchmark._rss_gb(2 ** 22 + 7) == 0.0          # no such process: nothing to count


def test_child_over_the_limit_is_killed_and_reported(tmp_path):
    # importing MindSpore alone takes far more than 0.05 GB, so the guard must stop the child during its build
    out = subprocess.run([sys.executable, "benchmark.py", "--configs", "configs/tiny/avqa_grounding.yaml",
                          "--mode", "pynative", "--max_rss_gb", "0.05", "--log_prefix", str(tmp_path / "bench_")],
                         cwd=MODEL_DIR, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    row = next(l for l in out.stdout.splitlines() if l.startswith("| configs/tiny/avqa_grounding.yaml"))
    assert "killed: resident + swapped memory passed 0.05 GB" in row, out.stdout
