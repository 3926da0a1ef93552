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
"""benchmark.py: the README's --quick command on two tiny trained runs; the synthetic catalogue it serves keeps
the trained index's per-code list fractions; bad options name the option."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import benchmark
from src.index import SparseCodeIndex

MODEL_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_quick_benchmark_command(tiny_sparcode_run, tiny_two_tower_run, tmp_path):
    # README: python benchmark.py --sparcode_dir=<run> --two_tower_dirs=<run>,<run> --quick
    out = tmp_path / "bench.json"
    cmd = [sys.executable, "benchmark.py", f"--sparcode_dir={tiny_sparcode_run['ckpt_dir']}",
           f"--two_tower_dirs={tiny_two_tower_run['ckpt_dir']},{tiny_two_tower_run['ckpt_dir']}", "--quick",
           f"--output={out}"]
    proc = subprocess.run(cmd, cwd=MODEL_DIR, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "SparCode merge rho=0.05" in proc.stdout and "faiss HNSW" in proc.stdout
    rows = json.loads(out.read_text())["rows"]
    assert {r["items"] for r in rows} == {1000, 3000}
    for r in rows:
        assert r["b1_p50_ms"] > 0 and r["batch_qps"] > 0 and r["b1_cpu_ms"] >= 0 and r["peak_rss_mb"] > 0
        assert 0 <= r["recall_vs_exact"] <= 1 and r["p50_ratio"] > 0 and r["qps_ratio"] > 0
    sc_rows = [r for r in rows if r["method"].startswith("SparCode")]
    assert len(sc_rows) == 4 and all(r["index_mb"] > 0 for r in sc_rows)


def test_synthetic_index_keeps_list_fractions(tiny_sparcode_run):
    trained = SparseCodeIndex.load(os.path.join(tiny_sparcode_run["ckpt_dir"], "index.npz"))
    codes = trained.codes[:6].reshape(2, 3)
    rng = np.random.default_rng(0)
    n_items = 40000
    trained_rows = trained.rows_of(np.unique(codes))
    want = (trained.indptr[trained_rows + 1] - trained.indptr[trained_rows]) / len(trained.items)
    index, delta = benchmark.synthetic_index(trained, codes, n_items, want.mean(), rng)   # the trained density
    assert delta == 0.0
    got = np.diff(index.indptr) / n_items
    np.testing.assert_allclose(got, want, atol=0.02)                 # list length as a catalogue fraction
    lower, _ = benchmark.synthetic_index(trained, codes, n_items, want.mean() / 4, rng)
    assert lower.stats()["nnz"] < index.stats()["nnz"] / 2
    assert (lower.scores > 0).all()
    for r in range(len(lower.codes)):                                 # ids ascending within every list
        assert np.all(np.diff(lower.item_ids[lower.indptr[r]:lower.indptr[r + 1]]) > 0)
    with pytest.raises(ValueError, match="above the trained index's density"):
        benchmark.synthetic_index(trained, codes, 100, 1.0, rng)


def test_bad_options_name_the_option():
    with pytest.raises(ValueError, match="unknown option"):
        benchmark.parse_args(["--sparcode_dir=a", "--two_tower_dirs=b", "--size=10"])
    with pytest.raises(ValueError, match="--densities"):
        benchmark.parse_args(["--sparcode_dir=a", "--two_tower_dirs=b", "--densities=0.05,2"])
    with pytest.raises(ValueError, match="--two_tower_dirs"):
        benchmark.parse_args(["--sparcode_dir=a"])
    with pytest.raises(ValueError, match="--n_queries"):
        benchmark.parse_args(["--sparcode_dir=a", "--two_tower_dirs=b", "--batch=512"])
    assert benchmark.parse_args(["--sparcode_dir=a", "--two_tower_dirs=b,c", "--quick"])["sizes"] == [1000, 3000]
