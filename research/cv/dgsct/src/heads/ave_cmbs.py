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
"""AVE head (`CMBS` in the official `DG-SCT/AVE/nets/net_trans.py`) and the AVE losses (`DG-SCT/AVE/main_trans.py`)."""
from dataclasses import dataclass, field

from mindspore import nn, ops
from mindspore.common import dtype as mstype

from ..dgsct.temporal import TemporalAttention, TemporalConfig
from ..dgsct.torch_init import torch_default_init


@dataclass
class CMBSConfig:
    num_classes: int = 28
    topk: int = 4             # s_v/s_a = mean of the top-k class activations over time
    av_weight: float = 0.3    # event = classifier(max_t F) + av_weight * av


class LocalizeModule(nn.Cell):
    """Segment event/background classifier and video-level event classifier (official `localize_module`)."""

    def __init__(self, d_model, num_classes):
        super().__init__()
        self.classifier = nn.Dense(d_model, 1)
        self.event_classifier = nn.Dense(d_model, num_classes)

    def construct(self, fused):
        is_event = self.classifier(fused).squeeze(-1).transpose(1, 0)   # [T, B, 1] -> [B, T]
        return is_event, self.event_classifier(fused.max(axis=0))


class CMBSHead(nn.Cell):
    """Inputs (sequence-first) video, audio [T, B, d]. Outputs is_event [B, T] logits, event [B, K], av [B, K] logits.

    The original's AVInter/VAInter attention outputs are computed and discarded, and video_norm/audio_norm are never
    called: they do not change any output and are omitted (their checkpoint keys are ignored by the converter).
    """

    def __init__(self, d_model=256, cfg=None):
        super().__init__()
        cfg = cfg or CMBSConfig()
        self.topk = cfg.topk
        self.av_weight = cfg.av_weight
        self.video_cas = nn.Dense(d_model, cfg.num_classes)
        self.audio_cas = nn.Dense(d_model, cfg.num_classes)
        self.localize_module = LocalizeModule(d_model, cfg.num_classes)
        torch_default_init(self)

    def _topk_mean(self, cas):
        """cas [B, T, K] -> mean of the top-k values over T per class [B, K]."""
        values, _ = ops.topk(cas.transpose(0, 2, 1), self.topk)
        return values.mean(axis=-1)

    def construct(self, video, audio):
        cas_v = self.video_cas(video).transpose(1, 0, 2)
        cas_a = self.audio_cas(audio).transpose(1, 0, 2)
        av = (self._topk_mean(cas_v) + self._topk_mean(cas_a)) / 2
        is_event, event = self.localize_module((video + audio) / 2)
        return is_event, event + self.av_weight * av, av


def _bce_probability(prob, target):
    """Binary cross-entropy on probabilities with torch's log clamp at -100."""
    log_p = ops.clamp(ops.log(prob), min=-100.0)
    log_q = ops.clamp(ops.log(1 - prob), min=-100.0)
    return -(target * log_p + (1 - target) * log_q).mean()


class AVELoss(nn.Cell):
    """L = BCEWithLogits(is_event, y_seg) + BCE(gate, y_seg) + CE(event, y_cls) + CE(av, y_cls).

    `gate` = ga * gv is already a probability. Default: plain BCE on it (correct). official_gate_bce=True reproduces
    the original's BCE-with-logits on that probability (sigmoid applied twice).
    Returns (total, is_event term, gate term, event term, av term).
    """

    def __init__(self, official_gate_bce=False):
        super().__init__()
        self.official_gate_bce = official_gate_bce

    def construct(self, is_event, event, av, gate, labels):
        foreground = labels[:, :, :-1]                                    # [B, T, K]; last column = background
        y_seg = foreground.max(axis=-1)                                   # [B, T]
        y_cls = ops.argmax(foreground, dim=-1).max(axis=-1).astype(mstype.int32)
        loss_event = ops.binary_cross_entropy_with_logits(is_event, y_seg, ops.ones_like(y_seg), ops.ones_like(y_seg))
        if self.official_gate_bce:
            loss_gate = ops.binary_cross_entropy_with_logits(gate, y_seg, ops.ones_like(y_seg), ops.ones_like(y_seg))
        else:
            loss_gate = _bce_probability(gate, y_seg)
        loss_cls = ops.cross_entropy(event, y_cls)
        loss_av = ops.cross_entropy(av, y_cls)
        total = loss_event + loss_gate + loss_cls + loss_av
        return total, loss_event, loss_gate, loss_cls, loss_av


@dataclass
class AVEHeadConfig:
    """`head:` section of an AVE config."""
    temporal: TemporalConfig = field(default_factory=TemporalConfig)
    cmbs: CMBSConfig = field(default_factory=CMBSConfig)


class AVEHead(nn.Cell):
    """TemporalAttention + CMBS on the pooled segment features.

    Inputs v_seg [B, T, Cv], a_seg [B, T, Ca]; outputs is_event [B, T] logits, event [B, K] logits, av [B, K] logits,
    gate [B, T] probability.
    """

    def __init__(self, video_dim, audio_dim, cfg):
        super().__init__()
        self.temporal_attn = TemporalAttention(video_dim, audio_dim, cfg.temporal)
        self.CMBS = CMBSHead(cfg.temporal.d_model, cfg.cmbs)

    def construct(self, v_seg, a_seg):
        video, audio, gate = self.temporal_attn(v_seg, a_seg)
        is_event, event, av = self.CMBS(video, audio)
        return is_event, event, av, gate.squeeze(-1).transpose(1, 0)
