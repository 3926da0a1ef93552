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
"""AVSBench reader on synthetic files in the release layout, and every bad-input error naming file and row."""
import os

import numpy as np
import pytest
from PIL import Image

from src.data.avs import (AVSBenchSource, AVSDataError, AVSDataOptions, build_avs_dataset, frame_paths,
                          mask_paths, read_meta_csv, wave_path)
from src.config import DataConfig
from src.data.transforms import IMAGENET_MEAN, IMAGENET_STD
from src.data.avs_synthetic import make_synthetic_avsbench

SIZE, RATE = 32, 800   # tiny frames and a low sample rate keep the files small


@pytest.fixture(scope="module")
def s4_set(tmp_path_factory):
    return make_synthetic_avsbench(str(tmp_path_factory.mktemp("s4")), "s4", (3, 1, 1), image_size=SIZE,
                                   sample_rate=RATE, seed=1)


@pytest.fixture(scope="module")
def ms3_set(tmp_path_factory):
    return make_synthetic_avsbench(str(tmp_path_factory.mktemp("ms3")), "ms3", (2, 1, 1), image_size=SIZE,
                                   sample_rate=RATE, seed=2)


def _source(dataset, variant, split, **kw):
    root, csv_path = dataset
    return AVSBenchSource(root, csv_path, variant, split, image_size=SIZE, segment_samples=RATE, **kw)


def test_s4_reader_layout_and_values(s4_set):
    root, csv_path = s4_set
    records = read_meta_csv(csv_path, "s4")
    assert [r.split for r in records] == ["train"] * 3 + ["val", "test"]
    assert records[0].row == 2 and records[0].category
    train = _source(s4_set, "s4", "train")
    frames, waves, mixup, masks = train[1]
    np.testing.assert_array_equal(mixup, np.ones(5, np.float32))     # no mixup unless asked for
    assert frames.shape == (5, 3, SIZE, SIZE) and frames.dtype == np.float32
    assert masks.shape == (1, 1, SIZE, SIZE) and set(np.unique(masks)) == {0.0, 1.0}
    assert waves.shape == (5, 5 * RATE)
    # frame 1 is RGB/255 normalised with the ImageNet statistics, channel-first
    raw = np.asarray(Image.open(frame_paths(root, train.records[1], "s4")[0]).convert("RGB"), np.float32) / 255
    np.testing.assert_allclose(frames[0], (raw.transpose(2, 0, 1) - IMAGENET_MEAN) / IMAGENET_STD, rtol=1e-6)
    # every row of the tiled wave is its second repeated (official tiling)
    table = np.load(wave_path(root, train.records[1], "s4"), allow_pickle=True).item()
    seconds = table[train.records[1].name + ".wav"].reshape(5, RATE)
    for k in range(5):
        np.testing.assert_array_equal(waves[k], np.tile(seconds[k], 5))
    assert _source(s4_set, "s4", "test")[0][3].shape == (5, 1, SIZE, SIZE)   # 5 masks at test time
    # log-mel mixup weights (official alpha 0.5): one per frame, in (0, 1), drawn anew for every item
    mixed = _source(s4_set, "s4", "train", mixup_alpha=0.5, seed=3)
    weights = np.stack([mixed[i][2] for i in range(3)])
    assert weights.shape == (3, 5) and ((weights > 0) & (weights < 1)).all() and len(np.unique(weights)) == 15


def test_s4_mask_marks_the_sounding_object(s4_set):
    frames, _, _, masks = _source(s4_set, "s4", "val")[0]
    inside = frames[0][:, masks[0, 0] > 0].mean(axis=1)
    assert 0.02 < masks.mean() < 0.3
    assert np.abs(inside - frames[0].mean(axis=(1, 2))).max() > 0.3   # the object's colour differs from the scene


def test_ms3_reader_and_clip_tiling(ms3_set):
    root, _ = ms3_set
    train = _source(ms3_set, "ms3", "train", clip_samples=2 * RATE)
    frames, waves, _, masks = train[0]
    assert frames.shape == (5, 3, SIZE, SIZE) and masks.shape == (5, 1, SIZE, SIZE)
    assert set(np.unique(masks)) <= {0.0, 1.0} and masks.max() == 1.0      # palette index 255 / 255
    assert waves.shape == (5, 2 * RATE)
    np.testing.assert_array_equal(waves[:, :RATE], waves[:, RATE:])
    assert os.path.isfile(frame_paths(root, train.records[0], "ms3")[0])
    assert len(mask_paths(root, train.records[0], "ms3")) == 5


def test_per_video_wave_format(ms3_set, tmp_path):
    root, csv_path = ms3_set
    record = read_meta_csv(csv_path, "ms3", "val")[0]
    table = np.load(wave_path(root, record, "ms3"), allow_pickle=True).item()
    per_video = wave_path(root, record, "ms3", "per_video")
    np.save(per_video, table[record.name + ".wav"])
    try:
        dict_item = _source(ms3_set, "ms3", "val")[0]
        file_item = _source(ms3_set, "ms3", "val", wave_format="per_video")[0]
        np.testing.assert_array_equal(dict_item[1], file_item[1])
    finally:
        os.remove(per_video)


def test_dataset_pipeline_batches(s4_set):
    cfg = DataConfig(root=os.path.dirname(s4_set[0]), image_size=SIZE, audio_rate=RATE, clip_samples=5 * RATE,
                     num_segments=5, num_workers=2)
    dataset, source = build_avs_dataset("s4", cfg, "train", 2, training=False)
    batches = list(dataset.create_tuple_iterator(num_epochs=1, output_numpy=True))
    assert len(source) == 3 and [b[0].shape[0] for b in batches] == [2, 1]
    assert [b.shape for b in batches[0]] == [(2, 5, 3, SIZE, SIZE), (2, 5, 5 * RATE), (2, 5), (2, 1, 1, SIZE, SIZE)]
    assert (batches[0][2] == 1).all()                           # evaluation never mixes
    cfg.options = AVSDataOptions(mixup_alpha=0.5)
    train, _ = build_avs_dataset("s4", cfg, "train", 2, training=True)
    weights = next(train.create_tuple_iterator(num_epochs=1, output_numpy=True))[2]
    assert weights.shape == (2, 5) and ((weights > 0) & (weights < 1)).all()


# ------------------------------------------------------------------------------------------------
# bad input
# ------------------------------------------------------------------------------------------------
def _write_csv(tmp_path, text):
    path = tmp_path / "meta.csv"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("text,variant,match", [
    ("name,start_time,category,split\nv1,0,dog_barking\n", "s4", r"line 2: expected 4 comma-separated"),
    ("name,start_time,category,split\nv1,0,dog_barking,train\nv2,0,unicorn_neighing,test\n", "s4",
     r"line 3: unknown category 'unicorn_neighing'"),
    ("name,split\nv1,training\n", "ms3", r"line 2: unknown split 'training'"),
    ("name,split\n,train\n", "ms3", r"line 2: empty video name"),
    ("name,category\nv1,dog_barking\n", "s4", r"line 1: header .* lacks column\(s\) \['split'\]"),
    ("", "ms3", r"empty file"),
])
def test_malformed_csv_errors_name_file_and_line(tmp_path, text, variant, match):
    path = _write_csv(tmp_path, text)
    with pytest.raises(AVSDataError, match=match) as err:
        read_meta_csv(path, variant)
    assert path in str(err.value)


def test_missing_csv(tmp_path):
    with pytest.raises(AVSDataError, match="meta csv not found"):
        read_meta_csv(str(tmp_path / "nope.csv"), "s4")


def _broken_copy(tmp_path, variant):
    """Fresh synthetic set (the module fixtures stay intact) -> (data root, csv, first train record)."""
    root, csv_path = make_synthetic_avsbench(str(tmp_path / "set"), variant, (1, 1, 1), image_size=SIZE,
                                             sample_rate=RATE, seed=3)
    return root, csv_path, read_meta_csv(csv_path, variant, "train")[0]


@pytest.mark.parametrize("variant", ["s4", "ms3"])
def test_missing_frame_and_mask_named(tmp_path, variant):
    root, csv_path, record = _broken_copy(tmp_path, variant)
    frame = frame_paths(root, record, variant)[2]
    os.remove(frame)
    with pytest.raises(AVSDataError, match="missing frame") as err:
        AVSBenchSource(root, csv_path, variant, "train", image_size=SIZE, segment_samples=RATE)
    assert frame in str(err.value) and "csv line 2" in str(err.value)
    source = AVSBenchSource(root, csv_path, variant, "train", image_size=SIZE, segment_samples=RATE,
                            check_files=False)
    with pytest.raises(AVSDataError, match="missing frame"):
        source[0]
    mask = mask_paths(root, record, variant)[0]
    os.remove(mask)
    Image.new("RGB", (SIZE, SIZE)).save(frame)
    with pytest.raises(AVSDataError, match="missing mask") as err:
        AVSBenchSource(root, csv_path, variant, "train", image_size=SIZE, segment_samples=RATE)
    assert mask in str(err.value)


def test_mask_and_frame_size_mismatch(tmp_path):
    root, csv_path, record = _broken_copy(tmp_path, "s4")
    mask = mask_paths(root, record, "s4")[0]
    Image.new("1", (SIZE, SIZE + 2)).save(mask)
    source = AVSBenchSource(root, csv_path, "s4", "train", image_size=SIZE, segment_samples=RATE)
    with pytest.raises(AVSDataError, match=r"mask of video .* is 32x34, its frames are 32x32") as err:
        source[0]
    assert mask in str(err.value)
    frame = frame_paths(root, record, "s4")[0]
    Image.new("RGB", (SIZE + 1, SIZE)).save(frame)
    with pytest.raises(AVSDataError, match=r"frame of video .* is 33x32, expected 32x32"):
        source[0]


def test_corrupt_png(tmp_path):
    root, csv_path, record = _broken_copy(tmp_path, "ms3")
    frame = frame_paths(root, record, "ms3")[0]
    with open(frame, "wb") as f:
        f.write(b"not a png")
    source = AVSBenchSource(root, csv_path, "ms3", "train", image_size=SIZE, segment_samples=RATE)
    with pytest.raises(AVSDataError, match="cannot decode frame") as err:
        source[0]
    assert frame in str(err.value)


def test_wave_errors(tmp_path):
    root, csv_path, record = _broken_copy(tmp_path, "s4")
    path = wave_path(root, record, "s4")
    source = AVSBenchSource(root, csv_path, "s4", "train", image_size=SIZE, segment_samples=RATE)
    np.save(path, {record.name + ".wav": np.zeros(3 * RATE, np.float32)}, allow_pickle=True)
    with pytest.raises(AVSDataError, match=rf"has {3 * RATE} samples, expected {5 * RATE}") as err:
        source[0]
    assert path in str(err.value)
    np.save(path, {"other.wav": np.zeros(5 * RATE, np.float32)}, allow_pickle=True)
    source = AVSBenchSource(root, csv_path, "s4", "train", image_size=SIZE, segment_samples=RATE)
    with pytest.raises(AVSDataError, match=rf"no entry '{record.name}.wav'"):
        source[0]
    os.remove(path)
    source = AVSBenchSource(root, csv_path, "s4", "train", image_size=SIZE, segment_samples=RATE)
    with pytest.raises(AVSDataError, match="wave file .* not found"):
        source[0]


def test_empty_split(tmp_path):
    path = _write_csv(tmp_path, "name,split\nv1,train\n")
    with pytest.raises(AVSDataError, match="no video of split 'test'"):
        AVSBenchSource(str(tmp_path), path, "ms3", "test")


def test_plot_hook_writes_one_png_per_video(s4_set, tmp_path):
    from src.metrics.avs import plot_avs_records
    source = _source(s4_set, "s4", "train")
    masks = np.stack([source[i][3] for i in range(3)])                     # [3, 1, 1, S, S]
    records = [(masks[:2, :, 0].astype(np.uint8), (masks[:2],)), (masks[2:, :, 0].astype(np.uint8), (masks[2:],))]
    paths = plot_avs_records(source, records, str(tmp_path), max_videos=2)
    assert [os.path.basename(p) for p in paths] == [r.name + ".png" for r in source.records[:2]]
    assert Image.open(paths[0]).size == (3 * SIZE, 5 * SIZE)
