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
"""AVE data pipeline: tests of the shared media helpers (src/data/transforms.py)."""
import math
import os

import numpy as np
import pytest
from PIL import Image

from conftest import torch_or_skip
from src.data.transforms import (DataError, GlobalBatchSampler, build_generator_dataset, build_task_dataset,
                                 load_frame, load_frames, load_wave_segments,
                                 normalize_frame, read_wave, resize_bicubic, sample_frame_numbers,
                                 sampled_frame_paths, tile_segments)

MEAN = np.array([0.485, 0.456, 0.406])
STD = np.array([0.229, 0.224, 0.225])


def reference_bicubic(image, out_h, out_w, a=-0.75):
    """Pixel-by-pixel PyTorch upsample_bicubic2d (align_corners=False, no antialias, clamped taps) on [C, H, W]."""
    def kernel(x):
        x = abs(x)
        if x <= 1:
            return (a + 2) * x ** 3 - (a + 3) * x ** 2 + 1
        if x < 2:
            return a * x ** 3 - 5 * a * x ** 2 + 8 * a * x - 4 * a
        return 0.0

    def taps(out_index, in_size, out_size):
        src = (out_index + 0.5) * in_size / out_size - 0.5
        base = math.floor(src)
        return [(min(max(base + k, 0), in_size - 1), kernel(src - (base + k))) for k in range(-1, 3)]

    c, h, w = image.shape
    out = np.zeros((c, out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            for y, wy in taps(i, h, out_h):
                for x, wx in taps(j, w, out_w):
                    out[:, i, j] += wy * wx * image[:, y, x]
    return out


@pytest.mark.parametrize("in_hw, out_hw", [((23, 17), (9, 9)), ((7, 5), (16, 16)), ((6, 11), (6, 4))])
def test_bicubic_matches_pytorch_formula(in_hw, out_hw):
    image = np.random.default_rng(1).random((3,) + in_hw).astype(np.float32)
    got = resize_bicubic(image, out_hw)
    np.testing.assert_allclose(got, reference_bicubic(image.astype(np.float64), *out_hw), atol=2e-6)
    np.testing.assert_allclose(resize_bicubic(image, in_hw), image, atol=1e-6)     # same size = identity


def test_bicubic_matches_torch_and_torchvision_without_antialias():
    torch = torch_or_skip()
    frame = np.random.default_rng(2).integers(0, 256, size=(40, 30, 3), dtype=np.uint8)
    x = torch.from_numpy(frame).permute(2, 0, 1).float()[None] / 255.0
    ref = torch.nn.functional.interpolate(x, size=(19, 19), mode="bicubic", align_corners=False,
                                          antialias=False)[0].numpy()
    got = resize_bicubic(frame.astype(np.float32).transpose(2, 0, 1) / 255.0, 19)
    np.testing.assert_allclose(got, ref, atol=5e-6)   # float32 sums in another order
    transforms = pytest.importorskip("torchvision.transforms")
    # the official loader: torchvision (0.14) tensor Resize bicubic, no antialias, then Normalize
    pipeline = transforms.Compose([transforms.Resize([19, 19], interpolation=transforms.InterpolationMode.BICUBIC,
                                                     antialias=False),
                                   transforms.Normalize(MEAN.tolist(), STD.tolist())])
    np.testing.assert_allclose(normalize_frame(frame, 19), pipeline(x[0]).numpy(), atol=3e-5)   # 5e-6 / std


def test_load_frame_jpeg_png_and_normalisation(tmp_path):
    frame = np.random.default_rng(3).integers(0, 256, size=(12, 20, 3), dtype=np.uint8)
    Image.fromarray(frame).save(tmp_path / "a.png")
    Image.fromarray(frame).save(tmp_path / "a.jpg", quality=95)
    png = load_frame(str(tmp_path / "a.png"), size=None)
    np.testing.assert_allclose(png, ((frame / 255.0 - MEAN) / STD).transpose(2, 0, 1), atol=1e-5)
    assert png.dtype == np.float32
    jpg = load_frames([str(tmp_path / "a.jpg")] * 2, 8)
    assert jpg.shape == (2, 3, 8, 8) and jpg.dtype == np.float32
    decoded = np.asarray(Image.open(tmp_path / "a.jpg").convert("RGB"))
    np.testing.assert_allclose(jpg[0], normalize_frame(decoded, 8), atol=1e-6)
    with pytest.raises(DataError, match=r"a.png: frame \(clip 7\) is 20x12, expected 8x8"):
        load_frame(str(tmp_path / "a.png"), 8, context=" (clip 7)", resize=False)


def test_frame_errors_name_the_file(tmp_path):
    bad = tmp_path / "00000001.jpg"
    good = Image.fromarray(np.zeros((8, 8, 3), np.uint8))
    good.save(bad)
    bad.write_bytes(bad.read_bytes()[:40])                # truncated JPEG
    with pytest.raises(DataError, match=f"{bad}: cannot decode frame \\(video x\\)"):
        load_frame(str(bad), 8, context=" (video x)")
    (tmp_path / "junk.jpg").write_bytes(b"not an image at all")
    with pytest.raises(DataError, match="junk.jpg: cannot decode frame"):
        load_frame(str(tmp_path / "junk.jpg"), 8)
    with pytest.raises(DataError, match="nothere.jpg: missing frame"):
        load_frame(str(tmp_path / "nothere.jpg"), 8)


def test_frame_sampling_and_folder_errors(tmp_path):
    assert sample_frame_numbers(25, 10).tolist() == [int(v) for v in np.linspace(1, 25, 10)]
    assert sample_frame_numbers(10, 10).tolist() == list(range(1, 11))
    folder = tmp_path / "vid"
    with pytest.raises(DataError, match=f"{folder}: missing frame folder \\(video 'vid'\\)"):
        sampled_frame_paths(str(folder), 10, context=" (video 'vid')")
    folder.mkdir()
    with pytest.raises(DataError, match="too few frames: 0 .jpg files"):
        sampled_frame_paths(str(folder), 10)
    for k in range(1, 4):
        (folder / f"{k:08d}.jpg").write_bytes(b"x")
    paths = sampled_frame_paths(str(folder), 5)
    assert [os.path.basename(p) for p in paths] == [f"{k:08d}.jpg" for k in (1, 1, 2, 2, 3)]
    with pytest.raises(DataError, match="too few frames: 3 .jpg files, need at least 10"):
        sampled_frame_paths(str(folder), 10, min_frames=10)


def official_tiling(segment, clip):
    """The original loader: double the 1-s segment until it is long enough, then cut."""
    x = segment
    while x.shape[0] < clip:
        x = np.concatenate([x, x])
    return x[:clip]


def test_wave_tiling_matches_official_doubling(tmp_path):
    wave = np.random.default_rng(4).standard_normal(4 * 100).astype(np.float32)
    np.save(tmp_path / "w.npy", wave)
    for clip in (100, 250, 400, 1000):
        tiled = load_wave_segments(str(tmp_path / "w.npy"), 4, 100, clip)
        assert tiled.shape == (4, clip) and tiled.dtype == np.float32
        for t in range(4):
            np.testing.assert_array_equal(tiled[t], official_tiling(wave[t * 100:(t + 1) * 100], clip))
    np.testing.assert_array_equal(tile_segments(wave.reshape(4, 100), 4, 100, 400),
                                  load_wave_segments(str(tmp_path / "w.npy"), 4, 100))
    np.save(tmp_path / "w2d.npy", wave.reshape(4, 100).astype(np.float64))       # [T, rate] layout is accepted
    np.testing.assert_array_equal(load_wave_segments(str(tmp_path / "w2d.npy"), 4, 100, 400),
                                  tile_segments(wave, 4, 100, 400))


@pytest.mark.parametrize("content, match", [
    ("short", r"short.npy: wave has 399 samples, expected 400 \(4 s at 100 Hz\) \(video v\)"),
    ("stereo", r"stereo.npy: wave has 800 samples in shape \(2, 400\), expected 400"),
    ("int16", r"int16.npy: wave has dtype int16, expected float samples"),
    ("nan", r"nan.npy: wave has 1 NaN/inf samples"),
    ("garbage", r"garbage.npy: cannot read wave file \(video v\)"),
    ("pickle", r"pickle.npy: cannot read wave file"),
    ("missing", r"missing.npy: missing wave file \(video v\)"),
])
def test_bad_wave_files_raise_naming_the_file(tmp_path, content, match):
    path = tmp_path / f"{content}.npy"
    if content == "short":
        np.save(path, np.zeros(399, np.float32))
    elif content == "stereo":
        np.save(path, np.zeros((2, 400), np.float32))
    elif content == "int16":
        np.save(path, np.zeros(400, np.int16))
    elif content == "nan":
        wave = np.zeros(400, np.float32)
        wave[7] = np.nan
        np.save(path, wave)
    elif content == "garbage":
        path.write_bytes(b"\x93NUMPY garbage")
    elif content == "pickle":
        np.save(path, np.array({"a.wav": np.zeros(400)}), allow_pickle=True)
    with pytest.raises(DataError, match=match):
        load_wave_segments(str(path), 4, 100, context=" (video v)")
    if content == "int16":
        with pytest.raises(DataError):
            read_wave(str(path))


class _Numbers:
    columns = ("x", "y")

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return np.full((2,), i, np.float32), np.int32(i)


def test_generator_dataset_batches_and_shards():
    source = _Numbers(9)
    full = [b[1].tolist() for b in build_generator_dataset(source, 4, shuffle=False, num_workers=2)
            .create_tuple_iterator(output_numpy=True)]
    assert full == [[0, 1, 2, 3], [4, 5, 6, 7], [8]]
    dropped = list(build_generator_dataset(source, 4, shuffle=False, drop_remainder=True)
                   .create_tuple_iterator(output_numpy=True))
    assert len(dropped) == 2
    seen = []
    for shard in range(3):
        dataset = build_generator_dataset(source, 1, shuffle=True, num_workers=2, num_shards=3, shard_id=shard,
                                          seed=5)
        items = [int(b[1][0]) for b in dataset.create_tuple_iterator(output_numpy=True)]
        assert len(items) == 3
        seen += items
    assert sorted(seen) == list(range(9))                   # the shards are disjoint and cover the data
    one = build_generator_dataset(source, 9, shuffle=False, num_shards=1, shard_id=0)   # 1 shard = plain
    assert next(one.create_tuple_iterator(output_numpy=True))[0].shape == (9, 2)


def _epoch_batches(dataset, epoch):
    dataset.set_epoch(epoch)
    return [b[1].tolist() for b in dataset.create_tuple_iterator(num_epochs=1, output_numpy=True)]


def test_training_batches_of_two_workers_are_the_halves_of_the_single_process_batches():
    """build_task_dataset in training: 29 items, global batch 4 -> 7 batches (one item left out per epoch), a new
    order every epoch from (seed, epoch); 2 ranks of batch 2 get the two halves of exactly those batches."""
    import mindspore.dataset as ds
    ds.config.set_seed(43)
    data_cfg = type("DataCfg", (), {"num_workers": 2})()
    single = build_task_dataset(_Numbers(29), data_cfg, 4, True)
    ranks = [build_task_dataset(_Numbers(29), data_cfg, 2, True, rank, 2) for rank in range(2)]
    assert single.get_dataset_size() == 7 and all(r.get_dataset_size() == 7 for r in ranks)
    epochs = []
    for epoch in range(3):
        batches = _epoch_batches(single, epoch)
        halves = [_epoch_batches(r, epoch) for r in ranks]
        assert [h0 + h1 for h0, h1 in zip(*halves)] == batches
        flat = sum(batches, [])
        assert len(flat) == 28 and len(set(flat)) == 28                   # no duplicate, one item left out
        epochs.append(batches)
    assert epochs[0] != epochs[1] != epochs[2]                            # reshuffled every epoch
    assert _epoch_batches(single, 1) == epochs[1]                         # the order of an epoch is reproducible
    with pytest.raises(ValueError, match="multiple of the 3 workers"):
        GlobalBatchSampler(29, 4, 0, 3)
