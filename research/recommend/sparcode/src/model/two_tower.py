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
"""Two-tower baseline in the same code base (same tokenizers and loss, dot-product score).

Same query tokenizer with a single head (one query vector of size d), same item tokenizer with a single token
(one item vector of size d), dot-product score, the same sampled-softmax + L2 loss. d = token_dim.
"""
from mindspore import ops

from .base import RetrievalModel


class TwoTower(RetrievalModel):
    def __init__(self, cfg, meta):
        super().__init__(cfg, meta, num_query_tokens=1, num_item_tokens=1, token_dim=cfg.token_dim)

    def _logits(self, q, v):
        """q [B, 1, d]; v [B or 1, C, 1, d] -> <q, v> [B, C]."""
        return (ops.expand_dims(q[:, 0], 1) * v[:, :, 0]).sum(-1)

    def query_vectors(self, user_feats, hist):
        """[B, d] query vectors (MIPS side)."""
        return self.query_tokens(user_feats, hist)[:, 0]

    def item_vectors(self, item_ids):
        """[N, d] item vectors (MIPS side)."""
        return self.item_tokens(item_ids)[:, 0]
