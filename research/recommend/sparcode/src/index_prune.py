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
"""Query-weighted pruning of a built SparCode index to a target density (config keys index_density and
index_prune_alpha).

The paper's sparsity control is one global bias: y = sum_k ReLU(s_k + b), so a pair stays in the index when its
score beats one threshold, whichever code it belongs to, and the kept weights are shifted by b. Measured on ML-1M
(README, issue 9), both halves of that cost accuracy at low density: a code that many queries use loses as many
entries as one no query uses, and the shift changes the scores of the pairs that stay. Pruning instead keeps the
pairs with the largest expected contribution to the training queries' scores,

    keep (c, i)  iff  (n_c + 1)^alpha * w(c, i) >= t,     w = ReLU(s + b), the weight the index stores,

where n_c is how often code c occurs among the query tokens of the training examples, alpha >= 0 (0 = one global
cut of the weights) and t is chosen so that a fraction `index_density` of all (code, item) pairs stays (ties at t
are kept, so the density may exceed the target by the tied pairs). The kept pairs keep their weight w unchanged:
pruning only removes entries, a pruned pair contributes 0 as a ReLU'd pair does. A code that no training query
used (a row computed on the fly for a new user) has n_c = 0 and keeps its pairs with w >= t.
"""
import numpy as np


def code_query_counts(index_codes, query_codes):
    """n_c for each row of the index: occurrences of its code among the query tokens [n, K_u] (int64 [R])."""
    index_codes = np.asarray(index_codes, dtype=np.int64)
    tokens = np.asarray(query_codes, dtype=np.int64).ravel()
    if not len(index_codes):
        return np.zeros(0, np.int64)
    pos = np.minimum(np.searchsorted(index_codes, tokens), len(index_codes) - 1)
    hit = index_codes[pos] == tokens
    return np.bincount(pos[hit], minlength=len(index_codes)).astype(np.int64)


def pruning_settings(cfg):
    """The pruning a config asks for ({"target_density", "alpha"}) or None; recorded in the index meta so that a
    saved index is reused only for the same settings (src/index_build.load_or_build_index)."""
    if getattr(cfg, "index_density", None) is None:
        return None
    return {"target_density": float(cfg.index_density), "alpha": float(cfg.index_prune_alpha)}


def saved_pruning(meta):
    """The settings a saved index was pruned with (same form as pruning_settings), or None."""
    pruning = meta.get("pruning")
    if not pruning:
        return None
    return {"target_density": float(pruning["target_density"]), "alpha": float(pruning["alpha"])}


def prune_index(index, density, counts, alpha):
    """A new SparseCodeIndex with the pairs of `index` whose (n_c + 1)^alpha * w reaches the threshold that keeps a
    fraction `density` of all (code, item) pairs; counts = code_query_counts(index.codes, training query codes).
    The meta records {"rule", "target_density", "alpha", "threshold", "query_tokens"} under "pruning"."""
    from src.index import SparseCodeIndex  # pylint: disable=import-outside-toplevel
    if not 0.0 < density <= 1.0:
        raise ValueError(f"config key index_density: must be in (0, 1], got {density}")
    if not alpha >= 0.0:
        raise ValueError(f"config key index_prune_alpha: must be >= 0, got {alpha}")
    if index.meta.get("pruning"):
        raise ValueError("the index is already pruned; prune the full index of the model")
    counts = np.asarray(counts, dtype=np.float64)
    if counts.shape != (len(index.codes),):
        raise ValueError(f"counts has shape {counts.shape}, expected one count per index row ({len(index.codes)})")
    n_pairs = len(index.codes) * int(index.meta.get("n_indexed_items", len(index.items)))
    target = int(round(density * n_pairs))
    nnz = len(index.scores)
    rows = np.repeat(np.arange(len(index.codes)), np.diff(index.indptr))
    priority = (counts[rows] + 1.0) ** alpha * index.scores.astype(np.float64)
    if target >= nnz or nnz == 0:
        threshold = 0.0            # the index is already at or below the target: nothing to remove
        keep = np.ones(nnz, bool)
    else:
        threshold = float(np.partition(priority, nnz - max(target, 1))[nnz - max(target, 1)])  # target-th largest
        keep = priority >= threshold
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows[keep], minlength=len(index.codes)))])
    meta = dict(index.meta, pruning={"rule": "query_weighted", "target_density": float(density),
                                     "alpha": float(alpha), "threshold": threshold,
                                     "query_tokens": int(counts.sum())})
    pruned = SparseCodeIndex(index.codes, indptr, index.item_ids[keep], index.scores[keep], index.items,
                             index.codebooks, meta)
    pruned.attach_row_builder(index.row_builder)
    return pruned
