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
"""k-shot training subsets of the DG-SCT few-shot experiments (k in 1, 2, 4, 8, 16).

The official few-shot loaders keep, for every class, the first k training videos in dataset order, and list them
class by class in the order of the class list (then the loader shuffles). AVE: the videos of the training split in
file order (``trainSet.txt``; the official code walks ``train_order.h5``, the same split), class = the annotation's
category. LLP: the rows of ``AVVP_train.csv``; only videos with exactly one weak label take part (multi-label videos
are skipped), class = that label. A class with fewer than k videos contributes all it has.
"""
from typing import List, Optional, Sequence

import numpy as np

SHOTS = (1, 2, 4, 8, 16)


def first_k_per_class(item_classes: Sequence[Optional[str]], class_names: Sequence[str], shots: int) -> List[int]:
    """Indices of the first ``shots`` items of each class (items in the given order; ``None`` = not eligible),
    grouped class by class in ``class_names`` order."""
    if isinstance(shots, bool) or not isinstance(shots, (int, np.integer)) or shots < 1:
        raise ValueError(f"shots must be a positive integer, got {shots!r}")
    chosen = {name: [] for name in class_names}
    for index, name in enumerate(item_classes):
        if name is None:
            continue
        if name not in chosen:
            raise ValueError(f"item {index} has class {name!r}, which is not in the class list "
                             f"({len(class_names)} classes)")
        if len(chosen[name]) < shots:
            chosen[name].append(index)
    return [index for name in class_names for index in chosen[name]]


def ave_k_shot(records, class_names: Sequence[str], shots: int) -> List[int]:
    """Indices into the AVE training records (``src.data.ave.read_split(root, "train")``) of the k-shot subset."""
    return first_k_per_class([record.category for record in records], class_names, shots)


def llp_k_shot(weak_labels: np.ndarray, class_names: Sequence[str], shots: int) -> List[int]:
    """Indices into the LLP training rows (multi-hot ``weak_labels`` [N, K] from
    ``src.data.avvp.read_weak_labels``) of the k-shot subset; only single-label videos are eligible."""
    weak_labels = np.asarray(weak_labels)
    if weak_labels.ndim != 2 or weak_labels.shape[1] != len(class_names):
        raise ValueError(f"weak labels of shape {weak_labels.shape} do not match {len(class_names)} classes")
    counts = (weak_labels > 0).sum(axis=1)
    single = [class_names[int(np.argmax(row))] if count == 1 else None for row, count in zip(weak_labels, counts)]
    return first_k_per_class(single, class_names, shots)


class KShotSource:
    """The k-shot subset (``indices``) of a random-access source: same columns and class list, items in subset order
    (the training loader shuffles them)."""

    def __init__(self, source, indices, shots):
        self.source = source
        self.indices = [int(i) for i in indices]
        if not self.indices:
            raise ValueError(f"the {shots}-shot subset of {getattr(source, 'root', 'the data')} is empty")
        self.shots = shots
        self.columns = source.columns
        self.classes = source.classes
        self.root = getattr(source, "root", None)
        self.records = [source.records[i] for i in self.indices] if hasattr(source, "records") else None

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, index):
        return self.source[self.indices[int(index)]]
