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
"""Tiny configs, metadata and batches shared by the MODEL tests (test_quantizer, test_model, test_index)."""
import os

import numpy as np
import mindspore as ms
from mindspore import Tensor

from src.config import load_config

MODEL_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N_ITEMS = 40
HISTORY_LEN = 6
N_NEG = 4

# small, fast, deterministic (dropout 0 so train-mode and eval-mode scores agree)
TINY = {
    "embedding_size": 16, "token_dim": 8, "num_query_tokens": 3, "num_item_tokens": 2, "num_codebooks": 2,
    "codebook_size": 4, "mlp_hidden": [16, 16], "dropout": 0.0, "sa_layers": 1, "sa_heads": 2,
    "history_len": HISTORY_LEN, "num_negatives": N_NEG, "score_bias": 0.0, "bias_anneal_epochs": 0,
    "vq_warmup_epochs": 0, "index_keys": "all", "index_item_batch": 16,
}


def tiny_config(**overrides):
    values = dict(TINY)
    values.update(overrides)
    return load_config(os.path.join(MODEL_DIR, "configs", "synthetic_tiny.yaml"), values)


def tiny_meta(seed=0, n_items=N_ITEMS, user_fields=True):
    """Item fields: field 0 single-slot (vocab 5), field 1 two slots (genre-like, vocab 4, 0 = empty slot)."""
    rng = np.random.default_rng(seed)
    values = np.zeros((n_items + 1, 3), np.int32)
    values[1:, 0] = rng.integers(1, 5, n_items)
    values[1:, 1:] = rng.integers(0, 4, (n_items, 2))
    meta = {"n_items": n_items, "n_users": 20, "history_len": HISTORY_LEN,
            "item_slot_field": np.array([0, 1, 1], np.int32), "item_field_vocab": [5, 4],
            "item_field_values": values, "has_user_fields": user_fields,
            "user_slot_field": np.array([0, 1], np.int32), "user_field_vocab": [3, 6]}
    return meta


def tiny_batch(seed=0, batch=5, n_items=N_ITEMS):
    """(user_feats, hist, pos, negs) numpy int32; histories left-padded with 0."""
    rng = np.random.default_rng(seed)
    user_feats = np.stack([rng.integers(0, 3, batch), rng.integers(0, 6, batch)], 1).astype(np.int32)
    hist = rng.integers(1, n_items + 1, (batch, HISTORY_LEN)).astype(np.int32)
    for row, pad in enumerate(rng.integers(0, HISTORY_LEN, batch)):
        hist[row, :pad] = 0
    pos = rng.integers(1, n_items + 1, batch).astype(np.int32)
    negs = rng.integers(1, n_items + 1, (batch, N_NEG)).astype(np.int32)
    return user_feats, hist, pos, negs


def tensors(*arrays):
    return tuple(Tensor(a) for a in arrays)


def build(cfg, meta=None, seed=0):
    from src.model import build_model
    ms.set_seed(seed)
    np.random.seed(seed)
    model = build_model(cfg, meta if meta is not None else tiny_meta())
    model.set_train(False)
    return model


def loss_parts(model, batch):
    return [float(x.asnumpy()) for x in model.loss(*tensors(*batch))]
