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
"""A GRAPH_MODE training step logs no "Some side effect nodes were eliminated by mistake" warning with MindSpore's
warnings switched on (GLOG_v=2): every element the encoder and the prompt modules return is used."""
import os
import subprocess
import sys
from pathlib import Path

from src.data.synthetic import generate

MODEL_DIR = Path(__file__).resolve().parents[1]


def test_graph_training_step_has_no_side_effect_warning(tmp_path):
    generate(tmp_path / "data", num_videos=8, num_classes=4, rate=8000, frames_per_video=10, frame_size=40)
    cmd = [sys.executable, "train.py", "--config_path=configs/tiny/ave.yaml", f"--data.root={tmp_path / 'data'}",
           f"--ckpt_path={tmp_path / 'out'}", "--train.epochs=1", "--train.max_steps=1", "--train.mode=graph"]
    result = subprocess.run(cmd, cwd=MODEL_DIR, env=dict(os.environ, GLOG_v="2"), capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    log = result.stdout + result.stderr
    assert "[WARNING]" in log                         # warnings are really on (MindSpore's deprecation notices)
    assert "side effect nodes were eliminated" not in log, log[-3000:]
