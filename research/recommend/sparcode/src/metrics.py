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
"""Top-K retrieval metrics (the definitions of `metrics.py` in the authors' MindSpore release), vectorised over users.

For a user with ranked list r (item ids, best first) and ground-truth set GT:
    HitRate@K   = 1[any of the top K is in GT]
    Recall@K    = |top K & GT| / |GT|
    Precision@K = |top K & GT| / K
    NDCG@K      = DCG@K / IDCG@K, DCG = sum_{r<=K} hit_r / log2(r + 1), IDCG = sum_{r<=min(|GT|,K)} 1 / log2(r + 1)
Each is averaged over users. Ids <= 0 in `ranked` are padding (fewer than K results) and never hit; a repeated id
counts once (its first position).
"""
import numpy as np

DEFAULT_KS = (10, 20, 50, 100)
METRIC_NAMES = ("recall", "ndcg", "hitrate", "precision")


def hit_matrix(ranked, target_indptr, target_items):
    """bool [n, Kmax]: ranked[u, j] is a target of row u (first occurrence only)."""
    ranked = np.asarray(ranked, dtype=np.int64)
    n, kmax = ranked.shape
    target_indptr = np.asarray(target_indptr, dtype=np.int64)
    if len(target_indptr) != n + 1:
        raise ValueError(f"target_indptr has {len(target_indptr)} entries for {n} ranked rows (expected {n + 1})")
    span = int(max(ranked.max(initial=0), np.max(target_items, initial=0))) + 1
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(target_indptr))
    target_keys = np.unique(rows * span + np.asarray(target_items, dtype=np.int64))
    keys = np.arange(n, dtype=np.int64)[:, None] * span + np.maximum(ranked, 0)
    pos = np.minimum(np.searchsorted(target_keys, keys), max(len(target_keys) - 1, 0))
    hits = (target_keys[pos] == keys) & (ranked > 0) if len(target_keys) else np.zeros_like(ranked, dtype=bool)
    # A repeated id must not count twice: keep the first occurrence of every value in the row.
    order = np.argsort(ranked, axis=1, kind="stable")
    sorted_ids = np.take_along_axis(ranked, order, axis=1)
    repeat = np.zeros_like(hits)
    repeat_sorted = np.zeros_like(hits)
    repeat_sorted[:, 1:] = sorted_ids[:, 1:] == sorted_ids[:, :-1]
    np.put_along_axis(repeat, order, repeat_sorted, axis=1)
    return hits & ~repeat


def evaluate_topk(ranked, target_indptr, target_items, ks=DEFAULT_KS):
    """Metrics dict {"recall@10": ..., "ndcg@10": ..., "hitrate@10": ..., "precision@10": ..., ...} (floats)."""
    ranked = np.asarray(ranked)
    if ranked.ndim != 2:
        raise ValueError(f"ranked must be 2-D [n_users, Kmax], got shape {ranked.shape}")
    ks = [int(k) for k in ks]
    if max(ks) > ranked.shape[1]:
        raise ValueError(f"ranked has {ranked.shape[1]} columns, fewer than the largest K = {max(ks)}")
    n_targets = np.diff(np.asarray(target_indptr, dtype=np.int64))
    if len(ranked) == 0:
        raise ValueError("no rows to evaluate")
    if (n_targets == 0).any():
        raise ValueError(f"{int((n_targets == 0).sum())} rows have no target items (recall undefined)")
    hits = hit_matrix(ranked, target_indptr, target_items).astype(np.float64)
    discount = 1.0 / np.log2(np.arange(2, ranked.shape[1] + 2))
    cum_hits = np.cumsum(hits, axis=1)
    cum_dcg = np.cumsum(hits * discount, axis=1)
    cum_ideal = np.cumsum(discount)
    out = {}
    for k in ks:
        n_hit = cum_hits[:, k - 1]
        idcg = cum_ideal[np.minimum(n_targets, k) - 1]
        out[f"recall@{k}"] = float(np.mean(n_hit / n_targets))
        out[f"ndcg@{k}"] = float(np.mean(cum_dcg[:, k - 1] / idcg))
        out[f"hitrate@{k}"] = float(np.mean(n_hit > 0))
        out[f"precision@{k}"] = float(np.mean(n_hit / k))
    return out


def format_table(metrics, ks=DEFAULT_KS):
    """Plain-text table: one row per metric, one column per K."""
    lines = ["metric     " + "".join(f"{'@' + str(k):>10}" for k in ks)]
    for name in METRIC_NAMES:
        lines.append(f"{name:<11}" + "".join(f"{metrics[f'{name}@{k}']:>10.4f}" for k in ks))
    return "\n".join(lines)
