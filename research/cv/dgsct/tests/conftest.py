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


@pytest.fixture
def ave_annotation_dir():
    root = shared_data_dir()
    path = root / "av" / "AVE" if root else None
    if path is None or not (path / "Annotations.txt").is_file():
        pytest.skip("real AVE annotation files not found (set SHARED_DATA_DIR)")
    return path


@pytest.fixture
def pynative():
    ms.set_context(mode=ms.PYNATIVE_MODE)
    yield
    ms.set_context(mode=ms.PYNATIVE_MODE)


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
def _isolated_execution_mode():
    """Entry points run in-process (train/eval/export mains) switch the global context to GRAPH_MODE: start and end
    every test in MindSpore's default PyNative mode so that each test runs as it does on its own."""
    ms.set_context(mode=ms.PYNATIVE_MODE)
    yield
    ms.set_context(mode=ms.PYNATIVE_MODE)
