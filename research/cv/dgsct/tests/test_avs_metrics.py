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
"""AVS metrics on hand-made cases: mIoU with the empty-mask rule, F-score (beta^2 = 0.3), batch (in)dependence."""
import numpy as np
import pytest

from src.metrics.avs import AVSMeter, frame_fscore_curves, frame_ious, official_fscore, official_miou, thresholds


def logit(p):
    p = np.asarray(p, np.float64)
    return np.log(p / (1 - p))


def f_beta(p, r):
    return 0.0 if p + r == 0 else 1.3 * p * r / (0.3 * p + r)


# Frame A: GT [1 1 0 0], probabilities [.9 .6 .3 .1]. Frame B: GT [0 0 1 1], probabilities [.95 .85 .2 .15].
FRAME_A = (logit([[0.9, 0.6, 0.3, 0.1]]), np.array([[1, 1, 0, 0]], np.float64))
FRAME_B = (logit([[0.95, 0.85, 0.2, 0.15]]), np.array([[0, 0, 1, 1]], np.float64))
# By hand (precision, recall) per threshold band:
#   A: th <= .1: (2/4, 1); .1 < th <= .3: (2/3, 1); .3 < th <= .6: (1, 1); .6 < th <= .9: (1, 1/2); above: (0, 0)
#   B: th <= .15: (2/4, 1); .15 < th <= .2: (1/3, 1/2); .2 < th <= .95: 0 true positives -> F = 0
F_A_BANDS = [(0.1, f_beta(0.5, 1)), (0.3, f_beta(2 / 3, 1)), (0.6, 1.0), (0.9, f_beta(1, 0.5)), (1.0, 0.0)]
F_B_BANDS = [(0.15, f_beta(0.5, 1)), (0.2, f_beta(1 / 3, 0.5)), (1.0, 0.0)]


def _band_curve(bands):
    ths = thresholds()
    out = np.zeros_like(ths)
    lower = -1.0
    for upper, value in bands:
        out[(ths > lower) & (ths <= upper)] = value
        lower = upper
    return out


def _frames(*frames):
    logits = np.concatenate([f[0] for f in frames])[:, None, :]     # [F, 1, 4]
    masks = np.concatenate([f[1] for f in frames])[:, None, :]
    return logits, masks


def test_iou_hand_cases():
    gt = np.array([[[1, 1], [0, 0]], [[0, 0], [0, 0]], [[0, 0], [0, 0]], [[1, 1], [1, 1]]], np.float64)
    pred = np.array([[[1, 0], [0, 0]], [[0, 0], [0, 0]], [[1, 1], [1, 0]], [[1, 1], [1, 1]]], np.float64)
    ious = frame_ious(np.where(pred > 0, 5.0, -5.0), gt)
    # 1/2; empty GT + empty prediction -> background IoU 4/4; empty GT + 3 wrong pixels -> 1/4; perfect -> 1
    np.testing.assert_allclose(ious, [0.5, 1.0, 0.25, 1.0], rtol=1e-6)
    # sigmoid(0) = 0.5 is not > 0.5: a zero logit predicts background
    assert frame_ious(np.zeros((1, 2, 2)), np.ones((1, 2, 2)))[0] == pytest.approx(0.0)


def test_official_miou_mean_of_batch_means():
    logits = np.where(np.array([[[1, 0]], [[0, 0]], [[1, 1]]]) > 0, 5.0, -5.0)
    gt = np.array([[[1, 1]], [[1, 1]], [[1, 1]]], np.float64)   # IoUs 1/2, 0, 1
    assert official_miou(logits, gt, 2) == pytest.approx(((0.5 + 0.0) / 2 + 1.0) / 2)
    assert AVSMeter().miou == 0.0
    meter = AVSMeter()
    meter.update(logits, gt)
    assert meter.miou == pytest.approx(0.5)


def test_fscore_curve_hand_values():
    logits, masks = _frames(FRAME_A, FRAME_B)
    curves = frame_fscore_curves(logits, masks)
    np.testing.assert_allclose(curves[0], _band_curve(F_A_BANDS), rtol=1e-9)
    np.testing.assert_allclose(curves[1], _band_curve(F_B_BANDS), rtol=1e-9)


def test_empty_ground_truth_frames_are_skipped_by_fscore():
    logits, masks = _frames(FRAME_A, (logit([[0.9, 0.9, 0.9, 0.9]]), np.zeros((1, 4))))
    assert frame_fscore_curves(logits, masks).shape == (1, 255)
    meter = AVSMeter()
    meter.update(logits, masks)
    assert meter.fscore == pytest.approx(1.0) and meter.result()["annotated_frames"] == 1
    # official: a batch holding only an empty-GT frame contributes 0 to the mean over batches
    assert official_fscore(logits, masks, frames_per_batch=1) == pytest.approx(0.5)


def test_fscore_default_is_batch_independent_official_is_not():
    logits, masks = _frames(FRAME_A, FRAME_B)
    # default: max over thresholds of the mean curve over all frames; best band .1 < th <= .15
    expected = (f_beta(2 / 3, 1) + f_beta(0.5, 1)) / 2
    for split in ([2], [1, 1]):
        meter = AVSMeter()
        start = 0
        for n in split:
            meter.update(logits[start:start + n], masks[start:start + n])
            start += n
        assert meter.fscore == pytest.approx(expected, rel=1e-9)
    # official: one batch of 2 frames gives the same number, batches of 1 frame average the per-frame maxima
    assert official_fscore(logits, masks, 2) == pytest.approx(expected, rel=1e-9)
    assert official_fscore(logits, masks, 1) == pytest.approx((1.0 + f_beta(0.5, 1)) / 2, rel=1e-9)


def test_meter_official_numbers_do_not_depend_on_update_batches():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((7, 6, 6)) * 3
    masks = (rng.random((7, 6, 6)) > 0.6).astype(np.float64)
    masks[3] = 0
    results = []
    for chunk in (1, 3, 7):
        meter = AVSMeter(official_frames_per_batch=5)
        for s in range(0, 7, chunk):
            meter.update(logits[s:s + chunk], masks[s:s + chunk])
        results.append(meter.result())
    for r in results[1:]:
        assert r == pytest.approx(results[0])
    assert results[0]["fscore_official"] == pytest.approx(official_fscore(logits, masks, 5))
    assert results[0]["miou_official"] == pytest.approx(official_miou(logits, masks, 5))
    assert results[0]["miou"] == pytest.approx(frame_ious(logits, masks).mean())


def test_shape_mismatch_raises():
    with pytest.raises(ValueError, match="same shape"):
        frame_ious(np.zeros((2, 4, 4)), np.zeros((2, 4, 5)))
    with pytest.raises(ValueError, match="positive"):
        AVSMeter(official_frames_per_batch=0)


def test_overlay_pngs(tmp_path):
    from PIL import Image
    from src.metrics.avs import save_overlays
    frames = np.zeros((1, 5, 3, 4, 4), np.float32)             # normalised 0 == the ImageNet mean colour
    gt = np.zeros((1, 1, 4, 4))
    gt[0, 0, :2] = 1                                            # annotated frame 1 only (S4 train layout)
    pred = np.zeros((1, 5, 4, 4), np.uint8)
    pred[0, :, :, :2] = 1
    paths = save_overlays(str(tmp_path / "plots"), ["vid"], frames, gt, pred)
    img = np.asarray(Image.open(paths[0]))
    assert img.shape == (5 * 4, 3 * 4, 3)
    base = np.round(np.array([0.485, 0.456, 0.406]) * 255)
    np.testing.assert_allclose(img[0, 0], base, atol=1)                              # plain frame
    assert img[0, 4 + 0, 1] > base[1] + 50 and img[3, 4 + 0, 1] == img[0, 0, 1]      # GT rows 0-1 green
    assert img[0, 8 + 0, 0] > base[0] + 50 and img[0, 8 + 3, 0] == img[0, 0, 0]      # prediction cols 0-1 red
    np.testing.assert_array_equal(img[4:8, 4:8], img[4:8, 0:4])                      # frame 2 not annotated


def test_metric_update_from_network_outputs_scores_annotated_frames():
    meter = AVSMeter()
    logits = np.full((10, 1, 2, 2), -5.0)
    logits[0] = 5.0                     # video 1 frame 1 all foreground, frames 2-5 (not annotated) ignored
    masks = np.ones((2, 1, 1, 2, 2))    # S4 train layout: first frame of each video
    predicted = meter.update_from_outputs((logits,), (masks,))
    assert predicted.shape == (2, 1, 2, 2) and predicted[0].all() and not predicted[1].any()
    assert meter.miou == pytest.approx(0.5) and meter.result()["frames"] == 2
