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
"""Brute-force scoring of every item for the three models, and the shared exact top-K with seen-item exclusion.

Score matrices use the item id as column index (column 0 = padding, never returned). Batched over users and
items; the model runs in eval mode. For SparCode the scores are those of the *quantized* model (zhat), i.e.
exactly what its inverted index returns; two-tower is a numpy MIPS over precomputed item vectors.

Ranking convention (shared with SparseCodeIndex.search): score descending, ties broken by the smaller item id;
excluded items, the padding column and `invalid_columns` get -inf and are only returned when fewer than k
valid items exist.
"""
import numpy as np
from mindspore import Tensor

# float budget of one [users, K_u, items, hidden] activation block of the cross models (about 64 MB)
ACTIVATION_BUDGET = 1 << 24


def mask_excluded(scores, exclude_indptr=None, exclude_items=None, row_offset=0, invalid_columns=None):
    """In place: -inf on column 0, on `invalid_columns` (bool [n_cols]) and on each row's excluded items
    (CSR exclude_indptr/exclude_items, rows row_offset .. row_offset + len(scores) of that CSR)."""
    scores[:, 0] = -np.inf
    if invalid_columns is not None:
        scores[:, invalid_columns] = -np.inf
    if exclude_indptr is not None:
        bounds = np.asarray(exclude_indptr)[row_offset:row_offset + len(scores) + 1]
        if len(bounds) != len(scores) + 1:
            raise ValueError(f"exclude_indptr has {len(exclude_indptr) - 1} rows; rows {row_offset}.."
                             f"{row_offset + len(scores) - 1} were requested")
        items = np.asarray(exclude_items)[bounds[0]:bounds[-1]].astype(np.int64)
        rows = np.repeat(np.arange(len(scores)), np.diff(bounds))
        keep = items < scores.shape[1]        # items beyond the scored catalogue cannot be ranked anyway
        scores[rows[keep], items[keep]] = -np.inf
    return scores


def topk_excluding(scores, k, exclude_indptr=None, exclude_items=None, row_offset=0, invalid_columns=None,
                   copy=True, dtype=np.float32):
    """Exact top-k of each row of scores [b, n_cols] (column = item id) after exclusion.

    Returns (ids int32 [b, k], scores `dtype` [b, k]), score descending, ties by smaller id. copy=False lets a
    scores array of `dtype` be masked in place; float64 keeps exact reference utilities (oracle, popularity)."""
    scores = mask_excluded(np.array(scores, dtype=dtype, copy=copy), exclude_indptr, exclude_items,
                           row_offset, invalid_columns)
    k = int(min(k, scores.shape[1] - 1))
    if k <= 0:
        raise ValueError(f"k must be >= 1 and the catalogue non-empty (k={k}, columns={scores.shape[1]})")
    scores = scores[:, 1:]                        # the padding column is never a candidate, not even at -inf
    n_cols = scores.shape[1]
    part = np.argpartition(scores, n_cols - k, axis=1)[:, n_cols - k:]
    part_scores = np.take_along_axis(scores, part, 1)
    # argpartition cuts arbitrarily inside a group of scores tied with the k-th: for those rows take the
    # smallest ids among the ties, so the result does not depend on the order of tied entries
    kth = part_scores.min(1, keepdims=True)
    straddle = np.nonzero((scores == kth).sum(1) > (part_scores == kth).sum(1))[0]
    if len(straddle):
        part[straddle] = _top_with_smallest_tied_ids(scores[straddle], kth[straddle], k)
        part_scores = np.take_along_axis(scores, part, 1)
    order = np.lexsort((part, -part_scores), axis=1)
    ids = np.take_along_axis(part, order, 1)
    return (ids + 1).astype(np.int32), np.take_along_axis(scores, ids, 1)


def _top_with_smallest_tied_ids(scores, kth, k):
    """Columns above the k-th score plus the smallest ids among those equal to it: exactly k per row."""
    above = scores > kth
    tied = scores == kth
    take_tied = tied & (np.cumsum(tied, axis=1) <= (k - above.sum(1, keepdims=True)))
    return np.nonzero(above | take_tied)[1].reshape(len(scores), k)


def item_token_table(model, item_ids, batch=4096):
    """Item tokens of item_ids (numpy [N, K_i, d_t]) computed in batches, eval mode."""
    model.set_train(False)
    item_ids = np.asarray(item_ids, dtype=np.int32)
    return np.concatenate([model.item_tokens(Tensor(item_ids[i:i + batch])).asnumpy()
                           for i in range(0, len(item_ids), batch)], axis=0)


def model_scores(model, user_feats, hist, n_items, item_tokens=None):
    """Dense serving scores [n, n_items + 1] of every item for each query (column = item id).

    item_tokens: optional precomputed item_token_table(model, 0..n_items)."""
    model.set_train(False)
    all_items = np.arange(n_items + 1, dtype=np.int32)
    if item_tokens is None:
        item_tokens = item_token_table(model, all_items)
    user_feats = np.asarray(user_feats, dtype=np.int32)
    hist = np.asarray(hist, dtype=np.int32)
    if hasattr(model, "query_vectors"):                         # two-tower: numpy MIPS
        q = model.query_vectors(Tensor(user_feats), Tensor(hist)).asnumpy()
        return q @ item_tokens[:, 0].T
    hidden = int(model.interaction.activation_width)          # the network states its widest per-pair activation
    k_u = model.num_query_tokens
    user_batch = max(1, min(len(hist), 64))
    item_chunk = max(1, ACTIVATION_BUDGET // (user_batch * k_u * hidden))
    out = np.empty((len(hist), n_items + 1), np.float32)
    for u0 in range(0, len(hist), user_batch):
        q = model.serving_query(Tensor(user_feats[u0:u0 + user_batch]), Tensor(hist[u0:u0 + user_batch]))
        for i0 in range(0, n_items + 1, item_chunk):
            v = Tensor(item_tokens[None, i0:i0 + item_chunk])
            out[u0:u0 + user_batch, i0:i0 + item_chunk] = model.score_tokens(q, v).asnumpy()
    return out


def brute_force_topk(model, user_feats, hist, n_items, k, exclude_indptr=None, exclude_items=None,
                     user_batch=256):
    """Exact top-k (ids int32 [n, k], scores float32 [n, k]) of every item for each query, seen items excluded."""
    item_tokens = item_token_table(model, np.arange(n_items + 1, dtype=np.int32))
    ids, scores = [], []
    for u0 in range(0, len(hist), user_batch):
        block = model_scores(model, user_feats[u0:u0 + user_batch], hist[u0:u0 + user_batch], n_items, item_tokens)
        i, s = topk_excluding(block, k, exclude_indptr, exclude_items, row_offset=u0)
        ids.append(i)
        scores.append(s)
    return np.concatenate(ids), np.concatenate(scores)
