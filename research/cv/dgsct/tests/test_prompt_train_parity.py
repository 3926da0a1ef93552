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
"""Train-mode parity of the prompt module (matmul bottleneck) with a PyTorch module using the official grouped
Conv2d + BatchNorm2d layout: outputs, input gradients, every parameter gradient and the BatchNorm running statistics
after one training forward. The reference uses contiguous tensors before BatchNorm (torch 2.14.1's CPU BatchNorm2d
backward is wrong for the permuted views the official code feeds it)."""
import numpy as np
import pytest
import mindspore as ms

from src.dgsct.prompt import CrossModalPrompt, PromptConfig
from conftest import torch_or_skip, params_numpy

C, N, M, T = 16, 16, 9, 3


def _module(groups, D):
    module = CrossModalPrompt(C, N, D, M, PromptConfig(reduction=4, num_tokens=T, groups=groups), use_gate=True)
    module.gate.set_data(ms.Tensor([0.7], ms.float32))            # non-zero gates: every branch gets a gradient
    module.gate_av.set_data(ms.Tensor([0.5], ms.float32))
    rng = np.random.default_rng(3)
    for bn in (module.bn1, module.bn2):                            # non-trivial running statistics and affine
        size = bn.gamma.shape[0]
        bn.moving_mean.set_data(ms.Tensor(rng.uniform(-0.5, 0.5, size).astype(np.float32)))
        bn.moving_variance.set_data(ms.Tensor(rng.uniform(0.5, 2.0, size).astype(np.float32)))
        bn.gamma.set_data(ms.Tensor(rng.uniform(0.5, 1.5, size).astype(np.float32)))
        bn.beta.set_data(ms.Tensor(rng.uniform(-0.3, 0.3, size).astype(np.float32)))
    return module


@pytest.mark.parametrize("groups,D", [(2, 24), (4, 24), (2, 8)])
def test_train_step_matches_torch(pynative, groups, D):
    """D > C: token mixing after the guide projection (video->audio); D < C: before it (audio->video)."""
    torch = torch_or_skip()
    from torch_prompt_reference import TorchPrompt, torch_name
    module = _module(groups, D)
    module.set_train(True)
    reference = TorchPrompt(C, N, D, M, reduction=4, groups=groups, latent_tokens=T, contiguous=True)
    reference.load_mindspore(params_numpy(module)).train()

    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, N, C)).astype(np.float32)
    y = rng.standard_normal((4, M, D)).astype(np.float32)
    weights = rng.standard_normal((4, N, C)).astype(np.float32)

    def loss_fn(x_in, y_in):
        out, pool = module(x_in, y_in)
        return (out * ms.Tensor(weights)).sum() + (pool * pool).sum() * 3, out, pool
    params = module.trainable_params()
    grad_fn = ms.value_and_grad(loss_fn, grad_position=(0, 1), weights=params, has_aux=True)
    (_, out, pool), (input_grads, param_grads) = grad_fn(ms.Tensor(x), ms.Tensor(y))

    tx, ty = torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)
    ref_out, ref_pool = reference(tx, ty)
    ((ref_out * torch.tensor(weights)).sum() + (ref_pool * ref_pool).sum() * 3).backward()

    np.testing.assert_allclose(out.asnumpy(), ref_out.detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(pool.asnumpy(), ref_pool.detach().numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(input_grads[0].asnumpy(), tx.grad.numpy(), rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(input_grads[1].asnumpy(), ty.grad.numpy(), rtol=1e-3, atol=1e-5)
    ref_params = dict(reference.named_parameters())
    assert len(params) == len(ref_params)
    for param, grad in zip(params, param_grads):
        ref_grad = ref_params[torch_name(param.name)].grad
        assert ref_grad is not None and grad.shape == ref_grad.shape, param.name
        # atol floor 1e-5: a bias right before a BatchNorm (ln_before.beta) has an exactly-zero true gradient,
        # both frameworks return rounding noise of about 1e-6 for it
        atol = max(1e-5, 1e-5 * np.abs(ref_grad.numpy()).max())
        np.testing.assert_allclose(grad.asnumpy(), ref_grad.numpy(), rtol=1e-3, atol=atol, err_msg=param.name)
    down_grad = next(g for p, g in zip(params, param_grads) if p is module.down_sampler.weight).asnumpy()
    assert np.abs(down_grad).max() > 1e-4                          # the reference really trains the bottleneck
    # one training forward updated the running statistics exactly as torch (momentum 0.1, unbiased variance)
    buffers = dict(reference.named_buffers())
    for bn_name in ("bn1", "bn2"):
        bn = getattr(module, bn_name)
        np.testing.assert_allclose(bn.moving_mean.asnumpy(), buffers[f"{bn_name}.running_mean"].numpy(),
                                   rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(bn.moving_variance.asnumpy(), buffers[f"{bn_name}.running_var"].numpy(),
                                   rtol=1e-5, atol=1e-6)
    # and the eval forward (running statistics folded into scale/shift) still matches
    module.set_train(False)
    reference.eval()
    with torch.no_grad():
        ref_eval = reference(torch.tensor(x), torch.tensor(y))[0].numpy()
    np.testing.assert_allclose(module(ms.Tensor(x), ms.Tensor(y))[0].asnumpy(), ref_eval, rtol=1e-4, atol=1e-5)
