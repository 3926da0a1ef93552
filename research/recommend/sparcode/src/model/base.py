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
"""Shared skeleton of the three retrieval models (SparCode, two-tower, all-to-all).

All three use the same item tokenizer, the same query tokenizer and the same loss:
    total = sampled softmax over [pos, negs] (or over in-batch positives)
          + l2 * (sum of squared gathered id embeddings of the history and candidate items) / B
          + commitment_weight * commitment (SparCode only; 0 for the others)
          + sparsity_weight * sparsity (SparCode / all-to-all with sparsity_weight > 0; 0 otherwise)
          + dense_loss_weight * sampled softmax of the scores at b = 0 (SparCode / all-to-all; 0 otherwise).
Subclasses define how query tokens are prepared for training/scoring and how (query, item tokens) become a logit.
"""
import numpy as np
import mindspore as ms
from mindspore import nn, ops, Tensor

from .tokenizers import ItemTokenizer, QueryTokenizer

NEG_INF = -1e9


def meta_get(meta, key, default=None, required=False):
    if key in meta and meta[key] is not None:
        return meta[key]
    if required:
        raise KeyError(f"data_meta is missing the key {key!r} (expected from RecData.model_meta())")
    return default


class RetrievalModel(nn.Cell):
    """Base class. `construct(user_feats, hist, pos, negs)` is the loss (tuple of 4 Tensors)."""

    # What the entry points (train.py, eval.py, export.py, infer.py) ask a model instead of testing cfg.model:
    serves_from_index = False   # True: retrieval goes through the SparseCodeIndex built after training
    exportable = True           # False: no separable query side to serve (scored brute force only)

    def __init__(self, cfg, meta, num_query_tokens, num_item_tokens, token_dim):
        super().__init__()
        self.n_items = int(meta_get(meta, "n_items", required=True))
        self.history_len = int(meta_get(meta, "history_len", cfg.history_len))
        self.token_dim = token_dim
        self.num_query_tokens = num_query_tokens
        if cfg.negative_sampling not in ("uniform", "in_batch"):
            raise ValueError(f"negative_sampling must be 'uniform' or 'in_batch', got {cfg.negative_sampling!r}")
        self.in_batch = cfg.negative_sampling == "in_batch"
        # logQ correction (Yi et al., RecSys 2019, "Sampling-bias-corrected neural modeling"): an in-batch candidate
        # appears with probability q(j) proportional to its count as a training positive, so popular items are
        # over-represented as negatives; training on s(x, j) - log q(j) removes that bias. Training loss only.
        self.logq = bool(getattr(cfg, "logq_correction", False))
        if self.logq:
            if not self.in_batch:
                raise ValueError("logq_correction needs negative_sampling: in_batch")
            counts = np.asarray(meta_get(meta, "item_pos_counts", required=True), np.float64)
            if counts.shape != (self.n_items + 1,):
                raise ValueError(f"data_meta 'item_pos_counts' has shape {counts.shape}, "
                                 f"expected ({self.n_items + 1},)")
            # +1: an item never seen as a positive cannot be in a batch as one, but keeps the table finite
            self.log_q = Tensor(np.log((counts + 1.0) / (counts + 1.0).sum()).astype(np.float32))
        self.l2 = float(cfg.l2)
        self.commitment_weight = 0.0  # SparCode sets beta
        self.sparsity_weight = 0.0    # SparCode sets it (sparsity_weight)
        self.dense_loss_weight = 0.0  # SparCode sets it (dense_loss_weight)
        item_slot_field = meta_get(meta, "item_slot_field")
        use_item_fields = bool(cfg.use_item_fields) and item_slot_field is not None and len(item_slot_field) > 0
        item_values = meta_get(meta, "item_field_values", required=use_item_fields) if use_item_fields else None
        init_std = float(cfg.embedding_init_std)
        self.item_tokenizer = ItemTokenizer(
            self.n_items, cfg.embedding_size, token_dim, num_item_tokens, item_values,
            item_slot_field, meta_get(meta, "item_field_vocab"), use_item_fields, init_std)
        self.query_tokenizer = QueryTokenizer(
            self.item_tokenizer.feature_dim, cfg.embedding_size, token_dim, num_query_tokens, self.history_len,
            encoder=cfg.query_encoder, mlp_hidden=cfg.mlp_hidden, dropout=float(cfg.dropout),
            sa_layers=cfg.sa_layers, sa_heads=cfg.sa_heads, user_slot_field=meta_get(meta, "user_slot_field"),
            user_field_vocab=meta_get(meta, "user_field_vocab"),
            use_user_fields=bool(cfg.use_user_fields) and bool(meta_get(meta, "has_user_fields", True)),
            init_std=init_std)

    # ------------------------------------------------------------------ subclass hooks
    def _train_query(self, z):
        """z [B, K_u, d_t] -> (query used in training, commitment loss)."""
        return z, ops.zeros((), ms.float32)

    def _eval_query(self, z):
        """z -> query used for scoring/serving (SparCode: the hard-quantized zhat)."""
        return z

    def _logits(self, q, v):
        """q [B, K_u, d_t]; v [B or 1, C, K_i, d_t] -> scores [B, C]."""
        raise NotImplementedError

    def _train_logits(self, q, v, token_mask):
        """Training logits [B, C], the unweighted sparsity term and the logits at score bias 0 for the dense
        auxiliary softmax (None when there is none). token_mask [B, K_u] is 1 for query tokens that are not
        padding."""
        return self._logits(q, v), ops.zeros((), ms.float32), None

    # ------------------------------------------------------------------ common interface
    def _encode(self, user_feats, hist):
        hist_x, hist_id = self.item_tokenizer.features(hist)
        mask = (hist > 0).astype(ms.float32)
        z = self.query_tokenizer(hist_x, mask, user_feats)
        return z, hist_id

    def query_tokens(self, user_feats, hist):
        """Un-quantized query tokens z [B, K_u, d_t]."""
        z, _ = self._encode(user_feats, hist)
        return z

    def item_tokens(self, item_ids):
        """Item tokens [N, K_i, d_t] (ids 1..n_items)."""
        return self.item_tokenizer(item_ids)

    def item_tokens_from_features(self, item_ids, field_values):
        """Tokens of items given by their feature rows (e.g. items added after training; ids > n_items get no id
        embedding). item_ids [N] int32, field_values [N, S] int32."""
        x, _ = self.item_tokenizer.features_from_values(item_ids, field_values)
        return self.item_tokenizer.tokens_from_features(x)

    def serving_query(self, user_feats, hist):
        """Query tokens as used for serving [B, K_u, d_t] (SparCode: hard-quantized zhat)."""
        return self._eval_query(self.query_tokens(user_feats, hist))

    def score_tokens(self, q, item_tokens):
        """Scores [B, C] of serving queries q [B, K_u, d_t] against item tokens [B or 1, C, K_i, d_t]."""
        return self._logits(q, item_tokens)

    def score(self, user_feats, hist, items):
        """Serving scores [B, C] of items [B, C] (or [1, C] shared by all rows)."""
        return self._logits(self.serving_query(user_feats, hist), self.item_tokenizer(items))

    def loss(self, user_feats, hist, pos, negs):
        """-> (total, sampled softmax, l2, commitment, sparsity, dense softmax)."""
        return self.loss_and_tokens(user_feats, hist, pos, negs)[:6]

    def token_mask(self, hist):
        """[B, K_u] float: 1 for a real query token. With the `history` encoder token k is history position k, so
        padding positions are masked; the other encoders pool the history, so all their tokens are real."""
        if self.query_tokenizer.encoder_type == "history":
            return (hist > 0).astype(ms.float32)
        return ops.ones((hist.shape[0], self.num_query_tokens), ms.float32)

    def loss_and_tokens(self, user_feats, hist, pos, negs):
        """-> (total, sampled softmax, l2, commitment, sparsity, dense softmax, z): z [B, K_u, d_t] are the
        un-quantized query tokens of this forward pass, which the trainer's EMA codebook update consumes (no second
        query-tower pass). The dense softmax is the sampled softmax of the scores at b = 0 (0 unless
        dense_loss_weight > 0, uniform negatives only)."""
        z, hist_id = self._encode(user_feats, hist)
        q, commit = self._train_query(z)
        mask = self.token_mask(hist)
        batch = pos.shape[0]
        if self.in_batch:
            # candidates = the batch's positives; another row's positive equal to mine is not a negative
            x, item_id = self.item_tokenizer.features(pos)
            v = ops.expand_dims(self.item_tokenizer.tokens_from_features(x), 0)        # [1, B, K_i, d_t]
            logits, sparsity, dense_logits = self._train_logits(q, v, mask)            # [B, B]
            if self.logq:
                logits = logits - ops.expand_dims(ops.gather(self.log_q, pos, 0), 0)   # column j: - log q(pos_j)
            same = ops.equal(ops.expand_dims(pos, 1), ops.expand_dims(pos, 0))
            eye = ops.eye(batch, batch, ms.bool_)
            logits = ops.select(ops.logical_and(same, ops.logical_not(eye)),
                                ops.full_like(logits, NEG_INF), logits)
            pos_logit = (logits * eye.astype(ms.float32)).sum(1)
        else:
            items = ops.concat((ops.expand_dims(pos, 1), negs), 1)                     # [B, 1 + N]
            x, item_id = self.item_tokenizer.features(items)
            logits, sparsity, dense_logits = self._train_logits(q, self.item_tokenizer.tokens_from_features(x),
                                                                mask)                  # [B, 1 + N]
            pos_logit = logits[:, 0]
        softmax_loss = softmax_cross_entropy(logits, pos_logit)
        dense_loss = ops.zeros((), ms.float32)
        l2_loss = self.l2 * (ops.square(hist_id).sum() + ops.square(item_id).sum()) / batch
        total = softmax_loss + l2_loss + self.commitment_weight * commit
        if self.sparsity_weight > 0:     # Python-level switch: the default graph is exactly the one without the term
            total = total + self.sparsity_weight * sparsity
        if self.dense_loss_weight > 0 and not self.in_batch:   # the config allows it with uniform negatives only
            dense_loss = softmax_cross_entropy(dense_logits, dense_logits[:, 0])
            total = total + self.dense_loss_weight * dense_loss
        return total, softmax_loss, l2_loss, commit, sparsity, dense_loss, z

    def construct(self, user_feats, hist, pos, negs):
        return self.loss(user_feats, hist, pos, negs)

    def set_epoch_state(self, epoch):
        """Per-epoch switches (VQ warm-up, score-bias schedule). Returns a dict describing the state."""
        return {"epoch": int(epoch)}


def softmax_cross_entropy(logits, pos_logit):
    """mean over rows of logsumexp(logits) - pos_logit (the max is subtracted without gradient for stability)."""
    top = ops.stop_gradient(logits.max(axis=1, keepdims=True))
    lse = ops.log(ops.exp(logits - top).sum(1)) + top.squeeze(1)
    return (lse - pos_logit).mean()


def to_tensor(x, dtype=ms.int32):
    return x if isinstance(x, Tensor) else Tensor(np.asarray(x), dtype)
