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
"""Temporal attention, CMBS head and AVE loss: torch parity of LSTM/MHA layouts, loss flags."""
import numpy as np
import pytest
import mindspore as ms

from src.dgsct.temporal import EncoderLayer, TemporalAttention, TemporalConfig
from src.heads.ave_cmbs import AVELoss, CMBSConfig, CMBSHead
from conftest import torch_or_skip

SMALL = TemporalConfig(audio_proj=8, video_proj=16, d_model=16, dim_ff=32, nhead=4)


def _torch_temporal(torch, params, v_seg, a_seg, cfg):
    """The official AVE TemporalAttention from torch building blocks (nn.LSTM, nn.TransformerEncoderLayer-equivalent
    maths), eval mode."""
    F = torch.nn.functional
    p = {k: torch.tensor(v) for k, v in params.items()}
    lin = lambda name, x: F.linear(x, p[name + ".weight"], p[name + ".bias"])  # noqa: E731

    def lstm(prefix, x, hidden):
        module = torch.nn.LSTM(x.shape[-1], hidden, batch_first=True, bidirectional=True)
        module.load_state_dict({k: p[f"{prefix}.{k}"] for k in module.state_dict()})
        return module(x)[0]

    def mha(prefix, q, kv):
        module = torch.nn.MultiheadAttention(cfg.d_model, cfg.nhead)
        module.load_state_dict({k: p[f"{prefix}.{k}"] for k in module.state_dict()})
        module.eval()
        return module(q, kv, kv)[0]

    def post_norm(prefix, x, attended):
        ln = lambda name, t: F.layer_norm(t, (t.shape[-1],), p[name + ".gamma"], p[name + ".beta"], 1e-5)  # noqa
        x = ln(prefix + ".norm1", x + attended)
        return ln(prefix + ".norm2", x + lin(prefix + ".linear2", F.relu(lin(prefix + ".linear1", x))))

    def itrm(prefix, x):
        x = lin(prefix + ".affine_matrix", x)
        for i in range(cfg.encoder_layers):
            x = post_norm(f"{prefix}.layers.{i}", x, mha(f"{prefix}.layers.{i}.self_attn", x, x))
        return x

    def cmra(prefix, query, memory):
        query = lin(prefix + ".affine_matrix", query)
        memory = torch.cat([memory, query], 0)
        return post_norm(prefix + ".layer", query, mha(prefix + ".layer.multihead_attn", query, memory))

    audio = lstm("audio_rnn", lin("a_fc", a_seg), cfg.d_model // 2).transpose(0, 1)
    video = lstm("visual_rnn", F.relu(lin("v_fc", v_seg)), cfg.d_model).transpose(0, 1)
    video_key = itrm("video_encoder", video)
    audio_query = cmra("audio_decoder", audio, video_key)
    audio_key = itrm("audio_encoder", audio)
    video_query = cmra("video_decoder", video, audio_key)
    gate_a = torch.sigmoid(lin("audio_gated", audio_key))
    gate_v = torch.sigmoid(lin("video_gated", video_key))
    return video_query * (1 + 0.1 * gate_a), audio_query * (1 + 0.1 * gate_v), gate_a * gate_v


def test_temporal_attention_matches_torch(pynative):
    torch = torch_or_skip()
    module = TemporalAttention(24, 12, SMALL)
    module.set_train(False)
    rng = np.random.default_rng(0)
    v_seg = rng.standard_normal((2, 10, 24)).astype(np.float32)
    a_seg = rng.standard_normal((2, 10, 12)).astype(np.float32)
    ours = [o.asnumpy() for o in module(ms.Tensor(v_seg), ms.Tensor(a_seg))]
    params = {name: p.asnumpy() for name, p in module.parameters_and_names()}
    with torch.no_grad():
        ref = _torch_temporal(torch, params, torch.tensor(v_seg), torch.tensor(a_seg), SMALL)
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-4, atol=1e-5)


def test_encoder_layers_start_identical_and_mha_init_like_torch():
    from src.dgsct.temporal import InternalTemporalRelationModule
    itrm = InternalTemporalRelationModule(8, 16, num_layers=2)
    first = {n: p.asnumpy() for n, p in itrm.layers[0].parameters_and_names()}
    second = {n: p.asnumpy() for n, p in itrm.layers[1].parameters_and_names()}
    assert first.keys() == second.keys() and all(np.array_equal(first[k], second[k]) for k in first)
    layer = EncoderLayer(16)
    assert np.all(layer.self_attn.out_proj.bias.asnumpy() == 0) and np.all(layer.self_attn.in_proj_bias.asnumpy() == 0)


def _cmbs_reference(params, video, audio, cfg):
    lin = lambda name, x: x @ params[name + ".weight"].T + params[name + ".bias"]  # noqa: E731
    cas_v = lin("video_cas", video).transpose(1, 0, 2)
    cas_a = lin("audio_cas", audio).transpose(1, 0, 2)
    topk = lambda cas: np.sort(cas, axis=1)[:, -cfg.topk:, :].mean(1)  # noqa: E731
    av = (topk(cas_v) + topk(cas_a)) / 2
    fused = (video + audio) / 2
    is_event = lin("localize_module.classifier", fused)[..., 0].T
    event = lin("localize_module.event_classifier", fused.max(0)) + cfg.av_weight * av
    return is_event, event, av


def test_cmbs_head_against_numpy(pynative):
    cfg = CMBSConfig(num_classes=5)
    head = CMBSHead(16, cfg)
    rng = np.random.default_rng(1)
    video = rng.standard_normal((10, 3, 16)).astype(np.float32)
    audio = rng.standard_normal((10, 3, 16)).astype(np.float32)
    ours = [o.asnumpy() for o in head(ms.Tensor(video), ms.Tensor(audio))]
    ref = _cmbs_reference({n: p.asnumpy() for n, p in head.parameters_and_names()}, video, audio, cfg)
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def _labels():
    labels = np.zeros((2, 10, 6), np.float32)
    labels[0, :4, 2] = 1
    labels[0, 4:, 5] = 1
    labels[1, :, 0] = 1
    return labels


def test_ave_loss_terms_and_official_gate_flag(pynative):
    rng = np.random.default_rng(2)
    is_event = rng.standard_normal((2, 10)).astype(np.float32)
    event = rng.standard_normal((2, 5)).astype(np.float32)
    av = rng.standard_normal((2, 5)).astype(np.float32)
    gate = rng.uniform(0.05, 0.95, (2, 10)).astype(np.float32)
    labels = _labels()
    y_seg = labels[:, :, :-1].max(-1)
    y_cls = np.array([2, 0])
    sig = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    bce = lambda p, y: -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean()  # noqa: E731
    ce = lambda z, y: (np.log(np.exp(z).sum(-1)) - z[np.arange(len(y)), y]).mean()  # noqa: E731
    inputs = [ms.Tensor(x) for x in (is_event, event, av, gate, labels)]
    total, l_event, l_gate, l_cls, l_av = [float(x.asnumpy()) for x in AVELoss()(*inputs)]
    assert l_event == pytest.approx(bce(sig(is_event), y_seg), rel=1e-5)
    assert l_gate == pytest.approx(bce(gate, y_seg), rel=1e-5)                 # correct: BCE on the probability
    assert l_cls == pytest.approx(ce(event, y_cls), rel=1e-5) and l_av == pytest.approx(ce(av, y_cls), rel=1e-5)
    assert total == pytest.approx(l_event + l_gate + l_cls + l_av, rel=1e-6)
    official_gate = float(AVELoss(official_gate_bce=True)(*inputs)[2].asnumpy())
    assert official_gate == pytest.approx(bce(sig(gate), y_seg), rel=1e-5)     # sigmoid applied twice
    assert abs(official_gate - l_gate) > 0.05
