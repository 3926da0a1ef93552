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
"""SAFI generator: determinism, shapes, density, no leakage, oracle recall vs an independent calibration."""
import numpy as np
import pytest

from src.config import load_config
from src.data.synthetic import (SAFI_PRESETS, REFERENCE_ORACLE_RECALL50, generate_safi, lowrank_topk, make_extra_items,
                                oracle_topk, rank_certificate, safi_impacts, safi_utility)
from src.metrics import evaluate_topk


def tiny_cfg(**overrides):
    return load_config(None, dict({"preset": "tiny", "history_len": 12}, **overrides))


@pytest.fixture(scope="module")
def tiny():
    return generate_safi(tiny_cfg())


def rows_of(indptr, items):
    return [set(items[indptr[i]:indptr[i + 1]].tolist()) for i in range(len(indptr) - 1)]


def test_deterministic_under_seed(tiny):
    again = generate_safi(tiny_cfg())
    other = generate_safi(tiny_cfg(seed=1))
    for name in ("train_hist", "train_pos", "user_pos_items"):
        assert np.array_equal(getattr(tiny, name), getattr(again, name))
    assert np.array_equal(tiny.test.target_items, again.test.target_items)
    assert not np.array_equal(tiny.train_pos, other.train_pos)


def test_valid_users_do_not_change_main_users(tiny):
    more_valid = generate_safi(tiny_cfg(n_valid_users=7))
    assert np.array_equal(tiny.train_pos, more_valid.train_pos)
    assert np.array_equal(tiny.test.target_items, more_valid.test.target_items)
    assert len(more_valid.valid) == 7


def test_shapes_and_fields(tiny):
    p = SAFI_PRESETS["tiny"]
    n_u, n_i, n_v = p["n_users"], p["n_items"], p["n_valid_users"]
    assert tiny.n_items == n_i and tiny.n_users == n_u + n_v
    assert tiny.item_fields.values.shape == (n_i + 1, p["n_fields_item"])
    assert (tiny.item_fields.values[0] == 0).all() and (tiny.item_fields.values[1:] >= 1).all()
    assert tiny.user_fields.values.shape == (n_u + n_v, p["n_fields_user"])
    assert tiny.item_fields.field_vocab == [p["field_vocab"] + 1] * p["n_fields_item"]
    assert tiny.train_hist.shape == (n_u * p["n_pos_train"], 12) and tiny.train_hist.dtype == np.int32
    assert len(tiny.test) == n_u and len(tiny.valid) == n_v
    assert (np.diff(tiny.test.target_indptr) == p["n_pos_test"]).all()
    assert (np.diff(tiny.test.seen_indptr) == p["n_pos_train"]).all()
    meta = tiny.model_meta()
    assert meta["history_len"] == 12 and meta["n_items"] == n_i and list(meta["user_slot_field"]) == [0, 1]
    tiny.validate()


def test_positive_sets_and_no_leakage(tiny):
    n_tr = SAFI_PRESETS["tiny"]["n_pos_train"]
    tests = rows_of(tiny.test.target_indptr, tiny.test.target_items)
    seen = rows_of(tiny.test.seen_indptr, tiny.test.seen_items)
    for u in range(len(tiny.test)):
        assert len(tests[u]) == len(tiny.test.targets(u))  # distinct positives
        assert not tests[u] & seen[u]
        assert not tests[u] & set(tiny.test.hist[u].tolist())
        train_u = set(tiny.train_pos[tiny.train_users == u].tolist())
        assert train_u == seen[u] and len(train_u) == n_tr
        assert not tests[u] & train_u
    # leave-one-out: a training target is never in its own history; the rest of the user's positives are
    assert not (tiny.train_hist == tiny.train_pos[:, None]).any(axis=1).any()
    for row in (0, 5, 17):
        u = tiny.train_users[row]
        others = set(tiny.train_pos[tiny.train_users == u].tolist()) - {int(tiny.train_pos[row])}
        assert set(tiny.train_hist[row][tiny.train_hist[row] > 0].tolist()) == others
    # negatives exclude train positives only: the test targets are not "known" positives
    known = rows_of(tiny.user_pos_indptr, tiny.user_pos_items)
    assert all(known[u] == seen[u] for u in range(len(tiny.test)))


def test_density_is_about_one_minus_q(tiny):
    W, beta = tiny.extras["safi_W"], float(tiny.extras["safi_beta"])
    h = safi_impacts(W, tiny.extras["safi_item_y"])
    assert (h > beta).mean() == pytest.approx(1 - SAFI_PRESETS["tiny"]["safi_quantile"], abs=0.01)
    cfg = load_config(None, {"preset": "S2"})
    data = generate_safi(cfg)
    h = safi_impacts(data.extras["safi_W"], data.extras["safi_item_y"])
    assert (h > float(data.extras["safi_beta"])).mean() == pytest.approx(0.08, abs=0.005)


def test_utility_matches_definition(tiny):
    W, beta = tiny.extras["safi_W"], float(tiny.extras["safi_beta"])
    x, y = tiny.extras["safi_user_x"][:3], tiny.extras["safi_item_y"][:5]
    R = safi_utility(W, beta, x, y)
    for u in range(3):
        for i in range(5):
            expected = sum(max(0.0, sum(W[f, g, x[u, f], y[i, g]] for g in range(W.shape[1])) - beta)
                           for f in range(W.shape[0]))
            assert R[u, i] == pytest.approx(expected, rel=1e-5, abs=1e-6)


def test_positives_follow_utility(tiny):
    """Gumbel-top-k samples favour high-utility items: positives have far higher utility than random items."""
    R = safi_utility(tiny.extras["safi_W"], float(tiny.extras["safi_beta"]), tiny.extras["safi_user_x"][:300],
                     tiny.extras["safi_item_y"])
    pos_util = R[tiny.train_users, tiny.train_pos - 1].mean()
    assert pos_util > 3 * R.mean()


def test_oracle_recall_matches_spec_calibration():
    data = generate_safi(load_config(None, {"preset": "S2", "history_len": 30}))
    m = evaluate_topk(oracle_topk(data, "test", 50), data.test.target_indptr, data.test.target_items, ks=(50,))
    assert m["recall@50"] == pytest.approx(REFERENCE_ORACLE_RECALL50["S2"], abs=0.05)
    # the best rank-8 approximation is far worse (two-tower misspecification), rank-128 >= rank(R) is exact
    low8 = evaluate_topk(lowrank_topk(data, 8, "test", 50), data.test.target_indptr, data.test.target_items, (50,))
    assert low8["recall@50"] < m["recall@50"] - 0.2
    cert = rank_certificate(data, dims=(8, 64, 128))
    assert cert["rank"] <= 3 * 32 and cert["tail"][8] > cert["tail"][64] > 0 and cert["tail"][128] < 1e-6


def test_extra_items_from_same_generator():
    cfg = tiny_cfg()
    extra = make_extra_items(cfg, 1000, seed=3)
    assert extra.values.shape == (1000, 2) and extra.values.min() >= 1 and extra.values.max() <= 8
    assert np.array_equal(extra.values, make_extra_items(cfg, 1000, seed=3).values)
    assert not np.array_equal(extra.values, make_extra_items(cfg, 1000, seed=4).values)
    extra.validate("extra items")


@pytest.mark.parametrize("history_len", [5, 20])
def test_history_length_truncates_or_pads(tiny, history_len):
    data = generate_safi(tiny_cfg(history_len=history_len))
    n_tr = SAFI_PRESETS["tiny"]["n_pos_train"]
    assert data.train_hist.shape[1] == history_len and data.test.hist.shape[1] == history_len
    assert np.array_equal(data.train_pos, tiny.train_pos)
    full = tiny.test.hist  # L = 12 = n_pos_train: every train positive
    if history_len < n_tr:
        assert np.array_equal(data.test.hist, full[:, -history_len:])
        assert np.array_equal(data.train_hist, tiny.train_hist[:, -history_len:])
    else:
        assert (data.test.hist[:, :history_len - n_tr] == 0).all()
        assert np.array_equal(data.test.hist[:, history_len - n_tr:], full)
        assert (data.train_hist[:, :history_len - n_tr + 1] == 0).all()
