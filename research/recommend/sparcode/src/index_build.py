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


def used_codes(model, data, batch_size):
    """Unique flat code ids emitted for the training examples and the valid + test users."""
    feats = [data.user_feats(data.train_users), data.user_feats(data.valid.users), data.user_feats(data.test.users)]
    hists = [data.train_hist, data.valid.hist, data.test.hist]
    codes = [query_code_ids(model.code_ids, f.astype(np.int32), h.astype(np.int32), batch_size)
             for f, h in zip(feats, hists)]
    return np.unique(np.concatenate([c.ravel() for c in codes]))


def build_and_save_index(model, data, cfg, logger):
    """Build the SparCode index from the model in memory and save it atomically; returns (index, path).
    The index records the digest of the weights it was built from (meta model_digest)."""
    from src.checkpoint import parameter_digest
    from src.index import SparseCodeIndex
    model.set_train(False)
    code_ids = None if cfg.index_keys == "all" else used_codes(model, data, int(cfg.eval_batch_size))
    item_ids = np.arange(1, data.n_items + 1, dtype=np.int32)
    start = time.time()
    index = SparseCodeIndex.build(model, cfg, item_ids, code_ids, progress=True)
    index.meta["model_digest"] = parameter_digest(model)
    path = default_index_path(cfg)
    index.save(path)
    logger.info("index built in %.1fs and saved to %s: %s", time.time() - start, path, index.stats())
    return index, path


def load_or_build_index(model, data, cfg, log=print):
    """(index, path, rebuilt): the saved index if it was built from exactly these weights (same digest), else a
    freshly built and saved one."""
    from src.checkpoint import parameter_digest
    from src.index import SparseCodeIndex
    from src.logging_utils import get_logger
    path = default_index_path(cfg)
    if os.path.isfile(path):
        index = SparseCodeIndex.load(path)
        saved, digest = index.meta.get("model_digest"), parameter_digest(model)
        if saved == digest:
            return index, path, False
        log(f"index {path} was built from other weights (digest {saved}) than the checkpoint ({digest}); rebuilding")
    index, path = build_and_save_index(model, data, cfg, get_logger())
    return index, path, True
