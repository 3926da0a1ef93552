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
"""2-worker msrun data-parallel training on CPU ends with identical weights and optimizer state on both ranks."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import mindspore as ms

from src.data.synthetic import generate

MODEL_DIR = Path(__file__).resolve().parents[1]


def test_msrun_two_workers_identical_weights(tmp_path):
    if shutil.which("msrun", path=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")) is None:
        pytest.skip("msrun not installed")
    generate(tmp_path / "data", num_videos=16, num_classes=4, rate=8000)
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")   # msrun runs bare `python`
    port = 8200 + os.getpid() % 500
    cmd = ["msrun", "--worker_num=2", "--local_worker_num=2", f"--master_port={port}",
           f"--log_dir={tmp_path / 'logs'}", "--join=True", "train.py",
           f"--config_path={MODEL_DIR / 'configs' / 'tiny' / 'ave.yaml'}", f"--data.root={tmp_path / 'data'}",
           f"--train.output_dir={tmp_path / 'out'}", "--train.epochs=1", "--train.max_steps=2",
           "--train.batch_size=2", "--data.num_workers=1"]
    result = subprocess.run(cmd, cwd=MODEL_DIR, env=env, capture_output=True, text=True, timeout=2400)
    logs = "\n".join(p.read_text(errors="replace")[-3000:] for p in sorted((tmp_path / "logs").glob("*.log")))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:] + logs
    rank0 = ms.load_checkpoint(str(tmp_path / "out" / "rank_0" / "last.ckpt"))
    rank1 = ms.load_checkpoint(str(tmp_path / "out" / "rank_1" / "last.ckpt"))
    gates = [k for k in rank0 if k.endswith(".gate") and "vis_adapter" in k]
    assert gates and any(float(np.abs(rank0[k].asnumpy()).max()) > 0 for k in gates)   # training moved them
    # BatchNorm running statistics are per rank in data parallel (as in PyTorch DDP without SyncBN); everything the
    # optimizer touches (weights, Adam moments, step) must be identical on both ranks
    stats = [k for k in rank0 if k.endswith(("moving_mean", "moving_variance"))]
    assert any(not np.array_equal(rank0[k].asnumpy(), rank1[k].asnumpy()) for k in stats)   # ranks saw other shards
    for name, value in rank0.items():
        if name not in stats:
            np.testing.assert_array_equal(value.asnumpy(), rank1[name].asnumpy(), err_msg=name)
