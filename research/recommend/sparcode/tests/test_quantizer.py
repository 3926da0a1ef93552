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
"""Product quantizer: assignment, STE, EMA learning, dead-code restart, warm-up, k-means init, perplexity."""
import numpy as np
import pytest
import mindspore as ms
from mindspore import Tensor

from src.model.quantizer import ProductQuantizer, codebook_perplexity, code_usage_counts
from model_helpers import tiny_config, tiny_batch, tensors, build


def numpy_assign(z, books):
    """Reference: brute-force squared distances, per codebook."""
    m, _, d_s = books.shape
    sub = z.reshape(-1, m, d_s)
    dist = ((sub[:, :, None, :] - books[None]) ** 2).sum(-1)       # [N, M, K_c]
    return dist.argmin(-1)


def test_nearest_codeword_matches_numpy_reference():
    q = ProductQuantizer(token_dim=12, num_codebooks=3, codebook_size=16)
    rng = np.random.default_rng(1)
    z = rng.standard_normal((7, 5, 12)).astype(np.float32)
    codes = q.encode(Tensor(z)).asnumpy()
    assert codes.shape == (7, 5, 3) and codes.dtype == np.int32
    np.testing.assert_array_equal(codes.reshape(-1, 3), numpy_assign(z, q.codebooks.asnumpy()))
    # lookup returns the concatenated codewords, the flat code id is mixed-radix in K_c
    zhat = q.lookup(Tensor(codes)).asnumpy().reshape(-1, 3, 4)
    books = q.codebooks.asnumpy()
    flat_codes = codes.reshape(-1, 3)
    for m in range(3):
        np.testing.assert_array_equal(zhat[:, m], books[m][flat_codes[:, m]])
    flat = q.flat_code(Tensor(codes)).asnumpy().ravel()
    np.testing.assert_array_equal(flat, flat_codes[:, 0] * 256 + flat_codes[:, 1] * 16 + flat_codes[:, 2])


def test_distance_uses_minus_two_cross_term():
    """A codeword close in direction but far in norm must lose against a nearer one (the port's -100 bug picks it)."""
    q = ProductQuantizer(token_dim=2, num_codebooks=1, codebook_size=2)
    q.codebooks.set_data(Tensor(np.array([[[1.0, 0.0], [10.0, 0.0]]], np.float32)))
    assert q.encode(Tensor(np.array([[1.2, 0.0]], np.float32))).asnumpy().ravel().tolist() == [0]


def test_ste_gradient_reaches_tokenizer_with_zero_commitment():
    cfg = tiny_config(commitment_weight=0.0)
    model = build(cfg)
    model.set_train(True)
    params = model.query_tokenizer.trainable_params()
    grad_fn = ms.grad(lambda *b: model.loss(*b)[0], grad_position=None, weights=params)
    grads = grad_fn(*tensors(*tiny_batch()))
    norms = [float(np.abs(g.asnumpy()).sum()) for g in grads]
    heads = [n for p, n in zip(params, norms) if "heads" in p.name]
    assert all(n > 0 for n in heads), "the retrieval loss does not reach the query heads through the quantizer"
    assert sum(norms) > 0
    # the codebooks are not trainable: only EMA writes them
    names = [p.name for p in model.trainable_params()]
    assert not any("codebooks" in n or "ema_" in n or "score_bias" in n for n in names)


def test_warmup_switches_quantization_off():
    q = ProductQuantizer(token_dim=8, num_codebooks=2, codebook_size=4)
    z = Tensor(np.random.default_rng(0).standard_normal((3, 2, 8)).astype(np.float32))
    ztilde, _, commit = q(z)
    assert float(commit.asnumpy()) > 0
    np.testing.assert_allclose(ztilde.asnumpy(), q.lookup(q.encode(z)).asnumpy(), atol=1e-6)
    q.set_active(False)
    ztilde, _, commit = q(z)
    np.testing.assert_array_equal(ztilde.asnumpy(), z.asnumpy())
    assert float(commit.asnumpy()) == 0.0


def clustered(rng, centers, n, std=0.05):
    idx = rng.integers(0, len(centers), n)
    return (centers[idx] + std * rng.standard_normal((n, centers.shape[1]))).astype(np.float32)


def test_ema_moves_codebooks_to_the_data():
    rng = np.random.default_rng(0)
    q = ProductQuantizer(token_dim=4, num_codebooks=2, codebook_size=4, decay=0.8, dead_code_threshold=0.0)
    centers = rng.standard_normal((4, 4)).astype(np.float32) * 3
    z0 = clustered(rng, centers, 256)
    before = distortion(q, z0)
    books0 = q.codebooks.asnumpy().copy()
    for _ in range(30):
        counts = q.ema_update(Tensor(clustered(rng, centers, 256))).asnumpy()
    assert counts.shape == (2, 4) and counts.sum() == 2 * 256
    assert not np.allclose(q.codebooks.asnumpy(), books0)
    after = distortion(q, z0)
    assert after < 0.2 * before
    # EMA invariants: codebook = ema_sum / Laplace-smoothed count
    count, total = q.ema_count.asnumpy(), q.ema_sum.asnumpy()
    n = count.sum(-1, keepdims=True)
    smoothed = (count + q.eps) / (n + 4 * q.eps) * n
    np.testing.assert_allclose(q.codebooks.asnumpy(), total / smoothed[..., None], rtol=1e-4, atol=1e-5)


def distortion(q, z):
    zhat = q.lookup(q.encode(Tensor(z))).asnumpy()
    return float(((z - zhat) ** 2).sum(-1).mean())


@pytest.mark.parametrize("batch", [64, 3])      # 3 < K_c: restart from the batch tiled with noise
def test_dead_codes_restart_from_batch_vectors(batch):
    rng = np.random.default_rng(2)
    q = ProductQuantizer(token_dim=4, num_codebooks=2, codebook_size=8, decay=0.99, dead_code_threshold=1.0)
    far = np.full((2, 8, 2), 100.0, np.float32)
    far[:, 0] = 0.0                                # codeword 0 of each codebook sits on the data
    q.codebooks.set_data(Tensor(far))
    q.ema_sum.set_data(Tensor(far * 5.0))
    q.ema_count.set_data(Tensor(np.where(np.arange(8) == 0, 50.0, 0.5).astype(np.float32)[None].repeat(2, 0)))
    z = (0.1 * rng.standard_normal((batch, 4))).astype(np.float32)
    q.ema_update(Tensor(z))
    books = q.codebooks.asnumpy()
    count = q.ema_count.asnumpy()
    # codewords 1..7 were dead (count 0.5 < 1): now near the data, count reset to 1
    assert np.abs(books[:, 1:]).max() < 1.0
    np.testing.assert_allclose(count[:, 1:], 1.0)
    sub = z.reshape(-1, 2, 2).transpose(1, 0, 2)
    for m in range(2):
        dist = ((books[m, 1:, None, :] - sub[m][None]) ** 2).sum(-1).min(1)
        assert dist.max() < (1e-8 if batch >= 8 else 1e-2)   # exact batch vectors, or vectors + small noise
    if batch < 8:
        assert len(np.unique(books[0, 1:], axis=0)) == 7    # noise separates duplicated batch vectors


def test_kmeans_init_finds_clusters():
    rng = np.random.default_rng(3)
    q = ProductQuantizer(token_dim=4, num_codebooks=2, codebook_size=4)
    centers = np.array([[5, 5, -5, 0], [-5, 5, 0, 5], [5, -5, 5, -5], [-5, -5, 0, 0]], np.float32)
    z = clustered(rng, centers, 400)
    before = distortion(q, z)
    inertia = q.kmeans_init(z, iters=15, seed=0, batch_vectors=128)
    assert distortion(q, z) < 0.01 * before
    assert max(inertia) < 0.05
    count = q.ema_count.asnumpy()
    np.testing.assert_allclose(count.sum(-1), 128, rtol=0.05)
    np.testing.assert_allclose(q.ema_sum.asnumpy(), q.codebooks.asnumpy() * count[..., None], rtol=1e-5)


def test_codebook_perplexity():
    np.testing.assert_allclose(codebook_perplexity(np.ones((2, 16))), [16, 16], rtol=1e-6)
    collapsed = np.zeros((1, 16))
    collapsed[0, 3] = 10
    np.testing.assert_allclose(codebook_perplexity(collapsed), [1.0])
    codes = np.array([[0, 1], [0, 1], [1, 1], [1, 1]])
    counts = code_usage_counts(codes, 4)
    np.testing.assert_array_equal(counts, [[2, 2, 0, 0], [0, 4, 0, 0]])
    np.testing.assert_allclose(codebook_perplexity(counts), [2.0, 1.0])
    with pytest.raises(TypeError):
        codebook_perplexity(codes)


def test_model_ema_update_in_graph_mode(graph_mode):
    model = build(tiny_config())
    model.set_train(True)
    user_feats, hist, _, _ = tiny_batch(batch=8)
    before = model.quantizer.codebooks.asnumpy().copy()
    counts = model.ema_update(*tensors(user_feats, hist)).asnumpy()
    assert counts.sum() == 2 * 8 * 3            # M x B x K_u assignments
    assert not np.allclose(model.quantizer.codebooks.asnumpy(), before)


@pytest.fixture
def graph_mode():
    previous = ms.get_context("mode")
    ms.set_context(mode=ms.GRAPH_MODE)
    yield
    ms.set_context(mode=previous)
