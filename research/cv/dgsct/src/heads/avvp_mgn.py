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
"""AVVP head: the MGN modality-grouping network (`MGN_Net` in the official `DG-SCT/AVVP/nets/mgn.py`,
blocks in `nets/grouping.py`) on the DG-SCT segment features, and its losses (`DG-SCT/AVVP/main.py`).

Inputs are the pooled encoder outputs a_seg [B, T, Ca], v_seg [B, T, Cv] and the R(2+1)D features [B, T, 512].
Outputs (official order): aud_cls [K, K], vis_cls [K, K] (class-token logits), global_prob [B, K], a_prob [B, K],
v_prob [B, K], a_frame [B, T, K], v_frame [B, T, K] (K = 25 classes, T = 10 segments).

Building blocks (all LayerNorm eps 1e-5, exact GELU), parameter names as in the official `nets/grouping.py`:
AttnBlock (pre-norm ViT block, fused qkv), CrossAttnBlock (post-norm), AssignAttention (soft / hard straight-through /
gumbel), GroupingBlock (token-mixing MLP over the group axis + cross attention + assignment), ModalityTrans.
The official GroupingBlock_Han is the same block with the segment features as group tokens; here it is a
GroupingBlock instance (`han_encoder`) built with the opposite hard/gumbel setting of the unimodal grouping.
"""
from dataclasses import dataclass, replace

import numpy as np
from mindspore import nn, ops, Parameter, Tensor
from mindspore.common.initializer import initializer, TruncatedNormal, Zero

from ..backbones.layers import DropPath, Mlp, layer_norm
from ..dgsct.temporal import InternalTemporalRelationModule
from ..dgsct.torch_init import torch_default_init

ASSIGN_MODES = ("soft", "hard")


@dataclass
class MGNConfig:
    """MGN head sizes; defaults = the official AVVP train.sh (dim 128, depths 3/3/6, soft/soft assignment)."""
    num_classes: int = 25
    # derived by the AVVP task (never set in a yaml): data.num_segments and the backbone widths
    num_segments: int = 10
    audio_dim: int = 768            # width of a_seg (HTS-AT final stage)
    video_dim: int = 1536           # width of v_seg (Swin-V2-L final stage)
    st_dim: int = 512               # R(2+1)D-18 feature width
    dim: int = 128
    depth_aud: int = 3
    depth_vis: int = 3
    depth_av: int = 6
    num_heads: int = 8
    mlp_ratio: float = 4.0
    drop_path: float = 0.1
    unimodal_assign: str = "soft"   # --unimodal_assign: assignment of the unimodal groupings (and which map is used)
    crossmodal_assign: str = "soft"
    gumbel_tau: float = 1.0
    temporal_d_model: int = 64      # AVVP TemporalAttention: BiLSTM hidden per direction and ITRM width
    temporal_layers: int = 2
    temporal_heads: int = 4
    temporal_ff: int = 1024
    temporal_dropout: float = 0.1
    temporal_gate_scale: float = 0.05
    visual_smoothing: float = 0.9   # loss: visual BCE target = 0.9 y + 0.05

    def validate(self, where="head"):
        for key in ("unimodal_assign", "crossmodal_assign"):
            if getattr(self, key) not in ASSIGN_MODES:
                raise ValueError(f"{where}.{key} must be one of {ASSIGN_MODES}, got {getattr(self, key)!r}")
        if self.dim % self.num_heads:
            raise ValueError(f"{where}.dim ({self.dim}) must be divisible by {where}.num_heads ({self.num_heads})")
        return self


def _split_heads(x, heads):
    b, n, c = x.shape
    return x.reshape(b, n, heads, c // heads).transpose(0, 2, 1, 3)


def _merge_heads(x):
    b, h, n, d = x.shape
    return x.transpose(0, 2, 1, 3).reshape(b, n, h * d)


def _attend(q, k, v, scale):
    """Softmax attention over the key axis; q/k/v [B, h, N, d]."""
    attn = ops.softmax(ops.matmul(q, k.swapaxes(-1, -2)) * scale, axis=-1)
    return ops.matmul(attn, v)


class SelfAttention(nn.Cell):
    """Multi-head self-attention with a fused qkv projection (official `Attention(qkv_fuse=True)`)."""

    def __init__(self, dim, num_heads, qkv_bias=True):
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Dense(dim, 3 * dim, has_bias=qkv_bias)
        self.proj = nn.Dense(dim, dim)

    def construct(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, c // self.num_heads).transpose(2, 0, 3, 1, 4)
        return self.proj(_merge_heads(_attend(qkv[0], qkv[1], qkv[2], self.scale)))


class CrossAttention(nn.Cell):
    """Multi-head cross-attention with separate q/k/v projections (official `Attention(qkv_fuse=False)`)."""

    def __init__(self, dim, num_heads, qkv_bias=True):
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.q_proj = nn.Dense(dim, dim, has_bias=qkv_bias)
        self.k_proj = nn.Dense(dim, dim, has_bias=qkv_bias)
        self.v_proj = nn.Dense(dim, dim, has_bias=qkv_bias)
        self.proj = nn.Dense(dim, dim)

    def construct(self, query, key):
        q = _split_heads(self.q_proj(query), self.num_heads)
        k = _split_heads(self.k_proj(key), self.num_heads)
        v = _split_heads(self.v_proj(key), self.num_heads)
        return self.proj(_merge_heads(_attend(q, k, v, self.scale)))


class AttnBlock(nn.Cell):
    """Pre-norm transformer block: x + DP(attn(LN(x))), then x + DP(mlp(LN(x)))."""

    def __init__(self, dim, num_heads, mlp_ratio=4.0, drop_path=0.0):
        super().__init__()
        self.norm1 = layer_norm(dim)
        self.attn = SelfAttention(dim, num_heads)
        self.drop_path = DropPath(drop_path)
        self.norm2 = layer_norm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def construct(self, x):
        x = x + self.drop_path(self.attn(self.norm1(x)))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class CrossAttnBlock(nn.Cell):
    """Post-norm cross-attention block (the only variant MGN uses): LN_post(x + attn(x, key) + mlp(...))."""

    def __init__(self, dim, num_heads, mlp_ratio=4.0):
        super().__init__()
        self.attn = CrossAttention(dim, num_heads)
        self.norm2 = layer_norm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.norm_post = layer_norm(dim)

    def construct(self, query, key):
        x = query + self.attn(query, key)
        x = x + self.mlp(self.norm2(x))
        return self.norm_post(x)


class AssignAttention(nn.Cell):
    """Single-head assignment of the inputs (keys, S of them) to the groups (queries, N of them).

    logits = q k^T / sqrt(dim) [B, N, S]; the assignment is a distribution over the GROUP axis: softmax (soft),
    one-hot argmax with a straight-through gradient (hard), or gumbel-softmax in training (gumbel, hard or not).
    Each group then averages its inputs: attn / (sum over inputs + 1). Also returns the two maps the official code
    exposes: 'soft' = 1 + softmax over inputs of (softmax over groups of the logits), and 'hard' = the assignment.
    """

    def __init__(self, dim, hard=True, gumbel=False, gumbel_tau=1.0, assign_eps=1.0):
        super().__init__()
        self.scale = dim ** -0.5
        self.hard = hard
        self.gumbel = gumbel
        self.gumbel_tau = gumbel_tau
        self.assign_eps = assign_eps
        self.q_proj = nn.Dense(dim, dim)
        self.k_proj = nn.Dense(dim, dim)
        self.v_proj = nn.Dense(dim, dim)
        self.proj = nn.Dense(dim, dim)
        self.uniform = ops.UniformReal()

    def _gumbel_noise(self, shape):
        u = ops.clamp(self.uniform(shape), 1e-10, 1.0 - 1e-7)
        return -ops.log(-ops.log(u))

    def assignment(self, logits):
        if self.gumbel and self.training:
            logits = (logits + self._gumbel_noise(logits.shape)) / self.gumbel_tau
        soft = ops.softmax(logits, axis=-2)
        if not self.hard:
            return soft
        one_hot = ops.one_hot(ops.argmax(soft, dim=-2), soft.shape[-2], Tensor(1.0, soft.dtype),
                              Tensor(0.0, soft.dtype), axis=1)
        return one_hot - ops.stop_gradient(soft) + soft         # straight-through estimator

    def construct(self, query, key):
        logits = ops.matmul(self.q_proj(query), self.k_proj(key).swapaxes(-1, -2)) * self.scale
        attn = self.assignment(logits)
        soft_map = 1.0 + ops.softmax(ops.softmax(logits, axis=-2), axis=-1)
        hard_map = attn
        attn = attn / (attn.sum(axis=-1, keepdims=True) + self.assign_eps)
        return self.proj(ops.matmul(attn, self.v_proj(key))), soft_map, hard_map


class GroupingBlock(nn.Cell):
    """Groups the inputs x [B, S, C] into `num_output_groups` tokens guided by group tokens [B, G, C].

    tokens = LN(token-mixing MLP over the group axis (G -> dim/2 -> G') of LN(group tokens)); tokens attend x
    (post-norm cross block); assignment attention; out = assigned + tokens; out = out + MLP(LN(out)).
    """

    def __init__(self, dim, num_heads, num_group_tokens, num_output_groups, hard, gumbel, gumbel_tau=1.0,
                 mlp_ratio=(0.5, 4.0)):
        super().__init__()
        tokens_dim, channels_dim = int(mlp_ratio[0] * dim), int(mlp_ratio[1] * dim)
        self.norm_tokens = layer_norm(dim)
        self.mlp_inter = Mlp(num_group_tokens, tokens_dim, num_output_groups)
        self.norm_post_tokens = layer_norm(dim)
        self.norm_x = layer_norm(dim)
        self.pre_assign_attn = CrossAttnBlock(dim, num_heads)
        self.assign = AssignAttention(dim, hard=hard, gumbel=gumbel, gumbel_tau=gumbel_tau)
        self.norm_new_x = layer_norm(dim)
        self.mlp_channels = Mlp(dim, channels_dim, dim)

    def construct(self, x, group_tokens):
        group_tokens = self.norm_tokens(group_tokens)
        x = self.norm_x(x)
        tokens = self.mlp_inter(group_tokens.swapaxes(1, 2)).swapaxes(1, 2)
        tokens = self.pre_assign_attn(self.norm_post_tokens(tokens), x)
        new_x, soft_map, hard_map = self.assign(tokens, x)
        new_x = new_x + tokens
        return new_x + self.mlp_channels(self.norm_new_x(new_x)), soft_map, hard_map


class ModalityTrans(nn.Cell):
    """[x; group tokens] -> `depth` AttnBlocks -> split -> (optional cross-modal HAN grouping of x by x_other)
    -> GroupingBlock(x, group tokens). Returns (grouped [B, G, C], soft map [B, G, S], hard map [B, G, S])."""

    def __init__(self, dim, depth, num_heads, num_group_tokens, hard, drop_path, mlp_ratio=4.0, han_tokens=0,
                 gumbel_tau=1.0):
        super().__init__()
        self.num_group_tokens = num_group_tokens
        self.blocks = nn.CellList([AttnBlock(dim, num_heads, mlp_ratio, drop_path) for _ in range(depth)])
        # HAN grouping in the audio branch uses the opposite setting (official: hard=gumbel=not hard_assignment)
        self.han_encoder = (GroupingBlock(dim, num_heads, han_tokens, han_tokens, hard=not hard, gumbel=not hard,
                                          gumbel_tau=gumbel_tau) if han_tokens else None)
        self.grouping = GroupingBlock(dim, num_heads, num_group_tokens, num_group_tokens, hard=hard, gumbel=hard,
                                      gumbel_tau=gumbel_tau)

    def construct(self, x, group_tokens, x_other=None):
        if group_tokens.ndim == 2:                              # learned [G, C] tokens shared by the batch
            group_tokens = ops.broadcast_to(group_tokens, (x.shape[0],) + group_tokens.shape)
        tokens = ops.concat((x, group_tokens), axis=1)
        for blk in self.blocks:
            tokens = blk(tokens)
        x = tokens[:, :-self.num_group_tokens]
        group_tokens = tokens[:, -self.num_group_tokens:]
        if self.han_encoder is not None:
            x = self.han_encoder(x, x_other)[0]
        return self.grouping(x, group_tokens)


class AVVPTemporalAttention(nn.Cell):
    """AVVP version of the temporal block (`TemporalAttention` in `DG-SCT/AVVP/nets/mgn.py`) from the shared ITRM
    layers (src/dgsct/temporal.py).

    BiLSTM(dim -> d per direction) on both streams, ITRM(2d -> d) on both, ga = sigmoid(Linear(d, 1)(Ka)),
    gv likewise; video <- video * (1 + 0.05 ga), audio <- audio * (1 + 0.05 gv). Inputs/outputs [B, T, dim].
    MGN uses only the video output (as the official code).
    """

    def __init__(self, dim, d_model=64, num_layers=2, nhead=4, dim_ff=1024, dropout=0.1, gate_scale=0.05):
        super().__init__()
        self.gate_scale = gate_scale
        self.audio_rnn = nn.LSTM(dim, d_model, batch_first=True, bidirectional=True)
        self.visual_rnn = nn.LSTM(dim, d_model, batch_first=True, bidirectional=True)
        kw = dict(num_layers=num_layers, nhead=nhead, dim_ff=dim_ff, dropout=dropout)
        self.video_encoder = InternalTemporalRelationModule(2 * d_model, d_model, **kw)
        self.audio_encoder = InternalTemporalRelationModule(2 * d_model, d_model, **kw)
        self.audio_gated = nn.Dense(d_model, 1)
        self.video_gated = nn.Dense(d_model, 1)
        torch_default_init(self.audio_gated)
        torch_default_init(self.video_gated)

    def construct(self, video, audio):
        video_key = self.video_encoder(self.visual_rnn(video)[0].swapaxes(0, 1))     # [T, B, d]
        audio_key = self.audio_encoder(self.audio_rnn(audio)[0].swapaxes(0, 1))
        gate_a = ops.sigmoid(self.audio_gated(audio_key)).swapaxes(0, 1)            # [B, T, 1]
        gate_v = ops.sigmoid(self.video_gated(video_key)).swapaxes(0, 1)
        return video * (1 + self.gate_scale * gate_a), audio * (1 + self.gate_scale * gate_v)


def init_trunc_normal(cell, sigma=0.02):
    """MGN init: Dense weights ~ trunc-normal(0.02) (timm bounds +-2), biases 0; LayerNorm 1 / 0."""
    for _, sub in cell.cells_and_names():
        if isinstance(sub, nn.Dense):
            sub.weight.set_data(initializer(TruncatedNormal(sigma=sigma), sub.weight.shape, sub.weight.dtype))
            if sub.has_bias:
                sub.bias.set_data(initializer(Zero(), sub.bias.shape, sub.bias.dtype))
        elif isinstance(sub, nn.LayerNorm):
            sub.gamma.set_data(ops.ones_like(sub.gamma))
            sub.beta.set_data(ops.zeros_like(sub.beta))
    return cell


class MGNHead(nn.Cell):
    """The official MGN_Net head (everything after the backbones and the 48 DG-SCT modules)."""

    def __init__(self, cfg=None):
        super().__init__()
        cfg = (cfg or MGNConfig()).validate()
        self.cfg = cfg
        k, d, t = cfg.num_classes, cfg.dim, cfg.num_segments
        self.use_hard_map = cfg.unimodal_assign == "hard"     # which unimodal map scales the frame probabilities
        self.fc_a = nn.Dense(cfg.audio_dim, d)
        self.fc_v = nn.Dense(cfg.video_dim, d)
        self.fc_st = nn.Dense(cfg.st_dim, d)
        self.fc_fusion = nn.Dense(2 * d, d)
        self.audio_token = Parameter(Tensor(np.zeros((k, d), np.float32)), name="audio_token")
        self.visual_token = Parameter(Tensor(np.zeros((k, d), np.float32)), name="visual_token")
        uni_hard = cfg.unimodal_assign == "hard"
        common = dict(num_heads=cfg.num_heads, num_group_tokens=k, drop_path=cfg.drop_path,
                      mlp_ratio=cfg.mlp_ratio, gumbel_tau=cfg.gumbel_tau)
        self.audio_cug = ModalityTrans(d, cfg.depth_aud, hard=uni_hard, han_tokens=t, **common)
        self.visual_cug = ModalityTrans(d, cfg.depth_vis, hard=uni_hard, **common)
        self.av_mcg = ModalityTrans(d, cfg.depth_av, hard=cfg.crossmodal_assign == "hard", **common)
        self.fc_prob = nn.Dense(d, 1)
        self.fc_prob_a = nn.Dense(d, 1)
        self.fc_prob_v = nn.Dense(d, 1)
        self.fc_cls = nn.Dense(d, k)                           # shared by the audio and the visual class tokens
        init_trunc_normal(self)                                # before the temporal block, as the official order
        self.temporal_attn = AVVPTemporalAttention(d, cfg.temporal_d_model, cfg.temporal_layers, cfg.temporal_heads,
                                                   cfg.temporal_ff, cfg.temporal_dropout, cfg.temporal_gate_scale)

    def construct(self, a_seg, v_seg, video_st):
        x1_0 = self.fc_a(a_seg)                                # [B, T, d]
        vid_s = self.temporal_attn(self.fc_v(v_seg), x1_0)[0]  # the gated audio output is discarded (official)
        x2_0 = self.fc_fusion(ops.concat((vid_s, self.fc_st(video_st)), axis=-1))
        x2, soft_v, hard_v = self.visual_cug(x2_0, self.visual_token)
        x1, soft_a, hard_a = self.audio_cug(x1_0, self.audio_token, x2_0)
        x = self.av_mcg(x1, x2)[0]
        attn_a = hard_a if self.use_hard_map else soft_a       # [B, K, T]
        attn_v = hard_v if self.use_hard_map else soft_v
        global_prob = ops.sigmoid(self.fc_prob(x)).squeeze(-1)
        a_prob = ops.sigmoid(self.fc_prob_a(x1))               # [B, K, 1]
        v_prob = ops.sigmoid(self.fc_prob_v(x2))
        a_frame = (a_prob * attn_a).swapaxes(1, 2)             # [B, T, K]
        v_frame = (v_prob * attn_v).swapaxes(1, 2)
        aud_cls = self.fc_cls(self.audio_token)                # [K, K]
        vis_cls = self.fc_cls(self.visual_token)
        return aud_cls, vis_cls, global_prob, a_prob.squeeze(-1), v_prob.squeeze(-1), a_frame, v_frame


def _bce(prob, target):
    return -(target * ops.log(prob) + (1 - target) * ops.log(1 - prob)).mean()


class AVVPLoss(nn.Cell):
    """The losses of the official DG-SCT/AVVP/main.py: probabilities clamped to [1e-7, 1 - 1e-7];
    L = BCE(global, y) + BCE(a_prob, y) + BCE(v_prob, 0.9 y + 0.05) + CE(aud_cls, arange) + CE(vis_cls, arange).

    construct(aud_cls, vis_cls, global_prob, a_prob, v_prob, a_frame, v_frame, label [B, K], *dense labels)
    -> (total, av, a, v, cls_a, cls_v). The frame outputs and dense labels (evaluation only) are not used.
    """

    def __init__(self, num_classes=25, visual_smoothing=0.9, eps=1e-7):
        super().__init__()
        self.visual_smoothing = visual_smoothing
        self.eps = eps
        self.cls_target = Tensor(np.arange(num_classes, dtype=np.int32))

    def construct(self, aud_cls, vis_cls, global_prob, a_prob, v_prob, a_frame, v_frame, label, *unused):
        label = label.astype(global_prob.dtype)
        lo, hi = self.eps, 1.0 - self.eps
        loss_av = _bce(ops.clamp(global_prob, lo, hi), label)
        loss_a = _bce(ops.clamp(a_prob, lo, hi), label)
        visual_target = self.visual_smoothing * label + (1 - self.visual_smoothing) * 0.5
        loss_v = _bce(ops.clamp(v_prob, lo, hi), visual_target)
        loss_cls_a = ops.cross_entropy(aud_cls, self.cls_target)
        loss_cls_v = ops.cross_entropy(vis_cls, self.cls_target)
        total = loss_av + loss_a + loss_v + loss_cls_a + loss_cls_v
        return total, loss_av, loss_a, loss_v, loss_cls_a, loss_cls_v


class AVVPModel(nn.Cell):
    """DG-SCT encoder (AVVP prompt variant) + MGN head.

    construct(frames [B, T, 3, H, W], wave [B, T, L], video_st [B, T, 512], mixup_lambda [B*T] or None)
    -> the seven MGNHead outputs. mixup_lambda reaches the HTS-AT front end (log-mel mixup, training only).
    """

    def __init__(self, encoder, head):
        super().__init__()
        self.encoder = encoder
        self.head = head

    def construct(self, frames, wave, video_st, mixup_lambda=None):
        b, t = frames.shape[0], frames.shape[1]
        v_seg, a_seg = self.encoder.pooled(frames.reshape((b * t,) + frames.shape[2:]), wave.reshape(b * t, -1),
                                           mixup_lambda)
        return self.head(a_seg.reshape(b, t, -1), v_seg.reshape(b, t, -1), video_st)


def build_avvp_model(encoder, head_cfg=None):
    """AVVPModel on a built AudioVisualEncoder; the head's input widths are taken from the backbones."""
    head_cfg = replace(head_cfg or MGNConfig(), audio_dim=encoder.htsat.stage_dims[-1],
                       video_dim=encoder.swin.stage_dims[-1])
    return AVVPModel(encoder, MGNHead(head_cfg))


def sample_mixup_lambda(num_samples, alpha=0.5, rng=None):
    """Log-mel mixup weights, one per backbone sample (B*T segments): lambda ~ Beta(alpha, alpha) (official 0.5).
    The HTS-AT front end mixes sample i with sample B'-1-i; labels are not mixed."""
    rng = rng if rng is not None else np.random
    return rng.beta(alpha, alpha, size=num_samples).astype(np.float32)
