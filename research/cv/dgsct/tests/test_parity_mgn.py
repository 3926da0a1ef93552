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
"""MGN grouping block (official `nets/grouping.py`) against a PyTorch reference written here from its description
(needs torch from
requirements-parity.txt; skipped cleanly without it). The reference uses the same sub-module names, so weights copy
over by name (LayerNorm gamma/beta -> weight/bias). Checked in eval mode: soft assignment, hard (argmax) assignment,
and the cross-modal HAN shape (10 segment tokens -> 10 outputs)."""
import numpy as np
import pytest
from mindspore import Tensor

from src.heads.avvp_mgn import GroupingBlock

torch = pytest.importorskip("torch")
tnn = torch.nn


class TorchMlp(tnn.Module):
    def __init__(self, dim, hidden, out):
        super().__init__()
        self.fc1, self.act, self.fc2 = tnn.Linear(dim, hidden), tnn.GELU(), tnn.Linear(hidden, out)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class TorchCrossAttnBlock(tnn.Module):
    """Post-norm: x = q + MHA(q, kv); x = x + MLP(LN(x)); LN_post(x)."""

    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.attn = tnn.Module()
        for name in ("q_proj", "k_proj", "v_proj", "proj"):
            setattr(self.attn, name, tnn.Linear(dim, dim))
        self.norm2, self.mlp, self.norm_post = tnn.LayerNorm(dim), TorchMlp(dim, 4 * dim, dim), tnn.LayerNorm(dim)

    def mha(self, query, key):
        b, n, c = query.shape
        split = lambda t: t.reshape(b, -1, self.heads, c // self.heads).transpose(1, 2)   # noqa: E731
        q, k, v = split(self.attn.q_proj(query)), split(self.attn.k_proj(key)), split(self.attn.v_proj(key))
        attn = (q @ k.transpose(-2, -1) * (c // self.heads) ** -0.5).softmax(dim=-1)
        return self.attn.proj((attn @ v).transpose(1, 2).reshape(b, n, c))

    def forward(self, query, key):
        x = query + self.mha(query, key)
        return self.norm_post(x + self.mlp(self.norm2(x)))


class TorchAssign(tnn.Module):
    """logits = q k^T / sqrt(C) [B, groups, inputs]; assignment over the GROUP axis (softmax, or one-hot argmax at
    eval); each group averages its inputs with attn / (sum over inputs + 1); maps: soft = 1 + softmax_inputs(
    softmax_groups(logits)), hard = the assignment."""

    def __init__(self, dim, hard):
        super().__init__()
        self.hard = hard
        for name in ("q_proj", "k_proj", "v_proj", "proj"):
            setattr(self, name, tnn.Linear(dim, dim))

    def forward(self, query, key):
        logits = self.q_proj(query) @ self.k_proj(key).transpose(-2, -1) * query.shape[-1] ** -0.5
        soft = logits.softmax(dim=-2)
        attn = torch.nn.functional.one_hot(soft.argmax(dim=-2), soft.shape[-2]).transpose(-2, -1).to(soft.dtype) \
            if self.hard else soft
        soft_map = 1 + soft.softmax(dim=-1)
        out = self.proj((attn / (attn.sum(dim=-1, keepdim=True) + 1)) @ self.v_proj(key))
        return out, soft_map, attn


class TorchGroupingBlock(tnn.Module):
    def __init__(self, dim, heads, num_group_tokens, num_output_groups, hard):
        super().__init__()
        self.norm_tokens, self.norm_x = tnn.LayerNorm(dim), tnn.LayerNorm(dim)
        self.mlp_inter = TorchMlp(num_group_tokens, dim // 2, num_output_groups)
        self.norm_post_tokens = tnn.LayerNorm(dim)
        self.pre_assign_attn = TorchCrossAttnBlock(dim, heads)
        self.assign = TorchAssign(dim, hard)
        self.norm_new_x, self.mlp_channels = tnn.LayerNorm(dim), TorchMlp(dim, 4 * dim, dim)

    def forward(self, x, group_tokens):
        group_tokens, x = self.norm_tokens(group_tokens), self.norm_x(x)
        tokens = self.mlp_inter(group_tokens.transpose(1, 2)).transpose(1, 2)
        tokens = self.pre_assign_attn(self.norm_post_tokens(tokens), x)
        new_x, soft_map, hard_map = self.assign(tokens, x)
        new_x = new_x + tokens
        return new_x + self.mlp_channels(self.norm_new_x(new_x)), soft_map, hard_map


def _copy_weights(ms_block, torch_block):
    state = {}
    for name, param in ms_block.parameters_and_names():
        state[name.replace(".gamma", ".weight").replace(".beta", ".bias")] = torch.from_numpy(param.asnumpy())
    result = torch_block.load_state_dict(state, strict=True)     # raises on a missing or unexpected name
    assert not result.missing_keys and not result.unexpected_keys


@pytest.mark.parametrize("hard,groups,outputs", [(False, 6, 6), (True, 6, 6), (True, 10, 10)])
def test_grouping_block_matches_torch_reference(pynative, hard, groups, outputs):
    dim, heads, inputs = 32, 4, 10
    block = GroupingBlock(dim, heads, groups, outputs, hard=hard, gumbel=hard)
    rng = np.random.default_rng(0)
    for param in block.get_parameters():        # break the LN 1/0 and zero-bias symmetry so every term is checked
        param.set_data(Tensor((param.asnumpy() + rng.normal(0, 0.05, param.shape)).astype(np.float32)))
    block.set_train(False)                        # gumbel noise only in training: eval is deterministic argmax
    reference = TorchGroupingBlock(dim, heads, groups, outputs, hard).eval()
    _copy_weights(block, reference)
    x = rng.normal(size=(2, inputs, dim)).astype(np.float32)
    tokens = rng.normal(size=(2, groups, dim)).astype(np.float32)
    got = [o.asnumpy() for o in block(Tensor(x), Tensor(tokens))]
    with torch.no_grad():
        want = [o.numpy() for o in reference(torch.from_numpy(x), torch.from_numpy(tokens))]
    assert got[0].shape == (2, outputs, dim) and got[1].shape == (2, outputs, inputs)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=2e-5)
    if hard:                                       # one group per input
        np.testing.assert_array_equal(got[2].sum(axis=1), np.ones((2, inputs)))
