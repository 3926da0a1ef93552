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
"""Shared pytest setup: model folder on sys.path, CPU device, shared-data lookup, small helpers."""
import inspect
import os
import sys
from pathlib import Path

import numpy as np
import pytest

MODEL_DIR = Path(__file__).resolve().parents[1]
if str(MODEL_DIR) not in sys.path:
    sys.path.insert(0, str(MODEL_DIR))

import mindspore as ms  # noqa: E402  (after sys.path setup)

ms.set_device("CPU")

# ------------------------------------------------------------------------------------------------ markers
# `bash run_tests.sh` (CI) runs every test. While developing:   python -m pytest tests -m "not slow"
# (in the CI check of 2026-12-06 on 2 cores its 300 tests took 65 s of the whole suite's 823 s).
#   slow         measured at 5 s or more in a CI run on 2 cores (training runs, export round trips, msrun, scripts)
#   parity       compares with a PyTorch reference (skips without requirements-parity.txt); set from the test's source
#   distributed  starts msrun workers
SLOW_TESTS = {
    "test_distributed_ave.py": "*", "test_reproducible.py": "*", "test_readme_demo.py": "*",
    "test_avvp_train.py": "*", "test_avqa_train.py": "*",
    "test_avs_train.py": "*", "test_export_ave.py": "*", "test_infer_ave.py": "*", "test_readme_convert.py": "*",
    "test_graph_warnings.py": "*", "test_attention.py": {"test_eval_output_bit_identical_to_nn_multihead_attention"},
    "test_train_ave.py": {"test_frozen_unchanged_trainable_changed", "test_beats_chance",
                          "test_early_stop_counts_evaluations_and_resumes_the_count"},
    "test_avvp_head.py": {"test_training_lowers_loss_and_export_roundtrip"},
    "test_avqa_head.py": {"test_training_lowers_loss_and_export_roundtrip"},
    "test_scripts.py": {"test_train_in_background_then_eval_with_relative_paths",
                        "test_background_job_failure_reaches_exit_status"},
    "test_parity_htsat.py": {"test_tables_equal_torchlibrosa_parameters"},
    "test_parity_swin.py": {"test_full_large_22k_layout_maps_completely",
                            "test_parity_large_dims_reduced_depth_via_lightning_file"},
    "test_parity_clip.py": {"test_vit_b32_full_size_matches_open_clip"},
    "test_profile_script.py": {"test_readme_profile_smoke_command_prints_the_breakdown"},
    "test_htsat.py": {"test_graph_mode_stepwise_api_equals_pynative_forward"},
    "test_fewshot_head.py": {"test_heads_compile_in_graph_mode"},
    "test_swin_v2.py": {"test_graph_mode_equals_pynative"},
    "test_compiled_step_grads.py": "*",
    "test_avs_head.py": {"test_head_shapes_and_official_relu_flag", "test_head_explicit_affinity_gives_same_logits"},
}
DISTRIBUTED_FILES = {"test_distributed_ave.py"}


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes 5 s or more on 2 cores; deselect with -m 'not slow'")
    config.addinivalue_line("markers", "parity: compares with a PyTorch reference (needs requirements-parity.txt)")
    config.addinivalue_line("markers", "distributed: starts msrun worker processes")


def _uses_torch(item):
    source = inspect.getsource(item.function)
    return "torch_or_skip(" in source or 'importorskip("torch' in source


def pytest_collection_modifyitems(config, items):
    """Marks from SLOW_TESTS / DISTRIBUTED_FILES / the test's source; a listed test that its file no longer defines
    is an error (so the list cannot silently go stale)."""
    modules = {}
    for item in items:
        name, test = item.path.name, item.originalname
        modules[name] = item.module
        slow = SLOW_TESTS.get(name, ())
        if slow == "*" or test in slow:
            item.add_marker(pytest.mark.slow)
        if name in DISTRIBUTED_FILES:
            item.add_marker(pytest.mark.distributed)
        if name.startswith("test_parity_") or _uses_torch(item):
            item.add_marker(pytest.mark.parity)
    missing = [f"{name}::{test}" for name, tests in SLOW_TESTS.items() if name in modules and tests != "*"
               for test in tests if not hasattr(modules[name], test)]
    if missing:
        raise pytest.UsageError(f"tests/conftest.py SLOW_TESTS names tests that do not exist: {missing}")


def shared_data_dir():
    """`$SHARED_DATA_DIR`, else the `shared/data` folder beside the repository root (walking up from here)."""
    env = os.environ.get("SHARED_DATA_DIR")
    if env:
        return Path(env)
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "data"
        if candidate.is_dir():
            return candidate
    return None


def shared_dataset_dir(relative, marker, what):
    """<shared data>/<relative> when it holds the file `marker`, else skip the test saying which files are missing."""
    root = shared_data_dir()
    path = root / relative if root else None
    if path is None or not (path / marker).is_file():
        pytest.skip(f"real {what} not found (set SHARED_DATA_DIR)")
    return path


@pytest.fixture
def ave_annotation_dir():
    return shared_dataset_dir("av/AVE", "Annotations.txt", "AVE annotation files")


@pytest.fixture
def graph_mode():
    ms.set_context(mode=ms.GRAPH_MODE)
    yield
    ms.set_context(mode=ms.PYNATIVE_MODE)


def torch_or_skip():
    """Import torch for an optional parity check (it is a parity extra, not a runtime dependency)."""
    return pytest.importorskip("torch")


def params_numpy(cell):
    return {p.name: p.asnumpy().copy() for p in cell.get_parameters()}


@pytest.fixture(autouse=True)
def _seed():
    np.random.seed(0)
    ms.set_seed(0)


@pytest.fixture(autouse=True)
def pynative():
    """Entry points run in-process (train/eval/export mains) switch the global context to GRAPH_MODE: start and end
    every test in MindSpore's default PyNative mode so that each test runs as it does on its own. The one
    PyNative reset of the suite (autouse); a test that relies on PyNative may still name it as a parameter."""
    ms.set_context(mode=ms.PYNATIVE_MODE)
    yield
    ms.set_context(mode=ms.PYNATIVE_MODE)


@pytest.fixture(scope="session")
def tiny_tokenizer(tmp_path_factory):
    """The tiny CLIP's vocabulary (600 ids = 512 byte symbols + 86 merges + 2 specials) in the released format,
    context length 16 (CLIPConfig.tiny)."""
    from src.data.fewshot_synthetic import write_clip_bpe
    from src.text.clip_bpe import CLIPTokenizer
    path = write_clip_bpe(tmp_path_factory.mktemp("vocab") / "bpe_tiny.txt.gz")
    return CLIPTokenizer(path, vocab_size=600, context_length=16)
