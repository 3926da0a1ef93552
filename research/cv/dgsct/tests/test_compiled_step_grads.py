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
"""Gradients through the compiled block steps (layers.compiled_step) equal the un-compiled ones (PyNative), for every
trainable parameter and every input, when the same compiled step is used under different gradient configurations in
one process: frozen weights (input gradient only, as the frozen backbones in DG-SCT training), then trainable weights
(fine-tuning, AVS S4's trainable HTS-AT), then frozen again. MindSpore 2.10 returned wrong (zero) weight gradients
from the second trainable call of a jit function first differentiated with frozen weights; compiled_step keeps one
graph per frozen/trainable pattern against it.

The reference runs the same code with MS_JIT=0 (ms.jit then calls the plain Python function)."""
import os
from contextlib import contextmanager

import numpy as np
import pytest
import mindspore as ms
from mindspore import nn

from src.backbones.htsat import HTSATBlock
from src.backbones.swin_v2 import SwinV2Block
from src.dgsct.encoder import AudioVisualEncoder, freeze_backbones, set_train_mode
from src.dgsct.prompt import CrossModalPrompt, PromptConfig
from test_encoder import _tiny_backbones
from test_swin_v2 import randomize


@contextmanager
def uncompiled():
    old = os.environ.get("MS_JIT")
    os.environ["MS_JIT"] = "0"
    try:
        yield
    finally:
        if old is None:
            del os.environ["MS_JIT"]
        else:
            os.environ["MS_JIT"] = old


def _grads(net_fn, inputs, params):
    """(input gradients, parameter gradients) of sum(out^2 * fixed weights) with params as the weight list."""
    rng = np.random.default_rng(7)

    def loss(*args):
        outs = net_fn(*args)
        outs = outs if isinstance(outs, tuple) else (outs,)
        total = 0
        for out in outs:
            total = total + (out * out * ms.Tensor(rng.uniform(0.5, 1.5, out.shape).astype(np.float32))).sum()
        return total
    positions = tuple(range(len(inputs)))
    grads = ms.grad(loss, grad_position=positions, weights=params or None)(*inputs)
    input_grads, param_grads = (grads, ()) if not params else grads
    if len(inputs) == 1 and not params:
        input_grads = (input_grads,)
    return [g.asnumpy() for g in input_grads], [g.asnumpy() for g in param_grads]


def _check_same_gradients(net, net_fn, inputs, what):
    params = net.trainable_params()
    got = _grads(net_fn, inputs, params)
    with uncompiled():
        want = _grads(net_fn, inputs, params)
    for i, (g, w) in enumerate(zip(got[0], want[0])):
        assert np.abs(w).max() > 0, f"{what}: input {i} gets no gradient at all"
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5 * np.abs(w).max(), err_msg=f"{what}: input {i}")
    assert len(got[1]) == len(params)
    for param, g, w in zip(params, got[1], want[1]):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5 * max(np.abs(w).max(), 1e-3),
                                   err_msg=f"{what}: {param.name}")
    return sum(float(np.abs(w).max() > 0) for w in want[1])


def _set_trainable(net, trainable):
    for p in net.get_parameters():
        p.requires_grad = trainable and "moving_" not in p.name


def _tokens(shape, seed):
    return ms.Tensor(np.random.default_rng(seed).standard_normal(shape).astype(np.float32))


def _block_cases():
    """(name, builder of a fresh randomised block, input shape) for both backbones' block steps, shifted windows."""
    return [("swin_v2", lambda seed: randomize(SwinV2Block(24, (8, 8), 2, 4, 2), seed), (2, 64, 24)),
            ("htsat", lambda seed: randomize(HTSATBlock(24, (8, 8), 2, 4, 2, 4.0, 0.0), seed), (2, 64, 24))]


@pytest.mark.parametrize("name,build,shape", _block_cases())
def test_block_steps_frozen_then_trainable_then_frozen(pynative, name, build, shape):
    """One compiled graph per block shape, used frozen -> trainable (twice, new instances) -> frozen."""
    x = _tokens(shape, 3)

    def residuals(blk):
        return lambda t: t + blk.attn_residual(t) + blk.mlp_residual(t + 0.5 * blk.attn_residual(t))
    for step, trainable in enumerate((False, True, True, True, False)):
        blk = build(step)
        blk.set_train(False)
        _set_trainable(blk, trainable)
        nonzero = _check_same_gradients(blk, residuals(blk), (x,), f"{name} call {step}")
        assert nonzero == (len(blk.trainable_params()) if trainable else 0)


def test_prompt_compiled_module_frozen_then_trainable(pynative):
    """The prompt module's compiled graph (eval mode, and training without BatchNorm: the AVS-S4 variant) used with
    the module frozen, then trainable, in one process."""
    cfg = dict(reduction=4, num_tokens=3)
    c, n, d, m = 16, 16, 24, 9
    x, y = _tokens((4, n, c), 1), _tokens((4, m, d), 2)
    for step, (train, use_bn, trainable) in enumerate([(False, True, False), (False, True, True), (False, True, True),
                                                      (True, False, False), (True, False, True),
                                                      (True, False, True)]):
        module = CrossModalPrompt(c, n, d, m, PromptConfig(use_bn=use_bn, **cfg), use_gate=True)
        randomize(module, step)
        for p in module.get_parameters():
            if "moving_variance" in p.name:
                p.set_data(ms.Tensor(np.random.default_rng(step).uniform(0.5, 2.0, p.shape).astype(np.float32)))
        module.set_train(train)
        _set_trainable(module, trainable)
        _check_same_gradients(module, module, (x, y), f"prompt call {step} (train={train}, bn={use_bn})")


def test_encoder_training_gradients_with_frozen_then_trainable_audio_backbone(pynative):
    """The whole tiny encoder in training (frozen backbones in eval mode, prompts with BatchNorm training): gradients
    of every prompt parameter and of both inputs; then the official AVS S4 setting (HTS-AT trainable) in the same
    process, which reuses the HTS-AT steps' shapes with trainable weights."""
    swin, htsat = _tiny_backbones()
    encoder = AudioVisualEncoder(swin, htsat, PromptConfig(reduction=4, num_tokens=3), backbone_train_mode=False)
    for module in encoder.cells_and_names():     # open the gates: every prompt parameter gets a gradient
        for gate in ("gate", "gate_av"):
            if hasattr(module[1], gate) and isinstance(getattr(module[1], gate), ms.Parameter):
                getattr(module[1], gate).set_data(ms.Tensor([0.5], ms.float32))
    images, waves = _tokens((2, 3, 32, 32), 3), 0.1 * _tokens((2, 16000), 4)
    images_only = ms.Tensor(images.asnumpy())

    def pooled(img, wav):
        return encoder.pooled(img, wav)
    for setting in ("frozen", "train_htsat", "train_htsat", "frozen"):
        freeze_backbones(encoder, train_htsat=setting == "train_htsat")
        set_train_mode(encoder, True)
        # the BatchNorm running statistics move with every training forward: restore them for the reference run
        stats = {p.name: p.asnumpy().copy() for p in encoder.get_parameters() if "moving_" in p.name}
        params = encoder.trainable_params()
        got = _grads(pooled, (images_only, waves), params)
        for p in encoder.get_parameters():
            if p.name in stats:
                p.set_data(ms.Tensor(stats[p.name]))
        with uncompiled():
            want = _grads(pooled, (images_only, waves), params)
        for i, (g, w) in enumerate(zip(got[0], want[0])):
            assert np.abs(w).max() > 0
            np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5 * np.abs(w).max(), err_msg=f"{setting} input {i}")
        htsat_grads = 0
        noise = 1e-5 * max(np.abs(w).max() for w in want[1])
        for param, g, w in zip(params, got[1], want[1]):
            if np.abs(w).max() < noise:
                # analytically zero (a prompt LayerNorm beta whose constant shift the training-mode BatchNorm after
                # it removes): both runs give float rounding noise, which must stay at that level
                assert np.abs(g).max() < noise, f"{setting}: {param.name}"
                continue
            np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5 * max(np.abs(w).max(), 1e-3),
                                       err_msg=f"{setting}: {param.name}")
            htsat_grads += param.name.startswith("htsat.stages") and np.abs(w).max() > 0
        assert (htsat_grads > 0) == (setting == "train_htsat")


class _WeightedSquares(nn.Cell):
    """sum(out^2 * fixed weights) over the encoder's pooled outputs (v_seg, a_seg)."""

    def __init__(self, encoder, weights):
        super().__init__()
        self.encoder = encoder
        self.weights = weights

    def construct(self, images, waves):
        v_seg, a_seg = self.encoder.pooled(images, waves)
        return (v_seg * v_seg * self.weights[0]).sum() + (a_seg * a_seg * self.weights[1]).sum()


def test_graph_mode_encoder_training_gradients_equal_pynative():
    """GRAPH_MODE training of the tiny encoder (the compiled block and prompt steps inside the network graph) gives
    the loss, the input gradients and every prompt parameter's gradient of the un-compiled PyNative run, and moves
    the BatchNorm running statistics alike."""
    swin, htsat = _tiny_backbones()
    encoder = AudioVisualEncoder(swin, htsat, PromptConfig(reduction=4, num_tokens=3), backbone_train_mode=False)
    for _, cell in encoder.cells_and_names():      # open the gates: every prompt parameter gets a gradient
        for gate in ("gate", "gate_av"):
            if isinstance(getattr(cell, gate, None), ms.Parameter):
                getattr(cell, gate).set_data(ms.Tensor([0.5], ms.float32))
    freeze_backbones(encoder)
    set_train_mode(encoder, True)
    images, waves = _tokens((2, 3, 32, 32), 3), 0.1 * _tokens((2, 16000), 4)
    rng = np.random.default_rng(7)
    weights = tuple(ms.Tensor(rng.uniform(0.5, 1.5, shape).astype(np.float32))
                    for shape in [o.shape for o in encoder.pooled(images, waves)])
    params = encoder.trainable_params()
    stats = {p.name: p.asnumpy().copy() for p in encoder.get_parameters() if "moving_" in p.name}

    def run(mode):
        for p in encoder.get_parameters():
            if p.name in stats:
                p.set_data(ms.Tensor(stats[p.name]))
        ms.set_context(mode=mode)
        try:
            loss_net = _WeightedSquares(encoder, weights)       # a fresh cell: GRAPH_MODE compiles it anew
            loss, (input_grads, param_grads) = ms.value_and_grad(loss_net, (0, 1), params)(images, waves)
        finally:
            ms.set_context(mode=ms.PYNATIVE_MODE)
        moved = {p.name: p.asnumpy().copy() for p in encoder.get_parameters() if p.name in stats}
        return float(loss.asnumpy()), [g.asnumpy() for g in input_grads], [g.asnumpy() for g in param_grads], moved

    graph = run(ms.GRAPH_MODE)
    with uncompiled():
        eager = run(ms.PYNATIVE_MODE)
    np.testing.assert_allclose(graph[0], eager[0], rtol=1e-5)
    for i, (g, w) in enumerate(zip(graph[1], eager[1])):
        assert np.abs(w).max() > 0
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5 * np.abs(w).max(), err_msg=f"input {i}")
    noise = 1e-5 * max(np.abs(w).max() for w in eager[2])
    assert len(graph[2]) == len(params)
    for param, g, w in zip(params, graph[2], eager[2]):
        if np.abs(w).max() < noise:       # analytically zero (see the test above): rounding noise on both sides
            assert np.abs(g).max() < noise, param.name
            continue
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5 * max(np.abs(w).max(), 1e-3), err_msg=param.name)
    for name, want in eager[3].items():
        assert not np.array_equal(want, stats[name]), name
        np.testing.assert_allclose(graph[3][name], want, rtol=1e-5, atol=1e-6, err_msg=name)
