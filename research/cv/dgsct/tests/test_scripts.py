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
"""scripts/*.sh as a user runs them from another folder: relative paths in extra arguments, $PYTHON, exit codes,
the pid / log / exit_status of a background run, no full environment dump, no announced-but-missing metrics."""
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import mindspore as ms
import pytest

from readme_commands import wait_for as _wait_for
from src.config import load_config
from src.convert.mapping import save_checkpoint_atomic
from src.data.synthetic import generate
from src.dgsct.model import build_network

MODEL_DIR = Path(__file__).resolve().parents[1]
TINY = "configs/tiny/ave.yaml"


def _script(name, *args, cwd, env=None):
    full_env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"], GLOG_v="3",
                    **(env or {}))
    return subprocess.run(["bash", str(MODEL_DIR / "scripts" / name), *map(str, args)], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def user_dir(tmp_path_factory):
    """A user's folder outside the model: data/, configs/ (copied), swin.ckpt, and a $PYTHON wrapper that logs."""
    work = tmp_path_factory.mktemp("user")
    generate(work / "data", num_videos=12, num_classes=4, rate=8000, frames_per_video=10, frame_size=40)
    (work / "configs").mkdir()
    (work / "configs" / "tiny.yaml").write_text(f"base: {MODEL_DIR / TINY}\n")     # a user's config on the shipped one
    net, _ = build_network(load_config(MODEL_DIR / TINY))
    save_checkpoint_atomic({n: p.asnumpy() for n, p in net.encoder.swin.parameters_and_names()},
                           str(work / "swin.ckpt"))
    wrapper = work / "mypython"
    wrapper.write_text(f"#!/bin/bash\necho \"$@\" >> {work / 'python_calls.txt'}\nexec {sys.executable} \"$@\"\n")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return work


def test_standalone_train_fails_fast_naming_a_missing_relative_checkpoint(user_dir):
    result = _script("run_standalone_train.sh", "CPU", "data", "configs/tiny.yaml", "--model.swin_ckpt=nope.ckpt",
                     cwd=user_dir)
    assert result.returncode == 1
    assert f"model.swin_ckpt={user_dir / 'nope.ckpt'}" in result.stderr      # resolved against the user's folder
    assert not (user_dir / "train_standalone").exists()


def test_distribute_train_refuses_a_global_batch_the_workers_cannot_split(user_dir):
    result = _script("run_distribute_train.sh", "CPU", "3", "data", "configs/tiny.yaml", cwd=user_dir)
    assert result.returncode == 1 and "must be a multiple of the 3 data-parallel workers" in result.stderr


def test_train_in_background_then_eval_with_relative_paths(user_dir):
    env = {"PYTHON": str(user_dir / "mypython")}
    fast = ["--train.mode=pynative", "--data.num_workers=1"]
    result = _script("run_standalone_train.sh", "CPU", "data", "configs/tiny.yaml", "--model.swin_ckpt=swin.ckpt",
                     "--train.epochs=1", "--train.max_steps=1", *fast, cwd=user_dir, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    run = user_dir / "train_standalone"
    pid = (run / "pid").read_text().strip()
    assert f"(pid {pid})" in result.stdout and str(run / "log.txt") in result.stdout
    assert _wait_for(run / "exit_status") == "0", (run / "log.txt").read_text()[-3000:]
    assert (run / "ckpt" / "last.ckpt").is_file()
    assert f"--model.swin_ckpt={user_dir / 'swin.ckpt'}" in (user_dir / "python_calls.txt").read_text()  # $PYTHON
    env_lines = (run / "env.log").read_text().splitlines()
    assert not any(line.startswith(("PATH=", "HOME=")) for line in env_lines)

    # --resume: the script keeps train_standalone/ckpt and training continues from its last.ckpt
    resumed = _script("run_standalone_train.sh", "CPU", "data", "configs/tiny.yaml", "--model.swin_ckpt=swin.ckpt",
                      "--train.epochs=2", "--train.max_steps=1", "--resume", *fast, cwd=user_dir, env=env)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert _wait_for(run / "exit_status") == "0", (run / "log.txt").read_text()[-3000:]
    assert f"resumed from {run / 'ckpt' / 'last.ckpt'} at epoch 1" in (run / "log.txt").read_text()
    assert int(ms.load_checkpoint(str(run / "ckpt" / "last.ckpt"))["epoch"].asnumpy()) == 2

    good = _script("run_eval.sh", "CPU", "data", "train_standalone/ckpt/last.ckpt", "configs/tiny.yaml", *fast,
                   cwd=user_dir, env=env)
    assert good.returncode == 0, good.stdout + good.stderr
    metrics = json.loads((user_dir / "eval" / "metrics.json").read_text())
    assert 0.0 <= metrics["accuracy"] <= 1.0 and "metrics:" in good.stdout

    # a checkpoint of another network: eval.py fails, so must the script, without announcing metrics
    save_checkpoint_atomic({"foo": np.zeros(2, np.float32)}, str(user_dir / "other.ckpt"))
    bad = _script("run_eval.sh", "CPU", "data", "other.ckpt", "configs/tiny.yaml", *fast, cwd=user_dir, env=env)
    assert bad.returncode != 0
    assert "FAILED" in bad.stdout and "metrics:" not in bad.stdout
    assert not (user_dir / "eval" / "metrics.json").exists()


def test_background_job_failure_reaches_exit_status(user_dir):
    # passes the dry run (paths, data) but fails in training: lr is checked by the optimizer only when it runs
    result = _script("run_standalone_train.sh", "CPU", "data", "configs/tiny.yaml", "--train.epochs=1",
                     "--train.max_steps=1", "--train.mode=pynative", "--train.lr=1e30", cwd=user_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    run = user_dir / "train_standalone"
    assert _wait_for(run / "exit_status") != "0"
    assert "diverged" in (run / "log.txt").read_text()
    assert not (run / "ckpt" / "last.ckpt").exists()
