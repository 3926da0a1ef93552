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
"""SparCode: quantized query tokens x all-to-all interaction g, with sparsity control.

Method as in the paper (SIGIR 2023) and the authors' draft repository `haoyi-duan/SparCode` (Eq. (1)-(3) and the
overview figure: tokenizer, shared product quantizer, shared all-to-all encoder, "add bias, ReLU & sum").

    z = QueryTokenizer(history, profile)            [B, K_u, d_t]
    ztilde = z + sg(zhat - z)                        product quantizer, STE (zhat when serving)
    s_k(q, i) = g([ztilde_k ; v_i])                  one g shared by the K_u tokens
    y(q, i) = sum_k ReLU(s_k + b)                    b <= 0: non-trainable Parameter `score_bias`
                                                     (training: leaky surrogate gradient, see RELU_GRAD_LEAK)

Sparsity control (the figure's "add bias, ReLU & sum"; the release has a `score_bias` flag it never uses). b is set
by the trainer through `set_epoch_state(epoch)` (0 during VQ warm-up, then a linear anneal from 0 in the first VQ
epoch to `score_bias` after `bias_anneal_epochs` epochs) or, when `target_density` is set, by
`calibrate_score_bias`, which measures the per-token raw scores of the codes of a sample of users against a sample
of items and moves b to the value that keeps `target_density` of the (code, item) pairs (b_target = -quantile(s, 1 -
target_density)), annealed by the same linear fraction. The index must be built with the b in force at the end of
training (the checkpoint carries it).

`quantizer: item_id` (with `query_encoder: history` only): a history token is a function of its item alone
(tokenizers.py), so it takes at most n_items + 1 values and the item id is an exact code for it. Training then feeds
the raw tokens z to g (no codebooks, no EMA, no commitment loss: the all-to-all model over history tokens), and the
index is keyed by item id (codebook size n_items + 1, id 0 = the padding token): the same index build, density
calibration, search, export and infer path as the product quantizer, with exactly the un-quantized model's scores.
"""
import numpy as np
import mindspore as ms
from mindspore import ops, Parameter, Tensor

from .base import RetrievalModel, to_tensor
from .interaction import build_interaction
from .quantizer import ProductQuantizer
from ..config import CHOICES


# Default surrogate gradient of the sparsity ReLU for inactive pairs [I] (config key relu_grad_leak). With a plain
# ReLU, a token (or every token of a query) whose s_k + b < 0 for all candidates gets no gradient at all and stays
# dead, which happens when b is set without annealing. The leak changes gradients only; scores, the index and eval
# are exactly sum_k ReLU(s_k + b).
RELU_GRAD_LEAK = 0.01

# Floats of one [rows, items, hidden] activation block of g when many (code, item) pairs are scored at once
# (density calibration): 64 MB, so the peak stays far below a GB whatever the number of codes.
SCORE_BLOCK_FLOATS = 1 << 24


def scheduled_fraction(epoch, warmup_epochs, anneal_epochs):
    """Fraction of the target bias in force at `epoch` (0-based): 0 during VQ warm-up, then a linear anneal that
    starts at 0 in the first VQ epoch and reaches 1 after `anneal_epochs` epochs; 1 at once when anneal_epochs <= 0."""
    if epoch < warmup_epochs:
        return 0.0
    if anneal_epochs <= 0:
        return 1.0
    return float(min(1.0, (epoch - warmup_epochs) / anneal_epochs))


def bias_for_density(raw_scores, target_density):
    """b <= 0 such that a fraction `target_density` of raw scores satisfies s + b > 0."""
    if not 0.0 < target_density <= 1.0:
        raise ValueError(f"target_density must be in (0, 1], got {target_density}")
    b = -float(np.quantile(np.asarray(raw_scores, np.float64).ravel(), 1.0 - target_density))
    return min(b, 0.0)


class SparCode(RetrievalModel):
    """SparCode (quantize=True) and its non-retrievable all-to-all ceiling (quantize=False, see all_to_all.py)."""

    serves_from_index = True

    def __init__(self, cfg, meta, quantize=True):
        super().__init__(cfg, meta, cfg.num_query_tokens, cfg.num_item_tokens, cfg.token_dim)
        self.quantize = quantize
        quantizer = getattr(cfg, "quantizer", "product")
        if quantizer not in CHOICES["quantizer"]:   # what a query token's code is (see the module docstring)
            raise ValueError(f"config key 'quantizer': must be one of {list(CHOICES['quantizer'])}, got {quantizer!r}")
        # codes = history item ids: exact, nothing to learn (see the module docstring)
        self.item_codes = quantize and quantizer == "item_id"
        if self.item_codes and cfg.query_encoder != "history":
            raise ValueError(f"config key 'quantizer': 'item_id' needs query_encoder 'history' (a token per history "
                             f"item), got query_encoder {cfg.query_encoder!r}")
        if quantize and not self.item_codes:
            self.quantizer = ProductQuantizer(cfg.token_dim, cfg.num_codebooks, cfg.codebook_size,
                                              decay=cfg.ema_decay, eps=cfg.ema_eps,
                                              dead_code_threshold=cfg.dead_code_threshold)
            self.commitment_weight = float(cfg.commitment_weight)
        else:
            self.quantizer = None
        # L1 sparsity term on the per-token scores (as SPLADE's regulariser on term weights): the mean of
        # ReLU(s_k + b) over the (real token, candidate) pairs of the step. Meant to push the bulk of g's scores
        # below zero while the softmax keeps the pairs that rank positives, so that the post-training b of a sparse
        # index cuts little ranking signal (on ML-100K it cost accuracy instead: README, fifth round).
        self.sparsity_weight = float(getattr(cfg, "sparsity_weight", 0.0))
        if not self.sparsity_weight >= 0.0:
            raise ValueError(f"config key 'sparsity_weight': must be >= 0, got {self.sparsity_weight}")
        self.relu_grad_leak = float(getattr(cfg, "relu_grad_leak", RELU_GRAD_LEAK))
        if not 0.0 <= self.relu_grad_leak <= 1.0:
            raise ValueError(f"config key 'relu_grad_leak': must be in [0, 1], got {self.relu_grad_leak}")
        # Sampled softmax of the scores at b = 0 added to the one at the trained b (target_density / score_bias):
        # every positive pair keeps a ranking gradient while b < 0 cuts most pairs of the sparse logits.
        self.dense_loss_weight = float(getattr(cfg, "dense_loss_weight", 0.0))
        if not self.dense_loss_weight >= 0.0:
            raise ValueError(f"config key 'dense_loss_weight': must be >= 0, got {self.dense_loss_weight}")
        if self.dense_loss_weight > 0 and self.in_batch:
            raise ValueError("config key 'dense_loss_weight': needs negative_sampling 'uniform' (the positive is "
                             "candidate 0 of its row), got 'in_batch'")
        self.interaction = build_interaction(cfg.interaction, cfg.token_dim, cfg.num_item_tokens, cfg.mlp_hidden,
                                             float(cfg.dropout), cfg.sa_layers, cfg.sa_heads)
        if cfg.score_bias > 0:
            raise ValueError(f"score_bias must be <= 0 (more negative = sparser), got {cfg.score_bias}")
        self.target_bias = float(cfg.score_bias)
        self.target_density = None if cfg.target_density is None else float(cfg.target_density)
        self.vq_warmup_epochs = int(cfg.vq_warmup_epochs) if self.quantizer is not None else 0
        self.bias_anneal_epochs = int(cfg.bias_anneal_epochs)
        self.kmeans = bool(cfg.kmeans_init) and self.quantizer is not None
        self.score_bias = Parameter(Tensor(self.target_bias if self.bias_anneal_epochs <= 0 else 0.0, ms.float32),
                                    requires_grad=False, name="score_bias")

    # ------------------------------------------------------------------ hooks of RetrievalModel
    def _train_query(self, z):
        if self.quantizer is None:
            return z, ops.zeros((), ms.float32)
        ztilde, _, commit = self.quantizer(z)
        return ztilde, commit

    def _eval_query(self, z):
        if self.quantizer is None:
            return z
        return self.quantizer.lookup(self.quantizer.encode(z))

    def _activate(self, x):
        """ReLU(x) of pre-activations x (s + b, or s for the dense softmax). In training the backward pass leaks
        relu_grad_leak through inactive pairs (the forward value is exactly the ReLU), so tokens whose scores all
        fall below -b can recover."""
        y = ops.relu(x)
        if self.training:
            y = y + self.relu_grad_leak * (x - ops.stop_gradient(x))
        return y

    def _aggregate(self, s, axis):
        """sum_k ReLU(s_k + b) (see _activate)."""
        return self._activate(s + self.score_bias).sum(axis)

    def _logits(self, q, v):
        return self._aggregate(self.interaction(q, v), 1)            # [B, K_u, C] -> [B, C]

    def _train_logits(self, q, v, token_mask):
        if self.sparsity_weight <= 0 and self.dense_loss_weight <= 0:
            return self._logits(q, v), ops.zeros((), ms.float32), None
        s = self.interaction(q, v)                                   # [B, K_u, C]
        y = self._activate(s + self.score_bias)
        sparsity = ops.zeros((), ms.float32)
        if self.sparsity_weight > 0:
            mask = ops.expand_dims(token_mask, -1)                   # [B, K_u, 1]
            n_pairs = ops.maximum(mask.sum() * y.shape[2], ops.ones((), ms.float32))
            sparsity = (y * mask).sum() / n_pairs
        dense = None
        if self.dense_loss_weight > 0:                               # ReLU(s) with the same surrogate gradient
            dense = self._activate(s).sum(1)
        return y.sum(1), sparsity, dense

    # ------------------------------------------------------------------ codes and per-token scores
    def code_ids(self, user_feats, hist):
        """Flat code id per query token [B, K_u] int32: sum_m c_m * K_c^(M-1-m) (item_id: the history item ids)."""
        if self.item_codes:
            return hist.astype(ms.int32)
        return self.quantizer.flat_code(self.quantizer.encode(self.query_tokens(user_feats, hist)))

    def code_space(self):
        """(M, K_c): flat code ids lie in [0, K_c^M) ((1, n_items + 1) for item-id codes)."""
        if self.item_codes:
            return 1, self.n_items + 1
        return self.quantizer.num_codebooks, self.quantizer.codebook_size

    def code_vectors(self, code_ids):
        """Serving query token zhat [C, d_t] of flat code ids [C] (item_id: the history token of that item)."""
        code_ids = to_tensor(code_ids)
        if self.item_codes:
            x, _ = self.item_tokenizer.features(code_ids)
            return self.query_tokenizer.history_tokens(x)
        return self.quantizer.lookup(self.decode_code_ids(code_ids))

    def codebook_table(self):
        """numpy [M, K_c, d_t / M]: the vectors the code ids stand for (saved with the index; infer.py rebuilds
        zhat of a code from it). item_id: [1, n_items + 1, d_t], the history token of every item id."""
        if self.item_codes:
            was_training = self.training
            self.set_train(False)
            table = self.code_vectors(np.arange(self.n_items + 1, dtype=np.int32)).asnumpy()[None]
            self.set_train(was_training)
            return table
        return self.quantizer.codebooks.asnumpy()

    def decode_code_ids(self, code_ids):
        """Flat code ids [C] -> codes [C, M]."""
        code_ids = to_tensor(code_ids)
        k_c = self.quantizer.codebook_size
        m = self.quantizer.num_codebooks
        radix = Tensor((k_c ** np.arange(m - 1, -1, -1)).astype(np.int32))
        return ops.floor_mod(ops.floor_div(ops.expand_dims(code_ids, -1), radix), k_c).astype(ms.int32)

    def raw_token_scores_for_codes(self, code_ids, item_ids):
        """g([zhat(code); v_item]) before bias and ReLU: [C, N] (scored in blocks of codes, see pair_scores_blocked)."""
        zhat = self.code_vectors(code_ids)                                             # [C, d_t]
        v = self.item_tokenizer(to_tensor(item_ids))                                   # [N, K_i, d_t]
        return self.pair_scores_blocked(zhat, v)

    def pair_scores_blocked(self, q, v):
        """g(q_r, v_n) for every query token q [R, d_t] and item tokens v [N, K_i, d_t] -> [R, N].

        g's activations are [rows, N, hidden] per layer, so all rows at once would need R * N * hidden floats per
        layer (GBs for 2,000 codes x 2,000 items). Rows go in blocks of SCORE_BLOCK_FLOATS / (N * hidden); the
        last block is padded to the same size so that GRAPH_MODE compiles one shape."""
        n_rows, n_items = q.shape[0], v.shape[0]
        rows = max(1, SCORE_BLOCK_FLOATS // max(n_items * self.interaction.activation_width, 1))
        v = ops.expand_dims(v, 0)
        if n_rows <= rows:
            return self.interaction(ops.expand_dims(q, 0), v)[0]
        n_blocks = -(-n_rows // rows)
        pad = n_blocks * rows - n_rows
        if pad:
            q = ops.concat((q, ops.broadcast_to(q[-1:], (pad, q.shape[1]))), 0)
        blocks = [self.interaction(ops.expand_dims(q[i * rows:(i + 1) * rows], 0), v)[0] for i in range(n_blocks)]
        return ops.concat(blocks, 0)[:n_rows]

    def token_scores_for_codes(self, code_ids, item_ids):
        """Per-token index weights phi_b(g([zhat(code); v_item])) = ReLU(s + b): [C, N]."""
        return ops.relu(self.raw_token_scores_for_codes(code_ids, item_ids) + self.score_bias)

    # First-layer factorisation used by the index builder (interactions with factorised_first_layer).
    def code_first_layer(self, code_ids):
        """sum_m W1^(m) C^(m)_{c_m} + b1 for flat code ids [C] -> [C, h1] (item_id: W1^(q) zhat + b1)."""
        if self.item_codes:
            return self.interaction.query_part(self.code_vectors(code_ids))
        parts = self.interaction.codeword_parts(self.quantizer.codebooks)               # [M, K_c, h1]
        codes = self.decode_code_ids(code_ids) + self.quantizer.code_offset           # [C, M]
        rows = ops.gather(parts.reshape(-1, parts.shape[-1]), codes, 0)               # [C, M, h1]
        return rows.sum(1) + self.interaction.first.bias

    def item_first_layer(self, item_tokens):
        """W1^(v) vec(v) for item tokens [N, K_i, d_t] -> [N, h1]."""
        return self.interaction.item_part(item_tokens)

    # ------------------------------------------------------------------ training-time state
    def set_score_bias(self, b):
        if b > 0:
            raise ValueError(f"score bias must be <= 0, got {b}")
        self.score_bias.set_data(Tensor(float(b), ms.float32))

    def get_score_bias(self):
        return float(self.score_bias.asnumpy())

    def set_epoch_state(self, epoch):
        """Call at the start of every epoch (also after resume). Switches VQ on after the warm-up and sets b from the
        linear schedule (unless target_density drives b through calibrate_score_bias).

        Returns {"epoch", "vq_active", "score_bias", "kmeans_init_due"}; when kmeans_init_due is True the trainer
        should call `init_codebooks_kmeans` with a few training batches before the epoch's first step."""
        vq_active = self.quantizer is not None and epoch >= self.vq_warmup_epochs
        if self.quantizer is not None:
            self.quantizer.set_active(vq_active)
        if self.target_density is None:
            frac = scheduled_fraction(epoch, self.vq_warmup_epochs, self.bias_anneal_epochs)
            self.set_score_bias(frac * self.target_bias)
        return {"epoch": int(epoch), "vq_active": bool(vq_active), "score_bias": self.get_score_bias(),
                "kmeans_init_due": bool(self.kmeans and epoch == self.vq_warmup_epochs)}

    def calibrate_score_bias(self, user_feats, hist, item_ids, epoch):
        """Density-targeting update of b (target_density set). Uses the distinct codes (SparCode) or query tokens
        (all-to-all) of the given users against the given items. Returns {"score_bias", "density"}."""
        if self.target_density is None:
            raise ValueError("calibrate_score_bias needs target_density to be set")
        was_training = self.training
        self.set_train(False)
        user_feats, hist = to_tensor(user_feats), to_tensor(hist)
        if self.serves_from_index:
            codes = np.unique(self.code_ids(user_feats, hist).asnumpy())
            raw = self.raw_token_scores_for_codes(codes, item_ids).asnumpy()
        else:
            z = self.query_tokens(user_feats, hist)
            v = self.item_tokenizer(to_tensor(item_ids))
            raw = self.pair_scores_blocked(z.reshape(-1, z.shape[-1]), v).asnumpy()
        self.set_train(was_training)
        frac = scheduled_fraction(epoch, self.vq_warmup_epochs, self.bias_anneal_epochs)
        b = frac * bias_for_density(raw, self.target_density)
        self.set_score_bias(b)
        return {"score_bias": b, "density": float((raw + b > 0).mean())}

    @ms.jit
    def ema_update(self, user_feats, hist):
        """EMA codebook step from this batch's query tokens (after the optimizer step; not differentiated).
        Returns the batch code counts [M, K_c] (for perplexity logging)."""
        return self.quantizer.ema_update(self.query_tokens(user_feats, hist))

    def init_codebooks_kmeans(self, batches, batch_vectors=None, iters=20, seed=0):
        """k-means init of the codebooks from the query tokens of `batches` (iterable of (user_feats, hist))."""
        was_training = self.training
        self.set_train(False)
        zs = [self.query_tokens(to_tensor(u), to_tensor(h)).asnumpy() for u, h in batches]
        self.set_train(was_training)
        if not zs:
            raise ValueError("init_codebooks_kmeans got no batches")
        return self.quantizer.kmeans_init(np.concatenate([z.reshape(-1, z.shape[-1]) for z in zs]),
                                          iters=iters, seed=seed, batch_vectors=batch_vectors)
