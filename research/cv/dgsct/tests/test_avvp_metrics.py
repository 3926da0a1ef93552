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
"""AVVP segment-/event-level F1 (official utils/eval_metrics.py) on hand-made cases worked out by hand, plus a loop
reference."""
import numpy as np
import pytest

from src.metrics.avvp import (AVVPMetric, avvp_f1_scores, event_level, frame_predictions, segment_level,
                              f1_per_video)

T = 10


def row(*on):
    """0/1 vector of length T with ones at the given segment indices."""
    x = np.zeros(T, dtype=bool)
    x[list(on)] = True
    return x


def two_video_case():
    """3 classes. Video 0 holds every interesting case, video 1 is empty in prediction and truth."""
    shape = (2, 3, T)
    so_a, so_v, gt_a, gt_v = (np.zeros(shape, dtype=bool) for _ in range(4))
    so_a[0, 0] = row(0, 1, 2, 3, 4)       # audio class 0: predicted 0-4
    gt_a[0, 0] = row(2, 3, 4, 5, 6)       #                truth 2-6
    so_a[0, 2] = row(9)                   # audio class 2: a false positive; class 1 absent everywhere (skipped)
    so_v[0, 0] = row(*range(10))          # visual class 0: perfect, 0-9
    gt_v[0, 0] = row(*range(10))
    return so_a, so_v, gt_a, gt_v


def test_segment_level_by_hand():
    seg = segment_level(*two_video_case())
    # video 0 audio: class 0 TP=3 (2,3,4) FP=2 (0,1) FN=2 (5,6) -> 2*3/(6+2+2) = 0.6; class 2 TP=0 FP=1 -> 0;
    #                class 1 skipped -> (0.6 + 0) / 2 = 0.3
    # video 0 visual: class 0 F1 = 1, others skipped -> 1.0
    # video 0 AV: pred = 0-4 & 0-9 = 0-4, truth = 2-6 & 0-9 = 2-6 -> 0.6; class 2: a&v has nothing -> skipped
    # video 0 event (pooled a+v): class 0 TP=3+10, FP=2+0, FN=2+0 -> 26/30; class 2 TP=0, FP=1 -> 0 -> 13/30
    # video 1: nothing anywhere -> 1.0 for every kind
    np.testing.assert_allclose(seg["audio"], [0.3, 1.0])
    np.testing.assert_allclose(seg["visual"], [1.0, 1.0])
    np.testing.assert_allclose(seg["av"], [0.6, 1.0])
    np.testing.assert_allclose(seg["event"], [13 / 30, 1.0])


def test_event_level_by_hand():
    ev = event_level(*two_video_case())
    # video 0 audio: class 0 run [0,5) vs truth [2,7): inter 3, union 7, IoU 0.43 < 0.5 -> FP 1, FN 1 -> F1 0;
    #                class 2 run [9,10), no truth -> FP -> 0  => 0
    # visual: [0,10) vs [0,10) IoU 1 -> TP -> 1.0
    # AV: [0,5) vs [2,7) -> 0
    # event: class 0 TP 0+1, FP 1+0, FN 1+0 -> 2/(2+2) = 0.5; class 2 -> 0 => 0.25
    np.testing.assert_allclose(ev["audio"], [0.0, 1.0])
    np.testing.assert_allclose(ev["visual"], [1.0, 1.0])
    np.testing.assert_allclose(ev["av"], [0.0, 1.0])
    np.testing.assert_allclose(ev["event"], [0.25, 1.0])


def test_summary_by_hand():
    out = avvp_f1_scores(*two_video_case())
    # segment: audio (0.3+1)/2 = 65, visual 100, av (0.6+1)/2 = 80, type (65+100+80)/3, event (13/30+1)/2
    assert out["segment_audio"] == pytest.approx(65.0)
    assert out["segment_visual"] == pytest.approx(100.0)
    assert out["segment_av"] == pytest.approx(80.0)
    assert out["segment_type"] == pytest.approx(245.0 / 3)
    assert out["segment_event"] == pytest.approx(100 * (13 / 30 + 1) / 2)
    # event: audio 50, visual 100, av 50, type 200/3, event (0.25+1)/2 = 62.5
    assert out["event_audio"] == pytest.approx(50.0)
    assert out["event_av"] == pytest.approx(50.0)
    assert out["event_type"] == pytest.approx(200.0 / 3)
    assert out["event_event"] == pytest.approx(62.5)


def test_event_iou_boundary_and_multiple_runs():
    shape = (1, 1, T)
    pred, truth = np.zeros(shape, bool), np.zeros(shape, bool)
    pred[0, 0] = row(1, 2, 3, 8, 9)       # runs [1,4) and [8,10)
    truth[0, 0] = row(1, 2, 3, 4, 9)      # runs [1,5) and [9,10)
    empty = np.zeros(shape, bool)
    ev = event_level(pred, empty, truth, empty)
    # [1,4) vs [1,5): 3/4 = 0.75 -> TP; [8,10) vs [9,10): 1/2 = 0.5 -> TP (>= 0.5 counts); both truths matched
    # -> TP 2, FP 0, FN 0 -> F1 1.0
    assert ev["audio"][0] == pytest.approx(1.0)
    seg = segment_level(pred, empty, truth, empty)
    # segments: TP {1,2,3,9} = 4, FP {8} = 1, FN {4} = 1 -> 8/10
    assert seg["audio"][0] == pytest.approx(0.8)

    truth[0, 0] = row(2, 3, 4, 5, 9)      # runs [2,6) and [9,10)
    ev = event_level(pred, empty, truth, empty)
    # [1,4) vs [2,6): inter 2, union 5 = 0.4 -> FP; [8,10) vs [9,10): 0.5 -> TP
    # truth [2,6) unmatched -> FN 1; [9,10) matched. TP 1, FP 1, FN 1 -> 2/4 = 0.5
    assert ev["audio"][0] == pytest.approx(0.5)


def test_frame_predictions_gate_on_video_level():
    # 2 classes, 3 segments: class 1 has high frame probs but video-level prob 0.4 < 0.5 -> removed
    global_prob = np.array([[0.9, 0.4]])
    a_frame = np.array([[[0.7, 0.9], [0.2, 0.9], [0.5, 0.9]]])       # [1, T=3, C=2]
    v_frame = np.array([[[0.1, 0.9], [0.6, 0.9], [0.49, 0.9]]])
    so_a, so_v = frame_predictions(global_prob, a_frame, v_frame)
    np.testing.assert_array_equal(so_a[0], [[1, 0, 1], [0, 0, 0]])  # 0.5 >= 0.5 counts
    np.testing.assert_array_equal(so_v[0], [[0, 1, 0], [0, 0, 0]])


def _reference_scores(so_a, so_v, gt_a, gt_v):
    """Straightforward loops over videos, classes and runs, written from the metric's definition."""
    def runs(x):
        out, start = [], None
        for t, v in enumerate(list(x) + [0]):
            if v and start is None:
                start = t
            if not v and start is not None:
                out.append((start, t))
                start = None
        return out

    def iou(p, g):
        inter = max(0, min(p[1], g[1]) - max(p[0], g[0]))
        return inter / (max(p[1], g[1]) - min(p[0], g[0]) if inter else 1e9)

    def counts(pred, gt, event):
        if not event:
            return (int((pred & gt).sum()), int((pred & ~gt).sum()), int((~pred & gt).sum()))
        pr, gr = runs(pred), runs(gt)
        tp = sum(any(iou(p, g) >= 0.5 for g in gr) for p in pr)
        fn = sum(not any(iou(p, g) >= 0.5 for p in pr) for g in gr)
        return tp, len(pr) - tp, fn

    def f1(cnts):
        vals = [2 * tp / (2 * tp + fp + fn) for tp, fp, fn in cnts if tp + fp > 0 or tp + fn > 0]
        return sum(vals) / len(vals) if vals else 1.0

    result = {}
    for event in (False, True):
        per = {k: [] for k in ("audio", "visual", "av", "event")}
        for v in range(so_a.shape[0]):
            ca = [counts(so_a[v, c], gt_a[v, c], event) for c in range(so_a.shape[1])]
            cv = [counts(so_v[v, c], gt_v[v, c], event) for c in range(so_a.shape[1])]
            cav = [counts(so_a[v, c] & so_v[v, c], gt_a[v, c] & gt_v[v, c], event) for c in range(so_a.shape[1])]
            per["audio"].append(f1(ca))
            per["visual"].append(f1(cv))
            per["av"].append(f1(cav))
            per["event"].append(f1([tuple(x + y for x, y in zip(a, b)) for a, b in zip(ca, cv)]))
        result["event" if event else "segment"] = {k: np.array(v) for k, v in per.items()}
    return result


def test_vectorised_matches_loop_reference():
    rng = np.random.default_rng(0)
    shape = (40, 25, T)
    # sparse random masks with runs: threshold smoothed noise so that runs of several segments occur
    arrays = [(rng.random(shape) < 0.08).cumsum(-1) % 2 == 1 for _ in range(4)]
    ref = _reference_scores(*arrays)
    seg = segment_level(*arrays)
    ev = event_level(*arrays)
    for kind in ("audio", "visual", "av", "event"):
        np.testing.assert_allclose(seg[kind], ref["segment"][kind], atol=1e-12)
        np.testing.assert_allclose(ev[kind], ref["event"][kind], atol=1e-12)


def test_metric_accumulator_and_errors():
    metric = AVVPMetric()
    with pytest.raises(RuntimeError):
        metric.result()
    so_a, so_v, gt_a, gt_v = two_video_case()
    # probabilities that reproduce the binary case: frame prob 1 where predicted, 0 elsewhere; video prob 1
    metric.update(np.ones((1, 3)), so_a[:1].transpose(0, 2, 1) * 1.0, so_v[:1].transpose(0, 2, 1) * 1.0,
                  gt_a[:1], gt_v[:1])
    metric.update(np.ones((1, 3)), so_a[1:].transpose(0, 2, 1) * 1.0, so_v[1:].transpose(0, 2, 1) * 1.0,
                  gt_a[1:], gt_v[1:])
    assert metric.result() == pytest.approx(avvp_f1_scores(so_a, so_v, gt_a, gt_v))
    with pytest.raises(ValueError, match="videos, classes, segments"):
        segment_level(so_a[0], so_v[0], gt_a[0], gt_v[0])
    assert f1_per_video(np.zeros((1, 2)), np.zeros((1, 2)), np.zeros((1, 2)))[0] == 1.0
