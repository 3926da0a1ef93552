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
"""All-to-all model: SparCode without quantization (the accuracy ceiling; the paper's "All-to-All" rows).

Same tokenizers, same g, same sparsity control phi_b and the same loss, but the raw tokens z are fed to g, so the
scores cannot be precomputed per code: it is scored by brute force only (src/scoring.py).
"""
from .sparcode import SparCode


class AllToAll(SparCode):
    serves_from_index = False   # scored brute force: without quantization there are no codes to index
    exportable = False

    def __init__(self, cfg, meta):
        super().__init__(cfg, meta, quantize=False)

    def code_ids(self, user_feats, hist):
        raise TypeError("the all-to-all model has no quantizer and no codes; score it by brute force")
