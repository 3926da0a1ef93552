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
"""Product quantizer with codebooks shared by all query tokens ("Shared Codebooks" in the paper's
overview figure; `models/vq/vq.py` of the authors' MindSpore release).

- M codebooks C^(m) in R^{K_c x d_t/M}, one Parameter `codebooks` [M, K_c, d_t/M] (requires_grad=False), read
  with ops.gather (the release reads a frozen `embedding_table` but writes its EMA into another
  attribute).
- Nearest codeword by squared L2: ||z||^2 - 2 z.C + ||C||^2 (the release used -100 instead of -2).
- Straight-through estimator: ztilde = z + stop_gradient(zhat - z), so the retrieval loss reaches the tokenizer.
- Commitment loss mean((z - sg(zhat))^2).
- Codebooks are learned by EMA (gamma, eps, Laplace smoothing) with ops.assign OUTSIDE the differentiated function:
  the trainer runs `ema_step` inside its compiled train step, after the optimizer, on the query tokens of that
  step's forward pass; `ema_update` is the same step compiled on its own (ms.jit). Codewords whose EMA count drops
  below `dead_code_threshold` are restarted from random vectors of the current batch (tiled with small noise if the
  batch has fewer vectors than K_c).
- Warm-up: the Parameter `vq_active` (0/1) switches quantization off (ztilde = z, no commitment loss) without
  recompiling the training graph; `kmeans_init` seeds the codebooks from collected token vectors.
"""
import numpy as np
import mindspore as ms
from mindspore import nn, ops, Parameter, Tensor


class ProductQuantizer(nn.Cell):
    """Shared product quantizer for query tokens z [..., d_t]."""

    def __init__(self, token_dim, num_codebooks, codebook_size, decay=0.99, eps=1e-5, dead_code_threshold=1.0,
                 init_std=1.0):
        super().__init__()
        if token_dim % num_codebooks != 0:
            raise ValueError(f"token_dim={token_dim} must be divisible by num_codebooks={num_codebooks}")
        self.token_dim = token_dim
        self.num_codebooks = num_codebooks
        self.codebook_size = codebook_size
        self.sub_dim = token_dim // num_codebooks
        self.decay = float(decay)
        self.eps = float(eps)
        self.dead_code_threshold = float(dead_code_threshold)
        shape = (num_codebooks, codebook_size, self.sub_dim)
        init = (np.random.default_rng(0).standard_normal(shape) * init_std / np.sqrt(self.sub_dim)).astype(np.float32)
        self.codebooks = Parameter(Tensor(init), requires_grad=False, name="codebooks")
        self.ema_count = Parameter(Tensor(np.ones(shape[:2], np.float32)), requires_grad=False, name="ema_count")
        self.ema_sum = Parameter(Tensor(init.copy()), requires_grad=False, name="ema_sum")
        self.vq_active = Parameter(Tensor(1.0, ms.float32), requires_grad=False, name="vq_active")
        # offsets that turn (codebook m, codeword j) into a row of the flattened [M * K_c, d_s] table
        self.code_offset = Tensor(np.arange(num_codebooks, dtype=np.int32) * codebook_size)
        self.code_radix = Tensor((codebook_size ** np.arange(num_codebooks - 1, -1, -1)).astype(np.int32))

    # ------------------------------------------------------------------ assignment
    def _split(self, z):
        """[..., d_t] -> [M, N, d_s]."""
        return z.reshape(-1, self.num_codebooks, self.sub_dim).transpose(1, 0, 2)

    def _assign(self, sub):
        """sub [M, N, d_s] -> nearest codeword per codebook [M, N] (squared L2, -2 cross term)."""
        cross = ops.matmul(sub, self.codebooks.swapaxes(1, 2))                     # [M, N, K_c]
        dist = (sub * sub).sum(-1, keepdims=True) - 2.0 * cross \
            + ops.expand_dims((self.codebooks * self.codebooks).sum(-1), 1)
        return ops.argmin(dist, axis=-1).astype(ms.int32)

    def encode(self, z):
        """z [..., d_t] -> codes [..., M] int32."""
        lead = z.shape[:-1]
        codes = self._assign(self._split(ops.stop_gradient(z)))                    # [M, N]
        return codes.transpose(1, 0).reshape(lead + (self.num_codebooks,))

    def lookup(self, codes):
        """codes [..., M] -> zhat [..., d_t] (concatenation of the M codewords)."""
        lead = codes.shape[:-1]
        flat_table = self.codebooks.reshape(-1, self.sub_dim)
        rows = ops.gather(flat_table, codes + self.code_offset, 0)                   # [..., M, d_s]
        return rows.reshape(lead + (self.token_dim,))

    def flat_code(self, codes):
        """codes [..., M] -> flat code id sum_m c_m * K_c^(M-1-m) (int32)."""
        return (codes * self.code_radix).sum(-1).astype(ms.int32)

    def construct(self, z):
        """z [..., d_t] -> (ztilde, codes [..., M], commitment loss).

        ztilde = z + sg(zhat - z) when VQ is active, z during warm-up."""
        codes = self.encode(z)
        zhat = self.lookup(codes)
        active = self.vq_active
        ztilde = z + active * ops.stop_gradient(zhat - z)
        commit = active * ops.reduce_mean(ops.square(z - ops.stop_gradient(zhat)))
        return ztilde, codes, commit

    # ------------------------------------------------------------------ EMA codebook learning
    @ms.jit
    def ema_update(self, z):
        """One EMA step of the codebooks from token vectors z [..., d_t]; returns the batch assignment counts [M, K_c].

        Not differentiated: call after the optimizer step (z may come from the same batch)."""
        return self.ema_step(z)

    def ema_step(self, z):
        """The body of ema_update, undecorated, for use inside another compiled graph (the trainer's train step;
        a jit-decorated method inlined into a second jit graph fails to compile once it was compiled on its own)."""
        sub = self._split(ops.stop_gradient(z))                                      # [M, N, d_s]
        codes = self._assign(sub)
        onehot = ops.one_hot(codes, self.codebook_size, Tensor(1.0, ms.float32), Tensor(0.0, ms.float32))
        batch_count = onehot.sum(1)                                                  # [M, K_c]
        batch_sum = ops.matmul(onehot.swapaxes(1, 2), sub)                           # [M, K_c, d_s]
        count = self.decay * self.ema_count + (1.0 - self.decay) * batch_count
        total = self.decay * self.ema_sum + (1.0 - self.decay) * batch_sum
        n = count.sum(-1, keepdims=True)
        smoothed = (count + self.eps) / (n + self.codebook_size * self.eps) * n
        codebooks = total / ops.expand_dims(smoothed, -1)
        # dead-code restart: replace rarely used codewords by random vectors of this batch
        dead = ops.expand_dims((count < self.dead_code_threshold).astype(ms.float32), -1)   # [M, K_c, 1]
        fresh = self._random_vectors(sub)
        codebooks = dead * fresh + (1.0 - dead) * codebooks
        total = dead * fresh + (1.0 - dead) * total
        count = dead.squeeze(-1) + (1.0 - dead.squeeze(-1)) * count
        ops.assign(self.ema_count, count)
        ops.assign(self.ema_sum, total)
        ops.assign(self.codebooks, codebooks)
        return batch_count

    def _random_vectors(self, sub):
        """K_c random batch vectors per codebook [M, K_c, d_s]; noise std 0.01/sqrt(d_s) when the batch is small."""
        n = sub.shape[1]
        idx = ops.randint(0, n, (self.codebook_size,))
        fresh = ops.gather(sub, idx, 1)
        if n < self.codebook_size:
            noise = ops.standard_normal((self.num_codebooks, self.codebook_size, self.sub_dim))
            fresh = fresh + noise * (0.01 / float(np.sqrt(self.sub_dim)))
        return fresh

    # ------------------------------------------------------------------ host-side helpers (not in the graph)
    def set_active(self, active):
        """Switch quantization on (True) or off (warm-up)."""
        self.vq_active.set_data(Tensor(1.0 if active else 0.0, ms.float32))

    def kmeans_init(self, z, iters=20, seed=0, batch_vectors=None):
        """Initialise the codebooks (and EMA state) by k-means on token vectors z (numpy [..., d_t]).

        batch_vectors: token vectors per training step (batch_size * K_u); the EMA counts start at the cluster
        fraction times this, i.e. at their steady-state value (default: all of z is one batch).
        Returns the per-codebook inertia (mean squared distance to the nearest centroid)."""
        z = np.asarray(z, dtype=np.float32).reshape(-1, self.token_dim)
        batch_vectors = len(z) if batch_vectors is None else int(batch_vectors)
        rng = np.random.default_rng(seed)
        books = np.empty((self.num_codebooks, self.codebook_size, self.sub_dim), np.float32)
        counts = np.empty((self.num_codebooks, self.codebook_size), np.float32)
        inertia = []
        for m in range(self.num_codebooks):  # M is 2-4: a loop over codebooks, not over data
            sub = z[:, m * self.sub_dim:(m + 1) * self.sub_dim]
            cent, assign, err = kmeans(sub, self.codebook_size, iters, rng)
            books[m] = cent
            frac = np.bincount(assign, minlength=self.codebook_size) / len(sub)
            counts[m] = np.maximum(frac * batch_vectors, self.dead_code_threshold)
            inertia.append(err)
        # EMA state consistent with the new codebooks: sum = codeword * count
        self.codebooks.set_data(Tensor(books))
        self.ema_count.set_data(Tensor(counts))
        self.ema_sum.set_data(Tensor(books * counts[..., None]))
        return inertia


def kmeans(x, k, iters, rng):
    """Plain Lloyd k-means (numpy, vectorised over points). Empty clusters are re-seeded from random points.

    Returns (centroids [k, d], assignment [n], mean squared error)."""
    n = len(x)
    if n == 0:
        raise ValueError("k-means init needs at least one token vector")
    cent = x[rng.choice(n, size=k, replace=n < k)].copy()
    if n < k:  # fewer points than codewords: jitter the duplicates so they can separate later
        cent += rng.standard_normal(cent.shape).astype(np.float32) * 0.01 / np.sqrt(x.shape[1])
    x_sq = (x * x).sum(1, keepdims=True)
    assign = np.zeros(n, np.int64)
    for _ in range(iters):
        dist = x_sq - 2.0 * x @ cent.T + (cent * cent).sum(1)[None]
        assign = dist.argmin(1)
        counts = np.bincount(assign, minlength=k).astype(np.float32)
        sums = np.zeros_like(cent)
        np.add.at(sums, assign, x)
        empty = counts == 0
        cent = np.where(empty[:, None], x[rng.integers(0, n, size=k)], sums / np.maximum(counts, 1.0)[:, None])
    dist = x_sq - 2.0 * x @ cent.T + (cent * cent).sum(1)[None]
    assign = dist.argmin(1)
    err = float(np.maximum(dist[np.arange(n), assign], 0.0).mean())
    return cent.astype(np.float32), assign, err


def codebook_perplexity(counts):
    """Perplexity exp(H) of the code usage, per codebook. counts: [M, K_c] (batch counts or EMA counts) or codes [N, M]
    int (then counted here). Equals K_c for uniform usage and 1 for total collapse."""
    counts = np.asarray(counts)
    if np.issubdtype(counts.dtype, np.integer):
        raise TypeError("pass counts [M, K_c] (float); use code_usage_counts(codes, K_c) for integer codes")
    p = counts / np.maximum(counts.sum(-1, keepdims=True), 1e-12)
    ent = -(p * np.log(np.where(p > 0, p, 1.0))).sum(-1)
    return np.exp(ent)


def code_usage_counts(codes, codebook_size):
    """codes [..., M] int -> float counts [M, K_c]."""
    codes = np.asarray(codes).reshape(-1, np.asarray(codes).shape[-1])
    m = codes.shape[1]
    flat = codes + np.arange(m)[None] * codebook_size
    return np.bincount(flat.ravel(), minlength=m * codebook_size).reshape(m, codebook_size).astype(np.float64)
