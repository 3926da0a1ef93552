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
"""Evaluate a trained model: SparCode THROUGH ITS INVERTED INDEX, two-tower / all-to-all by brute force.

    python eval.py --ckpt_path=./checkpoints [--ckpt_file=...] [--eval_split=test] [--metrics_file=metrics.json]

The config saved by train.py next to the checkpoint is used (overrides on the command line). For SparCode the
index at index_path (default <ckpt_path>/index.npz) is loaded if it was built from exactly these weights (the
digest of the checkpoint's parameters stored in the index); otherwise it is built and saved. Query codes that the
index does not contain are computed on the fly from the model and counted in the output ("codes_added_on_the_fly").
Prints a metrics table and writes {metrics, index stats, timings} as JSON to --metrics_file.
"""
import sys
import time

import numpy as np

from src.context import set_context
from src.data.dataset import build_data
from src.evaluation import brute_force_rank, check_topk, index_rank, metrics_for, query_code_ids, split_inputs
from src.index_build import load_or_build_index
from src.report import report
from src.run_files import load_run_config, load_trained_model, resolve_checkpoint


def evaluate(cfg, ckpt_file):
    data = build_data(cfg)
    k = check_topk(cfg, data)
    model = load_trained_model(cfg, data, ckpt_file)
    feats, hist, split = split_inputs(data, cfg.eval_split)
    result = {"model": cfg.model, "dataset": data.name, "split": cfg.eval_split, "checkpoint": ckpt_file,
              "n_queries": int(len(feats)), "n_items": int(data.n_items), "topk": list(cfg.topk)}
    start = time.time()
    if model.serves_from_index:
        index, index_path, rebuilt = load_or_build_index(model, data, cfg)
        index.attach_model(model)                      # codes unseen at build time are computed on the fly
        n_codes_before = len(index.codes)
        t0 = time.time()
        codes = query_code_ids(model.code_ids, feats, hist, int(cfg.eval_batch_size))
        t1 = time.time()
        ranked = index_rank(index, codes, split.seen_indptr, split.seen_items, k)
        t2 = time.time()
        result.update(retrieval="sparse code index", index_path=index_path, index_rebuilt=rebuilt,
                      index=index.stats(), codes_added_on_the_fly=int(len(index.codes) - n_codes_before),
                      distinct_query_codes=int(len(np.unique(codes))),
                      timing={"query_codes_seconds": t1 - t0, "index_search_seconds": t2 - t1,
                              "search_ms_per_query": 1000.0 * (t2 - t1) / max(len(feats), 1)})
    else:
        ranked = brute_force_rank(model, feats, hist, split.seen_indptr, split.seen_items, data.n_items, k,
                                  batch_size=int(cfg.eval_batch_size))
        result.update(retrieval="brute force over all items")
    result["seconds"] = time.time() - start
    result["metrics"] = metrics_for(ranked, split, cfg.topk)
    return result, ranked


def main(argv=None):
    cfg = load_run_config(sys.argv[1:] if argv is None else argv)
    set_context(cfg)
    ckpt_file = resolve_checkpoint(cfg)
    result, _ = evaluate(cfg, ckpt_file)
    report(result, cfg, f"{cfg.model} on {result['dataset']}, checkpoint {ckpt_file}")
    return result


if __name__ == "__main__":
    main()
