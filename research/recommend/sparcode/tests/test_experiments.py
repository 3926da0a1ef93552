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
"""scripts/movielens_experiments.py (real-data smoke plan, tables) and scripts/density_curve.py (tiny run)."""
import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import MODEL_DIR, run_readme_commands

sys.path.insert(0, os.path.join(MODEL_DIR, "scripts"))
import density_curve  # noqa: E402  pylint: disable=wrong-import-position
import movielens_experiments as experiments  # noqa: E402  pylint: disable=wrong-import-position


def test_smoke_plan_on_real_ml100k(shared_data_dir, tmp_path):
    """The command of the README's experiment section (with --threads=1), with the smoke plan (1 short two-tower
    epoch, < 1 min)."""
    data_path = os.path.join(shared_data_dir, "movielens", "ml-100k")
    if not os.path.isdir(data_path):
        pytest.skip(f"{data_path} not present")
    out = tmp_path / "smoke"
    proc = subprocess.run([sys.executable, "scripts/movielens_experiments.py", "--plan=smoke",
                           f"--data_path={data_path}", f"--out={out}", "--threads=1"], cwd=MODEL_DIR,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(out / "results.csv", encoding="utf-8") as f:
        rows = {row["run"]: row for row in csv.DictReader(f)}
    assert set(rows) == {"smoke_tt", "popularity_pu"}
    assert int(rows["smoke_tt"]["test_users"]) == 943 == int(rows["popularity_pu"]["test_users"])
    for row in rows.values():
        assert 0.0 < float(row["test_recall@50"]) < 1.0 and 0.0 < float(row["valid_ndcg@50"]) < 1.0
    assert "| smoke_tt | 1 |" in (out / "results.md").read_text()
    again = subprocess.run([sys.executable, "scripts/movielens_experiments.py", "--plan=smoke",
                            f"--data_path={data_path}", f"--out={out}"], cwd=MODEL_DIR, capture_output=True,
                           text=True, timeout=300, check=False)
    assert again.returncode == 0 and "running" not in again.stdout  # finished runs are not repeated


def test_tables_mean_and_std(tmp_path):
    rows = [{"run": "a", "seed": s, "test_recall@50": v, "valid_recall@50": v, "test_recall@20": v,
             "test_ndcg@50": v, "epochs_run": 3, "best_epoch": 2} for s, v in enumerate((0.2, 0.3, 0.4))]
    experiments.write_tables(str(tmp_path), rows)
    text = (tmp_path / "results.md").read_text()
    assert f"| a | 3 | 0.3000 ± {np.std([0.2, 0.3, 0.4], ddof=1):.4f} |" in text
    with open(tmp_path / "results.csv", encoding="utf-8") as f:
        assert len(list(csv.DictReader(f))) == 3


def test_cli_errors(tmp_path):
    with pytest.raises(SystemExit):
        experiments.main(["--plan=nope", f"--data_path={tmp_path}"])
    with pytest.raises(SystemExit):
        experiments.main(["--plan=smoke", f"--data_path={tmp_path / 'missing'}"])
    with pytest.raises(SystemExit):
        experiments.main(["--plan=smoke", f"--data_path={tmp_path}", "--only=not_a_run"])
    with pytest.raises(SystemExit):
        density_curve.main(["--ckpt_path=x", "--out=y", "--densities=0.5,2"])


def test_density_curve_on_tiny_run(tiny_sparcode_run, tmp_path):
    out = str(tmp_path / "curve")
    assert density_curve.main([f"--ckpt_path={tiny_sparcode_run['ckpt_dir']}", f"--out={out}",
                               "--densities=1.0,0.2,0.05", "--reference=two-tower:0.3"]) == 0
    with open(out + ".json", encoding="utf-8") as f:
        rows = json.load(f)["rows"]
    dens = [r["density"] for r in rows]
    assert dens[0] > 0.99 or rows[0]["score_bias"] == 0.0  # density 1.0 may need b > 0: evaluated at b = 0
    assert dens[0] >= dens[1] - 0.02 and abs(dens[1] - 0.2) < 0.02 and abs(dens[2] - 0.05) < 0.01
    assert all(r["score_bias"] <= 0 for r in rows) and rows[0]["nnz"] > rows[2]["nnz"]
    with Image.open(out + ".png") as img:
        assert img.size == (760, 480)
    assert "| 0.05 |" in open(out + ".md", encoding="utf-8").read()


def write_partial_ml1m(folder, n_users=40, n_items=110, per_user=40, name="ratings.part.dat"):
    """An ML-1M folder in the original `::` formats whose ratings file has a non-default name (no ratings.dat);
    gzip-compressed when the name ends in .gz."""
    import gzip  # pylint: disable=import-outside-toplevel
    rng = np.random.default_rng(0)
    folder.mkdir()
    (folder / "users.dat").write_text("".join(f"{u}::{'FM'[u % 2]}::25::{u % 21}::00000\n"
                                              for u in range(1, n_users + 1)))
    (folder / "movies.dat").write_text("".join(f"{i}::Movie {i} ({1980 + i})::Drama|Comedy\n"
                                               for i in range(1, n_items + 1)), encoding="latin-1")
    lines = [f"{u}::{i}::4::{978300000 + 60 * k}\n" for u in range(1, n_users + 1)
             for k, i in enumerate(rng.choice(np.arange(1, n_items + 1), size=per_user, replace=False))]
    if name.endswith(".gz"):
        with gzip.open(folder / name, "wt") as f:
            f.write("".join(lines))
    else:
        (folder / name).write_text("".join(lines))
    return str(folder)


def test_ratings_file_reaches_popularity_and_cli(tmp_path):
    """--ratings_file is a data override of every run and of popularity (which otherwise reads the config's
    ratings.dat: the partial ML-1M file of ../shared/data could not be used by an ML-1M plan)."""
    from src.data.dataset import DataError
    folder = write_partial_ml1m(tmp_path / "ml-1m")
    row = experiments.popularity_rows(experiments.ML1M, folder, "per_user_time", "ratings.part.dat")
    assert row["test_users"] == row["valid_users"] == 40 and 0.0 < row["test_recall@50"] <= 1.0
    assert json.loads(row["overrides"]) == {"split_protocol": "per_user_time", "ratings_file": "ratings.part.dat"}
    with pytest.raises(DataError, match="ratings.dat"):
        experiments.popularity_rows(experiments.ML1M, folder, "per_user_time")
    with pytest.raises(SystemExit):
        experiments.main(["--plan=ml1m_sparcode", f"--data_path={folder}", "--ratings_file=missing.dat"])


def test_ml1m_plans_share_one_budget():
    """SparCode and every two-tower of the ML-1M plans get the same examples per user, epochs and early stopping."""
    runs = experiments.PLANS["ml1m_two_tower_grid"] + experiments.PLANS["ml1m_sparcode"]
    budget_keys = ("max_examples_per_user", "epochs", "early_stop_patience", "split_protocol")
    budgets = {tuple(overrides[key] for key in budget_keys) for _, _, overrides, _ in runs}
    assert len(budgets) == 1 and all(config == experiments.ML1M for _, config, _, _ in runs)
    assert {overrides.get("model", "sparcode") for _, _, overrides, _ in runs} == {"sparcode", "two_tower"}


def test_density_curve_from_saved_index_equals_a_rebuild(tiny_sparcode_run):
    """--from_index (lower densities derived from the saved index, no g evaluation) keeps exactly the target
    fraction of the index's (code, item) pairs and equals an index rebuilt by scoring g at that bias."""
    from src.context import set_context
    from src.data.dataset import build_data
    from src.index import SparseCodeIndex
    from src.index_build import load_or_build_index
    from src.run_files import load_run_config, load_trained_model, resolve_checkpoint
    cfg = load_run_config([f"--ckpt_path={tiny_sparcode_run['ckpt_dir']}", "--eval_split=test"])
    set_context(cfg)
    data = build_data(cfg)
    model = load_trained_model(cfg, data, resolve_checkpoint(cfg))
    saved, _, _ = load_or_build_index(model, data, cfg)
    derived, bias = density_curve.lower_density_index(saved, 0.05)
    assert bias < 0 and abs(derived.stats()["density"] - 0.05) < 1e-3
    model.set_score_bias(bias)
    rebuilt = SparseCodeIndex.build(model, cfg, saved.items, saved.codes, progress=False)
    assert abs(rebuilt.stats()["nnz"] - derived.stats()["nnz"]) <= 2
    codes = saved.codes[:20].reshape(-1, 2) if len(saved.codes) >= 20 else saved.codes[:, None]
    ids_a, scores_a = derived.search(codes, 5)
    ids_b, scores_b = rebuilt.search(codes, 5)
    np.testing.assert_allclose(scores_a, scores_b, atol=1e-4)
    with pytest.raises(ValueError, match="not below"):
        density_curve.lower_density_index(saved, 1.0)


def test_plans_use_existing_keys_and_placeholders():
    """Every override of every plan is a config key with a valid value (a typo would fail only after an hour)."""
    from src.config import load_config
    for plan, runs in experiments.PLANS.items():
        for run, config, overrides, _ in runs:
            values = experiments.run_overrides(overrides, "/tmp/out", 2)
            assert not any("{" in str(v) for v in values.values()), (plan, run)
            load_config(os.path.join(MODEL_DIR, config), values)
    warm = dict(experiments.PLANS["fast_ablation"][0][2], **experiments.FAST_GRID["warm_tt"])
    assert experiments.run_overrides(warm, "/o", 1)["init_ckpt"] == "/o/ckpt/fa_tt_d64-seed1/best.ckpt"
    with pytest.raises(SystemExit):
        experiments.main(["--plan=smoke", "--data_path=.", "--threads=-1"])


def test_loss_columns_of_best_epoch():
    history = [{"epoch": 0, "softmax_loss": 2.0, "commit_loss": 0.01, "codebook_perplexity": [3.0, 4.5]},
               {"epoch": 1, "softmax_loss": 1.5, "commit_loss": 0.02, "codebook_perplexity": [5.0, 6.25]}]
    assert experiments.loss_columns(history, 0) == {"softmax_loss": 2.0, "commit_loss": 0.01,
                                                    "codebook_perplexity": "3.0/4.5"}
    assert experiments.loss_columns([{"epoch": 0, "softmax_loss": 1.0, "commit_loss": 0.0}], 0) == {
        "softmax_loss": 1.0, "commit_loss": 0.0}


def test_density_curve_accepts_the_deprecated_ckpt_dir_flag(tmp_path):
    """--ckpt_dir (the old name of --ckpt_path) still selects the run, with a warning naming the new flag."""
    with pytest.warns(FutureWarning, match="--ckpt_dir is deprecated .*use --ckpt_path"), \
            pytest.raises(FileNotFoundError, match=f"no saved config {tmp_path}"):
        density_curve.main([f"--ckpt_dir={tmp_path}", f"--out={tmp_path / 'curve'}"])
    with pytest.raises(SystemExit):
        density_curve.main([f"--ckpt_dir={tmp_path}", f"--ckpt_path={tmp_path}", f"--out={tmp_path / 'curve'}"])


def test_readme_experiment_commands_name_existing_plans():
    """Every movielens_experiments.py command of the READMEs names a plan of the script, and every --only run is in
    it (the long plans themselves are not run here; the smoke plan test runs the same command line)."""
    import shlex
    for readme in ("README.md", "README_CN.md"):
        with open(os.path.join(MODEL_DIR, readme), encoding="utf-8") as f:
            lines = [line.split("#")[0].strip() for line in f
                     if line.startswith("python scripts/movielens_experiments.py")]
        assert any("--plan=ceiling_final" in line for line in lines), readme
        for line in lines:
            args = dict(arg[2:].split("=", 1) for arg in shlex.split(line)[2:] if "=" in arg)
            assert args["plan"] == "list" or args["plan"] in experiments.PLANS, (readme, line)
            runs = {run for run, *_ in experiments.PLANS.get(args["plan"], [])}
            assert set(filter(None, args.get("only", "").split(","))) <= runs, (readme, line)


def test_ease_closed_form_is_the_zero_diagonal_ridge_regression():
    """B of ease_weights: column j is the ridge regression of item j's column on the other items (diag B = 0);
    sparsify_rows keeps each row's largest positive weights."""
    from types import SimpleNamespace
    rng = np.random.default_rng(0)
    n_users, n_items, lam = 30, 8, 2.0
    x = (rng.random((n_users, n_items)) < 0.4).astype(np.float64)
    users, items = np.nonzero(x)
    data = SimpleNamespace(n_users=n_users, n_items=n_items, user_pos_items=(items + 1).astype(np.int32),
                           user_pos_indptr=np.concatenate([[0], np.cumsum(np.bincount(users, minlength=n_users))]))
    b = experiments.ease_weights(data, lam)
    assert b.shape == (n_items + 1, n_items + 1) and not b[0].any() and not b[:, 0].any()
    for j in range(n_items):
        others = [i for i in range(n_items) if i != j]
        xo = x[:, others]
        ridge = np.linalg.solve(xo.T @ xo + lam * np.eye(n_items - 1), xo.T @ x[:, j])
        np.testing.assert_allclose(b[1:, 1:][others, j], ridge, rtol=1e-6, atol=1e-9)
        assert b[j + 1, j + 1] == 0.0
    sparse = experiments.sparsify_rows(b, 0.25)                     # round(0.25 * 8) = 2 per row
    assert ((sparse != 0).sum(1) <= 2).all() and (sparse >= 0).all()
    for row in range(1, n_items + 1):
        top = np.sort(b[row])[-2:]
        np.testing.assert_allclose(np.sort(sparse[row][sparse[row] != 0]), top[top > 0])


def test_ease_reference_plan_on_real_ml100k(shared_data_dir, tmp_path):
    """The README's EASE reference command (numbers of its third-round table) on the real ML-100K files."""
    data_path = os.path.join(shared_data_dir, "movielens", "ml-100k")
    if not os.path.isdir(data_path):
        pytest.skip(f"{data_path} not present")
    out = tmp_path / "ease"
    proc = subprocess.run([sys.executable, "scripts/movielens_experiments.py", "--plan=ease_reference",
                           f"--data_path={data_path}", f"--out={out}"], cwd=MODEL_DIR,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(out / "results.csv", encoding="utf-8") as f:
        rows = {row["run"]: row for row in csv.DictReader(f)}
    assert set(rows) == {"popularity_pu", "ease_pu_l200", "ease_pu_l200_d0.05", "ease_pu_l200_d0.02",
                         "ease_pu_l200_d0.01"}
    expected = {"ease_pu_l200": (0.3800, 0.2113), "ease_pu_l200_d0.05": (0.3667, 0.2066),
                "ease_pu_l200_d0.02": (0.3616, 0.2033), "ease_pu_l200_d0.01": (0.3411, 0.1953)}
    for run, (recall, ndcg) in expected.items():
        assert int(rows[run]["test_users"]) == 943
        assert float(rows[run]["test_recall@50"]) == pytest.approx(recall, abs=2e-4), run
        assert float(rows[run]["test_ndcg@50"]) == pytest.approx(ndcg, abs=2e-4), run
    assert float(rows["ease_pu_l200_d0.05"]["index_density"]) <= 0.05


def test_full_data_plan_is_the_fast_budget_without_the_cap():
    """full_data trains the fast grid's best two-tower and the item-id model with the fast budget's settings, except
    that every train cut point is used (max_examples_per_user 0 = no cap); the item-id model at the fast lr (seed 0,
    it diverges) and at lr 3e-4 (seeds 0, 1, 2)."""
    runs = {run: (overrides, seeds) for run, _, overrides, seeds in experiments.PLANS["full_data"]}
    assert sorted(runs) == ["fd_hist_idx", "fd_hist_idx_lr3e-4", "fd_tt_d128_neg50_lr3e-3"]
    fast = {run: overrides for run, _, overrides, _ in experiments.PLANS["fast_ablation"] + experiments.PLANS[
        "history_index"]}
    for run in ("fd_tt_d128_neg50_lr3e-3", "fd_hist_idx"):
        overrides = runs[run][0]
        assert overrides["max_examples_per_user"] == 0
        assert dict(overrides, max_examples_per_user=20) == fast["fa_" + run[len("fd_"):]], run
    assert runs["fd_hist_idx_lr3e-4"][0] == dict(runs["fd_hist_idx"][0], lr=0.0003)
    assert [tuple(runs[run][1]) for run in sorted(runs)] == [(0,), (0, 1, 2), (0, 1, 2)]


# The README's commands of the full-data budget (issue 9, sixth round).
FULL_DATA_COMMANDS = (
    "python scripts/movielens_experiments.py --plan=full_data --data_path=/path/to/ml-100k "
    "--out=./results/ml100k_full --threads=1",
    "python scripts/density_curve.py --ckpt_path=./results/ml100k_full/ckpt/fd_hist_idx_lr3e-4-seed0 "
    "--densities=1.0,0.05,0.02 --out=./results/ml100k_full/dens/fd_hist_idx_lr3e-4-seed0 --threads=1",
    "python scripts/density_curve.py --ckpt_path=./results/ml100k_full/ckpt/fd_hist_idx_lr3e-4-seed0 "
    "--eval_split=valid --densities=1.0,0.05,0.02 --out=./results/ml100k_full/dens/fd_hist_idx_lr3e-4-seed0-valid "
    "--threads=1",
)


def test_readme_full_data_commands_on_a_small_ml100k_folder(tmp_path):
    """The README's full-data commands exactly as written (only /path/to/ml-100k replaced), in a copy of the model
    folder, on a 50-user ML-100K folder in the original format: the plan trains its 7 runs on every cut point and
    the item-id model's density curves reach 0.05 and 0.02 on both splits (or the density of b = 0 when lower)."""
    model_dir, data_path = run_readme_commands(FULL_DATA_COMMANDS, tmp_path, timeout=1200)
    out = model_dir / "results" / "ml100k_full"
    with open(out / "results.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    trained = sorted((row["run"], int(row["seed"])) for row in rows if row["run"].startswith("fd_"))
    assert trained == [("fd_hist_idx", 0)] + [(run, seed) for run in ("fd_hist_idx_lr3e-4", "fd_tt_d128_neg50_lr3e-3")
                                              for seed in (0, 1, 2)]
    for row in rows:
        if row["run"].startswith("fd_"):
            assert json.loads(row["overrides"])["max_examples_per_user"] == 0 and int(row["test_users"]) == 50
    # every cut point: the runs train on as many examples as the uncapped split has, more than a cap of 20 keeps
    from src.config import load_config  # pylint: disable=import-outside-toplevel
    from src.data.dataset import build_data  # pylint: disable=import-outside-toplevel
    n_all = len(build_data(load_config(os.path.join(MODEL_DIR, experiments.ML100K), {
        "data_path": str(data_path), "split_protocol": "per_user_time", "max_examples_per_user": 0})).train_pos)
    assert n_all > 20 * 50
    for run in ("fd_hist_idx", "fd_hist_idx_lr3e-4", "fd_tt_d128_neg50_lr3e-3"):
        assert f" {n_all} train examples" in (out / f"{run}-seed0.log").read_text(), run
    for split in ("", "-valid"):
        with open(out / "dens" / f"fd_hist_idx_lr3e-4-seed0{split}.json", encoding="utf-8") as f:
            curve = json.load(f)
        assert curve["split"] == ("valid" if split else "test")
        by_target = {r["target_density"]: r for r in curve["rows"]}
        assert sorted(by_target) == [0.02, 0.05, 1.0]
        # b <= 0 cannot raise the density of b = 0 (on this tiny folder the model may end with every score <= 0)
        dense = by_target[1.0]["density"]
        assert by_target[1.0]["score_bias"] == 0.0
        for target in (0.05, 0.02):
            assert by_target[target]["density"] == pytest.approx(min(target, dense), abs=0.01), (target, dense)


def test_ml1m_item_id_plan_shares_the_ml1m_budget():
    """ml1m_item_id: the ML-100K item-id history model (HIST_IDX) and the two-tower d = 128 with 50 negatives, with
    the examples per user, epochs, early stopping and split of every other ML-1M run; the item-id model at batch 512
    (memory) with lr 1e-3 (seeds 0-2, the lr chosen on valid) and the lr 3e-4 probe (seed 0), the two-tower at the
    config's batch."""
    runs = {run: (config, overrides, tuple(seeds)) for run, config, overrides, seeds in
            experiments.PLANS["ml1m_item_id"]}
    assert sorted(runs) == ["ml1m_hist_idx_lr1e-3", "ml1m_hist_idx_lr3e-4", "ml1m_tt_d128_neg50"]
    budget_keys = ("max_examples_per_user", "epochs", "early_stop_patience", "split_protocol")
    reference = experiments.PLANS["ml1m_two_tower_seeds"][0][2]
    for config, overrides, _ in runs.values():
        assert config == experiments.ML1M
        assert [overrides[key] for key in budget_keys] == [reference[key] for key in budget_keys]
    for run, lr in (("ml1m_hist_idx_lr3e-4", 0.0003), ("ml1m_hist_idx_lr1e-3", 0.001)):
        overrides = runs[run][1]
        assert {key: overrides[key] for key in experiments.HIST_IDX} == experiments.HIST_IDX
        assert overrides["lr"] == lr and overrides["batch_size"] == 512
    assert runs["ml1m_tt_d128_neg50"][1] == dict(reference, num_negatives=50)
    assert [runs[run][2] for run in sorted(runs)] == [(0, 1, 2), (0,), (0, 1, 2)]


# The README's commands of the ML-1M item-id runs (issue 9, seventh round).
ML1M_ITEM_ID_COMMANDS = (
    "python scripts/movielens_experiments.py --plan=ml1m_item_id --data_path=/path/to/ml-1m "
    "--ratings_file=ratings.partial-users1-2999.dat.gz --out=./results/ml1m --threads=1",
    "python scripts/density_curve.py --ckpt_path=./results/ml1m/ckpt/ml1m_hist_idx_lr1e-3-seed0 "
    "--out=./results/ml1m/dens/ml1m_hist_idx_lr1e-3-seed0 --threads=1",
    # issue 9, eighth round: query-weighted pruning (valid for alpha, test to report, then the pruned index served)
    "python scripts/density_curve.py --ckpt_path=./results/ml1m/ckpt/ml1m_hist_idx_lr1e-3-seed0 --rule=query_weighted "
    "--alpha=0.5 --eval_split=valid --out=./results/ml1m/dens/ml1m_hist_idx_lr1e-3-seed0-qw0.5-valid --threads=1",
    "python scripts/density_curve.py --ckpt_path=./results/ml1m/ckpt/ml1m_hist_idx_lr1e-3-seed0 --rule=query_weighted "
    "--alpha=0.5 --out=./results/ml1m/dens/ml1m_hist_idx_lr1e-3-seed0-qw0.5 --threads=1",
    "python eval.py --ckpt_path=./results/ml1m/ckpt/ml1m_hist_idx_lr1e-3-seed0 --index_density=0.05 "
    "--metrics_file=./results/ml1m/ml1m_hist_idx_lr1e-3-seed0-density0.05.json",
)


def test_readme_ml1m_item_id_commands_on_a_small_ml1m_folder(tmp_path):
    """The README's ML-1M item-id commands exactly as written (only /path/to/ml-1m replaced), in a copy of the model
    folder, on a 50-user ML-1M folder whose ratings file has the partial file's name: the plan trains its 7 runs
    with the ML-1M budget and the density curve of the item-id model covers the six default densities."""
    def make_ml1m(folder):
        return write_partial_ml1m(folder / "ml-1m", n_users=50, n_items=120, per_user=40,
                                  name="ratings.partial-users1-2999.dat.gz")

    model_dir, _ = run_readme_commands(ML1M_ITEM_ID_COMMANDS, tmp_path, timeout=1200, placeholder="/path/to/ml-1m",
                                       make_data=make_ml1m)
    out = model_dir / "results" / "ml1m"
    with open(out / "results.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    trained = sorted((row["run"], int(row["seed"])) for row in rows if row["run"].startswith("ml1m_"))
    assert trained == ([("ml1m_hist_idx_lr1e-3", seed) for seed in (0, 1, 2)] + [("ml1m_hist_idx_lr3e-4", 0)]
                       + [("ml1m_tt_d128_neg50", seed) for seed in (0, 1, 2)])
    for row in rows:
        if row["run"].startswith("ml1m_"):
            overrides = json.loads(row["overrides"])
            assert overrides["ratings_file"] == "ratings.partial-users1-2999.dat.gz", row["run"]
            assert overrides["max_examples_per_user"] == 40 and int(row["epochs_run"]) == 4, row["run"]
            assert int(row["test_users"]) == 50, row["run"]
    for row in rows:   # the item-id runs are evaluated through their index, the two-tower by brute force
        assert (row["index_density"] != "") == row["run"].startswith("ml1m_hist_idx"), row["run"]
    with open(out / "dens" / "ml1m_hist_idx_lr1e-3-seed0.json", encoding="utf-8") as f:
        curve = json.load(f)
    assert curve["split"] == "test"
    by_target = {r["target_density"]: r for r in curve["rows"]}
    assert sorted(by_target) == sorted(density_curve.DENSITIES)
    dense = by_target[1.0]["density"]
    assert by_target[1.0]["score_bias"] == 0.0
    for target in (0.2, 0.1, 0.05, 0.02, 0.01):
        assert by_target[target]["density"] == pytest.approx(min(target, dense), abs=0.01), (target, dense)
    # query-weighted pruning: the model's own b at every density, each density reached; eval.py serves the pruned index
    for split in ("-valid", ""):
        with open(out / "dens" / f"ml1m_hist_idx_lr1e-3-seed0-qw0.5{split}.json", encoding="utf-8") as f:
            pruned = json.load(f)
        assert pruned["rule"] == "query_weighted" and pruned["split"] == ("valid" if split else "test")
        for row in pruned["rows"]:
            assert row["alpha"] == 0.5 and row["score_bias"] == 0.0
            assert row["density"] == pytest.approx(min(row["target_density"], dense), abs=0.01), row
    with open(out / "ml1m_hist_idx_lr1e-3-seed0-density0.05.json", encoding="utf-8") as f:
        served = json.load(f)
    assert served["index"]["pruning"]["target_density"] == 0.05 and served["index"]["density"] <= 0.06
    at_005 = next(r for r in pruned["rows"] if r["target_density"] == 0.05)
    assert served["metrics"]["recall@50"] == pytest.approx(at_005["recall@50"], abs=1e-9)
