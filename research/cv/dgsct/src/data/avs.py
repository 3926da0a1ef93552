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
"""AVSBench (S4 single-source, MS3 multi-source) in the layout of the AVSBench release and DG-SCT (official
`avs_scripts/avs_s4/dataloader.py`, `config.py`).

    <root>/s4_meta_data.csv                header with at least `name,category,split` (release: name, a start
                                           time column, category, split; extra columns are ignored)
    <root>/visual_frames/<split>/<category>/<name>/<name>_<k>.png                k = 1..5, RGB
    <root>/gt_masks/<split>/<category>/<name>/<name>_<k>.png                     train: k = 1; val/test: 1..5
    <root>/wave/<split>/<category>/AVS.npy                                       pickled dict "<name>.wav" -> wave

    <root>/ms3_meta_data.csv               header with at least `name,split`
    <root>/visual_frames/<name>/<name>.mp4_<k>.png                               k = 1..5 (no split folder)
    <root>/gt_masks/<split>/<name>/<name>_<k>.png                                k = 1..5 in every split
    <root>/wave/<split>/AVS.npy                                                  pickled dict "<name>.wav" -> wave

`root` above is the release's `Single-source/s4_data` (or `Multi-sources/ms3_data`) folder and the csv sits one
level up, in the folder the configs call `data.root` (`release_paths`). Waves: the documented DG-SCT format is one
pickled dict per split (and category for S4) saved with np.save, 5 s at 32 kHz = 160000 samples per video; it
needs np.load(allow_pickle=True), so only open files you trust. `wave_format="per_video"` reads <name>.npy files
in the same folders instead (a plain float array, no pickle), e.g. when converting waves yourself; "auto" (the
default) uses AVS.npy when the folder has one and <name>.npy otherwise.

Per video: frames [5, 3, H, W] float32 (RGB/255, ImageNet-normalised; the model resizes them to the backbone
size), waves [5, clip] (second t of the wave tiled to the clip length, as the official loader), masks
[M, 1, H, W] float32: S4 read in PIL mode '1' -> {0, 1}; MS3 in mode 'P' -> palette index / 255 (ToTensor).
"""
import csv
import os
from dataclasses import dataclass
from typing import Dict, List, Optional

import numpy as np

from .transforms import (DataError, MixupOptions, build_task_dataset, load_frame, mixup_weights, read_image, read_wave,
                         task_options, tile_wave)

NUM_FRAMES = 5
SAMPLE_RATE = 32000
SPLITS = ("train", "val", "test")

# The 23 AVSBench single-source categories (AVSBench preprocessing script).
S4_CATEGORIES = (
    "baby_laughter", "female_singing", "male_speech", "dog_barking", "cat_meowing", "lions_roaring",
    "horse_clip-clop", "coyote_howling", "mynah_bird_singing", "playing_acoustic_guitar", "playing_tabla",
    "playing_violin", "playing_piano", "playing_ukulele", "playing_glockenspiel", "helicopter", "race_car",
    "driving_buses", "ambulance_siren", "typing_on_computer_keyboard", "chainsawing_trees", "cap_gun_shooting",
    "lawn_mowing")


AVSDataError = DataError   # the error type shared by all readers (src/data/transforms.py)


@dataclass
class AVSDataOptions(MixupOptions):
    """`data.options` of AVS S4 / MS3: the log-mel mixup weight only."""


@dataclass(frozen=True)
class AVSRecord:
    name: str
    split: str
    category: str      # "" for MS3
    row: int           # 1-based line number in the csv (header = line 1)


def release_paths(root, variant):
    """Release folder (Single-source/ or Multi-sources/) -> (data folder, meta csv)."""
    return os.path.join(root, f"{variant}_data"), os.path.join(root, f"{variant}_meta_data.csv")


def read_meta_csv(path: str, variant: str, split: Optional[str] = None,
                  categories=S4_CATEGORIES) -> List[AVSRecord]:
    """Parse s4_meta_data.csv / ms3_meta_data.csv; returns the records of `split` (all if None)."""
    if variant not in ("s4", "ms3"):
        raise ValueError(f"variant must be 's4' or 'ms3', got {variant!r}")
    if not os.path.isfile(path):
        raise AVSDataError(f"{path}: AVSBench meta csv not found")
    required = ("name", "category", "split") if variant == "s4" else ("name", "split")
    records = []
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise AVSDataError(f"{path}: empty file, expected a header with columns {', '.join(required)}")
        header = [h.strip() for h in header]
        missing = [c for c in required if c not in header]
        if missing:
            raise AVSDataError(f"{path}: line 1: header {header} lacks column(s) {missing}")
        col = {c: header.index(c) for c in required}
        for line, row in enumerate(reader, start=2):
            if not row or all(not v.strip() for v in row):
                continue
            if len(row) != len(header):
                raise AVSDataError(f"{path}: line {line}: expected {len(header)} comma-separated fields, got "
                                   f"{len(row)}: {row}")
            name, row_split = row[col["name"]].strip(), row[col["split"]].strip()
            category = row[col["category"]].strip() if variant == "s4" else ""
            if not name:
                raise AVSDataError(f"{path}: line {line}: empty video name")
            if row_split not in SPLITS:
                raise AVSDataError(f"{path}: line {line}: unknown split {row_split!r} (expected one of {SPLITS})")
            if variant == "s4" and category not in categories:
                raise AVSDataError(f"{path}: line {line}: unknown category {category!r} for video {name!r}")
            if split is None or row_split == split:
                records.append(AVSRecord(name, row_split, category, line))
    return records


def _video_dir(root, record, variant, kind):
    if variant == "s4":
        return os.path.join(root, kind, record.split, record.category, record.name)
    if kind == "visual_frames":
        return os.path.join(root, kind, record.name)
    return os.path.join(root, kind, record.split, record.name)


def frame_paths(root, record, variant) -> List[str]:
    folder = _video_dir(root, record, variant, "visual_frames")
    stem = record.name if variant == "s4" else record.name + ".mp4"
    return [os.path.join(folder, f"{stem}_{k}.png") for k in range(1, NUM_FRAMES + 1)]


def mask_paths(root, record, variant) -> List[str]:
    folder = _video_dir(root, record, variant, "gt_masks")
    count = 1 if (variant == "s4" and record.split == "train") else NUM_FRAMES
    return [os.path.join(folder, f"{record.name}_{k}.png") for k in range(1, count + 1)]


def wave_path(root, record, variant, wave_format="dict") -> str:
    folder = os.path.join(root, "wave", record.split, *([record.category] if variant == "s4" else []))
    if wave_format == "auto":
        wave_format = "dict" if os.path.isfile(os.path.join(folder, "AVS.npy")) else "per_video"
    return os.path.join(folder, "AVS.npy" if wave_format == "dict" else record.name + ".npy")


def _context(record):
    return f" of video {record.name!r} (csv line {record.row})"


def load_mask(path, record, variant, image_size) -> np.ndarray:
    """Mask PNG -> [1, H, W] float32: S4 PIL mode '1' (0/1), MS3 mode 'P' (palette index / 255)."""
    mask = read_image(path, "1" if variant == "s4" else "P", "mask", _context(record))
    if mask.shape != (image_size, image_size):
        raise AVSDataError(f"{path}: mask{_context(record)} is {mask.shape[1]}x{mask.shape[0]}, its frames are "
                           f"{image_size}x{image_size}")
    mask = mask.astype(np.float32) if variant == "s4" else mask.astype(np.float32) / 255.0
    return mask[None]


class WaveStore:
    """Loads wave files lazily and keeps the per-split dicts (each holds a whole split/category)."""

    def __init__(self, root, variant, wave_format="auto"):
        if wave_format not in ("auto", "dict", "per_video"):
            raise ValueError(f"wave_format must be 'auto', 'dict' or 'per_video', got {wave_format!r}")
        self.root, self.variant, self.wave_format = root, variant, wave_format
        self._dicts: Dict[str, dict] = {}

    def raw(self, record):
        path = wave_path(self.root, record, self.variant, self.wave_format)
        if not os.path.isfile(path):
            raise AVSDataError(f"{path}: wave file for video {record.name!r} (csv line {record.row}) not found")
        if not path.endswith("AVS.npy"):
            return read_wave(path, _context(record)), path
        if path not in self._dicts:
            try:
                table = np.load(path, allow_pickle=True).item()
            except (OSError, ValueError) as err:
                raise AVSDataError(f"{path}: not a pickled dict of waves ({err})") from err
            if not isinstance(table, dict):
                raise AVSDataError(f"{path}: expected a pickled dict name.wav -> samples, got {type(table)}")
            self._dicts[path] = table
        key = record.name + ".wav"
        if key not in self._dicts[path]:
            raise AVSDataError(f"{path}: no entry {key!r} for video {record.name!r} (csv line {record.row})")
        return self._dicts[path][key], path


class AVSBenchSource:
    """Random-access AVSBench split for mindspore.dataset.GeneratorDataset.

    Items: (frames [5,3,S,S], waves [5,clip], mixup_lambda [5], masks [M,1,S,S]). M = 1 for S4 train, else 5;
    mixup_lambda ~ Beta(alpha, alpha) per frame when mixup_alpha > 0 (training; official 0.5), else ones; item i is
    `records[i]` (eval datasets are not shuffled, so batch order gives the video names).
    """

    columns = ("frames", "waves", "mixup_lambda", "masks")

    def __init__(self, root, meta_csv, variant, split, image_size=224, segment_samples=SAMPLE_RATE,
                 clip_samples=None, wave_format="auto", check_files=True, mixup_alpha=0.0, seed=None):
        self.root, self.variant, self.split = root, variant, split
        self.mixup_alpha = float(mixup_alpha)
        self.rng = np.random.default_rng(seed)
        self.image_size = int(image_size)
        self.segment, self.clip = int(segment_samples), clip_samples
        self.records = read_meta_csv(meta_csv, variant, split)
        if not self.records:
            raise AVSDataError(f"{meta_csv}: no video of split {split!r}")
        self.waves = WaveStore(root, variant, wave_format)
        if check_files:   # fail before training starts, naming the first missing file
            for record in self.records:
                for path in frame_paths(root, record, variant) + mask_paths(root, record, variant):
                    if not os.path.isfile(path):
                        kind = "frame" if "visual_frames" in path else "mask"
                        raise AVSDataError(f"{path}: missing {kind} of video {record.name!r} (csv line "
                                           f"{record.row})")

    def __len__(self):
        return len(self.records)

    def __getitem__(self, index):
        record = self.records[int(index)]
        # frames stay at their file size (the model resizes them); a file of another size is an error
        frames = np.stack([load_frame(p, self.image_size, _context(record), resize=False)
                           for p in frame_paths(self.root, record, self.variant)])
        masks = np.stack([load_mask(p, record, self.variant, self.image_size)
                          for p in mask_paths(self.root, record, self.variant)])
        raw, path = self.waves.raw(record)
        waves = tile_wave(raw, path, NUM_FRAMES, self.segment, self.clip, _context(record))
        return frames, waves, mixup_weights(self.rng, NUM_FRAMES, self.mixup_alpha), masks


def build_avs_dataset(variant, data_cfg, split, batch_size, training, rank=0, group_size=1):
    """Task-registry builder: mindspore.dataset over the release folder `data_cfg.root` (parallel workers, sharded
    under data parallel) -> (dataset, source). Columns: frames, waves, mixup_lambda, masks. Training draws log-mel
    mixup weights with data.options.mixup_alpha (0 = off)."""
    data_root, meta_csv = release_paths(data_cfg.root, variant)
    alpha = task_options(data_cfg, AVSDataOptions).mixup_alpha if training else 0.0
    source = AVSBenchSource(data_root, meta_csv, variant, split, image_size=data_cfg.image_size,
                            segment_samples=data_cfg.audio_rate, clip_samples=data_cfg.clip_samples,
                            mixup_alpha=alpha)
    return build_task_dataset(source, data_cfg, batch_size, training, rank, group_size), source
