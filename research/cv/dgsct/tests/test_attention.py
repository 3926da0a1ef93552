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
"""SeededMultiheadAttention: bit-identical to MindSpore's nn.MultiheadAttention in eval mode (same parameter names,
shapes and initial values), and its training-mode attention dropout is seeded by mindspore.set_seed."""
import numpy as np
import pytest
import mindspore as ms
from mindspore import nn

from src.dgsct.attention import SeededMultiheadAttention

DIM, HEADS = 32, 4


class _Call(nn.Cell):
    """Wraps an attention cell so that both run as one compiled graph in GRAPH_MODE (as inside the networks)."""

    def __init__(self, attn, ours):
        super().__init__()
        self.attn = attn
        self.ours = ours

    def construct(self, q, kv):
        if self.ours:
            return self.attn(q, kv, kv)
        return self.attn(q, kv, kv, need_weights=False)[0]


def _pair(dropout=0.0):
    ms.set_seed(5)
    reference = nn.MultiheadAttention(DIM, HEADS, dropout=dropout)
    ms.set_seed(5)
    ours = SeededMultiheadAttention(DIM, HEADS, dropout=dropout)
    return reference, ours


def test_same_parameters_and_initialisation():
    reference, ours = _pair()
    ref = {p.name: p.asnumpy() for p in reference.get_parameters()}
    got = {p.name: p.asnumpy() for p in ours.get_parameters()}
    assert sorted(ref) == sorted(got) == ["in_proj_bias", "in_proj_weight", "out_proj.bias", "out_proj.weight"]
    for name, value in ref.items():
        assert value.shape == got[name].shape and np.array_equal(value, got[name]), name


@pytest.mark.parametrize("mode", [ms.GRAPH_MODE, ms.PYNATIVE_MODE])
@pytest.mark.parametrize("self_attention", [True, False])
def test_eval_output_bit_identical_to_nn_multihead_attention(mode, self_attention):
    ms.set_context(mode=mode)
    try:
        reference, ours = _pair(dropout=0.1)
        rng = np.random.default_rng(1)
        for p in reference.get_parameters():         # non-zero biases so that every term is exercised
            p.set_data(ms.Tensor(rng.standard_normal(p.shape).astype(np.float32)))
        ours.in_proj_weight.set_data(reference.in_proj_weight.value().copy())
        ours.in_proj_bias.set_data(reference.in_proj_bias.value().copy())
        ours.out_proj.weight.set_data(reference.out_proj.weight.value().copy())
        ours.out_proj.bias.set_data(reference.out_proj.bias.value().copy())
        q = ms.Tensor(rng.standard_normal((10, 3, DIM)).astype(np.float32))
        kv = q if self_attention else ms.Tensor(rng.standard_normal((20, 3, DIM)).astype(np.float32))
        ref_net, our_net = _Call(reference, False), _Call(ours, True)
        ref_net.set_train(False)
        our_net.set_train(False)
        expected = ref_net(q, kv).asnumpy()
        got = our_net(q, kv).asnumpy()
        assert got.shape == expected.shape
        assert np.array_equal(got, expected), float(np.abs(got - expected).max())
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)


def _train_outputs(seed, calls=2):
    ms.set_seed(seed)
    attn = SeededMultiheadAttention(DIM, HEADS, dropout=0.5)
    attn.set_train(True)
    x = ms.Tensor(np.random.default_rng(2).standard_normal((6, 2, DIM)).astype(np.float32))
    return [attn(x, x, x).asnumpy() for _ in range(calls)], attn, x


def test_training_dropout_is_seeded(pynative):
    first, attn, x = _train_outputs(11)
    again, _, _ = _train_outputs(11)
    other, _, _ = _train_outputs(12)
    for a, b in zip(first, again):
        assert np.array_equal(a, b)                        # same seed, same masks, call after call
    assert not np.array_equal(first[0], first[1])          # a fresh mask every call
    assert not np.array_equal(first[0], other[0])          # the seed matters
    attn.set_train(False)
    assert not np.array_equal(first[0], attn(x, x, x).asnumpy())   # dropout is active in training only


def test_bad_arguments():
    with pytest.raises(ValueError, match="divisible"):
        SeededMultiheadAttention(30, 4)
    with pytest.raises(ValueError, match="dropout"):
        SeededMultiheadAttention(32, 4, dropout=1.0)
