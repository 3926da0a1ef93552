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
"""AVE segment-level accuracy and per-video timeline figures (eval.py --plot)."""
from pathlib import Path

import numpy as np


def predict_segments(is_event, event):
    """is_event logits [B, T], event logits [B, K] -> per-segment class [B, T]; background = K."""
    is_event = np.asarray(is_event, np.float64)
    event = np.asarray(event)
    foreground = 1.0 / (1.0 + np.exp(-is_event)) > 0.5
    video_class = event.argmax(axis=-1)[:, None]
    return np.where(foreground, video_class, event.shape[-1])


class AVEAccuracy:
    """Accumulates segment accuracy.

    `accuracy` = correct segments / all segments (exact; equals the official value with batch 1, test.sh).
    `official_batch_mean` = mean over batches of the per-batch accuracy (what the training loop reports).
    """

    def __init__(self):
        self.correct = 0
        self.total = 0
        self.batch_accuracies = []

    def update(self, is_event, event, labels):
        predicted = predict_segments(is_event, event)
        target = np.asarray(labels).argmax(axis=-1)
        hits = int((predicted == target).sum())
        self.correct += hits
        self.total += target.size
        self.batch_accuracies.append(hits / target.size)
        return predicted

    def result(self):
        if self.total == 0:
            raise ValueError("AVEAccuracy.result() called before any update")
        return {"accuracy": self.correct / self.total,
                "official_batch_mean": float(np.mean(self.batch_accuracies)),
                "segments": self.total}


def _colour(label, background):
    if label == background:
        return (200, 200, 200)
    hue = label / max(background, 1)
    rgb = np.array([np.cos(2 * np.pi * (hue + k / 3)) for k in range(3)]) * 0.5 + 0.5
    return tuple(int(c) for c in rgb * 200 + 30)


def plot_timeline(path, video_id, truth, predicted, classes):
    """PNG: one row of ground-truth segments, one of predicted segments; cells carry the class number, a legend
    below gives the whole name of every class that appears (names are too long for a 1-s cell)."""
    from PIL import Image, ImageDraw
    cell, left, rows = 60, 50, (("GT", truth), ("Pred", predicted))
    background = len(classes)
    shown = sorted({int(x) for x in np.concatenate([truth, predicted]) if int(x) != background})
    height = 30 + 40 * len(rows) + 14 * len(shown) + 6
    image = Image.new("RGB", (max(left + cell * len(truth) + 10, 420), height), "white")
    draw = ImageDraw.Draw(image)
    draw.text((5, 5), f"{video_id}  (grey = background)", fill="black")
    for row, (name, labels) in enumerate(rows):
        top = 25 + 40 * row
        draw.text((5, top + 12), name, fill="black")
        for t, label in enumerate(labels):
            box = (left + cell * t, top, left + cell * (t + 1) - 2, top + 36)
            draw.rectangle(box, fill=_colour(int(label), background), outline="black")
            draw.text((box[0] + 3, top + 12), "bg" if label == background else str(int(label)), fill="black")
    legend_top = 30 + 40 * len(rows)
    for line, label in enumerate(shown):
        draw.text((5, legend_top + 14 * line), f"{label}: {classes[label]}", fill=_colour(label, background))
    image.save(path)
    return path


def plot_ave_records(source, records, out_dir, max_videos):
    """eval.py --plot hook: `records` = [(predicted segments [B, T], (labels [B, T, K+1],)), ...] from an
    unshuffled evaluation of `source` (AVESource); one timeline PNG for each of the first `max_videos` videos."""
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    predicted = np.concatenate([r[0] for r in records])
    truth = np.concatenate([r[1][0] for r in records]).argmax(-1)
    count = min(len(predicted), len(source.records), max_videos)
    return [plot_timeline(Path(out_dir) / f"{record.video_id}.png", record.video_id, truth[i], predicted[i],
                          source.classes) for i, record in enumerate(source.records[:count])]
