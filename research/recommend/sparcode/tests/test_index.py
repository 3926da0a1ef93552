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
"""Inverted index: weights equal the model's per-token scores, search equals brute force, persistence, stats."""
import os

import numpy as np
import pytest
from mindspore import Tensor

from src.index import SparseCodeIndex
from src.scoring import topk_excluding, brute_force_topk, model_scores
from model_helpers import tiny_config, tiny_meta, build, N_ITEMS


@pytest.fixture(scope="module", params=["mlp", "self_attention"])
def model_and_index(request):
    cfg = tiny_config(interaction=request.param, score_bias=-0.05)
    model = build(cfg, seed=3)
    index = SparseCodeIndex.build(model, cfg, np.arange(1, N_ITEMS + 1), code_ids=None, progress=False)
    return cfg, model, index


def dense_rows(index):
    dense = np.zeros((len(index.codes), index.n_cols), np.float32)
    rows = np.repeat(np.arange(len(index.codes)), np.diff(index.indptr))
    dense[rows, index.item_ids] = index.scores
    return dense


def test_index_weights_equal_model_scores(model_and_index):
    _, model, index = model_and_index
    assert len(index.codes) == 16                                         # index_keys: all, K_c^M = 4^2
    items = np.arange(1, N_ITEMS + 1, dtype=np.int32)
    expected = model.token_scores_for_codes(index.codes.astype(np.int32), items).asnumpy()
    dense = dense_rows(index)[:, 1:]
    np.testing.assert_allclose(dense, expected, rtol=0, atol=1e-5)
    assert ((dense > 0) == (expected > 1e-5)).mean() > 0.999               # kept entries are the positive ones
    rng = np.random.default_rng(0)                                         # random (code, item) pairs
    codes = rng.choice(index.codes, 50).astype(np.int32)
    pair_items = rng.integers(1, N_ITEMS + 1, 50).astype(np.int32)
    got = dense_rows(index)[index.rows_of(codes), pair_items]
    want = np.array([model.token_scores_for_codes(codes[i:i + 1], pair_items[i:i + 1]).asnumpy()[0, 0]
                     for i in range(0, 50, 10)])
    np.testing.assert_allclose(got[::10], want, atol=1e-5)
    # within a row the item ids are ascending; weights positive
    for r in range(len(index.codes)):
        ids = index.item_ids[index.indptr[r]:index.indptr[r + 1]]
        assert np.all(np.diff(ids) > 0)
    assert (index.scores > 0).all()


def test_streamed_blocks_equal_one_block():
    """The MLP index streams (code, item) pairs through g in blocks of index_pair_block pairs: blocks smaller than
    the catalogue (one code x 7 items, the last block padded) and than the code set (2 codes x 40 items, padded)
    give the same rows as a single block over all 16 x 40 pairs, and every build of a network reuses one compiled
    tail (a graph per build grew the process by 0.4-0.7 GB per validation pass on ML-100K)."""
    from src.index import compiled_tail
    items = np.arange(1, N_ITEMS + 1)
    built = {}
    for pair_block in (7, 100, 10 ** 6):
        cfg = tiny_config(score_bias=-0.05, index_pair_block=pair_block)
        model = build(cfg, seed=3)
        built[pair_block] = SparseCodeIndex.build(model, cfg, items, code_ids=None, progress=False)
        assert built[pair_block]._row_builder.pair_block == pair_block
        assert built[pair_block]._row_builder.tail is compiled_tail(model.interaction)
    whole = built[10 ** 6]
    assert len(whole.codes) == 16 and 0 < len(whole.item_ids) < 16 * N_ITEMS    # sparse: the bias cut some pairs
    for pair_block in (7, 100):
        np.testing.assert_array_equal(built[pair_block].codes, whole.codes)
        np.testing.assert_array_equal(built[pair_block].indptr, whole.indptr)
        np.testing.assert_array_equal(built[pair_block].item_ids, whole.item_ids)
        np.testing.assert_allclose(built[pair_block].scores, whole.scores, rtol=1e-6, atol=1e-7)
    cfg = tiny_config(score_bias=-0.05, index_pair_block=7)   # a second build of the same network: same tail
    model = build(cfg, seed=3)
    first = SparseCodeIndex.build(model, cfg, items, code_ids=None, progress=False)
    second = SparseCodeIndex.build(model, cfg, items, code_ids=None, progress=False)
    assert first._row_builder.tail is second._row_builder.tail


def seen_csr(rng, n_users, n_items):
    lengths = rng.integers(0, 6, n_users)
    items = np.concatenate([rng.choice(np.arange(1, n_items + 1), n, replace=False) for n in lengths])
    return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64), items.astype(np.int32)


def test_index_search_equals_brute_force(model_and_index):
    _, model, index = model_and_index
    rng = np.random.default_rng(5)
    n_users, k = 12, 10
    user_feats = np.stack([rng.integers(0, 3, n_users), rng.integers(0, 6, n_users)], 1).astype(np.int32)
    hist = rng.integers(0, N_ITEMS + 1, (n_users, 6)).astype(np.int32)
    seen_indptr, seen_items = seen_csr(rng, n_users, N_ITEMS)
    codes = model.code_ids(Tensor(user_feats), Tensor(hist)).asnumpy()
    ids, scores = index.search(codes, k, exclude_indptr=seen_indptr, exclude_items=seen_items)
    bf_ids, bf_scores = brute_force_topk(model, user_feats, hist, N_ITEMS, k, seen_indptr, seen_items,
                                         user_batch=5)
    np.testing.assert_allclose(scores, bf_scores, atol=1e-4)
    clear = np.abs(scores[:, :, None] - scores[:, None, :]) + np.eye(k) * 1e9 > 1e-4   # not tied with another entry
    assert (ids[clear.all(2)] == bf_ids[clear.all(2)]).all()
    for row in range(n_users):                                            # seen items never returned
        seen = seen_items[seen_indptr[row]:seen_indptr[row + 1]]
        assert not np.isin(ids[row], seen).any()
    assert (ids > 0).all()


def test_duplicate_codes_count_twice(model_and_index):
    _, _, index = model_and_index
    code = index.codes[np.argmax(np.diff(index.indptr))]
    one = index.search(np.array([[code]]), 5)[1]
    two = index.search(np.array([[code, code]]), 5)[1]
    np.testing.assert_allclose(two, 2 * one, rtol=1e-6)


def test_save_load_round_trip(model_and_index, tmp_path):
    _, model, index = model_and_index
    path = index.save(tmp_path / "index.npz")
    assert os.listdir(tmp_path) == ["index.npz"]                           # no temporary file left behind
    loaded = SparseCodeIndex.load(path)
    for name in ("codes", "indptr", "item_ids", "scores", "items", "codebooks"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(index, name))
    assert loaded.meta == index.meta
    np.testing.assert_array_equal(loaded.codebooks, model.quantizer.codebooks.asnumpy())
    q = index.codes[:6].reshape(2, 3)
    for a, b in zip(loaded.search(q, 7), index.search(q, 7)):
        np.testing.assert_array_equal(a, b)
    assert loaded.stats() == index.stats()


def test_corrupt_and_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        SparseCodeIndex.load(tmp_path / "nope.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="bad.npz"):
        SparseCodeIndex.load(bad)
    partial = tmp_path / "partial.npz"
    np.savez(partial, codes=np.zeros(1, np.int64))
    with pytest.raises(ValueError, match="missing arrays"):
        SparseCodeIndex.load(partial)


def test_stats(model_and_index):
    _, _, index = model_and_index
    st = index.stats()
    lengths = np.diff(index.indptr)
    assert st["codes"] == 16 and st["code_space"] == 16 and st["items"] == N_ITEMS
    assert st["nnz"] == len(index.item_ids) == lengths.sum()
    assert st["max_posting_length"] == lengths.max()
    assert st["mean_posting_length"] == pytest.approx(lengths.mean())
    assert st["density"] == pytest.approx(lengths.sum() / (16 * N_ITEMS))
    assert 0 < st["density"] < 1 and st["bytes"] > 0 and st["build_seconds"] >= 0


def test_used_codes_and_missing_code_fallback(model_and_index, tmp_path):
    cfg, model, full = model_and_index
    index = SparseCodeIndex.build(model, tiny_config(index_keys="used"), np.arange(1, N_ITEMS + 1),
                                  code_ids=np.array([5, 5, 2, 11]), progress=False)
    np.testing.assert_array_equal(index.codes, [2, 5, 11])
    loaded = SparseCodeIndex.load(index.save(tmp_path / "used.npz"))
    with pytest.raises(KeyError, match="not in the index"):
        loaded.search(np.array([[2, 7, 5]]), 5)
    loaded.attach_model(model)
    got = loaded.search(np.array([[2, 7, 5]]), 5)                          # code 7 computed on the fly
    want = full.search(np.array([[2, 7, 5]]), 5)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_allclose(got[1], want[1], atol=1e-6)
    np.testing.assert_array_equal(loaded.codes, [2, 5, 7, 11])
    with pytest.raises(ValueError, match="index_keys"):
        SparseCodeIndex.build(model, tiny_config(index_keys="used"), np.arange(1, N_ITEMS + 1), progress=False)


def test_new_items_indexed_from_features(model_and_index):
    cfg, model, _ = model_and_index
    values = tiny_meta()["item_field_values"][1:11]
    new_ids = np.arange(N_ITEMS + 1, N_ITEMS + 11)                         # ids the model never saw
    index = SparseCodeIndex.build(model, cfg, new_ids, code_ids=np.arange(16), progress=False,
                                  item_field_values=values)
    assert index.meta["n_items"] == N_ITEMS + 10 and index.stats()["items"] == 10
    with pytest.raises(ValueError, match="item_field_values"):
        SparseCodeIndex.build(model, cfg, new_ids, code_ids=np.arange(16), progress=False)
    ids, _ = index.search(np.array([[0, 1, 2]]), 20)
    assert set(ids[0][:10]) <= set(new_ids.tolist())
    zhat = model.quantizer.lookup(model.decode_code_ids(np.array([3], np.int32)))
    tokens = model.item_tokens_from_features(Tensor(new_ids.astype(np.int32)), Tensor(values))
    raw = model.interaction(zhat[None], tokens[None]).asnumpy()[0, 0]
    want = np.maximum(raw + model.get_score_bias(), 0)
    got = dense_rows(index)[index.rows_of([3])[0], new_ids]
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_topk_excluding_reference_with_ties():
    scores = np.array([[0.0, 3.0, 1.0, 3.0, 2.0, 0.0, 0.0],
                       [0.0, 1.0, 1.0, 1.0, 1.0, 5.0, 1.0]], np.float32)
    indptr, items = np.array([0, 1, 2]), np.array([4, 5])
    ids, vals = topk_excluding(scores, 4, indptr, items)
    np.testing.assert_array_equal(ids, [[1, 3, 2, 5], [1, 2, 3, 4]])       # ties -> smaller id first
    np.testing.assert_array_equal(vals, [[3, 3, 1, 0], [1, 1, 1, 1]])
    ids, vals = topk_excluding(scores[:1], 6, indptr, items)               # more than the valid items
    assert ids[0, -1] == 4 and vals[0, -1] == -np.inf
    rng = np.random.default_rng(0)
    rand = rng.integers(0, 4, (20, 30)).astype(np.float32)
    ids, _ = topk_excluding(rand, 7)
    masked = rand.copy()
    masked[:, 0] = -np.inf
    ref = np.lexsort((np.broadcast_to(np.arange(30), masked.shape), -masked), axis=1)[:, :7]
    np.testing.assert_array_equal(ids, ref)


def test_brute_force_scores_two_tower():
    cfg = tiny_config(model="two_tower")
    model = build(cfg)
    rng = np.random.default_rng(1)
    user_feats = rng.integers(0, 3, (3, 2)).astype(np.int32)
    hist = rng.integers(0, N_ITEMS + 1, (3, 6)).astype(np.int32)
    dense = model_scores(model, user_feats, hist, N_ITEMS)
    direct = model.score(Tensor(user_feats), Tensor(hist), Tensor(np.arange(N_ITEMS + 1, dtype=np.int32)[None]))
    np.testing.assert_allclose(dense, direct.asnumpy(), rtol=1e-5, atol=1e-5)
