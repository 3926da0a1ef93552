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
"""AVS head (official PVT_AVSModel.py / TPAVI.py): bicubic resize, TPAVI, decoder in-place-ReLU flag, losses, shapes on
random encoder outputs."""
import numpy as np
import pytest
import mindspore as ms
from mindspore import ops

from src.heads.avs_tpavi import AVSHead, AVSLoss, FeatureFusionBlock, ResidualConvUnit, TPAVI
from conftest import torch_or_skip

# tiny head: stage grids of a 64-px tiny Swin, maps resized to 16/8/4/2 -> 64x64 logits
DIMS, GRIDS, SIZES = (8, 16, 32, 64), ((16, 16), (8, 8), (4, 4), (2, 2)), (16, 8, 4, 2)
TINY = dict(audio_dim=24, out_sizes=SIZES, channels=16, audio_channels=8, temporal_d_model=16, temporal_dim_ff=32,
            temporal_heads=2)


def _encoder_outputs(videos=2, seed=0):
    rng = np.random.default_rng(seed)
    bf = videos * 5
    maps = tuple(ms.Tensor(rng.standard_normal((bf, g[0] * g[1], d)).astype(np.float32)) for d, g in zip(DIMS, GRIDS))
    return maps, ms.Tensor(rng.standard_normal((bf, 24)).astype(np.float32))


def _tpavi_numpy(params, x, audio, train):
    """TPAVI (dot mode) with an explicit (N x N) affinity, in numpy."""
    lin = lambda name, t: t @ params[name + ".weight"].T + params[name + ".bias"]  # noqa: E731
    b, n, c = x.shape
    t = audio.shape[1]
    audio_c = lin("align_channel", audio)
    audio_map = np.repeat(audio_c, n // t, axis=1)                       # broadcast over H*W, t-major
    f = lin("theta", x) @ lin("phi", audio_map).transpose(0, 2, 1) / n
    w_y = lin("w_z", f @ lin("g", x)).reshape(b * n, c)
    if train:
        mean, var = w_y.mean(0), w_y.var(0)
    else:
        mean, var = params["w_z_bn.moving_mean"], params["w_z_bn.moving_variance"]
    w_y = (w_y - mean) / np.sqrt(var + 1e-5) * params["w_z_bn.gamma"] + params["w_z_bn.beta"]
    z = w_y.reshape(b, n, c) + x
    z = (z - z.mean(-1, keepdims=True)) / np.sqrt(z.var(-1, keepdims=True) + 1e-5)
    return z * params["norm.gamma"] + params["norm.beta"], audio_c


def _randomise(cell, rng):
    for p in cell.get_parameters():
        value = rng.standard_normal(p.shape).astype(np.float32) * 0.3
        if "moving_variance" in p.name:
            value = np.abs(value) + 0.5
        p.set_data(ms.Tensor(value))


@pytest.mark.parametrize("train", [True, False])
def test_tpavi_starts_as_identity_then_layernorm(pynative, train):
    tpavi = TPAVI(16, 8)
    tpavi.set_train(train)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 5 * 9, 16)).astype(np.float32)
    z, _ = tpavi(ms.Tensor(x), ms.Tensor(rng.standard_normal((2, 5, 8)).astype(np.float32)))
    ln = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(z.asnumpy(), ln, rtol=1e-4, atol=1e-5)
    bn = {p.name.split(".")[-1]: p.asnumpy() for p in tpavi.w_z_bn.get_parameters()}
    assert np.all(bn["gamma"] == 0) and np.all(bn["beta"] == 0)


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("explicit", [True, False])
def test_tpavi_matches_numpy_reference(pynative, train, explicit):
    rng = np.random.default_rng(2)
    tpavi = TPAVI(16, 8, explicit_affinity=explicit)
    _randomise(tpavi, rng)
    tpavi.set_train(train)
    params = {p.name: p.asnumpy() for p in tpavi.get_parameters()}
    x = rng.standard_normal((2, 5 * 6, 16)).astype(np.float32)
    audio = rng.standard_normal((2, 5, 8)).astype(np.float32)
    z, audio_c = tpavi(ms.Tensor(x), ms.Tensor(audio))
    z_ref, audio_ref = _tpavi_numpy(params, x, audio, train)
    np.testing.assert_allclose(z.asnumpy(), z_ref, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(audio_c.asnumpy(), audio_ref, rtol=1e-5, atol=1e-5)


def test_residual_unit_inplace_relu_flag(pynative):
    x = ms.Tensor(np.random.default_rng(3).standard_normal((2, 4, 5, 5)).astype(np.float32))
    plain, official = ResidualConvUnit(4), ResidualConvUnit(4, official_inplace_relu=True)
    ms.load_param_into_net(official, {p.name: ms.Parameter(p.data.copy(), p.name) for p in plain.get_parameters()})
    branch = plain.conv2(ops.relu(plain.conv1(ops.relu(x))))
    np.testing.assert_allclose(plain(x).asnumpy(), (branch + x).asnumpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(official(x).asnumpy(), (branch + ops.relu(x)).asnumpy(), rtol=1e-6, atol=1e-6)


def test_fusion_block_upsamples_align_corners(pynative):
    block = FeatureFusionBlock(4)
    out = block(ms.Tensor(np.ones((1, 4, 3, 3), np.float32)), ms.Tensor(np.zeros((1, 4, 3, 3), np.float32)))
    assert out.shape == (1, 4, 6, 6)
    x = ms.Tensor(np.random.default_rng(4).standard_normal((1, 4, 3, 3)).astype(np.float32))
    up = block(x).asnumpy()
    direct = block.res_conf_unit2(x).asnumpy()
    np.testing.assert_allclose(up[..., ::5, ::5], direct[..., ::2, ::2], rtol=1e-5, atol=1e-6)  # corners kept


def test_head_shapes_and_official_relu_flag(pynative):
    maps, a_seg = _encoder_outputs()
    plain, official = AVSHead(DIMS, GRIDS, **TINY), AVSHead(DIMS, GRIDS, official_inplace_relu=True, **TINY)
    ms.load_param_into_net(official, {p.name: ms.Parameter(p.data.copy(), p.name) for p in plain.get_parameters()})
    for head in (plain, official):
        head.set_train(False)
    logits, feats, audio_feats = plain(maps, a_seg)
    assert logits.shape == (10, 1, 64, 64)
    assert [f.shape for f in feats] == [(10, 16, s, s) for s in SIZES]
    assert [a.shape for a in audio_feats] == [(10, 16)] * 4
    logits_o, feats_o, _ = official(maps, a_seg)
    for f, f_o in zip(feats, feats_o):   # the official returned maps are relu(z_i)
        np.testing.assert_allclose(f_o.asnumpy(), np.maximum(f.asnumpy(), 0), rtol=1e-5, atol=1e-6)
    assert np.abs(logits.asnumpy() - logits_o.asnumpy()).max() > 1e-6   # the residual identity differs


def test_head_explicit_affinity_gives_same_logits(pynative):
    maps, a_seg = _encoder_outputs(seed=5)
    fact, expl = AVSHead(DIMS, GRIDS, **TINY), AVSHead(DIMS, GRIDS, explicit_affinity=True, **TINY)
    rng = np.random.default_rng(6)
    for tp in fact.tpavi:
        _randomise(tp.w_z_bn, rng)      # non-zero BN so TPAVI is not the identity
    ms.load_param_into_net(expl, {p.name: ms.Parameter(p.data.copy(), p.name) for p in fact.get_parameters()})
    fact.set_train(False)
    expl.set_train(False)
    np.testing.assert_allclose(fact(maps, a_seg)[0].asnumpy(), expl(maps, a_seg)[0].asnumpy(), rtol=1e-4, atol=1e-5)


def test_temporal_gates_scale_maps_within_gamma(pynative):
    """x * (1 + gamma * sigmoid(.)) lies in (1, 1 + gamma), constant per frame; eval_gamma applies in eval mode."""
    head = AVSHead(DIMS, GRIDS, **dict(TINY, gamma=0.1, eval_gamma=0.05))
    maps = tuple(ms.Tensor(np.ones((10, 16, s, s), np.float32)) for s in SIZES)
    audio = ms.Tensor(np.ones((2, 5, 8), np.float32))
    for train, gamma in ((False, 0.05), (True, 0.1)):
        head.set_train(train)
        head.temporal_attn.dropout.set_train(False)      # keep the pooled input deterministic
        scaled, audio_out = head.temporal_attn(maps, audio)
        for m in scaled:
            v = m.asnumpy()
            assert np.all(v > 1) and np.all(v < 1 + gamma) and v.max() > 1 + gamma / 4
            assert np.allclose(v, v[:, :1, :1, :1])
        a = audio_out.asnumpy()
        assert a.shape == (10, 8) and np.all(a > 1) and np.all(a < 1 + gamma)


def test_bad_head_sizes_raise():
    with pytest.raises(ValueError, match="halve"):
        AVSHead(DIMS, GRIDS, **dict(TINY, out_sizes=(16, 8, 4, 3)))
    with pytest.raises(ValueError, match="four"):
        AVSHead(DIMS[:3], GRIDS[:3], **TINY)


# ------------------------------------------------------------------------------------------------
# losses
# ------------------------------------------------------------------------------------------------
def _loss_inputs(rng, b=2, size=8):
    logits = rng.standard_normal((b * 5, 1, size, size)).astype(np.float32)
    masks = (rng.random((b, 5, 1, size, size)) > 0.5).astype(np.float32)
    feats = tuple(rng.standard_normal((b * 5, 6, s, s)).astype(np.float32) for s in (4, 2, 2, 1))
    audio = tuple(rng.standard_normal((b * 5, 6)).astype(np.float32) for _ in range(4))
    return logits, masks, feats, audio


def _bce(logits, target):
    p = 1 / (1 + np.exp(-logits.astype(np.float64)))
    return float(-(target * np.log(p) + (1 - target) * np.log(1 - p)).mean())


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _kl_reference(logits, feats, audio):
    total = 0.0
    for fmap, a in zip(feats, audio):
        s = fmap.shape[-1]
        k = logits.shape[-1] // s
        pooled = logits.reshape(logits.shape[0], 1, s, k, s, k).mean(axis=(3, 5))
        v = (fmap / (1 + np.exp(-pooled))).mean(axis=(2, 3))
        v = v / np.linalg.norm(v, axis=-1, keepdims=True)
        a = a / np.linalg.norm(a, axis=-1, keepdims=True)
        pa, pv = _softmax(a), _softmax(v)
        total += float((pa * (np.log(pa) - np.log(pv))).sum())
    return total / len(feats)


def test_s4_loss_uses_only_the_first_frame(pynative):
    rng = np.random.default_rng(7)
    logits, masks, feats, audio = _loss_inputs(rng)
    s4_masks = masks[:, :1]
    loss = AVSLoss("s4")
    total, bce, kl = loss(ms.Tensor(logits), *map(ms.Tensor, feats + audio), ms.Tensor(s4_masks))
    ref = _bce(logits.reshape(2, 5, 1, 8, 8)[:, 0], s4_masks[:, 0])
    np.testing.assert_allclose(float(bce.asnumpy()), ref, rtol=1e-5)
    assert float(kl.asnumpy()) == 0 and float(total.asnumpy()) == pytest.approx(ref, rel=1e-5)
    logits[1:5] += 3.0   # frames 2-5 of video 1 do not matter
    total2, _, _ = loss(ms.Tensor(logits), *map(ms.Tensor, feats + audio), ms.Tensor(s4_masks))
    assert float(total2.asnumpy()) == pytest.approx(float(total.asnumpy()), rel=1e-6)


def test_ms3_loss_bce_all_frames_plus_half_kl(pynative):
    rng = np.random.default_rng(8)
    logits, masks, feats, audio = _loss_inputs(rng)
    total, bce, kl = AVSLoss("ms3", kl_weight=0.5)(ms.Tensor(logits), *map(ms.Tensor, feats + audio),
                                                   ms.Tensor(masks))
    np.testing.assert_allclose(float(bce.asnumpy()), _bce(logits, masks.reshape(10, 1, 8, 8)), rtol=1e-5)
    kl_ref = _kl_reference(logits, feats, audio)
    assert kl_ref > 0
    np.testing.assert_allclose(float(kl.asnumpy()), kl_ref, rtol=1e-4)
    np.testing.assert_allclose(float(total.asnumpy()), float(bce.asnumpy()) + 0.5 * kl_ref, rtol=1e-4)


def test_loss_variant_is_checked():
    with pytest.raises(ValueError, match="variant"):
        AVSLoss("ms4")


# ------------------------------------------------------------------------------------------------
# wiring of the temporal block and torch parity of the rest
# ------------------------------------------------------------------------------------------------
def test_temporal_attention_wiring(pynative):
    """Recompute the four-stream temporal attention from the block's own sub-layers, stream by stream."""
    head = AVSHead(DIMS, GRIDS, **dict(TINY, gamma=0.3))
    head.set_train(False)
    ta = head.temporal_attn
    rng = np.random.default_rng(9)
    maps = tuple(ms.Tensor(rng.standard_normal((10, 16, s, s)).astype(np.float32)) for s in SIZES)
    audio = ms.Tensor(rng.standard_normal((2, 5, 8)).astype(np.float32))
    out_maps, out_audio = ta(maps, audio)
    gates_v = []
    for i, x in enumerate(maps):
        pooled = x.asnumpy().mean(axis=(2, 3)).reshape(2, 5, 16)
        video = ops.relu(ta.v_fc[i](ms.Tensor(pooled)))
        a_seq = ta.audio_rnn[i](audio)[0].transpose(1, 0, 2)          # [T, B, .]
        v_seq = ta.visual_rnn[i](video)[0].transpose(1, 0, 2)
        gate_a = ops.sigmoid(ta.audio_gated[i](ta.audio_encoder[i](a_seq))).asnumpy()   # [T, B, 1]
        gates_v.append(ops.sigmoid(ta.video_gated[i](ta.video_encoder[i](v_seq))).asnumpy())
        expected = x.asnumpy() * (1 + 0.3 * gate_a.transpose(1, 0, 2).reshape(10, 1, 1, 1))
        np.testing.assert_allclose(out_maps[i].asnumpy(), expected, rtol=1e-5, atol=1e-6)
    gate_v = np.mean(gates_v, axis=0).transpose(1, 0, 2).reshape(10, 1)
    expected_audio = audio.asnumpy().reshape(10, 8) * (1 + 0.3 * gate_v)
    np.testing.assert_allclose(out_audio.asnumpy(), expected_audio, rtol=1e-5, atol=1e-6)


def _torch_head_without_temporal(torch, p, maps, a_seg, grids, sizes, official):
    """Audio projection, stage projections + resize, TPAVI and decoder in torch (functional, the official layouts:
    Conv3d 1x1, BN3d, NCHW decoder)."""
    F = torch.nn.functional
    t = {k: torch.tensor(v) for k, v in p.items()}
    lin = lambda name, x: F.linear(x, t[name + ".weight"], t[name + ".bias"])           # noqa: E731
    conv = lambda name, x, pad=1: F.conv2d(x, t[name + ".weight"], t[name + ".bias"], padding=pad)  # noqa: E731
    conv3d = lambda name, x: F.conv3d(x, t[name + ".weight"][..., None, None, None], t[name + ".bias"])  # noqa: E731
    bf = a_seg.shape[0]
    b = bf // 5
    audio = lin("audio_linear", torch.tensor(a_seg)).reshape(b, 5, -1)
    feats = []
    for i, ((h, w), s) in enumerate(zip(grids, sizes)):
        x = lin(f"stage_proj.{i}", torch.tensor(maps[i]).reshape(bf, h, w, -1)).permute(0, 3, 1, 2)
        x = F.interpolate(x, size=(s, s), mode="bicubic", align_corners=False)
        x = x.reshape(b, 5, -1, s, s).permute(0, 2, 1, 3, 4)                            # [B, C, T, H, W]
        pre = f"tpavi.{i}."
        audio_c = lin(pre + "align_channel", audio)                                        # [B, T, C]
        audio_map = audio_c.permute(0, 2, 1)[..., None, None].repeat(1, 1, 1, s, s)
        n = 5 * s * s
        theta = conv3d(pre + "theta", x).reshape(b, -1, n).permute(0, 2, 1)
        phi = conv3d(pre + "phi", audio_map).reshape(b, -1, n)
        g = conv3d(pre + "g", x).reshape(b, -1, n).permute(0, 2, 1)
        y = (theta @ phi / n) @ g
        y = y.permute(0, 2, 1).reshape(b, -1, 5, s, s)
        w_y = F.batch_norm(conv3d(pre + "w_z", y), t[pre + "w_z_bn.moving_mean"], t[pre + "w_z_bn.moving_variance"],
                           t[pre + "w_z_bn.gamma"], t[pre + "w_z_bn.beta"], training=False, eps=1e-5)
        z = F.layer_norm((w_y + x).permute(0, 2, 3, 4, 1), (x.shape[1],), t[pre + "norm.gamma"], t[pre + "norm.beta"],
                         1e-5)
        feats.append(z.reshape(bf, s, s, -1).permute(0, 3, 1, 2))

    def rcu(name, x):
        inner = conv(name + ".conv2", F.relu(conv(name + ".conv1", F.relu(x))))
        return inner + (F.relu(x) if official else x)

    def fusion(k, x, skip=None):
        out = x if skip is None else x + rcu(f"path.{k}.res_conf_unit1", skip)
        out = rcu(f"path.{k}.res_conf_unit2", out)
        return F.interpolate(out, scale_factor=2, mode="bilinear", align_corners=True)

    out = fusion(0, fusion(1, fusion(2, fusion(3, feats[3]), feats[2]), feats[1]), feats[0])
    out = F.interpolate(conv("output_conv.conv1", out), scale_factor=2, mode="bilinear", align_corners=False)
    return conv("output_conv.conv3", F.relu(conv("output_conv.conv2", out)), pad=0).numpy()


@pytest.mark.parametrize("official", [False, True])
def test_head_matches_torch_reference(pynative, official):
    torch = torch_or_skip()
    head = AVSHead(DIMS, GRIDS, **dict(TINY, gamma=0.0, official_inplace_relu=official))
    rng = np.random.default_rng(10)
    for tp in head.tpavi:
        _randomise(tp.w_z_bn, rng)
    head.set_train(False)
    maps, a_seg = _encoder_outputs(seed=11)
    params = {p.name: p.asnumpy() for p in head.get_parameters()}
    ref = _torch_head_without_temporal(torch, params, [m.asnumpy() for m in maps], a_seg.asnumpy(), GRIDS, SIZES,
                                       official)
    np.testing.assert_allclose(head(maps, a_seg)[0].asnumpy(), ref, rtol=1e-4, atol=1e-4)
