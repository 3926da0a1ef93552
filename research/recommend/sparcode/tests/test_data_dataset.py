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
"""RecData persistence, the split protocol, negative sampling and the MindSpore training pipeline."""
import json
import os

import numpy as np
import pytest

from src.config import load_config
from src.data.dataset import (DataError, RecData, build_data, create_train_dataset, csr_sorted_unique,
                              data_signature, per_user_time_cuts, sample_negatives, split_interactions, split_seed,
                              train_rows_for_rank)


def tiny_cfg(**overrides):
    return load_config(None, dict({"preset": "tiny", "history_len": 12, "batch_size": 32}, **overrides))


@pytest.fixture(scope="module")
def tiny():
    return build_data(tiny_cfg())


def random_log(rng, n_users, n_items, lengths):
    users = np.repeat(np.arange(n_users), lengths)
    items = np.concatenate([rng.choice(np.arange(1, n_items + 1), size=n, replace=False) for n in lengths])
    times = rng.integers(0, 50, size=len(users))  # many timestamp ties on purpose
    return users, items, times


def ml_cfg(**overrides):
    return load_config(None, dict({"dataset": "ml-100k", "history_len": 5}, **overrides))


# ---------------------------------------------------------------------- split protocol
def test_split_protocol_chronology_and_no_leakage():
    rng = np.random.default_rng(0)
    lengths = rng.integers(5, 30, size=60)
    users, items, times = random_log(rng, 60, 80, lengths)
    cfg = ml_cfg()
    train, valid, test, (pos_indptr, pos_items), stats = split_interactions(
        users, items, times, 60, 80, cfg, np.random.default_rng(cfg.seed))
    order = np.lexsort((items, times, users))
    seq = {u: items[order][users[order] == u].tolist() for u in range(60)}

    groups = {name: set(split.users.tolist()) for name, split in (("valid", valid), ("test", test))}
    groups["train"] = set(train["users"].tolist())
    assert not groups["train"] & groups["valid"] and not groups["train"] & groups["test"]
    assert not groups["valid"] & groups["test"]
    assert len(groups["train"]) == 48 and len(valid) == 6 and len(test) == 6
    assert stats["train_examples"] == sum(max(len(seq[u]) - 4, 0) for u in groups["train"])

    # train example: pos = item k of the chronological sequence, hist = the L items before it (left-padded)
    for row in range(0, len(train["pos"]), 7):
        u, pos, hist = train["users"][row], train["pos"][row], train["hist"][row]
        s = seq[u]
        k = s.index(pos)
        assert k >= cfg.min_history
        expected = s[max(0, k - 5):k]
        assert hist.tolist() == [0] * (5 - len(expected)) + expected
    for split in (valid, test):
        for r, u in enumerate(split.users):
            s = seq[u]
            n_hist = int(0.8 * len(s))
            assert split.seen(r).tolist() == s[:n_hist]
            assert split.targets(r).tolist() == s[n_hist:]
            assert split.hist[r].tolist() == ([0] * 5 + s[:n_hist])[-5:]
            assert not set(split.targets(r).tolist()) & set(split.hist[r].tolist())
            # negatives of a held-out user exclude only what was known: its first 80%
            assert pos_items[pos_indptr[u]:pos_indptr[u + 1]].tolist() == sorted(s[:n_hist])


def test_split_is_deterministic_and_seeded():
    rng = np.random.default_rng(1)
    log = random_log(rng, 40, 50, rng.integers(6, 12, size=40))
    a = split_interactions(*log, 40, 50, ml_cfg(), np.random.default_rng(0))
    b = split_interactions(*log, 40, 50, ml_cfg(), np.random.default_rng(0))
    c = split_interactions(*log, 40, 50, ml_cfg(), np.random.default_rng(5))
    assert np.array_equal(a[0]["hist"], b[0]["hist"]) and np.array_equal(a[2].users, b[2].users)
    assert not np.array_equal(a[2].users, c[2].users)


def test_split_caps_and_errors():
    rng = np.random.default_rng(2)
    lengths = np.full(30, 40)
    log = random_log(rng, 30, 60, lengths)
    train, valid, _, _, stats = split_interactions(*log, 30, 60, ml_cfg(max_examples_per_user=3, max_eval_targets=2),
                                                   np.random.default_rng(0))
    assert np.bincount(train["users"]).max() == 3 and stats["capped_train_examples"] == 24 * (36 - 3)
    users, items, times = log
    order = np.lexsort((items, times, users))
    for u, pos, hist in zip(train["users"], train["pos"], train["hist"]):  # kept cut points stay consistent
        seq = items[order][users[order] == u].tolist()
        k = seq.index(pos)
        assert k >= 4 and hist.tolist() == ([0] * 5 + seq[:k])[-5:]
    assert (np.diff(valid.target_indptr) == 2).all() and stats["truncated_eval_targets"] == 6 * 6
    with pytest.raises(DataError, match="the test split is empty"):
        split_interactions(*log, 30, 60, ml_cfg(split_ratio=[0.9, 0.1, 0.0]), np.random.default_rng(0))
    with pytest.raises(DataError, match="no train examples"):
        split_interactions(*log, 30, 60, ml_cfg(min_history=50), np.random.default_rng(0))


def test_per_user_time_split_every_user_chronological_no_leakage():
    rng = np.random.default_rng(3)
    lengths = rng.integers(5, 40, size=50)
    users, items, times = random_log(rng, 50, 90, lengths)
    cfg = ml_cfg(split_protocol="per_user_time", split_ratio=[0.7, 0.1, 0.2])
    train, valid, test, (pos_indptr, pos_items), stats = split_interactions(
        users, items, times, 50, 90, cfg, np.random.default_rng(0))
    order = np.lexsort((items, times, users))
    seq = {u: items[order][users[order] == u].tolist() for u in range(50)}
    assert valid.users.tolist() == list(range(50)) and test.users.tolist() == list(range(50))
    n_train, n_valid, n_test = per_user_time_cuts(lengths, cfg.split_ratio)
    assert (n_test == np.maximum(np.floor(0.2 * lengths), 1)).all() and (n_valid >= 1).all()
    assert stats["train_examples"] == int(np.maximum(n_train - cfg.min_history, 0).sum()) == len(train["pos"])
    for u in range(50):
        s, a, b = seq[u], n_train[u], n_train[u] + n_valid[u]
        assert valid.targets(u).tolist() == s[a:b] and valid.seen(u).tolist() == s[:a]
        assert test.targets(u).tolist() == s[b:] and test.seen(u).tolist() == s[:b]
        assert valid.hist[u].tolist() == ([0] * 5 + s[:a])[-5:]
        assert test.hist[u].tolist() == ([0] * 5 + s[:b])[-5:]  # the valid slice is known history at test time
        assert pos_items[pos_indptr[u]:pos_indptr[u + 1]].tolist() == sorted(s[:a])  # negatives avoid train only
    for row in range(len(train["pos"])):  # every training target lies in its user's train slice
        u, pos = train["users"][row], train["pos"][row]
        k = seq[u].index(pos)
        assert cfg.min_history <= k < n_train[u]
        assert train["hist"][row].tolist() == ([0] * 5 + seq[u][:k])[-5:]
    # users with no train item left are neither trained on nor evaluated, and are counted
    short = split_interactions(np.repeat([0, 1], [2, 30]), np.r_[1, 2, np.arange(1, 31)], np.arange(32), 2, 30,
                               ml_cfg(split_protocol="per_user_time", min_history=1), np.random.default_rng(0))
    assert short[2].users.tolist() == [1] and short[4]["dropped_heldout_users_lt2"] == 1


def test_split_seed_fixes_the_split_while_seed_varies():
    assert split_seed(ml_cfg(seed=4)) == 4 and split_seed(ml_cfg(seed=4, split_seed=0)) == 0
    fixed = [data_signature(ml_cfg(seed=s, split_seed=0)) for s in (0, 1, 2)]
    assert fixed[0] == fixed[1] == fixed[2]
    assert data_signature(ml_cfg(seed=1)) != data_signature(ml_cfg(seed=2))  # null split_seed: seed splits
    assert data_signature(ml_cfg(split_protocol="per_user_time")) != data_signature(ml_cfg())
    assert data_signature(tiny_cfg(seed=1, split_seed=0)) != data_signature(tiny_cfg(seed=2, split_seed=0))


# ---------------------------------------------------------------------- negatives
def test_negatives_never_positive_and_uniform():
    rng = np.random.default_rng(0)
    n_items = 50
    pos_rows = np.repeat(np.arange(3), [45, 10, 0])
    pos_items = np.concatenate([np.arange(1, 46), rng.choice(np.arange(1, 51), 10, replace=False)])
    indptr, items = csr_sorted_unique(pos_rows, pos_items, 3)
    users = np.repeat(np.arange(3), 2000)
    negs = sample_negatives(np.random.default_rng(1), users, 10, n_items, indptr, items)
    assert negs.shape == (6000, 10) and negs.dtype == np.int32
    for u in range(3):
        drawn = negs[users == u].ravel()
        allowed = np.setdiff1d(np.arange(1, n_items + 1), items[indptr[u]:indptr[u + 1]])
        assert set(drawn.tolist()) == set(allowed.tolist())  # never a positive, every non-positive reachable
        counts = np.bincount(drawn, minlength=n_items + 1)[allowed]
        expected = len(drawn) / len(allowed)
        chi2 = ((counts - expected) ** 2 / expected).sum()
        assert chi2 < len(allowed) + 6 * np.sqrt(2 * len(allowed))  # ~ chi-square with len(allowed)-1 dof
    same = sample_negatives(np.random.default_rng(1), users, 10, n_items, indptr, items)
    assert np.array_equal(negs, same)


def test_negatives_error_when_user_has_every_item():
    indptr, items = csr_sorted_unique(np.zeros(5, dtype=int), np.arange(1, 6), 1)
    with pytest.raises(DataError, match="every item"):
        sample_negatives(np.random.default_rng(0), np.array([0]), 3, 5, indptr, items)


# ---------------------------------------------------------------------- persistence
def test_save_load_round_trip(tiny, tmp_path):
    tiny.save(str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == ["arrays.npz", "meta.json"]
    back = RecData.load(str(tmp_path))
    for name in ("train_users", "train_hist", "train_pos", "user_pos_indptr", "user_pos_items"):
        assert np.array_equal(getattr(tiny, name), getattr(back, name))
    assert np.array_equal(tiny.test.target_items, back.test.target_items)
    assert np.array_equal(tiny.item_fields.values, back.item_fields.values)
    assert back.user_fields.field_names == tiny.user_fields.field_names
    assert np.array_equal(tiny.extras["safi_W"], back.extras["safi_W"])
    assert back.meta["params"] == json.loads(json.dumps(tiny.meta["params"]))
    assert back.model_meta()["item_field_vocab"] == tiny.model_meta()["item_field_vocab"]


def test_validate_rejects_inconsistent_data(tiny, tmp_path):
    tiny.save(str(tmp_path))
    broken = RecData.load(str(tmp_path))
    broken.train_pos = broken.train_pos.copy()
    broken.train_pos[3] = broken.n_items + 1
    with pytest.raises(DataError, match=r"train_pos: ids must be in \[1, 200\]"):
        broken.validate()
    broken = RecData.load(str(tmp_path))
    broken.test.target_indptr = broken.test.target_indptr[:-1]
    with pytest.raises(DataError, match="test.targets: malformed CSR"):
        broken.validate()
    broken = RecData.load(str(tmp_path))
    broken.item_fields.values = broken.item_fields.values.copy()
    broken.item_fields.values[4, 1] = 99
    with pytest.raises(DataError, match="value 99 at row 4, slot 1 is outside the vocabulary of field 'item_field1'"):
        broken.validate()


def test_load_errors(tiny, tmp_path):
    with pytest.raises(DataError, match="meta.json: missing"):
        RecData.load(str(tmp_path))
    tiny.save(str(tmp_path))
    (tmp_path / "arrays.npz").write_bytes(b"not a zip file")
    with pytest.raises(DataError, match="arrays.npz: corrupt"):
        RecData.load(str(tmp_path))
    tiny.save(str(tmp_path))
    (tmp_path / "meta.json").write_text("{broken")
    with pytest.raises(DataError, match="meta.json: corrupt"):
        RecData.load(str(tmp_path))


def test_build_data_reuses_processed_dir_only_when_signature_matches(tmp_path):
    cfg = tiny_cfg(processed_path=str(tmp_path))
    data = build_data(cfg)
    data.meta["marker"] = "saved"
    data.save(str(tmp_path))
    assert build_data(cfg).meta.get("marker") == "saved"
    other = build_data(tiny_cfg(processed_path=str(tmp_path), seed=3))
    assert "marker" not in other.meta and not np.array_equal(other.train_pos, data.train_pos)


# ---------------------------------------------------------------------- MindSpore pipeline
def test_train_dataset_columns_dtypes_shapes(tiny):
    cfg = tiny_cfg()
    dataset = create_train_dataset(tiny, cfg, epoch_seed=1)
    n_batches = len(tiny.train_pos) // 32
    assert dataset.get_dataset_size() == n_batches
    assert dataset.get_col_names() == ["user_feats", "hist", "pos", "negs"]
    batches = list(dataset.create_tuple_iterator(output_numpy=True, num_epochs=1))
    assert len(batches) == n_batches
    feats, hist, pos, negs = batches[0]
    assert feats.shape == (32, 2) and hist.shape == (32, 12) and pos.shape == (32,) and negs.shape == (32, 10)
    assert all(x.dtype == np.int32 for x in (feats, hist, pos, negs))
    all_pos = np.concatenate([b[2] for b in batches])
    all_negs = np.concatenate([b[3] for b in batches])
    # negatives exclude the positives of the example's user (found through its (hist, pos) row)
    rows = {(tuple(h), p): u for u, h, p in zip(tiny.train_users, map(tuple, tiny.train_hist), tiny.train_pos)}
    for b in batches[:3]:
        for h, p, n, f in zip(b[1], b[2], b[3], b[0]):
            u = rows[(tuple(h), p)]
            known = set(tiny.user_pos_items[tiny.user_pos_indptr[u]:tiny.user_pos_indptr[u + 1]].tolist())
            assert not set(n.tolist()) & known
            assert np.array_equal(f, tiny.user_fields.values[u])
    assert len(np.unique(all_pos)) > 50 and all_negs.min() >= 1 and all_negs.max() <= tiny.n_items


def test_train_dataset_fresh_negatives_each_pass_and_seeded(tiny):
    cfg = tiny_cfg()
    dataset = create_train_dataset(tiny, cfg, epoch_seed=4)
    first = [b[3] for b in dataset.create_tuple_iterator(output_numpy=True, num_epochs=1)]
    second = [b[3] for b in dataset.create_tuple_iterator(output_numpy=True, num_epochs=1)]
    assert not np.array_equal(first[0], second[0])
    again = [b[3] for b in create_train_dataset(tiny, cfg, epoch_seed=4).create_tuple_iterator(
        output_numpy=True, num_epochs=1)]
    assert np.array_equal(first[0], again[0])


def test_sharding_across_ranks(tiny):
    cfg = tiny_cfg()
    n = len(tiny.train_pos)
    rows = [train_rows_for_rank(n, 9, r, 2, 32) for r in range(2)]
    assert len(rows[0]) == len(rows[1]) and len(rows[0]) % 32 == 0
    assert not set(rows[0].tolist()) & set(rows[1].tolist())
    sizes = [create_train_dataset(tiny, cfg, 9, rank_id=r, rank_size=2).get_dataset_size() for r in range(2)]
    assert sizes[0] == sizes[1] == (n // 2) // 32
    pos = [np.concatenate([b[2] for b in create_train_dataset(tiny, cfg, 9, r, 2).create_tuple_iterator(
        output_numpy=True, num_epochs=1)]) for r in range(2)]
    assert np.array_equal(pos[0], tiny.train_pos[rows[0]]) and np.array_equal(pos[1], tiny.train_pos[rows[1]])
    with pytest.raises(DataError, match="no full batch"):
        train_rows_for_rank(10, 0, 0, 2, 32)
