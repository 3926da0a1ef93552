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
"""Item and query tokenizers of SparCode (item tokens and the query "Tokenizer" of the paper's overview figure;
`DQMatchWithDNN` in the authors' MindSpore release).

Item tokenizer: item id embedding + side-feature field embeddings (multi-slot fields such as genres are
masked-mean-pooled) -> concatenated feature vector x_i -> K_i linear heads -> K_i tokens of size d_t. Because the
field part does not depend on the id, an item never seen in training but with known features can still be scored
(its id embedding is masked to zero).

Query tokenizer: history item feature vectors -> projection to D -> history encoder (`mean_pool`: masked mean;
`self_attention`: Transformer over the history with a padding mask and learned positions, then masked mean) ->
concatenated with the user profile fields (when the dataset has them) -> MLP -> K_u linear heads -> K_u tokens.
`fields` is a field tokenizer (our addition for profile features): one token per user field, token_f = A_f e_f + a_f
with e_f the field-f embedding (K_u = number of user fields; the history is not used). On the synthetic SAFI data the
utility is a sum of per-field terms, so this tokenizer makes the model realisable (src/data/synthetic.py).
`history` is a per-position sequence tokenizer: one token per history position, z_k = heads(in_proj(x_{h_k}))
(K_u = history_len; no pooling, no position embedding, no profile fields), so an item gives the same token wherever
it sits and a quantized model is a sparse item-to-item table: y(u, i) = sum_k ReLU(g(code(h_k), i) + b). Padding
positions (item 0) all give one shared token, in training, in the index and when serving alike.

Padding (item id 0, field value 0) is handled with explicit masks; the code never relies on row 0 of a table
staying zero (the authors' MindSpore release does: its masked mean leaves the mask out of the numerator).
"""
import math

import numpy as np
import mindspore as ms
from mindspore import nn, ops, Parameter, Tensor
from mindspore.common.initializer import initializer, Normal, Uniform, XavierUniform

from .layers import MLP, Dense, TransformerEncoder, FieldEmbedding, masked_mean


QUERY_ENCODERS = ("mean_pool", "self_attention", "fields", "history")


class ItemTokenizer(nn.Cell):
    """Item ids -> K_i tokens [..., K_i, d_t].

    Args:
        n_items: item ids are 1..n_items, 0 is padding.
        item_field_values: int array [n_items + 1, S] of the items' categorical features (row 0 = padding) or None.
        slot_field, field_vocab: FieldTable layout of item_field_values.
    """

    def __init__(self, n_items, embedding_size, token_dim, num_tokens, item_field_values=None,
                 slot_field=None, field_vocab=None, use_fields=True, init_std=0.05):
        super().__init__()
        self.n_items = int(n_items)
        self.embedding_size = embedding_size
        self.token_dim = token_dim
        self.num_tokens = num_tokens
        self.id_table = Parameter(initializer(Normal(init_std), (self.n_items + 1, embedding_size), ms.float32),
                                  name="id_table")
        self.use_fields = bool(use_fields) and item_field_values is not None
        if self.use_fields:
            values = np.asarray(item_field_values)
            if values.ndim != 2 or values.shape[0] != self.n_items + 1:
                raise ValueError(f"item_field_values must have shape [n_items + 1, n_slots] = [{self.n_items + 1}, S], "
                                 f"got {values.shape}")
            check_field_values(values, slot_field, field_vocab, "item_field_values")
            self.fields = FieldEmbedding(slot_field, field_vocab, embedding_size, init_std)
            # kept as a non-trainable Parameter so that checkpoints/exports carry the feature table with the weights
            self.field_values = Parameter(Tensor(values.astype(np.int32)), requires_grad=False, name="field_values")
            self.feature_dim = embedding_size * (1 + self.fields.n_fields)
        else:
            self.fields = None
            self.field_values = None
            self.feature_dim = embedding_size
        self.heads = Dense(self.feature_dim, num_tokens * token_dim, weight_init=XavierUniform())

    def features_from_values(self, ids, values):
        """ids [...] int32, values [..., S] int32 -> (x [..., feature_dim], masked id embedding [..., D]).

        Ids outside 1..n_items (padding, or items added after training) get a zero id embedding."""
        known = ops.logical_and(ids > 0, ids <= self.n_items)
        safe_ids = ids * known.astype(ids.dtype)
        id_emb = ops.gather(self.id_table, safe_ids, 0) * ops.expand_dims(known.astype(ms.float32), -1)
        if self.fields is None:
            return id_emb, id_emb
        field_emb = self.fields(values)                           # [..., G, D]
        lead = field_emb.shape[:-2]
        x = ops.concat((id_emb, field_emb.reshape(lead + (-1,))), -1)
        return x, id_emb

    def features(self, ids):
        """ids [...] int32 in 0..n_items -> (x [..., feature_dim], masked id embedding [..., D])."""
        if self.fields is None:
            return self.features_from_values(ids, None)
        values = ops.gather(self.field_values, ids, 0)
        return self.features_from_values(ids, values)

    def tokens_from_features(self, x):
        lead = x.shape[:-1]
        return self.heads(x).reshape(lead + (self.num_tokens, self.token_dim))

    def construct(self, ids):
        x, _ = self.features(ids)
        return self.tokens_from_features(x)


class QueryTokenizer(nn.Cell):
    """(history item features, history mask, user profile) -> K_u query tokens [B, K_u, d_t]."""

    def __init__(self, item_feature_dim, embedding_size, token_dim, num_tokens, history_len, encoder="mean_pool",
                 mlp_hidden=(256, 256, 256), dropout=0.0, sa_layers=1, sa_heads=1,
                 user_slot_field=None, user_field_vocab=None, use_user_fields=True, init_std=0.05):
        super().__init__()
        if encoder not in QUERY_ENCODERS:
            raise ValueError(f"query_encoder must be one of {list(QUERY_ENCODERS)}, got {encoder!r}")
        self.encoder_type = encoder
        self.num_tokens = num_tokens
        self.token_dim = token_dim
        if encoder == "fields":
            self.in_proj = self.position = self.encoder = self.mlp = self.heads = None
            self._init_field_tokens(embedding_size, user_slot_field, user_field_vocab, use_user_fields, init_std)
            return
        if encoder == "history":
            if num_tokens != history_len:
                raise ValueError(f"query_encoder 'history' makes one token per history position: num_query_tokens "
                                 f"({num_tokens}) must equal history_len ({history_len})")
            self.position = self.encoder = self.mlp = self.user_fields = None
            self.in_proj = Dense(item_feature_dim, embedding_size, weight_init=XavierUniform())
            self.heads = Dense(embedding_size, token_dim, weight_init=XavierUniform())
            return
        self.in_proj = Dense(item_feature_dim, embedding_size, weight_init=XavierUniform())
        if encoder == "self_attention":
            self.position = Parameter(initializer(Normal(0.02), (history_len, embedding_size), ms.float32),
                                      name="position")
            self.encoder = TransformerEncoder(embedding_size, sa_layers, sa_heads, dropout)
        else:
            self.position = None
            self.encoder = None
        self.use_user_fields = bool(use_user_fields) and user_slot_field is not None and len(user_slot_field) > 0
        in_dim = embedding_size
        if self.use_user_fields:
            self.user_fields = FieldEmbedding(user_slot_field, user_field_vocab, embedding_size, init_std)
            in_dim += embedding_size * self.user_fields.n_fields
        else:
            self.user_fields = None
        self.mlp = MLP(in_dim, list(mlp_hidden), out_dim=embedding_size, dropout=dropout)
        self.heads = Dense(embedding_size, num_tokens * token_dim, weight_init=XavierUniform())

    def _init_field_tokens(self, embedding_size, user_slot_field, user_field_vocab, use_user_fields, init_std):
        """Field tokenizer: one linear map per user field, token_f = A_f e_f + a_f."""
        if not use_user_fields or user_slot_field is None or len(user_slot_field) == 0:
            raise ValueError("query_encoder 'fields' needs user profile fields (use_user_fields: true and a dataset "
                             "with user fields)")
        self.user_fields = FieldEmbedding(user_slot_field, user_field_vocab, embedding_size, init_std)
        if self.user_fields.n_fields != self.num_tokens:
            raise ValueError(f"query_encoder 'fields' makes one token per user field: num_query_tokens must be "
                             f"{self.user_fields.n_fields}, got {self.num_tokens}")
        limit = math.sqrt(6.0 / (embedding_size + self.token_dim))    # Xavier-uniform of each D -> d_t map
        self.field_proj = Parameter(initializer(Uniform(limit), (self.num_tokens, embedding_size, self.token_dim),
                                                ms.float32), name="field_proj")
        self.field_bias = Parameter(initializer("zeros", (self.num_tokens, self.token_dim), ms.float32),
                                    name="field_bias")

    def history_tokens(self, item_x):
        """`history` encoder: the token of each item feature row item_x [..., item_feature_dim] -> [..., d_t]. The
        token of a history position depends on its item only (no position, no context), so an item id is an exact
        code for it (SparCode's `quantizer: item_id`)."""
        return self.heads(self.in_proj(item_x))

    def construct(self, hist_x, hist_mask, user_feats):
        """hist_x [B, L, item_feature_dim], hist_mask [B, L] float (1 = real item), user_feats [B, S_u] int32."""
        if self.encoder_type == "fields":
            profile = self.user_fields(user_feats).swapaxes(0, 1)                 # [F, B, D]
            return ops.matmul(profile, self.field_proj).swapaxes(0, 1) + self.field_bias   # [B, F, d_t]
        if self.encoder_type == "history":
            return self.history_tokens(hist_x)                                     # [B, L, d_t]
        h = self.in_proj(hist_x)
        if self.encoder is not None:
            h = self.encoder(h + self.position, hist_mask)
        summary = masked_mean(h, hist_mask, 1)                  # [B, D]
        if self.user_fields is not None:
            profile = self.user_fields(user_feats)             # [B, F_u, D]
            summary = ops.concat((summary, profile.reshape(profile.shape[0], -1)), -1)
        u = self.mlp(summary)
        return self.heads(u).reshape(u.shape[0], self.num_tokens, self.token_dim)


def check_field_values(values, slot_field, field_vocab, what):
    """Clear error if a categorical feature table does not fit its vocabulary (gather would silently read garbage)."""
    if slot_field is None or field_vocab is None:
        raise ValueError(f"{what}: slot_field and field_vocab are required with a field table")
    slot_field = np.asarray(slot_field)
    if values.shape[1] != slot_field.size:
        raise ValueError(f"{what}: {values.shape[1]} slots but slot_field has {slot_field.size} entries")
    vocab = np.asarray(field_vocab)[slot_field]
    bad = (values < 0) | (values >= vocab[None, :])
    if bad.any():
        row, slot = np.argwhere(bad)[0]
        raise ValueError(f"{what}: value {int(values[row, slot])} at row {int(row)}, slot {int(slot)} is outside the "
                         f"vocabulary [0, {int(vocab[slot])}) of field {int(slot_field[slot])}")
