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
"""The README's smoke command of profile_dgsct.py, run as written: the whole-network breakdown of the tiny AVE model
(the full-size profile takes minutes and is a benchmark, not a test)."""
import re

from readme_commands import MODEL_DIR, readme_line, run_shell


def test_readme_profile_smoke_command_prints_the_breakdown():
    line = readme_line("python profile_dgsct.py", "--full --config configs/tiny/ave.yaml")
    result = run_shell(line, cwd=MODEL_DIR, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = {}
    for part in ("prompt modules", "Swin-V2-L blocks", "HTS-AT blocks", "patch embeddings", "patch merging",
                 "audio front end (STFT, log-mel)", "task head (temporal block + CMBS for AVE)",
                 "rest (swin.norm, pooling, reshapes)", "whole forward"):
        match = re.search(rf"^\| {re.escape(part)} \| ([0-9.]+) \| ([0-9.]+) \|", result.stdout, re.M)
        assert match, f"no '{part}' row in:\n{result.stdout}"
        rows[part] = float(match.group(2))
    # every part ran, and no call is timed twice (nested timers would push the untimed rest below zero)
    assert min(rows["prompt modules"], rows["Swin-V2-L blocks"], rows["HTS-AT blocks"]) > 0
    assert rows["rest (swin.norm, pooling, reshapes)"] >= -0.01 * rows["whole forward"]
    assert "peak RSS" in result.stdout


def test_readme_profile_train_smoke_command_prints_the_step_breakdown():
    """The training-step breakdown (--full --train) of the tiny AVE model: forward, backward and optimizer rows, the
    recomputed block steps' backward per part, and parts that add up to the measured step."""
    line = readme_line("python profile_dgsct.py", "--full --train --config configs/tiny/ave.yaml")
    result = run_shell(line, cwd=MODEL_DIR, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    cells = {}
    for match in re.finditer(r"^\| ([^|]+?) \| (.*) \|$", result.stdout, re.M):
        cells[match.group(1)] = [c.strip() for c in match.group(2).split("|")]
    for part in ("prompt modules", "Swin-V2-L blocks", "HTS-AT blocks"):
        forward_cpu, backward_cpu, recompute_cpu = (float(cells[part][i]) for i in (1, 3, 4))
        assert forward_cpu > 0 and backward_cpu > 0 and recompute_cpu > 0, (part, cells[part])
    whole = cells["whole forward / whole backward"]
    optimizer = next(v for k, v in cells.items() if k.startswith("optimizer (Adam"))
    step_cpu = float(cells["whole step (wall / CPU)"][-2].split("/")[1])
    # forward + backward + optimizer is the whole step up to the untimed Python between the calls
    parts_cpu = float(whole[5]) + float(optimizer[5])
    assert 0.9 * step_cpu <= parts_cpu <= 1.001 * step_cpu, (parts_cpu, step_cpu)
    assert "peak RSS" in result.stdout
