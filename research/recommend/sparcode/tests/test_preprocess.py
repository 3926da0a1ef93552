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
"""preprocess.py: synthetic and MovieLens to a processed folder that build_data then reuses."""
import os
import subprocess
import sys

import numpy as np
import pytest

import preprocess
from src.config import load_config
from src.data.dataset import RecData, build_data

MODEL_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = os.path.join(MODEL_DIR, "configs", "synthetic_tiny.yaml")
ML100K = os.path.join(MODEL_DIR, "configs", "ml100k.yaml")


def test_synthetic_preprocess_prints_certificate(tmp_path, capsys):
    out = str(tmp_path / "tiny")
    assert preprocess.main([f"--config_path={TINY}", f"--processed_path={out}"]) == 0
    text = capsys.readouterr().out
    assert "oracle (test): recall@50" in text and "rank certificate" in text
    assert "two-tower d=8 " in text and "two-tower d=128" in text
    data = RecData.load(out)
    cfg = load_config(TINY, {"processed_path": out})
    again = build_data(cfg)  # same signature -> the saved folder is reused, identical arrays
    assert np.array_equal(again.train_hist, data.train_hist) and again.meta["signature"] == data.meta["signature"]


def test_movielens_preprocess_prints_stats_and_drops(shared_data_dir, tmp_path, capsys):
    raw = os.path.join(shared_data_dir, "movielens", "ml-100k")
    if not os.path.isdir(raw):
        pytest.skip("ml-100k not present")
    out = str(tmp_path / "ml100k")
    assert preprocess.main([f"--config_path={ML100K}", f"--data_path={raw}", f"--processed_path={out}",
                            "--max_examples_per_user=10"]) == 0
    text = capsys.readouterr().out
    for expected in ("dataset ml-100k: 943 users", "count raw_ratings: 100000", "count kcore_items:",
                     "count duplicate_ratings: 0", "valid:", "test:"):
        assert expected in text
    data = RecData.load(out)
    assert np.bincount(data.train_users).max() <= 10


def test_errors_exit_with_message(tmp_path, capsys):
    assert preprocess.main([f"--config_path={ML100K}", f"--processed_path={tmp_path}",
                            f"--data_path={tmp_path / 'missing'}"]) == 2
    assert "data folder not found" in capsys.readouterr().err
    assert preprocess.main([f"--config_path={TINY}"]) == 2
    assert "processed_path" in capsys.readouterr().err
    assert preprocess.main([f"--config_path={TINY}", "--bogus=1"]) == 2
    assert "unknown config key 'bogus'" in capsys.readouterr().err


def test_command_line_entry_point(tmp_path):
    result = subprocess.run([sys.executable, "preprocess.py", f"--config_path={TINY}",
                             f"--processed_path={tmp_path / 'out'}", "--seed=3"],
                            cwd=MODEL_DIR, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "saved to" in result.stdout and os.path.isfile(tmp_path / "out" / "meta.json")
