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
"""benchmark_train.py as the README runs it: the table, the JSON, and the analytic FLOP count."""
import json
import os
import subprocess
import sys

import pytest

from model_helpers import MODEL_DIR, build, tiny_config


def run_benchmark(*args, tmpdir=None):
    env = dict(os.environ, TMPDIR=str(tmpdir)) if tmpdir else None
    proc = subprocess.run([sys.executable, "benchmark_train.py", *args], cwd=MODEL_DIR, capture_output=True,
                          text=True, timeout=1800, check=False, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def check_table(out, models):
    assert "| model | samples/s | s/epoch (train) |" in out
    assert "fp32 matmul peak" in out and "load average" in out
    for name in models:
        row = [line for line in out.splitlines() if line.startswith(f"| {name} |")]
        assert len(row) == 1, out
        cells = [c.strip() for c in row[0].strip("|").split("|")]
        assert float(cells[1]) > 0                      # samples/s
        assert float(cells[9]) > 0                      # MFLOP/sample


def test_readme_synthetic_command(tmp_path):
    output = tmp_path / "bench.json"
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    out = run_benchmark("--config_path=configs/synthetic_tiny.yaml", f"--output={output}", tmpdir=tmpdir)
    # each worker's temporary run folder is removed (it used to stay behind as an empty benchmark_train_* folder)
    assert not [p.name for p in tmpdir.iterdir() if p.name.startswith("benchmark_train_")]
    check_table(out, ["sparcode", "two_tower"])
    rows = json.loads(output.read_text())["rows"]
    assert [r["model"] for r in rows] == ["sparcode", "two_tower"]
    for r in rows:
        assert r["steps"] == r["train_examples"] // r["batch_size"]
        assert 0 < r["train_cpu_s"] and 0 < r["train_s"] and r["peak_rss_mb"] > 0


def test_readme_ml100k_command(shared_data_dir):
    data_path = os.path.join(shared_data_dir, "movielens", "ml-100k")
    if not os.path.isfile(os.path.join(data_path, "u.data")):
        pytest.skip("MovieLens-100K not in the shared data folder")
    out = run_benchmark("--config_path=configs/ml100k.yaml", f"--data_path={data_path}", "--models=sparcode")
    check_table(out, ["sparcode"])
    assert "ml-100k" in out


def test_missing_movielens_data_falls_back_to_synthetic(tmp_path):
    out = run_benchmark("--config_path=configs/ml100k.yaml", f"--data_path={tmp_path / 'absent'}",
                        "--models=two_tower", "--preset=tiny", "--epochs=1")
    assert "benchmarking the synthetic preset" in out
    check_table(out, ["two_tower"])


def test_flop_count_by_hand():
    """Tiny SparCode: D=16, d_t=8, K_u=3, K_i=2, g 16-16, 4 negatives (C=5), L=6, item fields 2 (feature 48)."""
    from benchmark_train import train_flops_per_sample
    cfg = tiny_config()
    model = build(cfg)
    item_heads = 5 * 48 * 16                                    # C items x feature_dim x K_i d_t
    query = 6 * 48 * 16 + (16 + 2 * 16) * 16 + 16 * 16 + 16 * 16 + 16 * 24   # in_proj, MLP, heads
    g = 3 * 8 * 16 + 5 * 16 * 16 + 15 * (16 * 16 + 16)          # query part, item part, tail on K_u x C pairs
    quantizer = 3 * 3 * 4 * 8
    assert train_flops_per_sample(model, cfg) == 2 * (3 * (item_heads + query + g) + quantizer)
