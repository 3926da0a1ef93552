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
"""AVE segment-level accuracy (spec 4.1.7)."""
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
