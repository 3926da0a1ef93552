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
"""Audio-visual encoder: pairing map, gates-at-zero identity with the frozen backbones, freezing rules."""
import numpy as np
import pytest
import mindspore as ms
from mindspore import nn

from src.backbones.htsat import HTSAT, HTSATConfig
from src.backbones.swin_v2 import SwinV2, SwinV2Config
from src.dgsct.encoder import (AudioVisualEncoder, check_optimizer_has_no_frozen, count_parameters, freeze_backbones,
                               set_train_mode,
                               pair_schedule)
from src.dgsct.prompt import PromptConfig


def test_pairing_map_of_the_large_layout():
    schedule = pair_schedule((2, 2, 18, 2), (2, 2, 6, 2))
    paired = [(s, b, k) for s, b, k in schedule if k >= 0]
    assert len(schedule) == 24 and len(paired) == 12
    assert [b for s, b, k in paired if s == 2] == [2, 5, 8, 11, 14, 17]
    assert [k for s, b, k in paired if s == 2] == list(range(6))
    assert [(s, b, k) for s, b, k in paired if s != 2] == [(0, 0, 0), (0, 1, 1), (1, 0, 0), (1, 1, 1), (3, 0, 0),
                                                          (3, 1, 1)]


@pytest.mark.parametrize("swin,htsat", [((2, 2, 5, 2), (2, 2, 2, 2)), ((1, 2), (2, 2)), ((2, 2), (2, 2, 2))])
def test_pairing_rejects_depths_without_rule(swin, htsat):
    with pytest.raises(ValueError, match="stage|stage counts"):
        pair_schedule(swin, htsat)


def _tiny_backbones(swin_depths=(1, 3), htsat_depths=(1, 1)):
    swin = SwinV2(SwinV2Config.tiny(img_size=32, embed_dim=16, depths=swin_depths, num_heads=(1, 2), window_size=4,
                                    pretrained_window_sizes=(0, 0)))
    htsat = HTSAT(HTSATConfig.tiny(depths=htsat_depths, num_heads=(1, 2), spec_size=64, mel_bins=16, hop_size=128))
    rng = np.random.default_rng(0)
    for stage in swin.stages:       # timm zero-inits the res-post-norm gammas: make every Swin block really act
        for blk in stage.blocks:
            for norm in (blk.norm1, blk.norm2):
                norm.gamma.set_data(ms.Tensor(rng.uniform(0.5, 1.5, norm.gamma.shape).astype(np.float32)))
    return swin, htsat


class _Recorder(nn.Cell):
    """Wraps a prompt module and records (own-stream input, spatial map) of each call (PyNative only)."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner
        self.seen = []

    def construct(self, x, y):
        out = self.inner(x, y)
        self.seen.append((x, out[1]))
        return out


def _run(encoder, images, waves):
    rec_v = _Recorder(encoder.vis_adapter_blocks_p2[-1])
    rec_a = _Recorder(encoder.audio_adapter_blocks_p2[-1])
    encoder.vis_adapter_blocks_p2[-1] = rec_v
    encoder.audio_adapter_blocks_p2[-1] = rec_a
    v_seg, a_seg, maps = encoder(images, waves)
    encoder.vis_adapter_blocks_p2[-1] = rec_v.inner
    encoder.audio_adapter_blocks_p2[-1] = rec_a.inner
    return v_seg.asnumpy(), a_seg.asnumpy(), [m.asnumpy() for m in maps], rec_v.seen[-1], rec_a.seen[-1]


def test_zero_gates_leave_the_frozen_encoders_unchanged(pynative):
    """Stage 2 pairs Swin blocks 3k+2 with HTS-AT block k (ratio 3), exercising the stage-3 style map."""
    swin, htsat = _tiny_backbones()
    encoder = AudioVisualEncoder(swin, htsat, PromptConfig(reduction=4, num_tokens=3))
    assert encoder.num_pairs == 2
    encoder.set_train(False)
    rng = np.random.default_rng(1)
    images = ms.Tensor(rng.standard_normal((2, 3, 32, 32)).astype(np.float32))
    waves = ms.Tensor((0.1 * rng.standard_normal((2, 16000))).astype(np.float32))
    v_seg, a_seg, maps, (v_last, pool_v), (a_last, pool_a) = _run(encoder, images, waves)
    ref_maps, ref_v = swin.forward_features(images)
    _, ref_a = htsat.forward_features(waves)
    for ours, ref in zip(maps[:-1], ref_maps[:-1]):
        np.testing.assert_allclose(ours, ref.asnumpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(maps[-1], ref_v.asnumpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(a_last.asnumpy(), ref_a.asnumpy(), rtol=1e-5, atol=1e-5)
    # pooling as in MMIL_Net.forward: P of the last p2 module @ final tokens (Swin normed, HTS-AT not)
    np.testing.assert_allclose(v_seg, np.matmul(pool_v.asnumpy(), ref_v.asnumpy())[:, 0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(a_seg, np.matmul(pool_a.asnumpy(), ref_a.asnumpy())[:, 0], rtol=1e-5, atol=1e-5)
    # the same check must fail once a gate opens
    encoder.vis_adapter_blocks_p1[0].gate.set_data(ms.Tensor([0.5], ms.float32))
    _, _, maps_open, _, _ = _run(encoder, images, waves)
    assert np.abs(maps_open[0] - ref_maps[0].asnumpy()).max() > 1e-3


def test_freezing_and_optimizer_check(pynative):
    swin, htsat = _tiny_backbones((1, 1), (1, 1))
    encoder = AudioVisualEncoder(swin, htsat, PromptConfig(reduction=4, num_tokens=3), backbone_train_mode=False)
    trainable, total = freeze_backbones(encoder)
    backbone = sum(p.size for p in swin.get_parameters()) + sum(p.size for p in htsat.get_parameters())
    running_stats = sum(p.size for p in encoder.get_parameters() if "moving_" in p.name and "adapter" in p.name)
    assert running_stats > 0 and total - trainable == backbone + running_stats   # BN statistics are not trainable
    assert all(not p.requires_grad for p in swin.get_parameters())
    assert {p.name.split(".")[0] for p in encoder.trainable_params()} <= {
        "vis_adapter_blocks_p1", "vis_adapter_blocks_p2", "audio_adapter_blocks_p1", "audio_adapter_blocks_p2"}
    assert count_parameters(encoder) == (trainable, total)
    good = nn.Adam(encoder.trainable_params(), learning_rate=1e-3)
    check_optimizer_has_no_frozen(good, encoder)
    bad = nn.Adam(list(encoder.trainable_params()) + [swin.norm.gamma], learning_rate=1e-3)
    with pytest.raises(RuntimeError, match="frozen parameters are in the optimizer"):
        check_optimizer_has_no_frozen(bad, encoder)
    # backbone_train_mode=False keeps the frozen backbones in eval mode while the modules train, also when the
    # encoder sits inside a task network (Cell.set_train alone would switch every sub-cell to train mode)
    class Wrapper(nn.Cell):
        def __init__(self):
            super().__init__()
            self.encoder = encoder

    wrapper = Wrapper()
    wrapper.set_train(True)
    assert swin.training and htsat.frontend.training
    set_train_mode(wrapper, True)
    assert encoder.vis_adapter_blocks_p1[0].training and not swin.training and not htsat.frontend.training
    set_train_mode(encoder, True)
    assert encoder.vis_adapter_blocks_p1[0].training and not swin.stages[0].blocks[0].training
    encoder.backbone_train_mode = True
    set_train_mode(wrapper, True)
    assert swin.training and htsat.frontend.training
    freeze_backbones(encoder, train_swin_norm=True)
    assert swin.norm.gamma.requires_grad and not swin.stages[0].blocks[0].norm1.gamma.requires_grad
    # train_htsat (official AVS S4): every HTS-AT parameter except BN running statistics trains, Swin stays frozen
    trainable_h, _ = freeze_backbones(encoder, train_htsat=True)
    htsat_trainable = sum(p.size for p in htsat.get_parameters() if p.requires_grad)
    htsat_stats = sum(p.size for p in htsat.get_parameters() if "moving_" in p.name)
    assert htsat_stats > 0 and htsat_trainable == sum(p.size for p in htsat.get_parameters()) - htsat_stats
    assert trainable_h == trainable + htsat_trainable
    assert not any(p.requires_grad for p in swin.get_parameters())
