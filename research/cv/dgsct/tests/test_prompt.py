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
"""Tests of the cross-modal prompt module (official `VisualAdapter` and its task variants): initial values, variants,
zero output at init, torch parity."""
import math

import numpy as np
import pytest
import mindspore as ms
from mindspore import nn

from src.dgsct.prompt import CrossModalPrompt, PromptConfig
from conftest import torch_or_skip, params_numpy

# tiny sizes that keep every branch non-trivial: C=16, D=24, N=16 (4x4), M=9 (3x3), r=4, G=2, T=3
C, D, N, M = 16, 24, 16, 9
AVE = dict(reduction=4, num_tokens=3)
S4 = dict(reduction=4, num_tokens=3, tokens_init="zeros", alignment="resize", apply_ln_before=False,
          gate_before_ln_post=True, use_bn=False, audio_gate=False)
# few/zero-shot copy (`few-shot/nets/net_trans.py`): in-module temporal gate; alpha 0.2 as the few-shot flags, gamma
# 0.3 (official 0.01-0.05) so that a wrong gate cannot hide inside the tolerance
FEWSHOT = dict(reduction=4, num_tokens=3, alpha=0.2, beta=0.05, temporal_gate=True, gamma=0.3)


def _inputs(batch=4):
    rng = np.random.default_rng(1)
    return (ms.Tensor(rng.standard_normal((batch, N, C)).astype(np.float32)),
            ms.Tensor(rng.standard_normal((batch, M, D)).astype(np.float32)))


def test_initial_values_match_spec(pynative):
    module = CrossModalPrompt(C, N, D, M, PromptConfig(**AVE))
    params = params_numpy(module)
    assert params["gate"].tolist() == [0.0] and params["gate_av"].tolist() == [0.0]
    tokens = params["my_tokens"]
    assert tokens.shape == (3, C) and tokens.min() >= 0 and tokens.max() < 1 and tokens.std() > 0.1
    assert params["down_sampler.weight"].shape == (C // 4, C // 2, 1, 1)      # grouped: [d, C/G, 1, 1]
    assert params["up_sampler.weight"].shape == (C, C // 4 // 2, 1, 1)
    assert params["conv_adapter.weight"].shape == (N, M, 1, 1)
    # PyTorch default init: every weight/bias of Linear/Conv inside U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    for name, fan_in in (("fc", D), ("fc_affine_audio_1", C), ("fc_affine_v_s_att", C // 2),
                         ("conv_adapter", M), ("down_sampler", C // 2)):
        for suffix in ("weight", "bias"):
            key = f"{name}.{suffix}"
            if key in params:
                bound = 1 / math.sqrt(fan_in)
                assert np.abs(params[key]).max() <= bound + 1e-7
                assert np.abs(params[key]).max() > 0.5 * bound     # really uniform over the range, not tiny
    # built with momentum=0.9 (== torch 0.1); MindSpore stores the weight of the batch statistic, i.e. 1 - 0.9
    assert module.bn1.momentum == pytest.approx(0.1) and module.bn1.eps == pytest.approx(1e-5)
    assert module.ln_before.epsilon == pytest.approx(1e-5) and module.ln_post.epsilon == pytest.approx(1e-5)
    zeros = CrossModalPrompt(C, N, D, M, PromptConfig(**S4), use_gate=False)
    assert np.all(params_numpy(zeros)["my_tokens"] == 0)
    assert not hasattr(zeros, "gate") and not hasattr(zeros, "bn1")


@pytest.mark.parametrize("variant", [AVE, S4])
def test_gated_module_outputs_zero_at_init(pynative, variant):
    module = CrossModalPrompt(C, N, D, M, PromptConfig(**variant), use_gate=True)
    module.set_train(True)
    out, pool = module(*_inputs())
    assert out.shape == (4, N, C) and pool.shape == (4, 1, N)
    assert np.all(out.asnumpy() == 0)
    np.testing.assert_allclose(pool.asnumpy().sum(-1), 1.0, rtol=1e-5)


def test_ungated_s4_audio_side_perturbs_from_step0(pynative):
    module = CrossModalPrompt(C, N, D, M, PromptConfig(**S4), use_gate=False)
    out, _ = module(*_inputs())
    assert np.abs(out.asnumpy()).max() > 1e-3


@pytest.mark.parametrize("bad,msg", [(dict(tokens_init="normal"), "tokens_init"), (dict(alignment="x"), "alignment"),
                                     (dict(reduction=0), "reduction")])
def test_bad_config_raises_naming_key(bad, msg):
    with pytest.raises(ValueError, match=msg):
        CrossModalPrompt(C, N, D, M, PromptConfig(**bad))


def test_resize_alignment_needs_square_grids():
    with pytest.raises(ValueError, match="square"):
        CrossModalPrompt(C, 12, D, M, PromptConfig(alignment="resize", reduction=4))


@pytest.mark.parametrize("variant", [AVE, S4, dict(AVE, gate_before_ln_post=True), FEWSHOT])
@pytest.mark.parametrize("train", [True, False])
def test_parity_with_torch_reference(pynative, variant, train):
    """Non-zero gates, train (BN batch stats) and eval mode, output + map + input gradient."""
    torch = torch_or_skip()
    cfg = PromptConfig(**variant)
    module = CrossModalPrompt(C, N, D, M, cfg, use_gate=True)
    module.gate.set_data(ms.Tensor([0.7], ms.float32))
    module.gate_av.set_data(ms.Tensor([0.5], ms.float32))
    if cfg.use_bn:   # non-trivial running statistics for the eval-mode comparison
        module.bn2.moving_mean.set_data(ms.Tensor(np.linspace(-0.5, 0.5, C).astype(np.float32)))
        module.bn2.moving_variance.set_data(ms.Tensor(np.linspace(0.5, 2.0, C).astype(np.float32)))
    module.set_train(train)
    params = params_numpy(module)
    batch = 20 if cfg.temporal_gate else 4      # the official temporal gate needs 10 segments per video
    x, y = _inputs(batch)
    weights = np.random.default_rng(2).standard_normal((batch, N, C)).astype(np.float32)

    def loss_fn(x_in, y_in):
        out, pool = module(x_in, y_in)
        return (out * ms.Tensor(weights)).sum() + (pool * pool).sum() * 3
    out, pool = module(x, y)
    grads = ms.grad(loss_fn, grad_position=(0, 1))(x, y)

    tx = torch.tensor(x.asnumpy(), requires_grad=True)
    ty = torch.tensor(y.asnumpy(), requires_grad=True)
    from torch_prompt_reference import functional_prompt
    ref_out, ref_pool = functional_prompt(params, tx, ty, cfg, True, train)
    ((ref_out * torch.tensor(weights)).sum() + (ref_pool * ref_pool).sum() * 3).backward()
    np.testing.assert_allclose(out.asnumpy(), ref_out.detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(pool.asnumpy(), ref_pool.detach().numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(grads[0].asnumpy(), tx.grad.numpy(), rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(grads[1].asnumpy(), ty.grad.numpy(), rtol=1e-3, atol=1e-5)


def test_graph_mode_equals_pynative():
    module = CrossModalPrompt(C, N, D, M, PromptConfig(**AVE))
    module.gate.set_data(ms.Tensor([0.3], ms.float32))
    module.gate_av.set_data(ms.Tensor([0.4], ms.float32))
    module.set_train(False)
    x, y = _inputs()
    ms.set_context(mode=ms.PYNATIVE_MODE)
    eager = module(x, y)[0].asnumpy()

    class Wrap(nn.Cell):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def construct(self, a, b):
            return self.inner(a, b)[0]
    ms.set_context(mode=ms.GRAPH_MODE)
    try:
        graph = Wrap(module)(x, y).asnumpy()
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)
    np.testing.assert_allclose(graph, eager, rtol=1e-5, atol=1e-6)


def test_temporal_gate_changes_the_output_only_when_enabled(pynative):
    """The gate adds gamma * G_t to the re-weighting: with gamma > 0 the output differs from the same module without
    the gate (same weights); the gate exists only in the temporal variant."""
    assert not hasattr(CrossModalPrompt(C, N, D, M, PromptConfig(**AVE)), "temporal_gated")
    module = CrossModalPrompt(C, N, D, M, PromptConfig(**dict(FEWSHOT, gamma=0.5)))
    params = params_numpy(module)
    assert params["temporal_gated.0.weight"].shape == (1, C) and params["temporal_gated.0.bias"].shape == (1,)
    module.gate.set_data(ms.Tensor([0.7], ms.float32))
    module.set_train(False)
    x, y = _inputs(20)
    with_gate = module(x, y)[0].asnumpy()
    module.gamma = 0.0
    without = module(x, y)[0].asnumpy()
    assert np.abs(with_gate - without).max() > 1e-3
