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
"""VGGSound-AVEL40K annotations (the DG-SCT zero-shot pre-training set): 141 event classes + background.

Files: ``VggsoundAVEL40kCategories.txt`` (one class name per line, 141 lines) and ``vggsound-avel40k_labels.csv``, a
CSV with a header and (at least) the columns ``video_id`` (an integer; media files are named by it zero-padded to 6
digits), ``category`` (one of the class names), ``label`` (a list of 10 per-second 0/1 flags, e.g.
``"[0, 1, 1, 0, 0, 0, 0, 0, 0, 0]"``) and ``split`` (``train`` / ``val`` / ``test``). Segment targets are one-hot
over the classes plus a last background column, as the official loader builds them: the video's class where the flag
is 1, background elsewhere. Errors name the file, line and column.
"""
import ast
import csv
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .ave import SegmentVideoSource
from .fewshot import first_k_per_class

REQUIRED_COLUMNS = ("video_id", "category", "label", "split")
CATEGORY_FILE = "VggsoundAVEL40kCategories.txt"
LABEL_FILE = "vggsound-avel40k_labels.csv"
NUM_SEGMENTS = 10
VIDEO_ID_DIGITS = 6


class VGGSoundAVELError(ValueError):
    """Malformed VGGSound-AVEL40K annotation file."""


@dataclass(frozen=True)
class VGGSoundAVELRecord:
    video_id: str                   # zero-padded file stem, e.g. "000123"
    category: str
    segments: Tuple[int, ...]       # per-second event flags
    split: str
    source: str                     # "file:line"


def read_categories(path) -> List[str]:
    path = Path(path)
    if not path.is_file():
        raise VGGSoundAVELError(f"{path}: category file not found")
    names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not names or len(set(names)) != len(names):
        raise VGGSoundAVELError(f"{path}: class names must be non-empty and unique")
    return names


def _parse_flags(text, where, num_segments):
    try:
        flags = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise VGGSoundAVELError(f"{where}: column 'label' is not a list literal: {text!r}") from None
    if (not isinstance(flags, (list, tuple)) or len(flags) != num_segments
            or any(isinstance(f, bool) or f not in (0, 1) for f in flags)):
        raise VGGSoundAVELError(f"{where}: column 'label' must list {num_segments} flags 0/1, got {text!r}")
    return tuple(int(f) for f in flags)


def read_labels_csv(path, categories: Sequence[str], split: Optional[str] = None,
                    num_segments: int = NUM_SEGMENTS) -> List[VGGSoundAVELRecord]:
    """Records of the CSV in file order (only ``split`` if given)."""
    path = Path(path)
    if not path.is_file():
        raise VGGSoundAVELError(f"{path}: label file not found")
    known = set(categories)
    records = []
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise VGGSoundAVELError(f"{path}: header lacks column(s) {missing} (found {reader.fieldnames})")
        for row in reader:
            where = f"{path}:{reader.line_num}"
            if split is not None and row["split"] != split:
                continue
            if row["category"] not in known:
                raise VGGSoundAVELError(f"{where}: column 'category' {row['category']!r} is not one of the "
                                        f"{len(categories)} classes")
            try:
                video_id = str(int(row["video_id"])).zfill(VIDEO_ID_DIGITS)
            except (TypeError, ValueError):
                raise VGGSoundAVELError(f"{where}: column 'video_id' must be an integer, got "
                                        f"{row['video_id']!r}") from None
            records.append(VGGSoundAVELRecord(video_id, row["category"],
                                              _parse_flags(row["label"], where, num_segments), row["split"], where))
    if not records:
        raise VGGSoundAVELError(f"{path}: no rows" + (f" in split {split!r}" if split else ""))
    return records


def segment_targets(record: VGGSoundAVELRecord, categories: Sequence[str]) -> np.ndarray:
    """[segments, classes + 1] one-hot: the record's class on event seconds, background (last column) elsewhere."""
    target = np.zeros((len(record.segments), len(categories) + 1), np.float32)
    column = list(categories).index(record.category)
    flags = np.asarray(record.segments, bool)
    target[flags, column] = 1.0
    target[~flags, -1] = 1.0
    return target


def vggsound_k_shot(records: Sequence[VGGSoundAVELRecord], categories: Sequence[str], shots: int) -> List[int]:
    """First ``shots`` training videos per class in file order, grouped in class-list order."""
    return first_k_per_class([r.category for r in records], categories, shots)


class VGGSoundAVELSource(SegmentVideoSource):
    """A VGGSound-AVEL40K split in the layout of the AVE data: <root>/VggsoundAVEL40kCategories.txt,
    <root>/vggsound-avel40k_labels.csv, frames/<video_id>/*.jpg and wave/<video_id>.npy (video ids zero-padded to 6
    digits); items (frames [T,3,S,S], waves [T,clip], labels [T, 141 + 1])."""

    def __init__(self, root, split, data_cfg, check_files=True):
        self.root = Path(root)
        self.cfg = data_cfg
        self.classes = read_categories(self.root / CATEGORY_FILE)
        self.records = read_labels_csv(self.root / LABEL_FILE, self.classes, split, data_cfg.num_segments)
        self.labels = np.stack([segment_targets(r, self.classes) for r in self.records])
        if check_files:
            self.check_files()
