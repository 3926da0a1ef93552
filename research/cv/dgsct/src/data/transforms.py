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
"""Shared media helpers of the four DG-SCT data pipelines (AVE, AVVP, AVS, AVQA; the official
`dataloader.py` of each task and `dataloader_avst.py` of AVQA).

Frames: image file -> uint8 RGB -> /255 -> bicubic resize exactly as the torchvision 0.14 tensor `Resize` the official
loaders use (torch bicubic, a = -0.75, align_corners False, NO antialias, aspect ratio not kept; two precomputed
interpolation matrices) -> ImageNet normalisation -> float32 [3, S, S]. Frame numbers int(linspace(1, n, T)).
Waves: `<id>.npy` float samples, checked (readable, float dtype, finite, exact length), viewed as T one-second rows,
each row tiled by repetition to the clip length (the official loaders double it until long enough and cut).
Datasets: a random-access source with a `columns` list -> mindspore.dataset.GeneratorDataset (parallel workers,
shuffle, data-parallel sharding) -> batch.
Every bad input raises DataError naming the file (callers append the record / csv line through `context`).
"""
import functools
import os
from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..dgsct.resize import bicubic_matrix

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32).reshape(3, 1, 1)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32).reshape(3, 1, 1)


class DataError(ValueError):
    """Bad dataset input (annotation row, image, wave, feature file); the message names the file and line/record."""


# ------------------------------------------------------------------------------------------------------------ frames
def sample_frame_numbers(n_frames, num_segments=10):
    """1-based frame numbers int(linspace(1, n_frames, num_segments)) (file names %08d.jpg)."""
    return np.linspace(1, n_frames, num_segments).astype(np.int64)


def sampled_frame_paths(folder, num_segments, min_frames=1, ext=".jpg", context=""):
    """Paths `folder/%08d<ext>` of the frames at int(linspace(1, n, num_segments)), n = number of <ext> files.

    The folder must exist and hold at least `min_frames` frames (the official loaders accept any n >= 1 and then
    repeat frames); the numbered files themselves are checked when they are read.
    """
    if not os.path.isdir(folder):
        raise DataError(f"{folder}: missing frame folder{context}")
    n_frames = sum(1 for name in os.listdir(folder) if name.endswith(ext))
    if n_frames < max(1, min_frames):
        raise DataError(f"{folder}: too few frames: {n_frames} {ext} files, need at least {max(1, min_frames)}"
                        f"{context}")
    return [os.path.join(folder, f"{int(k):08d}{ext}") for k in sample_frame_numbers(n_frames, num_segments)]


def read_image(path, mode="RGB", what="frame", context=""):
    """Image file -> uint8 array in PIL `mode` ([H, W, 3] for RGB); missing or undecodable files raise DataError."""
    if not os.path.isfile(path):
        raise DataError(f"{path}: missing {what}{context}")
    try:
        with Image.open(path) as img:
            return np.asarray(img.convert(mode))
    except (OSError, SyntaxError, ValueError) as err:      # PIL: truncated / not an image / bad header
        raise DataError(f"{path}: cannot decode {what}{context}: {err}") from err


def read_jpeg(path, context=""):
    """RGB uint8 [H, W, 3] of a frame file (JPEG or PNG)."""
    return read_image(path, "RGB", "frame", context)


@functools.lru_cache(maxsize=32)
def _resize_matrices(in_h, in_w, out_h, out_w):
    # one [out, in] matrix per axis; cached because every frame of a dataset usually has the same size
    return bicubic_matrix(in_h, out_h), bicubic_matrix(in_w, out_w).T.copy()


def resize_bicubic(image, size):
    """float [C, H, W] -> [C, size, size] (or size = (h, w)): torch bicubic, align_corners False, no antialias."""
    out_h, out_w = (size, size) if np.isscalar(size) else size
    rows, cols_t = _resize_matrices(image.shape[-2], image.shape[-1], int(out_h), int(out_w))
    # contiguous input: numpy's matmul uses BLAS only then (a transposed HWC view is ~30x slower)
    return np.matmul(np.matmul(rows, np.ascontiguousarray(image, np.float32)), cols_t)


def normalize_frame(frame, size=None):
    """uint8 [H, W, 3] -> float32 [3, S, S]: /255, bicubic resize to `size` (None: keep), ImageNet normalisation."""
    image = frame.astype(np.float32).transpose(2, 0, 1) / 255.0
    if size is not None and image.shape[1:] != (size, size):
        image = resize_bicubic(image, size)
    return ((image - IMAGENET_MEAN) / IMAGENET_STD).astype(np.float32)


def load_frame(path, size=None, context="", resize=True):
    """Frame file -> float32 [3, S, S] as the official loaders.

    resize=True: any input size is resized to size x size (AVE, AVVP, AVQA). resize=False: the file must already be
    size x size (AVSBench frames, which the model itself resizes); a mismatch raises DataError.
    """
    frame = read_jpeg(path, context)
    if size is not None and not resize and frame.shape[:2] != (size, size):
        raise DataError(f"{path}: frame{context} is {frame.shape[1]}x{frame.shape[0]}, expected {size}x{size}")
    return normalize_frame(frame, size if resize else None)


def load_frames(paths, size, context=""):
    """List of frame files -> float32 [T, 3, size, size]."""
    return np.stack([load_frame(path, size, context) for path in paths])


# ------------------------------------------------------------------------------------------------------------- waves
def read_wave(path, context=""):
    """`<id>.npy` -> float32 samples; missing, unreadable (incl. pickled objects), non-float or non-finite data
    raise DataError naming the file."""
    if not os.path.isfile(path):
        raise DataError(f"{path}: missing wave file{context}")
    try:
        wave = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        raise DataError(f"{path}: cannot read wave file{context}: {err}") from err
    return check_wave(wave, path, context)


def check_wave(wave, path, context=""):
    """Validate raw samples (float dtype, all finite) -> float32 array of the same shape; `path` names the source."""
    wave = np.asarray(wave)
    if not np.issubdtype(wave.dtype, np.floating):
        raise DataError(f"{path}: wave has dtype {wave.dtype}, expected float samples in [-1, 1]{context}")
    wave = wave.astype(np.float32)
    if not np.isfinite(wave).all():
        raise DataError(f"{path}: wave has {int((~np.isfinite(wave)).sum())} NaN/inf samples{context}")
    return wave


def split_segments(wave, path, num_segments, segment_samples, context=""):
    """[num_segments * segment_samples] (or already [num_segments, segment_samples]) -> [num_segments,
    segment_samples]; any other length or shape (e.g. stereo) raises DataError."""
    expected = num_segments * segment_samples
    if wave.shape not in ((expected,), (num_segments, segment_samples)):
        shape = "" if wave.ndim == 1 else f" in shape {wave.shape}"
        raise DataError(f"{path}: wave has {wave.size} samples{shape}, expected {expected} ({num_segments} s at "
                        f"{segment_samples} Hz){context}")
    return wave.reshape(num_segments, segment_samples)


def tile_segments(wave, num_segments, segment_samples, clip_samples):
    """[num_segments * segment_samples] (or [num_segments, segment_samples]) -> [num_segments, clip_samples]: every
    1-s segment repeated periodically and cut (what the original's doubling-then-cutting gives)."""
    segments = np.asarray(wave, np.float32).reshape(num_segments, segment_samples)
    reps = -(-int(clip_samples) // segment_samples)
    return np.ascontiguousarray(np.tile(segments, (1, reps))[:, :clip_samples])


def tile_wave(wave, path, num_segments, segment_samples, clip_samples=None, context=""):
    """Raw samples of one clip (`path` names their file) -> checked float32 [num_segments, clip_samples]."""
    wave = split_segments(check_wave(wave, path, context), path, num_segments, segment_samples, context)
    return tile_segments(wave, num_segments, segment_samples, clip_samples or num_segments * segment_samples)


def load_wave_segments(path, num_segments, segment_samples, clip_samples=None, context=""):
    """`<id>.npy` of num_segments seconds -> float32 [num_segments, clip_samples] (default clip: the whole clip)."""
    return tile_wave(read_wave(path, context), path, num_segments, segment_samples, clip_samples, context)


# ---------------------------------------------------------------------------------------------------------- datasets
def pipeline_workers(requested):
    """data.num_workers capped at the machine's CPU count: MindSpore's GeneratorDataset refuses more parallel
    workers than CPUs (the full-size configs ask for up to 8)."""
    return max(1, min(int(requested), os.cpu_count() or 1))


def build_generator_dataset(source, batch_size, shuffle, num_workers=1, drop_remainder=False, num_shards=None,
                            shard_id=None, seed=None, columns=None, python_multiprocessing=False):
    """Random-access `source` (len + getitem returning a tuple of numpy arrays named by `source.columns`) ->
    batched mindspore.dataset.GeneratorDataset with parallel workers; num_shards/shard_id split it for data
    parallel (each rank reads a disjoint 1/num_shards of the items, reshuffled per epoch when shuffle is on)."""
    import mindspore.dataset as ds
    if seed is not None:
        ds.config.set_seed(int(seed))
    if num_shards is not None and int(num_shards) <= 1:
        num_shards = shard_id = None          # one shard = no sharding
    dataset = ds.GeneratorDataset(source, list(columns or source.columns), shuffle=shuffle,
                                  num_parallel_workers=pipeline_workers(num_workers), num_shards=num_shards,
                                  shard_id=shard_id, python_multiprocessing=python_multiprocessing)
    return dataset.batch(int(batch_size), drop_remainder=drop_remainder)


class GlobalBatchSampler:
    """Training order of one rank: each epoch a new permutation of the items (numpy, seeded by (seed, epoch); the
    trainer calls set_epoch before every epoch), cut into global batches of `global_batch` items (the last partial
    one dropped), of which rank r takes the r-th of `workers` equal contiguous blocks. One process (workers = 1)
    gets the whole global batches; `workers` ranks get disjoint blocks that together are exactly those batches, in
    the same order, so that data-parallel training sees the batches of single-process training."""

    def __init__(self, num_items, global_batch, rank=0, workers=1, seed=0):
        if global_batch % workers:
            raise ValueError(f"global batch {global_batch} is not a multiple of the {workers} workers")
        self.num_items, self.global_batch = int(num_items), int(global_batch)
        self.rank, self.workers, self.seed = int(rank), int(workers), int(seed)
        self.epoch = 0

    def set_epoch(self, epoch):
        self.epoch = int(epoch)

    def __len__(self):
        return self.num_items // self.global_batch * (self.global_batch // self.workers)

    def __iter__(self):
        order = np.random.default_rng([self.seed, self.epoch]).permutation(self.num_items)
        batches = order[:self.num_items // self.global_batch * self.global_batch].reshape(-1, self.global_batch)
        share = self.global_batch // self.workers
        return iter(batches[:, self.rank * share:(self.rank + 1) * share].ravel().tolist())


def build_task_dataset(source, data_cfg, batch_size, training, rank=0, group_size=1):
    """Task-registry convention of all four tasks: in training, a GlobalBatchSampler (reshuffled every epoch, last
    partial global batch dropped; under data parallel `batch_size` is this rank's share of the global batch of
    batch_size * group_size items, seed = the dataset seed that train.py sets to train.seed) whose set_epoch is
    the returned dataset's `set_epoch`; in evaluation, file order and every sample; data_cfg.num_workers workers."""
    import mindspore.dataset as ds
    if not training:
        return build_generator_dataset(source, batch_size, shuffle=False, num_workers=data_cfg.num_workers,
                                       num_shards=group_size, shard_id=rank)
    sampler = GlobalBatchSampler(len(source), batch_size * group_size, rank, group_size, ds.config.get_seed())
    dataset = ds.GeneratorDataset(source, list(source.columns), sampler=sampler,
                                  num_parallel_workers=pipeline_workers(data_cfg.num_workers))
    dataset = dataset.batch(int(batch_size), drop_remainder=True)
    dataset.set_epoch = sampler.set_epoch       # the pipeline copies the sampler when an iterator is created
    return dataset


def mixup_weights(rng, count, alpha):
    """Log-mel mixup weights of `count` backbone samples: Beta(alpha, alpha) (official 0.5), or ones if alpha <= 0."""
    if alpha <= 0:
        return np.ones(count, np.float32)
    return rng.beta(alpha, alpha, size=count).astype(np.float32)


@dataclass
class MixupOptions:
    """`data.options` of the tasks that feed log-mel mixup weights to HTS-AT (official Beta(0.5, 0.5))."""
    mixup_alpha: float = 0.5            # training mixup weights ~ Beta(alpha, alpha) per backbone sample; 0 = off

    def validate(self, where):
        if self.mixup_alpha < 0:
            raise ValueError(f"{where}: key 'data.options.mixup_alpha' must be a number >= 0 (0 = no mixup), "
                             f"got {self.mixup_alpha!r}")


def task_options(data_cfg, schema):
    """`data_cfg.options` as the task's typed schema (load_config builds it); the schema's defaults if unset."""
    options = getattr(data_cfg, "options", None)
    if options is None:
        return schema()
    if not isinstance(options, schema):
        raise TypeError(f"data.options must be a {schema.__name__} (got {type(options).__name__}); load the "
                        f"config with src.config.load_config")
    return options
