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
"""Tokenizers, interaction network, SparCode / two-tower / all-to-all losses and sparsity control."""
import numpy as np
import pytest
import mindspore as ms
from mindspore import Tensor

from src.config import ConfigError
from src.model import build_model
from src.model.layers import masked_mean
from src.model.interaction import MLPInteraction, SAInteraction
from src.model.sparcode import scheduled_fraction, bias_for_density
from model_helpers import tiny_config, tiny_meta, tiny_batch, tensors, build, loss_parts, N_ITEMS


def test_masked_mean_ignores_padding():
    x = np.random.default_rng(0).standard_normal((2, 4, 3)).astype(np.float32)
    mask = np.array([[1, 1, 0, 0], [0, 0, 0, 0]], np.float32)
    out = masked_mean(Tensor(x), Tensor(mask), 1).asnumpy()
    np.testing.assert_allclose(out[0], x[0, :2].mean(0), rtol=1e-6)
    np.testing.assert_array_equal(out[1], 0.0)      # empty history: zeros, not NaN


@pytest.mark.parametrize("encoder", ["mean_pool", "self_attention"])
def test_query_tokens_ignore_padding_rows(encoder):
    """Scribbling on the padding rows of the embedding tables must not change any query token."""
    model = build(tiny_config(query_encoder=encoder))
    user_feats, hist, _, _ = tiny_batch(batch=6)
    assert (hist == 0).any()
    z0 = model.query_tokens(*tensors(user_feats, hist)).asnumpy()
    table = model.item_tokenizer.id_table.asnumpy()
    table[0] = 1e3
    model.item_tokenizer.id_table.set_data(Tensor(table))
    fields = model.item_tokenizer.fields.table.asnumpy()
    fields[0] = -1e3                                   # row of value 0 (padding) of item field 0
    model.item_tokenizer.fields.table.set_data(Tensor(fields))
    z1 = model.query_tokens(*tensors(user_feats, hist)).asnumpy()
    np.testing.assert_allclose(z1, z0, rtol=1e-5, atol=1e-5)


def test_padding_row_gets_no_gradient():
    model = build(tiny_config())
    model.set_train(True)
    table = model.item_tokenizer.id_table
    grad = ms.grad(lambda *b: model.loss(*b)[0], grad_position=None, weights=[table])(*tensors(*tiny_batch()))[0]
    grad = grad.asnumpy()
    assert np.abs(grad[0]).max() == 0.0
    assert np.abs(grad[1:]).sum() > 0


def test_genre_slots_are_mean_pooled():
    model = build(tiny_config())
    fields = model.item_tokenizer.fields
    values = np.array([[2, 1, 3], [2, 3, 0], [0, 0, 0]], np.int32)      # field 1 has two slots
    out = fields(Tensor(values)).asnumpy()                                # [3, 2 fields, D]
    table = fields.table.asnumpy()
    f1 = 5                                                                 # offset of field 1 (vocab of field 0)
    np.testing.assert_allclose(out[0, 1], (table[f1 + 1] + table[f1 + 3]) / 2, rtol=1e-6)
    np.testing.assert_allclose(out[1, 1], table[f1 + 3], rtol=1e-6)
    np.testing.assert_array_equal(out[2], 0.0)


def test_unseen_item_scored_from_features():
    model = build(tiny_config())
    meta = tiny_meta()
    ids = np.array([3, 7], np.int32)
    own = model.item_tokens_from_features(Tensor(ids), Tensor(meta["item_field_values"][ids])).asnumpy()
    np.testing.assert_allclose(own, model.item_tokens(Tensor(ids)).asnumpy(), rtol=1e-6)
    new_ids = np.array([N_ITEMS + 1, N_ITEMS + 5], np.int32)             # not in the id table
    new = model.item_tokens_from_features(Tensor(new_ids), Tensor(meta["item_field_values"][ids])).asnumpy()
    assert np.isfinite(new).all() and new.shape == (2, 2, 8)
    assert not np.allclose(new, own)                                      # no id embedding for new items


@pytest.mark.parametrize("kind", ["mlp", "self_attention"])
def test_token_permutation_permutes_scores(kind):
    ms.set_seed(0)
    g = MLPInteraction(8, 2, [16, 16]) if kind == "mlp" else SAInteraction(8, 2, layers=1, heads=2)
    g.set_train(False)
    rng = np.random.default_rng(0)
    q = rng.standard_normal((2, 4, 8)).astype(np.float32)
    v = rng.standard_normal((2, 5, 2, 8)).astype(np.float32)
    perm = np.array([2, 0, 3, 1])
    s = g(Tensor(q), Tensor(v)).asnumpy()
    s_perm = g(Tensor(q[:, perm]), Tensor(v)).asnumpy()
    assert s.shape == (2, 4, 5)
    np.testing.assert_allclose(s_perm, s[:, perm], rtol=1e-5, atol=1e-6)
    # broadcast items [1, C] == per-row items; pair_scores agrees with the batched form
    shared = g(Tensor(q), Tensor(v[:1])).asnumpy()
    np.testing.assert_allclose(shared[0], s[0], rtol=1e-5, atol=1e-6)
    pairs = g.pair_scores(Tensor(q[0, :1].repeat(5, 0)), Tensor(v[0])).asnumpy()
    np.testing.assert_allclose(pairs, s[0, 0], rtol=1e-5, atol=1e-6)


def test_mlp_first_layer_factorisation_matches_concatenation():
    ms.set_seed(1)
    g = MLPInteraction(8, 2, [16])
    rng = np.random.default_rng(1)
    q = rng.standard_normal((3, 8)).astype(np.float32)
    v = rng.standard_normal((3, 2, 8)).astype(np.float32)
    w, b = g.first.weight.asnumpy(), g.first.bias.asnumpy()
    concat = np.concatenate([q, v.reshape(3, -1)], 1) @ w.T + b
    split = (g.query_part(Tensor(q)) + g.item_part(Tensor(v))).asnumpy()
    np.testing.assert_allclose(split, concat, rtol=1e-5, atol=1e-5)
    books = rng.standard_normal((2, 4, 4)).astype(np.float32)
    parts = g.codeword_parts(Tensor(books)).asnumpy()                     # [M, K_c, h1]
    zhat = np.concatenate([books[0, 1], books[1, 3]])
    np.testing.assert_allclose(parts[0, 1] + parts[1, 3], zhat @ w[:, :8].T, rtol=1e-5, atol=1e-5)


def test_active_fraction_decreases_with_bias():
    model = build(tiny_config())
    codes = np.arange(16, dtype=np.int32)
    items = np.arange(1, N_ITEMS + 1, dtype=np.int32)
    fractions = []
    for b in [0.0, -0.05, -0.1, -0.2, -0.4, -0.8, -1.6, -1e3]:
        model.set_score_bias(b)
        fractions.append(float((model.token_scores_for_codes(codes, items).asnumpy() > 0).mean()))
    assert all(a >= b for a, b in zip(fractions, fractions[1:])), fractions
    assert fractions[0] > fractions[-1] == 0.0
    with pytest.raises(ValueError):
        model.set_score_bias(0.5)


def test_bias_schedule_and_density_target():
    assert [scheduled_fraction(e, 1, 3) for e in range(6)] == [0.0, 0.0, 1 / 3, 2 / 3, 1.0, 1.0]
    assert scheduled_fraction(0, 0, 0) == 1.0
    raw = np.random.default_rng(0).standard_normal(10000)
    b = bias_for_density(raw, 0.1)
    assert b < 0 and abs((raw + b > 0).mean() - 0.1) < 1e-3
    assert bias_for_density(-np.abs(raw), 0.9) == 0.0        # never a positive bias
    cfg = tiny_config(vq_warmup_epochs=1, bias_anneal_epochs=2, score_bias=-0.4)
    model = build(cfg)
    states = [model.set_epoch_state(e) for e in range(4)]
    assert [s["vq_active"] for s in states] == [False, True, True, True]
    assert [s["kmeans_init_due"] for s in states] == [False, True, False, False]
    np.testing.assert_allclose([s["score_bias"] for s in states], [0.0, 0.0, -0.2, -0.4], atol=1e-6)
    dens = build(tiny_config(target_density=0.25))
    user_feats, hist, _, _ = tiny_batch(batch=8)
    out = dens.calibrate_score_bias(user_feats, hist, np.arange(1, N_ITEMS + 1, dtype=np.int32), epoch=0)
    assert abs(out["density"] - 0.25) < 0.05 and out["score_bias"] == pytest.approx(dens.get_score_bias())


def reference_sampled_softmax(scores):
    top = scores.max(1, keepdims=True)
    return float((np.log(np.exp(scores - top).sum(1)) + top[:, 0] - scores[:, 0]).mean())


@pytest.mark.parametrize("name", ["sparcode", "two_tower", "all_to_all"])
def test_same_loss_for_all_models(name):
    model = build(tiny_config(model=name, l2=1e-3))
    batch = tiny_batch()
    total, softmax, l2, commit, sparsity, dense = loss_parts(model, batch)
    assert dense == 0.0
    assert sparsity == 0.0                                  # sparsity_weight 0 by default
    user_feats, hist, pos, negs = batch
    items = np.concatenate([pos[:, None], negs], 1)
    scores = model.score(*tensors(user_feats, hist, items)).asnumpy()
    assert scores.shape == (5, 5)
    np.testing.assert_allclose(softmax, reference_sampled_softmax(scores), rtol=1e-5, atol=1e-5)
    table = model.item_tokenizer.id_table.asnumpy()
    expected_l2 = 1e-3 * ((table[hist[hist > 0]] ** 2).sum() + (table[items] ** 2).sum()) / 5
    np.testing.assert_allclose(l2, expected_l2, rtol=1e-4)
    beta = 1.0 if name == "sparcode" else 0.0
    np.testing.assert_allclose(total, softmax + l2 + beta * commit, rtol=1e-6)
    assert (commit > 0) == (name == "sparcode")


@pytest.mark.parametrize("name", ["sparcode", "two_tower"])
def test_in_batch_negatives(name):
    model = build(tiny_config(model=name, negative_sampling="in_batch"))
    user_feats, hist, pos, negs = tiny_batch(batch=6)
    pos[3] = pos[1]                                           # a duplicate positive must not count as a negative
    _, softmax, *_ = loss_parts(model, (user_feats, hist, pos, negs))
    scores = model.score(*tensors(user_feats, hist, pos[None])).asnumpy()    # [6, 6]
    expected = []
    for row in range(6):
        keep = (pos != pos[row]) | (np.arange(6) == row)
        s = np.concatenate([[scores[row, row]], scores[row, keep & (np.arange(6) != row)]])
        expected.append(reference_sampled_softmax(s[None]))
    np.testing.assert_allclose(softmax, np.mean(expected), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["sparcode", "two_tower"])
def test_in_batch_logq_correction(name):
    """logq_correction: every in-batch logit of column j is lowered by log q(pos_j), q = training-positive share."""
    meta = tiny_meta()
    counts = np.arange(N_ITEMS + 1, dtype=np.int64) * 3          # uneven popularity, item 0 (padding) never a positive
    meta["item_pos_counts"] = counts
    user_feats, hist, pos, negs = tiny_batch(batch=6)
    pos[3] = pos[1]
    plain = build(tiny_config(model=name, negative_sampling="in_batch"), meta)
    corrected = build(tiny_config(model=name, negative_sampling="in_batch", logq_correction=True), meta)
    _, softmax_plain, *_ = loss_parts(plain, (user_feats, hist, pos, negs))
    _, softmax, *_ = loss_parts(corrected, (user_feats, hist, pos, negs))
    scores = corrected.score(*tensors(user_feats, hist, pos[None])).asnumpy()   # same init seed: same weights
    log_q = np.log((counts + 1.0) / (counts + 1.0).sum())
    scores = scores - log_q[pos][None, :]
    expected = []
    for row in range(6):
        keep = (pos != pos[row]) & (np.arange(6) != row)
        expected.append(reference_sampled_softmax(np.concatenate([[scores[row, row]], scores[row, keep]])[None]))
    np.testing.assert_allclose(softmax, np.mean(expected), rtol=1e-5, atol=1e-5)
    assert abs(float(softmax) - float(softmax_plain)) > 1e-3       # the correction changes the loss


def test_logq_correction_needs_in_batch_and_counts():
    with pytest.raises(ConfigError, match="logq_correction"):
        tiny_config(logq_correction=True)                           # negative_sampling: uniform
    with pytest.raises(KeyError, match="item_pos_counts"):
        build(tiny_config(negative_sampling="in_batch", logq_correction=True), tiny_meta())


def test_code_ids_and_token_scores_agree_with_score():
    model = build(tiny_config())
    user_feats, hist, _, _ = tiny_batch(batch=4)
    codes = model.code_ids(*tensors(user_feats, hist)).asnumpy()              # [B, K_u]
    assert codes.shape == (4, 3) and codes.min() >= 0 and codes.max() < 16
    np.testing.assert_array_equal(model.decode_code_ids(codes.ravel()).asnumpy(),
                                  model.quantizer.encode(model.query_tokens(*tensors(user_feats, hist)))
                                  .asnumpy().reshape(-1, 2))
    items = np.arange(1, N_ITEMS + 1, dtype=np.int32)
    per_token = model.token_scores_for_codes(codes.ravel(), items).asnumpy().reshape(4, 3, -1)
    scores = model.score(*tensors(user_feats, hist, items[None])).asnumpy()
    np.testing.assert_allclose(per_token.sum(1), scores, rtol=1e-5, atol=1e-5)


def test_graph_and_pynative_give_the_same_loss():
    batch = tiny_batch()
    results = {}
    previous = ms.get_context("mode")
    try:
        for mode in (ms.PYNATIVE_MODE, ms.GRAPH_MODE):
            ms.set_context(mode=mode)
            model = build(tiny_config(negative_sampling="in_batch"))
            results[mode] = loss_parts(model, batch)
    finally:
        ms.set_context(mode=previous)
    np.testing.assert_allclose(results[ms.GRAPH_MODE], results[ms.PYNATIVE_MODE], rtol=1e-5, atol=1e-6)


def test_bad_config_values_raise():
    with pytest.raises(ValueError, match="score_bias"):
        build(tiny_config(score_bias=0.5))
    cfg = tiny_config()
    meta = tiny_meta()
    del meta["item_field_values"]
    with pytest.raises(KeyError, match="item_field_values"):
        build_model(cfg, meta)
    meta = tiny_meta()
    meta["item_field_values"] = meta["item_field_values"].copy()
    meta["item_field_values"][2, 0] = 9                          # field 0 has vocabulary 5
    with pytest.raises(ValueError, match="row 2, slot 0"):
        build_model(cfg, meta)


def test_dead_tokens_still_get_gradient_but_scores_stay_exact():
    """b far below every score: forward is exactly ReLU (all zero), the surrogate gradient still trains g."""
    model = build(tiny_config(score_bias=-100.0))
    model.set_train(True)
    batch = tensors(*tiny_batch())
    total = model.loss(*batch)[1]
    np.testing.assert_allclose(float(total.asnumpy()), np.log(5.0), rtol=1e-6)      # all logits 0 over 1 + 4 items
    params = model.interaction.trainable_params()
    grads = ms.grad(lambda *b: model.loss(*b)[0], grad_position=None, weights=params)(*batch)
    assert sum(float(np.abs(g.asnumpy()).sum()) for g in grads) > 0
    model.set_train(False)
    assert float(np.abs(model.score(*batch[:2], batch[2][None]).asnumpy()).max()) == 0.0


def test_field_query_encoder_makes_one_token_per_user_field():
    """query_encoder 'fields': token f depends on user field f only, not on the history."""
    model = build(tiny_config(query_encoder="fields", num_query_tokens=2))
    user_feats, hist, _, _ = tiny_batch(batch=6)
    z = model.query_tokens(*tensors(user_feats, hist)).asnumpy()
    assert z.shape == (6, 2, 8)
    z_other_hist = model.query_tokens(*tensors(user_feats, hist[::-1].copy())).asnumpy()
    np.testing.assert_allclose(z_other_hist, z, rtol=1e-6)
    feats = user_feats.copy()
    feats[:, 1] = feats[:, 1] % 5 + 1                  # other non-padding values of field 1
    z_new = model.query_tokens(*tensors(feats, hist)).asnumpy()
    np.testing.assert_allclose(z_new[:, 0], z[:, 0], rtol=1e-6)
    changed = feats[:, 1] != user_feats[:, 1]
    assert np.abs(z_new[changed, 1] - z[changed, 1]).max() > 1e-4
    with pytest.raises(ValueError, match="num_query_tokens"):
        build(tiny_config(query_encoder="fields", num_query_tokens=3))
