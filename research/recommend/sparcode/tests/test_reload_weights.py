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
"""Weights loaded into a network after its index builder compiled g's tail are the weights the next index uses
(train.py loads best.ckpt into the trained network, then builds the index: it used the last epoch's weights when
the best epoch was an earlier one)."""
import numpy as np
import mindspore as ms
from mindspore import Tensor

from src.checkpoint import load_checkpoint_into
from src.index import SparseCodeIndex
from model_helpers import HISTORY_LEN, N_ITEMS, build, tiny_config

CFG = {"query_encoder": "history", "num_query_tokens": HISTORY_LEN, "quantizer": "item_id"}


def _random_model(seed):
    model = build(tiny_config(**CFG), seed=seed)
    rng = np.random.default_rng(seed)
    for param in model.trainable_params():
        param.set_data(Tensor(rng.standard_normal(param.shape).astype(np.float32) * 0.5))
    return model


def _index(model):
    cfg = tiny_config(**CFG)
    return SparseCodeIndex.build(model, cfg, np.arange(1, N_ITEMS + 1, dtype=np.int32),
                                 np.arange(N_ITEMS + 1, dtype=np.int32), progress=False)


def test_index_after_loading_other_weights_uses_them(tmp_path):
    first, other = _random_model(0), _random_model(1)
    path = str(tmp_path / "other.ckpt")
    ms.save_checkpoint(other, path)
    stale = _index(first)                                  # compiles and keeps g's tail on `first`
    load_checkpoint_into(path, first, None, strict=True)
    got, want = _index(first), _index(other)
    assert want.stats()["nnz"] > 0 and not np.array_equal(stale.scores, want.scores)
    np.testing.assert_array_equal(got.indptr, want.indptr)
    np.testing.assert_array_equal(got.item_ids, want.item_ids)
    np.testing.assert_allclose(got.scores, want.scores, rtol=1e-6, atol=1e-7)
