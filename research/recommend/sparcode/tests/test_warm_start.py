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
"""Warm start (`init_ckpt`): SparCode initialised from the two-tower checkpoint's parameters of equal name and shape
(and, for a g with a dot path, from its tiled token heads)."""
import numpy as np
import pytest
import mindspore as ms
from mindspore import nn, ops, Parameter, Tensor

from model_helpers import N_ITEMS, build, tiny_batch, tiny_config
from src import checkpoint
from src.checkpoint import TILED_HEAD_JITTER, CheckpointError, atomic_save_checkpoint, warm_start_from


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


def _scores_from_two_tower(tmp_path, monkeypatch, jitter, model="all_to_all"):
    """(two-tower <q, v> [B, N], the warm-started mlp_dot model's per-token scores [B, K_u, N]) on a tiny batch."""
    monkeypatch.setattr(checkpoint, "TILED_HEAD_JITTER", jitter)
    two_tower = build(tiny_config(model="two_tower"), seed=1)
    path = atomic_save_checkpoint(str(tmp_path / "tt.ckpt"), two_tower)
    sparcode = build(tiny_config(model=model, interaction="mlp_dot", score_bias=0.0), seed=2)
    loaded, _ = warm_start_from(path, sparcode)
    assert "query_tokenizer.heads.weight" in loaded and "item_tokenizer.heads.weight" in loaded
    user_feats, hist, _, _ = tiny_batch()
    items = Tensor(np.arange(1, N_ITEMS + 1, dtype=np.int32))
    q = two_tower.query_vectors(Tensor(user_feats), Tensor(hist)).asnumpy()
    v = two_tower.item_vectors(items).asnumpy()
    tokens = sparcode.query_tokens(Tensor(user_feats), Tensor(hist))
    per_token = sparcode.interaction(tokens, ops.expand_dims(sparcode.item_tokens(items), 0)).asnumpy()
    return q @ v.T, per_token, tokens.asnumpy()


def test_mlp_dot_warm_start_begins_at_the_two_tower_scores(tmp_path, monkeypatch):
    """mlp_dot g warm-started from a two-tower: the tiled token heads (query heads / K_u) and the zero output layer
    of the MLP give per-token scores that sum to the two-tower's <q, v>; without the jitter exactly."""
    tt, per_token, tokens = _scores_from_two_tower(tmp_path, monkeypatch, jitter=0.0)
    np.testing.assert_allclose(per_token.sum(1), tt, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(tokens[:, 0], tokens[:, -1])           # identical tokens without the jitter
    # the shipped jitter: the tokens differ (they can specialise) and the scores stay those of the two-tower
    tt, per_token, tokens = _scores_from_two_tower(tmp_path, monkeypatch, jitter=TILED_HEAD_JITTER)
    assert not np.allclose(tokens[:, 0], tokens[:, -1])
    assert np.corrcoef(per_token.sum(1).ravel(), tt.ravel())[0, 1] > 0.98


def test_plain_mlp_g_keeps_its_own_heads(tmp_path):
    """Only a g with a dot path takes the tiled heads: the plain MLP g's heads stay at their init."""
    two_tower = build(tiny_config(model="two_tower"), seed=1)
    path = atomic_save_checkpoint(str(tmp_path / "tt.ckpt"), two_tower)
    _, skipped = warm_start_from(path, build(tiny_config(model="sparcode"), seed=2))
    assert "query_tokenizer.heads.weight" in skipped and "item_tokenizer.heads.bias" in skipped
