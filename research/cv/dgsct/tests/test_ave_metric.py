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
"""AVE segment accuracy on hand-made cases (the official main_trans.py accuracy)."""
import numpy as np
import pytest

from src.metrics.ave import AVEAccuracy, predict_segments


def _onehot(classes, k=3):
    out = np.zeros((len(classes), k + 1), np.float32)
    out[np.arange(len(classes)), classes] = 1
    return out


def test_prediction_rule():
    # sigmoid(is_event) > 0.5 -> argmax(event) of the video, else background (= K = 3); 0 logit is NOT an event
    is_event = np.array([[2.0, -1.0, 0.0, 0.01]])
    event = np.array([[0.1, 0.9, 0.3]])
    assert predict_segments(is_event, event).tolist() == [[1, 3, 3, 1]]


def test_hand_made_accuracy_and_batch_mean():
    metric = AVEAccuracy()
    # batch 1: two videos of 4 segments. Video A truth [1,1,3,3], predicted [1,1,1,3] -> 3/4.
    # Video B truth [0,0,0,0], predicted class 2 everywhere -> 0/4.  Batch accuracy 3/8.
    is_event = np.array([[5.0, 5.0, 5.0, -5.0], [1.0, 1.0, 1.0, 1.0]])
    event = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    labels = np.stack([_onehot([1, 1, 3, 3]), _onehot([0, 0, 0, 0])])
    metric.update(is_event, event, labels)
    # batch 2: one video, all background predicted, truth all background -> 4/4.
    metric.update(np.full((1, 4), -3.0), np.array([[1.0, 0.0, 0.0]]), _onehot([3, 3, 3, 3])[None])
    result = metric.result()
    assert result["accuracy"] == pytest.approx(7 / 12)               # exact: correct / all segments
    assert result["official_batch_mean"] == pytest.approx((3 / 8 + 1) / 2)
    assert result["segments"] == 12


def test_empty_metric_raises():
    with pytest.raises(ValueError):
        AVEAccuracy().result()
