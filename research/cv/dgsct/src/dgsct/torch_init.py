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
"""PyTorch default initialisation for MindSpore layers.

The official DG-SCT layers keep PyTorch's defaults; MindSpore's defaults differ (e.g. Dense weights), so every
trainable layer built by this package is re-initialised explicitly with these helpers.
"""
import math

import numpy as np
import mindspore as ms
from mindspore import nn


def _uniform(shape, bound, rng):
    return ms.Tensor(rng.uniform(-bound, bound, size=shape).astype(np.float32))


def torch_default_init(cell, rng=None):
    """Re-initialise every nn.Dense / nn.Conv2d under `cell` like torch.nn.Linear / Conv2d.

    torch: weight ~ kaiming_uniform(a=sqrt(5)) == U(-1/sqrt(fan_in), 1/sqrt(fan_in)); bias ~ U(-1/sqrt(fan_in), ...).
    nn.LSTM already matches torch (all U(-1/sqrt(hidden), 1/sqrt(hidden))) and is left alone.
    """
    rng = rng if rng is not None else np.random.default_rng(int(np.random.randint(0, 2 ** 31 - 1)))
    for _, sub in cell.cells_and_names():
        if isinstance(sub, nn.Dense):
            fan_in = sub.in_channels
        elif isinstance(sub, nn.Conv2d):
            fan_in = sub.in_channels // sub.group * int(np.prod(sub.kernel_size))
        else:
            continue
        bound = 1.0 / math.sqrt(fan_in)
        sub.weight.set_data(_uniform(sub.weight.shape, bound, rng))
        if sub.has_bias:
            sub.bias.set_data(_uniform(sub.bias.shape, bound, rng))
    # torch.nn.MultiheadAttention zeroes its out_proj bias (in_proj: xavier + zeros, as MindSpore already does)
    for _, sub in cell.cells_and_names():
        if isinstance(sub, nn.MultiheadAttention):
            sub.out_proj.bias.set_data(ms.Tensor(np.zeros(sub.out_proj.bias.shape, np.float32)))
    return cell


def batch_norm2d(channels):
    """BatchNorm2d with PyTorch semantics: torch momentum 0.1 == MindSpore momentum 0.9, eps 1e-5."""
    return nn.BatchNorm2d(channels, momentum=0.9, eps=1e-5)
