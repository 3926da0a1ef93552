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
"""Ranking and evaluation shared by train.py (validation), eval.py and infer.py.

- SparCode is evaluated THROUGH ITS INDEX: query -> K_u code ids -> merged posting lists -> exact top-K.
- two_tower / all_to_all are ranked by brute force over every item (numpy MIPS for two-tower; the model's
  score for all-to-all), which is also how SparCode is validated during training (same ranking as its index).
Items the user already knows (split.seen_*) are excluded in every path.
"""
import json
import os
import time

import numpy as np
import mindspore as ms
from mindspore import Tensor

from src.atomic_file import atomic_write
from src.config import ConfigError, load_config, overrides_to_dict
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
    """evaluate_fn(model) -> metrics on `split_name` by brute force (equal to the index ranking for SparCode)."""
    check_topk(cfg, data)
    feats, hist, split = split_inputs(data, split_name)
    k = max(cfg.topk)

    def evaluate(model):
        ranked = brute_force_rank(model, feats, hist, split.seen_indptr, split.seen_items, data.n_items, k,
                                  batch_size=int(cfg.eval_batch_size) // 4 or 1)
        return metrics_for(ranked, split, cfg.topk)
    return evaluate


def set_context(cfg):
    """Device and execution mode from the config (GRAPH_MODE by default)."""
    try:
        ms.set_device(cfg.device_target)
    except RuntimeError:
        # The runtime is already running (e.g. several entry points called in one process): fine if it runs on
        # the requested device, an error otherwise.
        if ms.get_context("device_target") != cfg.device_target:
            raise
    ms.set_context(mode=ms.GRAPH_MODE if cfg.mode == "GRAPH" else ms.PYNATIVE_MODE)


def resolve_checkpoint(cfg):
    """cfg.ckpt_file, else <ckpt_dir>/best.ckpt (first repaired if a killed run left an older epoch in it), else the
    last epoch checkpoint in ckpt_dir."""
    from src.checkpoint import BEST_NAME, latest_checkpoint, repair_best_checkpoint
    if cfg.ckpt_file:
        if not os.path.isfile(cfg.ckpt_file):
            raise FileNotFoundError(f"config key ckpt_file: checkpoint not found: {cfg.ckpt_file}")
        return cfg.ckpt_file
    repair_best_checkpoint(cfg.ckpt_dir, cfg.model, print)
    best = os.path.join(cfg.ckpt_dir, BEST_NAME)
    if os.path.isfile(best):
        return best
    last = latest_checkpoint(cfg.ckpt_dir, cfg.model)
    if last is None:
        raise FileNotFoundError(f"no checkpoint in ckpt_dir={cfg.ckpt_dir} (best.ckpt or {cfg.model}-e*.ckpt); "
                                "train first or pass --ckpt_file=...")
    return last


def load_run_config(argv):
    """Config of a finished run: the config.yaml saved next to the checkpoint (train.py writes it), with
    `--key=value` overrides on top. `--config_path` is used only when no saved config is found."""
    raw = overrides_to_dict(argv)
    config_path = raw.pop("config_path", None)
    if raw.get("ckpt_file"):
        run_dir = os.path.dirname(os.path.abspath(raw["ckpt_file"]))
    else:
        run_dir = raw.get("ckpt_dir") or load_config(config_path).ckpt_dir
    saved = os.path.join(run_dir, "config.yaml")
    if os.path.isfile(saved):
        return load_config(saved, raw)
    if config_path is None:
        raise FileNotFoundError(f"no saved config {saved}; pass --config_path=... of the training run")
    return load_config(config_path, raw)


def load_trained_model(cfg, data, ckpt_path):
    """Model built from cfg with the checkpoint's weights (EMA codebooks and score bias included), eval mode."""
    from src.checkpoint import load_checkpoint_into
    from src.model.factory import build_model
    model = build_model(cfg, data.model_meta())
    load_checkpoint_into(ckpt_path, model, None, strict=True)
    model.set_train(False)
    return model


def default_index_path(cfg):
    return cfg.index_path or os.path.join(cfg.ckpt_dir, "index.npz")


def write_json(path, payload):
    """Atomic JSON write."""
    atomic_write(path, lambda f: json.dump(payload, f, indent=2, sort_keys=True), binary=False)


def export_paths(prefix):
    """Files of an export with --file_name=<prefix> (export.py writes them, infer.py reads them)."""
    return {name: f"{prefix}_{name}.{ext}" for name, ext in
            (("query", "mindir"), ("g", "mindir"), ("item", "mindir"), ("index", "npz"), ("config", "yaml"),
             ("export", "json"))}


def report(result, cfg, title):
    """Print the metrics table (+ index statistics) and write the JSON to cfg.metrics_file if set."""
    from src.metrics import format_table
    print(f"{title} ({cfg.eval_split}, {result['n_queries']} queries, {result['retrieval']})")
    print(format_table(result["metrics"], tuple(cfg.topk)))
    if "index" in result:
        print("index:", ", ".join(f"{k}={v}" for k, v in result["index"].items()))
    if cfg.metrics_file:
        write_json(cfg.metrics_file, result)
        print(f"metrics written to {cfg.metrics_file}")


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
