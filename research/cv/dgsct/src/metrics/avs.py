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
"""AVSBench metrics (official `avs_scripts/avs_s4/utils/utility.py`): mIoU (M_J) and F-score (M_F, beta^2 = 0.3, 255
thresholds).

Inputs are numpy arrays: logits [F, H, W] (before sigmoid) and ground-truth masks [F, H, W] in [0, 1].

- mIoU: per frame, prediction = sigmoid(logit) > 0.5; IoU = |P and G| / (|P or G| + 1e-7); a frame whose
  ground truth is empty scores the IoU of the complements (background vs background) instead.
- F-score, default (`AVSMeter.fscore`): the per-frame precision/recall curves of every frame with a non-empty
  ground truth are averaged over the whole set, F is computed per frame and averaged, and the maximum over
  the thresholds is reported. Independent of the evaluation batch size.
- F-score, official (`official_fscore`): the same maximum is taken per evaluation batch and the per-batch
  maxima are averaged (a batch without any annotated object contributes 0), so the number depends on the
  test batch size; use it with the batch size of the run you compare with (AVSBench test.py: batch of
  `test_batch_size` videos = 5 frames each).
"""
import numpy as np

BETA2 = 0.3
NUM_THRESHOLDS = 255
IOU_EPS = 1e-7
PR_EPS = 1e-20
OFFICIAL_FRAMES_PER_BATCH = 20   # official test loader: 4 videos x 5 frames per batch (test.py)


def sigmoid(x):
    x = np.asarray(x, dtype=np.float64)
    return 0.5 * (1.0 + np.tanh(0.5 * x))   # overflow-free logistic


def _check(logits, masks):
    logits = np.asarray(logits)
    masks = np.asarray(masks, dtype=np.float64)
    if logits.ndim != 3 or logits.shape != masks.shape:
        raise ValueError(f"expected logits and masks of the same shape [frames, H, W], got {logits.shape} and "
                         f"{masks.shape}")
    return logits, masks


def frame_ious(logits, masks):
    """IoU per frame [F] with the empty-mask rule."""
    logits, masks = _check(logits, masks)
    pred = (sigmoid(logits) > 0.5).astype(np.float64)
    inter = (pred * masks).sum(axis=(1, 2))
    union = np.maximum(pred, masks).sum(axis=(1, 2))
    empty = masks.sum(axis=(1, 2)) == 0
    inter_bg = ((1.0 - masks) * (1.0 - pred)).sum(axis=(1, 2))
    inter = np.where(empty, inter_bg, inter)
    union = np.where(empty, masks.shape[1] * masks.shape[2], union)
    return inter / (union + IOU_EPS)


def thresholds(num=NUM_THRESHOLDS):
    return np.linspace(0.0, 1.0 - 1e-10, num)


def frame_fscore_curves(logits, masks, num=NUM_THRESHOLDS):
    """F-score curve [K, num] of each of the K frames whose ground truth is not empty (K may be 0)."""
    logits, masks = _check(logits, masks)
    keep = masks.mean(axis=(1, 2)) != 0.0
    prob = sigmoid(logits[keep]).reshape(int(keep.sum()), logits.shape[1] * logits.shape[2])   # [K, P]
    gt = masks[keep].reshape(prob.shape)
    # Precision/recall at every threshold at once: sort the probabilities once per frame and use cumulative
    # sums, so "prob >= th" counts come from searchsorted (no loop over the 255 thresholds).
    order = np.argsort(-prob, axis=1, kind="stable")
    prob_desc = np.take_along_axis(prob, order, axis=1)
    tp_cum = np.cumsum(np.take_along_axis(gt, order, axis=1), axis=1)
    ths = thresholds(num)
    curves = np.zeros((prob.shape[0], num))
    for k in range(prob.shape[0]):  # one vectorised pass per frame
        n_pos = np.searchsorted(-prob_desc[k], -ths, side="right")     # number of pixels with prob >= th
        tp = np.where(n_pos > 0, tp_cum[k][np.maximum(n_pos - 1, 0)], 0.0)
        precision = tp / (n_pos + PR_EPS)
        recall = tp / (gt[k].sum() + PR_EPS)
        denom = BETA2 * precision + recall
        curves[k] = np.where(denom > 0, (1 + BETA2) * precision * recall / np.where(denom > 0, denom, 1.0), 0.0)
    return curves


def official_fscore(logits, masks, frames_per_batch, num=NUM_THRESHOLDS):
    """The AVSBench test-loop F-score: mean over consecutive batches of `frames_per_batch` frames of
    max over thresholds of the batch-mean F curve."""
    logits, masks = _check(logits, masks)
    if frames_per_batch <= 0:
        raise ValueError(f"frames_per_batch must be positive, got {frames_per_batch}")
    scores = []
    for start in range(0, logits.shape[0], frames_per_batch):
        curves = frame_fscore_curves(logits[start:start + frames_per_batch], masks[start:start + frames_per_batch],
                                     num)
        scores.append(curves.mean(axis=0).max() if curves.shape[0] else 0.0)
    return float(np.mean(scores))


def official_miou(logits, masks, frames_per_batch):
    """The AVSBench test-loop mIoU: mean over batches of the batch-mean frame IoU (differs from the per-frame
    mean only when the last batch is smaller)."""
    ious = frame_ious(logits, masks)
    return float(np.mean([ious[s:s + frames_per_batch].mean() for s in range(0, ious.shape[0], frames_per_batch)]))


class AVSMeter:
    """Accumulates frames batch by batch; the default results do not depend on how frames were batched.

    official_frames_per_batch: also report the official batch-dependent mIoU / F-score, computed on
    consecutive groups of that many frames in arrival order (streamed: only one group is buffered).
    """

    def __init__(self, num_thresholds=NUM_THRESHOLDS, official_frames_per_batch=None):
        if official_frames_per_batch is not None and official_frames_per_batch <= 0:
            raise ValueError(f"official_frames_per_batch must be positive, got {official_frames_per_batch}")
        self.num = num_thresholds
        self.fpb = official_frames_per_batch
        self.ious, self.curve_sum, self.annotated = [], np.zeros(num_thresholds), 0
        self._pending_logits, self._pending_masks = [], []
        self._official_iou, self._official_f = [], []

    def update(self, logits, masks):
        logits, masks = _check(logits, masks)
        self.ious.append(frame_ious(logits, masks))
        curves = frame_fscore_curves(logits, masks, self.num)
        self.curve_sum += curves.sum(axis=0)
        self.annotated += curves.shape[0]
        if self.fpb:
            self._pending_logits.append(np.asarray(logits, np.float32))
            self._pending_masks.append(np.asarray(masks, np.float32))
            self._flush(final=False)

    def _flush(self, final):
        logits = np.concatenate(self._pending_logits) if self._pending_logits else np.zeros((0, 1, 1))
        masks = np.concatenate(self._pending_masks) if self._pending_masks else np.zeros((0, 1, 1))
        start = 0
        while logits.shape[0] - start >= self.fpb or (final and start < logits.shape[0]):
            stop = start + self.fpb
            self._official_iou.append(frame_ious(logits[start:stop], masks[start:stop]).mean())
            self._official_f.append(official_fscore(logits[start:stop], masks[start:stop], self.fpb, self.num))
            start = stop
        self._pending_logits, self._pending_masks = [logits[start:]], [masks[start:]]

    @property
    def miou(self):
        return float(np.concatenate(self.ious).mean()) if self.ious else 0.0

    @property
    def fscore(self):
        return float((self.curve_sum / self.annotated).max()) if self.annotated else 0.0

    def update_from_outputs(self, outputs, labels):
        """Task-registry hook: network outputs (logits first) + (masks [B, M, 1, H, W],) in numpy. When only the
        first frame is annotated (S4 train split) only that frame is scored. Returns the binary masks predicted
        for the scored frames (uint8 [B, M, H, W]) for plotting."""
        logits, masks = outputs[0], labels[0]
        b, m, _, h, w = masks.shape
        logits = logits.reshape(b, -1, h, w)[:, :m]
        self.update(logits.reshape(b * m, h, w), masks.reshape(b * m, h, w))
        return (logits > 0).astype(np.uint8)

    def result(self):
        out = {"miou": self.miou, "fscore": self.fscore, "frames": int(sum(len(i) for i in self.ious)),
               "annotated_frames": self.annotated}
        if self.fpb:
            self._flush(final=True)
            out["miou_official"] = float(np.mean(self._official_iou)) if self._official_iou else 0.0
            out["fscore_official"] = float(np.mean(self._official_f)) if self._official_f else 0.0
            out["official_frames_per_batch"] = self.fpb
        return out


# ------------------------------------------------------------------------------------------------
# eval.py --plot: PNG overlays
# ------------------------------------------------------------------------------------------------
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406])
IMAGENET_STD = np.array([0.229, 0.224, 0.225])


def _tint(rgb, mask, color, alpha=0.5):
    out = rgb.astype(np.float64).copy()
    sel = mask > 0.5
    out[sel] = (1 - alpha) * out[sel] + alpha * np.asarray(color, np.float64)
    return out


def overlay_grid(frames, gt_masks, pred_masks):
    """One video -> uint8 image [F*H, 3*W, 3]: rows = frames; columns = frame, ground truth (green), prediction
    (red). frames [F, 3, H, W] ImageNet-normalised; gt_masks / pred_masks [F, H, W] in {0, 1}; a NaN row means
    "not available" (S4 train split: only frame 1 annotated) and is drawn as the plain frame."""
    rows = []
    for k in range(frames.shape[0]):
        rgb = np.clip((frames[k].transpose(1, 2, 0) * IMAGENET_STD + IMAGENET_MEAN) * 255.0, 0, 255)
        panels = [rgb]
        for mask, color in ((gt_masks[k], (0, 255, 0)), (pred_masks[k], (255, 0, 0))):
            panels.append(rgb if np.isnan(mask).any() else _tint(rgb, mask, color))
        rows.append(np.concatenate(panels, axis=1))
    return np.concatenate(rows, axis=0).astype(np.uint8)


def _pad_frames(masks, num_frames):
    out = np.full((num_frames,) + masks.shape[1:], np.nan)
    out[:masks.shape[0]] = masks
    return out


def save_overlays(out_dir, names, frames, gt_masks, pred_masks):
    """Write <out_dir>/<name>.png per video; returns the paths. frames [V, F, 3, H, W]; gt_masks and pred_masks
    [V, M, H, W] with M <= F (missing frames are drawn untinted)."""
    import os
    from PIL import Image
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for v, name in enumerate(names):
        num = frames[v].shape[0]
        grid = overlay_grid(frames[v], _pad_frames(np.asarray(gt_masks[v], np.float64), num),
                            _pad_frames(np.asarray(pred_masks[v], np.float64), num))
        path = os.path.join(out_dir, f"{name}.png")
        Image.fromarray(grid).save(path)
        paths.append(path)
    return paths


def plot_avs_records(source, records, out_dir, max_videos):
    """eval.py --plot hook: `records` = [(predicted masks [B, M, H, W], (masks [B, M, 1, H, W],)), ...] from an
    unshuffled evaluation of `source` (AVSBenchSource); writes overlays of the first `max_videos` videos."""
    paths, index = [], 0
    for predicted, labels in records:
        for b in range(predicted.shape[0]):
            if index >= max_videos:
                return paths
            frames = source[index][0]
            paths += save_overlays(out_dir, [source.records[index].name], frames[None], labels[0][b:b + 1, :, 0],
                                   predicted[b:b + 1])
            index += 1
    return paths
