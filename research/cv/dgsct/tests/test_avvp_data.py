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
"""LLP readers: the real annotation files, the synthetic set, and every bad-input error."""
import os
import shutil

import numpy as np
import pytest

from conftest import shared_dataset_dir
from src.data.avvp import AVVP_CLASSES, AVVPDataError, AVVPSource, read_dense_labels, read_weak_labels
from src.data.transforms import build_generator_dataset
from src.data.avvp_synthetic import make_synthetic_llp


@pytest.fixture
def llp_dir():
    return str(shared_dataset_dir("av/AVVP", "AVVP_train.csv", "AVVP annotation files"))


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("llp"))
    return make_synthetic_llp(root, videos_per_split=(4, 3, 3), num_classes=4, image_size=24)


def test_real_weak_and_dense_labels(llp_dir):
    counts = {}
    for name in ("AVVP_train.csv", "AVVP_val_pd.csv", "AVVP_test_pd.csv"):
        names, labels, lines = read_weak_labels(os.path.join(llp_dir, name))
        counts[name] = len(names)
        assert labels.shape == (len(names), 25) and labels.sum(1).min() >= 1
        assert lines[0] == 2
    assert counts == {"AVVP_train.csv": 10000, "AVVP_val_pd.csv": 649, "AVVP_test_pd.csv": 1200}
    names, weak, _ = read_weak_labels(os.path.join(llp_dir, "AVVP_test_pd.csv"))
    gt_a = read_dense_labels(os.path.join(llp_dir, "AVVP_eval_audio.csv"), names)
    gt_v = read_dense_labels(os.path.join(llp_dir, "AVVP_eval_visual.csv"), names)
    # first test clip: audio "4YdbENYcIyE_23_33 0 4 Baby_cry_infant_cry", visual 0..10 of the same class
    baby = AVVP_CLASSES.index("Baby_cry_infant_cry")
    np.testing.assert_array_equal(gt_a[0, baby], [1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(gt_v[0, baby], np.ones(10))
    assert gt_a[0].sum() == 4 and gt_v[0].sum() == 10
    # every test clip has dense labels, and nearly all dense classes are among the clip's weak labels (the
    # release has a few inconsistent rows, which the official evaluation uses as they are)
    dense_classes = gt_a.any(-1) | gt_v.any(-1)
    assert dense_classes.any(-1).all()
    assert (dense_classes & (weak == 0)).sum() < 0.05 * dense_classes.sum()


def test_synthetic_source_items(synth):
    source = AVVPSource(synth, synth, "val", image_size=16, clip_samples=64000)
    frames, wave, video_st, mixup, label, gt_a, gt_v = source[1]
    assert frames.shape == (10, 3, 16, 16) and frames.dtype == np.float32
    assert wave.shape == (10, 64000)
    # each second is tiled: samples 32000.. repeat the first second of the segment
    np.testing.assert_array_equal(wave[3, :32000], wave[3, 32000:])
    assert video_st.shape == (10, 512) and label.shape == (25,) and gt_a.shape == (25, 10)
    # the weak label is the union of the dense audio and visual classes
    np.testing.assert_array_equal(label > 0, gt_a.any(-1) | gt_v.any(-1))
    np.testing.assert_array_equal(mixup, 1.0)                      # no mixup outside training
    train = AVVPSource(synth, synth, "train", image_size=16)
    assert len(train) == 4 and train[0][5].sum() == 0
    mixing = AVVPSource(synth, synth, "train", image_size=16, mixup_alpha=0.5, seed=0)
    assert mixing[0][3].shape == (10,) and not np.allclose(mixing[0][3], 1.0)


def test_dataset_pipeline(synth):
    source = AVVPSource(synth, synth, "test", image_size=16, clip_samples=32000)
    batch = next(build_generator_dataset(source, 2, shuffle=False).create_tuple_iterator(output_numpy=True))
    assert batch[0].shape == (2, 10, 3, 16, 16) and batch[1].shape == (2, 10, 32000)


def test_frames_resized_and_normalised(tmp_path):
    from PIL import Image
    from src.data.avvp import load_frame
    path = str(tmp_path / "f.jpg")
    Image.new("RGB", (40, 24), (255, 0, 128)).save(path, quality=100)
    frame = load_frame(path, 16)
    # a constant frame stays constant through the bicubic resize; then (x/255 - mean) / std per channel
    assert frame.shape == (3, 16, 16)
    expected = (np.array([255, 0, 128]) / 255.0 - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]
    np.testing.assert_allclose(frame.mean(axis=(1, 2)), expected, atol=0.03)
    assert frame.std(axis=(1, 2)).max() < 0.02


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("text, match", [
    ("filename\tevent_labels\nabc_0_10\tSpeech\tExtra\n", "line 2: expected"),
    ("filename\tevent_labels\nabc_0_10\t\n", "line 2: expected"),
    ("filename\tevent_labels\nabc_0_10\tSpeech\nxyz_0_10\tUnicorn\n", "line 3: unknown class 'Unicorn'"),
    ("name\tlabels\nabc_0_10\tSpeech\n", "line 1: expected the header"),
    ("filename\tevent_labels\n", "no video rows"),
])
def test_weak_label_errors(tmp_path, text, match):
    path = _write(tmp_path, "weak.csv", text)
    with pytest.raises(AVVPDataError, match=match) as err:
        read_weak_labels(path)
    assert path in str(err.value)


@pytest.mark.parametrize("row, match", [
    ("abc_0_10\t1\t2", "line 2: expected"),
    ("abc_0_10\tone\t2\tSpeech", "line 2: onset/offset must be integer"),
    ("abc_0_10\t3\t12\tSpeech", "line 2: onset/offset 3/12 outside"),
    ("abc_0_10\t3\t5\tSpeach", "line 2: unknown class 'Speach'"),
])
def test_dense_label_errors(tmp_path, row, match):
    path = _write(tmp_path, "dense.csv", "filename\tonset\toffset\tevent_labels\n" + row + "\n")
    with pytest.raises(AVVPDataError, match=match) as err:
        read_dense_labels(path, ["abc_0_10"])
    assert path in str(err.value)


def test_dense_empty_interval_marks_nothing(tmp_path):
    path = _write(tmp_path, "dense.csv", "filename\tonset\toffset\tevent_labels\n"
                  "abc_0_10\t9\t0\tSpeech\nabc_0_10\t4\t4\tDog\nother_0_10\t0\t10\tDog\nabc_0_10\t8\t10\tCat\n")
    dense = read_dense_labels(path, ["abc_0_10"])
    assert dense.sum() == 2 and dense[0, AVVP_CLASSES.index("Cat"), 8:].all()


def _fresh(tmp_path):
    root = str(tmp_path / "llp")
    make_synthetic_llp(root, videos_per_split=(2, 1, 1), num_classes=2, image_size=16, seed=3)
    names, _, _ = read_weak_labels(os.path.join(root, "AVVP_train.csv"))
    return root, names[0][:11]


def test_missing_media_errors(tmp_path):
    root, vid = _fresh(tmp_path)
    os.remove(os.path.join(root, "frame", vid, "00000004.jpg"))
    with pytest.raises(AVVPDataError, match=r"00000004.jpg: missing media file \(video '.*', .*AVVP_train.csv "
                                            r"line 2\)"):
        AVVPSource(root, root, "train")
    source = AVVPSource(root, root, "train", check_files=False)
    with pytest.raises(AVVPDataError, match="00000004.jpg: missing frame"):
        source[0]
    shutil.rmtree(os.path.join(root, "frame", vid))              # a whole missing frame folder
    with pytest.raises(AVVPDataError, match=f"frame/{vid}/00000001.jpg: missing media file"):
        AVVPSource(root, root, "train")
    for sub in ("wave", os.path.join("feats", "r2plus1d_18")):
        root, vid = _fresh(tmp_path / sub.replace(os.sep, "_"))
        os.remove(os.path.join(root, sub, vid + ".npy"))
        with pytest.raises(AVVPDataError, match=f"{vid}.npy: missing media file"):
            AVVPSource(root, root, "train")


def test_bad_media_content_errors(tmp_path):
    root, vid = _fresh(tmp_path)
    with open(os.path.join(root, "frame", vid, "00000002.jpg"), "wb") as f:
        f.write(b"not a jpeg")
    source = AVVPSource(root, root, "train")
    with pytest.raises(AVVPDataError, match="00000002.jpg: cannot decode frame"):
        source[0]
    root, vid = _fresh(tmp_path / "b")
    np.save(os.path.join(root, "wave", vid + ".npy"), np.zeros(1000, np.float32))
    with pytest.raises(AVVPDataError, match="wave has 1000 samples, expected 320000"):
        AVVPSource(root, root, "train")[0]
    root, vid = _fresh(tmp_path / "c")
    np.save(os.path.join(root, "feats", "r2plus1d_18", vid + ".npy"), np.zeros((10, 256), np.float32))
    with pytest.raises(AVVPDataError, match=r"features have shape \(10, 256\), expected \(10, 512\)"):
        AVVPSource(root, root, "train")[0]
