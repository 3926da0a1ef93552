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
"""Retrieval benchmark: SparCode index vs two-tower brute force (numpy) vs faiss IndexFlatIP / HNSW.

    python benchmark.py --sparcode_dir=<ckpt_dir of a SparCode run> --two_tower_dir=<ckpt_dir of a two-tower run>
                        [--sizes=10000,100000,1000000] [--n_queries=256] [--output=benchmark.json]

Both runs must be trained on the same (synthetic) data. The catalogue of each size is the dataset's items plus
new items drawn by the synthetic generator (src/data/synthetic.make_extra_items); both trained models score the
new items from their features (no retraining). The queries are the first n_queries test users, so Recall@50
(held-out positives, the user's train items excluded) is measured on the same data for every method.

Timed retrieval path (spec 12.3), numpy/scipy/faiss on the host, MindSpore not involved:
    SparCode   : nearest codewords of the K_u query tokens (numpy) -> posting-list merge -> exact top-50
    two-tower  : query vector x item matrix (numpy) -> top-50;  faiss IndexFlatIP / IndexHNSWFlat search
The query encoders (MindSpore forward pass) are timed separately (per query, at batch n_queries).
Batch 1: p50/p99 over single queries. Batch 256: p50/p99 of (batch time / 256) over repeated batches.
Index: SparCode over the distinct codes of the benchmark queries (K_u codes each) x all items; "bytes" are the
arrays that serve queries (codes, indptr, item ids, scores; item matrix for two-tower; faiss' own size).
Peak memory: tracemalloc peak of Python-side allocations (numpy/scipy) during build and search, and the growth of
the process' max RSS (resource.getrusage), which also covers faiss' C++ allocations.
"""
import json
import os
import resource
import sys
import time
import tracemalloc

import numpy as np
from mindspore import Tensor

from src.config import load_config, overrides_to_dict
from src.data.dataset import build_data
from src.data.synthetic import make_extra_items
from src.evaluation import load_trained_model, resolve_checkpoint, set_context, split_inputs
from src.index import SparseCodeIndex
from src.metrics import evaluate_topk
from src.scoring import topk_excluding

TOP_K = 50
OPTIONS = {"sparcode_dir": None, "two_tower_dir": None, "sizes": "10000,100000,1000000", "n_queries": 256,
           "n_single": 100, "batch": 256, "batch_repeats": 5, "hnsw_m": 32, "hnsw_ef_construction": 40,
           "hnsw_ef_search": 128, "seed": 0, "output": None, "item_batch": 8192}


def parse_args(argv):
    raw = overrides_to_dict(argv)
    unknown = sorted(set(raw) - set(OPTIONS))
    if unknown:
        raise ValueError(f"command line: unknown option(s) {unknown}; known: {sorted(OPTIONS)}")
    args = dict(OPTIONS)
    for key, value in raw.items():
        default = OPTIONS[key]
        args[key] = type(default)(value) if isinstance(default, int) else value
    if not args["sparcode_dir"] or not args["two_tower_dir"]:
        raise ValueError("pass --sparcode_dir=... and --two_tower_dir=... (ckpt_dir of two finished train.py runs)")
    args["sizes"] = [int(s) for s in str(args["sizes"]).split(",") if s]
    return args


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class MemoryProbe:
    """tracemalloc peak (MB) and max-RSS growth (MB) of a block."""

    def __enter__(self):
        self.rss0 = rss_mb()
        tracemalloc.start()
        return self

    def __exit__(self, *exc):
        self.py_peak = tracemalloc.get_traced_memory()[1] / 2 ** 20
        tracemalloc.stop()
        self.rss_growth = rss_mb() - self.rss0


def latency(fn, batches, batch_size):
    """Per-query ms of fn(batch) over batches: (p50, p99, queries/s)."""
    per_query = []
    for batch in batches:
        t0 = time.perf_counter()
        fn(batch)
        per_query.append((time.perf_counter() - t0) * 1000.0 / batch_size)
    per_query = np.asarray(per_query)
    return float(np.percentile(per_query, 50)), float(np.percentile(per_query, 99)), float(1000.0 / per_query.mean())


def nearest_codes(z, codebooks):
    """Flat code ids [B, K_u] of query tokens z [B, K_u, d_t] (numpy; same rule as the quantizer)."""
    m, k_c, d_s = codebooks.shape
    sub = z.reshape(-1, m, d_s)
    codes = np.zeros(len(sub), np.int64)
    for j in range(m):              # M = 2: a loop over codebooks, not over queries or items
        dist = (codebooks[j] ** 2).sum(1)[None] - 2.0 * sub[:, j] @ codebooks[j].T
        codes = codes * k_c + dist.argmin(1)
    return codes.reshape(z.shape[0], z.shape[1])


def item_table(model, values, item_batch):
    """Tokens of items 1..N given their feature rows (row 0 of the result = padding id 0)."""
    ids = np.arange(len(values) + 1, dtype=np.int32)
    values = np.concatenate([np.zeros((1, values.shape[1]), np.int32), values])
    return np.concatenate([
        model.item_tokens_from_features(Tensor(ids[i:i + item_batch]), Tensor(values[i:i + item_batch])).asnumpy()
        for i in range(0, len(ids), item_batch)])


def recall50(ids, split, rows):
    indptr = split.target_indptr
    targets = np.concatenate([split.target_items[indptr[r]:indptr[r + 1]] for r in rows])
    lengths = np.diff(indptr)[rows]
    return evaluate_topk(ids, np.concatenate([[0], np.cumsum(lengths)]), targets, ks=(TOP_K,))[f"recall@{TOP_K}"]


def filter_seen(ids, seen_indptr, seen_items, k):
    """Drop each row's seen items (and faiss' -1 padding) from an over-fetched candidate list, keep k."""
    out = np.zeros((len(ids), k), np.int64)
    for r in range(len(ids)):       # post-filter of faiss results: rows, not items
        seen = seen_items[seen_indptr[r]:seen_indptr[r + 1]]
        keep = ids[r][(ids[r] > 0) & ~np.isin(ids[r], seen)][:k]
        out[r, :len(keep)] = keep
    return out


def benchmark_size(n_total, ctx, args):
    data, cfg, sc, tt = ctx["data"], ctx["cfg"], ctx["sparcode"], ctx["two_tower"]
    z, q_tt, codes, split, rows = ctx["z"], ctx["q_tt"], ctx["codes"], ctx["split"], ctx["rows"]
    seen_indptr, seen_items = ctx["seen_indptr"], ctx["seen_items"]
    n_extra = n_total - data.n_items
    if n_extra < 0:
        raise ValueError(f"size {n_total} is smaller than the dataset's {data.n_items} items")
    extra = make_extra_items(cfg, n_extra, seed=args["seed"] + n_total).values if n_extra else None
    values = np.asarray(data.item_fields.values[1:], np.int32)
    if extra is not None:
        values = np.concatenate([values, extra])
    item_ids = np.arange(1, n_total + 1, dtype=np.int32)
    single = [slice(i, i + 1) for i in range(min(args["n_single"], len(rows)))]
    big = [slice(0, args["batch"])] * args["batch_repeats"]
    results = []

    # ---- SparCode index
    with MemoryProbe() as mem:
        t0 = time.time()
        index = SparseCodeIndex.build(sc, cfg, item_ids, np.unique(codes), progress=True, item_field_values=values)
        build_s = time.time() - t0
    index_bytes = index.stats()["bytes"]
    index.search(codes[:2], TOP_K)                               # warm the CSR matrix
    books = ctx["codebooks"]
    search = lambda sl: index.search(nearest_codes(z[sl], books), TOP_K)
    with MemoryProbe() as smem:
        b1 = latency(search, single, 1)
        bb = latency(search, big, args["batch"])
    ids, _ = index.search(codes, TOP_K, seen_indptr, seen_items)
    stats = index.stats()
    results.append(dict(method="SparCode index", build_s=build_s, bytes=index_bytes, py_peak_mb=max(mem.py_peak,
                        smem.py_peak), rss_growth_mb=mem.rss_growth + smem.rss_growth, b1=b1, bb=bb,
                        recall50=recall50(ids, split, rows),
                        note=f"{stats['codes']} codes, density {stats['density']:.4f}, "
                             f"mean posting {stats['mean_posting_length']:.0f}"))
    del index

    # ---- two-tower item matrix (shared by numpy and faiss)
    t0 = time.time()
    item_vectors = np.ascontiguousarray(item_table(tt, values, args["item_batch"])[:, 0], dtype=np.float32)
    item_vec_s = time.time() - t0
    vectors = item_vectors[1:]

    def mips(sl):
        scores = q_tt[sl] @ vectors.T
        part = np.argpartition(-scores, TOP_K - 1, axis=1)[:, :TOP_K]
        return np.take_along_axis(part, np.argsort(-np.take_along_axis(scores, part, 1), axis=1), 1) + 1
    with MemoryProbe() as smem:
        b1 = latency(mips, single, 1)
        bb = latency(mips, big, args["batch"])
    scores = q_tt @ item_vectors.T
    ids, _ = topk_excluding(scores, TOP_K, seen_indptr, seen_items)
    results.append(dict(method="two-tower numpy", build_s=item_vec_s, bytes=int(vectors.nbytes),
                        py_peak_mb=smem.py_peak, rss_growth_mb=smem.rss_growth, b1=b1, bb=bb,
                        recall50=recall50(ids, split, rows), note=f"d={vectors.shape[1]}, exact MIPS"))

    # ---- faiss
    try:
        import faiss
    except ImportError:
        faiss = None
    if faiss is not None:
        over = TOP_K + int(np.diff(seen_indptr).max())
        for name in ("faiss IndexFlatIP", "faiss HNSW"):
            with MemoryProbe() as mem:
                t0 = time.time()
                if name == "faiss IndexFlatIP":
                    index = faiss.IndexFlatIP(vectors.shape[1])
                else:
                    index = faiss.IndexHNSWFlat(vectors.shape[1], args["hnsw_m"], faiss.METRIC_INNER_PRODUCT)
                    index.hnsw.efConstruction = args["hnsw_ef_construction"]
                index.add(vectors)
                if name == "faiss HNSW":
                    index.hnsw.efSearch = args["hnsw_ef_search"]
                build_s = time.time() - t0
            nbytes = int(faiss.serialize_index(index).nbytes)
            search = lambda sl, ix=index: ix.search(q_tt[sl], TOP_K)
            with MemoryProbe() as smem:
                b1 = latency(search, single, 1)
                bb = latency(search, big, args["batch"])
            _, found = index.search(q_tt, over)
            ids = filter_seen(found + 1, seen_indptr, seen_items, TOP_K)      # faiss rows are item id - 1
            note = "exact" if name == "faiss IndexFlatIP" else (
                f"M={args['hnsw_m']}, efC={args['hnsw_ef_construction']}, efS={args['hnsw_ef_search']}")
            results.append(dict(method=name, build_s=build_s, bytes=nbytes, py_peak_mb=mem.py_peak,
                                rss_growth_mb=mem.rss_growth + smem.rss_growth, b1=b1, bb=bb,
                                recall50=recall50(ids, split, rows), note=note))
            del index
    for row in results:
        row["items"] = n_total
    return results


def prepare(args):
    cfg_sc = load_config(os.path.join(args["sparcode_dir"], "config.yaml"))
    cfg_tt = load_config(os.path.join(args["two_tower_dir"], "config.yaml"))
    if cfg_sc.model != "sparcode" or cfg_tt.model != "two_tower":
        raise ValueError(f"expected a sparcode and a two_tower run, got {cfg_sc.model!r} and {cfg_tt.model!r}")
    if cfg_sc.dataset != "synthetic":
        raise ValueError("the benchmark grows the catalogue with the synthetic generator: use a synthetic run")
    set_context(cfg_sc)
    data = build_data(cfg_sc)
    sc = load_trained_model(cfg_sc, data, resolve_checkpoint(cfg_sc))
    tt = load_trained_model(cfg_tt, data, resolve_checkpoint(cfg_tt))
    feats, hist, split = split_inputs(data, "test")
    rows = np.arange(min(args["n_queries"], len(feats)))
    feats, hist = feats[rows], hist[rows]
    seen_indptr = np.concatenate([[0], np.cumsum(np.diff(split.seen_indptr)[rows])])
    seen_items = split.seen_items[:seen_indptr[-1]]
    t0 = time.perf_counter()
    z = sc.query_tokens(Tensor(feats), Tensor(hist)).asnumpy()
    sc_encode = (time.perf_counter() - t0) * 1000.0 / len(rows)
    t0 = time.perf_counter()
    q_tt = tt.query_vectors(Tensor(feats), Tensor(hist)).asnumpy()
    tt_encode = (time.perf_counter() - t0) * 1000.0 / len(rows)
    codebooks = sc.quantizer.codebooks.asnumpy()
    codes = nearest_codes(z, codebooks)
    # compile the item tokenizers and the index scorer once, so build times below exclude graph compilation
    warm_values = np.asarray(data.item_fields.values[1:9], np.int32)
    for model in (sc, tt):
        item_table(model, warm_values, args["item_batch"])
    SparseCodeIndex.build(sc, cfg_sc, np.arange(1, 9, dtype=np.int32), codes[:1, :1], progress=False,
                          item_field_values=warm_values)
    model_codes = sc.code_ids(Tensor(feats), Tensor(hist)).asnumpy()
    agree = float((codes == model_codes).mean())
    return dict(cfg=cfg_sc, data=data, sparcode=sc, two_tower=tt, z=z, q_tt=q_tt, codes=codes, split=split,
                rows=rows, seen_indptr=seen_indptr, seen_items=seen_items, codebooks=codebooks,
                encode_ms={"sparcode query tokens": sc_encode, "two-tower query vector": tt_encode},
                code_agreement=agree)


def format_rows(rows):
    head = (f"{'items':>9} {'method':<18} {'build s':>8} {'index MB':>9} {'py peak MB':>10} {'RSS+ MB':>8} "
            f"{'b1 p50 ms':>9} {'b1 p99 ms':>9} {'b1 q/s':>8} {'b256 p50':>9} {'b256 p99':>9} {'b256 q/s':>9} "
            f"{'R@50':>6}  note")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['items']:>9} {r['method']:<18} {r['build_s']:>8.2f} {r['bytes'] / 2 ** 20:>9.2f} "
                     f"{r['py_peak_mb']:>10.1f} {r['rss_growth_mb']:>8.1f} {r['b1'][0]:>9.3f} {r['b1'][1]:>9.3f} "
                     f"{r['b1'][2]:>8.0f} {r['bb'][0]:>9.4f} {r['bb'][1]:>9.4f} {r['bb'][2]:>9.0f} "
                     f"{r['recall50']:>6.4f}  {r['note']}")
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    start = time.time()
    ctx = prepare(args)
    rows = []
    for size in args["sizes"]:
        t0 = time.time()
        size_rows = benchmark_size(size, ctx, args)
        rows.extend(size_rows)
        print(f"\n[{size} items done in {time.time() - t0:.1f}s]\n{format_rows(size_rows)}", flush=True)
    print(f"\nqueries: {len(ctx['rows'])} test users of {ctx['data'].name}; top-{TOP_K}; seen items excluded for "
          f"R@50; numpy/scipy/faiss on {os.cpu_count()} CPU cores")
    print("query encoders (MindSpore, ms/query at batch " + str(len(ctx["rows"])) + "): " +
          ", ".join(f"{k} {v:.3f}" for k, v in ctx["encode_ms"].items()) +
          f"; numpy code search == model codes for {100 * ctx['code_agreement']:.1f}% of tokens")
    print(format_rows(rows))
    print(f"total benchmark time {time.time() - start:.1f}s")
    if args["output"]:
        with open(args["output"], "w", encoding="utf-8") as f:
            json.dump({"rows": rows, "encode_ms": ctx["encode_ms"], "code_agreement": ctx["code_agreement"],
                       "options": {k: v for k, v in args.items()}}, f, indent=1)
    return rows


if __name__ == "__main__":
    main()
