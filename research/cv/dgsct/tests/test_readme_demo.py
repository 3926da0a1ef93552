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
"""The README's Quick Start commands and synthetic-data commands, run as the README writes them (the Quick Start's
full-size AVE config replaced by the tiny one, the only change, where the full size cannot run here)."""
import json
from pathlib import Path

import pytest

from readme_commands import model_workdir, readme_commands, readme_line, run_shell
from src.checkpoint import TrainProgress, save_training_checkpoint
from src.config import load_config
from src.data.synthetic import generate
from src.dgsct.model import build_network

TINY = Path(__file__).resolve().parents[1] / "configs" / "tiny" / "ave.yaml"


def test_readme_quick_start_demo(tmp_path):
    """bash scripts/run_demo.sh ./outputs/demo: data, 8 training epochs, evaluation with plots, MindIR export."""
    work = model_workdir(tmp_path)
    line = readme_line("bash scripts/run_demo.sh")
    result = run_shell(line, work, timeout=3000)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = work / "outputs" / "demo"
    metrics = json.loads((out / "metrics.json").read_text())
    print(f"demo test accuracy {metrics['accuracy']:.4f}")
    # the demo learns (README "Reported Results": 0.844 with seed 43): the margin of tests/test_train_ave.py above
    # the best constant prediction (0.49 on this set)
    assert metrics["accuracy"] >= 0.49 + 0.30, metrics
    assert len((out / "data" / "Annotations.txt").read_text().splitlines()) == 1 + 48     # header + 48 videos
    assert len(list((out / "plots").glob("*.png"))) == metrics["segments"] // 10
    assert (out / "dgsct_ave_tiny.mindir").is_file() and (out / "train" / "last.ckpt").is_file()
    assert "DG-SCT demo done" in result.stdout


@pytest.mark.parametrize("module", ["src.data.synthetic", "src.data.avvp_synthetic", "src.data.avqa_synthetic",
                                    "src.data.avs_synthetic --variant s4", "src.data.avs_synthetic --variant ms3"])
def test_readme_synthetic_data_commands(tmp_path, module):
    """python -m src.data.<generator> ... --out outputs/<folder> (the first of the README's lines for it) writes
    the folder the tiny configs read."""
    work = model_workdir(tmp_path)
    line = next(cmd for cmd in readme_commands() if cmd.startswith(f"python -m {module} "))
    result = run_shell(line, work, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    out = work / line.split("--out ")[1].split()[0]
    assert out.is_dir() and any(out.iterdir()), line


def test_readme_quick_start_eval_and_export_scripts(tmp_path):
    """bash scripts/run_eval.sh CPU data/AVE train_standalone/ckpt/best.ckpt configs/ave.yaml, then
    bash scripts/run_export.sh train_standalone/ckpt/best.ckpt configs/ave.yaml dgsct_ave, on the tiny config."""
    work = model_workdir(tmp_path)
    generate(work / "data" / "AVE", num_videos=12, num_classes=4, rate=8000, frames_per_video=10, frame_size=40)
    net, _ = build_network(load_config(TINY))
    save_training_checkpoint(work / "train_standalone" / "ckpt" / "best.ckpt", net, None, load_config(TINY),
                             TrainProgress(0, 0))
    for prefix in ("bash scripts/run_eval.sh", "bash scripts/run_export.sh"):
        line = readme_line(prefix)
        assert "configs/ave.yaml" in line
        result = run_shell(line.replace("configs/ave.yaml", "configs/tiny/ave.yaml"), work, timeout=1200)
        assert result.returncode == 0, f"{line}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    metrics = json.loads((work / "eval" / "metrics.json").read_text())
    assert metrics["task"] == "ave" and 0.0 <= metrics["accuracy"] <= 1.0
    assert (work / "dgsct_ave.mindir").is_file() and (work / "dgsct_ave.yaml").is_file()
