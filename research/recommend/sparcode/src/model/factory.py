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
"""build_model(cfg, data_meta): the one entry point that turns a config into a model Cell."""
from .all_to_all import AllToAll
from .sparcode import SparCode
from .two_tower import TwoTower

MODELS = {"sparcode": SparCode, "two_tower": TwoTower, "all_to_all": AllToAll}


def build_model(cfg, data_meta):
    """cfg: Config (attribute access); data_meta: dict from RecData.model_meta() with n_items, n_users,
    item_slot_field, item_field_vocab, item_field_values, user_slot_field, user_field_vocab, history_len."""
    if cfg.model not in MODELS:
        raise ValueError(f"config key 'model': unknown model {cfg.model!r}; choose one of {sorted(MODELS)}")
    return MODELS[cfg.model](cfg, data_meta)
