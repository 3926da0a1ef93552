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
"""Ranking and evaluation shared by train.py (validation), eval.py and infer.py. (Run files: src/run_files.py;
reports: src/report.py; the index build: src/index_build.py; device and mode: src/context.py.)

- SparCode is evaluated THROUGH ITS INDEX: query -> K_u code ids -> merged posting lists -> exact top-K.
- two_tower / all_to_all are ranked by brute force over every item (numpy MIPS for two-tower; the model's
  score for all-to-all). SparCode is validated during training through an index of the valid users' codes:
  g is evaluated once per distinct code instead of once per (user, token), the same ranking at a fraction of the
  cost (2,999 ML-1M users x 4 tokens x 3,266 items through g took longer than an epoch of training).
Items the user already knows (split.seen_*) are excluded in every path.
"""
import numpy as np
from mindspore import Tensor

from src.config import ConfigError
from src.metrics import evaluate_topk
from src.scoring import brute_force_topk


def brute_force_rank(model, feats, hist, exclude_indptr, exclude_items, n_items, k, batch_size=256):
    """Top-k item ids [n, k] by scoring every item with the model (eval mode; src/scoring.py)."""
    ids, _ = brute_force_topk(model, feats, hist, n_items, k, exclude_indptr, exclude_items, user_batch=batch_size)
    return ids


def split_inputs(data, split_name):
    """(user_feats int32 [n, S], hist int32 [n, L], EvalSplit) of the valid or test split."""
    split = data.split(split_name)
    return data.user_feats(split.users).astype(np.int32), split.hist.astype(np.int32), split


def query_code_ids(code_fn, feats, hist, batch_size=1024):
    """K_u flat code ids per query [n, K_u] int64; code_fn(user_feats Tensor, hist Tensor) -> Tensor int32
    (model.code_ids, or the exported query MindIR run through nn.GraphCell)."""
    out = []
    for start in range(0, len(feats), batch_size):
        codes = code_fn(Tensor(feats[start:start + batch_size]), Tensor(hist[start:start + batch_size]))
        out.append(codes.asnumpy().astype(np.int64))
    return np.concatenate(out, axis=0)


def index_rank(index, codes, exclude_indptr, exclude_items, k):
    """Top-k item ids [n, k] from the inverted index for query codes [n, K_u]."""
    ids, _ = index.search(codes, k, exclude_indptr=exclude_indptr, exclude_items=exclude_items)
    return np.asarray(ids, dtype=np.int32)


def metrics_for(ranked, split, ks):
    return evaluate_topk(ranked, split.target_indptr, split.target_items, ks=tuple(ks))


def check_topk(cfg, data):
    """ConfigError naming `topk` when a cut-off exceeds the catalogue (a ranking cannot hold that many items)."""
    k = max(cfg.topk)
    if k > data.n_items:
        raise ConfigError(f"config key 'topk': the cut-off {k} exceeds the catalogue of dataset '{data.name}' "
                          f"({data.n_items} items); use cut-offs <= {data.n_items}")
    return k


def make_validation_fn(cfg, data, split_name="valid"):
    """evaluate_fn(model) -> metrics on `split_name`: SparCode through an index of the split's query codes, the
    baselines by brute force (for SparCode both give the same ranking; the index scores each distinct code once)."""
    check_topk(cfg, data)
    feats, hist, split = split_inputs(data, split_name)
    # the cut-offs of topk, plus the one early stopping watches (early_stop_metric, e.g. recall@50)
    stop_cutoff = int(cfg.early_stop_metric.partition("@")[2])
    if stop_cutoff > data.n_items:
        raise ConfigError(f"config key 'early_stop_metric': the cut-off {stop_cutoff} exceeds the catalogue of "
                          f"dataset '{data.name}' ({data.n_items} items)")
    ks = sorted(set(cfg.topk) | {stop_cutoff})
    k = ks[-1]

    def evaluate(model):
        if model.serves_from_index:     # SparCode (product or item-id codes): through the codes' index
            from src.index import SparseCodeIndex  # pylint: disable=import-outside-toplevel  (index imports scoring)
            model.set_train(False)
            codes = query_code_ids(model.code_ids, feats, hist, int(cfg.eval_batch_size))
            index = SparseCodeIndex.build(model, cfg, np.arange(1, data.n_items + 1, dtype=np.int32), codes,
                                          progress=False)
            ranked = index_rank(index, codes, split.seen_indptr, split.seen_items, k)
        else:
            ranked = brute_force_rank(model, feats, hist, split.seen_indptr, split.seen_items, data.n_items, k,
                                      batch_size=int(cfg.eval_batch_size) // 4 or 1)
        return metrics_for(ranked, split, ks)
    return evaluate
