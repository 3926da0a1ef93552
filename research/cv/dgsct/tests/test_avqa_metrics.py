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
"""MUSIC-AVQA per-type accuracy (as the official main_avst.py test reports it) on a hand-made case."""
import math

import numpy as np
import pytest

from src.metrics.avqa import AVQAMetric, TYPE_PAIR_INDEX, avqa_accuracy


def test_accuracy_by_hand():
    a_count = TYPE_PAIR_INDEX[("Audio", "Counting")]
    a_cmp = TYPE_PAIR_INDEX[("Audio", "Comparative")]
    v_loc = TYPE_PAIR_INDEX[("Visual", "Location")]
    av_temp = TYPE_PAIR_INDEX[("Audio-Visual", "Temporal")]
    # 3 audio-counting (2 right), 1 audio-comparative (wrong), 2 visual-location (2 right), 4 AV-temporal (1 right)
    types = [a_count] * 3 + [a_cmp] + [v_loc] * 2 + [av_temp] * 4
    target = np.arange(10)
    pred = target.copy()
    pred[[2, 3, 7, 8, 9]] += 1                       # wrong: 1 audio counting, the audio cmp, 3 AV temporal
    out = avqa_accuracy(pred, target, types)
    assert out["audio_counting"] == pytest.approx(100 * 2 / 3)
    assert out["audio_comparative"] == pytest.approx(0.0)
    # type accuracy pools questions: (2 + 0) / (3 + 1) = 50 %, not the mean of 66.7 and 0
    assert out["audio"] == pytest.approx(50.0)
    assert out["visual"] == pytest.approx(100.0)
    assert out["visual_counting"] != out["visual_counting"]   # NaN: no visual counting question
    assert out["count_visual_counting"] == 0
    assert out["av"] == pytest.approx(25.0)
    assert out["av_temporal"] == pytest.approx(25.0)
    assert math.isnan(out["av_existential"])
    # overall: 5 right of 10
    assert out["overall"] == pytest.approx(50.0)


def test_metric_accumulates_logits():
    metric = AVQAMetric()
    logits = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    metric.update(logits[:2], [1, 1], [0, 0])
    metric.update(logits[2:], [1], [5])
    out = metric.result()
    # predictions 1, 0, 1 vs targets 1, 1, 1 -> 2/3 overall; audio counting 1/2; index 5 = AV counting 1/1
    assert out["overall"] == pytest.approx(200 / 3)
    assert out["audio_counting"] == pytest.approx(50.0)
    assert out["av_counting"] == pytest.approx(100.0)
    with pytest.raises(ValueError, match="type_index"):
        avqa_accuracy([0], [0], [99])
