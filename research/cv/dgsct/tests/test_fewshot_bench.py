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
"""The README's few-shot measurement lines as written: the parameter count of the full-size few-shot network against
the official one (count_params.py --only fewshot) and the benchmark row of the tiny few-shot config (benchmark.py builds
stand-in vocabularies and class names where the configured files are absent). The full-size benchmark line is not run
here (tens of minutes and 5+ GB)."""
import re

from readme_commands import model_workdir, readme_line, run_lines


def _number(text):
    return int(text.replace(",", ""))


def test_readme_fewshot_parameter_count_matches_the_official_parts(tmp_path):
    work = model_workdir(tmp_path / "model")
    out = run_lines([readme_line("python count_params.py", "--only fewshot")], work)
    rows = {m.group(1).strip(): (_number(m.group(2)), _number(m.group(3)))
            for m in re.finditer(r"^  (\S.*?)\s+([\d,]+)\s+([\d,]+)(?:  |$)", out, re.M)}
    assert rows["TRAINABLE"] == (93_131_952, 116_729_402), out
    assert rows["TOTAL (PyTorch-comparable)"] == (276_390_793, 425_815_570), out
    assert rows["CLIP image tower"] == (87_849_216, 87_849_216) and rows["CMBS"] == (0, 14_068_825), out
    assert "BatchNorm moving statistics (buffers in torch, not counted above): 61,472" in out
    assert "outside the network: 125,302,016" in out
    assert "synthetic CLIP BPE (49,408 ids)" in out
    assert out.rstrip().endswith("parts built by the port match the official ones: YES"), out


def test_readme_tiny_fewshot_benchmark_row(tmp_path):
    work = model_workdir(tmp_path / "model")
    line = readme_line("python benchmark.py", "configs/tiny/fewshot_ave.yaml")
    out = run_lines([line], work, timeout=1200)
    row = next(l for l in out.splitlines() if l.startswith("| configs/tiny/fewshot_ave.yaml"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == "pynative" and cells[2] == "1" and cells[3] == "10 x 2", row
    assert cells[4] == "122,149 / 374,978", row
    # build s; first train step wall / CPU; train step s; train CPU s; train peak GB; first eval wall / CPU; eval s;
    # eval CPU s; peak GB
    numbers = [float(v) for c in cells[5:] for v in c.split(" / ")]
    assert len(numbers) == 11 and all(v > 0 for v in numbers), row
    assert numbers[5] <= numbers[10], row      # the training peak is part of the process peak
    assert "configs/tiny/fewshot_ave.yaml: synthetic CLIP BPE (600 ids), synthetic RoBERTa vocabulary, 28 AVE class " \
           "names" in out
