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
"""AVE data pipeline in the downloaded format (official `DG-SCT/AVE/dataloader.py`): Annotations.txt, *Set.txt,
frames/<id>/*.jpg, wave/<id>.npy.

    <root>/Annotations.txt      header `Category&VideoID&Quality&StartTime&EndTime`, one row per annotated event
    <root>/trainSet.txt ...     the same rows (no header) of each split: train 3339 / val 402 / test 402
    <root>/categories.txt       optional class list, one name a line; default: first-appearance order of
                                Annotations.txt (the order of the authors' label files)
    <root>/frames/<id>/%08d.jpg frames; T = num_segments are read at int(linspace(1, n_frames, T))
    <root>/wave/<id>.npy        num_segments seconds of mono float samples (10 s at 32 kHz = 320000)

A sample is one annotation row, as in the official code (labels.h5 and the *_order.h5 files index Annotations.txt
rows). Its label [T, K+1] is one-hot per segment: the row's category on the whole seconds [StartTime, EndTime),
background (last column) elsewhere. The 45 videos with two rows (e.g. male and female speech over the same seconds)
are therefore two samples, each labelled with its own event only, sometimes in different splits; the one row with
StartTime = EndTime (0&0) is all background. Items: frames [T, 3, S, S], waves [T, clip] (second t tiled to the
clip length), labels [T, K+1], all float32.
"""
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .transforms import DataError, build_task_dataset, load_frames, load_wave_segments, sampled_frame_paths

SPLIT_FILES = {"train": "trainSet.txt", "val": "valSet.txt", "test": "testSet.txt"}
HEADER = "Category&VideoID&Quality&StartTime&EndTime"


@dataclass
class AVEDataOptions:
    """`data.options` of AVE: none (the official AVE loader has no mixup and one fixed layout)."""


@dataclass(frozen=True)
class AVERecord:
    category: str
    video_id: str
    quality: str
    start: int
    end: int
    source: str        # "file:line", for error messages

    @property
    def key(self):
        return self.category, self.video_id, self.quality, self.start, self.end


def parse_annotation_file(path, num_segments=10):
    """Parse `Category&VideoID&Quality&StartTime&EndTime` lines (a first header line is skipped).

    Whole-second times with 0 <= start <= end <= num_segments; a malformed line raises DataError naming file and line.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: AVE annotation file not found")
    records = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            line = line.strip()
            if not line or (number == 1 and line == HEADER):
                continue
            fields = [field.strip() for field in line.split("&")]
            where = f"{path}:{number}"
            if len(fields) != 5 or not fields[0] or not fields[1]:
                raise DataError(f"{where}: expected 'Category&VideoID&Quality&StartTime&EndTime', got {line!r}")
            try:
                start, end = int(fields[3]), int(fields[4])
            except ValueError:
                raise DataError(f"{where}: StartTime/EndTime must be whole seconds, got {line!r}") from None
            if not 0 <= start <= end <= num_segments:
                raise DataError(f"{where}: event [{start}, {end}) is not inside the {num_segments} segments: "
                                f"{line!r}")
            records.append(AVERecord(fields[0], fields[1], fields[2], start, end, where))
    if not records:
        raise DataError(f"{path}: no annotation rows")
    return records


def load_categories(root, annotations=None):
    """Class list: categories.txt if present, else the first-appearance order of Annotations.txt (the AVE order)."""
    listing = Path(root) / "categories.txt"
    if listing.is_file():
        names = [line.strip() for line in listing.read_text(encoding="utf-8").splitlines() if line.strip()]
        if len(set(names)) != len(names) or not names:
            raise DataError(f"{listing}: class names must be unique and non-empty")
        return names
    annotations = annotations or parse_annotation_file(Path(root) / "Annotations.txt")
    return list(dict.fromkeys(record.category for record in annotations))


def read_split(root, split, num_segments=10, annotations=None):
    """Rows of <split>Set.txt, each checked against Annotations.txt (the labels' source of truth)."""
    if split not in SPLIT_FILES:
        raise ValueError(f"unknown AVE split {split!r} (expected one of {sorted(SPLIT_FILES)})")
    annotations = annotations or parse_annotation_file(Path(root) / "Annotations.txt", num_segments)
    by_video = {}
    for record in annotations:
        by_video.setdefault(record.video_id, set()).add(record.key)
    ann_path = Path(root) / "Annotations.txt"
    records = parse_annotation_file(Path(root) / SPLIT_FILES[split], num_segments)
    for record in records:
        if record.video_id not in by_video:
            raise DataError(f"{record.source}: video {record.video_id!r} is not in {ann_path}")
        if record.key not in by_video[record.video_id]:
            raise DataError(f"{record.source}: row {'&'.join(map(str, record.key))!r} does not match the "
                            f"{ann_path} row(s) of video {record.video_id!r}")
    return records


def segment_labels(record, classes, num_segments=10):
    """[num_segments, K+1] one-hot: the event class inside [start, end), background (last column) elsewhere."""
    if record.category not in classes:
        raise DataError(f"{record.source}: category {record.category!r} is not in the class list "
                        f"({len(classes)} classes: {', '.join(classes[:3])}, ...)")
    labels = np.zeros((num_segments, len(classes) + 1), np.float32)
    labels[:, -1] = 1
    labels[record.start:record.end, -1] = 0
    labels[record.start:record.end, classes.index(record.category)] = 1
    return labels


class SegmentVideoSource:
    """Random-access split of videos stored as frames/<id>/*.jpg + wave/<id>.npy, yielding (frames [T,3,S,S],
    waves [T,clip], labels [T,K+1]). Subclasses set root, cfg, records (with video_id and source), classes and
    labels [N, T, K+1], then call check_files()."""
    columns = ("frames", "waves", "labels")

    def check_files(self):
        """Name the first missing frame folder / wave file before training starts."""
        for record in self.records:
            for path in (self.frame_dir(record), self.wave_path(record)):
                if not path.exists():
                    kind = "frame folder" if path.suffix != ".npy" else "wave file"
                    raise DataError(f"{path}: missing {kind}{self._context(record)}")

    @staticmethod
    def _context(record):
        return f" (video {record.video_id!r}, {record.source})"

    def frame_dir(self, record):
        return self.root / "frames" / record.video_id

    def wave_path(self, record):
        return self.root / "wave" / f"{record.video_id}.npy"

    def __len__(self):
        return len(self.records)

    def __getitem__(self, index):
        i = int(index)
        record, cfg = self.records[i], self.cfg
        context = self._context(record)
        paths = sampled_frame_paths(str(self.frame_dir(record)), cfg.num_segments, context=context)
        frames = load_frames(paths, cfg.image_size, context)
        waves = load_wave_segments(str(self.wave_path(record)), cfg.num_segments, cfg.audio_rate, cfg.clip_samples,
                                   context)
        return frames, waves, self.labels[i]


class AVESource(SegmentVideoSource):
    """Random-access AVE split yielding (frames [T,3,S,S], waves [T,clip], labels [T,K+1]) per annotation row."""

    def __init__(self, root, split, data_cfg, classes=None, check_files=True):
        self.root = Path(root)
        self.cfg = data_cfg
        annotations = parse_annotation_file(self.root / "Annotations.txt", data_cfg.num_segments)
        self.records = read_split(self.root, split, data_cfg.num_segments, annotations)
        self.classes = list(classes or load_categories(self.root, annotations))
        # labels are small: build them all now, so a category outside the class list fails before training
        self.labels = np.stack([segment_labels(r, self.classes, data_cfg.num_segments) for r in self.records])
        if check_files:
            self.check_files()


def build_ave_dataset(data_cfg, split, batch_size, training, rank=0, group_size=1):
    """mindspore.dataset pipeline: parallel workers; shuffle and full batches when training; one shard per rank."""
    source = AVESource(data_cfg.root, split, data_cfg)
    return build_task_dataset(source, data_cfg, batch_size, training, rank, group_size), source
