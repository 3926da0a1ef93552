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
"""Query-weighted pruning of the index (config keys index_density, index_prune_alpha; src/index_prune.py)."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import eval as eval_entry
from conftest import MODEL_DIR, run_readme_commands
from src.config import ConfigError, load_config
from src.index import SparseCodeIndex
from src.index_prune import code_query_counts, prune_index


def _index(rng, n_codes=6, n_items=20, density=0.7):
    """A random index over items 1..n_items with positive weights at about `density` of the pairs."""
    dense = rng.random((n_codes, n_items)) * (rng.random((n_codes, n_items)) < density)
    rows, cols = np.nonzero(dense)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n_codes))])
    meta = {"n_items": n_items, "n_indexed_items": n_items, "num_codebooks": 1, "codebook_size": 50,
            "score_bias": 0.0}
    index = SparseCodeIndex(np.arange(0, 3 * n_codes, 3), indptr, cols + 1, dense[rows, cols].astype(np.float32),
                            np.arange(1, n_items + 1), np.zeros((1, 50, 4)), meta)
    return index, dense


def _pairs(index):
    rows = np.repeat(np.arange(len(index.codes)), np.diff(index.indptr))
    return {(int(r), int(i)): float(s) for r, i, s in zip(rows, index.item_ids, index.scores)}


def test_keeps_the_pairs_with_the_largest_weighted_contribution():
    index, dense = _index(np.random.default_rng(0))
    counts = np.array([0, 9, 3, 0, 30, 1])
    pruned = prune_index(index, 0.25, counts, alpha=0.5)
    n_pairs = dense.size
    priority = (counts[:, None] + 1.0) ** 0.5 * dense
    expected = np.argsort(-priority, axis=None)[:round(0.25 * n_pairs)]
    kept = _pairs(pruned)
    assert sorted(kept) == sorted((int(r), int(c) + 1) for r, c in zip(*np.unravel_index(expected, dense.shape)))
    assert pruned.stats()["density"] == pytest.approx(0.25, abs=0.5 / n_pairs)
    full = _pairs(index)
    assert all(full[key] == value for key, value in kept.items())       # weights are kept, not shifted
    assert pruned.meta["pruning"]["rule"] == "query_weighted" and pruned.meta["pruning"]["query_tokens"] == 43
    # a code used by more queries keeps more of its pairs than one that no query used
    lengths = np.diff(pruned.indptr)
    assert lengths[4] > lengths[0] and lengths[4] > lengths[3]


def test_alpha_zero_is_one_global_cut_and_a_high_target_keeps_everything():
    index, dense = _index(np.random.default_rng(1))
    pruned = prune_index(index, 0.1, np.arange(6) * 10, alpha=0.0)
    threshold = np.sort(dense, axis=None)[::-1][round(0.1 * dense.size) - 1]
    assert set(_pairs(pruned)) == {(int(r), int(c) + 1) for r, c in zip(*np.nonzero(dense >= threshold))}
    same = prune_index(index, 1.0, np.zeros(6), alpha=0.5)
    assert _pairs(same) == _pairs(index) and same.meta["pruning"]["threshold"] == 0.0


def test_bad_settings_and_a_second_pruning_are_refused():
    index, _ = _index(np.random.default_rng(2))
    with pytest.raises(ValueError, match="index_density"):
        prune_index(index, 0.0, np.zeros(6), 0.5)
    with pytest.raises(ValueError, match="index_prune_alpha"):
        prune_index(index, 0.1, np.zeros(6), -1.0)
    with pytest.raises(ValueError, match="one count per index row"):
        prune_index(index, 0.1, np.zeros(5), 0.5)
    with pytest.raises(ValueError, match="already pruned"):
        prune_index(prune_index(index, 0.5, np.zeros(6), 0.5), 0.1, np.zeros(6), 0.5)
    for key, value in (("index_density", "1.5"), ("index_prune_alpha", "-0.5")):
        with pytest.raises(ConfigError, match=key):
            load_config(os.path.join(MODEL_DIR, "configs", "synthetic_tiny.yaml"), [f"--{key}={value}"])
    with pytest.raises(ConfigError, match="index_density"):
        load_config(os.path.join(MODEL_DIR, "configs", "synthetic_tiny.yaml"),
                    ["--model=two_tower", "--index_density=0.1"])


def test_query_counts_ignore_codes_outside_the_index():
    counts = code_query_counts(np.array([2, 5, 9]), np.array([[5, 5, 1], [9, 12, 2]]))
    assert counts.tolist() == [1, 2, 1]


class _Rows:
    """Rows of fixed weights for new codes (the interface of src/index._RowBuilder.rows)."""

    def rows(self, codes, progress):
        weights = np.array([0.05, 0.5, 0.9, 0.2], np.float32)
        n = len(codes)
        return (np.arange(0, 4 * n + 1, 4), np.tile(np.array([1, 2, 3, 4]), n), np.tile(weights, n))


def test_rows_added_on_the_fly_keep_the_pairs_of_an_unused_code():
    index, _ = _index(np.random.default_rng(3))
    pruned = prune_index(index, 0.3, np.array([5, 0, 0, 8, 1, 2]), alpha=1.0)
    pruned.attach_row_builder(_Rows())
    threshold = pruned.meta["pruning"]["threshold"]
    pruned.add_codes(np.array([100, 101]))
    for code in (100, 101):
        row = int(np.nonzero(pruned.codes == code)[0][0])
        start, end = pruned.indptr[row], pruned.indptr[row + 1]
        expected = [i for i, w in zip((1, 2, 3, 4), (0.05, 0.5, 0.9, 0.2)) if w >= threshold]
        assert pruned.item_ids[start:end].tolist() == expected


def test_saved_with_its_settings_reused_only_for_the_same_settings(tiny_sparcode_run, tmp_path, capsys):
    """eval.py --index_density prunes the run's index, saves it with its settings, reuses it for the same settings
    and rebuilds it for others; the pruned index keeps at most the target share (+ ties) and evaluates."""
    run = tmp_path / "run"
    shutil.copytree(tiny_sparcode_run["ckpt_dir"], run)
    argv = [f"--ckpt_path={run}", "--index_density=0.1"]
    first = eval_entry.main(argv)
    assert first["index_rebuilt"] and first["index"]["pruning"]["target_density"] == 0.1
    assert 0.09 <= first["index"]["density"] <= 0.11
    saved = SparseCodeIndex.load(run / "index.npz")
    assert saved.meta["pruning"]["alpha"] == 0.5 and saved.meta["model_digest"]
    again = eval_entry.main(argv)
    assert not again["index_rebuilt"] and again["metrics"] == first["metrics"]
    capsys.readouterr()
    other = eval_entry.main(argv + ["--index_prune_alpha=0"])
    assert other["index_rebuilt"] and "was pruned with" in capsys.readouterr().out
    full = eval_entry.main([f"--ckpt_path={run}"])      # the run's own config: no pruning
    assert full["index_rebuilt"] and full["index"]["pruning"] is None and full["index"]["density"] > 0.1


def test_density_curve_command_with_query_weighted_pruning(tiny_sparcode_run, tmp_path):
    """scripts/density_curve.py --rule=query_weighted as a user runs it: one row per density at the model's b,
    each at its target density, the saved index untouched."""
    run = tmp_path / "run"
    shutil.copytree(tiny_sparcode_run["ckpt_dir"], run)
    before = (run / "index.npz").read_bytes() if (run / "index.npz").exists() else None
    out = tmp_path / "curve" / "qw"
    proc = subprocess.run([sys.executable, "scripts/density_curve.py", f"--ckpt_path={run}", f"--out={out}",
                           "--rule=query_weighted", "--alpha=1", "--densities=0.5,0.2,0.05", "--threads=1"],
                          cwd=MODEL_DIR, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    with open(f"{out}.json", encoding="utf-8") as f:
        curve = json.load(f)
    assert curve["rule"] == "query_weighted"
    densities = [row["density"] for row in curve["rows"]]
    assert densities == sorted(densities, reverse=True)
    for row in curve["rows"]:
        assert row["alpha"] == 1.0 and row["score_bias"] == pytest.approx(-0.5)
        assert row["density"] == pytest.approx(row["target_density"], abs=0.02) or row["target_density"] == 0.5
    assert before is None or (run / "index.npz").read_bytes() == before
    bad = subprocess.run([sys.executable, "scripts/density_curve.py", f"--ckpt_path={run}", f"--out={out}",
                          "--rule=query_weighted", "--from_index"],
                         cwd=MODEL_DIR, capture_output=True, text=True, timeout=600, check=False)
    assert bad.returncode == 2 and "--from_index" in bad.stderr


HISTORY_INDEX_E6_PRUNING_COMMANDS = (
    "python scripts/movielens_experiments.py --plan=history_index_e6 --data_path=/path/to/ml-100k "
    "--out=./results/ml100k_fast --threads=1",
    "python scripts/density_curve.py --ckpt_path=./results/ml100k_fast/ckpt/fa_hist_idx_e6-seed0 "
    "--rule=query_weighted --alpha=0.5 --eval_split=valid --out=docs/ml100k_hist_idx_e6_qw_density_valid --threads=1",
    "python scripts/density_curve.py --ckpt_path=./results/ml100k_fast/ckpt/fa_hist_idx_e6-seed0 "
    "--rule=query_weighted --alpha=0.5 --out=docs/ml100k_hist_idx_e6_qw_density "
    "--reference=\"two-tower d=128, 50 negatives, 6 epochs (3 seeds):0.3445\" --threads=1",
)


def test_readme_ml100k_pruning_commands_on_a_small_ml100k_folder(tmp_path):
    """The README's ML-100K pruning commands exactly as written (only /path/to/ml-100k replaced), in a copy of the
    model folder on a 50-user ML-100K folder: the 6-epoch item-id plan trains its 3 seeds, and the query-weighted
    curves (valid and test) reach every density at the model's b and draw the PNG."""
    import csv  # pylint: disable=import-outside-toplevel
    model_dir, _ = run_readme_commands(HISTORY_INDEX_E6_PRUNING_COMMANDS, tmp_path, timeout=900)
    with open(model_dir / "results" / "ml100k_fast" / "results.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert sorted((row["run"], int(row["seed"])) for row in rows if row["run"].startswith("fa_")) == \
        [("fa_hist_idx_e6", seed) for seed in (0, 1, 2)]
    assert all(int(row["epochs_run"]) == 6 for row in rows if row["run"].startswith("fa_"))
    for split in ("_valid", ""):
        with open(model_dir / "docs" / f"ml100k_hist_idx_e6_qw_density{split}.json", encoding="utf-8") as f:
            curve = json.load(f)
        assert curve["rule"] == "query_weighted" and curve["split"] == ("valid" if split else "test")
        by_target = {r["target_density"]: r for r in curve["rows"]}
        assert sorted(by_target) == [0.01, 0.02, 0.05, 0.1, 0.2, 1.0]
        dense = by_target[1.0]["density"]
        for target, row in by_target.items():
            assert row["score_bias"] == 0.0 and row["alpha"] == 0.5
            assert row["density"] == pytest.approx(min(target, dense), abs=0.01), (target, row)
        assert (model_dir / "docs" / f"ml100k_hist_idx_e6_qw_density{split}.png").stat().st_size > 0
