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
"""Training loop, checkpoints and evaluation entry point on the tiny synthetic preset."""
import json
import math
import os

import numpy as np
import mindspore as ms
import pytest
from mindspore import nn

import eval as eval_entry
from src.checkpoint import (CheckpointError, atomic_save_checkpoint, latest_checkpoint, load_checkpoint_into,
                            read_train_state)
from src.config import ConfigError, load_config
from src.data.dataset import build_data
from src.evaluation import brute_force_rank, metrics_for, split_inputs
from src.run_files import load_trained_model
from src.logging_utils import StepLogger, format_seconds, get_logger
from src.trainer import init_distributed


def test_short_run_lowers_the_loss(tiny_sparcode_run):
    history = tiny_sparcode_run["state"]["history"]
    assert len(history) == 2
    uniform_loss = math.log(1 + 10)          # sampled softmax of constant scores over 1 + 10 negatives
    first, last = history[0]["softmax_loss"], history[-1]["softmax_loss"]
    assert last < first - 0.02, (first, last)
    assert last < uniform_loss - 0.05, (last, uniform_loss)
    assert all(np.isfinite(h["loss"]) for h in history)


def test_checkpoint_holds_model_ema_bias_optimizer_and_loop_state(tiny_sparcode_run):
    ckpt_dir = tiny_sparcode_run["ckpt_dir"]
    path = latest_checkpoint(ckpt_dir, "sparcode")
    assert path.endswith("sparcode-e0001.ckpt")
    params = ms.load_checkpoint(path)
    for name in ("quantizer.codebooks", "quantizer.ema_count", "quantizer.ema_sum", "score_bias",
                 "beta1_power", "beta2_power"):
        assert name in params, name
    assert any(name.startswith("moment1.") for name in params)
    state = read_train_state(params, path)
    steps = tiny_sparcode_run["state"]["global_step"]
    assert state["epoch"] == 2 and state["global_step"] == steps and steps > 0
    assert state["score_bias"] == pytest.approx(float(params["score_bias"].asnumpy()))
    assert os.path.isfile(os.path.join(ckpt_dir, "best.ckpt"))
    assert os.path.isfile(os.path.join(ckpt_dir, "index.npz"))
    assert not [f for f in os.listdir(ckpt_dir) if f.startswith(".tmp")]
    saved = load_config(os.path.join(ckpt_dir, "config.yaml"))
    assert saved.model == "sparcode" and saved.epochs == 2 and saved.ckpt_path == ckpt_dir


def test_atomic_save_keeps_the_previous_file_when_writing_fails(tmp_path, monkeypatch):
    net = nn.Dense(3, 2)
    path = str(tmp_path / "net-e0000.ckpt")
    atomic_save_checkpoint(path, net, None, {"epoch": 1})
    before = open(path, "rb").read()

    def broken_save(params, file_name, append_dict=None):
        with open(file_name, "wb") as f:
            f.write(b"partial")
        raise OSError("disk full")
    monkeypatch.setattr(ms, "save_checkpoint", broken_save)
    with pytest.raises(OSError, match="disk full"):
        atomic_save_checkpoint(path, net, None, {"epoch": 2})
    assert open(path, "rb").read() == before
    assert sorted(os.listdir(tmp_path)) == ["net-e0000.ckpt"]


def test_loading_a_mismatched_checkpoint_names_the_parameters(tmp_path):
    path = str(tmp_path / "a-e0000.ckpt")
    atomic_save_checkpoint(path, nn.Dense(3, 2), None, {})
    with pytest.raises(CheckpointError, match="shape mismatches"):
        load_checkpoint_into(path, nn.Dense(4, 2))
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint_into(str(tmp_path / "missing.ckpt"), nn.Dense(3, 2))


def test_eval_goes_through_the_index_and_matches_brute_force(tiny_sparcode_run, tmp_path):
    ckpt_dir = tiny_sparcode_run["ckpt_dir"]
    metrics_file = str(tmp_path / "metrics.json")
    result = eval_entry.main([f"--ckpt_path={ckpt_dir}", f"--metrics_file={metrics_file}"])
    with open(metrics_file, encoding="utf-8") as f:
        saved = json.load(f)
    assert saved["retrieval"] == "sparse code index" and not saved["index_rebuilt"]
    assert saved["codes_added_on_the_fly"] == 0
    for key in ("codes", "nnz", "mean_posting_length", "max_posting_length", "density", "bytes"):
        assert key in saved["index"], key
    assert len(saved["metrics"]) == 16 and saved["metrics"] == result["metrics"]
    # the index ranking is the quantized model's own ranking: brute force gives the same metrics
    cfg = load_config(os.path.join(ckpt_dir, "config.yaml"))
    data = build_data(cfg)
    model = load_trained_model(cfg, data, os.path.join(ckpt_dir, "best.ckpt"))
    feats, hist, split = split_inputs(data, cfg.eval_split)
    ranked = brute_force_rank(model, feats, hist, split.seen_indptr, split.seen_items, data.n_items, max(cfg.topk))
    brute = metrics_for(ranked, split, cfg.topk)
    for key, value in saved["metrics"].items():
        assert brute[key] == pytest.approx(value, abs=1e-6), key


def test_eval_of_two_tower_is_brute_force(tiny_two_tower_run, tmp_path):
    result = eval_entry.main([f"--ckpt_path={tiny_two_tower_run['ckpt_dir']}",
                              f"--metrics_file={tmp_path / 'tt.json'}"])
    assert result["retrieval"].startswith("brute force")
    assert 0.0 < result["metrics"]["recall@50"] <= 1.0
    assert not os.path.exists(os.path.join(tiny_two_tower_run["ckpt_dir"], "index.npz"))


def test_bad_command_line_key_is_rejected(tmp_path):
    import train
    with pytest.raises(ConfigError, match="no_such_key"):
        train.main([f"--ckpt_path={tmp_path}", "--no_such_key=1"])
    with pytest.raises(ConfigError, match="lr"):
        train.main([f"--ckpt_path={tmp_path}", "--lr=fast"])


def test_init_distributed_is_a_no_op_without_msrun(monkeypatch):
    for var in ("MS_ROLE", "RANK_SIZE"):
        monkeypatch.delenv(var, raising=False)
    assert init_distributed() == (0, 1)


def test_step_logger_reports_throughput_and_eta(caplog):
    logger = get_logger("sparcode-test")
    logger.propagate = True
    step_logger = StepLogger(logger, total_steps=10, global_batch=32, log_every=5)
    with caplog.at_level("INFO", logger=logger.name):
        assert not step_logger.step(3, 0, {"loss": 1.0}, 1e-3)
        assert step_logger.step(5, 0, {"loss": 1.0, "commit": 0.5}, 1e-3)
    line = caplog.records[-1].getMessage()
    for part in ("step 5/10", "loss=1.00000", "commit=0.50000", "lr=0.001", "samples/s=", "eta=0:00:"):
        assert part in line, (part, line)
    assert format_seconds(3725) == "1:02:05"


def test_sparcode_validation_goes_through_the_index_and_equals_brute_force(tiny_sparcode_run):
    """train.py's per-epoch validation of SparCode scores each distinct query code once (an index of the valid
    users' codes) and gives exactly the brute-force metrics of the quantized model."""
    from src.evaluation import make_validation_fn
    ckpt_dir = tiny_sparcode_run["ckpt_dir"]
    cfg = load_config(os.path.join(ckpt_dir, "config.yaml"))
    data = build_data(cfg)
    model = load_trained_model(cfg, data, os.path.join(ckpt_dir, "best.ckpt"))
    feats, hist, split = split_inputs(data, "valid")
    ranked = brute_force_rank(model, feats, hist, split.seen_indptr, split.seen_items, data.n_items, max(cfg.topk))
    brute = metrics_for(ranked, split, cfg.topk)
    calls = []
    original = type(model).code_ids
    model.code_ids = lambda *args: calls.append(1) or original(model, *args)
    through_index = make_validation_fn(cfg, data)(model)
    assert calls, "validation did not go through the query codes"
    assert set(through_index) == set(brute)
    for key, value in brute.items():
        assert through_index[key] == pytest.approx(value, abs=1e-6), key
