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
"""target_density: the b stored with each epoch (checkpoint, history, validation, index) is calibrated on that
epoch's final weights, not on the weights at the epoch's start."""
import os

import pytest

from conftest import run_train
from src.checkpoint import latest_checkpoint, read_checkpoint_state
from src.config import load_config
from src.data.dataset import build_data
from src.run_files import load_trained_model
from src.trainer import Trainer


def test_bias_of_the_checkpoint_matches_its_weights(tmp_path):
    ckpt_dir = str(tmp_path / "run")
    state = run_train(ckpt_dir, "--target_density=0.2")
    path = latest_checkpoint(ckpt_dir, "sparcode")
    saved = read_checkpoint_state(path)
    last = state["history"][-1]
    assert last["score_bias"] == pytest.approx(saved["score_bias"], abs=1e-6) and saved["score_bias"] < 0
    cfg = load_config(os.path.join(ckpt_dir, "config.yaml"))
    data = build_data(cfg)
    model = load_trained_model(cfg, data, path)
    assert model.get_score_bias() == pytest.approx(saved["score_bias"], abs=1e-6)
    # calibrating the checkpoint's weights again on the trainer's sample of that epoch gives the same b
    Trainer(cfg, data, model)._calibrate_bias(last["epoch"], when="end")
    assert model.get_score_bias() == pytest.approx(saved["score_bias"], abs=1e-5)
