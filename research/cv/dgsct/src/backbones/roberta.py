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
"""RoBERTa encoder (Liu et al., 2019) and the CLAP text encoder built on it (LAION-CLAP's text branch).

RoBERTa-base: token + position + token-type embeddings -> LayerNorm; 12 post-norm transformer layers
(h = LN(h + SelfAttention(h)), h = LN(h + W2 GELU(W1 h))), width 768, 12 heads, FFN 3072, exact GELU, LayerNorm eps
1e-5; padding positions are masked out of the attention keys; positions count the non-padding tokens from
padding_idx + 1 (RoBERTa's convention, so position 0 and 1 are never used by real tokens); the pooler is
tanh(Dense(first token)). CLAP's text embedding is ``text_projection(pooler output)`` with text_projection =
Linear 768 -> 512, ReLU, Linear 512 -> 512; DG-SCT feeds it the prompts "The sounds of <class name>".

Parameter names are short (``layers.{i}.query``, ``layers.{i}.attention_norm``, ``pooler``); src/convert/clap_table.py
maps the Hugging Face ``RobertaModel`` names of the CLAP checkpoint (``encoder.layer.{i}.attention.self.query``,
``encoder.layer.{i}.attention.output.LayerNorm``, ``pooler.dense``, ...) onto them.
"""
from dataclasses import dataclass, replace

import mindspore as ms
from mindspore import nn, ops

from .layers import layer_norm

MASK_VALUE = -1e9          # added to the scores of padding keys (exp underflows to exactly 0 in fp32)


@dataclass
class RobertaConfig:
    vocab_size: int = 50265
    hidden_size: int = 768
    num_layers: int = 12
    num_heads: int = 12
    intermediate_size: int = 3072
    max_positions: int = 514
    type_vocab_size: int = 1
    pad_token_id: int = 1

    @classmethod
    def base(cls, **overrides):
        return replace(cls(), **overrides)

    @classmethod
    def tiny(cls, **overrides):
        base = cls(vocab_size=300, hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64, max_positions=40)
        return replace(base, **overrides)


class RobertaEmbeddings(nn.Cell):
    def __init__(self, cfg: RobertaConfig):
        super().__init__()
        self.pad_token_id = cfg.pad_token_id
        self.word_embeddings = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.position_embeddings = nn.Embedding(cfg.max_positions, cfg.hidden_size)
        self.token_type_embeddings = nn.Embedding(cfg.type_vocab_size, cfg.hidden_size)
        self.norm = layer_norm(cfg.hidden_size)

    def construct(self, ids):
        not_pad = (ids != self.pad_token_id).astype(ms.int32)
        positions = ops.cumsum(not_pad, axis=1) * not_pad + self.pad_token_id
        x = self.word_embeddings(ids) + self.position_embeddings(positions)
        x = x + self.token_type_embeddings(ops.zeros_like(ids))
        return self.norm(x)


class RobertaLayer(nn.Cell):
    """Post-norm transformer layer with separate query/key/value projections."""

    def __init__(self, cfg: RobertaConfig):
        super().__init__()
        width = cfg.hidden_size
        self.heads = cfg.num_heads
        self.head_dim = width // cfg.num_heads
        self.query = nn.Dense(width, width)
        self.key = nn.Dense(width, width)
        self.value = nn.Dense(width, width)
        self.attention_output = nn.Dense(width, width)
        self.attention_norm = layer_norm(width)
        self.intermediate = nn.Dense(width, cfg.intermediate_size)
        self.gelu = nn.GELU(approximate=False)
        self.output = nn.Dense(cfg.intermediate_size, width)
        self.output_norm = layer_norm(width)

    def split_heads(self, x):
        b, n, _ = x.shape
        return x.reshape(b, n, self.heads, self.head_dim).transpose(0, 2, 1, 3)

    def construct(self, x, key_bias):
        """x [B, L, C]; key_bias [B, 1, 1, L] additive (0 for tokens, MASK_VALUE for padding)."""
        b, n, c = x.shape
        q = self.split_heads(self.query(x)) * (self.head_dim ** -0.5)
        k, v = self.split_heads(self.key(x)), self.split_heads(self.value(x))
        attn = ops.softmax(ops.matmul(q, k.swapaxes(-2, -1)) + key_bias, -1)
        context = ops.matmul(attn, v).transpose(0, 2, 1, 3).reshape(b, n, c)
        x = self.attention_norm(x + self.attention_output(context))
        return self.output_norm(x + self.output(self.gelu(self.intermediate(x))))


class RobertaModel(nn.Cell):
    """construct(ids [B, L] int, attention_mask [B, L] 0/1) -> (last hidden states [B, L, C], pooler output [B, C])."""

    def __init__(self, cfg: RobertaConfig = None):
        super().__init__()
        self.cfg = cfg or RobertaConfig()
        if self.cfg.hidden_size % self.cfg.num_heads:
            raise ValueError(f"hidden_size {self.cfg.hidden_size} is not divisible by num_heads {self.cfg.num_heads}")
        self.embeddings = RobertaEmbeddings(self.cfg)
        self.layers = nn.CellList([RobertaLayer(self.cfg) for _ in range(self.cfg.num_layers)])
        self.pooler = nn.Dense(self.cfg.hidden_size, self.cfg.hidden_size)

    def construct(self, ids, attention_mask):
        x = self.embeddings(ids)
        key_bias = ((1.0 - attention_mask.astype(ms.float32)) * MASK_VALUE).reshape(ids.shape[0], 1, 1, -1)
        for layer in self.layers:
            x = layer(x, key_bias)
        return x, ops.tanh(self.pooler(x[:, 0]))


class CLAPTextEncoder(nn.Cell):
    """LAION-CLAP text side: RoBERTa pooler output -> text_projection (768 -> 512 -> ReLU -> 512)."""

    def __init__(self, cfg: RobertaConfig = None, joint_dim: int = 512):
        super().__init__()
        self.text_branch = RobertaModel(cfg)
        width = self.text_branch.cfg.hidden_size
        self.text_projection = nn.SequentialCell([nn.Dense(width, joint_dim), nn.ReLU(),
                                                  nn.Dense(joint_dim, joint_dim)])

    def construct(self, ids, attention_mask):
        return self.text_projection(self.text_branch(ids, attention_mask)[1])
