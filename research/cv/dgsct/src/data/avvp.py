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
"""LLP / AVVP data in the release layout (official `DG-SCT/AVVP/dataloader.py`).

    <ann>/AVVP_train.csv, AVVP_val_pd.csv, AVVP_test_pd.csv     tab-separated `filename<TAB>event_labels` (weak,
                                                                 comma-separated class names), header line
    <ann>/AVVP_eval_audio.csv, AVVP_eval_visual.csv              `filename<TAB>onset<TAB>offset<TAB>event_labels`
                                                                 (dense labels of val/test, integer seconds)
    <root>/frame/<id>/00000001.jpg ... 00000010.jpg              one frame per second
    <root>/wave/<id>.npy                                         10 s at 32 kHz (320000 samples)
    <root>/feats/r2plus1d_18/<id>.npy                            R(2+1)D-18 features [10, 512]

`filename` is `<YouTubeID>_<start>_<end>`; media files are named by the first 11 characters (the YouTube id), as
the official loader. Dense rows fill segments onset..offset-1 of their class (an empty or reversed interval, which the
authors' files contain a few of, marks nothing, as in the official evaluation); rows of clips outside the split
are ignored.

Per video: frames [10, 3, S, S] (RGB/255, bicubic resize without antialiasing to S x S, ImageNet normalisation),
wave [10, clip] (second t tiled to the clip length), video_st [10, 512], label [25] multi-hot.
"""
import csv
import os
from dataclasses import dataclass
from typing import List, Sequence, Tuple

import numpy as np

from .transforms import (DataError, MixupOptions, build_task_dataset, load_frame, load_wave_segments, mixup_weights,
                         task_options)

# Class order of the official loader and evaluation (index = position).
AVVP_CLASSES = (
    "Speech", "Car", "Cheering", "Dog", "Cat", "Frying_(food)", "Basketball_bounce", "Fire_alarm", "Chainsaw",
    "Cello", "Banjo", "Singing", "Chicken_rooster", "Violin_fiddle", "Vacuum_cleaner", "Baby_laughter",
    "Accordion", "Lawn_mower", "Motorcycle", "Helicopter", "Acoustic_guitar", "Telephone_bell_ringing",
    "Baby_cry_infant_cry", "Blender", "Clapping")
SPLIT_FILES = {"train": "AVVP_train.csv", "val": "AVVP_val_pd.csv", "test": "AVVP_test_pd.csv"}
DENSE_FILES = {"audio": "AVVP_eval_audio.csv", "visual": "AVVP_eval_visual.csv"}
NUM_SEGMENTS = 10
SAMPLE_RATE = 32000
ST_DIM = 512


AVVPDataError = DataError   # the error type shared by all readers (src/data/transforms.py)


@dataclass
class AVVPDataOptions(MixupOptions):
    """`data.options` of AVVP (LLP)."""
    st_dir: str = "feats/r2plus1d_18"    # R(2+1)D-18 features under the media folder
    media_dir: str = ""                  # frame/, wave/, feats/ folder; empty = <root>/LLP_dataset if present, else root


def media_id(filename):
    """Media files are named by the YouTube id = the first 11 characters of the csv filename."""
    return filename[:11]


def _rows(path, header):
    """Yield (line number, fields) of a tab-separated file after checking its header."""
    if not os.path.isfile(path):
        raise AVVPDataError(f"{path}: file not found")
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f, delimiter="\t")
        first = next(reader, None)
        if first is None or [h.strip() for h in first] != list(header):
            raise AVVPDataError(f"{path}: line 1: expected the header {'<TAB>'.join(header)!r}, got {first!r}")
        for fields in reader:
            if not any(field.strip() for field in fields):
                continue
            yield reader.line_num, [field.strip() for field in fields]


def _class_index(name, classes, path, line):
    try:
        return classes.index(name)
    except ValueError:
        raise AVVPDataError(f"{path}: line {line}: unknown class {name!r} (not one of the {len(classes)} "
                            f"LLP classes)") from None


def read_weak_labels(path, classes: Sequence[str] = AVVP_CLASSES) -> Tuple[List[str], np.ndarray, List[int]]:
    """AVVP_{train,val_pd,test_pd}.csv -> (filenames, multi-hot labels [N, K] float32, csv line numbers)."""
    classes = list(classes)
    names, labels, lines = [], [], []
    for line, fields in _rows(path, ("filename", "event_labels")):
        if len(fields) != 2 or not fields[0] or not fields[1]:
            raise AVVPDataError(f"{path}: line {line}: expected 'filename<TAB>labels', got {fields!r}")
        label = np.zeros(len(classes), np.float32)
        for name in fields[1].split(","):
            label[_class_index(name.strip(), classes, path, line)] = 1.0
        names.append(fields[0])
        labels.append(label)
        lines.append(line)
    if not names:
        raise AVVPDataError(f"{path}: no video rows")
    return names, np.stack(labels), lines


def read_dense_labels(path, filenames: Sequence[str], classes: Sequence[str] = AVVP_CLASSES,
                      num_segments=NUM_SEGMENTS) -> np.ndarray:
    """AVVP_eval_{audio,visual}.csv -> segment labels [N, K, T] uint8 for the given clips (csv order)."""
    classes = list(classes)
    position = {name: i for i, name in enumerate(filenames)}
    dense = np.zeros((len(filenames), len(classes), num_segments), np.uint8)
    for line, fields in _rows(path, ("filename", "onset", "offset", "event_labels")):
        if len(fields) != 4 or not fields[0]:
            raise AVVPDataError(f"{path}: line {line}: expected 'filename<TAB>onset<TAB>offset<TAB>label', "
                                f"got {fields!r}")
        try:
            onset, offset = int(fields[1]), int(fields[2])
        except ValueError:
            raise AVVPDataError(f"{path}: line {line}: onset/offset must be integer seconds, got "
                                f"{fields[1]!r}, {fields[2]!r}") from None
        if not (0 <= onset <= num_segments and 0 <= offset <= num_segments):
            raise AVVPDataError(f"{path}: line {line}: onset/offset {onset}/{offset} outside 0..{num_segments}")
        cls = _class_index(fields[3], classes, path, line)
        row = position.get(fields[0])
        if row is not None:
            dense[row, cls, onset:offset] = 1
    return dense


def _load_npy(path, what, context):
    """Plain (non-pickled) .npy array; a missing or unreadable file is an error naming it."""
    if not os.path.isfile(path):
        raise AVVPDataError(f"{path}: missing {what} file{context}")
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise AVVPDataError(f"{path}: cannot read {what}{context}: {err}") from err


def load_features(path, shape, context=""):
    feat = _load_npy(path, "features", context)
    if tuple(feat.shape) != tuple(shape):
        raise AVVPDataError(f"{path}: features have shape {tuple(feat.shape)}, expected {tuple(shape)}{context}")
    return feat.astype(np.float32)


class AVVPSource:
    """Random-access LLP split for mindspore.dataset.GeneratorDataset.

    Items: (frames [T,3,S,S], wave [T,clip], video_st [T,512], mixup_lambda [T], label [K], gt_audio [K,T],
    gt_visual [K,T]). mixup_lambda ~ Beta(alpha, alpha) per segment when mixup_alpha > 0 (training), else ones
    (the HTS-AT front end mixes only in training anyway). Dense labels are zeros for the train split (it has none);
    evaluation reads them for val/test.
    """

    columns = ["frames", "wave", "video_st", "mixup_lambda", "label", "gt_audio", "gt_visual"]

    def __init__(self, root, ann_dir, split, image_size=192, segment_samples=SAMPLE_RATE, clip_samples=None,
                 num_segments=NUM_SEGMENTS, st_dir="feats/r2plus1d_18", st_dim=ST_DIM, classes=AVVP_CLASSES,
                 check_files=True, mixup_alpha=0.0, seed=None):
        if split not in SPLIT_FILES:
            raise ValueError(f"split must be one of {tuple(SPLIT_FILES)}, got {split!r}")
        self.root, self.split = root, split
        self.image_size, self.num_segments = int(image_size), int(num_segments)
        self.segment, self.clip = int(segment_samples), clip_samples
        self.st_dir, self.st_dim = st_dir, int(st_dim)
        self.mixup_alpha = float(mixup_alpha)
        self.rng = np.random.default_rng(seed)
        self.csv_path = os.path.join(ann_dir, SPLIT_FILES[split])
        self.classes = tuple(classes)
        self.filenames, self.labels, self.lines = read_weak_labels(self.csv_path, classes)
        shape = (len(self.filenames), len(classes), self.num_segments)
        if split == "train":
            self.gt_audio = self.gt_visual = np.zeros(shape, np.uint8)
        else:
            self.gt_audio = read_dense_labels(os.path.join(ann_dir, DENSE_FILES["audio"]), self.filenames, classes,
                                              self.num_segments)
            self.gt_visual = read_dense_labels(os.path.join(ann_dir, DENSE_FILES["visual"]), self.filenames,
                                               classes, self.num_segments)
        if check_files:   # fail before training starts, naming the first missing file
            for i in range(len(self.filenames)):
                for path in self.media_paths(i):
                    if not os.path.isfile(path):
                        raise AVVPDataError(f"{path}: missing media file{self._context(i)}")

    def _context(self, i):
        return f" (video {self.filenames[i]!r}, {self.csv_path} line {self.lines[i]})"

    def media_paths(self, i):
        vid = media_id(self.filenames[i])
        frames = [os.path.join(self.root, "frame", vid, f"{k:08d}.jpg") for k in range(1, self.num_segments + 1)]
        return frames + [os.path.join(self.root, "wave", vid + ".npy"),
                         os.path.join(self.root, self.st_dir, vid + ".npy")]

    def __len__(self):
        return len(self.filenames)

    def frames_and_wave(self, frame_paths, wave_path, context):
        """The video's frames [T, 3, S, S] and its wave cut into T segments [T, clip]."""
        frames = np.stack([load_frame(p, self.image_size, context) for p in frame_paths])
        return frames, load_wave_segments(wave_path, self.num_segments, self.segment, self.clip, context)

    def __getitem__(self, index):
        i = int(index)
        context = self._context(i)
        paths = self.media_paths(i)
        frames, wave = self.frames_and_wave(paths[:self.num_segments], paths[-2], context)
        video_st = load_features(paths[-1], (self.num_segments, self.st_dim), context)
        return (frames, wave, video_st, mixup_weights(self.rng, self.num_segments, self.mixup_alpha), self.labels[i],
                self.gt_audio[i], self.gt_visual[i])


class LLPClassificationSource(AVVPSource):
    """LLP split for video-level classification (the few-shot task): frames and wave only (no R(2+1)D features, no
    mixup), items (frames [T,3,S,S], waves [T,clip], labels [T, K+1]) with the weak multi-hot label in every segment
    and a zero background column, the layout of the AVE segment targets."""

    columns = ("frames", "waves", "labels")

    def media_paths(self, i):
        return super().media_paths(i)[:-1]                  # frames + wave; the feature file is not read

    def __getitem__(self, index):
        i = int(index)
        context = self._context(i)
        paths = self.media_paths(i)
        frames, wave = self.frames_and_wave(paths[:self.num_segments], paths[-1], context)
        labels = np.zeros((self.num_segments, len(self.classes) + 1), np.float32)
        labels[:, :-1] = self.labels[i]
        return frames, wave, labels


def media_folder(root, media_dir=""):
    """`media_dir` if set, else `<root>/LLP_dataset` when it exists (official layout), else `root` (synthetic)."""
    return media_dir or (os.path.join(root, "LLP_dataset") if os.path.isdir(os.path.join(root, "LLP_dataset"))
                         else root)


def build_avvp_dataset(data_cfg, split, batch_size, training, rank=0, group_size=1):
    """Task-registry dataset builder. `data.root` holds the csv files; media are in `data.options.media_dir`, by
    default `<root>/LLP_dataset` when it exists (official layout) else `root` (synthetic layout)."""
    opts = task_options(data_cfg, AVVPDataOptions)
    root = data_cfg.root
    media = media_folder(root, opts.media_dir)
    source = AVVPSource(media, root, split, image_size=data_cfg.image_size, segment_samples=data_cfg.audio_rate,
                        clip_samples=data_cfg.clip_samples, num_segments=data_cfg.num_segments,
                        st_dir=opts.st_dir, mixup_alpha=opts.mixup_alpha if training else 0.0)
    return build_task_dataset(source, data_cfg, batch_size, training, rank, group_size), source
