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
"""`interaction: mlp_dot`: g = <q, mean_j v_j> + MLP([q; v]); batched/pair forms agree and the index stores it."""
import numpy as np
import mindspore as ms
from mindspore import Tensor

from src.index import SparseCodeIndex
from src.model.interaction import MLPDotInteraction
from model_helpers import N_ITEMS, build, loss_parts, tiny_batch, tiny_config


def test_mlp_dot_is_mlp_plus_dot_product():
    ms.set_seed(0)
    g = MLPDotInteraction(8, 2, [16, 16])
    g.set_train(False)
    rng = np.random.default_rng(0)
    q = rng.standard_normal((2, 3, 8)).astype(np.float32)
    v = rng.standard_normal((2, 5, 2, 8)).astype(np.float32)
    s = g(Tensor(q), Tensor(v)).asnumpy()
    mlp = g.mlp(Tensor(q), Tensor(v)).asnumpy()
    dot = np.einsum("bkd,bcd->bkc", q, v.mean(2))
    np.testing.assert_allclose(s, mlp + dot, rtol=1e-5, atol=1e-5)
    shared = g(Tensor(q), Tensor(v[:1])).asnumpy()          # items shared by all rows ([1, C]) broadcast
    np.testing.assert_allclose(shared[0], s[0], rtol=1e-5, atol=1e-5)
    pairs = g.pair_scores(Tensor(q[0, :1].repeat(5, 0)), Tensor(v[0])).asnumpy()
    np.testing.assert_allclose(pairs, s[0, 0], rtol=1e-5, atol=1e-5)


def test_mlp_dot_sparcode_trains_and_index_stores_its_scores():
    cfg = tiny_config(interaction="mlp_dot", score_bias=-0.05)
    model = build(cfg, seed=3)
    total, softmax, *_ = loss_parts(model, tiny_batch())
    assert np.isfinite(total) and softmax > 0
    index = SparseCodeIndex.build(model, cfg, np.arange(1, N_ITEMS + 1), code_ids=None, progress=False)
    items = np.arange(1, N_ITEMS + 1, dtype=np.int32)
    expected = model.token_scores_for_codes(index.codes.astype(np.int32), items).asnumpy()
    dense = np.zeros((len(index.codes), index.n_cols), np.float32)
    dense[np.repeat(np.arange(len(index.codes)), np.diff(index.indptr)), index.item_ids] = index.scores
    np.testing.assert_allclose(dense[:, 1:], expected, rtol=0, atol=1e-5)
    assert 0 < (expected > 0).mean() < 1
