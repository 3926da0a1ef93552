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
"""Shared pytest setup: the model folder on sys.path (tests import `src...`) and the shared-data locator."""
import os
import sys

import pytest

MODEL_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if MODEL_DIR not in sys.path:
    sys.path.insert(0, MODEL_DIR)


# ---------------------------------------------------------------------------------------------- markers
# `bash run_tests.sh` (CI) runs every test. While developing:   python -m pytest tests -m "not slow"
# (in the CI check of 2026-12-06 on 2 cores its 197 tests took 35 s of the whole suite's 154 s).
# `slow`: measured at 4 s or more in a CI run on 2 cores (training runs, benchmarks, msrun workers).
MARKERS = {
    "slow": "takes 4 s or more (a training run, a benchmark command, msrun workers); deselect with -m 'not slow'",
    "parity": "compares against a reference implementation in another framework (needs requirements-parity.txt)",
    "distributed": "starts msrun worker processes",
}
# file (every test in it) or file::test -> its markers
MARKED = {
    "test_quality.py": ("slow",),
    "test_benchmark_train.py": ("slow",),
    "test_distributed.py": ("slow", "distributed"),
    "test_resume.py::test_resumed_run_equals_uninterrupted_run": ("slow",),
    "test_faults.py::test_kill_before_best_copy_is_repaired_by_resume_and_by_eval": ("slow",),
    "test_benchmark.py::test_quick_benchmark_command": ("slow",),
    "test_train.py::test_eval_goes_through_the_index_and_matches_brute_force": ("slow",),
    "test_fast_paths.py::test_fused_train_step_equals_loss_then_ema_update": ("slow",),
}


def pytest_configure(config):
    for name, meaning in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {meaning}")


def pytest_collection_modifyitems(config, items):
    """Apply MARKED; a MARKED test that no longer exists in a collected file is an error, not a silent no-op."""
    modules = {}
    for item in items:
        modules[item.path.name] = item.module
        for key in (item.path.name, f"{item.path.name}::{item.originalname}"):
            for name in MARKED.get(key, ()):
                item.add_marker(getattr(pytest.mark, name))
    stale = [key for key in MARKED if "::" in key and key.split("::")[0] in modules
             and not hasattr(modules[key.split("::")[0]], key.split("::")[1])]
    if stale:
        raise pytest.UsageError(f"tests/conftest.py MARKED names tests that do not exist: {stale}")


def find_shared_data_dir():
    """$SHARED_DATA_DIR, else the first `shared/data` found beside a parent folder of this file (repo sibling)."""
    env = os.environ.get("SHARED_DATA_DIR")
    if env:
        return env if os.path.isdir(env) else None
    here = MODEL_DIR
    while True:
        candidate = os.path.join(os.path.dirname(here), "shared", "data")
        if os.path.isdir(candidate):
            return candidate
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


@pytest.fixture(autouse=True)
def _isolated_execution_mode():
    """Entry points called in-process (train.main, eval.main, ...) switch the global context to GRAPH_MODE; restore
    MindSpore's default PyNative mode around every test so that each test runs as it does on its own."""
    import mindspore as ms  # pylint: disable=import-outside-toplevel
    ms.set_context(mode=ms.PYNATIVE_MODE)
    yield
    ms.set_context(mode=ms.PYNATIVE_MODE)


@pytest.fixture(scope="session")
def shared_data_dir():
    path = find_shared_data_dir()
    if path is None:
        pytest.skip("shared data folder not found (set SHARED_DATA_DIR)")
    return path


# ---------------------------------------------------------------------------------------------- [APP] fixtures
# One short SparCode run and one two-tower run on the "tiny" synthetic preset, shared by test_train / test_resume /
# test_export (training is the slow part: GRAPH_MODE compilation dominates). Dead-code restart is switched off in
# these runs (dead_code_threshold=0) because its in-graph RNG state cannot be checkpointed (see test_resume.py).
TINY_CONFIG = os.path.join(MODEL_DIR, "configs", "synthetic_tiny.yaml")
TINY_OVERRIDES = ["--epochs=2", "--dead_code_threshold=0.0", "--log_every=20", "--early_stop_patience=0"]


def run_train(ckpt_dir, *extra, model="sparcode"):
    """train.main in this process; returns the trainer state dict."""
    import train  # pylint: disable=import-outside-toplevel
    return train.main([f"--config_path={TINY_CONFIG}", f"--ckpt_path={ckpt_dir}", f"--model={model}",
                       *TINY_OVERRIDES, *extra])


@pytest.fixture(scope="session")
def tiny_sparcode_run(tmp_path_factory):
    ckpt_dir = str(tmp_path_factory.mktemp("tiny_sparcode"))
    state = run_train(ckpt_dir)
    return {"ckpt_dir": ckpt_dir, "state": state}


@pytest.fixture(scope="session")
def tiny_two_tower_run(tmp_path_factory):
    ckpt_dir = str(tmp_path_factory.mktemp("tiny_two_tower"))
    state = run_train(ckpt_dir, model="two_tower")
    return {"ckpt_dir": ckpt_dir, "state": state}


# ---------------------------------------------------------------------------------------------- README commands
def run_readme_commands(commands, tmp_path, timeout, placeholder="/path/to/ml-100k", make_data=None):
    """The README commands exactly as written (only the data folder `placeholder` replaced), after checking that both
    READMEs show each of them, run in a copy of the model folder (their relative outputs ./results and docs/ stay out
    of the repository) on a small data folder in the original format: make_data(tmp_path) -> folder, by default a
    50-user ML-100K folder; returns (model copy, data folder)."""
    import shlex  # pylint: disable=import-outside-toplevel
    import shutil  # pylint: disable=import-outside-toplevel
    import subprocess  # pylint: disable=import-outside-toplevel
    from test_data_movielens import real_or_handmade_100k  # pylint: disable=import-outside-toplevel
    for readme in ("README.md", "README_CN.md"):
        with open(os.path.join(MODEL_DIR, readme), encoding="utf-8") as f:
            text = f.read()
        for command in commands:
            assert command in text, (readme, command)
    model_dir = tmp_path / "sparcode"
    shutil.copytree(MODEL_DIR, model_dir, ignore=shutil.ignore_patterns("tests", "docs", "results", "__pycache__",
                                                                        "*.ckpt", "*.mindir"))
    (model_dir / "docs").mkdir()
    if make_data is None:
        data_path = real_or_handmade_100k(tmp_path, n_users=50, n_items=120, per_user=40)
    else:
        data_path = make_data(tmp_path)
    for command in commands:
        argv = shlex.split(command.replace(placeholder, str(data_path)))
        proc = subprocess.run([sys.executable] + argv[1:], cwd=model_dir, capture_output=True, text=True,
                              timeout=timeout, check=False)
        assert proc.returncode == 0, command + "\n" + proc.stdout[-3000:] + proc.stderr[-3000:]
    return model_dir, data_path
