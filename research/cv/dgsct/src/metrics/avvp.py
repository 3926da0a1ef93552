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
"""AVVP (LLP) metrics of the official `DG-SCT/AVVP/utils/eval_metrics.py`: segment-level and event-level F1 for audio,
visual, audio-visual, Type@AV, Event@AV.

All arrays are class-major per video, [V, C, T] (V videos, C = 25 classes, T = 10 one-second segments), 0/1.

Per video and per class, F1 = 2TP / (2TP + FN + FP). A class with no positive in prediction and truth is skipped;
a video where every class is skipped scores 1.0 (all true negatives). Per-video scores are averaged over videos.
"Event@AV" pools TP/FP/FN of audio and visual before the F1; "Type@AV" is the mean of the audio, visual and
audio-visual F1. At event level an event is a contiguous run of 1s; a predicted event is a TP if its IoU with some
ground-truth event of the same class is >= 0.5, otherwise a FP; a ground-truth event that no predicted event
matches is a FN.

Event matching is vectorised: a run in T segments is one of the K = T(T+1)/2 intervals [s, e); every row (video,
class) becomes a 0/1 vector over the K intervals, and matching is a product with the constant K x K matrix
"IoU >= 0.5".
"""
import numpy as np

IOU_THRESHOLD = 0.5
KINDS = ("audio", "visual", "av", "event")


def frame_predictions(global_prob, a_frame, v_frame, threshold=0.5):
    """Official decision rule: a segment is positive if its frame probability >= threshold AND the video-level
    probability of that class >= threshold.

    global_prob [V, C], a_frame / v_frame [V, T, C] -> (so_a, so_v) bool [V, C, T].
    """
    global_prob = np.asarray(global_prob)
    a_frame, v_frame = np.asarray(a_frame), np.asarray(v_frame)
    if global_prob.ndim != 2 or a_frame.ndim != 3 or a_frame.shape != v_frame.shape:
        raise ValueError(f"expected global_prob [V, C] and a_frame/v_frame [V, T, C], got {global_prob.shape}, "
                         f"{a_frame.shape}, {v_frame.shape}")
    video_on = (global_prob >= threshold)[:, :, None]
    so_a = (a_frame >= threshold).transpose(0, 2, 1) & video_on
    so_v = (v_frame >= threshold).transpose(0, 2, 1) & video_on
    return so_a, so_v


def _as_bool(x, name):
    x = np.asarray(x)
    if x.ndim != 3:
        raise ValueError(f"{name} must be [videos, classes, segments], got shape {x.shape}")
    return x.astype(bool)


def f1_per_video(tp, fp, fn):
    """[V, C] counts -> [V] mean F1 over the classes present in prediction or truth (1.0 if none is)."""
    tp, fp, fn = (np.asarray(a, dtype=np.float64) for a in (tp, fp, fn))
    present = (tp + fp > 0) | (tp + fn > 0)
    denom = 2 * tp + fp + fn
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    n_present = present.sum(axis=1)
    total = np.where(present, f1, 0.0).sum(axis=1)
    return np.where(n_present > 0, total / np.maximum(n_present, 1), 1.0)


def _scores_from_counts(counts):
    """counts: dict kind -> (tp, fp, fn) for audio, visual, av -> dict kind -> per-video F1 (adds 'event')."""
    pooled = tuple(counts["audio"][i] + counts["visual"][i] for i in range(3))
    out = {kind: f1_per_video(*counts[kind]) for kind in ("audio", "visual", "av")}
    out["event"] = f1_per_video(*pooled)
    return out


def _segment_counts(pred, gt):
    tp = (pred & gt).sum(axis=-1)
    fp = (pred & ~gt).sum(axis=-1)
    fn = (~pred & gt).sum(axis=-1)
    return tp, fp, fn


def segment_level(so_a, so_v, gt_a, gt_v):
    """Segment-level per-video F1 for audio, visual, audio-visual and the pooled 'event' score ([V] each)."""
    so_a, so_v = _as_bool(so_a, "so_a"), _as_bool(so_v, "so_v")
    gt_a, gt_v = _as_bool(gt_a, "gt_a"), _as_bool(gt_v, "gt_v")
    counts = {"audio": _segment_counts(so_a, gt_a), "visual": _segment_counts(so_v, gt_v),
              "av": _segment_counts(so_a & so_v, gt_a & gt_v)}
    return _scores_from_counts(counts)


def _interval_tables(num_segments):
    """Index of interval [s, e) in a [T+1, T+1] table, and the K x K 0/1 matrix IoU(interval_i, interval_j) >= 0.5."""
    starts, ends = np.triu_indices(num_segments + 1, k=1)          # all 0 <= s < e <= T
    index = np.full((num_segments + 1, num_segments + 1), -1, dtype=np.int64)
    index[starts, ends] = np.arange(starts.size)
    inter = np.clip(np.minimum(ends[:, None], ends[None]) - np.maximum(starts[:, None], starts[None]), 0, None)
    union = (ends - starts)[:, None] + (ends - starts)[None] - inter
    return index, (inter >= IOU_THRESHOLD * union).astype(np.int64)


def run_indicators(x, index_table):
    """[R, T] 0/1 rows -> [R, K] 0/1: which intervals are maximal runs of 1s in each row."""
    x = np.asarray(x).astype(np.int8)
    padded = np.pad(x, ((0, 0), (1, 1)))
    step = np.diff(padded, axis=1)                                 # +1 at a run start, -1 one past its end
    start_rows, start_pos = np.nonzero(step == 1)
    _, end_pos = np.nonzero(step == -1)                            # row-major order pairs starts with ends
    out = np.zeros((x.shape[0], int(index_table.max()) + 1), dtype=np.int64)
    out[start_rows, index_table[start_pos, end_pos]] = 1
    return out


def _event_counts(pred, gt, index_table, match):
    videos, classes, segments = pred.shape
    pred_runs = run_indicators(pred.reshape(-1, segments), index_table)
    gt_runs = run_indicators(gt.reshape(-1, segments), index_table)
    pred_matched = pred_runs * ((gt_runs @ match) > 0)             # predicted runs with IoU >= 0.5 to a GT run
    gt_matched = gt_runs * ((pred_runs @ match) > 0)
    tp = pred_matched.sum(axis=1)
    fp = pred_runs.sum(axis=1) - tp
    fn = gt_runs.sum(axis=1) - gt_matched.sum(axis=1)
    shape = (videos, classes)
    return tp.reshape(shape), fp.reshape(shape), fn.reshape(shape)


def event_level(so_a, so_v, gt_a, gt_v):
    """Event-level per-video F1 for audio, visual, audio-visual and the pooled 'event' score ([V] each)."""
    so_a, so_v = _as_bool(so_a, "so_a"), _as_bool(so_v, "so_v")
    gt_a, gt_v = _as_bool(gt_a, "gt_a"), _as_bool(gt_v, "gt_v")
    index_table, match = _interval_tables(so_a.shape[-1])
    counts = {"audio": _event_counts(so_a, gt_a, index_table, match),
              "visual": _event_counts(so_v, gt_v, index_table, match),
              "av": _event_counts(so_a & so_v, gt_a & gt_v, index_table, match)}
    return _scores_from_counts(counts)


def summarize(segment, event):
    """Per-video F1 dicts -> the ten numbers of the paper's table, in percent."""
    out = {}
    for level, scores in (("segment", segment), ("event", event)):
        means = {kind: 100.0 * float(np.mean(scores[kind])) for kind in KINDS}
        out[f"{level}_audio"] = means["audio"]
        out[f"{level}_visual"] = means["visual"]
        out[f"{level}_av"] = means["av"]
        out[f"{level}_type"] = (means["audio"] + means["visual"] + means["av"]) / 3.0
        out[f"{level}_event"] = means["event"]
    return out


def avvp_f1_scores(so_a, so_v, gt_a, gt_v):
    """Binary predictions and truth [V, C, T] -> dict of the ten F1 numbers (percent)."""
    return summarize(segment_level(so_a, so_v, gt_a, gt_v), event_level(so_a, so_v, gt_a, gt_v))


class AVVPMetric:
    """Accumulates model outputs and dense labels over an evaluation run; `result()` returns the ten F1 numbers.

    update(global_prob [B, C], a_frame [B, T, C], v_frame [B, T, C], gt_a [B, C, T], gt_v [B, C, T]).
    Selection key of the official script: 'segment_type' (segment-level Type@AV).
    """

    def __init__(self, threshold=0.5):
        self.threshold = threshold
        self.clear()

    def clear(self):
        self._parts = {"so_a": [], "so_v": [], "gt_a": [], "gt_v": []}

    def update(self, global_prob, a_frame, v_frame, gt_a, gt_v):
        so_a, so_v = frame_predictions(global_prob, a_frame, v_frame, self.threshold)
        for key, value in (("so_a", so_a), ("so_v", so_v), ("gt_a", gt_a), ("gt_v", gt_v)):
            self._parts[key].append(np.asarray(value).astype(bool))

    def result(self):
        if not self._parts["so_a"]:
            raise RuntimeError("AVVPMetric.result() called before any update()")
        arrays = {key: np.concatenate(parts) for key, parts in self._parts.items()}
        return avvp_f1_scores(arrays["so_a"], arrays["so_v"], arrays["gt_a"], arrays["gt_v"])
