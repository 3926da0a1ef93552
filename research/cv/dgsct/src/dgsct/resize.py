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
"""PyTorch-exact bicubic resize as fixed interpolation matrices (ops.interpolate's bicubic differs from torch's)."""
import numpy as np
import mindspore as ms
from mindspore import nn, ops

_A = -0.75   # torch's cubic convolution coefficient


def _cubic_weights(t):
    """Weights of the 4 taps at offsets -1, 0, 1, 2 for fractional position t (Keys kernel, a = -0.75)."""
    def near(x):   # |x| <= 1
        return ((_A + 2) * x - (_A + 3)) * x * x + 1

    def far(x):    # 1 < |x| < 2
        return ((_A * x - 5 * _A) * x + 8 * _A) * x - 4 * _A
    return np.array([far(t + 1), near(t), near(1 - t), far(2 - t)])


def bicubic_matrix(in_size, out_size, align_corners=False):
    """[out, in] matrix W with resize(x) = W @ x along one axis, exactly as torch upsample_bicubic2d (no antialias)."""
    mat = np.zeros((out_size, in_size), np.float64)
    for i in range(out_size):
        if align_corners:
            src = i * (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
        else:
            src = (i + 0.5) * in_size / out_size - 0.5      # not clamped at 0 for cubic, like torch
        base = int(np.floor(src))
        for tap, weight in zip(range(base - 1, base + 3), _cubic_weights(src - base)):
            mat[i, min(max(tap, 0), in_size - 1)] += weight   # border taps are clamped (replicate)
    return mat.astype(np.float32)


class BicubicResize(nn.Cell):
    """Resize the last two axes of [..., H, W] to `out_size` with torch bicubic semantics (two matmuls)."""

    def __init__(self, in_size, out_size, align_corners=False):
        super().__init__()
        self.rows = ms.Tensor(bicubic_matrix(in_size[0], out_size[0], align_corners))
        self.cols_t = ms.Tensor(bicubic_matrix(in_size[1], out_size[1], align_corners).T.copy())

    def construct(self, x):
        return ops.matmul(ops.matmul(self.rows, x), self.cols_t)
