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
"""Cost of the posting merge against the number of query tokens K_u and the index density, with faiss IndexFlatIP
as the flat-scan reference, on random indexes (no model): every code's list holds each of the N items with
probability rho (weights Gamma-distributed), a query is K_u distinct random codes, top-50.

    python scripts/merge_cost.py --n_items=1000000 --settings=4:0.05,20:0.05,20:0.02,20:0.01

Prints one row per setting: single-query p50 wall and CPU ms per query (1 thread), entries merged per query, and the
ratio of the p50 and of the CPU time to faiss IndexFlatIP (d = --dim, the same N, single queries) measured in the
same process. Why: a history tokenizer has K_u = history_len tokens, and the merge touches K_u x rho x N postings.
"""
import argparse
import os
import sys
import time

import numpy as np

MODEL_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if MODEL_DIR not in sys.path:
    sys.path.insert(0, MODEL_DIR)
from src.index import SparseCodeIndex  # noqa: E402  (needs MODEL_DIR on sys.path)


def random_index(rng, n_items, n_codes, density):
    ids = [np.nonzero(rng.random(n_items) < density)[0] + 1 for _ in range(n_codes)]
    lengths = np.array([len(i) for i in ids])
    scores = rng.gamma(0.7, 0.05, lengths.sum()).astype(np.float32) + np.float32(1e-6)
    meta = {"n_items": n_items, "num_codebooks": 1, "codebook_size": n_codes}
    return SparseCodeIndex(np.arange(n_codes), np.concatenate([[0], np.cumsum(lengths)]), np.concatenate(ids),
                           scores, np.arange(1, n_items + 1), np.zeros((1, n_codes, 2), np.float32), meta)


def time_single(search, queries):
    """p50 wall ms and mean process CPU ms of single-query calls."""
    walls = []
    cpu0 = time.process_time()
    for q in queries:
        t0 = time.perf_counter()
        search(q)
        walls.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(walls)), 1e3 * (time.process_time() - cpu0) / len(queries)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--n_items", type=int, default=1000000)
    parser.add_argument("--settings", default="4:0.05,20:0.05,20:0.02,20:0.01", help="K_u:density,...")
    parser.add_argument("--n_codes", type=int, default=64, help="codes of the random index")
    parser.add_argument("--n_queries", type=int, default=100)
    parser.add_argument("--dim", type=int, default=64, help="two-tower dimension of the flat-scan reference")
    parser.add_argument("--k", type=int, default=50)
    args = parser.parse_args(argv)
    try:
        settings = [(int(a), float(b)) for a, b in (s.split(":") for s in args.settings.split(","))]
    except ValueError:
        parser.error(f"--settings: expected K_u:density,..., got {args.settings!r}")
    if any(k_u > args.n_codes or not 0 < rho <= 1 for k_u, rho in settings):
        parser.error(f"--settings: K_u must be <= --n_codes ({args.n_codes}) and density in (0, 1]")
    import faiss  # pylint: disable=import-outside-toplevel
    faiss.omp_set_num_threads(1)
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((args.n_items, args.dim)).astype(np.float32)
    flat = faiss.IndexFlatIP(args.dim)
    flat.add(vectors)
    tower_queries = rng.standard_normal((args.n_queries, 1, args.dim)).astype(np.float32)
    flat_p50, flat_cpu = time_single(lambda q: flat.search(q, args.k), tower_queries)
    print(f"N = {args.n_items}, {args.n_queries} single queries, top-{args.k}, 1 thread, load "
          f"{os.getloadavg()[0]:.1f}")
    print(f"{'method':<34}{'entries/query':>14}{'p50 ms':>9}{'CPU ms/q':>10}{'p50/Flat':>10}{'CPU/Flat':>10}")
    print(f"{f'faiss IndexFlatIP d={args.dim}':<34}{args.n_items:>14}{flat_p50:>9.2f}{flat_cpu:>10.2f}"
          f"{1.0:>10.2f}{1.0:>10.2f}")
    indexes = {}
    for k_u, rho in settings:
        if rho not in indexes:
            indexes[rho] = random_index(rng, args.n_items, args.n_codes, rho)
        index = indexes[rho]
        queries = np.stack([rng.choice(args.n_codes, k_u, replace=False) for _ in range(args.n_queries)])
        p50, cpu = time_single(lambda q, index=index: index.search(q[None], args.k), queries)
        entries = int(np.mean([np.diff(index.indptr)[q].sum() for q in queries]))
        print(f"{f'merge K_u={k_u} density={rho:g}':<34}{entries:>14}{p50:>9.2f}{cpu:>10.2f}"
              f"{p50 / flat_p50:>10.2f}{cpu / flat_cpu:>10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
