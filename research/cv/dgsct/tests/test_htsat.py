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
"""HTS-AT backbone: shapes, block maths vs numpy, block-level API, modes, freezing, checkpoint table."""
import math
import re

import numpy as np
import pytest

import mindspore as ms
from mindspore import nn, Tensor

from src.backbones.htsat import HTSAT, HTSATConfig
from src.convert.htsat_table import BUFFERS, RULES, build_target, convert_htsat
from src.convert.mapping import ConversionError, convert, load_checked

ms.set_device("CPU")


@pytest.fixture(scope="module")
def audioset_net():
    net = HTSAT(HTSATConfig.audioset())
    net.set_train(False)
    return net


@pytest.fixture(scope="module")
def tiny_net():
    ms.set_seed(1)
    net = HTSAT(HTSATConfig.tiny())
    net.set_train(False)
    return net


def tiny_wave(batch=2, seed=0):
    cfg = HTSATConfig.tiny()
    t = np.arange(cfg.clip_samples) / cfg.sample_rate
    rng = np.random.RandomState(seed)
    return np.stack([np.sin(2 * np.pi * (200 + 300 * i) * t * (1 + t)) + 0.1 * rng.randn(t.size)
                     for i in range(batch)]).astype(np.float32)


# ------------------------------------------------------------------------------------------------ shapes
def test_tiny_stage_shapes(tiny_net):
    maps, final = tiny_net.forward_features(Tensor(tiny_wave()))
    assert tiny_net.stage_resolutions == ((32, 32), (16, 16), (8, 8), (4, 4))
    assert tiny_net.stage_dims == (16, 32, 64, 128)
    assert tiny_net.depths == (2, 2, 2, 2)
    assert [m.shape for m in maps] == [(2, 1024, 16), (2, 256, 32), (2, 64, 64), (2, 16, 128)]
    assert final.shape == (2, 16, 128)
    np.testing.assert_array_equal(final.asnumpy(), maps[-1].asnumpy())   # no merging after stage 4
    assert tiny_net.frontend(Tensor(tiny_wave())).shape == (2, 1, 128, 128)


def test_audioset_layout_and_parameter_count(audioset_net):
    net = audioset_net
    assert net.stage_resolutions == ((64, 64), (32, 32), (16, 16), (8, 8))
    assert net.stage_dims == (96, 192, 384, 768)
    windows = [[(blk.window, blk.shift) for blk in stage.blocks] for stage in net.stages]
    assert windows[0] == windows[1] == [((8, 8), (0, 0)), ((8, 8), (4, 4))]
    assert windows[2] == [((8, 8), (0, 0)), ((8, 8), (4, 4))] * 3
    assert windows[3] == [((8, 8), (0, 0))] * 2                  # 8x8 grid = one window, no shift
    assert [stage.downsample is not None for stage in net.stages] == [True, True, True, False]
    drop = [blk.drop_path.drop_prob for stage in net.stages for blk in stage.blocks]
    np.testing.assert_allclose(drop, np.linspace(0, 0.1, 12))
    params = {p.name: p.size for p in net.get_parameters()}
    tables = params["frontend.stft_real"] + params["frontend.stft_imag"] + params["frontend.melW"]
    assert tables == 2 * 513 * 1024 + 513 * 64                    # the 1.1M STFT/mel parameters in HTS-AT's count
    torch_count = sum(params.values()) - 2 * 64                   # bn0 running stats are buffers in torch
    assert abs(torch_count - 31.3e6) / 31.3e6 < 0.005, torch_count
    assert net.tscam_conv.weight.shape == (527, 768, 2, 3)


def test_audioset_forward_batch1_shapes(audioset_net):
    net = audioset_net
    wave = np.random.RandomState(0).randn(1, 320000).astype(np.float32) * 0.1
    maps, final = net(Tensor(wave))
    assert [m.shape for m in maps] == [(1, 4096, 96), (1, 1024, 192), (1, 256, 384), (1, 64, 768)]
    assert final.shape == (1, 64, 768)
    assert np.isfinite(final.asnumpy()).all()


# --------------------------------------------------------------------------------- block maths vs numpy
def _layer_norm(x, gamma, beta):
    mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-5) * gamma + beta


def _gelu(x):
    return 0.5 * x * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))


def numpy_swin_v1_block(x, p, resolution, window, shift, heads):
    """Reference Swin-V1 pre-norm block written from the torch formulation (roll, slice-labelled mask)."""
    batch, length, channels = x.shape
    h, w = resolution
    n = window * window
    y = _layer_norm(x, p["norm1.gamma"], p["norm1.beta"]).reshape(batch, h, w, channels)
    if shift:
        y = np.roll(y, (-shift, -shift), axis=(1, 2))
    win = y.reshape(batch, h // window, window, w // window, window, channels).transpose(0, 1, 3, 2, 4, 5)
    win = win.reshape(-1, n, channels)
    qkv = win @ p["attn.qkv.weight"].T + p["attn.qkv.bias"]
    qkv = qkv.reshape(-1, n, 3, heads, channels // heads).transpose(2, 0, 3, 1, 4)
    q, k, v = qkv[0] * (channels // heads) ** -0.5, qkv[1], qkv[2]
    attn = q @ k.transpose(0, 1, 3, 2)
    coords = [(i, j) for i in range(window) for j in range(window)]
    index = np.array([[(a[0] - b[0] + window - 1) * (2 * window - 1) + a[1] - b[1] + window - 1
                       for b in coords] for a in coords])
    attn = attn + p["attn.relative_position_bias_table"][index].transpose(2, 0, 1)[None]
    if shift:
        labels, count = np.zeros((h, w)), 0
        for hs in (slice(0, -window), slice(-window, -shift), slice(-shift, None)):
            for ws in (slice(0, -window), slice(-window, -shift), slice(-shift, None)):
                labels[hs, ws] = count
                count += 1
        lab = labels.reshape(h // window, window, w // window, window).transpose(0, 2, 1, 3).reshape(-1, n)
        mask = np.where(lab[:, None, :] != lab[:, :, None], -100.0, 0.0)
        num_windows = mask.shape[0]
        attn = (attn.reshape(batch, num_windows, heads, n, n) + mask[None, :, None]).reshape(-1, heads, n, n)
    attn = np.exp(attn - attn.max(-1, keepdims=True))
    attn /= attn.sum(-1, keepdims=True)
    out = (attn @ v).transpose(0, 2, 1, 3).reshape(-1, n, channels)
    out = out @ p["attn.proj.weight"].T + p["attn.proj.bias"]
    out = out.reshape(batch, h // window, w // window, window, window, channels).transpose(0, 1, 3, 2, 4, 5)
    out = out.reshape(batch, h, w, channels)
    if shift:
        out = np.roll(out, (shift, shift), axis=(1, 2))
    x = x + out.reshape(batch, length, channels)
    hidden = _gelu(_layer_norm(x, p["norm2.gamma"], p["norm2.beta"]) @ p["mlp.fc1.weight"].T + p["mlp.fc1.bias"])
    return x + hidden @ p["mlp.fc2.weight"].T + p["mlp.fc2.bias"]


@pytest.mark.parametrize("block_index", [0, 1])     # unshifted, shifted
def test_block_matches_numpy_reference(tiny_net, block_index):
    blk = tiny_net.stages[0].blocks[block_index]
    rng = np.random.RandomState(block_index)
    for param in blk.get_parameters():               # non-trivial norms, biases and position table
        param.set_data(Tensor(rng.randn(*param.shape).astype(np.float32) * 0.3))
    params = {name: p.asnumpy().astype(np.float64) for name, p in blk.parameters_and_names()}
    x = rng.randn(2, 1024, 16).astype(np.float32)
    ours = blk(Tensor(x)).asnumpy()
    ref = numpy_swin_v1_block(x.astype(np.float64), params, (32, 32), 4, 2 if block_index else 0, heads=1)
    assert blk.shifted == bool(block_index)
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-4)
    # the block equals its two residual steps (the API DG-SCT uses)
    x1 = Tensor(x) + blk.attn_residual(Tensor(x))
    np.testing.assert_allclose((x1 + blk.mlp_residual(x1)).asnumpy(), ours, rtol=1e-6, atol=1e-6)


def test_patch_merging_norm_then_reduction(tiny_net):
    merge = tiny_net.stages[0].downsample
    x = np.random.RandomState(2).randn(2, 32 * 32, 16).astype(np.float32)
    grid = x.reshape(2, 32, 32, 16)
    cat = np.concatenate([grid[:, 0::2, 0::2], grid[:, 1::2, 0::2], grid[:, 0::2, 1::2], grid[:, 1::2, 1::2]], -1)
    ref = _layer_norm(cat.reshape(2, 256, 64), merge.norm.gamma.asnumpy(), merge.norm.beta.asnumpy())
    ref = ref @ merge.reduction.weight.asnumpy().T
    np.testing.assert_allclose(merge(Tensor(x)).asnumpy(), ref, rtol=1e-4, atol=1e-4)


# ------------------------------------------------------------------------------------- modes and training
class StepWise(nn.Cell):
    """Runs the backbone step by step through the block-level API (as the DG-SCT encoder does)."""

    def __init__(self, htsat):
        super().__init__()
        self.htsat = htsat

    def construct(self, wave):
        x = self.htsat.embed(self.htsat.frontend(wave))
        for stage in self.htsat.stages:
            for blk in stage.blocks:
                x = x + blk.attn_residual(x)
                x = x + blk.mlp_residual(x)
            if stage.downsample is not None:
                x = stage.downsample(x)
        return x


def test_graph_mode_stepwise_api_equals_pynative_forward():
    wave = Tensor(tiny_wave(seed=3))
    eager_net = StepWise(HTSAT(HTSATConfig.tiny()))
    eager_net.set_train(False)
    _, eager_final = eager_net.htsat.forward_features(wave)
    np.testing.assert_allclose(eager_net(wave).asnumpy(), eager_final.asnumpy(), rtol=1e-5, atol=1e-5)

    ms.set_context(mode=ms.GRAPH_MODE)
    graph_net = StepWise(HTSAT(HTSATConfig.tiny()))   # fresh Cell: a compiled graph is cached per Cell
    not_loaded, unused = ms.load_param_into_net(graph_net, {p.name: p for p in eager_net.get_parameters()},
                                                strict_load=True)
    assert not not_loaded and not unused
    graph_net.set_train(False)                        # set the mode before the first GRAPH_MODE call
    np.testing.assert_allclose(graph_net(wave).asnumpy(), eager_final.asnumpy(), rtol=1e-4, atol=1e-4)


def test_train_mode_is_stochastic():
    net = HTSAT(HTSATConfig.tiny(drop_path_rate=0.5))
    wave = Tensor(tiny_wave(seed=4))
    net.set_train(True)   # (eval-mode determinism is covered by the GRAPH == PYNATIVE test)
    assert np.abs(net(wave)[1].asnumpy() - net(wave)[1].asnumpy()).max() > 1e-3


def test_frozen_backbone_gets_no_gradient_but_passes_it_on():
    htsat = HTSAT(HTSATConfig.tiny())
    assert not any(p.requires_grad for p in (htsat.frontend.stft_real, htsat.frontend.stft_imag, htsat.frontend.melW))
    for param in htsat.get_parameters():
        param.requires_grad = False
    head = nn.Dense(128, 3)

    class Model(nn.Cell):
        def __init__(self):
            super().__init__()
            self.htsat, self.head = htsat, head

        def construct(self, wave):
            return self.head(self.htsat(wave)[1].mean(1)).sum()

    model = Model()
    model.set_train(False)
    trainable = model.trainable_params()
    assert sorted(p.name for p in trainable) == ["head.bias", "head.weight"]
    before = {p.name: p.asnumpy().copy() for p in htsat.get_parameters()}
    grad_fn = ms.value_and_grad(model, grad_position=0, weights=trainable)
    wave = Tensor(tiny_wave(seed=6))
    _, (wave_grad, weight_grads) = grad_fn(wave)
    assert np.abs(wave_grad.asnumpy()).max() > 0             # gradient flows through the frozen backbone
    assert all(np.abs(g.asnumpy()).max() > 0 for g in weight_grads)
    head_before = head.weight.asnumpy().copy()
    nn.SGD(trainable, learning_rate=0.1)(weight_grads)
    assert not np.array_equal(head.weight.asnumpy(), head_before)
    for param in htsat.get_parameters():
        np.testing.assert_array_equal(param.asnumpy(), before[param.name])


# ---------------------------------------------------------------------------------- checkpoint table
def torch_name(ours):
    """Our parameter name -> the key HTS-AT's PyTorch module uses (written independently of the table)."""
    fixed = {"frontend.stft_real": "spectrogram_extractor.stft.conv_real.weight",
             "frontend.stft_imag": "spectrogram_extractor.stft.conv_imag.weight",
             "frontend.melW": "logmel_extractor.melW"}
    if ours in fixed:
        return fixed[ours]
    name = re.sub(r"^frontend\.bn0\.", "bn0.", ours)
    name = re.sub(r"^stages\.", "layers.", name)
    for ms_suffix, torch_suffix in ((".gamma", ".weight"), (".beta", ".bias"), (".moving_mean", ".running_mean"),
                                    (".moving_variance", ".running_var")):
        if name.endswith(ms_suffix):
            name = name[:-len(ms_suffix)] + torch_suffix
    return name


def synthetic_checkpoint(net, seed=0):
    """A Lightning-style state dict in HTS-AT's exact key layout, with buffers, built from our shapes."""
    rng = np.random.RandomState(seed)
    state = {}
    for name, param in net.parameters_and_names():
        state["sed_model." + torch_name(name)] = rng.randn(*param.shape).astype(np.float32)
    state["sed_model.bn0.running_var"] = np.abs(state["sed_model.bn0.running_var"]) + 0.5   # a valid variance
    state["sed_model.bn0.num_batches_tracked"] = np.array(1234, np.int64)
    for s, stage in enumerate(net.stages):
        for b, blk in enumerate(stage.blocks):
            tokens = blk.window[0] * blk.window[1]
            key = f"sed_model.layers.{s}.blocks.{b}"
            state[f"{key}.attn.relative_position_index"] = np.zeros((tokens, tokens), np.int64)
            if blk.shifted:
                windows = (blk.resolution[0] // blk.window[0]) * (blk.resolution[1] // blk.window[1])
                state[f"{key}.attn_mask"] = np.zeros((windows, tokens, tokens), np.float32)
    return state


def test_table_maps_every_key_of_the_audioset_layout(audioset_net):
    specs = {name: (tuple(p.shape), np.float32) for name, p in audioset_net.parameters_and_names()}
    source = synthetic_checkpoint(audioset_net)
    assert "sed_model.layers.2.blocks.5.attn_mask" in source and "sed_model.layers.3.blocks.1.attn_mask" not in source
    result = convert(source, RULES, specs, buffers=BUFFERS)
    assert result.ok and not result.unmapped_source and not result.missing_target
    assert len(result.params) == len(specs)
    assert result.dropped == ["sed_model.bn0.num_batches_tracked"]
    assert len(result.ignored) == 12 + 5                  # 12 index tables + masks of 1 + 1 + 3 shifted blocks
    np.testing.assert_array_equal(result.params["stages.2.blocks.5.attn.qkv.weight"],
                                  source["sed_model.layers.2.blocks.5.attn.qkv.weight"])
    np.testing.assert_array_equal(result.params["frontend.bn0.moving_variance"], source["sed_model.bn0.running_var"])


def test_converted_tiny_checkpoint_loads_and_runs(tiny_net, tmp_path):
    from src.convert.mapping import save_checkpoint_atomic
    source = synthetic_checkpoint(tiny_net, seed=1)
    source = {k: (v * 0.05 if v.dtype == np.float32 else v) for k, v in source.items()}
    net = HTSAT(HTSATConfig.tiny())
    result = convert_htsat(source, net)
    path = str(tmp_path / "htsat_tiny.ckpt")
    save_checkpoint_atomic(result.params, path)
    load_checked(net, path)
    np.testing.assert_array_equal(net.stages[1].blocks[1].mlp.fc2.weight.asnumpy(),
                                  source["sed_model.layers.1.blocks.1.mlp.fc2.weight"])
    net.set_train(False)
    assert np.isfinite(net(Tensor(tiny_wave()))[1].asnumpy()).all()


def test_conversion_failures_name_the_key(tiny_net):
    good = synthetic_checkpoint(tiny_net)
    partial = dict(good)
    del partial["sed_model.layers.1.blocks.0.attn.proj.bias"]
    with pytest.raises(ConversionError, match=r"stages\.1\.blocks\.0\.attn\.proj\.bias"):
        convert_htsat(partial, tiny_net)
    wrong = dict(good)
    wrong["sed_model.layers.0.blocks.1.mlp.fc1.weight"] = np.zeros((3, 3), np.float32)
    with pytest.raises(ConversionError, match=r"sed_model\.layers\.0\.blocks\.1\.mlp\.fc1\.weight.*shape mismatch"):
        convert_htsat(wrong, tiny_net)
    extra = dict(good, **{"sed_model.layers.0.blocks.0.attn.unknown": np.zeros(2, np.float32)})
    with pytest.raises(ConversionError, match=r"sed_model\.layers\.0\.blocks\.0\.attn\.unknown"):
        convert_htsat(extra, tiny_net)


def test_build_target_reads_the_class_count():
    source = {"sed_model.head.weight": np.zeros((50, 50), np.float32)}
    assert build_target(source).head.weight.shape == (50, 50)


def test_bare_module_keys_convert_and_mixed_prefixes_fail(tiny_net):
    source = synthetic_checkpoint(tiny_net)
    bare = {k[len("sed_model."):]: v for k, v in source.items()}
    assert convert_htsat(bare, tiny_net).ok
    mixed = dict(source, **{"norm.weight": bare["norm.weight"]})
    with pytest.raises(ConversionError, match=r"norm\.weight -> norm\.gamma: already produced"):
        convert_htsat(mixed, tiny_net)


def test_cli_map_kind_htsat(tiny_net, tmp_path):
    import convert_weights
    from src.convert.mapping import save_npz_atomic
    npz, ckpt = str(tmp_path / "htsat.npz"), str(tmp_path / "htsat.ckpt")
    save_npz_atomic(synthetic_checkpoint(tiny_net, seed=2), npz)
    convert_weights.main(["map", "--kind", "htsat", "--src", npz, "--out", ckpt, "--config", "tiny"])
    net = HTSAT(HTSATConfig.tiny())
    assert len(load_checked(net, ckpt)) == len(list(net.get_parameters()))
