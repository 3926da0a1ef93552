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
"""All-to-all interaction network g on [query token ; item tokens] (the paper's shared all-to-all
encoder; an MLP in the authors' MindSpore release, `models/DQMatch.py`).

One g is shared by every query token. The networks are registered by name (INTERACTIONS, config key `interaction`)
and state their capabilities as class attributes, which the rest of the code reads instead of probing attributes:
- `factorised_first_layer`: the first layer is linear in [token ; item tokens] and exposed as `query_part`,
  `item_part`, `codeword_parts`, `tail` and `first.bias`; the index builder (src/index.py) and the SparCode model
  then score codes x items from precomputed first-layer parts. False: the builder calls the network on the pairs.
- `activation_width`: the widest per-pair activation, which sizes the brute-force scoring blocks (src/scoring.py).
- `dot_path`: g contains <token, mean item token> and its other part starts at zero, so a warm start from a
  two-tower (`init_ckpt`) can tile the two-tower's token heads and begin at the two-tower's scores
  (src/checkpoint.py `warm_start_from`).
Variants:
- `MLPInteraction` (default): (1 + K_i) d_t -> hidden ... -> 1, ReLU, dropout, no output activation.
  The first layer is linear in the concatenation, so it is evaluated as
      W1 [zhat; v] + b1 = W1^(q) zhat + W1^(v) v + b1,   W1^(q) zhat = sum_m W1^(m) C^(m)_{c_m}
  (`query_part`, `item_part`, `codeword_parts`). Training uses it to score B x K_u tokens against C items without
  materialising the concatenation, and the index builder uses it to precompute per-codeword and per-item parts.
- `SAInteraction`: a Transformer over the (1 + K_i)-token sequence [token, item tokens] with learned
  position/type embeddings, read out at the first position by a linear layer.
"""
from types import SimpleNamespace

import mindspore as ms
from mindspore import nn, ops, Parameter
from mindspore.common.initializer import initializer, Normal

from .layers import MLP, Dense, TransformerEncoder

INTERACTIONS = {}


def register_interaction(name):
    """Class decorator: the network becomes buildable as `interaction: <name>` (its `build` classmethod)."""
    def add(cls):
        INTERACTIONS[name] = cls
        return cls
    return add


def _build_mlp_sized(cls, token_dim, num_item_tokens, opts):
    """`build` of the networks sized by mlp_hidden and dropout."""
    return cls(token_dim, num_item_tokens, opts.mlp_hidden, opts.dropout)


def matmul_rows(x, w):
    """x [..., k] @ w [k, n] -> [..., n] as ONE 2-D matmul over the flattened rows. ops.matmul on an N-d x and a
    2-D w broadcasts w to a batch of copies on CPU (and its gradient reduces that batch again), which cost more
    than the matmul itself in the training step."""
    lead = x.shape[:-1]
    return ops.matmul(x.reshape(-1, x.shape[-1]), w).reshape(lead + (w.shape[-1],))


class PairwiseAdd(nn.Cell):
    """hq [B, K, h] and hv [B or 1, C, h] -> every pair hq[:, k] + hv[:, c]: [B, K, C, h].

    The backward pass sums the gradient over C (for hq) and over K (and B, for a shared hv) as batched matmuls with
    a row of ones: the CPU ReduceSum over a middle axis of the [B, K, C, h] gradient is about 4x slower."""

    def construct(self, hq, hv):
        return ops.expand_dims(hq, 2) + ops.expand_dims(hv, 1)

    def bprop(self, hq, hv, out, dout):
        b, k, c, h = dout.shape
        d_hq = ops.matmul(ops.ones((1, c), dout.dtype), dout.reshape(b * k, c, h)).reshape(b, k, h)
        d_hv = ops.matmul(ops.ones((1, k), dout.dtype), dout.reshape(b, k, c * h)).reshape(b, c * h)
        if hv.shape[0] != b:           # one item set shared by all rows: sum over the batch too
            d_hv = ops.matmul(ops.ones((1, b), dout.dtype), d_hv)
        return d_hq, d_hv.reshape(hv.shape)


@register_interaction("mlp")
class MLPInteraction(nn.Cell):
    """g(q, v) = MLP([q ; v_1 ; ... ; v_{K_i}]) -> scalar."""

    factorised_first_layer = True
    dot_path = False

    build = classmethod(_build_mlp_sized)

    def __init__(self, token_dim, num_item_tokens, hidden=(256, 256, 256), dropout=0.0):
        super().__init__()
        hidden = list(hidden)
        if not hidden:
            raise ValueError("mlp_hidden must have at least one layer: g must be non-linear (a linear g "
                             "cannot express a sum of ReLUs such as the SAFI utility)")
        self.token_dim = token_dim
        self.num_item_tokens = num_item_tokens
        self.first = Dense((1 + num_item_tokens) * token_dim, hidden[0])
        self.act = nn.ReLU()
        self.drop = nn.Dropout(p=dropout) if dropout > 0 else nn.Identity()
        self.rest = MLP(hidden[0], hidden[1:], out_dim=1, dropout=dropout)
        self.pair_add = PairwiseAdd()
        self.activation_width = max(hidden)           # widest per-pair activation (sizes scoring blocks)

    def query_part(self, q):
        """q [..., d_t] -> W1^(q) q + b1 [..., h1]."""
        w_q = self.first.weight[:, :self.token_dim]
        return matmul_rows(q, w_q.swapaxes(0, 1)) + self.first.bias

    def item_part(self, v):
        """v [..., K_i, d_t] -> W1^(v) vec(v) [..., h1] (no bias; the bias is in query_part)."""
        lead = v.shape[:-2]
        w_v = self.first.weight[:, self.token_dim:]
        return matmul_rows(v.reshape(lead + (-1,)), w_v.swapaxes(0, 1))

    def codeword_parts(self, codebooks):
        """codebooks [M, K_c, d_s] -> W1^(m) C^(m)_j for every codeword [M, K_c, h1] (no bias)."""
        m, _, d_s = codebooks.shape
        w_q = self.first.weight[:, :self.token_dim].reshape(-1, m, d_s).transpose(1, 2, 0)   # [M, d_s, h1]
        return ops.matmul(codebooks, w_q)

    def tail(self, h):
        """First-layer pre-activations [..., h1] -> scores [...]."""
        return self.rest(self.drop(self.act(h))).squeeze(-1)

    def pair_scores(self, q, v):
        """q [P, d_t], v [P, K_i, d_t] -> [P]."""
        return self.tail(self.query_part(q) + self.item_part(v))

    def construct(self, q, v):
        """q [B, K_u, d_t]; v [B or 1, C, K_i, d_t] -> per-token scores [B, K_u, C]."""
        hq = self.query_part(q)                             # [B, K_u, h1]: once per query token
        hv = self.item_part(v)                              # [B|1, C, h1]: once per candidate item
        return self.tail(self.pair_add(hq, hv))             # first layer of every (token, item) pair


@register_interaction("self_attention")
class SAInteraction(nn.Cell):
    """g(q, v) = w . Transformer([q, v_1, ..., v_{K_i}] + pos)[0] + c."""

    factorised_first_layer = False
    dot_path = False

    @classmethod
    def build(cls, token_dim, num_item_tokens, opts):
        return cls(token_dim, num_item_tokens, opts.sa_layers, opts.sa_heads, opts.dropout)

    def __init__(self, token_dim, num_item_tokens, layers=1, heads=1, dropout=0.0):
        super().__init__()
        self.token_dim = token_dim
        self.num_item_tokens = num_item_tokens
        self.position = Parameter(initializer(Normal(0.02), (1 + num_item_tokens, token_dim), ms.float32),
                                  name="position")
        self.encoder = TransformerEncoder(token_dim, layers, heads, dropout)
        self.readout = Dense(token_dim, 1)
        self.activation_width = 4 * token_dim * (1 + num_item_tokens)   # FFN activations of the pair's sequence

    def pair_scores(self, q, v):
        """q [P, d_t], v [P, K_i, d_t] -> [P]."""
        seq = ops.concat((ops.expand_dims(q, 1), v), 1) + self.position
        mask = ops.ones(seq.shape[:2], ms.float32)
        return self.readout(self.encoder(seq, mask)[:, 0]).squeeze(-1)

    def construct(self, q, v):
        """q [B, K_u, d_t]; v [B or 1, C, K_i, d_t] -> per-token scores [B, K_u, C]."""
        b, k_u, d_t = q.shape
        c = v.shape[1]
        q_all = ops.broadcast_to(q.reshape(b, k_u, 1, d_t), (b, k_u, c, d_t)).reshape(-1, d_t)
        v_all = ops.broadcast_to(ops.expand_dims(v, 1), (b, k_u, c, self.num_item_tokens, d_t))
        return self.pair_scores(q_all, v_all.reshape(-1, self.num_item_tokens, d_t)).reshape(b, k_u, c)


@register_interaction("mlp_dot")
class MLPDotInteraction(nn.Cell):
    """g(q, v) = <q, mean_j v_j> + MLP([q ; v_1 ; ... ; v_{K_i}]) (option `interaction: mlp_dot`).

    An MLP on a concatenation learns a dot product only with many units and much data (Rendle et al., 2020,
    "Neural Collaborative Filtering vs. Matrix Factorization Revisited"); the explicit dot path lets every query
    token score at least like a two-tower, the MLP adds what a dot product cannot express. The score is still one
    scalar per (token, item), so the index is built the same way (through the generic path: the dot path is not
    part of a first layer).

    The MLP's output layer starts at zero, so g starts as the dot product alone: warm-started from a two-tower
    whose token heads are tiled (src/checkpoint.py `warm_start_from`), the model begins at the two-tower's scores
    and the MLP learns only what the dot product misses.
    """

    factorised_first_layer = False
    dot_path = True

    build = classmethod(_build_mlp_sized)

    def __init__(self, token_dim, num_item_tokens, hidden=(256, 256, 256), dropout=0.0):
        super().__init__()
        self.token_dim = token_dim
        self.num_item_tokens = num_item_tokens
        self.mlp = MLPInteraction(token_dim, num_item_tokens, hidden, dropout)
        out_layer = self.mlp.rest.net[-1]          # the linear layer to the scalar: zero, so g = <q, v> at init
        out_layer.weight.set_data(ops.zeros(out_layer.weight.shape, ms.float32))
        out_layer.bias.set_data(ops.zeros(out_layer.bias.shape, ms.float32))
        self.activation_width = self.mlp.activation_width

    def pair_scores(self, q, v):
        """q [P, d_t], v [P, K_i, d_t] -> [P]."""
        return (q * v.mean(-2)).sum(-1) + self.mlp.pair_scores(q, v)

    def construct(self, q, v):
        """q [B, K_u, d_t]; v [B or 1, C, K_i, d_t] -> per-token scores [B, K_u, C]."""
        dot = (ops.expand_dims(q, 2) * ops.expand_dims(v.mean(-2), 1)).sum(-1)
        return dot + self.mlp(q, v)


def build_interaction(kind, token_dim, num_item_tokens, mlp_hidden, dropout, sa_layers, sa_heads):
    """The registered network `kind`; opts carry the sizes each network reads (mlp_hidden, dropout, sa_*)."""
    if kind not in INTERACTIONS:
        raise ValueError(f"interaction must be one of {sorted(INTERACTIONS)}, got {kind!r}")
    opts = SimpleNamespace(mlp_hidden=mlp_hidden, dropout=dropout, sa_layers=sa_layers, sa_heads=sa_heads)
    return INTERACTIONS[kind].build(token_dim, num_item_tokens, opts)
