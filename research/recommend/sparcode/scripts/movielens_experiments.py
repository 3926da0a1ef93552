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
"""Reproducible MovieLens experiments: a named plan of (run name, config, overrides, seeds) is trained with train.py
and evaluated with eval.py (SparCode through its index), one subprocess per (run, seed); results go to
<out>/runs/<run>-seed<k>.json, and a table of every row (CSV) and of mean +- std per run (markdown) is rewritten
after each run. Finished runs are skipped, so an interrupted plan is continued by running the command again.

    python scripts/movielens_experiments.py --plan=two_tower_grid --data_path=/path/to/ml-100k --out=./results/ml100k
    python scripts/movielens_experiments.py --plan=smoke --data_path=/path/to/ml-100k --out=/tmp/smoke   # < 1 min

`--plan=list` prints the plans. Popularity (train counts, seen items excluded) is added for every protocol used; the history_* plans and
`--plan=ease_reference` add the EASE item-item reference (scored from the last history_len items, dense and at index
densities 0.05 / 0.02 / 0.01).
Selection is on the valid split (`valid_*` columns); the test columns are only read for the chosen settings.
"""
import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

MODEL_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if MODEL_DIR not in sys.path:
    sys.path.insert(0, MODEL_DIR)
from src.atomic_file import atomic_write  # noqa: E402  (needs MODEL_DIR on sys.path)

ML100K = "configs/ml100k.yaml"
SEEDS3 = (0, 1, 2)
PER_USER = {"split_protocol": "per_user_time"}
USERS = {"split_protocol": "users"}
METRICS = ("recall@20", "recall@50", "ndcg@50")


def _runs(prefix, base, grid, seeds=(0,), config=ML100K):
    """[(name, config, overrides, seeds)] for every entry of grid {suffix: overrides}."""
    return [(f"{prefix}{suffix}", config, dict(base, **extra), seeds) for suffix, extra in grid.items()]


# name -> list of (run name, config file, overrides, seeds). Budget of the two-tower sweep (valid split): d
# (= token_dim = embedding_size) in {32, 64, 128} at lr 3e-3, then lr 1e-3 and 50 negatives at d = 64; at most
# 10 epochs with early stopping (patience 2), batch 1024 (the two-tower step is overhead-bound at 256 on CPU).
TT_GRID = {
    "d32": {"token_dim": 32, "embedding_size": 32},
    "d64": {"token_dim": 64, "embedding_size": 64},
    "d128": {"token_dim": 128, "embedding_size": 128},
    "d64_lr1e-3": {"token_dim": 64, "embedding_size": 64, "lr": 0.001},
    "d64_neg50": {"token_dim": 64, "embedding_size": 64, "num_negatives": 50},
}
TT_BASE = {"model": "two_tower", "epochs": 10, "early_stop_patience": 2, "batch_size": 1024, "lr": 0.003}
# SparCode ablations (valid split) on a reduced budget that a shared 2-core machine can afford: 20 random cut points
# per user and epoch (max_examples_per_user), 3 epochs; the two-tower is run on the same budget as the reference.
SC_GRID = {
    "shipped": {},
    "mlp_dot": {"interaction": "mlp_dot"},
    "tt_d64": {"model": "two_tower"},
    "a2a": {"model": "all_to_all"},
    "a2a_mlp_dot": {"model": "all_to_all", "interaction": "mlp_dot"},
}
SC_BASE = {"epochs": 3, "early_stop_patience": 0, "max_examples_per_user": 20}
# Fast ablation budget (valid split decides): the reduced budget above (20 cut points per user, 3 epochs), one
# change per run against the shipped config; a run takes minutes on one core, so all of them fit in an hour.
FAST_GRID = {
    "base": {},
    "a2a": {"model": "all_to_all"},
    "tt_d64": {"model": "two_tower"},
    # the two-tower with the epochs of a warm-started SparCode (3 two-tower + 3 SparCode epochs): equal total budget
    "tt_d64_e6": {"model": "two_tower", "epochs": 6},
    "td05": {"target_density": 0.05},
    "td05_anneal2": {"target_density": 0.05, "bias_anneal_epochs": 2},
    "neg50": {"num_negatives": 50},
    "lr3e-3": {"lr": 0.003},
    "kc256": {"codebook_size": 256},
    "m4": {"num_codebooks": 4},
    "ku1": {"num_query_tokens": 1},
    "ku8": {"num_query_tokens": 8},
    "ki1": {"num_item_tokens": 1},
    "g128x2": {"mlp_hidden": [128, 128]},
    "g512x2": {"mlp_hidden": [512, 512]},
    "d128": {"token_dim": 128, "embedding_size": 128},
    "sa_query": {"query_encoder": "self_attention"},
    "no_fields": {"use_user_fields": False, "use_item_fields": False},
    # warm start from the two-tower run of the same seed (its id / field embeddings and query MLP; run it first)
    "warm_tt": {"init_ckpt": "{out}/ckpt/fa_tt_d64-seed{seed}/best.ckpt"},
    "td05_warm_tt": {"target_density": 0.05, "init_ckpt": "{out}/ckpt/fa_tt_d64-seed{seed}/best.ckpt"},
    # ceiling probes (issue 9): the same options for both models, one change each
    "a2a_neg50": {"model": "all_to_all", "num_negatives": 50},
    "m4_warm_tt": {"num_codebooks": 4, "init_ckpt": "{out}/ckpt/fa_tt_d64-seed{seed}/best.ckpt"},
    "m4_td05_warm_tt": {"num_codebooks": 4, "target_density": 0.05,
                        "init_ckpt": "{out}/ckpt/fa_tt_d64-seed{seed}/best.ckpt"},
    "tt_d64_neg50": {"model": "two_tower", "num_negatives": 50},
    "tt_d64_inbatch": {"model": "two_tower", "negative_sampling": "in_batch"},
    "tt_d64_inbatch_logq": {"model": "two_tower", "negative_sampling": "in_batch", "logq_correction": True},
    "tt_d128": {"model": "two_tower", "token_dim": 128, "embedding_size": 128},
    "tt_d32": {"model": "two_tower", "token_dim": 32, "embedding_size": 32},
    "tt_d64_lr3e-3": {"model": "two_tower", "lr": 0.003},
    "tt_d128_neg50": {"model": "two_tower", "token_dim": 128, "embedding_size": 128, "num_negatives": 50},
    "tt_d128_inbatch_logq": {"model": "two_tower", "token_dim": 128, "embedding_size": 128,
                             "negative_sampling": "in_batch", "logq_correction": True},
    # 6 epochs: the total budget of a SparCode warm-started from a 3-epoch two-tower
    "tt_d64_neg50_e6": {"model": "two_tower", "num_negatives": 50, "epochs": 6},
    "tt_d128_neg50_e6": {"model": "two_tower", "token_dim": 128, "embedding_size": 128, "num_negatives": 50,
                         "epochs": 6},
    "tt_d128_neg50_lr3e-3": {"model": "two_tower", "token_dim": 128, "embedding_size": 128, "num_negatives": 50,
                             "lr": 0.003},
    "tt_d128_neg50_lr3e-3_e6": {"model": "two_tower", "token_dim": 128, "embedding_size": 128, "num_negatives": 50,
                                "lr": 0.003, "epochs": 6},
    # every change that helped one of the models, together: 50 negatives, 4 codebooks, trained with the density
    # target, warm-started from the same-seed two-tower with 50 negatives (of the same d)
    "combo_d64": {"num_negatives": 50, "num_codebooks": 4, "target_density": 0.05,
                  "init_ckpt": "{out}/ckpt/fa_tt_d64_neg50-seed{seed}/best.ckpt"},
    "combo_d128": {"token_dim": 128, "embedding_size": 128, "num_negatives": 50, "num_codebooks": 4,
                   "target_density": 0.05, "init_ckpt": "{out}/ckpt/fa_tt_d128_neg50-seed{seed}/best.ckpt"},
}
# third round (issue 9): one change each against combo_d64 (g, query tokens, codebook size), and the self-attention g
COMBO_D64 = FAST_GRID["combo_d64"]
FAST_GRID.update({
    "combo_d64_mlp_dot": dict(COMBO_D64, interaction="mlp_dot"),
    "combo_d64_ku8": dict(COMBO_D64, num_query_tokens=8),
    # K_c = 256 with 2 codebooks (the released code's M x K_c): 4 x 256 would need codes beyond int32
    "combo_d64_m2_kc256": dict(COMBO_D64, num_codebooks=2, codebook_size=256),
    # self-attention g (a Transformer over [token, item tokens], 1 layer: 3 would triple an already 5x costlier g)
    "a2a_sa": {"model": "all_to_all", "interaction": "self_attention", "sa_layers": 1},
    "combo_d64_sa": dict(COMBO_D64, interaction="self_attention", sa_layers=1),
})
CEILING_PROBE2 = ("tt_d64_neg50", "tt_d128_neg50", "combo_d64_mlp_dot", "combo_d64_ku8", "combo_d64_m2_kc256",
                  "combo_d128", "a2a_sa", "combo_d64_sa")
# the options probed for both models on the fast budget (seed 0), SparCode first, then the two-tower
CEILING_PROBE = ("neg50", "a2a_neg50", "m4_td05_warm_tt", "m4_warm_tt", "ku8", "tt_d64_neg50", "tt_d64_inbatch",
                 "tt_d64_inbatch_logq", "tt_d128", "tt_d32", "tt_d64_lr3e-3", "tt_d128_neg50", "tt_d128_inbatch_logq",
                 "tt_d64_neg50_e6", "tt_d128_neg50_e6", "tt_d128_neg50_lr3e-3", "tt_d128_neg50_lr3e-3_e6",
                 "combo_d64", "combo_d128")
PLANS = {
    "smoke": [("smoke_tt", ML100K, dict(PER_USER, model="two_tower", epochs=1, batch_size=1024,
                                        max_examples_per_user=10, early_stop_patience=0), (0,))],
    "two_tower_grid": _runs("tt_pu_", dict(PER_USER, **TT_BASE), TT_GRID),
    "sparcode_ablation": _runs("sc_pu_", dict(PER_USER, **SC_BASE), SC_GRID),
    # the equal-budget comparison of the ablation plan with 3 model seeds (seed 0 is shared with the ablation)
    "equal_budget_seeds": _runs("sc_pu_", dict(PER_USER, **SC_BASE),
                                {key: SC_GRID[key] for key in ("shipped", "tt_d64")}, seeds=SEEDS3),
    "fast_ablation": _runs("fa_", dict(PER_USER, **SC_BASE), FAST_GRID),
    # the reported comparison: seeds 0, 1, 2 of the two-tower and of SparCode's best recipe of fast_ablation
    "fast_final": _runs("fa_", dict(PER_USER, **SC_BASE),
                        {key: FAST_GRID[key] for key in ("tt_d64", "tt_d64_e6", "td05_warm_tt", "warm_tt")},
                        seeds=SEEDS3),
    "ceiling_probe": _runs("fa_", dict(PER_USER, **SC_BASE), {key: FAST_GRID[key] for key in CEILING_PROBE}),
    "ceiling_probe2": _runs("fa_", dict(PER_USER, **SC_BASE), {key: FAST_GRID[key] for key in CEILING_PROBE2}),
    # seeds 0, 1, 2 of the third round's best on valid (2 codebooks of 256; seed 0 is shared with ceiling_probe2)
    "ceiling_final2": _runs("fa_", dict(PER_USER, **SC_BASE),
                            {key: FAST_GRID[key] for key in ("tt_d64_neg50", "combo_d64_m2_kc256")}, seeds=SEEDS3),
    # the reported comparison of the probes: SparCode's combination (warm-started from the same-seed 50-negative
    # two-tower) and the two-towers of the same option set, 3 epochs and 6 epochs (= the combination's total)
    "ceiling_final": _runs("fa_", dict(PER_USER, **SC_BASE),
                           {key: FAST_GRID[key] for key in ("tt_d64_neg50", "combo_d64", "tt_d128_neg50_lr3e-3",
                                                            "tt_d64_neg50_e6", "tt_d128_neg50_lr3e-3_e6")},
                           seeds=SEEDS3),
}

# Third round (issue 9): one query token per history position (query_encoder: history, K_u = history_len = 20), i.e. a
# sparse item-to-item table scored from the last 20 history items, on the fast budget above. 2 codebooks x 64 = 4,096
# codes keep the 1,349 items apart; 10 negatives (20 tokens x 11 candidates ~ the cost of 4 x 51); trained with the
# density target 0.05.
HISTORY_GRID = {
    "hist_td05": {"query_encoder": "history", "num_query_tokens": 20, "history_len": 20, "num_negatives": 10,
                  "num_codebooks": 2, "codebook_size": 64, "target_density": 0.05},
    "hist_td05_mlp_dot": {"query_encoder": "history", "num_query_tokens": 20, "history_len": 20, "num_negatives": 10,
                          "num_codebooks": 2, "codebook_size": 64, "target_density": 0.05, "interaction": "mlp_dot"},
    # 2 x 64 codes collapse to perplexities ~8-13 per codebook (items merged into shared codes): 4 codebooks of 64
    "hist_m4_td05": {"query_encoder": "history", "num_query_tokens": 20, "history_len": 20, "num_negatives": 10,
                     "num_codebooks": 4, "codebook_size": 64, "target_density": 0.05},
    # unit-scale id / field embeddings: items start far apart (more codes in use) and scores away from all-negative
    "hist_td05_mlp_dot_std1": {"query_encoder": "history", "num_query_tokens": 20, "history_len": 20,
                               "num_negatives": 10, "num_codebooks": 2, "codebook_size": 64, "target_density": 0.05,
                               "interaction": "mlp_dot", "embedding_init_std": 1.0},
    # diverged in epoch 0 (commitment loss 50, every score <= 0); kept so that the README row can be reproduced
    "hist_m4_td05_lr3e-3": {"query_encoder": "history", "num_query_tokens": 20, "history_len": 20,
                            "num_negatives": 10, "num_codebooks": 4, "codebook_size": 64, "target_density": 0.05,
                            "lr": 0.003},
    # no quantizer: a history token takes one value per item, so the all-to-all model over history tokens is itself
    # finite (one token value per item, which could key an index by item id); measured by brute force
    "hist_a2a": {"model": "all_to_all", "query_encoder": "history", "num_query_tokens": 20, "history_len": 20,
                 "num_negatives": 10},
    "hist_a2a_mlp_dot": {"model": "all_to_all", "query_encoder": "history", "num_query_tokens": 20,
                         "history_len": 20, "num_negatives": 10, "interaction": "mlp_dot"},
    # the same with the 6 epochs of the two-tower's longer row
    "hist_a2a_e6": {"model": "all_to_all", "query_encoder": "history", "num_query_tokens": 20, "history_len": 20,
                    "num_negatives": 10, "epochs": 6},
    # the same model served through SparCode's index keyed by history item id (quantizer: item_id): trained at b = 0
    # (the all-to-all model itself; its density curve comes from scripts/density_curve.py) and trained with the
    # density target 0.05 (b calibrated before and after every epoch, evaluated through that index)
    "hist_idx": {"quantizer": "item_id", "query_encoder": "history", "num_query_tokens": 20, "history_len": 20,
                 "num_negatives": 10},
    "hist_idx_td05": {"quantizer": "item_id", "query_encoder": "history", "num_query_tokens": 20, "history_len": 20,
                      "num_negatives": 10, "target_density": 0.05},
    # toward +10 %: the item-id model with the 6 epochs of the two-tower's longer row (indexed by density_curve.py)
    "hist_idx_e6": {"quantizer": "item_id", "query_encoder": "history", "num_query_tokens": 20, "history_len": 20,
                    "num_negatives": 10, "epochs": 6},
}
# toward +10 % at density 0.05 (issue 9, fifth round; valid split decides, seed 0 first; the b = 0 runs are indexed
# at density 0.05 afterwards by density_curve.py, the target_density runs through the index they were trained with)
HIST_IDX = HISTORY_GRID["hist_idx"]
HISTORY_SPARSE_GRID = {
    # L1 term mean ReLU(s_k) over the step's (real token, candidate) pairs (SPLADE-style); weight 1.0 diverged in
    # epoch 1 (softmax 51.9) and was stopped, so it is not part of the plan
    "hist_idx_sw001": dict(HIST_IDX, sparsity_weight=0.01),
    "hist_idx_sw01": dict(HIST_IDX, sparsity_weight=0.1),
    "hist_idx_neg50": dict(HIST_IDX, num_negatives=50),           # peaks at 7.1 GB RSS: run it under the bigmem lock
    "hist_idx_lr3e-3": dict(HIST_IDX, lr=0.003),                  # diverged (loss 2e6 in epoch 2)
    "hist_idx_drop0": dict(HIST_IDX, dropout=0.0),
    # density target with a larger surrogate leak, annealed over 2 epochs, and with the softmax at b = 0 added
    "hist_idx_td05_leak03": dict(HIST_IDX, target_density=0.05, relu_grad_leak=0.3),
    "hist_idx_td05_anneal2": dict(HIST_IDX, target_density=0.05, bias_anneal_epochs=2),
    "hist_idx_td05_dense1": dict(HIST_IDX, target_density=0.05, dense_loss_weight=1.0),
    "hist_idx_td05_anneal2_dense1": dict(HIST_IDX, target_density=0.05, bias_anneal_epochs=2, dense_loss_weight=1.0),
}
# plans that also write the EASE item-item reference rows (see ease_rows), and the (config, protocol) of a plan
# without trained runs
EASE_PLANS = ("history_probe", "history_final", "ease_reference")
REFERENCE_ONLY = {"ease_reference": ((ML100K, "per_user_time"),)}
PLANS.update({
    "ease_reference": [],        # no trained run: the references of REFERENCE_ONLY below
    "history_probe": _runs("fa_", dict(PER_USER, **SC_BASE), HISTORY_GRID),
    # the probe that is best on valid (seed 0: 0.3035, below the two-tower's 0.3971, so seeds 1 and 2 were not run)
    "history_final": _runs("fa_", dict(PER_USER, **SC_BASE), {"hist_td05_mlp_dot": HISTORY_GRID["hist_td05_mlp_dot"]},
                           seeds=SEEDS3),
    # seeds 0, 1, 2 of the un-quantized all-to-all model over history tokens (the first learned cross model at the
    # two-tower's level on valid)
    "history_a2a_final": _runs("fa_", dict(PER_USER, **SC_BASE), {"hist_a2a": HISTORY_GRID["hist_a2a"]},
                               seeds=SEEDS3),
    # the history model through the item-id index, seeds 0, 1, 2: trained at b = 0 (scripts/density_curve.py then
    # indexes it at each density) and trained with the density target 0.05
    "history_index": _runs("fa_", dict(PER_USER, **SC_BASE), {key: HISTORY_GRID[key] for key in
                                                              ("hist_idx", "hist_idx_td05")}, seeds=SEEDS3),
    "history_index_e6": _runs("fa_", dict(PER_USER, **SC_BASE), {"hist_idx_e6": HISTORY_GRID["hist_idx_e6"]},
                              seeds=SEEDS3),
    "history_sparse_probe": _runs("fa_", dict(PER_USER, **SC_BASE), HISTORY_SPARSE_GRID),
    # seeds 0, 1, 2 of the best density-trained variant of the probe (valid, seed 0)
    "history_sparse_dense": _runs("fa_", dict(PER_USER, **SC_BASE), {
        "hist_idx_td05_anneal2_dense1": HISTORY_SPARSE_GRID["hist_idx_td05_anneal2_dense1"]}, seeds=SEEDS3),
})

# Full-data budget (issue 9, sixth round): the fast budget's 3 epochs without its cap of 20 cut points per user and
# epoch (max_examples_per_user: 0 = every cut point, 4.25x the examples per epoch), the best two-tower of the fast
# grid and the item-id model at b = 0 (indexed afterwards by scripts/density_curve.py). At the fast grid's lr 1e-3
# the item-id model diverged between steps 100 and 200 (the fast budget stops at step 210; softmax loss 380 at step
# 200, 2e6 at step 400, valid Recall@50 0.074 after epoch 0; seed 0 stopped in epoch 1), so it is kept for seed 0
# only and the seeds are run at lr 3e-4.
FULL_DATA_BASE = dict(SC_BASE, max_examples_per_user=0)
PLANS["full_data"] = (_runs("fd_", dict(PER_USER, **FULL_DATA_BASE),
                            {"tt_d128_neg50_lr3e-3": FAST_GRID["tt_d128_neg50_lr3e-3"],
                             "hist_idx_lr3e-4": dict(HIST_IDX, lr=0.0003)}, seeds=SEEDS3)
                      + _runs("fd_", dict(PER_USER, **FULL_DATA_BASE), {"hist_idx": HIST_IDX}))

# ---------------------------------------------------------------------------------------------- MovieLens-1M plans
# configs/ml1m.yaml on the full ratings.dat, or on a partial file with --ratings_file (the numbers of the README
# were measured on users 1-2999, ratings.partial-users1-2999.dat.gz). One budget for both models (valid split
# decides): ML1M_BASE below, the same examples per epoch, epochs and early stopping for SparCode and the two-tower.
ML1M = "configs/ml1m.yaml"
ML1M_BASE = {"max_examples_per_user": 40, "epochs": 4, "early_stop_patience": 0}
ML1M_TT = dict(ML1M_BASE, model="two_tower")
ML1M_TT_GRID = {
    "d32": {"token_dim": 32, "embedding_size": 32, "lr": 0.003},
    "d64": {"token_dim": 64, "embedding_size": 64, "lr": 0.003},
    "d128": {"token_dim": 128, "embedding_size": 128, "lr": 0.003},
    "d64_lr1e-3": {"token_dim": 64, "embedding_size": 64, "lr": 0.001},
    "d64_neg50": {"token_dim": 64, "embedding_size": 64, "lr": 0.003, "num_negatives": 50},
}
PLANS.update({
    "ml1m_two_tower_grid": _runs("ml1m_tt_", dict(PER_USER, **ML1M_TT), ML1M_TT_GRID, config=ML1M),
    "ml1m_sparcode": _runs("ml1m_sc_", dict(PER_USER, **ML1M_BASE), {"shipped": {}}, seeds=SEEDS3, config=ML1M)
    + _runs("ml1m_sc_", dict(PER_USER, **ML1M_BASE), {"td05": {"target_density": 0.05}}, config=ML1M),
    # the two-tower of the grid that is best on valid (d = 128, lr 3e-3) with 3 model seeds
    "ml1m_two_tower_seeds": _runs("ml1m_tt_", dict(PER_USER, **ML1M_TT), {"d128": ML1M_TT_GRID["d128"]},
                                  seeds=SEEDS3, config=ML1M),
})
# Issue 9, seventh round: ML-100K's best SparCode variant (the item-id history model, HIST_IDX) on ML-1M with the
# ML-1M budget above, against the strongest two-tower of ML-100K's grid moved to ML-1M (d = 128, 50 negatives,
# lr 3e-3, the config's batch 1024; the ML-1M grid above had no 50-negative d = 128 row). The item-id model runs at
# batch 512: at the config's 1024 it held 5.8 GB RSS in its first epoch (20 history tokens x 11 candidates x 1024
# rows through g), above what a run may take on the shared machine; the examples per epoch and the epochs are the
# budget's. The lr was chosen on valid with seed 0 between 1e-3 and 3e-4 (1e-3 diverged on ML-100K's full-data
# budget): 1e-3 won (0.3799 vs 0.3424) and runs with seeds 0, 1, 2; lr 3e-4 stays as the seed-0 probe.
ML1M_HIST_IDX = dict(HIST_IDX, batch_size=512)
ML1M_ITEM_ID_GRID = {
    "hist_idx_lr1e-3": dict(ML1M_HIST_IDX, lr=0.001),
    "tt_d128_neg50": dict(ML1M_TT_GRID["d128"], model="two_tower", num_negatives=50),
}
PLANS["ml1m_item_id"] = (_runs("ml1m_", dict(PER_USER, **ML1M_BASE), ML1M_ITEM_ID_GRID, seeds=SEEDS3, config=ML1M)
                         + _runs("ml1m_", dict(PER_USER, **ML1M_BASE),
                                 {"hist_idx_lr3e-4": dict(ML1M_HIST_IDX, lr=0.0003)}, config=ML1M))


def list_plans():
    for name, runs in PLANS.items():
        print(f"{name}:")
        for run, config, overrides, seeds in runs:
            print(f"  {run}: {config} {overrides} seeds {list(seeds)}")


# ---------------------------------------------------------------------------------------------- one run (worker)
def worker(spec_path):
    """Train + evaluate one (run, seed) in this process; writes the result JSON named in the spec."""
    with open(spec_path, encoding="utf-8") as f:
        spec = json.load(f)
    os.chdir(MODEL_DIR)
    if spec.get("threads"):
        import mindspore as ms  # pylint: disable=import-outside-toplevel
        ms.device_context.cpu.op_tuning.threads_num(int(spec["threads"]))
    import train  # pylint: disable=import-outside-toplevel
    import eval as evaluate_script  # pylint: disable=import-outside-toplevel
    from src.context import set_context  # pylint: disable=import-outside-toplevel
    from src.run_files import load_run_config, resolve_checkpoint  # pylint: disable=import-outside-toplevel
    argv = [f"--config_path={spec['config']}", f"--ckpt_path={spec['ckpt_dir']}", f"--data_path={spec['data_path']}",
            f"--seed={spec['seed']}", "--split_seed=0"] + [f"--{k}={v}" for k, v in spec["overrides"].items()]
    load_before = os.getloadavg()
    start = time.time()
    done_path = os.path.join(spec["ckpt_dir"], "train_done.json")
    if os.path.isfile(done_path):  # training finished earlier (e.g. the evaluation failed): evaluate again only
        with open(done_path, encoding="utf-8") as f:
            state = json.load(f)
    else:
        state = train.main(argv)
        state = {"best_epoch": state["best_epoch"], "history": state["history"],
                 "train_wall_s": round(time.time() - start, 1)}
        atomic_write(done_path, lambda f: json.dump(state, f), binary=False)
    train_wall = state["train_wall_s"]
    row = {"run": spec["run"], "seed": spec["seed"], "config": spec["config"],
           "overrides": json.dumps(spec["overrides"], sort_keys=True), "best_epoch": state["best_epoch"],
           "epochs_run": len(state["history"]), "train_wall_s": round(train_wall, 1)}
    history = state["history"]
    row["train_s_per_epoch"] = round(float(np.mean([h["train_seconds"] for h in history])), 1)
    row.update(loss_columns(history, state["best_epoch"]))
    for split in ("valid", "test"):
        cfg = load_run_config([f"--ckpt_path={spec['ckpt_dir']}", f"--eval_split={split}"])
        set_context(cfg)
        result, _ = evaluate_script.evaluate(cfg, resolve_checkpoint(cfg))
        for key in METRICS:
            row[f"{split}_{key}"] = round(float(result["metrics"][key]), 4)
        row[f"{split}_users"] = result["n_queries"]
        if "index" in result:
            row["index_density"] = round(float(result["index"]["density"]), 4)
            row["index_codes"] = int(result["index"]["codes"])
            row["score_bias"] = result["index"]["score_bias"]
    usage = resource.getrusage(resource.RUSAGE_SELF)
    row.update(wall_s=round(time.time() - start, 1), cpu_s=round(usage.ru_utime + usage.ru_stime, 1),
               peak_rss_mb=round(usage.ru_maxrss / 1024.0),  # Linux reports KiB
               load_avg_start=round(load_before[0], 2), load_avg_end=round(os.getloadavg()[0], 2))
    atomic_write(spec["result"], lambda f: json.dump(row, f, indent=1), binary=False)


def loss_columns(history, best_epoch):
    """Training losses of the best epoch (epoch means of the sampled softmax, the commitment loss and, when trained
    with them, the sparsity term and the dense softmax) and its codebook perplexities (SparCode), from the trainer's per-epoch history."""
    record = next((h for h in history if h["epoch"] == best_epoch), history[-1])
    out = {"softmax_loss": round(float(record["softmax_loss"]), 4),
           "commit_loss": round(float(record["commit_loss"]), 5)}
    for key in ("sparsity_loss", "dense_loss"):   # unweighted terms of runs with sparsity_weight / dense_loss_weight
        if record.get(key):
            out[key] = round(float(record[key]), 5)
    if record.get("codebook_perplexity"):
        out["codebook_perplexity"] = "/".join(f"{p:.1f}" for p in record["codebook_perplexity"])
    return out


# ---------------------------------------------------------------------------------------------- references
def _reference_data(config, data_path, protocol, ratings_file=None):
    """(cfg, data, overrides) of a non-trained reference on the plan's split (split_seed 0)."""
    from src.config import load_config  # pylint: disable=import-outside-toplevel
    from src.data.dataset import build_data  # pylint: disable=import-outside-toplevel
    values = {"data_path": data_path, "split_protocol": protocol, "split_seed": 0}
    if ratings_file:
        values["ratings_file"] = ratings_file
    cfg = load_config(os.path.join(MODEL_DIR, config), values)
    overrides = {key: values[key] for key in ("split_protocol", "ratings_file") if key in values}
    return cfg, build_data(cfg), overrides


def _reference_row(run, config, overrides, cfg, data, split_scores):
    """Valid and test metrics of split_scores(split) -> scores [n, n_items + 1] (column = item id), seen items
    excluded."""
    from src.metrics import evaluate_topk  # pylint: disable=import-outside-toplevel
    from src.scoring import topk_excluding  # pylint: disable=import-outside-toplevel
    row = {"run": run, "seed": 0, "config": config, "overrides": json.dumps(overrides)}
    for split_name in ("valid", "test"):
        split = data.split(split_name)
        ranked, _ = topk_excluding(split_scores(split), max(cfg.topk), split.seen_indptr, split.seen_items,
                                   dtype=np.float64)
        metrics = evaluate_topk(ranked, split.target_indptr, split.target_items, ks=tuple(cfg.topk))
        for key in METRICS:
            row[f"{split_name}_{key}"] = round(float(metrics[key]), 4)
        row[f"{split_name}_users"] = len(split)
    return row


def _protocol_tag(protocol):
    return "pu" if protocol == "per_user_time" else "users"


def popularity_rows(config, data_path, protocol, ratings_file=None):
    """Popularity ranking (known train positives counted per item, seen items excluded) on valid and test."""
    cfg, data, overrides = _reference_data(config, data_path, protocol, ratings_file)
    counts = np.bincount(data.user_pos_items, minlength=data.n_items + 1).astype(np.float64)
    # the same counts for every user
    return _reference_row(f"popularity_{_protocol_tag(protocol)}", config, overrides, cfg, data,
                          lambda split: np.broadcast_to(counts, (len(split), len(counts))))


# EASE (Steck, WWW 2019, "Embarrassingly shallow autoencoders"): an item-item model with the closed form
# B = I - P diag(1 / diag P), P = (X^T X + lambda I)^-1 (diag B = 0), X the binary user x item matrix of the train
# interactions. Scored here like SparCode's history tokenizer: from each query's last history_len items only,
# y(u, i) = sum_k B[h_k, i]. The sparse variants keep each history item's round(density * n_items) largest positive
# weights (negative weights dropped), i.e. an item-to-item table of that density.
EASE_LAMBDA = 200.0
EASE_DENSITIES = (None, 0.05, 0.02, 0.01)


def ease_weights(data, lam=EASE_LAMBDA):
    """B [n_items + 1, n_items + 1] (row/column 0 = padding, zero) from the train interactions."""
    n_cols = data.n_items + 1
    users = np.repeat(np.arange(data.n_users), np.diff(data.user_pos_indptr))
    x = np.zeros((data.n_users, n_cols))
    x[users, data.user_pos_items] = 1.0
    p = np.linalg.inv(x.T @ x + lam * np.eye(n_cols))
    b = -p / np.diag(p)[None, :]
    np.fill_diagonal(b, 0.0)
    b[0] = 0.0
    b[:, 0] = 0.0
    return b


def sparsify_rows(b, density):
    """Keep each row's round(density * n_items) largest weights, then drop the non-positive ones."""
    keep = max(1, int(round(density * (b.shape[1] - 1))))
    threshold = -np.sort(-b, axis=1)[:, keep - 1:keep]
    return np.where((b >= threshold) & (b > 0), b, 0.0)


def ease_rows(config, data_path, protocol, ratings_file=None, lam=EASE_LAMBDA, densities=EASE_DENSITIES):
    """EASE item-item reference rows, dense and at each density, scored from the last history_len items."""
    cfg, data, overrides = _reference_data(config, data_path, protocol, ratings_file)
    dense = ease_weights(data, lam)
    rows = []
    for density in densities:
        b = dense if density is None else sparsify_rows(dense, density)
        run = f"ease_{_protocol_tag(protocol)}_l{lam:g}" + ("" if density is None else f"_d{density:g}")

        def scores(split, b=b):
            hist = np.zeros((len(split), b.shape[0]))
            np.add.at(hist, (np.repeat(np.arange(len(split)), split.hist.shape[1]), split.hist.ravel()), 1.0)
            return hist @ b                      # row 0 of b is zero: padding adds nothing

        row = _reference_row(run, config, dict(overrides, ease_lambda=lam), cfg, data, scores)
        row["index_density"] = round(float((b[1:, 1:] != 0).mean()), 4)
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------------------------- tables
COLUMNS = ("run", "seed", "config", "overrides", "best_epoch", "epochs_run", "valid_users", "valid_recall@20",
           "valid_recall@50", "valid_ndcg@50", "test_users", "test_recall@20", "test_recall@50", "test_ndcg@50",
           "index_density", "index_codes", "score_bias", "softmax_loss", "commit_loss", "sparsity_loss",
           "dense_loss", "codebook_perplexity", "train_s_per_epoch", "train_wall_s", "wall_s", "cpu_s", "peak_rss_mb",
           "load_avg_start", "load_avg_end")


def write_tables(out, rows):
    """<out>/results.csv (every row) and <out>/results.md (mean +- std over seeds per run)."""
    with open(os.path.join(out, "results.csv"), "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
    by_run = {}
    for row in rows:
        by_run.setdefault(row["run"], []).append(row)
    lines = ["| run | seeds | valid R@50 | test R@20 | test R@50 | test NDCG@50 | index density | s/epoch | "
             "epochs (best) |", "|---|---|---|---|---|---|---|---|---|"]

    def stat(group, key):
        values = [g[key] for g in group if g.get(key) is not None]
        if not values:
            return "-"
        if len(values) == 1:
            return f"{values[0]:.4f}"
        return f"{np.mean(values):.4f} ± {np.std(values, ddof=1):.4f}"

    for run, group in by_run.items():
        epochs = ", ".join(f"{g.get('epochs_run', '-')} ({g.get('best_epoch', '-')})" for g in group)
        lines.append(f"| {run} | {len(group)} | {stat(group, 'valid_recall@50')} | {stat(group, 'test_recall@20')} | "
                     f"{stat(group, 'test_recall@50')} | {stat(group, 'test_ndcg@50')} | "
                     f"{stat(group, 'index_density')} | {stat(group, 'train_s_per_epoch')} | {epochs} |")
    with open(os.path.join(out, "results.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def load_rows(out):
    runs_dir = os.path.join(out, "runs")
    rows = []
    for name in sorted(os.listdir(runs_dir)) if os.path.isdir(runs_dir) else []:
        if name.endswith(".json") and not name.startswith("."):  # .<run>.spec.json are the workers' inputs
            with open(os.path.join(runs_dir, name), encoding="utf-8") as f:
                rows.append(json.load(f))
    return rows


def run_overrides(overrides, out, seed):
    """The overrides of one (run, seed): "{out}" and "{seed}" in string values name files of other runs of the plan
    (e.g. the warm-start checkpoint of the same-seed two-tower)."""
    return {key: value.format(out=out, seed=seed) if isinstance(value, str) else value
            for key, value in overrides.items()}


def run_plan(plan, data_path, out, only=None, seeds=None, threads=0, ratings_file=None):
    """Runs the plan's missing (run, seed) results; ratings_file (if given) is a data override of every run."""
    runs_dir = os.path.join(out, "runs")
    os.makedirs(runs_dir, exist_ok=True)
    protocols = set(REFERENCE_ONLY.get(plan, ()))
    for run, config, overrides, run_seeds in PLANS[plan]:
        protocols.add((config, overrides.get("split_protocol", "users")))
        if only and run not in only:
            continue
        if ratings_file:
            overrides = dict(overrides, ratings_file=ratings_file)
        for seed in run_seeds:
            result = os.path.join(runs_dir, f"{run}-seed{seed}.json")
            if os.path.isfile(result) or (seeds and seed not in seeds):
                continue
            spec = {"run": run, "seed": seed, "config": config, "overrides": run_overrides(overrides, out, seed),
                    "data_path": data_path,
                    "ckpt_dir": os.path.join(out, "ckpt", f"{run}-seed{seed}"), "result": result,
                    "threads": threads}
            spec_path = os.path.join(runs_dir, f".{run}-seed{seed}.spec.json")
            with open(spec_path, "w", encoding="utf-8") as f:
                json.dump(spec, f)
            log_path = os.path.join(out, f"{run}-seed{seed}.log")
            print(f"running {run} seed {seed} (log {log_path})", flush=True)
            with open(log_path, "w", encoding="utf-8") as log:
                rc = subprocess.call([sys.executable, os.path.abspath(__file__), f"--worker={spec_path}"],
                                     stdout=log, stderr=subprocess.STDOUT, cwd=MODEL_DIR)
            if rc != 0:
                raise SystemExit(f"{run} seed {seed} failed with exit code {rc}; see {log_path}")
            write_tables(out, load_rows(out))
    for config, protocol in sorted(protocols):
        name = f"popularity_{_protocol_tag(protocol)}-seed0.json"
        path = os.path.join(runs_dir, name)
        if not os.path.isfile(path):
            with open(path, "w", encoding="utf-8") as f:
                json.dump(popularity_rows(config, data_path, protocol, ratings_file), f, indent=1)
        if plan in EASE_PLANS and not os.path.isfile(os.path.join(runs_dir, f"ease_{_protocol_tag(protocol)}.done")):
            for row in ease_rows(config, data_path, protocol, ratings_file):
                with open(os.path.join(runs_dir, f"{row['run']}-seed0.json"), "w", encoding="utf-8") as f:
                    json.dump(row, f, indent=1)
            open(os.path.join(runs_dir, f"ease_{_protocol_tag(protocol)}.done"), "w", encoding="utf-8").close()
    rows = load_rows(out)
    write_tables(out, rows)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--plan", default="list", help=f"one of {sorted(PLANS)} or 'list'")
    parser.add_argument("--data_path", help="folder of the original MovieLens files (e.g. .../ml-100k)")
    parser.add_argument("--out", default="./results/movielens", help="output folder (runs/, ckpt/, results.*)")
    parser.add_argument("--only", default="", help="comma-separated run names of the plan to run (default all)")
    parser.add_argument("--seeds", default="", help="comma-separated seeds to run (default: the plan's seeds); lets "
                        "two processes share a plan")
    parser.add_argument("--threads", type=int, default=0, help="kernel threads per run (0 = MindSpore's default); 1 "
                        "lets two plans share a 2-core machine")
    parser.add_argument("--ratings_file", default="", help="ratings file name inside --data_path for every run and "
                        "popularity (e.g. ratings.partial-users1-2999.dat.gz); default: the config's")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker)
        return 0
    if args.plan == "list":
        list_plans()
        return 0
    if args.plan not in PLANS:
        parser.error(f"--plan: unknown plan {args.plan!r}; choose one of {sorted(PLANS)} or 'list'")
    if not args.data_path or not os.path.isdir(args.data_path):
        parser.error(f"--data_path: folder not found: {args.data_path!r}")
    only = {name for name in args.only.split(",") if name}
    unknown = only - {run for run, *_ in PLANS[args.plan]}
    if unknown:
        parser.error(f"--only: runs not in plan {args.plan}: {sorted(unknown)}")
    try:
        seeds = {int(seed) for seed in args.seeds.split(",") if seed.strip()}
    except ValueError:
        parser.error(f"--seeds: expected comma-separated integers, got {args.seeds!r}")
    if args.threads < 0:
        parser.error(f"--threads: must be >= 0, got {args.threads}")
    if args.ratings_file and not os.path.isfile(os.path.join(args.data_path, args.ratings_file)):
        parser.error(f"--ratings_file: {os.path.join(args.data_path, args.ratings_file)!r} not found")
    rows = run_plan(args.plan, os.path.abspath(args.data_path), os.path.abspath(args.out), only, seeds, args.threads,
                    args.ratings_file or None)
    with open(os.path.join(os.path.abspath(args.out), "results.md"), encoding="utf-8") as f:
        print(f.read())
    return 0 if rows else 1


if __name__ == "__main__":
    sys.exit(main())
