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
"""--resume continues with the same state: a run stopped after epoch 0 and resumed equals an uninterrupted run.

Everything the continuation depends on is checkpointed: model weights, EMA codebook buffers (count, sum),
codebooks, score bias, Adam moments and step counters, the epoch / global step and early-stopping state; the
shuffle and negatives of an epoch are a pure function of (seed, epoch). MindSpore keeps the state of in-graph
random kernels (dropout masks, the dead-code restart draw) inside the compiled kernels, where it cannot be
saved, so these runs use dropout 0 and dead_code_threshold 0 (the tiny preset defaults / conftest overrides);
with them active a resumed run is statistically, not bitwise, equal.
"""
import numpy as np
import mindspore as ms

from conftest import run_train
from src.checkpoint import latest_checkpoint, read_train_state


def _params(path):
    return {name: value for name, value in ms.load_checkpoint(path).items()}


def test_resumed_run_equals_uninterrupted_run(tiny_sparcode_run, tmp_path):
    ckpt_dir = str(tmp_path / "resumed")
    first = run_train(ckpt_dir, "--epochs=1")
    assert first["epoch"] == 1
    resumed = run_train(ckpt_dir, "--epochs=2", "--resume")
    assert resumed["epoch"] == 2

    full_path = latest_checkpoint(tiny_sparcode_run["ckpt_dir"], "sparcode")
    resumed_path = latest_checkpoint(ckpt_dir, "sparcode")
    full, again = _params(full_path), _params(resumed_path)
    tensor_names = [n for n, v in full.items() if isinstance(v, (ms.Parameter, ms.Tensor))]
    assert set(tensor_names) == {n for n, v in again.items() if isinstance(v, (ms.Parameter, ms.Tensor))}
    assert any(n.startswith("moment2.") for n in tensor_names) and "quantizer.ema_sum" in tensor_names
    worst = max(float(np.max(np.abs(full[n].asnumpy().astype(np.float64) - again[n].asnumpy())))
                for n in tensor_names)
    assert worst <= 1e-6, worst

    state_full, state_again = read_train_state(full), read_train_state(again)
    assert state_full["global_step"] == state_again["global_step"]
    assert state_full["best_epoch"] == state_again["best_epoch"]
    for a, b in zip(state_full["history"], state_again["history"]):
        assert abs(a["loss"] - b["loss"]) <= 1e-6
        assert a["valid"] == b["valid"]


def test_resume_without_checkpoint_fails_clearly(tmp_path):
    import pytest
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        run_train(str(tmp_path / "empty"), "--epochs=1", "--resume")
