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
"""The hand-written backwards of src/backbones/layers.py (softmax attention, exact GELU, tiling over tokens or
channels), the matmul sums over tokens, the row-sum form of the Swin-V2 L2 normalisation and the LayerNorm of the
compiled steps: every input's gradient equals torch autograd of the textbook formula, inside
a compiled graph (as the block steps run them) and op by op."""
import numpy as np
import pytest

import mindspore as ms
from mindspore import ops

from src.backbones.layers import (exact_gelu, layer_norm_fn, softmax_attention, tile_channels, tile_tokens,
                                  token_sums)
from src.backbones.swin_v2 import l2_normalize_rows

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _rand(shape, seed, scale=1.0):
    return (scale * np.random.default_rng(seed).standard_normal(shape)).astype(np.float32)


def _ms_grads(fn, inputs, dout, compiled):
    """Gradients of sum(fn(*inputs) * dout) with respect to every input."""
    grad_all = ops.GradOperation(get_all=True, sens_param=True)

    def vjp(*args):
        return grad_all(fn)(*args[:-1], args[-1])
    run = ms.jit(vjp) if compiled else vjp
    return [g.asnumpy() for g in run(*[ms.Tensor(a) for a in inputs], ms.Tensor(dout))]


def _torch_grads(fn, inputs, dout):
    tensors = [torch.tensor(a, requires_grad=True) for a in inputs]
    (fn(*tensors) * torch.from_numpy(dout)).sum().backward()
    return [t.grad.numpy() for t in tensors]


def _check(ms_fn, torch_fn, inputs, out_shape, compiled, tol=2e-5):
    dout = _rand(out_shape, 99)
    for got, want, name in zip(_ms_grads(ms_fn, inputs, dout, compiled), _torch_grads(torch_fn, inputs, dout),
                               range(len(inputs))):
        assert got.shape == want.shape, name
        assert np.abs(got - want).max() <= tol * max(1.0, np.abs(want).max()), (name, np.abs(got - want).max())


@pytest.mark.parametrize("compiled", [True, False])
def test_softmax_attention_gradients(pynative, compiled):
    q, k, v = (_rand((3, 2, 7, 5), s) for s in (1, 2, 3))
    bias = _rand((3, 2, 7, 7), 4, 3.0)
    _check(softmax_attention, lambda a, b, c, d: F.softmax(a @ b.transpose(-1, -2) + d, -1) @ c, [q, k, v, bias],
           (3, 2, 7, 5), compiled)


@pytest.mark.parametrize("compiled", [True, False])
def test_layer_norm_gradients(pynative, compiled):
    x = _rand((2, 9, 16), 5, 2.0) + 3.0
    gamma, beta = 1.0 + _rand((16,), 6, 0.3), _rand((16,), 7, 0.1)
    _check(layer_norm_fn, lambda a, g, b: F.layer_norm(a, (16,), g, b, eps=1e-5), [x, gamma, beta], (2, 9, 16),
           compiled)


@pytest.mark.parametrize("compiled", [True, False])
def test_exact_gelu_gradient(pynative, compiled):
    x = _rand((4, 33), 8, 3.0)
    _check(exact_gelu, lambda a: F.gelu(a), [x], (4, 33), compiled)


def test_l2_normalize_rows_gradients(pynative):
    x = _rand((2, 3, 6, 8), 9)
    x[0, 0, 0] = 0.0                      # a zero row: the 1e-12 clamp of F.normalize
    scale = np.exp(_rand((1, 3, 1, 1), 10, 0.5))
    _check(l2_normalize_rows, lambda a, s: F.normalize(a, dim=-1) * s, [x, scale], (2, 3, 6, 8), True)


@pytest.mark.parametrize("compiled", [True, False])
def test_tiles_and_token_sums_gradients(pynative, compiled):
    x = _rand((3, 11, 6), 11)
    row, column = _rand((3, 1, 6), 12), _rand((3, 11, 1), 13)

    def ms_fn(a, r, col):
        return a * tile_tokens(r, 11) + tile_channels(col, 6) * token_sums(a)

    def torch_fn(a, r, col):
        return a * r.expand(3, 11, 6) + col.expand(3, 11, 6) * a.sum(1, keepdim=True)
    _check(ms_fn, torch_fn, [x, row, column], (3, 11, 6), compiled)
