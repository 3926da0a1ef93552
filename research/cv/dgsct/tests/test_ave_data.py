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
"""AVE data pipeline tests: real annotation files, bad input, the synthetic generator, dataset shapes and sharding."""
import shutil

import numpy as np
import pytest

from src.config import DataConfig
from src.data.ave import (AVESource, build_ave_dataset, load_categories, parse_annotation_file, read_split,
                          segment_labels)
from src.data.synthetic import class_tone, generate
from src.data.transforms import DataError

RATE = 8000
SEGMENTS = 4


def test_real_annotation_files(ave_annotation_dir):
    annotations = parse_annotation_file(ave_annotation_dir / "Annotations.txt")
    assert len(annotations) == 4143
    classes = load_categories(ave_annotation_dir)                          # categories.txt
    derived = load_categories(ave_annotation_dir / "absent", annotations)  # first-appearance order
    assert classes == derived and len(classes) == 28
    sizes = {split: len(read_split(ave_annotation_dir, split, annotations=annotations))
             for split in ("train", "val", "test")}
    assert sizes == {"train": 3339, "val": 402, "test": 402}
    labels = np.stack([segment_labels(r, classes) for r in annotations])
    assert labels.shape == (4143, 10, 29)
    np.testing.assert_array_equal(labels.sum(-1), 1)                      # one-hot per segment
    first = annotations[1]                                                  # Church bell&MH3m4AwEcRY&good&6&8
    assert (first.video_id, first.start, first.end) == ("MH3m4AwEcRY", 6, 8)
    assert labels[1, :, 0].tolist() == [0, 0, 0, 0, 0, 0, 1, 1, 0, 0]
    assert labels[1, :, 28].tolist() == [1, 1, 1, 1, 1, 1, 0, 0, 1, 1]
    empty = [i for i, r in enumerate(annotations) if r.start == r.end]     # the one 0&0 row: all background
    assert len(empty) == 1 and labels[empty[0], :, 28].all()
    # a video with two annotated events gives two samples, each labelled with its own event only
    rows = [i for i, r in enumerate(annotations) if r.video_id == "-ccciEuH9FE"]
    assert [annotations[i].category for i in rows] == ["Male speech, man speaking", "Female speech, woman speaking"]
    assert labels[rows[0], 5:, 1].all() and not labels[rows[0], :, 5].any()
    assert labels[rows[1], 5:, 5].all() and not labels[rows[1], :, 1].any()


def _write(path, lines, header=True):
    path.write_text(("Category&VideoID&Quality&StartTime&EndTime\n" if header else "") + "".join(
        line + "\n" for line in lines))
    return path


@pytest.mark.parametrize("line, match", [
    ("Bark&abc&good&3", r"Annotations.txt:3: expected 'Category&VideoID&Quality&StartTime&EndTime'"),
    ("Bark&abc&good&3&x", r"Annotations.txt:3: StartTime/EndTime must be whole seconds"),
    ("Bark&abc&good&2.5&4", r"Annotations.txt:3: StartTime/EndTime must be whole seconds"),
    ("Bark&abc&good&5&11", r"Annotations.txt:3: event \[5, 11\) is not inside the 10 segments"),
    ("Bark&abc&good&6&4", r"Annotations.txt:3: event \[6, 4\) is not inside"),
    ("&abc&good&0&4", r"Annotations.txt:3: expected"),
])
def test_malformed_annotation_line_names_file_and_line(tmp_path, line, match):
    path = _write(tmp_path / "Annotations.txt", ["Bark&ok1&good&0&10", line])
    with pytest.raises(DataError, match=match):
        parse_annotation_file(path)


def test_split_rows_are_checked_against_annotations(tmp_path):
    _write(tmp_path / "Annotations.txt", ["Bark&v1&good&0&10", "Goat&v2&good&2&5"])
    _write(tmp_path / "trainSet.txt", ["Bark&v1&good&0&10", "Goat&v3&good&2&5"], header=False)
    with pytest.raises(DataError, match=r"trainSet.txt:2: video 'v3' is not in .*Annotations.txt"):
        read_split(tmp_path, "train")
    _write(tmp_path / "trainSet.txt", ["Goat&v2&good&2&6"], header=False)
    with pytest.raises(DataError, match=r"trainSet.txt:1: row 'Goat&v2&good&2&6' does not match"):
        read_split(tmp_path, "train")
    with pytest.raises(ValueError, match="unknown AVE split 'dev'"):
        read_split(tmp_path, "dev")


def test_label_outside_class_list_names_file_and_line(tmp_path):
    _write(tmp_path / "Annotations.txt", ["Bark&v1&good&0&10", "Goat&v2&good&2&5"])
    _write(tmp_path / "testSet.txt", ["Bark&v1&good&0&10", "Goat&v2&good&2&5"], header=False)
    (tmp_path / "categories.txt").write_text("Bark\nChurch bell\n")
    cfg = DataConfig(root=str(tmp_path), image_size=8, audio_rate=RATE, clip_samples=RATE, num_segments=10)
    with pytest.raises(DataError, match=r"testSet.txt:2: category 'Goat' is not in the class list \(2 classes"):
        AVESource(tmp_path, "test", cfg, check_files=False)


@pytest.fixture(scope="module")
def synthetic_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("ave_synthetic")
    generate(root, num_videos=10, num_classes=3, rate=RATE, frames_per_video=8, frame_size=32, seed=3,
             num_segments=SEGMENTS)
    return root


def _cfg(root, **kwargs):
    values = dict(root=str(root), image_size=16, audio_rate=RATE, clip_samples=2 * RATE, num_segments=SEGMENTS,
                  num_workers=2)
    values.update(kwargs)
    return DataConfig(**values)


def test_synthetic_set_is_readable_and_class_dependent(synthetic_root):
    annotations = parse_annotation_file(synthetic_root / "Annotations.txt", SEGMENTS)
    classes = load_categories(synthetic_root)
    assert len(annotations) == 10 and len(classes) == 3
    assert sum(len(read_split(synthetic_root, s, SEGMENTS)) for s in ("train", "val", "test")) == 10
    source = AVESource(synthetic_root, "train", _cfg(synthetic_root, image_size=32, clip_samples=RATE))
    frames, waves, labels = source[0]
    assert frames.shape == (SEGMENTS, 3, 32, 32) and waves.shape == (SEGMENTS, RATE) and labels.shape == (SEGMENTS, 4)
    assert frames.dtype == waves.dtype == labels.dtype == np.float32
    for i, record in enumerate(source.records):
        frames, waves, labels = source[i]
        cls = classes.index(record.category)
        event = np.arange(SEGMENTS)
        event = (event >= record.start) & (event < record.end)
        np.testing.assert_array_equal(labels[:, cls], event)
        for t in range(SEGMENTS):
            spectrum = np.abs(np.fft.rfft(waves[t]))       # 1-s rows: bin k = k Hz
            if event[t]:
                assert abs(int(spectrum.argmax()) - class_tone(cls, 3, RATE)) <= 2
                assert frames[t].std() > 0.5                # the class shape on the noise background
            else:
                assert spectrum.max() < 0.2 * RATE / 2 * 0.4   # quiet noise only, no tone
                assert frames[t].std() < 0.5


def test_pipeline_shapes_and_sharding(synthetic_root):
    cfg = _cfg(synthetic_root)
    n_train = len(read_split(synthetic_root, "train", SEGMENTS))
    per_rank = []
    for rank in range(2):
        dataset, source = build_ave_dataset(cfg, "train", 1, training=True, rank=rank, group_size=2)
        batches = list(dataset.create_tuple_iterator(output_numpy=True))
        per_rank.append(len(batches))
        frames, waves, labels = batches[0]
        assert frames.shape == (1, SEGMENTS, 3, 16, 16) and waves.shape == (1, SEGMENTS, 2 * RATE)
        assert labels.shape == (1, SEGMENTS, 4)
    assert per_rank == [n_train // 2] * 2          # one clip of each global batch of 2 (a last single clip dropped)
    dataset, source = build_ave_dataset(cfg, "test", 2, training=False)
    batches = list(dataset.create_tuple_iterator(output_numpy=True))
    assert sum(b[0].shape[0] for b in batches) == len(source)            # eval keeps the last partial batch
    np.testing.assert_array_equal(np.concatenate([b[2] for b in batches]), source.labels)   # in file order


@pytest.fixture
def broken_root(synthetic_root, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(synthetic_root, root)
    return root


def test_missing_and_broken_media_raise_naming_the_file(broken_root):
    cfg = _cfg(broken_root)
    source = AVESource(broken_root, "train", cfg)
    vid = source.records[0].video_id
    frame = broken_root / "frames" / vid / "00000001.jpg"
    frame.write_bytes(frame.read_bytes()[:30])
    with pytest.raises(DataError, match=rf"{frame}: cannot decode frame \(video '{vid}', .*trainSet.txt:\d+\)"):
        source[0]
    wave = broken_root / "wave" / f"{vid}.npy"
    np.save(wave, np.zeros(SEGMENTS * RATE - 5, np.float32))
    shutil.copy(broken_root / "frames" / source.records[1].video_id / "00000001.jpg", frame)
    with pytest.raises(DataError, match=rf"{wave}: wave has {SEGMENTS * RATE - 5} samples, expected"):
        source[0]
    wave.write_bytes(b"definitely not npy")
    with pytest.raises(DataError, match=rf"{wave}: cannot read wave file"):
        source[0]
    wave.unlink()
    with pytest.raises(DataError, match=rf"{wave}: missing wave file \(video '{vid}'"):
        AVESource(broken_root, "train", cfg)
    shutil.rmtree(broken_root / "frames" / vid)
    with pytest.raises(DataError, match=rf"{broken_root / 'frames' / vid}: missing frame folder \(video '{vid}'"):
        AVESource(broken_root, "train", cfg)
    with pytest.raises(DataError, match=rf"{broken_root / 'frames' / vid}: missing frame folder"):
        AVESource(broken_root, "train", cfg, check_files=False)[0]


def test_synthetic_generator_is_seeded(tmp_path):
    kwargs = dict(num_videos=3, num_classes=2, rate=RATE, frames_per_video=4, frame_size=16, num_segments=SEGMENTS)
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        generate(tmp_path / name, seed=seed, **kwargs)

    def read(name, rel):
        return (tmp_path / name / rel).read_bytes()

    ann = (tmp_path / "a" / "Annotations.txt").read_text()
    vid = ann.splitlines()[1].split("&")[1]
    for rel in ("Annotations.txt", "trainSet.txt", f"wave/{vid}.npy", f"frames/{vid}/00000002.jpg"):
        assert read("a", rel) == read("b", rel)
    assert read("a", f"wave/{vid}.npy") != read("c", f"wave/{vid}.npy")


def test_class_count_must_match_the_head(synthetic_root):
    from src.config import Config, ConfigError
    from src.heads.ave_cmbs import AVEHeadConfig
    from src.tasks import get_task
    source = AVESource(synthetic_root, "train", _cfg(synthetic_root))
    cfg = Config(head=AVEHeadConfig())
    cfg.head.cmbs.num_classes = 3
    get_task("ave")(cfg).check_data(source)                      # 3 synthetic classes: accepted
    cfg.head.cmbs.num_classes = 28
    with pytest.raises(ConfigError, match=r"Annotations.txt: the data has 3 classes but head.cmbs.num_classes is 28"):
        get_task("ave")(cfg).check_data(source)
