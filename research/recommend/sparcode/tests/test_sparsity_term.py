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
"""`sparsity_weight` (L1 term mean ReLU(s_k + b) over the scored (real token, candidate) pairs), `dense_loss_weight`
(sampled softmax of the scores at b = 0 next to the one at the trained b) and `relu_grad_leak` (slope of the
training-only surrogate gradient of ReLU(s_k + b) below zero)."""
import csv
import json
import os

import numpy as np
import mindspore as ms
import pytest
from mindspore import Tensor

import eval as eval_entry
from conftest import run_readme_commands, run_train
from src.config import ConfigError
from model_helpers import HISTORY_LEN, N_ITEMS, build, tensors, tiny_batch, tiny_config

HISTORY = {"query_encoder": "history", "num_query_tokens": HISTORY_LEN, "quantizer": "item_id"}


def _model(seed=0, **overrides):
    """An item-id model with unit-scale random weights (the initial g scores every pair below 0, which would make
    the term vacuous); the same seed gives the same weights whatever the overrides."""
    model = build(tiny_config(**HISTORY, **overrides), seed=seed)
    rng = np.random.default_rng(seed)
    for param in model.trainable_params():
        param.set_data(Tensor(rng.standard_normal(param.shape).astype(np.float32) * 0.5))
    model.set_train(True)
    return model


def _batch():
    user_feats, hist, pos, negs = tiny_batch(seed=4, batch=7)
    hist[0] = [0, 0, 0, 0, 0, 9]          # mostly padding
    hist[1] = 0                           # padding only: contributes no pair to the term
    return user_feats, hist, pos, negs


def _hand_parts(model, user_feats, hist, pos, negs, bias):
    """Per-token scores from the index path (g of the item-id code's token against each item), then the softmax
    loss and the sparsity term by hand in numpy."""
    raw = model.raw_token_scores_for_codes(np.arange(N_ITEMS + 1, dtype=np.int32),
                                           np.arange(1, N_ITEMS + 1, dtype=np.int32)).asnumpy()   # [codes, items]
    items = np.concatenate([pos[:, None], negs], 1)                                              # [B, C]
    s = raw[hist[:, :, None], items[:, None, :] - 1]                                             # [B, K_u, C]
    active = np.maximum(s.astype(np.float64) + bias, 0.0)
    logits = active.sum(1)                                       # every token, padding included (as served)
    top = logits.max(1)
    softmax = np.mean(np.log(np.exp(logits - top[:, None]).sum(1)) + top - logits[:, 0])
    mask = (hist > 0)[:, :, None]
    sparsity = (active * mask).sum() / (mask.sum() * items.shape[1])
    return softmax, sparsity


@pytest.mark.parametrize("bias", [0.0, -0.4])
def test_term_equals_hand_computation(bias):
    """The term is the mean of ReLU(s_k + b) over the (non-padding token, candidate) pairs of the step; total adds
    sparsity_weight times it; the softmax loss is the one of the model without the term."""
    weight = 0.3
    model = _model(sparsity_weight=weight)
    plain = _model()
    for m in (model, plain):
        m.set_score_bias(bias)
    batch = _batch()
    total, softmax, l2, commit, sparsity, _ = [float(x.asnumpy()) for x in model.loss(*tensors(*batch))]
    want_softmax, want_sparsity = _hand_parts(model, *batch, bias)
    assert 0.01 < want_sparsity and commit == 0.0          # the weights give positive pairs: not a vacuous check
    assert sparsity == pytest.approx(want_sparsity, rel=1e-5)
    assert softmax == pytest.approx(want_softmax, rel=1e-5)
    assert total == pytest.approx(softmax + l2 + weight * sparsity, rel=1e-6)
    p_total, p_softmax, p_l2, _, p_sparsity, _ = [float(x.asnumpy()) for x in plain.loss(*tensors(*batch))]
    assert (p_softmax, p_l2, p_sparsity) == (softmax, l2, 0.0)
    assert total - p_total == pytest.approx(weight * want_sparsity, rel=1e-4)
    # padding tokens are excluded: with every token real, the mean is a different number
    user_feats, hist, pos, negs = batch
    full = hist.copy()
    full[full == 0] = 3
    _, full_sparsity = _hand_parts(model, user_feats, full, pos, negs, bias)
    assert float(model.loss(*tensors(user_feats, full, pos, negs))[4].asnumpy()) == pytest.approx(full_sparsity,
                                                                                                  rel=1e-5)


def test_dense_softmax_equals_hand_computation():
    """With dense_loss_weight w and b < 0: softmax is computed on sum_k ReLU(s_k + b), the dense term on
    sum_k ReLU(s_k), and total = softmax + l2 + w * dense."""
    weight, bias = 0.7, -0.4
    model = _model(dense_loss_weight=weight)
    model.set_score_bias(bias)
    batch = _batch()
    total, softmax, l2, _, sparsity, dense = [float(x.asnumpy()) for x in model.loss(*tensors(*batch))]
    want_softmax, _ = _hand_parts(model, *batch, bias)
    want_dense, _ = _hand_parts(model, *batch, 0.0)
    assert abs(want_dense - want_softmax) > 0.01 and sparsity == 0.0       # b < 0 cuts pairs: the two differ
    assert softmax == pytest.approx(want_softmax, rel=1e-5)
    assert dense == pytest.approx(want_dense, rel=1e-5)
    assert total == pytest.approx(softmax + l2 + weight * dense, rel=1e-6)


def _grads(model, batch):
    params = model.trainable_params()
    grads = ms.grad(lambda *b: model.loss(*b)[0], grad_position=None, weights=params)(*tensors(*batch))
    return {p.name: g.asnumpy() for p, g in zip(params, grads)}


def test_default_is_the_model_without_the_keys():
    """Defaults (sparsity_weight 0, dense_loss_weight 0, relu_grad_leak 0.01): both terms output 0, total = softmax
    + l2 + commitment exactly, and losses and gradients bit for bit those of the same weights with the keys set to
    the old constants."""
    batch = _batch()
    default = _model()
    explicit = _model(sparsity_weight=0.0, dense_loss_weight=0.0, relu_grad_leak=0.01)
    got = [float(x.asnumpy()) for x in default.loss(*tensors(*batch))]
    assert got[4] == got[5] == 0.0 and got[0] == np.float32(np.float32(got[1]) + np.float32(got[2]))
    assert got == [float(x.asnumpy()) for x in explicit.loss(*tensors(*batch))]
    want = _grads(explicit, batch)
    for name, grad in _grads(default, batch).items():
        np.testing.assert_array_equal(grad, want[name], err_msg=name)


def test_relu_grad_leak_changes_gradients_only():
    """The leak is the slope of the surrogate gradient below zero: same losses, and with every pair below zero
    (b very negative) g's gradient is proportional to the leak (0 without leak)."""
    batch = _batch()
    by_leak = {}
    for leak in (0.0, 0.01, 0.3):
        model = _model(relu_grad_leak=leak)
        model.set_score_bias(-100.0)
        by_leak[leak] = ([float(x.asnumpy()) for x in model.loss(*tensors(*batch))], _grads(model, batch))
    assert by_leak[0.0][0] == by_leak[0.01][0] == by_leak[0.3][0]
    g_names = [name for name in by_leak[0.3][1] if name.startswith("interaction.")]
    assert g_names
    for name in g_names:
        assert not np.any(by_leak[0.0][1][name]), name
        np.testing.assert_allclose(by_leak[0.3][1][name], 30.0 * by_leak[0.01][1][name], rtol=1e-4, atol=1e-7)
    assert any(np.abs(by_leak[0.3][1][name]).max() > 1e-6 for name in g_names)


def test_config_errors_name_the_key():
    with pytest.raises(ConfigError, match=r"key 'sparsity_weight' must be >= 0 .*got -0.1"):
        tiny_config(sparsity_weight=-0.1, **HISTORY)
    with pytest.raises(ConfigError, match=r"key 'sparsity_weight' acts on the per-token scores of g"):
        tiny_config(model="two_tower", sparsity_weight=0.1)
    with pytest.raises(ConfigError, match=r"key 'relu_grad_leak' must be in \[0, 1\].*got 1.5"):
        tiny_config(relu_grad_leak=1.5)
    with pytest.raises(ConfigError, match=r"key 'relu_grad_leak' must be in \[0, 1\].*got -0.01"):
        tiny_config(relu_grad_leak=-0.01)
    with pytest.raises(ConfigError, match=r"sparsity_weight"):
        tiny_config(sparsity_weight="much", **HISTORY)
    with pytest.raises(ConfigError, match=r"key 'dense_loss_weight' must be >= 0 .*got -1.0"):
        tiny_config(dense_loss_weight=-1.0, **HISTORY)
    with pytest.raises(ConfigError, match=r"key 'dense_loss_weight' .*needs model sparcode or all_to_all and "
                                          r"negative_sampling uniform, got model 'sparcode' and negative_sampling "
                                          r"'in_batch'"):
        tiny_config(dense_loss_weight=1.0, negative_sampling="in_batch", **HISTORY)
    with pytest.raises(ConfigError, match=r"key 'dense_loss_weight' .*got model 'two_tower'"):
        tiny_config(dense_loss_weight=1.0, model="two_tower")
    # the model refuses a config that skipped validation, naming the key
    cfg = tiny_config(**HISTORY)
    cfg.sparsity_weight = float("nan")
    with pytest.raises(ValueError, match="config key 'sparsity_weight'"):
        build(cfg)
    cfg = tiny_config(**HISTORY)
    cfg.dense_loss_weight = -0.5
    with pytest.raises(ValueError, match="config key 'dense_loss_weight'"):
        build(cfg)
    cfg = tiny_config(**HISTORY)
    cfg.dense_loss_weight, cfg.negative_sampling = 1.0, "in_batch"
    with pytest.raises(ValueError, match="config key 'dense_loss_weight': needs negative_sampling 'uniform'"):
        build(cfg)
    cfg = tiny_config(**HISTORY)
    cfg.relu_grad_leak = 2.0
    with pytest.raises(ValueError, match="config key 'relu_grad_leak'"):
        build(cfg)


def _train(ckpt_dir, *extra):
    run_train(str(ckpt_dir), "--query_encoder=history", "--history_len=16", "--num_query_tokens=16",
              "--quantizer=item_id", "--epochs=3", "--score_bias=0", *extra)
    result = eval_entry.main([f"--ckpt_path={ckpt_dir}"])
    with open(os.path.join(ckpt_dir, "train_history.json"), encoding="utf-8") as f:
        history = json.load(f)
    return result, history


def test_term_lowers_the_index_density_in_training(tmp_path):
    """A short training of the tiny synthetic run at b = 0 with and without the term (same seed): the term is
    logged per epoch, and the index at b = 0 keeps far fewer (code, item) pairs with it."""
    plain, plain_history = _train(tmp_path / "plain")
    sparse, sparse_history = _train(tmp_path / "sparse", "--sparsity_weight=0.1")
    records = sparse_history["history"] if isinstance(sparse_history, dict) else sparse_history
    assert all(r["sparsity_loss"] > 0 for r in records)
    plain_records = plain_history["history"] if isinstance(plain_history, dict) else plain_history
    assert all(r["sparsity_loss"] == 0.0 for r in plain_records)
    assert plain["index"]["score_bias"] == sparse["index"]["score_bias"] == 0.0
    print("index density at b = 0 without / with the term:", plain["index"]["density"], sparse["index"]["density"])
    assert plain["index"]["density"] > 0.1
    assert sparse["index"]["density"] < 0.5 * plain["index"]["density"]


# The README's commands of the fifth-round section (MovieLens-100K, the item-id model toward density 0.05).
SPARSE_COMMANDS = (
    "python scripts/movielens_experiments.py --plan=history_sparse_probe --data_path=/path/to/ml-100k "
    "--out=./results/ml100k_fast --threads=1",
    "python scripts/movielens_experiments.py --plan=history_sparse_dense --data_path=/path/to/ml-100k "
    "--out=./results/ml100k_fast --threads=1",
    "python scripts/density_curve.py --ckpt_path=./results/ml100k_fast/ckpt/fa_hist_idx_neg50-seed0 "
    "--eval_split=valid --densities=0.05 --out=./results/ml100k_fast/dens/fa_hist_idx_neg50-seed0-valid --threads=1",
)


def test_readme_sparse_commands_on_a_small_ml100k_folder(tmp_path):
    """The README's commands exactly as written (only /path/to/ml-100k replaced), in a copy of the model folder, on a
    50-user ML-100K folder in the original format: every probe run and the 3 seeds are trained and evaluated through
    their index, the density-trained ones at density <= 0.05, and the density curve reaches 0.05."""
    model_dir, _ = run_readme_commands(SPARSE_COMMANDS, tmp_path, timeout=1200)
    with open(model_dir / "results" / "ml100k_fast" / "results.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    trained = sorted((row["run"], int(row["seed"])) for row in rows if row["run"].startswith("fa_hist_idx"))
    probe = ["sw001", "sw01", "neg50", "lr3e-3", "drop0", "td05_leak03", "td05_anneal2", "td05_dense1",
             "td05_anneal2_dense1"]
    assert trained == sorted([(f"fa_hist_idx_{name}", 0) for name in probe]
                             + [("fa_hist_idx_td05_anneal2_dense1", 1), ("fa_hist_idx_td05_anneal2_dense1", 2)])
    for row in rows:
        # (an annealed b is 0 in epoch 0 and half in epoch 1: the best epoch of a tiny run may be one of those)
        if "td05" in row["run"] and "anneal" not in row["run"]:
            assert 0.0 <= float(row["index_density"]) <= 0.06 and int(row["test_users"]) == 50
        if row["run"].endswith("_dense1"):
            assert float(row["dense_loss"]) > 0
    with open(model_dir / "results" / "ml100k_fast" / "dens" / "fa_hist_idx_neg50-seed0-valid.json",
              encoding="utf-8") as f:
        curve = json.load(f)
    assert curve["split"] == "valid" and len(curve["rows"]) == 1
    assert curve["rows"][0]["density"] <= 0.05 + 0.01
