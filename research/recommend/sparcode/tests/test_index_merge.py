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
"""The per-query posting merge of SparseCodeIndex.search against the dense formulation (search_dense) on random
indexes: same ids and scores, deterministic ties, seen-item exclusion, small unions, on-disk int32 ids."""
import numpy as np
import pytest

from src.index import SparseCodeIndex


def random_index(rng, n_items, n_codes, density, tie_levels=None, items=None):
    """Codes 0..n_codes-1 with posting lists of random length around density * n_items over `items`."""
    items = np.arange(1, n_items + 1) if items is None else np.asarray(items)
    lengths = np.minimum(rng.binomial(len(items), density, n_codes), len(items))
    lengths[rng.random(n_codes) < 0.1] = 0                      # some empty lists
    ids = [np.sort(rng.choice(items, n, replace=False)) for n in lengths]
    if tie_levels:                                              # few distinct weights: many tied sums
        scores = rng.integers(1, tie_levels + 1, lengths.sum()).astype(np.float32) / 4
    else:
        scores = rng.gamma(0.7, 0.05, lengths.sum()).astype(np.float32) + np.float32(1e-6)
    meta = {"n_items": n_items, "num_codebooks": 2, "codebook_size": 8}
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    return SparseCodeIndex(np.arange(n_codes), indptr, np.concatenate(ids), scores, items,
                           np.zeros((2, 8, 2), np.float32), meta)


def random_seen(rng, n_queries, n_items, max_seen):
    lengths = rng.integers(0, max_seen + 1, n_queries)
    seen = np.concatenate([rng.choice(np.arange(1, n_items + 1), n, replace=False) for n in lengths])
    return np.concatenate([[0], np.cumsum(lengths)]), seen.astype(np.int32)


@pytest.mark.parametrize("n_items,density,tie_levels,k", [
    (500, 0.05, None, 10), (500, 0.3, None, 50), (2000, 0.02, None, 20), (300, 0.2, 3, 25),
    (300, 0.01, None, 10),                                      # unions smaller than k: dense fallback
    (40, 0.5, 2, 60),                                           # k larger than the catalogue
])
def test_merge_equals_dense_formulation(n_items, density, tie_levels, k):
    rng = np.random.default_rng(n_items + k)
    index = random_index(rng, n_items, 24, density, tie_levels)
    for k_u in (1, 4):
        queries = rng.integers(0, 24, (40, k_u))
        queries[:5, -1] = queries[:5, 0]                        # repeated codes add twice
        for seen in (None, random_seen(rng, 40, n_items, 30)):
            indptr, items = seen if seen is not None else (None, None)
            got = index.search(queries, k, indptr, items)
            want = index.search_dense(queries, k, indptr, items)
            np.testing.assert_array_equal(got[0], want[0])
            np.testing.assert_array_equal(got[1], want[1])
            assert got[0].dtype == np.int32 and got[1].dtype == np.float32


def test_merge_ties_go_to_the_smaller_id():
    items = np.arange(1, 201)
    meta = {"n_items": 200, "num_codebooks": 1, "codebook_size": 4}
    # code 0: every even item with weight 1; code 1: items 101..200 with weight 1 -> evens above 100 score 2
    ids = [items[1::2], items[100:]]
    scores = np.ones(sum(len(i) for i in ids), np.float32)
    index = SparseCodeIndex(np.arange(2), [0, len(ids[0]), len(scores)], np.concatenate(ids), scores, items,
                            np.zeros((1, 4, 2), np.float32), meta)
    got_ids, got_scores = index.search(np.array([[0, 1], [1, 0]]), 60)
    expected = np.concatenate([np.arange(102, 201, 2), [2, 4, 6, 8, 10, 12, 14, 16, 18, 20]])
    np.testing.assert_array_equal(got_ids[0], expected)          # 50 items at 2, then the smallest ids at 1
    np.testing.assert_array_equal(got_ids[1], expected)          # the order of the codes does not matter
    np.testing.assert_array_equal(got_scores[0], [2] * 50 + [1] * 10)


def test_merge_excludes_seen_items_even_when_best():
    rng = np.random.default_rng(7)
    index = random_index(rng, 1000, 8, 0.2)
    queries = rng.integers(0, 8, (6, 3))
    top, _ = index.search(queries, 20)
    seen_indptr = np.arange(0, 6 * 10 + 1, 10)
    seen_items = np.concatenate([top[b, :10] for b in range(6)]).astype(np.int32)   # each query's 10 best
    ids, scores = index.search(queries, 20, seen_indptr, seen_items)
    for b in range(6):
        assert not np.isin(ids[b], seen_items[b * 10:(b + 1) * 10]).any()
        np.testing.assert_array_equal(ids[b, :10], top[b, 10:])  # the rest moves up
    np.testing.assert_array_equal(ids, index.search_dense(queries, 20, seen_indptr, seen_items)[0])
    # seen ids outside the catalogue are ignored, as by the dense path
    far = np.array([0, 2], np.int64), np.array([5000, top[0, 0]], np.int32)
    np.testing.assert_array_equal(index.search(queries[:1], 5, *far)[0], index.search_dense(queries[:1], 5, *far)[0])
    with pytest.raises(ValueError, match="exclude_indptr"):
        index.search(queries, 5, seen_indptr[:3], seen_items)


def test_merge_over_a_subset_of_item_ids():
    rng = np.random.default_rng(3)
    subset = np.sort(rng.choice(np.arange(1, 801), 300, replace=False))   # ids not indexed are never returned
    index = random_index(rng, 800, 12, 0.05, items=subset)
    queries = rng.integers(0, 12, (30, 2))
    got = index.search(queries, 40)
    want = index.search_dense(queries, 40)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    finite = np.isfinite(got[1])
    assert np.isin(got[0][finite], subset).all()


def test_int32_on_disk_and_corrupt_postings(tmp_path):
    rng = np.random.default_rng(11)
    index = random_index(rng, 100, 6, 0.2)
    assert index.item_ids.dtype == np.intp
    path = index.save(tmp_path / "index.npz")
    with np.load(path) as z:
        assert z["item_ids"].dtype == np.int32                 # format 1 is unchanged on disk
    loaded = SparseCodeIndex.load(path)
    np.testing.assert_array_equal(loaded.item_ids, index.item_ids)
    q = np.array([[0, 1, 2]])
    np.testing.assert_array_equal(loaded.search(q, 7)[0], index.search(q, 7)[0])
    meta = {"n_items": 100, "num_codebooks": 2, "codebook_size": 8}
    with pytest.raises(ValueError, match="not in `items`"):
        SparseCodeIndex(np.arange(1), [0, 2], [3, 5], np.ones(2, np.float32), np.arange(1, 5),
                        np.zeros((2, 8, 2), np.float32), meta)
