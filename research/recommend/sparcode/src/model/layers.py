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
"""Building blocks shared by the SparCode models: MLP, a small Transformer encoder, field embeddings.

Everything here is GRAPH_MODE friendly (no numpy or Python state inside construct).
"""
import math

import numpy as np
import mindspore as ms
from mindspore import nn, ops, Parameter, Tensor
from mindspore.common.initializer import initializer, Normal, XavierUniform


class RowBiasAdd(nn.Cell):
    """x [N, n] + b [n]. Same forward as ops.BiasAdd; the gradient of b is ones[1, N] @ dy, a matmul, because the CPU
    BiasAddGrad kernel takes about 8x longer on the [B * K_u * C, hidden] activations of the training step."""

    def construct(self, x, b):
        return x + b

    def bprop(self, x, b, out, dout):
        ones = ops.ones((1, dout.shape[0]), dout.dtype)
        return dout, ops.matmul(ones, dout).reshape(b.shape)


class Dense(nn.Dense):
    """nn.Dense (same parameters, names and initialisation) with the faster bias gradient of RowBiasAdd."""

    def __init__(self, in_channels, out_channels, weight_init=None, bias_init=None, has_bias=True):
        super().__init__(in_channels, out_channels, weight_init=weight_init, bias_init=bias_init, has_bias=has_bias)
        if has_bias:
            self.bias_add = RowBiasAdd()


class MLP(nn.Cell):
    """Dense -> ReLU -> Dropout blocks; the last layer (out_dim) is linear when `out_dim` is given."""

    def __init__(self, in_dim, hidden, out_dim=None, dropout=0.0):
        super().__init__()
        layers = []
        dim = in_dim
        for width in hidden:
            layers += [Dense(dim, width, weight_init=XavierUniform()), nn.ReLU()]
            if dropout > 0:
                layers.append(nn.Dropout(p=dropout))
            dim = width
        if out_dim is not None:
            layers.append(Dense(dim, out_dim, weight_init=XavierUniform()))
            dim = out_dim
        self.out_dim = dim
        self.net = nn.SequentialCell(layers) if layers else None

    def construct(self, x):
        if self.net is None:
            return x
        return self.net(x)


class MultiHeadSelfAttention(nn.Cell):
    """Scaled dot-product self-attention with an additive key-padding mask (matmul based; CPU has no einsum)."""

    def __init__(self, dim, heads, dropout=0.0):
        super().__init__()
        if dim % heads != 0:
            raise ValueError(f"self-attention width {dim} is not divisible by sa_heads={heads}")
        self.heads = heads
        self.head_dim = dim // heads
        self.scale = 1.0 / math.sqrt(self.head_dim)
        self.qkv = Dense(dim, 3 * dim, weight_init=XavierUniform())
        self.proj = Dense(dim, dim, weight_init=XavierUniform())
        self.attn_drop = nn.Dropout(p=dropout) if dropout > 0 else nn.Identity()

    def construct(self, x, key_bias):
        """x [N, T, dim]; key_bias [N, T] (0 for real keys, a large negative number for padding)."""
        n, t, dim = x.shape
        qkv = self.qkv(x).reshape(n, t, 3, self.heads, self.head_dim).transpose(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]                      # [N, H, T, hd]
        attn = ops.matmul(q, k.swapaxes(-1, -2)) * self.scale  # [N, H, T, T]
        attn = attn + key_bias.reshape(n, 1, 1, t)
        attn = self.attn_drop(ops.softmax(attn, axis=-1))
        out = ops.matmul(attn, v).transpose(0, 2, 1, 3).reshape(n, t, dim)
        return self.proj(out)


class TransformerLayer(nn.Cell):
    """Pre-LayerNorm Transformer encoder layer (LayerNorm eps 1e-5, exact GELU, FFN 4x)."""

    def __init__(self, dim, heads, dropout=0.0):
        super().__init__()
        self.norm1 = nn.LayerNorm((dim,), epsilon=1e-5)
        self.attn = MultiHeadSelfAttention(dim, heads, dropout)
        self.norm2 = nn.LayerNorm((dim,), epsilon=1e-5)
        self.ffn = nn.SequentialCell([
            Dense(dim, 4 * dim, weight_init=XavierUniform()), nn.GELU(approximate=False),
            Dense(4 * dim, dim, weight_init=XavierUniform())])
        self.drop = nn.Dropout(p=dropout) if dropout > 0 else nn.Identity()

    def construct(self, x, key_bias):
        x = x + self.drop(self.attn(self.norm1(x), key_bias))
        return x + self.drop(self.ffn(self.norm2(x)))


class TransformerEncoder(nn.Cell):
    """A stack of TransformerLayer with a final LayerNorm. `mask` [N, T] float: 1 real token, 0 padding."""

    def __init__(self, dim, layers, heads, dropout=0.0):
        super().__init__()
        self.layers = nn.CellList([TransformerLayer(dim, heads, dropout) for _ in range(layers)])
        self.norm = nn.LayerNorm((dim,), epsilon=1e-5)

    def construct(self, x, mask):
        key_bias = (1.0 - mask) * -1e9
        for layer in self.layers:
            x = layer(x, key_bias)
        return self.norm(x)


def masked_mean(x, mask, axis):
    """Mean of x over `axis` counting only positions with mask 1; all-padding rows give 0 (not NaN).

    x [..., T, D] with mask [..., T] (axis points at T)."""
    m = ops.expand_dims(mask, -1)
    total = (x * m).sum(axis)
    count = ops.maximum(m.sum(axis), 1.0)
    return total / count


class FieldEmbedding(nn.Cell):
    """Categorical side features -> one embedding per field.

    values [..., S] int32 with 0 = padding/unknown; slot s belongs to field slot_field[s]. Slots of one field
    (e.g. the genres of a movie) are mean-pooled over their non-zero values. All fields share one table with
    per-field offsets; the padding value is masked explicitly (the table's padding rows are never relied on).
    Output: [..., n_fields, dim].
    """

    def __init__(self, slot_field, field_vocab, dim, init_std=0.05):
        super().__init__()
        slot_field = np.asarray(slot_field, dtype=np.int64)
        field_vocab = [int(v) for v in field_vocab]
        if slot_field.ndim != 1 or slot_field.size == 0:
            raise ValueError("slot_field must be a non-empty 1-d array of field indices")
        if slot_field.min() < 0 or slot_field.max() >= len(field_vocab):
            raise ValueError(f"slot_field refers to field {int(slot_field.max())} but only {len(field_vocab)} "
                             "field vocabularies were given")
        self.n_slots = int(slot_field.size)
        self.n_fields = len(field_vocab)
        self.vocab_total = int(sum(field_vocab))
        offsets = np.concatenate([[0], np.cumsum(field_vocab)[:-1]]).astype(np.int32)
        self.slot_offset = Tensor(offsets[slot_field].astype(np.int32))
        # slot -> field assignment as a [S, F] 0/1 matrix, so pooling is one batched matmul
        assign = np.zeros((self.n_slots, self.n_fields), dtype=np.float32)
        assign[np.arange(self.n_slots), slot_field] = 1.0
        self.slot_to_field = Tensor(assign)
        self.table = Parameter(initializer(Normal(init_std), (self.vocab_total, dim), ms.float32), name="table")
        self.dim = dim

    def construct(self, values):
        lead = values.shape[:-1]
        flat = values.reshape(-1, self.n_slots)
        mask = (flat > 0).astype(ms.float32)                        # [N, S]
        emb = ops.gather(self.table, flat + self.slot_offset, 0)    # [N, S, dim]
        weights = ops.expand_dims(mask, -1) * self.slot_to_field    # [N, S, F]
        weights = weights / ops.maximum(weights.sum(1, keepdims=True), 1.0)
        pooled = ops.matmul(weights.swapaxes(1, 2), emb)            # [N, F, dim]
        return pooled.reshape(lead + (self.n_fields, self.dim))
