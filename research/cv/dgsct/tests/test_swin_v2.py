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
"""Swin-V2 backbone and shared layers without torch: shapes, block-level API, GRAPH == PYNATIVE, frozen params,
CPU-safe shift, masks, patch-merge order, DropPath, exact GELU, LayerNorm eps."""
import math

import numpy as np
import pytest

import mindspore as ms
from mindspore import nn

from src.backbones.layers import (DropPath, Mlp, cyclic_shift, effective_window, layer_norm, patch_merge_gather,
                                  gather_tokens, relative_position_index, shift_attn_mask, tokens_from_windows,
                                  window_partition, window_reverse, window_token_orders, windows_from_tokens)
from src.backbones.swin_v2 import SwinV2, SwinV2Config, log_spaced_coords_table


def randomize(net, seed=0):
    """Non-trivial weights everywhere (timm zero-initialises the res-post-norms, which would hide bugs)."""
    rng = np.random.default_rng(seed)
    for p in net.get_parameters():
        if p.name.endswith("gamma"):
            value = 1.0 + 0.3 * rng.standard_normal(p.shape)
        elif p.name.endswith("logit_scale"):
            value = rng.uniform(1.0, 5.5, p.shape)          # some above the ln(100) clamp
        else:
            value = 0.1 * rng.standard_normal(p.shape)
        p.set_data(ms.Tensor(value.astype(np.float32)))
    return net


def images(batch, size, seed=0):
    return ms.Tensor(np.random.default_rng(seed).standard_normal((batch, 3, size, size)).astype(np.float32))


class BlockwiseSwin(nn.Cell):
    """What the DG-SCT encoder does: drive the backbone step by step from an outer Cell."""

    def __init__(self, swin):
        super().__init__()
        self.swin = swin

    def construct(self, images_):
        x = self.swin.embed(images_)
        maps = []
        for stage in self.swin.stages:
            for blk in stage.blocks:
                x = x + blk.attn_residual(x)
                x = x + blk.mlp_residual(x)
            maps.append(x)
            if stage.downsample is not None:
                x = stage.downsample(x)
        return maps, self.swin.norm(x)


def test_tiny_stage_shapes_and_windows(pynative):
    cfg = SwinV2Config.tiny(num_classes=7)
    net = SwinV2(cfg)
    net.set_train(False)
    x = images(2, 64)
    maps, tokens = net.forward_features(x)
    assert [m.shape for m in maps] == [(2, 256, 24), (2, 64, 48), (2, 16, 96), (2, 4, 192)]
    assert tokens.shape == (2, 4, 192)
    assert net.stage_resolutions == [(16, 16), (8, 8), (4, 4), (2, 2)]
    assert net.stage_dims == [24, 48, 96, 192] and net.depths == [2, 2, 2, 2]
    # shift on odd blocks only where the grid is larger than the window; stage 4 window shrinks to the grid
    got = [(blk.window, blk.shift) for stage in net.stages for blk in stage.blocks]
    assert got == [((4, 4), (0, 0)), ((4, 4), (2, 2)), ((4, 4), (0, 0)), ((4, 4), (2, 2)),
                   ((4, 4), (0, 0)), ((4, 4), (0, 0)), ((2, 2), (0, 0)), ((2, 2), (0, 0))]
    assert [s.downsample is None for s in net.stages] == [False, False, False, True]
    assert net(x).shape == (2, 7)                                        # head on mean-pooled tokens
    assert SwinV2(SwinV2Config.tiny()).head is None                      # default: backbone only


def test_large_192_layout():
    """Full Swin-V2-L-192 structure (shapes of every stage, windows, parameter count); its forward runs in
    benchmark_backbones.py (too slow for a unit test on this CPU)."""
    cfg = SwinV2Config.large_192()
    assert cfg.stage_resolutions() == [(48, 48), (24, 24), (12, 12), (6, 6)]
    assert cfg.stage_dims() == [192, 384, 768, 1536]
    assert (cfg.depths, cfg.num_heads, cfg.window_size) == ((2, 2, 18, 2), (6, 12, 24, 48), 12)
    # timm windows: stage 3 grid == window -> no shift; stage 4 grid 6 < 12 -> window 6
    assert effective_window(48, 12, 6) == ((12, 12), (6, 6))
    assert effective_window(12, 12, 6) == ((12, 12), (0, 0))
    assert effective_window(6, 12, 6) == ((6, 6), (0, 0))


def test_block_api_equals_forward(pynative):
    net = randomize(SwinV2(SwinV2Config.tiny()))
    net.set_train(False)
    x = images(2, 64)
    maps, tokens = net.forward_features(x)
    step_maps, step_tokens = BlockwiseSwin(net)(x)
    for a, b in zip(maps + [tokens], list(step_maps) + [step_tokens]):
        np.testing.assert_allclose(a.asnumpy(), b.asnumpy(), rtol=0, atol=1e-5)
    # the block's construct == its two residual steps
    blk = net.stages[0].blocks[1]
    t = net.embed(x)
    step = t + blk.attn_residual(t)
    step = step + blk.mlp_residual(step)
    np.testing.assert_allclose(blk(t).asnumpy(), step.asnumpy(), rtol=0, atol=1e-6)


def test_graph_mode_equals_pynative():
    """Outer Cell calling embed / attn_residual / mlp_residual / downsample / norm compiles in GRAPH_MODE and gives
    the PyNative numbers. Depths 2-1-1-1 keep the compile short while covering a shifted block and all stages."""
    ms.set_context(mode=ms.PYNATIVE_MODE)
    net = randomize(SwinV2(SwinV2Config.tiny(depths=(2, 1, 1, 1))))
    net.set_train(False)
    x = images(2, 64)
    ref_maps, ref_tokens = net.forward_features(x)
    try:
        ms.set_context(mode=ms.GRAPH_MODE)
        maps, tokens = BlockwiseSwin(net)(x)
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)
    assert len(maps) == 4
    for a, b in zip(list(maps) + [tokens], ref_maps + [ref_tokens]):
        np.testing.assert_allclose(a.asnumpy(), b.asnumpy(), rtol=0, atol=1e-5)


def test_compiled_block_steps_use_each_blocks_own_weights(pynative):
    """attn_residual / mlp_residual run one compiled graph per block shape with the weights as arguments: two blocks of
    the same shape (and a second call of the first) must each give their own un-compiled result (cell path), with
    the same input and weight gradients."""
    from src.backbones.swin_v2 import SwinV2Block
    blocks = [randomize(SwinV2Block(24, (8, 8), 2, 4, 2), seed) for seed in (1, 2)]
    x = ms.Tensor(np.random.default_rng(3).standard_normal((2, 64, 24)).astype(np.float32))

    def compiled(blk, t):
        return blk.attn_residual(t) + blk.mlp_residual(t)

    def cells(blk, t):
        return blk.norm1(blk.window_attn(t)) + blk.norm2(blk.mlp(t))
    outputs = []
    for blk in blocks + blocks[:1]:
        blk.set_train(False)
        got, want = compiled(blk, x), cells(blk, x)
        np.testing.assert_allclose(got.asnumpy(), want.asnumpy(), rtol=1e-5, atol=1e-5)
        params = blk.trainable_params()
        grads = [ms.grad(lambda t, fn=fn, b=blk: (fn(b, t) ** 2).sum(), grad_position=0, weights=params)(x)
                 for fn in (compiled, cells)]
        np.testing.assert_allclose(grads[0][0].asnumpy(), grads[1][0].asnumpy(), rtol=1e-4, atol=1e-4)
        for g_compiled, g_cells, param in zip(grads[0][1], grads[1][1], params):
            assert float(np.abs(g_cells.asnumpy()).max()) > 0, param.name
            np.testing.assert_allclose(g_compiled.asnumpy(), g_cells.asnumpy(), rtol=1e-4, atol=1e-4,
                                       err_msg=param.name)
        outputs.append(got.asnumpy())
    assert np.abs(outputs[0] - outputs[1]).max() > 1e-3          # the two blocks really differ
    np.testing.assert_array_equal(outputs[0], outputs[2])


def test_frozen_parameters_get_no_update(pynative):
    """Freeze everything except stage 2: the gradient must flow through frozen stages 3-4 to stage 2,
    and one SGD step must leave every frozen parameter bit-identical."""
    net = randomize(SwinV2(SwinV2Config.tiny(depths=(1, 1, 1, 1), drop_path_rate=0.0)))
    net.set_train(True)
    for p in net.get_parameters():
        p.requires_grad = p.name.startswith("stages.1.")
    trainable = net.trainable_params()
    assert trainable and all(p.name.startswith("stages.1.") for p in trainable)
    before = {p.name: p.asnumpy().copy() for p in net.get_parameters()}

    def loss_fn(x):
        return (net(x) ** 2).mean()

    grad_fn = ms.value_and_grad(loss_fn, None, trainable)
    _, grads = grad_fn(images(2, 64))
    assert len(grads) == len(trainable)
    assert all(np.isfinite(g.asnumpy()).all() for g in grads)
    assert any(np.abs(g.asnumpy()).max() > 0 for g in grads)
    nn.SGD(trainable, learning_rate=0.1)(grads)
    for p in net.get_parameters():
        changed = not np.array_equal(before[p.name], p.asnumpy())
        if p.requires_grad:
            continue
        assert not changed, f"frozen parameter {p.name} changed"
    assert any(not np.array_equal(before[p.name], p.asnumpy()) for p in trainable)


@pytest.mark.parametrize("shift", [(-2, -2), (2, 2), (3, -1), (0, 5), (-9, 13)])
def test_cyclic_shift_equals_np_roll(pynative, shift):
    x = np.random.default_rng(1).standard_normal((2, 8, 6, 3)).astype(np.float32)
    got = cyclic_shift(ms.Tensor(x), shift).asnumpy()
    np.testing.assert_array_equal(got, np.roll(x, shift, axis=(1, 2)))


def test_window_partition_roundtrip(pynative):
    x = np.random.default_rng(2).standard_normal((2, 8, 12, 5)).astype(np.float32)
    windows = window_partition(ms.Tensor(x), (4, 6))
    assert windows.shape == (8, 4, 6, 5)
    np.testing.assert_array_equal(windows.asnumpy()[1], x[0, 0:4, 6:12])          # row-major window order
    np.testing.assert_array_equal(window_reverse(windows, (4, 6), (8, 12)).asnumpy(), x)


def test_shifted_windows_roundtrip(pynative):
    x = np.random.default_rng(4).standard_normal((2, 8 * 8, 3)).astype(np.float32)
    windows = windows_from_tokens(ms.Tensor(x), 8, 4, 2)
    assert windows.shape == (8, 16, 3)
    rolled = np.roll(x.reshape(2, 8, 8, 3), (-2, -2), axis=(1, 2))
    np.testing.assert_array_equal(windows.asnumpy()[0], rolled[0, :4, :4].reshape(16, 3))
    np.testing.assert_array_equal(tokens_from_windows(windows, 8, 4, 2).asnumpy(), x)


@pytest.mark.parametrize("resolution,window,shift", [(8, 4, 2), ((8, 12), (4, 6), (2, 3)), (8, 4, 0)])
def test_gathered_windows_equal_partition(pynative, resolution, window, shift):
    """The compiled steps' one-gather shift + partition (and its inverse) give exactly windows_from_tokens'
    windows and the token map back."""
    h, w = (resolution, resolution) if isinstance(resolution, int) else resolution
    wh, ww = (window, window) if isinstance(window, int) else window
    x = ms.Tensor(np.random.default_rng(5).standard_normal((2, h * w, 3)).astype(np.float32))
    window_order, token_order = window_token_orders(resolution, window, shift)
    windows = gather_tokens(x, window_order, token_order).reshape(-1, wh * ww, 3)
    np.testing.assert_array_equal(windows.asnumpy(), windows_from_tokens(x, resolution, window, shift).asnumpy())
    tokens = gather_tokens(windows.reshape(2, h * w, 3), token_order, window_order)
    np.testing.assert_array_equal(tokens.asnumpy(), x.asnumpy())


def test_single_unshifted_window_needs_no_gather():
    assert window_token_orders(12, 12, 0) == (None, None)


def test_shift_mask_matches_brute_force():
    res, win, shift = 8, 4, 2
    mask = shift_attn_mask(res, win, shift)
    # independent rule: after the cyclic shift, a token may attend to another one of its window only if both or
    # neither crossed the image border along each axis (i.e. they were neighbours in the original image)
    region = np.zeros((res, res), np.int64)
    for i in range(res):
        for j in range(res):
            oi, oj = (i + shift) % res, (j + shift) % res           # shifted pixel (i, j) came from (oi, oj)
            region[i, j] = 2 * int(oi < i) + int(oj < j)            # wrapped around along rows / columns
    expected = np.zeros_like(mask)
    for w_idx in range(mask.shape[0]):
        wi, wj = divmod(w_idx, res // win)
        cells = [(wi * win + a, wj * win + b) for a in range(win) for b in range(win)]
        for q, (qi, qj) in enumerate(cells):
            for k, (ki, kj) in enumerate(cells):
                expected[w_idx, q, k] = 0.0 if region[qi, qj] == region[ki, kj] else -100.0
    np.testing.assert_array_equal(mask, expected)
    assert set(np.unique(mask)) == {0.0, -100.0}
    assert not mask[0].any()                                        # first window has no wrapped tokens


def test_relative_position_index_and_coords():
    idx = relative_position_index(3)
    assert idx.shape == (9, 9) and idx.min() == 0 and idx.max() == 24
    assert (np.diag(idx) == 12).all()                               # zero offset is the table centre
    table = log_spaced_coords_table((4, 4), (0, 0))
    assert table.shape == (1, 7, 7, 2)
    # offsets +-3 normalised by (window - 1) -> +-8 -> log2(9) / 3
    assert math.isclose(float(table[0, -1, 0, 0]), math.log2(9) / 3, rel_tol=1e-6)
    assert float(table[0, 3, 3, 0]) == 0.0


def test_patch_merge_gather_order(pynative):
    x = np.arange(2 * 4 * 6 * 3, dtype=np.float32).reshape(2, 4, 6, 3)
    got = patch_merge_gather(ms.Tensor(x.reshape(2, 24, 3)), (4, 6)).asnumpy()
    blocks = [x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]]
    np.testing.assert_array_equal(got, np.concatenate(blocks, -1).reshape(2, 6, 12))


def test_drop_path_semantics(pynative):
    x = ms.Tensor(np.ones((4000, 3, 2), np.float32))
    dp = DropPath(0.25)
    dp.set_train(False)
    np.testing.assert_array_equal(dp(x).asnumpy(), x.asnumpy())
    dp.set_train(True)
    y = dp(x).asnumpy()
    assert set(np.unique(y).tolist()) <= {0.0, float(np.float32(1.0) / np.float32(0.75))}
    assert (y == y[:, :1, :1]).all()                                  # one decision per sample
    assert abs((y[:, 0, 0] > 0).mean() - 0.75) < 0.04
    zero = DropPath(0.0)
    zero.set_train(True)
    np.testing.assert_array_equal(zero(x).asnumpy(), x.asnumpy())


def test_mlp_exact_gelu_and_layer_norm_eps(pynative):
    mlp = Mlp(4, 8)
    assert isinstance(mlp.fc1, nn.Dense) and isinstance(mlp.fc2, nn.Dense)
    x = np.random.default_rng(3).standard_normal((5, 4)).astype(np.float32) * 3
    w1, b1 = mlp.fc1.weight.asnumpy(), mlp.fc1.bias.asnumpy()
    w2, b2 = mlp.fc2.weight.asnumpy(), mlp.fc2.bias.asnumpy()
    h = x @ w1.T + b1
    erf = np.vectorize(math.erf)
    expected = (0.5 * h * (1 + erf(h / math.sqrt(2)))) @ w2.T + b2
    np.testing.assert_allclose(mlp(ms.Tensor(x)).asnumpy(), expected, rtol=1e-5, atol=1e-5)
    ln = layer_norm(4)
    assert ln.epsilon == 1e-5
    tiny_var = np.array([[1.0, 1.001, 0.999, 1.0]], np.float32)
    centred = tiny_var - tiny_var.mean()
    expected_ln = centred / np.sqrt((centred ** 2).mean() + 1e-5)
    np.testing.assert_allclose(ln(ms.Tensor(tiny_var)).asnumpy(), expected_ln, rtol=1e-4, atol=1e-6)


def test_invalid_configs_fail_clearly():
    with pytest.raises(ValueError, match="divisible"):
        SwinV2(SwinV2Config.tiny(img_size=60))
    with pytest.raises(ValueError, match="same length"):
        SwinV2(SwinV2Config.tiny(num_heads=(1, 2, 4)))
    with pytest.raises(ValueError, match="heads"):
        SwinV2(SwinV2Config.tiny(num_heads=(5, 2, 4, 8)))
