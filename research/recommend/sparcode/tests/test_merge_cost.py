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
"""scripts/merge_cost.py: the README's command as written, and its argument errors."""
import re
import subprocess
import sys

from conftest import MODEL_DIR

README_COMMAND = "python scripts/merge_cost.py --n_items=1000000 --settings=4:0.05,20:0.05,20:0.02,20:0.01,20:0.005"


def test_readme_command_prints_one_row_per_setting():
    for readme in ("README.md", "README_CN.md"):
        with open(f"{MODEL_DIR}/{readme}", encoding="utf-8") as f:
            assert README_COMMAND in f.read(), readme
    proc = subprocess.run([sys.executable] + README_COMMAND.split()[1:], cwd=MODEL_DIR, capture_output=True,
                          text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(merge K_u=\d+ density=[\d.]+)\s+(\d+)", proc.stdout,
                                                              re.M)}
    assert set(rows) == {"merge K_u=4 density=0.05", "merge K_u=20 density=0.05", "merge K_u=20 density=0.02",
                         "merge K_u=20 density=0.01", "merge K_u=20 density=0.005"}
    # entries merged per query = K_u x density x N (random lists): 200k, 1M, 400k, 200k, 100k
    for name, expected in (("merge K_u=4 density=0.05", 2e5), ("merge K_u=20 density=0.05", 1e6),
                           ("merge K_u=20 density=0.005", 1e5)):
        assert abs(rows[name] - expected) < 0.02 * expected, (name, rows[name])
    assert "faiss IndexFlatIP d=64" in proc.stdout


def test_bad_settings_are_refused():
    proc = subprocess.run([sys.executable, "scripts/merge_cost.py", "--settings=80:0.05"], cwd=MODEL_DIR,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2 and "--settings" in proc.stderr
    proc = subprocess.run([sys.executable, "scripts/merge_cost.py", "--settings=4-0.05"], cwd=MODEL_DIR,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2 and "--settings" in proc.stderr
