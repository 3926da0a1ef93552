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
"""SparCode's inverted index: code -> posting list of (item id, weight) (the serving figure of the draft
repository: code -> list of (item, score)).

Build (offline). For every indexed code kappa (the distinct codes of the indexed users, or all K_c^M codes when
`index_keys: all`) and every indexed item i, compute w = ReLU(g([zhat(kappa); v_i]) + b) with the trained model in
blocks of `index_pair_block` (code, item) pairs and keep the entries with w > 0 (the working set is bounded by the
block, not by the number of codes). For the MLP interaction the first layer is factorised:
W1 [zhat; v] + b1 = sum_m W1^(m) C^(m)_{kappa_m} + b1 + W1^(v) v is precomputed once per code and per item, so each
pair costs one vector add plus layers 2..L. The self-attention interaction is evaluated pair by pair in blocks.

Search (online). query codes [B, K_u] -> rows of the code table (np.searchsorted) -> per query, the K_u posting
lists are added into a reused dense accumulator (one vectorised fancy-index add per list: item ids are unique
within a list, so no entry is lost; a code that appears twice adds twice, exactly as y = sum_k phi(s_k) in
training) -> the union of the lists is gathered and the accumulator reset at those entries only -> seen items
get -inf -> exact top-k over the union by one np.partition (an item occurs at most K_u times in the union, so
the (k K_u)-th largest entry is a threshold that keeps the k best distinct items and all their ties) ->
ranking by score desc, ties by smaller id. The work per query is proportional to its posting lists, not to the
catalogue. When the union holds fewer than k rankable items, that query falls back to the dense formulation
(sum into a [n_cols] row with np.bincount, then src/scoring.topk_excluding), which also serves as the
reference the fast path is tested against. Item ids are kept as np.intp in memory (fancy indexing with int32
converts the index array on every call: about 2x slower) and written as int32.
Codes absent from the index raise KeyError, unless the index was built in this process (or `attach_model` was
called): then their rows are computed on the fly from the model and cached in the index.

File format (one .npz, written atomically: temporary file in the same folder, then os.replace):
    format      int64 [1]        FORMAT_VERSION
    codes       int64 [R]        sorted flat code ids kappa = sum_m c_m K_c^(M-1-m)
    indptr      int64 [R + 1]    CSR row pointers: row r = entries indptr[r]:indptr[r+1]
    item_ids    int32 [nnz]      item ids of the entries, ascending within a row
    scores      float32 [nnz]    weights ReLU(g + b) > 0
    items       int32 [n_indexed] the item ids the index covers (ascending); other ids are never returned
    codebooks   float32 [M, K_c, d_t/M]   the vectors the codes refer to (the quantizer's codebooks; with
                                 `quantizer: item_id` [1, n_items + 1, d_t], the history token of each item id)
    meta_json   uint8 [*]        UTF-8 JSON: format, num_codebooks, codebook_size, n_items (max item id),
                                 n_indexed_items, score_bias, interaction, build_seconds, created (UTC), config (dict)
                                 and, when built by src/index_build.build_and_save_index, model_digest: the sha256
                                 of the weights it was built from (eval.py, export.py and infer.py check it);
                                 pruning: {rule, target_density, alpha, threshold, query_tokens} when the index
                                 was pruned to `index_density` (src/index_prune.py)
"""
import json
import os
import sys
import time
from datetime import datetime, timezone

import numpy as np
import mindspore as ms
from mindspore import Tensor

from src.atomic_file import atomic_write  # SparCode's one temp-file + os.replace helper
from src.scoring import topk_excluding, item_token_table

FORMAT_VERSION = 1
PAIR_BLOCK = 1 << 14          # default (code, item) pairs per MLP block (config key index_pair_block)
SA_PAIR_BLOCK = 1 << 13       # pairs per block for the self-attention interaction
DENSE_SEARCH_BUDGET = 1 << 25  # floats of the dense score block of one search chunk (128 MB)
REQUIRED_ARRAYS = ("format", "codes", "indptr", "item_ids", "scores", "items", "codebooks", "meta_json")


class SparseCodeIndex:
    """CSR over code rows. See the module docstring for the on-disk format."""

    def __init__(self, codes, indptr, item_ids, scores, items, codebooks, meta):
        self.codes = np.asarray(codes, dtype=np.int64)
        self.indptr = np.asarray(indptr, dtype=np.int64)
        self.item_ids = np.asarray(item_ids, dtype=np.intp)      # int32 on disk, see the module docstring
        self.scores = np.asarray(scores, dtype=np.float32)
        self.items = np.asarray(items, dtype=np.int32)
        self.codebooks = np.asarray(codebooks, dtype=np.float32)
        self.meta = dict(meta)
        self._check()
        self.n_cols = int(self.meta["n_items"]) + 1
        self._invalid_columns = np.ones(self.n_cols, dtype=bool)
        self._invalid_columns[self.items] = False
        if len(self.item_ids) and self._invalid_columns[self.item_ids].any():
            raise ValueError("corrupt index: posting lists hold item ids that are not in `items`")
        self._row_builder = None

    def _check(self):
        r = len(self.codes)
        if self.indptr.shape != (r + 1,) or self.indptr[0] != 0 or self.indptr[-1] != len(self.item_ids):
            raise ValueError(f"corrupt index: indptr has shape {self.indptr.shape} / ends at "
                             f"{self.indptr[-1] if len(self.indptr) else None}, expected [{r + 1}] ending at "
                             f"{len(self.item_ids)}")
        if len(self.scores) != len(self.item_ids):
            raise ValueError(f"corrupt index: {len(self.scores)} scores for {len(self.item_ids)} item ids")
        if r > 1 and np.any(np.diff(self.codes) <= 0):
            raise ValueError("corrupt index: codes are not strictly increasing")
        if np.any(np.diff(self.indptr) < 0):
            raise ValueError("corrupt index: indptr is not non-decreasing")
        for key in ("n_items", "num_codebooks", "codebook_size"):
            if key not in self.meta:
                raise ValueError(f"corrupt index: meta has no key {key!r}")
        if len(self.item_ids) and (self.item_ids.min() < 1 or self.item_ids.max() > self.meta["n_items"]):
            raise ValueError("corrupt index: item ids outside 1..n_items")

    # ------------------------------------------------------------------ build
    @classmethod
    def build(cls, model, cfg, item_ids, code_ids=None, progress=True, item_field_values=None):
        """Score every (code, item) pair with the trained model and keep the positive weights.

        item_ids: items to index (ids >= 1). item_field_values: optional int32 [len(item_ids), S] feature rows
        (items added after training, scored from their features); default: the model's own feature table.
        code_ids: codes to index (duplicates allowed); None with cfg.index_keys == "all" -> all K_c^M codes."""
        start = time.time()
        model.set_train(False)
        m, k_c = model.code_space()
        if code_ids is None:
            if cfg.index_keys != "all":
                raise ValueError("SparseCodeIndex.build: code_ids is None but config key index_keys is "
                                 f"{cfg.index_keys!r}; pass the codes of the indexed users or set index_keys: all")
            codes = np.arange(k_c ** m, dtype=np.int64)
        else:
            codes = np.unique(np.asarray(code_ids, dtype=np.int64).ravel())
        if len(codes) and (codes.min() < 0 or codes.max() >= k_c ** m):
            raise ValueError(f"code ids must lie in [0, {k_c ** m}) (K_c^M)")
        items, order = _sorted_items(item_ids)
        if item_field_values is None and items.max() > model.n_items:
            raise ValueError(f"SparseCodeIndex.build: item id {int(items.max())} > n_items={model.n_items} of the "
                             "model; pass item_field_values for items added after training")
        if item_field_values is not None:
            values = np.asarray(item_field_values, dtype=np.int32)[order]
            tokens = np.concatenate([
                model.item_tokens_from_features(Tensor(items[i:i + 4096]), Tensor(values[i:i + 4096])).asnumpy()
                for i in range(0, len(items), 4096)])
        else:
            tokens = item_token_table(model, items, batch=int(cfg.index_item_batch))
        builder = _RowBuilder(model, items, tokens, int(cfg.index_item_batch), int(cfg.index_pair_block))
        indptr, entry_items, entry_scores = builder.rows(codes, progress)
        meta = {
            "format": FORMAT_VERSION, "num_codebooks": m, "codebook_size": k_c,
            "n_items": int(items.max()) if len(items) else 0, "n_indexed_items": int(len(items)),
            "score_bias": builder.bias, "interaction": type(model.interaction).__name__,
            "build_seconds": round(time.time() - start, 3),
            "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "config": _config_dict(cfg),
        }
        index = cls(codes, indptr, entry_items, entry_scores, items, model.codebook_table(), meta)
        index.attach_row_builder(builder)
        return index

    def attach_model(self, model, item_field_values=None, item_batch=4096, pair_block=PAIR_BLOCK):
        """Allow on-the-fly rows for codes missing from a loaded index (same model, same items)."""
        if item_field_values is not None:
            tokens = model.item_tokens_from_features(Tensor(self.items), Tensor(item_field_values)).asnumpy()
        else:
            tokens = item_token_table(model, self.items)
        self.attach_row_builder(_RowBuilder(model, self.items, tokens, item_batch, pair_block))

    def attach_row_builder(self, builder):
        """Compute missing rows with `builder.rows(code_ids, progress) -> (indptr, item_ids, scores)` over
        `self.items` (a _RowBuilder on the MindSpore model, or infer.py's builder on the exported MindIR graphs)."""
        self._row_builder = builder

    @property
    def row_builder(self):
        """The builder of on-the-fly rows (None for a loaded index without attach_model)."""
        return self._row_builder

    def add_codes(self, code_ids):
        """Compute and insert rows for codes not yet indexed (needs a model: built here or attach_model). In a
        pruned index (src/index_prune.py) a new row keeps the pairs of a code no training query used: w >= t."""
        if self._row_builder is None:
            raise KeyError("codes missing from the index and no model attached (SparseCodeIndex.attach_model)")
        new = np.setdiff1d(np.asarray(code_ids, dtype=np.int64), self.codes)
        if len(new) == 0:
            return
        indptr, items, scores = self._row_builder.rows(new, progress=False)
        if self.meta.get("pruning"):
            keep = scores >= self.meta["pruning"]["threshold"]
            rows = np.repeat(np.arange(len(new)), np.diff(indptr))[keep]
            indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=len(new)))]).astype(np.int64)
            items, scores = items[keep], scores[keep]
        all_codes = np.concatenate([self.codes, new])
        lengths = np.concatenate([np.diff(self.indptr), np.diff(indptr)])
        starts = np.concatenate([self.indptr[:-1], indptr[:-1] + len(self.item_ids)])
        order = np.argsort(all_codes, kind="stable")
        take = _ranges(starts[order], lengths[order])
        self.codes = all_codes[order]
        self.indptr = np.concatenate([[0], np.cumsum(lengths[order])]).astype(np.int64)
        self.item_ids = np.concatenate([self.item_ids, items])[take].astype(np.intp, copy=False)
        self.scores = np.concatenate([self.scores, scores])[take]

    # ------------------------------------------------------------------ search
    def rows_of(self, query_codes):
        """Row of each code in the index (-1 if absent)."""
        q = np.asarray(query_codes, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.codes, q), max(len(self.codes) - 1, 0))
        found = self.codes[pos] == q if len(self.codes) else np.zeros(q.shape, bool)
        return np.where(found, pos, -1)

    def search(self, query_codes, k, exclude_indptr=None, exclude_items=None):
        """query_codes int [B, K_u] -> (ids int32 [B, k], scores float32 [B, k]); seen items excluded by CSR
        exclude_indptr [B + 1] / exclude_items; ranking: score desc, ties by smaller id."""
        rows = self._query_rows(query_codes)
        k = _checked_k(k, self.n_cols)
        if exclude_indptr is not None and len(exclude_indptr) < len(rows) + 1:
            raise ValueError(f"exclude_indptr has {len(exclude_indptr) - 1} rows for {len(rows)} queries")
        ids = np.empty((len(rows), k), np.int32)
        scores = np.empty((len(rows), k), np.float32)
        accumulator = np.zeros(self.n_cols, np.float64)   # float64 as np.bincount: same sums as the dense path
        dense_rows = []
        for b in range(len(rows)):      # one query at a time: each costs its posting lists, not the catalogue
            seen = None
            if exclude_indptr is not None:
                seen = np.asarray(exclude_items[exclude_indptr[b]:exclude_indptr[b + 1]], dtype=np.intp)
            found = self._merge_top_k(rows[b], k, seen, accumulator)
            if found is None:
                dense_rows.append(b)
            else:
                ids[b], scores[b] = found
        if dense_rows:
            dense_rows = np.asarray(dense_rows)
            sub_indptr, sub_items = _csr_rows(exclude_indptr, exclude_items, dense_rows)
            ids[dense_rows], scores[dense_rows] = self.search_dense(rows[dense_rows], k, sub_indptr, sub_items,
                                                                    rows_given=True)
        return ids, scores

    def search_dense(self, query_codes, k, exclude_indptr=None, exclude_items=None, rows_given=False):
        """Same result as `search` through a dense [B, n_cols] score block per chunk of queries (np.bincount
        over the concatenated posting lists, then src/scoring.topk_excluding): cost proportional to B x n_cols.
        The reference for `search` and its fallback when a union holds fewer than k rankable items."""
        rows = np.asarray(query_codes) if rows_given else self._query_rows(query_codes)
        k = _checked_k(k, self.n_cols)
        chunk = max(1, DENSE_SEARCH_BUDGET // self.n_cols)
        ids, scores = [], []
        for b0 in range(0, len(rows), chunk):
            dense = self._accumulate(rows[b0:b0 + chunk])
            i, s = topk_excluding(dense, k, exclude_indptr, exclude_items, row_offset=b0,
                                  invalid_columns=self._invalid_columns, copy=False)
            ids.append(i)
            scores.append(s)
        if not ids:
            return np.zeros((0, k), np.int32), np.zeros((0, k), np.float32)
        return np.concatenate(ids), np.concatenate(scores)

    def _accumulate(self, rows):
        """Dense scores [b, n_cols] = sum over each query's K_u rows of their posting lists (a repeated code adds
        its list twice), by one bincount over the concatenated posting entries."""
        b = len(rows)
        starts = self.indptr[rows].ravel()
        lengths = self.indptr[rows + 1].ravel() - starts
        entries = _ranges(starts, lengths)
        query = np.repeat(np.arange(b * rows.shape[1]) // rows.shape[1], lengths)
        flat = query * self.n_cols + self.item_ids[entries]
        dense = np.bincount(flat, weights=self.scores[entries], minlength=b * self.n_cols)
        return dense.reshape(b, self.n_cols).astype(np.float32)

    def _query_rows(self, query_codes):
        """Index rows [B, K_u] of the query codes; missing codes are computed (model attached) or raise."""
        q = np.asarray(query_codes, dtype=np.int64)
        if q.ndim != 2:
            raise ValueError(f"query_codes must be [B, K_u], got shape {q.shape}")
        rows = self.rows_of(q)
        if (rows < 0).any():
            missing = np.unique(q[rows < 0])
            if self._row_builder is None:
                raise KeyError(f"{len(missing)} query code(s) are not in the index (first: {missing[:10].tolist()}); "
                               "build the index over these users' codes, or attach_model() to compute them")
            self.add_codes(missing)
            rows = self.rows_of(q)
        return rows

    def _merge_top_k(self, rows, k, seen, accumulator):
        """Top-k of one query (rows: its K_u index rows) over the union of its posting lists, or None when the
        union holds fewer than k rankable items (the caller then ranks the whole catalogue densely).
        `accumulator` is an all-zero float64 [n_cols] array and is all-zero again on return."""
        if len(rows) == 0:
            return None
        lists = []
        for r in rows:                  # K_u vectorised adds; within one list every item id occurs once
            items = self.item_ids[self.indptr[r]:self.indptr[r + 1]]
            accumulator[items] += self.scores[self.indptr[r]:self.indptr[r + 1]]
            lists.append(items)
        union = np.concatenate(lists)   # an item in j of the lists occurs j times here
        if seen is not None:
            seen = seen[(seen >= 0) & (seen < self.n_cols)]   # ids outside the catalogue cannot be ranked
            accumulator[seen] = -np.inf
        values = accumulator[union].astype(np.float32)
        accumulator[union] = 0.0
        if seen is not None:
            accumulator[seen] = 0.0
        m = k * len(rows)               # >= k distinct items lie at or above the m-th largest entry
        if len(union) < m:
            m = len(union)
        if m == 0:
            return None
        threshold = np.partition(values, len(values) - m)[len(values) - m]
        if not threshold > 0:           # items outside the union score 0: only a positive cut separates them
            return None
        candidates = np.nonzero(values >= threshold)[0]
        items, first = np.unique(union[candidates], return_index=True)
        if len(items) < k:
            return None
        item_scores = values[candidates[first]]
        order = np.lexsort((items, -item_scores))[:k]
        return items[order], item_scores[order]

    # ------------------------------------------------------------------ statistics and persistence
    def stats(self):
        lengths = np.diff(self.indptr)
        n_rows, n_items = len(self.codes), int(self.meta.get("n_indexed_items", len(self.items)))
        nbytes = sum(a.nbytes for a in (self.codes, self.indptr, self.item_ids, self.scores))
        return {
            "codes": int(n_rows),
            "code_space": int(self.meta["codebook_size"]) ** int(self.meta["num_codebooks"]),
            "items": n_items,
            "nnz": int(len(self.item_ids)),
            "mean_posting_length": float(lengths.mean()) if n_rows else 0.0,
            "max_posting_length": int(lengths.max()) if n_rows else 0,
            "density": float(len(self.item_ids) / max(n_rows * n_items, 1)),
            "bytes": int(nbytes),
            "build_seconds": self.meta.get("build_seconds"),
            "score_bias": self.meta.get("score_bias"),
            "pruning": self.meta.get("pruning"),
        }

    def save(self, path):
        """Write the .npz atomically (temporary file + os.replace)."""
        path = os.fspath(path)
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        meta_bytes = np.frombuffer(json.dumps(self.meta, sort_keys=True).encode("utf-8"), dtype=np.uint8)
        arrays = {"format": np.array([FORMAT_VERSION], np.int64), "codes": self.codes, "indptr": self.indptr,
                  "item_ids": self.item_ids.astype(np.int32), "scores": self.scores, "items": self.items,
                  "codebooks": self.codebooks, "meta_json": meta_bytes}
        atomic_write(path, lambda f: np.savez(f, **arrays), binary=True)
        return path

    @classmethod
    def load(cls, path):
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"index file not found: {path}")
        try:
            with np.load(path, allow_pickle=False) as z:
                files = set(z.files)
                arrays = {key: z[key] for key in REQUIRED_ARRAYS if key in files}
        except Exception as err:  # not a zip / truncated / pickled content
            raise ValueError(f"{path}: cannot read index file ({type(err).__name__}: {err})") from err
        missing = [key for key in REQUIRED_ARRAYS if key not in arrays]
        if missing:
            raise ValueError(f"{path}: not a SparCode index (missing arrays {missing})")
        version = int(arrays["format"][0])
        if version != FORMAT_VERSION:
            raise ValueError(f"{path}: index format {version}, this code reads format {FORMAT_VERSION}")
        try:
            meta = json.loads(arrays["meta_json"].tobytes().decode("utf-8"))
        except ValueError as err:
            raise ValueError(f"{path}: corrupt meta_json ({err})") from err
        try:
            return cls(arrays["codes"], arrays["indptr"], arrays["item_ids"], arrays["scores"], arrays["items"],
                       arrays["codebooks"], meta)
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from err


class _RowBuilder:
    """Computes index rows (CSR pieces) for codes against a fixed item set with a model in eval mode.

    Factorised MLP g: the (code, item) pairs stream through layers 2..L in blocks of exactly `pair_block` pairs
    (whole codes x all items when the catalogue fits in a block, else one code x `pair_block` items; the last block
    zero-padded), so the working set is a few [pair_block, hidden] activations whatever the number of codes, and
    GRAPH_MODE compiles one block shape per network for the whole run."""

    def __init__(self, model, items, item_tokens, item_batch, pair_block=PAIR_BLOCK):
        self.model = model
        self.items = items
        self.bias = float(model.get_score_bias())
        self.factorised = model.interaction.factorised_first_layer   # capability of the network (interaction.py)
        self.item_batch = max(1, min(int(item_batch), len(items)))
        self.pair_block = max(1, int(pair_block))
        if self.factorised:
            self.tail = compiled_tail(model.interaction)
            self.item_part = np.concatenate([
                model.item_first_layer(Tensor(item_tokens[i:i + self.item_batch])).asnumpy()
                for i in range(0, len(items), self.item_batch)])                        # [N, h1]
        else:
            self.item_tokens = item_tokens

    def _code_block(self, codes):
        if self.factorised:
            return self.model.code_first_layer(Tensor(codes.astype(np.int32))).asnumpy()  # [c, h1]
        return self.model.code_vectors(Tensor(codes.astype(np.int32))).asnumpy()

    def rows(self, codes, progress):
        if self.factorised:
            return self._rows_factorised(codes, progress)
        return self._rows_pairwise(codes, progress)

    def _rows_factorised(self, codes, progress):
        n = len(self.items)
        pairs = min(self.pair_block, len(codes) * n) if len(codes) else 1
        item_step = min(n, pairs)                   # items per block
        code_step = max(1, pairs // item_step)      # codes per block (1 when the catalogue exceeds a block)
        bias = np.float32(self.bias)
        h = np.zeros((pairs, self.item_part.shape[1]), np.float32)    # the one reused block buffer
        lengths = np.zeros(len(codes), np.int64)
        item_parts, score_parts = [], []
        bar = _progress(len(codes) * n, progress)
        for c0 in range(0, len(codes), code_step):
            block = self._code_block(codes[c0:c0 + code_step])                        # [c, h1]
            for i0 in range(0, n, item_step):
                i1 = min(n, i0 + item_step)
                used = len(block) * (i1 - i0)
                np.add(block[:, None, :], self.item_part[None, i0:i1], out=h[:used].reshape(len(block), i1 - i0, -1))
                h[used:] = 0.0
                w = self.tail(Tensor(h)).asnumpy()[:used].reshape(len(block), i1 - i0) + bias
                r, c = np.nonzero(w > 0)            # row-major: by code, then ascending item id
                lengths[c0:c0 + len(block)] += np.bincount(r, minlength=len(block))
                item_parts.append(self.items[i0 + c])
                score_parts.append(w[r, c].astype(np.float32))
                bar.update(used)
        bar.close()
        return _csr_pieces(lengths, item_parts, score_parts)

    def _rows_pairwise(self, codes, progress):
        """Non-factorised g (self-attention, MLP-dot): the network on [codes, items] blocks."""
        n = len(self.items)
        code_chunk = max(1, SA_PAIR_BLOCK // self.item_batch)
        lengths = np.zeros(len(codes), np.int64)
        item_parts, score_parts = [], []
        bias = np.float32(self.bias)
        bar = _progress(len(codes) * n, progress)
        for c0 in range(0, len(codes), code_chunk):
            block = self._code_block(codes[c0:c0 + code_chunk])
            rows_c, items_c, scores_c = [], [], []
            for i0 in range(0, n, self.item_batch):
                i1 = min(n, i0 + self.item_batch)
                v = Tensor(self.item_tokens[None, i0:i1])
                w = self.model.interaction(Tensor(block[None]), v).asnumpy()[0] + bias
                r, c = np.nonzero(w > 0)
                rows_c.append(r)
                items_c.append(self.items[i0 + c])
                scores_c.append(w[r, c])
                bar.update(len(block) * (i1 - i0))
            r = np.concatenate(rows_c)
            order = np.argsort(r, kind="stable")   # item chunks are in id order: stable keeps ids ascending
            lengths[c0:c0 + len(block)] = np.bincount(r, minlength=len(block))
            item_parts.append(np.concatenate(items_c)[order])
            score_parts.append(np.concatenate(scores_c)[order].astype(np.float32))
        bar.close()
        return _csr_pieces(lengths, item_parts, score_parts)


def compiled_tail(interaction):
    """g's layers 2..L as one ms.jit function per network, kept on the network: a fresh ms.jit closure per index
    build compiled (and kept) a new graph with its buffers every time, +0.4-0.7 GB RSS per validation pass."""
    tail = interaction.__dict__.get("_compiled_index_tail")
    if tail is None:
        @ms.jit
        def tail(h):
            return interaction.tail(h)
        object.__setattr__(interaction, "_compiled_index_tail", tail)
    return tail


def _csr_pieces(lengths, item_parts, score_parts):
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    items = np.concatenate(item_parts).astype(np.int32) if item_parts else np.zeros(0, np.int32)
    scores = np.concatenate(score_parts) if score_parts else np.zeros(0, np.float32)
    return indptr, items, scores


def _checked_k(k, n_cols):
    k = int(min(k, n_cols - 1))
    if k <= 0:
        raise ValueError(f"k must be >= 1 and the catalogue non-empty (k={k}, columns={n_cols})")
    return k


def _csr_rows(indptr, values, rows):
    """The CSR rows `rows` of (indptr, values) as a new (indptr, values); (None, None) for no CSR."""
    if indptr is None:
        return None, None
    indptr = np.asarray(indptr, dtype=np.int64)
    lengths = indptr[rows + 1] - indptr[rows]
    return (np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
            np.asarray(values)[_ranges(indptr[rows], lengths)])


def _sorted_items(item_ids):
    items = np.asarray(item_ids, dtype=np.int64).ravel()
    if len(items) == 0:
        raise ValueError("SparseCodeIndex.build: no items to index")
    if items.min() < 1:
        raise ValueError("SparseCodeIndex.build: item ids must be >= 1 (0 is padding)")
    order = np.argsort(items, kind="stable")
    items = items[order]
    if np.any(np.diff(items) == 0):
        raise ValueError("SparseCodeIndex.build: duplicate item ids")
    return items.astype(np.int32), order


def _ranges(starts, lengths):
    """Concatenation of arange(s, s + l) for each (s, l), vectorised."""
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    offsets = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    return np.arange(total, dtype=np.int64) + offsets


def _config_dict(cfg):
    if hasattr(cfg, "to_dict"):
        return cfg.to_dict()
    return {k: v for k, v in vars(cfg).items() if not k.startswith("_")}


class _progress:
    """Minimal progress bar over (code, item) pairs with rate and ETA, on stderr (no extra dependency)."""

    def __init__(self, total, enabled, interval=1.0):
        self.total, self.enabled, self.interval = int(total), bool(enabled), interval
        self.done = self.shown = 0
        self.start = self.last = time.time()

    def update(self, n):
        self.done += int(n)
        now = time.time()
        if self.enabled and now - self.last >= self.interval:
            self.last = now
            self._print(now)

    def _print(self, now):
        self.shown = self.done
        elapsed = max(now - self.start, 1e-9)
        rate = self.done / elapsed
        eta = (self.total - self.done) / rate if rate > 0 else float("inf")
        pct = 100.0 * self.done / max(self.total, 1)
        sys.stderr.write(f"\rindex build: {pct:5.1f}% {self.done:,}/{self.total:,} pairs, {rate:,.0f} pairs/s, "
                         f"elapsed {elapsed:.1f}s, ETA {eta:.1f}s")
        sys.stderr.flush()

    def close(self):
        if self.enabled:
            if self.shown != self.done:
                self._print(time.time())
            sys.stderr.write("\n")
