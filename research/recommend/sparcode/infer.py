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
"""Serve queries from the exported files only (MindIR via nn.GraphCell + the inverted index) and evaluate them.

    python infer.py --file_name=export/sparcode [--eval_split=test] [--metrics_file=infer_metrics.json]

Reads <prefix>_config.yaml / _query.mindir / _item.mindir / _g.mindir / _index.npz written by export.py, rebuilds
the evaluation queries of the dataset from the config, and reproduces eval.py's metrics. Before serving it checks
that the files belong together: the index's model digest equals the one in <prefix>_export.json and every file
has the sha256 recorded there (a file replaced, truncated or from another export is refused, naming it):
    SparCode:  query MindIR -> K_u code ids -> index posting-list merge -> exact top-K (seen items excluded);
               codes missing from the index get their rows from the g + item MindIRs (counted in the output).
    two-tower: query MindIR -> query vectors; item MindIR -> item vectors; numpy MIPS -> top-K.
"""
import json
import os
import sys
import time

import numpy as np
import mindspore as ms
from mindspore import nn, Tensor

from src.atomic_file import file_sha256
from src.config import exit_if_help, load_config, overrides_to_dict
from src.context import set_context
from src.data.dataset import build_data
from src.evaluation import check_topk, index_rank, metrics_for, query_code_ids, split_inputs
from src.model.factory import MODELS
from src.report import report
from src.run_files import export_paths
from src.scoring import topk_excluding

ITEM_BATCH = 4096


def load_graph(path):
    if not os.path.isfile(path):
        raise FileNotFoundError(f"exported file not found: {path} (run export.py first)")
    try:
        graph = ms.load(path)
    except (RuntimeError, ValueError) as err:   # MindSpore's message does not name the file
        raise ValueError(f"{path}: cannot load MindIR ({err}); the file is truncated or not a MindIR graph: "
                         f"re-run export.py") from None
    return nn.GraphCell(graph)


def read_manifest(prefix):
    """The <prefix>_export.json written by export.py."""
    path = export_paths(prefix)["export"]
    if not os.path.isfile(path):
        raise FileNotFoundError(f"exported file not found: {path} (run export.py first)")
    try:
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: cannot read the export manifest ({err}); re-run export.py") from None
    for key in ("model_digest", "sha256"):
        if key not in manifest:
            raise ValueError(f"{path}: no '{key}' (written by an older export.py); re-run export.py")
    return manifest


def check_export(prefix, manifest, index=None):
    """Refuse files that were not exported together: the index of other weights, or any file whose sha256
    differs from the manifest (replaced by another export's file, truncated, edited)."""
    paths = export_paths(prefix)
    if index is not None and index.meta.get("model_digest") != manifest["model_digest"]:
        raise ValueError(f"{paths['index']} was built from other model weights (digest "
                         f"{index.meta.get('model_digest')}) than the exported graphs ({manifest['model_digest']}, "
                         f"{paths['export']}); re-run export.py so that index and graphs come from one checkpoint")
    for name, expected in sorted(manifest["sha256"].items()):
        path = paths[name]
        if not os.path.isfile(path):
            raise FileNotFoundError(f"exported file not found: {path} (run export.py first)")
        if file_sha256(path) != expected:
            raise ValueError(f"{path}: sha256 differs from {paths['export']}: not the file export.py wrote "
                             f"(replaced, truncated or edited); re-run export.py")


def item_tokens(item_net, data):
    """Item tokens of ids 0..n_items (row = id; row 0 is the padding item) from the item MindIR."""
    ids = np.arange(data.n_items + 1, dtype=np.int32)
    values = np.asarray(data.item_fields.values, dtype=np.int32)
    return np.concatenate([item_net(Tensor(ids[i:i + ITEM_BATCH]), Tensor(values[i:i + ITEM_BATCH])).asnumpy()
                           for i in range(0, len(ids), ITEM_BATCH)])


class MindIRRowBuilder:
    """Index rows for codes the index lacks, computed by the exported g (same interface as the index's builder)."""

    def __init__(self, g_net, codebooks, items, tokens):
        self.g_net = g_net
        self.codebooks = codebooks            # [M, K_c, d_s] from the index file
        self.items = items
        self.tokens = tokens                  # [len(items), K_i, d_t]

    def rows(self, codes, progress=False):
        m, k_c, _ = self.codebooks.shape
        digits = (np.asarray(codes, np.int64)[:, None] // (k_c ** np.arange(m - 1, -1, -1))[None]) % k_c
        zhat = np.concatenate([self.codebooks[j][digits[:, j]] for j in range(m)], axis=1).astype(np.float32)
        weights = self.g_net(Tensor(zhat), Tensor(self.tokens)).asnumpy()          # [C, N]
        keep = weights > 0
        indptr = np.concatenate([[0], np.cumsum(keep.sum(1))]).astype(np.int64)
        cols = np.nonzero(keep)
        return indptr, self.items[cols[1]].astype(np.int32), weights[cols].astype(np.float32)


def serve(cfg, prefix, index=None):
    """Metrics of the exported model; `index`: the already loaded (and checked) SparCode index, if any."""
    from src.index import SparseCodeIndex
    paths = export_paths(prefix)
    data = build_data(cfg)
    k = check_topk(cfg, data)
    feats, hist, split = split_inputs(data, cfg.eval_split)
    query_net = load_graph(paths["query"])
    item_net = load_graph(paths["item"])
    result = {"model": cfg.model, "dataset": data.name, "split": cfg.eval_split, "n_queries": int(len(feats)),
              "n_items": int(data.n_items), "topk": list(cfg.topk), "served_from": os.path.abspath(prefix)}
    t0 = time.time()
    if MODELS[cfg.model].serves_from_index:
        index = index if index is not None else SparseCodeIndex.load(paths["index"])
        tokens = item_tokens(item_net, data)[index.items]
        # rows for codes missing from the index come from the exported interaction graph g
        index.attach_row_builder(MindIRRowBuilder(load_graph(paths["g"]), index.codebooks, index.items, tokens))
        n_codes_before = len(index.codes)
        codes = query_code_ids(query_net, feats, hist, int(cfg.eval_batch_size))
        ranked = index_rank(index, codes, split.seen_indptr, split.seen_items, k)
        result.update(retrieval="sparse code index (MindIR query side)", index=index.stats(),
                      codes_added_on_the_fly=int(len(index.codes) - n_codes_before))
    elif MODELS[cfg.model].exportable:               # query vectors (two-tower)
        item_vectors = item_tokens(item_net, data)[:, 0]
        ranked = []
        for start in range(0, len(feats), int(cfg.eval_batch_size)):
            q = query_net(Tensor(feats[start:start + int(cfg.eval_batch_size)]),
                          Tensor(hist[start:start + int(cfg.eval_batch_size)])).asnumpy()
            ids, _ = topk_excluding(q @ item_vectors.T, k, split.seen_indptr, split.seen_items, row_offset=start)
            ranked.append(ids)
        ranked = np.concatenate(ranked)
        result.update(retrieval="brute force MIPS over MindIR item vectors")
    else:
        raise ValueError(f"infer.py serves the exports of {sorted(m for m in MODELS if MODELS[m].exportable)}, "
                         f"not {cfg.model!r}")
    result["seconds"] = time.time() - t0
    result["metrics"] = metrics_for(ranked, split, cfg.topk)
    return result, ranked


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    exit_if_help(argv, "infer.py --file_name=EXPORT_PREFIX")
    raw = overrides_to_dict(argv)
    prefix = raw.pop("file_name", None)
    if not prefix:
        raise ValueError("pass --file_name=<prefix> given to export.py")
    manifest = read_manifest(prefix)
    index = None
    if manifest.get("model") in MODELS and MODELS[manifest["model"]].serves_from_index:
        from src.index import SparseCodeIndex
        index = SparseCodeIndex.load(export_paths(prefix)["index"])
    check_export(prefix, manifest, index)
    cfg = load_config(export_paths(prefix)["config"], raw)
    set_context(cfg)
    result, _ = serve(cfg, prefix, index)
    report(result, cfg, f"{cfg.model} served from {prefix}_*.mindir")
    return result


if __name__ == "__main__":
    main()
