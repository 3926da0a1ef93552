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

BICUBIC_A = -0.75   # torch's cubic convolution coefficient (Keys kernel)


def _cubic_weights(t, a=BICUBIC_A):
    """Weights [..., 4] of the taps at offsets -1, 0, 1, 2 for fractional positions t in [0, 1)."""
    def near(x):   # |x| <= 1
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0

    def far(x):    # 1 < |x| < 2
        return ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a
    return np.stack([far(t + 1.0), near(t), near(1.0 - t), far(2.0 - t)], axis=-1)


def bicubic_matrix(in_size, out_size, align_corners=False):
    """[out, in] matrix W with resize(x) = W @ x along one axis, exactly as torch upsample_bicubic2d (no antialias).

    Source positions are computed in float32 as PyTorch's CPU kernel does (float64 positions differ by ~1e-4 of a
    sample at index ~1000); border taps are clamped (replicate) and accumulate.
    """
    index = np.arange(out_size, dtype=np.float32)
    if align_corners:
        scale = np.float32((in_size - 1) / (out_size - 1)) if out_size > 1 else np.float32(0.0)
        src = index * scale
    else:
        src = (index + np.float32(0.5)) * np.float32(in_size / out_size) - np.float32(0.5)   # not clamped at 0
    base = np.floor(src)
    weights = _cubic_weights((src - base).astype(np.float64))
    base = base.astype(np.int64)
    matrix = np.zeros((out_size, in_size), np.float64)
    rows = np.arange(out_size)
    for tap in range(4):
        np.add.at(matrix, (rows, np.clip(base - 1 + tap, 0, in_size - 1)), weights[:, tap])
    return matrix.astype(np.float32)


class BicubicResize(nn.Cell):
    """Resize the last two axes of [..., H, W] to `out_size` with torch bicubic semantics (two matmuls)."""

    def __init__(self, in_size, out_size, align_corners=False):
        super().__init__()
        self.rows = ms.Tensor(bicubic_matrix(in_size[0], out_size[0], align_corners))
        self.cols_t = ms.Tensor(bicubic_matrix(in_size[1], out_size[1], align_corners).T.copy())

    def construct(self, x):
        return ops.matmul(ops.matmul(self.rows, x), self.cols_t)
