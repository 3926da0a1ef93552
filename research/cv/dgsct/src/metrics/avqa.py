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
"""MUSIC-AVQA accuracy as the test of the official `DG-SCT/AVQA/net_grd_avst/main_avst.py` reports it: per question
subtype, per type (Audio / Visual / Audio-Visual) and overall.

As in the official test script, the type accuracy pools the questions of its subtypes (correct / count over all of
them, not a mean of the subtype accuracies), and the overall accuracy is correct / all questions.
"""
import numpy as np

QUESTION_TYPES = {
    "Audio": ("Counting", "Comparative"),
    "Visual": ("Counting", "Location"),
    "Audio-Visual": ("Existential", "Counting", "Location", "Comparative", "Temporal"),
}
# (type, subtype) pairs in a fixed order; the data reader stores the index of the pair for every question
TYPE_PAIRS = tuple((qtype, sub) for qtype, subs in QUESTION_TYPES.items() for sub in subs)
TYPE_PAIR_INDEX = {pair: i for i, pair in enumerate(TYPE_PAIRS)}
SHORT_NAMES = {"Audio": "audio", "Visual": "visual", "Audio-Visual": "av"}


def _pct(correct, count):
    return 100.0 * correct / count if count else float("nan")


def avqa_accuracy(pred, target, type_index):
    """pred / target: answer indices [N]; type_index: index into TYPE_PAIRS [N] -> dict of accuracies (percent).

    Keys: 'overall', 'audio', 'visual', 'av', and '<type>_<subtype>' in lower case (e.g. 'av_temporal').
    A group without questions reports NaN; 'count_*' keys give the number of questions per group.
    """
    pred, target, type_index = (np.asarray(a).reshape(-1) for a in (pred, target, type_index))
    if not pred.shape == target.shape == type_index.shape:
        raise ValueError(f"pred, target and type_index must have the same length, got {pred.shape}, "
                         f"{target.shape}, {type_index.shape}")
    if type_index.size and (type_index.min() < 0 or type_index.max() >= len(TYPE_PAIRS)):
        raise ValueError(f"type_index must be in [0, {len(TYPE_PAIRS)}), got values {np.unique(type_index)}")
    type_index = type_index.astype(np.int64)
    correct = pred == target
    per_pair_correct = np.bincount(type_index, weights=correct.astype(np.float64), minlength=len(TYPE_PAIRS))
    per_pair_count = np.bincount(type_index, minlength=len(TYPE_PAIRS))
    out = {"overall": _pct(correct.sum(), correct.size), "count_overall": int(correct.size)}
    for qtype, subs in QUESTION_TYPES.items():
        ids = [TYPE_PAIR_INDEX[(qtype, sub)] for sub in subs]
        short = SHORT_NAMES[qtype]
        out[short] = _pct(per_pair_correct[ids].sum(), per_pair_count[ids].sum())
        out[f"count_{short}"] = int(per_pair_count[ids].sum())
        for sub, i in zip(subs, ids):
            out[f"{short}_{sub.lower()}"] = _pct(per_pair_correct[i], per_pair_count[i])
            out[f"count_{short}_{sub.lower()}"] = int(per_pair_count[i])
    return out


class AVQAMetric:
    """Accumulates answer logits over an evaluation run. update(logits [B, A], target [B], type_index [B])."""

    def __init__(self):
        self.clear()

    def clear(self):
        self._pred, self._target, self._type = [], [], []

    def update(self, logits, target, type_index):
        self._pred.append(np.asarray(logits).argmax(axis=-1).reshape(-1))
        self._target.append(np.asarray(target).reshape(-1))
        self._type.append(np.asarray(type_index).reshape(-1))

    def result(self):
        if not self._pred:
            raise RuntimeError("AVQAMetric.result() called before any update()")
        return avqa_accuracy(np.concatenate(self._pred), np.concatenate(self._target), np.concatenate(self._type))
