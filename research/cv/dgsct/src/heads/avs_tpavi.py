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
"""DG-SCT audio-visual segmentation head (AVSBench S4 / MS3): `Pred_endecoder` of the official
`avs_scripts/avs_s4/model/PVT_AVSModel.py` (with `model/TPAVI.py`) and the losses of `loss.py`.

Input: the four Swin stage maps taken BEFORE patch merging (stage 4 after swin.norm) and the pooled audio
segment features a_seg of the DG-SCT encoder, for B videos x T=5 frames (BF = B*T rows, video-major).

    stage maps --Dense(C_i -> 256)--> bicubic resize (align_corners False) to 56/28/14/7
              --> four-stream temporal attention (gates from BiLSTM + ITRM per stream)
              --> TPAVI on every stage (dot mode, audio-visual) --> feature-fusion decoder --> logits [BF,1,224,224]

Layout: TPAVI works channel-last on [B, T*H*W, C] (Dense over channels == Conv3d 1x1; BatchNorm1d over the
B*T*H*W rows == BatchNorm3d), the decoder channel-first ([BF, C, H, W]) like the official code.
Quirk: the official decoder (`FeatureFusionBlock` / `ResidualConvUnit`) uses in-place ReLUs, so every residual identity
is relu(x) and the
returned stage maps are relu(z_i); `official_inplace_relu=True` reproduces that, the default is the plain maths.
"""
from dataclasses import dataclass
from typing import Sequence, Tuple

from mindspore import nn, ops

from src.backbones.layers import Dropout, l2_normalize, layer_norm
from src.dgsct.resize import BicubicResize
from src.dgsct.temporal import InternalTemporalRelationModule
from src.dgsct.torch_init import torch_default_init

NUM_FRAMES = 5          # AVSBench videos are 5 s, one frame per second
DECODER_CHANNELS = 256
AUDIO_CHANNELS = 128


@dataclass
class AVSHeadConfig:
    """The `head:` yaml section of the AVS tasks (official values; channel sizes are hard-coded there)."""
    gamma: float = 0.05                 # temporal gate strength: S4 0.05 (hard-coded), MS3 --gamma 0.1
    eval_gamma: float = -1.0            # < 0: same as gamma; 0.05 reproduces the MS3 test.sh (train.sh uses 0.1)
    kl_weight: float = 0.5              # MS3 masked audio-visual KL weight (S4 has no KL term)
    explicit_affinity: bool = False     # materialise the N x N TPAVI affinity (same result, far more memory)
    channels: int = DECODER_CHANNELS
    audio_channels: int = AUDIO_CHANNELS
    temporal_d_model: int = 256
    temporal_dim_ff: int = 1024
    temporal_heads: int = 4


# ------------------------------------------------------------------------------------------------
# TPAVI (temporal pixel-wise audio-visual interaction), dot-product mode
# ------------------------------------------------------------------------------------------------
class TPAVI(nn.Cell):
    """z = LN(BN(W_z(f g)) + x) with f = theta(x)^T phi(audio) / (T*H*W) over all T*H*W positions of a video.

    x: [B, N, C] (N = T*H*W, t-major), audio: [B, T, 128]. Returns (z [B, N, C], audio_c [B, T, C]).
    `explicit_affinity=False` evaluates theta (phi^T g) instead of (theta phi^T) g: the same product (no softmax
    in dot mode) without materialising the N x N affinity (15680^2 per video at stage 1).
    """

    def __init__(self, channels: int = DECODER_CHANNELS, audio_dim: int = AUDIO_CHANNELS,
                 explicit_affinity: bool = False):
        super().__init__()
        inter = max(channels // 2, 1)
        self.explicit_affinity = explicit_affinity
        self.align_channel = nn.Dense(audio_dim, channels)
        self.theta = nn.Dense(channels, inter)
        self.phi = nn.Dense(channels, inter)
        self.g = nn.Dense(channels, inter)
        self.w_z = nn.Dense(inter, channels)
        # BN weight AND bias start at 0 so the block is the identity (before the LayerNorm) at initialisation.
        self.w_z_bn = nn.BatchNorm1d(channels, eps=1e-5, momentum=0.9, gamma_init="zeros", beta_init="zeros")
        self.norm = layer_norm(channels)

    def construct(self, x, audio):
        b, n, c = x.shape
        t = audio.shape[1]
        audio_c = self.align_channel(audio)                                  # [B, T, C]
        phi_t = self.phi(audio_c)                                            # [B, T, C']: constant over H, W
        theta_x = self.theta(x)                                              # [B, N, C']
        g_x = self.g(x)                                                      # [B, N, C']
        if self.explicit_affinity:
            phi_x = ops.broadcast_to(phi_t.expand_dims(2), (b, t, n // t, phi_t.shape[-1])).reshape(b, n, -1)
            affinity = ops.bmm(theta_x, phi_x.transpose(0, 2, 1)) / n        # [B, N, N]
            y = ops.bmm(affinity, g_x)
        else:
            # phi_x^T g = sum_t phi_t^T (sum over the frame's H*W positions of g)
            g_sum = g_x.reshape(b, t, n // t, -1).sum(axis=2)                # [B, T, C']
            y = ops.bmm(theta_x, ops.bmm(phi_t.transpose(0, 2, 1), g_sum)) / n
        w_y = self.w_z_bn(self.w_z(y).reshape(b * n, c)).reshape(b, n, c)
        return self.norm(w_y + x), audio_c


# ------------------------------------------------------------------------------------------------
# Feature-fusion decoder (AVSBench PVT decoder)
# ------------------------------------------------------------------------------------------------
def conv3x3(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, pad_mode="pad", padding=1, has_bias=True)


class ResidualConvUnit(nn.Cell):
    """conv3x3(relu(conv3x3(relu(x)))) + identity; identity = relu(x) when reproducing the in-place ReLU."""

    def __init__(self, channels: int, official_inplace_relu: bool = False):
        super().__init__()
        self.conv1 = conv3x3(channels, channels)
        self.conv2 = conv3x3(channels, channels)
        self.relu = nn.ReLU()
        self.official_inplace_relu = official_inplace_relu

    def construct(self, x):
        x_act = self.relu(x)
        out = self.conv2(self.relu(self.conv1(x_act)))
        if self.official_inplace_relu:
            return out + x_act
        return out + x


class FeatureFusionBlock(nn.Cell):
    """out = RCU2(x0 + RCU1(skip)) (RCU2(x0) without skip), then bilinear x2 with align_corners=True."""

    def __init__(self, channels: int, official_inplace_relu: bool = False):
        super().__init__()
        self.res_conf_unit1 = ResidualConvUnit(channels, official_inplace_relu)
        self.res_conf_unit2 = ResidualConvUnit(channels, official_inplace_relu)

    def construct(self, x, skip=None):
        out = x
        if skip is not None:
            out = out + self.res_conf_unit1(skip)
        out = self.res_conf_unit2(out)
        h, w = out.shape[-2], out.shape[-1]
        return ops.interpolate(out, size=(2 * h, 2 * w), mode="bilinear", align_corners=True)


class OutputHead(nn.Cell):
    """Conv3x3(C->C/2) -> bilinear x2 (align_corners False) -> Conv3x3(C/2->C/8) -> ReLU -> Conv1x1(C/8->1)
    (C = 256: 128 and 32 channels as the official head)."""

    def __init__(self, channels: int = DECODER_CHANNELS):
        super().__init__()
        self.conv1 = conv3x3(channels, channels // 2)
        self.conv2 = conv3x3(channels // 2, channels // 8)
        self.conv3 = nn.Conv2d(channels // 8, 1, 1, has_bias=True)
        self.relu = nn.ReLU()

    def construct(self, x):
        x = self.conv1(x)
        h, w = x.shape[-2], x.shape[-1]
        x = ops.interpolate(x, size=(2 * h, 2 * w), mode="bilinear", align_corners=False)
        return self.conv3(self.relu(self.conv2(x)))


# ------------------------------------------------------------------------------------------------
# Four-stream temporal attention (the `TemporalAttention` of the official PVT_AVSModel.py, one stream per stage)
# ------------------------------------------------------------------------------------------------
class AVSTemporalAttention(nn.Cell):
    """One gated BiLSTM + ITRM stream per decoder stage; audio gates scale the visual maps, the mean of the
    four visual gates scales the audio feature.

    For stream i: p_i = Dropout(ReLU(Dense(avg-pool(x_i)))) [B,T,256]; BiLSTMs on audio [B,T,128] (128/dir) and
    p_i (256/dir); Ka_i = ITRM(256->256)(audio), Kv_i = ITRM(512->256)(video);
    x_i <- x_i * (1 + gamma * sigmoid(Dense(Ka_i))); audio <- audio * (1 + gamma * mean_i sigmoid(Dense(Kv_i))).
    The official block also runs two CMRA decoders per stream whose outputs are never used; they cannot change
    any output or gradient and are not built (a checkpoint converter must skip `temporal_attn.*_decoder.*`).
    """

    def __init__(self, channels=DECODER_CHANNELS, audio_dim=AUDIO_CHANNELS, d_model=256, gamma=0.05,
                 num_frames=NUM_FRAMES, num_stages=4, video_dropout=0.2, nhead=4, dim_ff=1024, dropout=0.1,
                 eval_gamma=None):
        super().__init__()
        self.gamma = gamma
        self.eval_gamma = gamma if eval_gamma is None else eval_gamma   # MS3 test.sh used 0.05
        self.num_frames = num_frames
        self.num_stages = num_stages
        stages = range(num_stages)
        self.v_fc = nn.CellList([nn.Dense(channels, channels) for _ in stages])
        self.relu = nn.ReLU()
        self.dropout = Dropout(p=video_dropout)                   # on [B, T, C]
        self.audio_rnn = nn.CellList([nn.LSTM(audio_dim, d_model // 2, batch_first=True, bidirectional=True)
                                      for _ in stages])
        self.visual_rnn = nn.CellList([nn.LSTM(channels, d_model, batch_first=True, bidirectional=True)
                                       for _ in stages])
        itrm = dict(num_layers=2, nhead=nhead, dim_ff=dim_ff, dropout=dropout)
        self.video_encoder = nn.CellList([InternalTemporalRelationModule(2 * d_model, d_model, **itrm)
                                          for _ in stages])
        self.audio_encoder = nn.CellList([InternalTemporalRelationModule(d_model, d_model, **itrm)
                                          for _ in stages])
        self.audio_gated = nn.CellList([nn.Dense(d_model, 1) for _ in stages])
        self.video_gated = nn.CellList([nn.Dense(d_model, 1) for _ in stages])
        for cells in (self.v_fc, self.audio_gated, self.video_gated):
            torch_default_init(cells)

    def construct(self, maps, audio):
        """maps: tuple of [BF, C, H_i, W_i]; audio [B, T, A]. Returns (scaled maps, audio [BF, A])."""
        bf = maps[0].shape[0]
        b = bf // self.num_frames
        gamma = self.gamma if self.training else self.eval_gamma
        out_maps = ()
        video_gate_sum = 0
        for i in range(self.num_stages):
            x = maps[i]
            pooled = x.mean(axis=(2, 3)).reshape(b, self.num_frames, -1)
            video = self.dropout(self.relu(self.v_fc[i](pooled)))
            audio_seq = self.audio_rnn[i](audio)[0].transpose(1, 0, 2)         # [T, B, 256]
            video_seq = self.visual_rnn[i](video)[0].transpose(1, 0, 2)        # [T, B, 512]
            video_key = self.video_encoder[i](video_seq)
            audio_key = self.audio_encoder[i](audio_seq)
            gate_a = ops.sigmoid(self.audio_gated[i](audio_key)).transpose(1, 0, 2).reshape(bf, 1, 1, 1)
            gate_v = ops.sigmoid(self.video_gated[i](video_key)).transpose(1, 0, 2).reshape(bf, 1)
            out_maps += (x + gate_a * x * gamma,)
            video_gate_sum = video_gate_sum + gate_v
        audio_flat = audio.reshape(bf, -1)
        audio_flat = audio_flat + (video_gate_sum / self.num_stages) * audio_flat * gamma
        return out_maps, audio_flat


# ------------------------------------------------------------------------------------------------
# The head
# ------------------------------------------------------------------------------------------------
class AVSHead(nn.Cell):
    """Stage maps + pooled audio -> mask logits [BF, 1, 32*s4, 32*s4], decoder feature maps, TPAVI audio.

    Args:
        stage_dims: channels of the four Swin stage maps (192, 384, 768, 1536 for Swin-V2-L).
        stage_grids: their token grids ((48, 48), (24, 24), (12, 12), (6, 6)).
        audio_dim: width of the pooled audio feature a_seg (768 for HTS-AT).
        out_sizes: resize targets of the stage maps, each twice the next (56, 28, 14, 7 -> 224x224 logits).
        channels / audio_channels / temporal_*: 256 / 128 / 256, 1024, 4 in the official model (hard-coded
            there); smaller values only for tiny test configs.
        gamma / eval_gamma: temporal gate strength in training / evaluation (S4 0.05; MS3 0.1, its test.sh 0.05);
            eval_gamma None = gamma.
        official_inplace_relu: reproduce the official decoder's in-place ReLU.
        explicit_affinity: materialise the N x N TPAVI affinity like the official code (same result).
    Returns (logits [BF,1,H,W], feature_maps 4 x [BF,256,s,s], audio_feats 4 x [BF,256]).
    """

    def __init__(self, stage_dims: Sequence[int] = (192, 384, 768, 1536),
                 stage_grids: Sequence[Tuple[int, int]] = ((48, 48), (24, 24), (12, 12), (6, 6)),
                 audio_dim: int = 768, out_sizes: Sequence[int] = (56, 28, 14, 7), gamma: float = 0.05,
                 num_frames: int = NUM_FRAMES, official_inplace_relu: bool = False,
                 explicit_affinity: bool = False, eval_gamma=None, channels: int = DECODER_CHANNELS,
                 audio_channels: int = AUDIO_CHANNELS, temporal_d_model: int = 256, temporal_dim_ff: int = 1024,
                 temporal_heads: int = 4):
        super().__init__()
        if len(stage_dims) != 4 or len(stage_grids) != 4 or len(out_sizes) != 4:
            raise ValueError("AVSHead needs exactly four stages (dims, grids and out_sizes)")
        if any(out_sizes[i] != 2 * out_sizes[i + 1] for i in range(3)):
            raise ValueError(f"out_sizes must halve from stage to stage (decoder upsamples x2), got {out_sizes}")
        self.num_frames = num_frames
        self.channels = channels
        self.grids = tuple(tuple(int(v) for v in g) for g in stage_grids)
        self.out_sizes = tuple(int(s) for s in out_sizes)
        self.official_inplace_relu = official_inplace_relu
        self.audio_channels = audio_channels
        self.audio_linear = nn.Dense(audio_dim, audio_channels)
        self.stage_proj = nn.CellList([nn.Dense(c, channels) for c in stage_dims])
        self.resize = nn.CellList([BicubicResize(g, (s, s)) for g, s in zip(self.grids, self.out_sizes)])
        self.temporal_attn = AVSTemporalAttention(channels, audio_channels, d_model=temporal_d_model, gamma=gamma,
                                                  num_frames=num_frames, nhead=temporal_heads, dim_ff=temporal_dim_ff,
                                                  eval_gamma=eval_gamma)
        self.tpavi = nn.CellList([TPAVI(channels, audio_channels, explicit_affinity) for _ in range(4)])
        self.path = nn.CellList([FeatureFusionBlock(channels, official_inplace_relu) for _ in range(4)])
        self.output_conv = OutputHead(channels)
        self.relu = nn.ReLU()
        for cells in (self.audio_linear, self.stage_proj, self.tpavi, self.path, self.output_conv):
            torch_default_init(cells)

    def construct(self, stage_maps, a_seg):
        bf = a_seg.shape[0]
        b, t, c = bf // self.num_frames, self.num_frames, self.channels
        audio = self.audio_linear(a_seg).reshape(b, t, self.audio_channels)
        maps = ()
        for i in range(4):
            h, w = self.grids[i]
            x = self.stage_proj[i](stage_maps[i]).reshape(bf, h, w, c).transpose(0, 3, 1, 2)
            maps += (self.resize[i](x),)
        maps, audio = self.temporal_attn(maps, audio)
        audio = audio.reshape(b, t, self.audio_channels)
        feats = ()
        audio_feats = ()
        for i in range(4):
            s = self.out_sizes[i]
            x = maps[i].reshape(b, t, c, s, s).transpose(0, 1, 3, 4, 2).reshape(b, t * s * s, c)
            z, audio_c = self.tpavi[i](x, audio)
            feats += (z.reshape(b, t, s, s, c).transpose(0, 1, 4, 2, 3).reshape(bf, c, s, s),)
            audio_feats += (audio_c.reshape(bf, c),)
        out = self.path[3](feats[3])
        out = self.path[2](out, feats[2])
        out = self.path[1](out, feats[1])
        out = self.path[0](out, feats[0])
        logits = self.output_conv(out)
        if self.official_inplace_relu:   # the official decoder overwrote the returned maps with relu(z_i)
            feats = (self.relu(feats[0]), self.relu(feats[1]), self.relu(feats[2]), self.relu(feats[3]))
        return logits, feats, audio_feats


# ------------------------------------------------------------------------------------------------
# Losses (official avs_s4/loss.py and avs_ms3/loss.py)
# ------------------------------------------------------------------------------------------------
def _avg_pool_to(x, out_h, out_w):
    """Adaptive average pooling [N, C, H, W] -> [N, C, out_h, out_w] when H, W are multiples of the output."""
    n, c, h, w = x.shape
    return x.reshape(n, c, out_h, h // out_h, out_w, w // out_w).mean(axis=(3, 5))


class AVSLoss(nn.Cell):
    """S4: BCE on the first (annotated) frame of every video. MS3: BCE on all frames + kl_weight * the masked
    audio-visual KL term averaged over the stages.

    KL term per stage: m = sigmoid(avg-pool(logits) to the map size); v = mean over H, W of (map * m);
    a = TPAVI audio feature; both L2-normalised; sum over rows and channels of softmax(a) * (log softmax(a) -
    log softmax(v)) (torch kl_div with reduction 'sum').
    BCE is computed from the logits (same value as BCE(sigmoid(logits)) away from fp32 sigmoid saturation).

    construct(logits [BF,1,H,W], 4 maps [BF,C,h,w], 4 audio features [BF,C], masks [B,M,1,H,W]) -> (total,
    bce, kl): the flat output order of AVSModel followed by the label column.
    """

    def __init__(self, variant: str = "s4", kl_weight: float = 0.5, num_frames: int = NUM_FRAMES,
                 kl_stages: Sequence[int] = (0, 1, 2, 3)):
        super().__init__()
        if variant not in ("s4", "ms3"):
            raise ValueError(f"AVS loss variant must be 's4' or 'ms3', got {variant!r}")
        self.all_frames = variant == "ms3"
        self.kl_weight = float(kl_weight) if variant == "ms3" else 0.0
        self.num_frames = num_frames
        self.kl_stages = tuple(kl_stages)

    def construct(self, logits, feat1, feat2, feat3, feat4, audio1, audio2, audio3, audio4, masks):
        feats, audio_feats = (feat1, feat2, feat3, feat4), (audio1, audio2, audio3, audio4)
        bf, _, h, w = logits.shape
        b = bf // self.num_frames
        if self.all_frames:
            pred, target = logits, masks.reshape(bf, 1, h, w)
        else:
            pred = logits.reshape(b, self.num_frames, 1, h, w)[:, 0]
            target = masks[:, 0]
        bce = ops.binary_cross_entropy_with_logits(pred, target, ops.ones_like(pred), ops.ones_like(pred))
        kl = ops.zeros((), logits.dtype)
        if self.kl_weight > 0:
            for i in self.kl_stages:
                fmap = feats[i]
                mask = ops.sigmoid(_avg_pool_to(logits, fmap.shape[2], fmap.shape[3]))
                visual = l2_normalize((fmap * mask).mean(axis=(2, 3)))
                audio = l2_normalize(audio_feats[i])
                p_audio = ops.softmax(audio, axis=-1)
                kl = kl + (p_audio * (ops.log(p_audio) - ops.log(ops.softmax(visual, axis=-1)))).sum()
            kl = kl / len(self.kl_stages)
        return bce + self.kl_weight * kl, bce, kl


# ------------------------------------------------------------------------------------------------
# Whole model: DG-SCT encoder + AVS head
# ------------------------------------------------------------------------------------------------
class AVSModel(nn.Cell):
    """frames [B, 5, 3, H, W] (ImageNet-normalised, H = W = frame_size) + waves [B, 5, clip] -> flat outputs
    (logits [B*5, 1, H, W], 4 decoder maps, 4 TPAVI audio features), the order AVSLoss takes them in.

    Frames are resized in the graph to the backbone's input size with PyTorch-exact bicubic interpolation
    (official: 224 -> 192, align_corners False, no antialias) before the DG-SCT encoder; the encoder returns
    (v_seg, a_seg, stage_maps) and only a_seg and the stage maps are used here.
    """

    def __init__(self, encoder: nn.Cell, head: AVSHead, frame_size: int, backbone_size: int,
                 num_frames: int = NUM_FRAMES):
        super().__init__()
        self.encoder = encoder
        self.head = head
        self.num_frames = num_frames
        self.resize = None if frame_size == backbone_size else \
            BicubicResize((frame_size, frame_size), (backbone_size, backbone_size))

    def construct(self, frames, waves, mixup_lambda=None):
        b, t, c, h, w = frames.shape
        images = frames.reshape(b * t, c, h, w)
        if self.resize is not None:
            images = self.resize(images)
        a_seg, stage_maps = self.encoder.audio_and_maps(images, waves.reshape(b * t, -1), mixup_lambda)
        logits, feats, audio_feats = self.head(stage_maps, a_seg)
        return (logits,) + feats + audio_feats


def build_avs_network(cfg, encoder) -> AVSModel:
    """Task-registry network builder: DG-SCT encoder + AVSHead sized from the backbones (cfg.head: AVSHeadConfig).

    The stage maps are resized to the official 56/28/14/7 scaled to the frame size (frame_size / 4 ... / 32).
    """
    head_cfg, frame_size = cfg.head, cfg.data.image_size
    if frame_size % 32:
        raise ValueError(f"data.image_size must be a multiple of 32 (the AVS decoder upsamples x32), got {frame_size}")
    swin, htsat = encoder.swin, encoder.htsat
    if len(swin.stage_dims) != 4:
        raise ValueError(f"task {cfg.task}: the AVS head needs the 4 Swin stages, got {len(swin.stage_dims)}")
    head = AVSHead(swin.stage_dims, swin.stage_resolutions, audio_dim=htsat.stage_dims[-1],
                   out_sizes=tuple(frame_size // 2 ** k for k in (2, 3, 4, 5)), gamma=head_cfg.gamma,
                   eval_gamma=head_cfg.eval_gamma if head_cfg.eval_gamma >= 0 else None,
                   official_inplace_relu=cfg.compat.official_inplace_relu,
                   explicit_affinity=head_cfg.explicit_affinity, channels=head_cfg.channels,
                   audio_channels=head_cfg.audio_channels, temporal_d_model=head_cfg.temporal_d_model,
                   temporal_dim_ff=head_cfg.temporal_dim_ff, temporal_heads=head_cfg.temporal_heads)
    return AVSModel(encoder, head, frame_size, swin.cfg.img_size)
