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
"""Warm start (`init_ckpt`): SparCode initialised from the two-tower checkpoint's parameters of equal name and shape."""
import numpy as np
import pytest
import mindspore as ms
from mindspore import nn, Parameter, Tensor

from model_helpers import build, tiny_config
from src.checkpoint import CheckpointError, atomic_save_checkpoint, warm_start_from


def params(model):
    return {p.name: p.asnumpy().copy() for p in model.get_parameters()}


def test_sparcode_from_two_tower(tmp_path):
    two_tower = build(tiny_config(model="two_tower"), seed=1)
    path = atomic_save_checkpoint(str(tmp_path / "tt.ckpt"), two_tower)
    sparcode = build(tiny_config(model="sparcode"), seed=2)
    before, source = params(sparcode), params(two_tower)
    loaded, skipped = warm_start_from(path, sparcode)
    after = params(sparcode)
    assert "item_tokenizer.id_table" in loaded and "query_tokenizer.in_proj.weight" in loaded
    for name in loaded:
        np.testing.assert_array_equal(after[name], source[name])
        assert not np.array_equal(before[name], source[name]) or name.endswith("bias")  # really overwritten
    # token heads differ in shape (1 vs K tokens), g and the codebooks do not exist in the two-tower: kept
    assert "item_tokenizer.heads.weight" in skipped and "query_tokenizer.heads.weight" in skipped
    for name in skipped:
        np.testing.assert_array_equal(after[name], before[name])
    assert any(name.startswith("interaction.") for name in skipped)


def test_refuses_missing_or_unrelated_checkpoint(tmp_path):
    sparcode = build(tiny_config(model="sparcode"))
    with pytest.raises(CheckpointError, match="not found"):
        warm_start_from(str(tmp_path / "nope.ckpt"), sparcode)

    class Other(nn.Cell):
        def __init__(self):
            super().__init__()
            self.foo = Parameter(Tensor(np.ones((3, 3), np.float32)), name="foo")

    path = str(tmp_path / "other.ckpt")
    ms.save_checkpoint(Other(), path)
    with pytest.raises(CheckpointError, match="init_ckpt .*other.ckpt: no parameter"):
        warm_start_from(path, sparcode)


def test_refuses_non_finite(tmp_path):
    two_tower = build(tiny_config(model="two_tower"))
    table = two_tower.item_tokenizer.id_table
    value = table.asnumpy()
    value[1, 0] = np.nan
    table.set_data(Tensor(value))
    path = atomic_save_checkpoint(str(tmp_path / "nan.ckpt"), two_tower)
    with pytest.raises(CheckpointError, match="item_tokenizer.id_table' has non-finite"):
        warm_start_from(path, build(tiny_config(model="sparcode")))
