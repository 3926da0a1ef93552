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
"""The DG-SCT cross-modal prompt module (`VisualAdapter` in the official
`DG-SCT/AVE/nets/net_trans.py`; paper Sec. 3): one class for both directions (audio->video and video->audio).

Token-major layout: the module's own stream X is [B', N, C], the guiding stream Y is [B', M, D].
Every task variant (the five official copies of `VisualAdapter` differ in alignment, token init, alpha/beta, LN
and gate order, BN and audio gate; the few/zero-shot copy in `few-shot/nets/net_trans.py` adds a temporal gate inside
the module) is a field of PromptConfig, never a copy of the class.
"""
import math
from dataclasses import dataclass

import numpy as np
from mindspore import nn, ops, Parameter, Tensor

from ..backbones.layers import (compiled_step, dense, layer_norm, layer_norm_fn, step_weights, tile_channels,
                               tile_tokens, token_sums)
from .resize import BicubicResize
from .sync_batch_norm import cross_rank_batch_norm
from .torch_init import batch_norm2d, torch_default_init


@dataclass
class PromptConfig:
    """Module options. Defaults = the official AVE train.sh values (flags of `DG-SCT/AVE/base_options.py`); other tasks
    override them in yaml. The official flags `--is_multimodal`, `--is_audio_adapter_p1/_p2` are 1 in every train.sh
    and the DG-SCT forward needs all three, so they are not options here."""
    reduction: int = 8                 # --Adapter_downsample: bottleneck d = C / r
    groups: int = 2                    # --num_conv_group: groups of the 1x1 down/up convs
    num_tokens: int = 32               # --num_tokens: latent tokens T
    tokens_init: str = "rand"          # my_tokens init: "rand" (U[0,1), AVE/AVVP) or "zeros" (AVS/AVQA)
    alpha: float = 0.3                 # channel-map weight (MS3: 0.2)
    beta: float = 0.05                 # spatial-map weight (MS3: 0.1)
    alignment: str = "conv"            # "conv": 1x1 token-mixing conv + fc; "resize": fc + bicubic grid resize (AVS-S4)
    ln_before: bool = True             # --is_before_layernorm (LayerNorm built)
    apply_ln_before: bool = True       # AVS builds ln_before but never applies it
    ln_post: bool = True               # --is_post_layernorm
    gate_before_ln_post: bool = False  # output order: AVS applies the gate before ln_post
    use_bn: bool = True                # --is_bn: BatchNorm after the down/up convs
    audio_gate: bool = True            # --is_gate: scalar gate on the video->audio modules (audio->video always gated)
    temporal_gate: bool = False        # few/zero-shot variant: per-segment gate G_t = sigmoid(w^T mean(Y') + b) in X2
    gamma: float = 0.05                # weight of G_t (--gamma; few-shot AVE 0.01, classification 0.05, zero-shot 0.05)

    def validate(self, where="prompt"):
        """Reject values the official forward cannot run with, naming the key."""
        if self.tokens_init not in ("rand", "zeros"):
            raise ValueError(f"{where}.tokens_init must be 'rand' or 'zeros', got {self.tokens_init!r}")
        if self.alignment not in ("conv", "resize"):
            raise ValueError(f"{where}.alignment must be 'conv' or 'resize', got {self.alignment!r}")
        for key in ("reduction", "groups", "num_tokens"):
            if getattr(self, key) < 1:
                raise ValueError(f"{where}.{key} must be >= 1, got {getattr(self, key)}")


def _square_side(n, what):
    side = int(round(math.sqrt(n)))
    if side * side != n:
        raise ValueError(f"alignment='resize' needs a square token grid, {what} has {n} tokens")
    return side


class CrossModalPrompt(nn.Cell):
    """Cross-modal prompt module (official class `VisualAdapter`, parameter names kept for weight conversion).

    Args:
        dim (int): C, channels of the module's own stream X.
        num_tokens (int): N, tokens of X.
        guide_dim (int): D, channels of the guiding stream Y.
        guide_tokens (int): M, tokens of Y.
        cfg (PromptConfig): task variant.
        use_gate (bool): build the scalar output gate (always for audio->video; `cfg.audio_gate` for video->audio).

    Inputs: x [B', N, C], y [B', M, D].
    Outputs: (out [B', N, C] to be added to the frozen stream, spatial map P [B', 1, N]).
    """

    def __init__(self, dim, num_tokens, guide_dim, guide_tokens, cfg, use_gate=True):
        super().__init__()
        cfg.validate()
        if dim % cfg.reduction or dim % cfg.groups or (dim // cfg.reduction) % cfg.groups:
            raise ValueError(f"dim {dim} must be divisible by reduction {cfg.reduction} and both dim and dim/r "
                             f"by groups {cfg.groups}")
        hidden = dim // 2
        down = dim // cfg.reduction
        self.alpha = cfg.alpha
        self.beta = cfg.beta
        self.resize_alignment = cfg.alignment == "resize"
        self.apply_ln_before = cfg.ln_before and cfg.apply_ln_before
        self.use_ln_post = cfg.ln_post
        self.gate_before_ln_post = cfg.gate_before_ln_post
        self.use_bn = cfg.use_bn
        self.use_gate = use_gate
        self.return_pool = True       # False: construct returns only the output (the encoder does not use every pool map)
        if self.resize_alignment:
            side_in = _square_side(guide_tokens, "the guide")
            side_out = _square_side(num_tokens, "the module's stream")
            self.guide_grid = (side_in, side_in)
            self.resize = BicubicResize(self.guide_grid, (side_out, side_out), align_corners=False)
        # (a) prompt alignment: 1x1 conv mixing the M guide tokens into N tokens, then fc D -> C
        self.conv_adapter = nn.Conv2d(guide_tokens, num_tokens, 1, has_bias=True, pad_mode="valid")
        self.fc = nn.Dense(guide_dim, dim)
        # both maps are linear, so they may run in either order; the token mixing (M x N per channel) is the costly
        # one, so it runs on the narrower side (after fc when D > C: the video->audio modules)
        self.fc_first = not self.resize_alignment and guide_dim > dim
        # (b) latent tokens and their cross-attention gate
        tokens = np.random.rand(cfg.num_tokens, dim) if cfg.tokens_init == "rand" else np.zeros((cfg.num_tokens, dim))
        self.my_tokens = Parameter(Tensor(tokens.astype(np.float32)), name="my_tokens")
        self.gate_av = Parameter(Tensor(np.zeros(1, np.float32)), name="gate_av")
        # (c) channel attention
        self.fc_affine_audio_1 = nn.Dense(dim, dim)
        self.fc_affine_video_1 = nn.Dense(dim, dim)
        self.fc_affine_bottleneck = nn.Dense(dim, hidden)
        self.fc_affine_v_c_att = nn.Dense(hidden, dim)
        # (d) spatial attention
        self.fc_affine_video_2 = nn.Dense(dim, hidden)
        self.fc_affine_audio_2 = nn.Dense(dim, hidden)
        self.fc_affine_v_s_att = nn.Dense(hidden, 1)
        # (f) grouped bottleneck. The cells keep the official grouped 1x1 conv weights [C_out, C_in/G, 1, 1] (checkpoint
        # layout), but are applied as one matmul on the token-major [B'*N, C] with the equivalent block-diagonal
        # [C_out, C_in] matrix: MindSpore's CPU grouped Conv2d is 10-100x slower than a matmul at these shapes.
        self.groups = cfg.groups
        self.down_sampler = nn.Conv2d(dim, down, 1, group=cfg.groups, has_bias=False, pad_mode="valid")
        self.up_sampler = nn.Conv2d(down, dim, 1, group=cfg.groups, has_bias=False, pad_mode="valid")
        self.group_mask = Tensor(np.eye(cfg.groups, dtype=np.float32).reshape(cfg.groups, 1, cfg.groups, 1))
        if self.use_bn:
            self.bn1 = batch_norm2d(down)
            self.bn2 = batch_norm2d(dim)
        # > 1 under data parallel: training BatchNorm statistics over the global batch (sync_batch_norm.py)
        self.batch_norm_workers = 1
        self.all_reduce = None
        if cfg.ln_before:
            self.ln_before = layer_norm(dim)
        if cfg.ln_post:
            self.ln_post = layer_norm(dim)
        if use_gate:
            self.gate = Parameter(Tensor(np.zeros(1, np.float32)), name="gate")
        # few/zero-shot: Linear(C, 1) + sigmoid on the pooled prompt (the official `temporal_gated` Sequential)
        self.gamma = cfg.gamma
        if cfg.temporal_gate:
            self.temporal_gated = nn.SequentialCell([nn.Dense(dim, 1), nn.Sigmoid()])
        torch_default_init(self)

    def align(self, y):
        """Guide tokens [B', M, D] -> prompt tokens [B', N, C]."""
        if self.resize_alignment:
            y = self.fc(y)                                             # [B', M, C]
            b, _, c = y.shape
            grid = y.transpose(0, 2, 1).reshape(b, c, self.guide_grid[0], self.guide_grid[1])
            grid = self.resize(grid)
            return grid.reshape(b, c, -1).transpose(0, 2, 1)
        return align_tokens(y, self.conv_adapter.weight, self.conv_adapter.bias, self.fc.weight, self.fc.bias,
                            self.fc_first)

    def block_diagonal(self, conv):
        """Grouped 1x1 conv weight [C_out, C_in/G, 1, 1] -> the dense block-diagonal [C_out, C_in] it multiplies by."""
        return block_diagonal_weight(conv.weight, self.group_mask, self.groups)

    def project(self, z, conv, bn):
        """Token rows z [B'*N, C_in] -> grouped 1x1 conv -> BatchNorm2d over the (B', N) positions (when built).
        Training: the BatchNorm cell (batch statistics, running-statistics update). Eval: ``project_eval``."""
        weight = self.block_diagonal(conv)
        if not self.use_bn:
            return _MATMUL_NT(z, weight)
        if self.training:
            z = _MATMUL_NT(z, weight)
            if self.batch_norm_workers > 1:
                return cross_rank_batch_norm(z, bn, self.all_reduce, self.batch_norm_workers)
            return bn(z.reshape(z.shape[0], z.shape[1], 1, 1)).reshape(z.shape)
        return project_eval(z, weight, bn.gamma, bn.beta, bn.moving_mean, bn.moving_variance, bn.eps)

    def bottleneck(self, x):
        """[B', N, C] -> [B', N, C] through the grouped 1x1 bottleneck (down, BN, ReLU, up, BN) on token rows."""
        b, n, c = x.shape
        z = self.project(x.reshape(b * n, c), self.down_sampler, self.bn1 if self.use_bn else None)
        z = self.project(ops.relu(z), self.up_sampler, self.bn2 if self.use_bn else None)
        return z.reshape(b, n, c)

    def _norm(self, name):
        norm = getattr(self, name, None)
        return (None, None) if norm is None else (norm.gamma, norm.beta)

    def _front_weights(self):
        """Weights of ``prompt_front`` after (x, y), as fresh tensors (layers.step_weights)."""
        return step_weights(self.conv_adapter.weight, self.conv_adapter.bias, self.fc.weight, self.fc.bias,
                            self.my_tokens, self.gate_av,
                            self.fc_affine_audio_1.weight, self.fc_affine_audio_1.bias,
                            self.fc_affine_video_1.weight, self.fc_affine_video_1.bias,
                            self.fc_affine_bottleneck.weight, self.fc_affine_bottleneck.bias,
                            self.fc_affine_v_c_att.weight, self.fc_affine_v_c_att.bias,
                            self.fc_affine_video_2.weight, self.fc_affine_video_2.bias,
                            self.fc_affine_audio_2.weight, self.fc_affine_audio_2.bias,
                            self.fc_affine_v_s_att.weight, self.fc_affine_v_s_att.bias, *self._norm("ln_before"),
                            *self._temporal_weights())

    def _temporal_weights(self):
        gated = getattr(self, "temporal_gated", None)
        return (None, None) if gated is None else (gated[0].weight, gated[0].bias)

    def _front_options(self):
        return (self.alpha, self.beta, self.gamma, self.resize_alignment, self.fc_first, self.apply_ln_before)

    def _output_weights(self):
        return step_weights(*self._norm("ln_post"), self.gate if self.use_gate else None)

    def construct(self, x, y):
        # The computation is written as module-level functions of the weights and compiled once per input shape
        # (layers.compiled_step): every module of the same shape shares the graph. Eval: the whole module is one
        # graph. Training: the front is one graph (recomputed in the backward, see compiled_step), then the
        # bottleneck's BatchNorm cells (batch statistics + running-statistics update) and the output run op by op.
        if self.resize_alignment:
            y = self.align(y)                      # bicubic grid resize (AVS-S4) outside the compiled graph
        front = (x, y) + self._front_weights()
        output = self._output_weights() + (self.use_ln_post, self.gate_before_ln_post)
        if self.training and self.use_bn:
            x2, pool_map = compiled_prompt_front(*front, *self._front_options())
            out = prompt_output(self.bottleneck(x2), *output)
            return (out, pool_map) if self.return_pool else out
        bn_weights = (None,) * 8
        if self.use_bn:
            bn_weights = step_weights(self.bn1.gamma, self.bn1.beta, self.bn1.moving_mean, self.bn1.moving_variance,
                                      self.bn2.gamma, self.bn2.beta, self.bn2.moving_mean, self.bn2.moving_variance)
        bottleneck = step_weights(self.down_sampler.weight, self.up_sampler.weight) + bn_weights + (self.group_mask,)
        options = self._front_options() + (self.groups, self.use_bn, self.bn1.eps if self.use_bn else 0.0)
        out, pool_map = compiled_prompt_eval(*front, *bottleneck, *output[:3], *options, *output[3:])
        return (out, pool_map) if self.return_pool else out


_MATMUL_NT = ops.MatMul(transpose_b=True)
_BMM_NT = ops.BatchMatMul(transpose_b=True)


def align_tokens(y, conv_w, conv_b, fc_w, fc_b, fc_first):
    """Prompt alignment (1x1 token-mixing conv over the M guide tokens, then fc D -> C): [B', M, D] -> [B', N, C].
    Both maps are linear, so they may run in either order; the token mixing (M x N per channel) is the costly one,
    so with fc_first (D > C, the video->audio modules) it runs after fc, on the narrower side:
    fc(conv(Y)) = K (Y W^T) + k (W 1)^T + b, K/k = conv weight/bias, W/b = fc weight/bias."""
    if not fc_first:
        y = ops.bias_add(ops.conv2d(y.expand_dims(-1), conv_w), conv_b).squeeze(-1)   # [B', N, D]
        return dense(y, fc_w, fc_b)
    b = y.shape[0]
    y = dense(y, fc_w)                                                                 # [B', M, C]
    y = ops.conv2d(y.expand_dims(-1), conv_w).squeeze(-1)                              # [B', N, C]
    n, c = y.shape[1], y.shape[2]
    bias = conv_b.reshape(n, 1) * fc_w.sum(axis=1).reshape(1, c) + fc_b
    return ops.bias_add(y.reshape(b, n * c), bias.reshape(n * c)).reshape(b, n, c)


def block_diagonal_weight(weight, group_mask, groups):
    """Grouped 1x1 conv weight [C_out, C_in/G, 1, 1] -> the dense block-diagonal [C_out, C_in] it multiplies by
    (group g maps its C_in/G input channels to its C_out/G output channels; the gradient reaches only the diagonal
    blocks). group_mask = eye(G) shaped [G, 1, G, 1]."""
    c_out, c_in_group = weight.shape[0], weight.shape[1]
    if groups == 1:
        return weight.reshape(c_out, c_in_group)
    blocks = weight.reshape(groups, c_out // groups, 1, c_in_group) * group_mask
    return blocks.reshape(c_out, groups * c_in_group)


def project_eval(z, weight, gamma, beta, moving_mean, moving_variance, eps):
    """Eval grouped 1x1 conv + BatchNorm on token rows: the running statistics are folded into the weight rows and a
    BiasAdd (a broadcast multiply on [B'*N, C] is slow on MindSpore's CPU)."""
    scale = gamma / ops.sqrt(moving_variance + eps)
    return ops.bias_add(_MATMUL_NT(z, weight * scale.reshape(-1, 1)), beta - moving_mean * scale)


def prompt_front(x, y, conv_w, conv_b, fc_w, fc_b, my_tokens, gate_av, audio_1_w, audio_1_b, video_1_w, video_1_b,
                 bottleneck_w, bottleneck_b, c_att_w, c_att_b, video_2_w, video_2_b, audio_2_w, audio_2_b, s_att_w,
                 s_att_b, ln_before_g, ln_before_b, temporal_w, temporal_b, alpha, beta, gamma, aligned, fc_first,
                 apply_ln_before):
    """Prompt alignment, latent-token cross-attention, channel and spatial maps, re-weighting and ln_before:
    (x [B', N, C], y [B', M, D] or the aligned [B', N, C]) -> (x2 [B', N, C] entering the bottleneck, P [B', 1, N]).
    temporal_w/_b (None = no temporal gate): the few/zero-shot gate G_t = sigmoid(w^T mean_n(Y') + b), one value per
    segment, added as gamma * G_t to the re-weighting."""
    # Broadcast elementwise products are several times slower than equal-shape ones on MindSpore's CPU kernels,
    # so the per-clip maps are tiled over the tokens/channels they scale; matmuls with a transposed operand use
    # BatchMatMul(transpose_b) instead of a transposed view.
    b, n, c = x.shape
    if not aligned:
        y = align_tokens(y, conv_w, conv_b, fc_w, fc_b, fc_first)                 # Y' [B', N, C]
    # (b) latent tokens attend the prompt, then X attends the tokens (no 1/sqrt(d) scaling, as the original)
    tokens = ops.tile(my_tokens.expand_dims(0), (b, 1, 1))
    attn_ty = ops.softmax(_BMM_NT(tokens, y), axis=-1)
    tokens = tokens + ops.matmul(attn_ty, y)
    attn_xt = ops.softmax(_BMM_NT(x, tokens), axis=-1)
    x1 = x + gate_av * ops.matmul(attn_xt, tokens)
    # (c) guide-conditioned channel attention; mean_n(q_a * Q_v) = q_a * mean_n(Q_v) as q_a is constant over n
    guide = token_sums(y) * (1.0 / n)                                              # [B', 1, C]
    query_a = ops.relu(dense(guide, audio_1_w, audio_1_b))
    query_v = ops.relu(dense(x1, video_1_w, video_1_b))
    pooled = query_a * (token_sums(query_v) * (1.0 / n))                           # [B', 1, C]
    channel_map = ops.sigmoid(dense(ops.relu(dense(pooled, bottleneck_w, bottleneck_b)), c_att_w, c_att_b))
    x_c = x1 * tile_tokens(channel_map + 1, n)
    # (d) spatial attention
    query_s = ops.relu(dense(x_c, video_2_w, video_2_b))                           # [B', N, h]
    guide_s = ops.relu(dense(guide, audio_2_w, audio_2_b))                         # [B', 1, h]
    logits = dense(query_s * tile_tokens(guide_s, n), s_att_w, s_att_b)            # [B', N, 1]
    spatial_map = ops.sigmoid(logits)
    pool_map = ops.softmax(ops.tanh(logits).transpose(0, 2, 1), axis=-1)           # [B', 1, N]
    # (e) dual-guided re-weighting of X1 (not of x_c)
    weight = tile_tokens(alpha * channel_map + (1 - alpha), n) + tile_channels(beta * spatial_map, c)
    if temporal_w is not None:
        # official: computed on the guide vectors viewed as [B, 10, C]; the linear map acts per segment, so it is the
        # same per backbone sample (and needs no fixed segment count)
        temporal_map = ops.sigmoid(dense(guide, temporal_w, temporal_b))             # [B', 1, 1]
        weight = weight + ops.tile(gamma * temporal_map, (1, n, c))
    x2 = x1 * weight
    if apply_ln_before:
        x2 = layer_norm_fn(x2, ln_before_g, ln_before_b)
    return x2, pool_map


def prompt_output(out, ln_post_g, ln_post_b, gate, use_ln_post, gate_before_ln_post):
    """ln_post and the scalar output gate (absent gate: None), in the task's order."""
    if gate_before_ln_post and gate is not None:
        out = gate * out
    if use_ln_post:
        out = layer_norm_fn(out, ln_post_g, ln_post_b)
    if not gate_before_ln_post and gate is not None:
        out = gate * out
    return out


def prompt_eval(x, y, conv_w, conv_b, fc_w, fc_b, my_tokens, gate_av, audio_1_w, audio_1_b, video_1_w, video_1_b,
                bottleneck_w, bottleneck_b, c_att_w, c_att_b, video_2_w, video_2_b, audio_2_w, audio_2_b, s_att_w,
                s_att_b, ln_before_g, ln_before_b, temporal_w, temporal_b, down_w, up_w, bn1_g, bn1_b, bn1_mean, bn1_var,
                bn2_g, bn2_b, bn2_mean, bn2_var, group_mask, ln_post_g, ln_post_b, gate, alpha, beta, gamma, aligned,
                fc_first, apply_ln_before, groups, use_bn, eps, use_ln_post, gate_before_ln_post):
    """The whole module in eval mode (or without BatchNorm): prompt_front, the grouped bottleneck with folded
    BatchNorm, prompt_output. Returns (out [B', N, C], P [B', 1, N]). (A compiled function takes no tuple of
    tensors that need gradients, hence the flat argument list.)"""
    x2, pool_map = prompt_front(x, y, conv_w, conv_b, fc_w, fc_b, my_tokens, gate_av, audio_1_w, audio_1_b, video_1_w,
                                video_1_b, bottleneck_w, bottleneck_b, c_att_w, c_att_b, video_2_w, video_2_b,
                                audio_2_w, audio_2_b, s_att_w, s_att_b, ln_before_g, ln_before_b, temporal_w,
                                temporal_b, alpha, beta, gamma, aligned, fc_first, apply_ln_before)
    b, n, c = x2.shape
    down = block_diagonal_weight(down_w, group_mask, groups)
    up = block_diagonal_weight(up_w, group_mask, groups)
    z = x2.reshape(b * n, c)
    if use_bn:
        z = project_eval(ops.relu(project_eval(z, down, bn1_g, bn1_b, bn1_mean, bn1_var, eps)), up,
                         bn2_g, bn2_b, bn2_mean, bn2_var, eps)
    else:
        z = _MATMUL_NT(ops.relu(_MATMUL_NT(z, down)), up)
    return prompt_output(z.reshape(b, n, c), ln_post_g, ln_post_b, gate, use_ln_post, gate_before_ln_post), pool_map


# one compiled graph per distinct module shape and variant, shared by all modules (see layers.compiled_step)
compiled_prompt_eval = compiled_step(prompt_eval)
compiled_prompt_front = compiled_step(prompt_front)
