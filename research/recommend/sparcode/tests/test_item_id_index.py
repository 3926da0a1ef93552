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
"""`quantizer: item_id`: SparCode over history tokens whose code is the history item id, i.e. the un-quantized
all-to-all history model served through the ordinary SparCode index (one code path: build, search, density
calibration, density curve, export and infer)."""
import os
import sys

import numpy as np
import mindspore as ms
import pytest
from mindspore import Tensor

import eval as eval_entry
import export as export_entry
import infer as infer_entry
from conftest import MODEL_DIR, run_readme_commands, run_train
from src.config import ConfigError, load_config
from src.data.dataset import build_data
from src.evaluation import brute_force_rank, metrics_for, split_inputs
from src.index import SparseCodeIndex
from src.model.sparcode import bias_for_density
from src.run_files import load_trained_model
from src.scoring import model_scores, topk_excluding
from model_helpers import HISTORY_LEN, N_ITEMS, build, tensors, tiny_batch, tiny_config

sys.path.insert(0, os.path.join(MODEL_DIR, "scripts"))
import density_curve  # noqa: E402  pylint: disable=wrong-import-position

HISTORY = {"query_encoder": "history", "num_query_tokens": HISTORY_LEN}


def _item_id_and_all_to_all(seed=0):
    """A random SparCode item-id model and the all-to-all model with the same weights."""
    sparcode = build(tiny_config(quantizer="item_id", **HISTORY), seed=seed)
    # unit-scale random weights: the initial g scores every pair below 0, which would make the comparison vacuous
    rng = np.random.default_rng(seed)
    for param in sparcode.trainable_params():
        param.set_data(Tensor(rng.standard_normal(param.shape).astype(np.float32) * 0.5))
    a2a = build(tiny_config(model="all_to_all", **HISTORY), seed=seed + 1)
    weights = {p.name: ms.Parameter(p.data.copy(), name=p.name) for p in sparcode.get_parameters()}
    not_loaded, _ = ms.load_param_into_net(a2a, weights, strict_load=True)
    assert not not_loaded and sorted(weights) == sorted(p.name for p in a2a.get_parameters())
    return sparcode, a2a


def _batch():
    user_feats, hist, _, _ = tiny_batch(seed=3, batch=9)
    hist[0] = [0, 0, 0, 0, 0, 7]                      # mostly padding
    hist[1] = [5, 5, 5, 5, 5, 5]                      # one item at every position: its code counts 6 times
    hist[2] = 0                                       # padding only
    return user_feats, hist


@pytest.mark.parametrize("density_fraction", [None, 0.5])
def test_index_ranking_equals_the_unquantized_model(density_fraction):
    """The item-id index ranks (and scores) exactly as brute force over the all-to-all model with the same weights,
    at b = 0 (every positive pair kept: the index's largest density) and at a calibrated b < 0 (half that density),
    with padding positions, a repeated item and an all-padding history."""
    sparcode, a2a = _item_id_and_all_to_all()
    cfg = tiny_config(quantizer="item_id", **HISTORY)
    user_feats, hist = _batch()
    codes = sparcode.code_ids(*tensors(user_feats, hist)).asnumpy()
    np.testing.assert_array_equal(codes, hist)                       # the code of a history token is its item id
    assert sparcode.code_space() == (1, N_ITEMS + 1)
    items = np.arange(1, N_ITEMS + 1, dtype=np.int32)
    density = None
    raw = sparcode.raw_token_scores_for_codes(np.unique(codes), items).asnumpy()
    assert 0.2 < (raw > 0).mean() < 0.8
    if density_fraction is not None:
        raw = sparcode.raw_token_scores_for_codes(np.unique(codes), items).asnumpy()
        density = density_fraction * float((raw > 0).mean())
        b = bias_for_density(raw, density)
        assert b < 0
        sparcode.set_score_bias(b)
        a2a.set_score_bias(b)
    index = SparseCodeIndex.build(sparcode, cfg, items, codes, progress=False)
    assert index.codebooks.shape == (1, N_ITEMS + 1, 8)
    if density is not None:
        assert index.stats()["density"] == pytest.approx(density, abs=0.01)
    k = 10
    ids, scores = index.search(codes, k)
    dense = model_scores(a2a, user_feats, hist, N_ITEMS)
    ref_ids, ref_scores = topk_excluding(dense, k)
    np.testing.assert_allclose(scores, ref_scores, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(ids[scores > 1e-4], ref_ids[ref_scores > 1e-4])
    assert (ref_scores > 1e-4).sum() > len(codes) * k // 2
    # the index row of the padding code is the padding token's score row, as in the model
    assert 0 in index.codes
    np.testing.assert_allclose(sparcode.code_vectors(np.array([0], np.int32)).asnumpy()[0],
                               a2a.query_tokens(*tensors(user_feats[2:3], hist[2:3])).asnumpy()[0, 0], rtol=1e-5, atol=1e-6)


def test_item_id_model_trains_exactly_as_the_all_to_all_model():
    """Same weights -> same training loss (no commitment term, no straight-through change of z)."""
    sparcode, a2a = _item_id_and_all_to_all()
    user_feats, hist, pos, negs = tiny_batch(seed=1)
    sparcode.set_train(True)
    a2a.set_train(True)
    got = [float(x.asnumpy()) for x in sparcode.loss(*tensors(user_feats, hist, pos, negs))]
    want = [float(x.asnumpy()) for x in a2a.loss(*tensors(user_feats, hist, pos, negs))]
    assert got == pytest.approx(want, rel=1e-6, abs=1e-7) and got[3] == 0.0
    assert sparcode.quantizer is None and sparcode.serves_from_index


def test_config_errors_name_the_key():
    with pytest.raises(ConfigError, match=r"key 'quantizer' 'item_id' needs query_encoder 'history'.*'mean_pool'"):
        tiny_config(quantizer="item_id")
    with pytest.raises(ConfigError, match=r"key 'quantizer' 'item_id' applies to model sparcode only.*'all_to_all'"):
        tiny_config(model="all_to_all", quantizer="item_id", **HISTORY)
    with pytest.raises(ConfigError, match=r"key 'quantizer' 'item_id' applies to model sparcode only.*'two_tower'"):
        tiny_config(model="two_tower", quantizer="item_id", **HISTORY)
    with pytest.raises(ConfigError, match=r"key 'quantizer' must be one of \['product', 'item_id'\], got 'ids'"):
        tiny_config(quantizer="ids", **HISTORY)
    # the model refuses a config that skipped validation, naming the key
    cfg = tiny_config(**HISTORY)
    cfg.quantizer, cfg.query_encoder = "item_id", "mean_pool"
    with pytest.raises(ValueError, match="config key 'quantizer': 'item_id' needs query_encoder 'history'"):
        build(cfg)


@pytest.fixture(scope="module")
def item_id_run(tmp_path_factory):
    ckpt_dir = str(tmp_path_factory.mktemp("item_id_run"))
    state = run_train(ckpt_dir, "--query_encoder=history", "--history_len=16", "--num_query_tokens=16",
                      "--quantizer=item_id", "--target_density=0.1")
    return ckpt_dir, state


def test_train_eval_export_infer_and_density_curve(item_id_run, tmp_path):
    """train.py (density target 0.1) -> eval.py through the item-id index == brute force of the same model ->
    export.py / infer.py give eval's metrics -> density_curve.py reaches the targets."""
    ckpt_dir, state = item_id_run
    assert all(h.get("codebook_perplexity") is None for h in state["history"])       # no codebooks were learned
    result = eval_entry.main([f"--ckpt_path={ckpt_dir}"])
    assert result["retrieval"] == "sparse code index"
    assert result["index"]["density"] == pytest.approx(0.1, abs=0.05)
    cfg = load_config(os.path.join(ckpt_dir, "config.yaml"))
    data = build_data(cfg)
    model = load_trained_model(cfg, data, os.path.join(ckpt_dir, "best.ckpt"))
    assert result["index"]["codes"] <= data.n_items + 1
    feats, hist, split = split_inputs(data, cfg.eval_split)
    ranked = brute_force_rank(model, feats, hist, split.seen_indptr, split.seen_items, data.n_items, max(cfg.topk))
    brute = metrics_for(ranked, split, cfg.topk)
    for key, value in result["metrics"].items():
        assert brute[key] == pytest.approx(value, abs=1e-6), key
    prefix = str(tmp_path / "export" / "item_id")
    files = export_entry.main([f"--ckpt_path={ckpt_dir}", f"--file_name={prefix}"])
    assert {"query", "g", "index"} <= set(files)
    query_net = ms.nn.GraphCell(ms.load(files["query"]))
    np.testing.assert_array_equal(query_net(Tensor(feats[:7]), Tensor(hist[:7])).asnumpy(), hist[:7])
    served = infer_entry.main([f"--file_name={prefix}"])
    assert served["metrics"] == result["metrics"]
    out = str(tmp_path / "curve")
    assert density_curve.main([f"--ckpt_path={ckpt_dir}", f"--out={out}", "--densities=1.0,0.2,0.05"]) == 0
    import json  # pylint: disable=import-outside-toplevel
    with open(out + ".json", encoding="utf-8") as f:
        rows = json.load(f)["rows"]
    assert rows[1]["density"] == pytest.approx(0.2, abs=0.02) and rows[2]["density"] == pytest.approx(0.05, abs=0.01)
    assert os.path.getsize(out + ".png") > 0
    import benchmark  # pylint: disable=import-outside-toplevel
    with pytest.raises(ValueError, match=r"key 'quantizer' is 'item_id'; benchmark.py serves product-quantizer runs"):
        benchmark.prepare({"sparcode_dir": ckpt_dir, "two_tower_dirs": [], "n_queries": 4})


# The README's commands of the item-id index section (MovieLens-100K, `--plan=history_index` and its density curves).
HISTORY_INDEX_COMMANDS = (
    "python scripts/movielens_experiments.py --plan=history_index --data_path=/path/to/ml-100k "
    "--out=./results/ml100k_fast --threads=1",
    "python scripts/density_curve.py --ckpt_path=./results/ml100k_fast/ckpt/fa_hist_idx-seed0 "
    "--out=docs/ml100k_hist_idx_density --threads=1",
    "python scripts/density_curve.py --ckpt_path=./results/ml100k_fast/ckpt/fa_hist_idx-seed0 --eval_split=valid "
    "--out=docs/ml100k_hist_idx_density_valid --threads=1",
)


def test_readme_history_index_commands_on_a_small_ml100k_folder(tmp_path):
    """The README's commands exactly as written (only /path/to/ml-100k replaced), run in a copy of the model folder
    (their relative outputs ./results and docs/ stay out of the repository) on a 50-user ML-100K folder in the
    original format: the plan trains its 6 runs through the item-id index, the density curves reach their targets."""
    import csv
    import json
    model_dir, _ = run_readme_commands(HISTORY_INDEX_COMMANDS, tmp_path, timeout=900)
    with open(model_dir / "results" / "ml100k_fast" / "results.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    trained = [(row["run"], int(row["seed"])) for row in rows if row["run"].startswith("fa_hist_idx")]
    assert sorted(trained) == [(run, seed) for run in ("fa_hist_idx", "fa_hist_idx_td05") for seed in (0, 1, 2)]
    for row in rows:   # a density target cannot raise the density of a model whose scores are all <= 0 (b <= 0)
        if row["run"] == "fa_hist_idx_td05":
            assert 0.0 <= float(row["index_density"]) <= 0.06 and int(row["test_users"]) == 50
    for split in ("", "_valid"):
        with open(model_dir / "docs" / f"ml100k_hist_idx_density{split}.json", encoding="utf-8") as f:
            curve = json.load(f)
        assert curve["split"] == ("valid" if split else "test")
        by_target = {r["target_density"]: r for r in curve["rows"]}
        assert sorted(by_target) == [0.01, 0.02, 0.05, 0.1, 0.2, 1.0]
        assert by_target[0.05]["density"] == pytest.approx(0.05, abs=0.01)
        assert (model_dir / "docs" / f"ml100k_hist_idx_density{split}.png").stat().st_size > 0
