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
full-size AVE config replaced by the tiny one, the only change, where the full size cannot run here), and the
full-size training commands checked with --dry_run on a generated layout."""
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from readme_commands import free_port, model_workdir, readme_commands, readme_line, run_shell, wait_for
from src.checkpoint import TrainProgress, save_training_checkpoint
from src.config import load_config
from src.convert.mapping import save_checkpoint_atomic
from src.data.avqa_synthetic import make_synthetic_avqa
from src.data.avs_synthetic import make_synthetic_avsbench
from src.data.avvp_synthetic import make_synthetic_llp
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


def test_readme_quick_start_train_scripts(tmp_path):
    """bash scripts/run_standalone_train.sh CPU data/AVE configs/ave.yaml --model.swin_ckpt=swin.ckpt
    --model.htsat_ckpt=htsat.ckpt and bash scripts/run_distribute_train.sh CPU 2 data/AVE configs/ave.yaml, as written
    with configs/tiny/ave.yaml for configs/ave.yaml, on a synthetic set in data/AVE and tiny backbone checkpoints in
    swin.ckpt / htsat.ckpt: exit 0, the printed pid and log path, exit_status 0 when the background job ends, and
    the last checkpoint. MASTER_PORT (environment, the command is unchanged) keeps clear of other msrun jobs."""
    work = model_workdir(tmp_path)
    generate(work / "data" / "AVE", num_videos=12, num_classes=4, rate=8000, frames_per_video=10, frame_size=40)
    net, _ = build_network(load_config(TINY))
    for name, cell in (("swin.ckpt", net.encoder.swin), ("htsat.ckpt", net.encoder.htsat)):
        save_checkpoint_atomic({n: p.asnumpy() for n, p in cell.parameters_and_names()}, str(work / name))

    line = readme_line("bash scripts/run_standalone_train.sh")
    assert "configs/ave.yaml" in line and "--model.swin_ckpt=swin.ckpt" in line
    result = run_shell(line.replace("configs/ave.yaml", "configs/tiny/ave.yaml"), work, timeout=600)
    assert result.returncode == 0, f"{line}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    run = work / "train_standalone"
    assert f"(pid {(run / 'pid').read_text().strip()})" in result.stdout and str(run / "log.txt") in result.stdout
    assert wait_for(run / "exit_status") == "0", (run / "log.txt").read_text()[-3000:]
    assert "epoch 8/8" in (run / "log.txt").read_text()
    assert (run / "ckpt" / "last.ckpt").is_file()

    if shutil.which("msrun", path=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]) is None:
        pytest.skip("msrun not installed")
    line = readme_line("bash scripts/run_distribute_train.sh")
    assert "configs/ave.yaml" in line
    result = run_shell(line.replace("configs/ave.yaml", "configs/tiny/ave.yaml"), work, timeout=600,
                       env={"MASTER_PORT": str(free_port(8700 + os.getpid() % 300))})
    assert result.returncode == 0, f"{line}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    run = work / "train_distribute"
    assert f"(msrun pid {(run / 'pid').read_text().strip()}" in result.stdout
    assert str(run / "logs") in result.stdout
    logs = lambda: "\n".join(p.read_text(errors="replace")[-2000:] for p in sorted((run / "logs").glob("*.log")))
    assert wait_for(run / "exit_status") == "0", logs()
    assert "epoch 8/8" in (run / "logs" / "worker_0.log").read_text(errors="replace")
    assert (run / "ckpt" / "last.ckpt").is_file() and not list((run / "ckpt").glob("rank_*"))


# the README's full-size training commands -> the generator that writes their data.root in the release's layout
# (as many classes as the config's head: the dry run checks the count)
FULL_SIZE_DATA = {
    "configs/ave.yaml": lambda root, cfg: generate(root, num_videos=2 * cfg.head.cmbs.num_classes,
                                                   num_classes=cfg.head.cmbs.num_classes, rate=8000,
                                                   frames_per_video=10, frame_size=16),
    "configs/avvp.yaml": lambda root, cfg: make_synthetic_llp(str(root), videos_per_split=(2, 1, 1),
                                                              num_classes=cfg.head.num_classes),
    "configs/avs_s4.yaml": lambda root, cfg: make_synthetic_avsbench(str(root), "s4", (2, 1, 1)),
    "configs/avqa_grounding.yaml": lambda root, cfg: make_synthetic_avqa(str(root), videos_per_split=(6, 1, 1)),
    "configs/avqa.yaml": lambda root, cfg: make_synthetic_avqa(str(root), videos_per_split=(6, 1, 1)),
}


@pytest.mark.parametrize("config", sorted(FULL_SIZE_DATA))
def test_readme_full_size_train_commands_dry_run(tmp_path, config):
    """python train.py --config_path=configs/<task>.yaml --data.root=... --model.swin_ckpt=... (the full-size lines,
    which need the original data and backbone weights), run as written plus --dry_run: the config loads, the data
    set at data.root opens (a synthetic set in the release's layout), and every checkpoint path the line names
    exists (here empty files: the dry run checks paths, it does not load weights). Without one of the files the
    same line fails naming it."""
    work = model_workdir(tmp_path)
    line = readme_line("python train.py", f"--config_path={config} ")
    words = dict(word.split("=", 1) for word in line.split()[2:] if word.startswith("--") and "=" in word)
    FULL_SIZE_DATA[config](work / words["--data.root"], load_config(work / config))
    files = [words[key] for key in words if key.endswith("ckpt")]
    assert len(files) >= 2, line                     # the two backbone checkpoints (and AVQA's grounding stage)
    for name in files:
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_bytes(b"")
    result = run_shell(line + " --dry_run", work, timeout=300)
    assert result.returncode == 0, f"{line}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    assert "dry run: config, data (" in result.stdout and "checkpoint paths are valid" in result.stdout
    (work / files[-1]).unlink()
    missing = run_shell(line + " --dry_run", work, timeout=300)
    assert missing.returncode != 0 and files[-1] in missing.stderr
