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
"""Two training runs with the same train.seed (fresh processes, as a user runs them) give identical losses and
identical checkpoints on CPU with the default config: shuffled data order, dropout (including the temporal block's
attention dropout, head.temporal.dropout 0.1) / drop path / SpecAugment, initialisation (README "Description of
Random Situation")."""
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import mindspore as ms

from src.config import load_config
from src.data.synthetic import generate

MODEL_DIR = Path(__file__).resolve().parents[1]


def _train(tmp_path, name, seed):
    out = tmp_path / name
    cmd = [sys.executable, "train.py", "--config_path=configs/tiny/ave.yaml", f"--data.root={tmp_path / 'data'}",
           f"--ckpt_path={out}", "--train.epochs=2", "--train.max_steps=4", "--train.log_every=1",
           "--train.mode=pynative", f"--train.seed={seed}"]
    result = subprocess.run(cmd, cwd=MODEL_DIR, env=dict(os.environ, GLOG_v="3"), capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    losses = re.findall(r"step \d+/\d+ loss=(\S+)", result.stdout)
    assert len(losses) == 4, result.stdout
    assert load_config(str(out / "config.yaml"), []).head.temporal.dropout > 0     # the default attention dropout is on
    return losses, ms.load_checkpoint(str(out / "last.ckpt"))


def test_same_seed_same_losses_and_checkpoint(tmp_path):
    generate(tmp_path / "data", num_videos=16, num_classes=4, rate=8000, frames_per_video=10, frame_size=40)
    losses_a, ckpt_a = _train(tmp_path, "a", 43)
    losses_b, ckpt_b = _train(tmp_path, "b", 43)
    assert losses_a == losses_b
    assert sorted(ckpt_a) == sorted(ckpt_b)
    differ = [k for k in ckpt_a if not np.array_equal(ckpt_a[k].asnumpy(), ckpt_b[k].asnumpy())]
    assert not differ, differ[:10]
    losses_c, _ = _train(tmp_path, "c", 44)                 # and the seed does matter
    assert losses_c != losses_a
