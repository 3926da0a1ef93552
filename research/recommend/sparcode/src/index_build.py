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
"""Building SparCode's inverted index for a trained model and reusing a saved one built from the same weights."""
import os
import time

import numpy as np

from src.evaluation import query_code_ids
from src.run_files import default_index_path


def train_query_codes(model, data, batch_size):
    """Flat code ids [n_examples, K_u] of the training examples' queries."""
    return query_code_ids(model.code_ids, data.user_feats(data.train_users).astype(np.int32),
                          data.train_hist.astype(np.int32), batch_size)


def used_codes(model, data, batch_size, train_codes=None):
    """Unique flat code ids emitted for the training examples and the valid + test users."""
    if train_codes is None:
        train_codes = train_query_codes(model, data, batch_size)
    codes = [train_codes] + [query_code_ids(model.code_ids, data.user_feats(split.users).astype(np.int32),
                                            split.hist.astype(np.int32), batch_size)
                             for split in (data.valid, data.test)]
    return np.unique(np.concatenate([c.ravel() for c in codes]))


def build_index(model, data, cfg, progress=True, prune=True):
    """The index of the model in memory (not saved): every indexed code x every item, pruned to
    `index_density` by the training queries' code counts when that key is set and `prune` (src/index_prune.py)."""
    from src.index import SparseCodeIndex
    from src.index_prune import code_query_counts, prune_index
    model.set_train(False)
    batch = int(cfg.eval_batch_size)
    pruned = prune and cfg.index_density is not None
    train_codes = train_query_codes(model, data, batch) if pruned or cfg.index_keys != "all" else None
    code_ids = None if cfg.index_keys == "all" else used_codes(model, data, batch, train_codes)
    item_ids = np.arange(1, data.n_items + 1, dtype=np.int32)
    index = SparseCodeIndex.build(model, cfg, item_ids, code_ids, progress=progress)
    if pruned:
        index = prune_index(index, float(cfg.index_density), code_query_counts(index.codes, train_codes),
                            float(cfg.index_prune_alpha))
    return index


def build_and_save_index(model, data, cfg, logger):
    """Build the SparCode index from the model in memory and save it atomically; returns (index, path).
    The index records the digest of the weights it was built from (meta model_digest)."""
    from src.checkpoint import parameter_digest
    start = time.time()
    index = build_index(model, data, cfg)
    index.meta["model_digest"] = parameter_digest(model)
    path = default_index_path(cfg)
    index.save(path)
    logger.info("index built in %.1fs and saved to %s: %s", time.time() - start, path, index.stats())
    return index, path


def load_or_build_index(model, data, cfg, log=print):
    """(index, path, rebuilt): the saved index if it was built from exactly these weights (same digest) with the
    pruning the config asks for (index_density, index_prune_alpha), else a freshly built and saved one."""
    from src.checkpoint import parameter_digest
    from src.index import SparseCodeIndex
    from src.index_prune import pruning_settings, saved_pruning
    from src.logging_utils import get_logger
    path = default_index_path(cfg)
    if os.path.isfile(path):
        index = SparseCodeIndex.load(path)
        saved, digest = index.meta.get("model_digest"), parameter_digest(model)
        pruning, wanted = saved_pruning(index.meta), pruning_settings(cfg)
        if saved == digest and pruning == wanted:
            return index, path, False
        if saved != digest:
            log(f"index {path} was built from other weights (digest {saved}) than the checkpoint ({digest}); "
                "rebuilding")
        else:
            log(f"index {path} was pruned with {pruning}, the config asks for {wanted} (index_density, "
                "index_prune_alpha); rebuilding")
    index, path = build_and_save_index(model, data, cfg, get_logger())
    return index, path, True
