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
"""Metrics against values computed by hand (definitions of the authors' release, `metrics.py`)."""
import math

import numpy as np
import pytest

from src.metrics import evaluate_topk, format_table, hit_matrix


def csr(rows):
    indptr = np.cumsum([0] + [len(r) for r in rows])
    return indptr, np.array([i for r in rows for i in r], dtype=np.int32)


RANKED = np.array([[3, 1, 7, 9],
                   [2, 2, 0, 4]])
TARGETS = csr([[1, 9, 5], [2]])


def test_hit_matrix_first_occurrence_and_padding():
    hits = hit_matrix(RANKED, *TARGETS)
    assert hits.tolist() == [[False, True, False, True], [True, False, False, False]]


def test_hand_computed_values():
    m = evaluate_topk(RANKED, *TARGETS, ks=(2, 4))
    l3, l4, l5 = math.log2(3), math.log2(4), math.log2(5)
    # row 0: hits at ranks 2 and 4 of |GT| = 3; row 1: hit at rank 1 of |GT| = 1 (the repeat of 2 does not count)
    assert m["recall@2"] == pytest.approx((1 / 3 + 1) / 2)
    assert m["precision@2"] == pytest.approx((1 / 2 + 1 / 2) / 2)
    assert m["hitrate@2"] == pytest.approx(1.0)
    assert m["ndcg@2"] == pytest.approx(((1 / l3) / (1 + 1 / l3) + 1.0) / 2)
    assert m["recall@4"] == pytest.approx((2 / 3 + 1) / 2)
    assert m["precision@4"] == pytest.approx((2 / 4 + 1 / 4) / 2)
    assert m["ndcg@4"] == pytest.approx(((1 / l3 + 1 / l5) / (1 + 1 / l3 + 1 / l4) + 1.0) / 2)


def test_no_hit_and_perfect_rows():
    ranked = np.array([[5, 6, 7], [1, 2, 3]])
    m = evaluate_topk(ranked, *csr([[1], [1, 2, 3]]), ks=(1, 3))
    assert m["hitrate@1"] == 0.5 and m["recall@3"] == 0.5 and m["ndcg@3"] == pytest.approx(0.5)
    assert m["precision@3"] == pytest.approx(0.5) and m["recall@1"] == pytest.approx(1 / 6)


def test_default_ks_keys_and_table():
    rng = np.random.default_rng(0)
    ranked = np.stack([rng.permutation(200)[:100] + 1 for _ in range(5)])
    m = evaluate_topk(ranked, *csr([[1, 2, 3]] * 5))
    assert len(m) == 16 and {"recall@10", "ndcg@100", "hitrate@50", "precision@20"} <= set(m)
    assert all(isinstance(v, float) for v in m.values())
    assert m["recall@10"] <= m["recall@20"] <= m["recall@50"] <= m["recall@100"]
    assert "recall" in format_table(m) and "@100" in format_table(m)


def test_bad_inputs():
    with pytest.raises(ValueError, match="fewer than the largest K"):
        evaluate_topk(RANKED, *TARGETS, ks=(10,))
    with pytest.raises(ValueError, match="no target items"):
        evaluate_topk(RANKED, *csr([[1], []]), ks=(2,))
    with pytest.raises(ValueError, match="target_indptr"):
        evaluate_topk(RANKED, *csr([[1]]), ks=(2,))
