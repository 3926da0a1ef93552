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
"""src/atomic_file.py: a write lands whole or not at all, and it is the only place that moves files into place."""
import os
import re
from pathlib import Path

import numpy as np
import pytest

from src.atomic_file import atomic_output, write_text

MODEL_DIR = Path(__file__).resolve().parents[1]


def test_file_write_replaces_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "sub" / "wave.npy"
    with atomic_output(target) as tmp:
        np.save(tmp, np.arange(3, dtype=np.float32))     # np.save keeps a name that already ends with .npy
    with atomic_output(target) as tmp:
        np.save(tmp, np.ones(2, dtype=np.float32))
    np.testing.assert_array_equal(np.load(target), np.ones(2, dtype=np.float32))
    assert sorted(os.listdir(target.parent)) == ["wave.npy"]


def test_failed_write_keeps_the_previous_file(tmp_path):
    target = tmp_path / "metrics.json"
    write_text(target, "old")
    with pytest.raises(RuntimeError):
        with atomic_output(target) as tmp:
            Path(tmp).write_text("half", encoding="utf-8")
            raise RuntimeError("disk full")
    assert target.read_text(encoding="utf-8") == "old"
    assert os.listdir(tmp_path) == ["metrics.json"]


def test_folder_output_replaces_an_existing_folder(tmp_path):
    folder = tmp_path / "frames" / "video1"
    for content in ("first", "second"):
        with atomic_output(folder) as tmp:
            os.makedirs(tmp)
            Path(tmp, "00000001.jpg").write_text(content, encoding="utf-8")
    assert (folder / "00000001.jpg").read_text(encoding="utf-8") == "second"
    assert os.listdir(folder.parent) == ["video1"]


def test_only_atomic_file_moves_files_into_place():
    """No second copy of the temp-file + os.replace logic in the model's code (tests excluded)."""
    sources = list(MODEL_DIR.glob("*.py")) + list((MODEL_DIR / "src").rglob("*.py"))
    offenders = [str(path.relative_to(MODEL_DIR)) for path in sources
                 if path != MODEL_DIR / "src" / "atomic_file.py"
                 and re.search(r"os\.replace\(|os\.rename\(|mkstemp\(|\.replace\(path\)", path.read_text("utf-8"))]
    assert offenders == []
