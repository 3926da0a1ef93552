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
"""Sequence-first multi-head attention with a seeded attention dropout.

Same parameters (names, shapes, initialisation) and the same operations, in the same order, as MindSpore 2.10's
nn.MultiheadAttention (which has the PyTorch layout: packed `in_proj_weight` [3C, C], `in_proj_bias`, `out_proj`),
so checkpoints, converter tables and eval-mode outputs are unchanged. The one difference: nn.MultiheadAttention
creates its attention-dropout kernel without seeds, so it draws differently in every process whatever
mindspore.set_seed says; here the attention dropout is a seeded Dropout (backbones/layers.py), whose seeds come from
the global seed: two runs with the same train.seed draw the same masks, and data-parallel workers draw the masks of
the global batch.
"""
import math

import numpy as np
import mindspore as ms
from mindspore import nn, ops, Parameter
from mindspore.common.initializer import HeUniform, Uniform, XavierUniform, initializer

from ..backbones.layers import Dropout


class SeededMultiheadAttention(nn.Cell):
    """query [L, B, C], key = value [S, B, C] -> attention output [L, B, C] (no attention weights, no masks: the
    DG-SCT heads use neither). Dropout with probability `dropout` on the attention probabilities in training."""

    def __init__(self, embed_dim, num_heads, dropout=0.0):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim {embed_dim} is not divisible by num_heads {num_heads}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"attention dropout must be in [0, 1), got {dropout}")
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.dropout = float(dropout)
        # the initialisers of nn.MultiheadAttention, in its order (same draws from the global seed)
        self.in_proj_weight = Parameter(initializer(XavierUniform(), (3 * embed_dim, embed_dim), ms.float32),
                                        "in_proj_weight")
        self.in_proj_bias = Parameter(initializer("zeros", (3 * embed_dim,), ms.float32), "in_proj_bias")
        bound = 1 / math.sqrt(embed_dim)
        self.out_proj = nn.Dense(embed_dim, embed_dim, weight_init=HeUniform(math.sqrt(5)), bias_init=Uniform(bound))
        # q and k are each divided by d^(1/4) (as MindSpore does), not the scores by sqrt(d): same rounding as before
        self.scale = ms.Tensor(np.sqrt(np.sqrt(np.float32(self.head_dim))), ms.float32)
        # seeds from the global seed (reset by mindspore.set_seed), as every other dropout of the network; the
        # probabilities [B, heads, L, S] hold the samples on axis 0
        self.attn_dropout = Dropout(p=self.dropout)

    @staticmethod
    def _linear(x, weight, bias):
        return ops.matmul(x, weight.swapaxes(-1, -2)) + bias

    def construct(self, query, key, value):
        tgt_len, bsz, embed_dim = query.shape
        src_len = key.shape[0]
        heads, head_dim = self.num_heads, self.head_dim
        w_q, w_k, w_v = self.in_proj_weight.tensor_split(3)
        b_q, b_k, b_v = self.in_proj_bias.tensor_split(3)
        q = self._linear(query, w_q, b_q).view((tgt_len, bsz * heads, head_dim)).swapaxes(0, 1)
        k = self._linear(key, w_k, b_k).view((src_len, bsz * heads, head_dim)).swapaxes(0, 1)
        v = self._linear(value, w_v, b_v).view((src_len, bsz * heads, head_dim)).swapaxes(0, 1)
        q = q.view((bsz, heads, tgt_len, head_dim)) / self.scale
        k = k.view((bsz, heads, src_len, head_dim))
        v = v.view((bsz, heads, src_len, head_dim))
        attn = ops.softmax(ops.matmul(q, k.swapaxes(-2, -1) / self.scale), -1)
        attn = self.attn_dropout(attn)                 # identity in eval mode
        out = ops.matmul(attn, v).transpose(2, 0, 1, 3).view((bsz * tgt_len, embed_dim))
        out = self._linear(out, self.out_proj.weight, self.out_proj.bias)
        return out.view((tgt_len, bsz, embed_dim))
