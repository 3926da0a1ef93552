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
"""The training-speed code paths compute what the direct formulas compute.

- g's first layer factorised (query part once per token, item part once per item, pairwise add with a
  matmul-based backward) == the MLP on the explicit concatenation [q ; v_1 ; ... ; v_K], values and gradients.
- Dense (bias gradient as a ones-row matmul) == nn.Dense, values and gradients.
- The fused train step (Adam and the EMA codebook update in one graph, EMA fed with the forward pass's tokens)
  == loss on the pre-step weights + the standalone EMA update on the same tokens.
- Density calibration scored in blocks of codes == one unblocked call (SparCode and all-to-all).
"""
import numpy as np
import mindspore as ms
import pytest
from mindspore import nn, ops, Tensor

from model_helpers import N_ITEMS, build, tensors, tiny_batch, tiny_config
from src.model import sparcode as sparcode_module
from src.model.interaction import MLPInteraction
from src.model.layers import Dense


def direct_pair_scores(g, q, v):
    """Reference g on the explicit concatenation: q [B, K, d], v [B|1, C, K_i, d] -> [B, K, C]."""
    b, k, d = q.shape
    c = v.shape[1]
    qq = ops.broadcast_to(q.reshape(b, k, 1, d), (b, k, c, d))
    vv = ops.broadcast_to(v.reshape(v.shape[0], 1, c, -1), (b, k, c, v.shape[2] * v.shape[3]))
    h = ops.matmul(ops.concat((qq, vv), -1).reshape(b * k * c, -1), g.first.weight.swapaxes(0, 1)) + g.first.bias
    return g.rest(ops.relu(h)).reshape(b, k, c)


@pytest.mark.parametrize("mode", [ms.PYNATIVE_MODE, ms.GRAPH_MODE])
@pytest.mark.parametrize("item_rows", [3, 1])          # per-row candidates (sampled negatives) or one shared set
def test_factorised_interaction_matches_concatenation(mode, item_rows):
    ms.set_context(mode=mode)
    ms.set_seed(3)
    g = MLPInteraction(8, 2, (16, 12), dropout=0.0)
    rng = np.random.default_rng(0)
    q = Tensor(rng.standard_normal((3, 4, 8)).astype(np.float32))
    v = Tensor(rng.standard_normal((item_rows, 5, 2, 8)).astype(np.float32))
    weight = Tensor(rng.standard_normal((3, 4, 5)).astype(np.float32))

    def fused(q, v):
        return (g(q, v) * weight).sum()

    def direct(q, v):
        return (direct_pair_scores(g, q, v) * weight).sum()

    params = g.trainable_params()
    got_loss, (got_inputs, got_params) = ms.value_and_grad(fused, (0, 1), params)(q, v)
    want_loss, (want_inputs, want_params) = ms.value_and_grad(direct, (0, 1), params)(q, v)
    np.testing.assert_allclose(got_loss.asnumpy(), want_loss.asnumpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(g(q, v).asnumpy(), direct_pair_scores(g, q, v).asnumpy(), rtol=1e-5, atol=1e-5)
    for got, want in zip(tuple(got_inputs) + tuple(got_params), tuple(want_inputs) + tuple(want_params)):
        assert got.shape == want.shape
        np.testing.assert_allclose(got.asnumpy(), want.asnumpy(), rtol=1e-4, atol=1e-5)


def test_dense_matches_nn_dense():
    ms.set_seed(5)
    fast = Dense(6, 4)
    ref = nn.Dense(6, 4)
    ref.weight.set_data(fast.weight.data.copy())
    ref.bias.set_data(fast.bias.data.copy())
    x = Tensor(np.random.default_rng(1).standard_normal((2, 7, 6)).astype(np.float32))

    def loss(cell):
        return lambda x: (ops.square(cell(x)) * 0.5).sum()

    got = ms.value_and_grad(loss(fast), 0, fast.trainable_params())(x)
    want = ms.value_and_grad(loss(ref), 0, ref.trainable_params())(x)
    np.testing.assert_allclose(fast(x).asnumpy(), ref(x).asnumpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(got[0].asnumpy(), want[0].asnumpy(), rtol=1e-5)
    for a, b in zip((got[1][0],) + tuple(got[1][1]), (want[1][0],) + tuple(want[1][1])):
        np.testing.assert_allclose(a.asnumpy(), b.asnumpy(), rtol=1e-5, atol=1e-6)


def test_fused_train_step_equals_loss_then_ema_update():
    """Trainer step with EMA == (loss on the pre-step weights, standalone ema_update on the same forward tokens)."""
    from src.trainer import Trainer
    ms.set_context(mode=ms.GRAPH_MODE)
    cfg = tiny_config(dead_code_threshold=0.0)          # no random restarts: both paths are deterministic
    fused_model, ref_model = build(cfg, seed=4), build(cfg, seed=4)
    batch = tensors(*tiny_batch(batch=8))
    for model in (fused_model, ref_model):
        model.set_epoch_state(0)
        model.set_train(True)
    want_losses = [float(x.asnumpy()) for x in ref_model.loss(*batch)]
    z = ref_model.query_tokens(batch[0], batch[1])
    want_counts = ref_model.quantizer.ema_update(z).asnumpy()
    trainer = Trainer(cfg, data=None, model=fused_model)
    losses, counts = trainer._step_fn(True)(*batch)   # pylint: disable=protected-access
    np.testing.assert_allclose(losses.asnumpy(), want_losses, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(counts.asnumpy(), want_counts)
    for name in ("codebooks", "ema_count", "ema_sum"):
        np.testing.assert_allclose(getattr(fused_model.quantizer, name).asnumpy(),
                                   getattr(ref_model.quantizer, name).asnumpy(), rtol=1e-5, atol=1e-6)
    # the optimizer did step: some trainable weight moved
    moved = [not np.array_equal(a.asnumpy(), b.asnumpy())
             for a, b in zip(fused_model.trainable_params(), ref_model.trainable_params())]
    assert any(moved)


@pytest.mark.parametrize("model_name", ["sparcode", "all_to_all"])
def test_blocked_density_calibration_equals_one_call(monkeypatch, model_name):
    ms.set_context(mode=ms.GRAPH_MODE)
    cfg = tiny_config(model=model_name, target_density=0.3)
    user_feats, hist, _, _ = tiny_batch(batch=7)
    items = np.arange(1, N_ITEMS + 1, dtype=np.int32)
    model = build(cfg, seed=2)
    want = model.calibrate_score_bias(user_feats, hist, items, epoch=0)
    if model_name == "sparcode":
        codes = np.arange(model.quantizer.codebook_size ** model.quantizer.num_codebooks, dtype=np.int32)
        want_raw = model.raw_token_scores_for_codes(codes, items).asnumpy()
    # 3 rows per block: several blocks and a padded last one
    monkeypatch.setattr(sparcode_module, "SCORE_BLOCK_FLOATS", 3 * N_ITEMS * model.interaction.activation_width)
    got = model.calibrate_score_bias(user_feats, hist, items, epoch=0)
    assert got["score_bias"] == pytest.approx(want["score_bias"], abs=1e-6)
    assert got["density"] == pytest.approx(want["density"], abs=1e-9)
    if model_name == "sparcode":
        got_raw = model.raw_token_scores_for_codes(codes, items).asnumpy()
        assert got_raw.shape == (len(codes), N_ITEMS)
        np.testing.assert_allclose(got_raw, want_raw, rtol=1e-5, atol=1e-6)
