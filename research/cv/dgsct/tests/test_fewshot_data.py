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
"""k-shot subsets: first k per class in dataset order, grouped in class-list order; LLP single-label only."""
import collections

import numpy as np
import pytest

from src.data.ave import load_categories, read_split
from src.data.avvp import AVVP_CLASSES
from src.data.fewshot import SHOTS, ave_k_shot, first_k_per_class, llp_k_shot


def test_first_k_per_class_order_and_shortfall():
    items = ["b", "a", "b", "c", "a", "b", None, "a", "b"]
    assert first_k_per_class(items, ["a", "b", "c"], 2) == [1, 4, 0, 2, 3]
    assert first_k_per_class(items, ["c", "b", "a"], 1) == [3, 0, 1]
    assert first_k_per_class(items, ["a", "b", "c"], 16) == [1, 4, 7, 0, 2, 5, 8, 3]     # c has only one
    with pytest.raises(ValueError, match="item 1 has class 'a', which is not in the class list"):
        first_k_per_class(items, ["b", "c"], 1)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="shots must be a positive integer"):
            first_k_per_class(items, ["a", "b", "c"], bad)


def test_llp_uses_single_label_videos_only():
    classes = ["Speech", "Dog", "Cat"]
    labels = np.array([[1, 1, 0], [0, 1, 0], [1, 0, 0], [0, 1, 0], [0, 0, 0], [1, 0, 0], [0, 0, 1]], np.float32)
    assert llp_k_shot(labels, classes, 1) == [2, 1, 6]
    assert llp_k_shot(labels, classes, 2) == [2, 5, 1, 3, 6]
    with pytest.raises(ValueError, match="do not match 25 classes"):
        llp_k_shot(labels, AVVP_CLASSES, 1)


def test_ave_k_shot_on_the_real_training_split(ave_annotation_dir):
    records = read_split(ave_annotation_dir, "train")
    classes = load_categories(ave_annotation_dir)
    for shots in SHOTS:
        chosen = ave_k_shot(records, classes, shots)
        per_class = collections.Counter(records[i].category for i in chosen)
        assert set(per_class) == set(classes) and max(per_class.values()) == shots
        # within a class, the chosen videos are the earliest ones of the split
        for name in classes:
            first = [i for i, record in enumerate(records) if record.category == name][:shots]
            assert [i for i in chosen if records[i].category == name] == first
    assert len(ave_k_shot(records, classes, 16)) == sum(min(16, n) for n in
                                                       collections.Counter(r.category for r in records).values())
