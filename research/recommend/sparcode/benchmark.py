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
"""Serving benchmark: SparCode's posting merge vs two-tower retrieval with faiss IndexFlatIP and IndexHNSWFlat.

    python benchmark.py --sparcode_dir=<SparCode run> --two_tower_dirs=<two-tower run d=64>,<run d=128>
                        [--sizes=10000,100000,1000000] [--densities=0.05,0.02] [--quick] [--output=bench.json]

The runs are finished train.py run folders (ckpt_path) on the same data (config.yaml, best.ckpt; the SparCode run also
index.npz). The first two-tower run is the baseline every ratio refers to (faiss IndexFlatIP on its vectors).

Catalogues of N items, built from the trained models (no generator items):
  * SparCode: every synthetic item j = 1..N is a copy of a trained item t_j drawn uniformly; the posting list of
    code c holds j iff the trained index's list of c holds t_j, with weight w(c, t_j) * u, u ~ U(0.95, 1.05)
    (breaks the exact ties between copies). This keeps, for every code, its posting-list length as a fraction of
    the catalogue, its weight distribution and the overlap between the lists of one query. A lower density rho
    than the trained index's rho_0 is reached as a more negative score bias would: w - delta for the weights
    above delta, delta = the (1 - rho / rho_0) quantile of the trained weights. Only the codes of the benchmark
    queries are indexed (the latency of a query depends only on its own lists).
  * two-tower: N item vectors drawn from a Gaussian with the mean and covariance of the trained item vectors.
  * queries: the test then valid users of the SparCode run (cycled up to n_queries): SparCode query tokens and
    two-tower query vectors from the trained models (encoders outside the timed path).
Timed path: SparCode = nearest codewords of the K_u query tokens + SparseCodeIndex.search (top-50);
two-tower = faiss search (top-50). Single queries (batch 1): p50 / p95 wall latency and process CPU time per
query; batch: queries/s over batches of `batch` queries. Every configuration is timed in rounds that alternate
with the baseline (faiss IndexFlatIP, first two-tower run), so both see the same machine load; the ratios are
taken from those alternating rounds. HNSW recall@50 is measured against the exact IndexFlatIP top-50.
Memory: bytes of the serving arrays (faiss: its serialized index) and the process' peak RSS after each size.
"""
import json
import os
import resource
import sys
import time

import numpy as np
from mindspore import Tensor

from src.config import load_config, overrides_to_dict
from src.context import set_context
from src.data.dataset import build_data
from src.evaluation import split_inputs
from src.index import SparseCodeIndex
from src.run_files import default_index_path, load_trained_model, resolve_checkpoint

TOP_K = 50
OPTIONS = {"sparcode_dir": None, "two_tower_dirs": None, "sizes": "10000,100000,1000000", "densities": "0.05,0.02",
           "n_queries": 256, "n_single": 200, "batch": 256, "batch_repeats": 1, "rounds": 4, "hnsw_m": 32,
           "hnsw_ef_construction": 40, "hnsw_ef_search": 128, "hnsw_dims": "", "faiss_threads": 0, "seed": 0,
           "output": None, "quick": False}
QUICK = {"sizes": "1000,3000", "n_queries": 64, "n_single": 20, "batch": 64, "batch_repeats": 1, "rounds": 2,
         "hnsw_m": 8, "hnsw_ef_construction": 20, "hnsw_ef_search": 32}


def parse_args(argv):
    raw = overrides_to_dict(argv)
    unknown = sorted(set(raw) - set(OPTIONS))
    if unknown:
        raise ValueError(f"command line: unknown option(s) {unknown}; known: {sorted(OPTIONS)}")
    args = dict(OPTIONS)
    if raw.get("quick", "false").lower() in ("1", "true", "yes"):
        args.update(QUICK)
    for key, value in raw.items():
        default = OPTIONS[key]
        try:
            if isinstance(default, bool):
                args[key] = value.lower() in ("1", "true", "yes")
            elif isinstance(default, int):
                args[key] = int(value)
            else:
                args[key] = value
        except ValueError as err:
            raise ValueError(f"command line: --{key}={value!r} is not an integer") from err
    if not args["sparcode_dir"] or not args["two_tower_dirs"]:
        raise ValueError("pass --sparcode_dir=<SparCode ckpt_path> and --two_tower_dirs=<ckpt_path>[,<ckpt_path>...]")
    args["two_tower_dirs"] = [d for d in str(args["two_tower_dirs"]).split(",") if d]
    args["sizes"] = [int(s) for s in str(args["sizes"]).split(",") if s]
    args["densities"] = [float(s) for s in str(args["densities"]).split(",") if s]
    args["hnsw_dims"] = [int(s) for s in str(args["hnsw_dims"]).split(",") if s]   # empty: every two-tower
    for rho in args["densities"]:
        if not 0.0 < rho <= 1.0:
            raise ValueError(f"command line: --densities: {rho} is not in (0, 1]")
    if args["batch"] > args["n_queries"]:
        raise ValueError(f"command line: --batch={args['batch']} is larger than --n_queries={args['n_queries']}")
    return args


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def load_average():
    return os.getloadavg()[0]


def nearest_codes(z, codebooks):
    """Flat code ids [B, K_u] of query tokens z [B, K_u, d_t] (numpy; the quantizer's nearest-codeword rule)."""
    m, k_c, d_s = codebooks.shape
    sub = z.reshape(-1, m, d_s)
    codes = np.zeros(len(sub), np.int64)
    for j in range(m):              # a loop over the M codebooks, not over queries or items
        dist = (codebooks[j] ** 2).sum(1)[None] - 2.0 * sub[:, j] @ codebooks[j].T
        codes = codes * k_c + dist.argmin(1)
    return codes.reshape(z.shape[0], z.shape[1])


# ---------------------------------------------------------------------------------------------- inputs
def load_run(ckpt_dir, expected_model):
    path = os.path.join(ckpt_dir, "config.yaml")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: not a finished train.py run (no config.yaml)")
    cfg = load_config(path)
    if cfg.model != expected_model:
        raise ValueError(f"{path}: model is {cfg.model!r}, expected {expected_model!r}")
    return cfg


def benchmark_queries(data, n_queries):
    """(user_feats, hist) of the test then valid users, cycled to n_queries rows."""
    parts = [split_inputs(data, name)[:2] for name in ("test", "valid")]
    feats = np.concatenate([p[0] for p in parts])
    hist = np.concatenate([p[1] for p in parts])
    rows = np.resize(np.arange(len(feats)), n_queries)
    return feats[rows], hist[rows]


def prepare(args):
    cfg_sc = load_run(args["sparcode_dir"], "sparcode")
    if cfg_sc.quantizer != "product":
        # the query side timed here is the product quantizer's nearest-codeword search; item-id codes need none
        raise ValueError(f"{args['sparcode_dir']}/config.yaml: key 'quantizer' is {cfg_sc.quantizer!r}; benchmark.py "
                         "serves product-quantizer runs (the K_u = 20 posting merge is timed by scripts/merge_cost.py)")
    set_context(cfg_sc)
    data = build_data(cfg_sc)
    sc = load_trained_model(cfg_sc, data, resolve_checkpoint(cfg_sc))
    index_path = default_index_path(cfg_sc)
    trained = SparseCodeIndex.load(index_path)
    feats, hist = benchmark_queries(data, args["n_queries"])
    z = sc.query_tokens(Tensor(feats), Tensor(hist)).asnumpy()
    codebooks = sc.quantizer.codebooks.asnumpy()
    codes = nearest_codes(z, codebooks)
    if (trained.rows_of(codes) < 0).any():
        raise ValueError(f"{index_path}: the index lacks codes of the benchmark users; rebuild it with train.py")
    towers = []
    for ckpt_dir in args["two_tower_dirs"]:
        cfg_tt = load_run(ckpt_dir, "two_tower")
        if cfg_tt.dataset != cfg_sc.dataset:
            raise ValueError(f"{ckpt_dir}: dataset {cfg_tt.dataset!r} differs from the SparCode run's "
                             f"{cfg_sc.dataset!r}")
        tt = load_trained_model(cfg_tt, data, resolve_checkpoint(cfg_tt))
        items = np.arange(1, data.n_items + 1, dtype=np.int32)
        vectors = np.concatenate([tt.item_tokens(Tensor(items[i:i + 4096])).asnumpy()[:, 0]
                                  for i in range(0, len(items), 4096)])
        queries = tt.query_vectors(Tensor(feats), Tensor(hist)).asnumpy().astype(np.float32)
        towers.append({"dir": ckpt_dir, "d": vectors.shape[1], "items": vectors.astype(np.float64),
                       "queries": np.ascontiguousarray(queries)})
    return {"data": data.name, "trained": trained, "z": z.astype(np.float32), "codebooks": codebooks,
            "codes": codes, "towers": towers}


# ---------------------------------------------------------------------------------------------- catalogues
def synthetic_index(trained, query_codes, n_items, density, rng):
    """SparCode index over n_items copies of trained items (see the module docstring), codes of the queries."""
    codes = np.unique(query_codes)
    rows = trained.rows_of(codes)
    lengths = trained.indptr[rows + 1] - trained.indptr[rows]
    n_trained = len(trained.items)
    trained_density = lengths.sum() / (len(codes) * n_trained)
    if density > trained_density * 1.0001:
        raise ValueError(f"--densities: {density} is above the trained index's density {trained_density:.4f} over "
                         "the benchmark codes (train with a larger target_density)")
    weights = np.concatenate([trained.scores[trained.indptr[r]:trained.indptr[r + 1]] for r in rows])
    delta = float(np.quantile(weights, 1.0 - density / trained_density)) if density < trained_density else 0.0
    template = rng.integers(0, n_trained, n_items)        # synthetic item j + 1 copies trained item template[j]
    indptr, ids, scores = [0], [], []
    for r in rows:                                         # build time only: a loop over codes
        members = np.full(n_trained, -1.0, np.float32)
        lo, hi = trained.indptr[r], trained.indptr[r + 1]
        members[np.searchsorted(trained.items, trained.item_ids[lo:hi])] = trained.scores[lo:hi] - delta
        w = members[template]
        keep = np.nonzero(w > 0)[0]
        ids.append(keep + 1)
        scores.append(w[keep] * rng.uniform(0.95, 1.05, len(keep)).astype(np.float32))
        indptr.append(indptr[-1] + len(keep))
    meta = {"n_items": n_items, "num_codebooks": trained.meta["num_codebooks"],
            "codebook_size": trained.meta["codebook_size"], "n_indexed_items": n_items}
    return SparseCodeIndex(codes, np.asarray(indptr), np.concatenate(ids), np.concatenate(scores),
                           np.arange(1, n_items + 1), trained.codebooks, meta), delta


def synthetic_vectors(tower, n_items, rng):
    """n_items vectors from the Gaussian fitted to the trained item vectors (float32, C order)."""
    items = tower["items"]
    mean = items.mean(0)
    cov = np.cov(items, rowvar=False) + 1e-8 * np.eye(items.shape[1])
    chol = np.linalg.cholesky(cov)
    out = np.empty((n_items, items.shape[1]), np.float32)
    for start in range(0, n_items, 1 << 17):              # blocks of 128k rows keep the float64 draw small
        block = rng.standard_normal((min(1 << 17, n_items - start), items.shape[1]))
        out[start:start + len(block)] = block @ chol.T + mean
    return out


# ---------------------------------------------------------------------------------------------- methods
class Method:
    """A built retrieval structure with search(query_rows) -> ids [b, TOP_K]."""

    def __init__(self, name, detail, search, nbytes, build_s):
        self.name, self.detail, self.search, self.nbytes, self.build_s = name, detail, search, nbytes, build_s
        self.single_ms, self.single_cpu, self.batch_wall, self.batch_cpu, self.batch_queries = [], 0.0, 0.0, 0.0, 0


def sparcode_method(index, ctx, density, delta, build_s):
    z, books = ctx["z"], ctx["codebooks"]
    st = index.stats()
    detail = (f"density {st['density']:.4f} (target {density}, delta {delta:.4f}), {st['codes']} codes, "
              f"mean list {st['mean_posting_length']:.0f}")
    nbytes = sum(a.nbytes for a in (index.codes, index.indptr, index.item_ids, index.scores))
    return Method(f"SparCode merge rho={density}", detail,
                  lambda rows: index.search(nearest_codes(z[rows], books), TOP_K)[0], nbytes, build_s)


def faiss_method(faiss, kind, vectors, tower, args):
    d = vectors.shape[1]
    t0 = time.perf_counter()
    if kind == "flat":
        index = faiss.IndexFlatIP(d)
        detail = "exact"
    else:
        index = faiss.IndexHNSWFlat(d, args["hnsw_m"], faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = args["hnsw_ef_construction"]
        detail = f"M={args['hnsw_m']}, efConstruction={args['hnsw_ef_construction']}"
    index.add(vectors)
    if kind == "hnsw":
        index.hnsw.efSearch = args["hnsw_ef_search"]
        detail += f", efSearch={args['hnsw_ef_search']}"
    build_s = time.perf_counter() - t0
    nbytes = len(faiss.serialize_index(index))
    queries = tower["queries"]
    method = Method(f"two-tower d={d} faiss {'FlatIP' if kind == 'flat' else 'HNSW'}", detail,
                    lambda rows: index.search(queries[rows], TOP_K)[1], nbytes, build_s)
    method.index = index
    return method


def time_round(method, single_rows, batches):
    """One round: single queries one by one, then the batches; adds to the method's records."""
    cpu0 = time.process_time()
    for r in single_rows:
        t0 = time.perf_counter()
        method.search(r)
        method.single_ms.append((time.perf_counter() - t0) * 1000.0)
    method.single_cpu += time.process_time() - cpu0
    cpu0, t0 = time.process_time(), time.perf_counter()
    for b in batches:
        method.search(b)
        method.batch_queries += len(b)
    method.batch_wall += time.perf_counter() - t0
    method.batch_cpu += time.process_time() - cpu0


def summary(method, n_items, baseline, recall, load, rss):
    single = np.asarray(method.single_ms)
    row = {"items": n_items, "method": method.name, "detail": method.detail, "build_s": method.build_s,
           "index_mb": method.nbytes / 2 ** 20, "b1_p50_ms": float(np.percentile(single, 50)),
           "b1_p95_ms": float(np.percentile(single, 95)), "b1_cpu_ms": 1000.0 * method.single_cpu / len(single),
           "batch_qps": method.batch_queries / method.batch_wall,
           "batch_cpu_ms": 1000.0 * method.batch_cpu / method.batch_queries, "recall_vs_exact": recall,
           "load": load, "peak_rss_mb": rss}
    if baseline is not None:
        row["p50_ratio"] = row["b1_p50_ms"] / float(np.percentile(baseline.single_ms, 50))
        row["qps_ratio"] = row["batch_qps"] / (baseline.batch_queries / baseline.batch_wall)
    return row


def compare(method, baseline, args, n_rounds):
    """Time `method` and a fresh record of the baseline in alternating rounds; return the baseline record."""
    n = args["n_queries"]
    per_round = max(1, args["n_single"] // n_rounds)
    reference = Method(baseline.name, baseline.detail, baseline.search, baseline.nbytes, baseline.build_s)
    for method_ in (method, reference):                    # warm-up (page faults, lazy allocations)
        method_.search(np.arange(2))
    for i in range(n_rounds):
        single = [np.array([(i * per_round + j) % n]) for j in range(per_round)]
        batches = [np.arange(s, s + args["batch"]) % n for s in range(0, args["batch"] * args["batch_repeats"],
                                                                       args["batch"])]
        for method_ in ((method, reference) if i % 2 == 0 else (reference, method)):
            time_round(method_, single, batches)
    return reference


def hnsw_recall(hnsw, flat, queries):
    exact = flat.search(queries, TOP_K)[1]
    approx = hnsw.search(queries, TOP_K)[1]
    return float(np.mean([len(np.intersect1d(a, e)) / TOP_K for a, e in zip(approx, exact)]))


class Rows(list):
    """The rows of one size; each is printed as soon as it is measured (long runs show progress)."""

    def append(self, row):
        super().append(row)
        print(format_rows([row]).splitlines()[-1] if len(self) > 1 else format_rows([row]), flush=True)


def benchmark_size(n_items, ctx, args, faiss):
    rng = np.random.default_rng(args["seed"] + n_items)
    towers = ctx["towers"]
    base = faiss_method(faiss, "flat", synthetic_vectors(towers[0], n_items, rng), towers[0], args)
    rows, n_rounds = Rows(), args["rounds"]
    ref = compare(base, base, args, n_rounds)              # the baseline against itself: the noise floor
    rows.append(summary(base, n_items, ref, 1.0, load_average(), peak_rss_mb()))
    for density in args["densities"]:
        t0 = time.perf_counter()
        index, delta = synthetic_index(ctx["trained"], ctx["codes"], n_items, density, rng)
        method = sparcode_method(index, ctx, density, delta, time.perf_counter() - t0)
        ref = compare(method, base, args, n_rounds)
        rows.append(summary(method, n_items, ref, 1.0, load_average(), peak_rss_mb()))
        del index, method
    for tower in towers:
        if tower is towers[0]:
            flat, vectors = base.index, None
        else:                   # faiss keeps its own copy of the vectors: only one extra catalogue at a time
            vectors = synthetic_vectors(tower, n_items, rng)
            method = faiss_method(faiss, "flat", vectors, tower, args)
            flat = method.index
            rows.append(summary(method, n_items, compare(method, base, args, n_rounds), 1.0, load_average(),
                                peak_rss_mb()))
        if vectors is None:
            vectors = faiss.rev_swig_ptr(flat.get_xb(), flat.ntotal * flat.d).reshape(flat.ntotal, flat.d)
        if not args["hnsw_dims"] or tower["d"] in args["hnsw_dims"]:
            method = faiss_method(faiss, "hnsw", vectors, tower, args)
            recall = hnsw_recall(method.index, flat, tower["queries"])
            rows.append(summary(method, n_items, compare(method, base, args, n_rounds), recall, load_average(),
                                peak_rss_mb()))
            del method
        del vectors, flat
    return list(rows)


def format_rows(rows):
    head = (f"{'items':>8} {'method':<28} {'index MB':>9} {'build s':>8} {'b1 p50 ms':>9} {'b1 p95 ms':>9} "
            f"{'b1 CPU ms':>9} {'p50/Flat':>8} {'batch q/s':>9} {'CPU ms/q':>8} {'q/s/Flat':>8} {'recall':>6} "
            f"{'load':>5} {'RSS MB':>7}  detail")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['items']:>8} {r['method']:<28} {r['index_mb']:>9.1f} {r['build_s']:>8.2f} "
                     f"{r['b1_p50_ms']:>9.3f} {r['b1_p95_ms']:>9.3f} {r['b1_cpu_ms']:>9.3f} {r['p50_ratio']:>8.2f} "
                     f"{r['batch_qps']:>9.0f} {r['batch_cpu_ms']:>8.3f} {r['qps_ratio']:>8.2f} "
                     f"{r['recall_vs_exact']:>6.3f} {r['load']:>5.1f} {r['peak_rss_mb']:>7.0f}  {r['detail']}")
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    import faiss  # pylint: disable=import-outside-toplevel  (benchmark-only dependency, requirements-test.txt)
    if args["faiss_threads"] > 0:
        faiss.omp_set_num_threads(args["faiss_threads"])
    start_wall, start_cpu, load0 = time.perf_counter(), time.process_time(), load_average()
    ctx = prepare(args)
    st = ctx["trained"].stats()
    print(f"trained index ({ctx['data']}): {st['codes']} codes x {st['items']} items, density {st['density']:.4f}; "
          f"queries: {args['n_queries']} ({len(np.unique(ctx['codes']))} distinct codes); two-tower d = "
          f"{[t['d'] for t in ctx['towers']]}; faiss threads {faiss.omp_get_max_threads()}, numpy merge 1 thread; "
          f"load average {load0:.1f} on {os.cpu_count()} CPUs", flush=True)
    rows = []
    for size in args["sizes"]:
        print(flush=True)
        rows.extend(benchmark_size(size, ctx, args, faiss))
    print(f"\nAll sizes (ratios: against {rows[0]['method']} timed in alternating rounds in the same run; b1 = "
          f"single query, batch = {args['batch']} queries per call; CPU = process CPU time per query):")
    print(format_rows(rows))
    total_wall, total_cpu = time.perf_counter() - start_wall, time.process_time() - start_cpu
    print(f"total: wall {total_wall:.1f} s, process CPU {total_cpu:.1f} s, peak RSS {peak_rss_mb():.0f} MB, "
          f"load average {load0:.1f} -> {load_average():.1f}")
    if args["output"]:
        with open(args["output"], "w", encoding="utf-8") as f:
            json.dump({"rows": rows, "options": args, "trained_index": st}, f, indent=1)
    return rows


if __name__ == "__main__":
    main()
