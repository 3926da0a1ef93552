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
"""SparCode vs two-tower on synthetic data with sparse field interactions (src/data/synthetic.py).

Configs: configs/synthetic_demo.yaml and configs/synthetic_demo_two_tower.yaml (the Quick Start demo's two runs).
Data: the SAFI generator with F = G = 2 fields of V = 16 values, 600 users, 300 items: rank(R) <= F * V = 32,
so a two-tower model of dimension d = 4 is provably misspecified (d + 3 < rank(R); Eckart-Young),
while SparCode with the field tokenizer (K_u = F tokens, one per user field) and
K_c^M = 256 >= V codes can represent the utility. Both models use the same data, seed, item tokenizer, sampled
softmax loss (10 uniform negatives), batch size and number of epochs (8); each uses the learning rate that
trained it best (SparCode 0.003: 0.01 makes the sum-of-ReLU logits blow up and collapse to all-zero scores;
two-tower 0.005). Two-tower keeps embedding_init_std 0.05: with 1.0 it trained worse (0.525 vs 0.560 test Recall@50
after 6 vs 4 epochs in a separate brute-force run). SparCode is evaluated through its built index (b annealed to -0.5,
index density 0.14). The module runs in ~2 minutes (121 s measured on the loaded 2-core machine).

Calibration (2-core CPU shared with other jobs, seed 0, test split, Recall@50; runs are deterministic):
    oracle (true utility) 0.710; best rank-4 approximation of R 0.501; popularity (train counts) 0.351
    SparCode via index, fields tokenizer, embedding_init_std 1.0, lr 0.003, 8 epochs : 0.622 (valid 0.635)
    two-tower d=4, mean-pool + profile tower, lr 0.005, 8 epochs                    : 0.540 (valid 0.593)
    (ablation: SparCode mean-pool tokenizer, init std 0.05, lr 0.01, 8 epochs : 0.487)
QUALITY_MARGIN is about half of the measured gap, so the check fails if SparCode's advantage mostly vanishes.
"""
import os

import numpy as np
import pytest

import eval as eval_entry
import train
from conftest import MODEL_DIR
from src.config import load_config
from src.data.dataset import build_data
from src.metrics import evaluate_topk
from src.scoring import topk_excluding

# the Quick Start demo's two configurations (scripts/run_demo.sh trains exactly these)
SPARCODE = os.path.join(MODEL_DIR, "configs", "synthetic_demo.yaml")
TWO_TOWER = os.path.join(MODEL_DIR, "configs", "synthetic_demo_two_tower.yaml")
MIN_SPARCODE_RECALL50 = 0.55       # measured 0.622 (test)
MIN_GAIN_OVER_POPULARITY = 0.15    # measured 0.622 vs 0.351
QUALITY_MARGIN = 0.04              # measured gap 0.082 (see module doc)


def _train_and_eval(ckpt_dir, config_path):
    train.main([f"--config_path={config_path}", f"--ckpt_path={ckpt_dir}"])
    return eval_entry.main([f"--ckpt_path={ckpt_dir}"])


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("quality")
    sparcode = _train_and_eval(str(root / "sparcode"), SPARCODE)
    two_tower = _train_and_eval(str(root / "two_tower"), TWO_TOWER)
    cfg = load_config(str(root / "sparcode" / "config.yaml"))
    data = build_data(cfg)
    counts = np.bincount(data.train_pos, minlength=data.n_items + 1).astype(np.float32)
    split = data.test
    ranked, _ = topk_excluding(np.tile(counts, (len(split.users), 1)), 50, split.seen_indptr, split.seen_items)
    popularity = evaluate_topk(ranked, split.target_indptr, split.target_items, ks=(50,))["recall@50"]
    print(f"\nRecall@50 (test): SparCode via index {sparcode['metrics']['recall@50']:.4f}, "
          f"two-tower d=4 {two_tower['metrics']['recall@50']:.4f}, popularity {popularity:.4f}")
    return {"sparcode": sparcode, "two_tower": two_tower, "popularity": popularity}


def test_sparcode_index_learns_the_interactions(results):
    sparcode = results["sparcode"]
    assert sparcode["retrieval"] == "sparse code index" and sparcode["codes_added_on_the_fly"] == 0
    recall = sparcode["metrics"]["recall@50"]
    assert recall >= MIN_SPARCODE_RECALL50, recall
    assert recall >= results["popularity"] + MIN_GAIN_OVER_POPULARITY, (recall, results["popularity"])


def test_sparcode_beats_two_tower_recall_at_50(results):
    r_sc = results["sparcode"]["metrics"]["recall@50"]
    r_tt = results["two_tower"]["metrics"]["recall@50"]
    assert r_sc >= r_tt + QUALITY_MARGIN, (r_sc, r_tt)
