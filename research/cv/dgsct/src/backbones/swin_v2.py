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
"""Swin Transformer V2 with block-level access, numerically equal to timm 0.6.x ``swin_transformer_v2.py``.

DG-SCT (`MMIL_Net.forward` in the official `DG-SCT/AVE/nets/net_trans.py`) runs the frozen Swin-V2-L step by step and
inserts its cross-modal modules between the steps, so besides the usual forward this model exposes every step (the
`SteppableBackbone` protocol of src/backbones/block_api.py)::

    x = swin.embed(images)                           # [B, 3, H, W] -> [B, N1, C1]
    for stage in swin.stages:
        for blk in stage.blocks:
            x = x + blk.attn_residual(x)             # drop_path1(norm1(shifted-window cosine attention(x)))
            x = x + blk.mlp_residual(x)              # drop_path2(norm2(mlp(x)))
        stage_map = x                                # before patch merging
        if stage.downsample is not None:
            x = stage.downsample(x)                  # gather 2x2 -> Linear(4C -> 2C, no bias) -> LayerNorm(2C)
    x = swin.norm(x)

Numerics (timm 0.6.13): cosine attention with the logit scale clamped at ln(100); continuous relative position bias
from an MLP (2 -> 512 -> heads) on log-spaced offsets, 16 * sigmoid; qkv without bias plus concat(q_bias, 0, v_bias);
res-post-norm blocks; shifted windows only where the grid is larger than the window; LayerNorm eps 1e-5; exact GELU;
stochastic depth linear over all blocks. Parameter names follow timm with ``layers`` renamed ``stages``
(``stages.0.blocks.1.attn.qkv.weight``) and LayerNorm ``gamma``/``beta``. Index tables, coordinate tables and shift
masks are constant Tensors rebuilt at construction, never Parameters, so they are not part of any checkpoint.
"""
import math
from dataclasses import dataclass, field, replace
from typing import Optional, Tuple

import numpy as np

import mindspore as ms
from mindspore import Parameter, nn, ops

from .layers import (Dropout, DropPath, Mlp, PatchEmbed, as_constant, check_merge_resolution, compiled_step, dense,
                     effective_window, gather_tokens, head_orders, layer_norm, layer_norm_fn, merge_heads,
                     patch_merge_gather, relative_position_index, row_sums, shift_attn_mask, softmax_attention,
                     split_heads, step_weights, to_pair, tokens_from_windows, trunc_normal, window_token_orders,
                     windows_from_tokens)

# mindcv 0.3.0's SwinTransformerV2 is not reused: it splits qkv into q/k/v Dense layers (not timm's qkv + q_bias/v_bias
# layout), hard-codes LayerNorm eps 1e-6, and only offers whole-block calls (no attention/MLP residual steps).

MAX_LOGIT_SCALE = math.log(1.0 / 0.01)   # cosine-attention temperature clamp: exp(scale) <= 100
CPB_HIDDEN = 512                          # hidden width of the continuous position bias MLP
L2_EPS = 1e-12                            # torch.nn.functional.normalize default


@dataclass
class SwinV2Config:
    """Swin-V2 hyper-parameters (timm names). ``num_classes=0`` builds the backbone without a head."""
    img_size: int = 192
    patch_size: int = 4
    in_chans: int = 3
    embed_dim: int = 192
    depths: Tuple[int, ...] = (2, 2, 18, 2)
    num_heads: Tuple[int, ...] = (6, 12, 24, 48)
    window_size: int = 12
    mlp_ratio: float = 4.0
    qkv_bias: bool = True
    drop_rate: float = 0.0
    attn_drop_rate: float = 0.0
    drop_path_rate: float = 0.1
    num_classes: int = 0
    pretrained_window_sizes: Tuple[int, ...] = field(default=(0, 0, 0, 0))

    @classmethod
    def large_192(cls, **overrides):
        """timm ``swinv2_large_window12_192_22k`` (DG-SCT visual backbone). Its 22k head has 21841 classes; pass
        ``num_classes=21841`` to build it (DG-SCT never uses it)."""
        return replace(cls(), **overrides)

    @classmethod
    def tiny(cls, **overrides):
        """Small layout with the same structure as large_192 (shifted windows in stages 1-2, stage 3 grid == window,
        stage 4 grid < window), for tests and demos: 64 px, embed 24, depths 2-2-2-2, window 4."""
        base = cls(img_size=64, patch_size=4, embed_dim=24, depths=(2, 2, 2, 2), num_heads=(1, 2, 4, 8),
                   window_size=4, drop_path_rate=0.1)
        return replace(base, **overrides)

    @property
    def num_stages(self):
        return len(self.depths)

    def stage_dims(self):
        return [self.embed_dim * 2 ** i for i in range(self.num_stages)]

    def stage_resolutions(self):
        grid = self.img_size // self.patch_size
        return [(grid // 2 ** i, grid // 2 ** i) for i in range(self.num_stages)]

    def validate(self):
        if len(self.num_heads) != self.num_stages or len(self.pretrained_window_sizes) != self.num_stages:
            raise ValueError(f"depths {self.depths}, num_heads {self.num_heads} and pretrained_window_sizes "
                             f"{self.pretrained_window_sizes} must have the same length")
        if self.img_size % (self.patch_size * 2 ** (self.num_stages - 1)):
            raise ValueError(f"img_size {self.img_size} must be divisible by patch_size * 2^(stages-1)")
        for dim, heads in zip(self.stage_dims(), self.num_heads):
            if dim % heads:
                raise ValueError(f"stage dim {dim} is not divisible by {heads} heads")


def log_spaced_coords_table(window: Tuple[int, int], pretrained_window: Tuple[int, int]) -> np.ndarray:
    """[1, 2wh-1, 2ww-1, 2] relative offsets scaled to [-8, 8] and log-spaced: sign(t) * log2(1 + |t|) / 3."""
    wh, ww = window
    if min(wh, ww) < 2:
        raise ValueError(f"Swin-V2 log-spaced coordinates need a window of at least 2x2, got {wh}x{ww}")
    dh = np.arange(-(wh - 1), wh, dtype=np.float32)
    dw = np.arange(-(ww - 1), ww, dtype=np.float32)
    table = np.stack(np.meshgrid(dh, dw, indexing="ij"), axis=-1)[None]
    norm_h, norm_w = (pretrained_window if pretrained_window[0] > 0 else window)
    table[..., 0] /= norm_h - 1
    table[..., 1] /= norm_w - 1
    table *= 8.0
    table = np.sign(table) * np.log2(np.abs(table) + 1.0) / np.log2(8.0)
    return table.astype(np.float32)


class WindowAttentionV2(nn.Cell):
    """Cosine multi-head attention inside windows with a continuous (MLP) relative position bias.

    Input [B * nW, N, C] window tokens; the shifted-window mask (if any) is a constant [nW, N, N] owned by this cell.
    """

    def __init__(self, dim: int, window: Tuple[int, int], num_heads: int, qkv_bias: bool = True,
                 attn_drop: float = 0.0, proj_drop: float = 0.0, pretrained_window: Tuple[int, int] = (0, 0),
                 attn_mask: Optional[np.ndarray] = None):
        super().__init__()
        self.dim = dim
        self.window = window
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.num_tokens = window[0] * window[1]

        self.logit_scale = Parameter(ms.Tensor(np.full((num_heads, 1, 1), math.log(10.0), np.float32)))
        self.cpb_mlp = nn.SequentialCell([nn.Dense(2, CPB_HIDDEN), nn.ReLU(),
                                          nn.Dense(CPB_HIDDEN, num_heads, has_bias=False)])
        self.coords_table = as_constant(log_spaced_coords_table(window, to_pair(pretrained_window)))
        self.position_index = as_constant(relative_position_index(window).reshape(-1))

        self.qkv = nn.Dense(dim, dim * 3, has_bias=False)
        self.qkv_bias = qkv_bias
        if qkv_bias:
            # key bias is fixed to zero: bias vector = concat(q_bias, 0, v_bias)
            self.q_bias = Parameter(ms.Tensor(np.zeros(dim, np.float32)))
            self.v_bias = Parameter(ms.Tensor(np.zeros(dim, np.float32)))
            self.k_bias = as_constant(np.zeros(dim, np.float32))
        self.attn_drop = Dropout(p=attn_drop) if attn_drop > 0 else None
        self.proj = nn.Dense(dim, dim)
        self.proj_drop = Dropout(p=proj_drop) if proj_drop > 0 else None
        self.compilable = attn_drop == 0 and proj_drop == 0     # no random op: the block step can be compiled

        self.has_mask = attn_mask is not None
        if self.has_mask:
            self.num_windows = attn_mask.shape[0]
            self.attn_mask = as_constant(attn_mask[:, None])               # [nW, 1, N, N]
        self.head_orders = head_orders(self.num_tokens, num_heads)

    def weights(self):
        """The tensors ``cosine_window_attention`` takes after x (weights via ``step_weights``, then constants)."""
        qkv_bias = ops.concat((self.q_bias, self.k_bias, self.v_bias)) if self.qkv_bias else None
        return step_weights(self.qkv.weight, qkv_bias, self.logit_scale, self.cpb_mlp[0].weight,
                            self.cpb_mlp[0].bias, self.cpb_mlp[2].weight, self.proj.weight, self.proj.bias) + (
                                self.coords_table, self.position_index, self.attn_mask if self.has_mask else None,
                                *self.head_orders)

    def construct(self, x):
        return cosine_window_attention(x, *self.weights(), self.num_heads, self.attn_drop, self.proj_drop)


def _swin_v2_position_bias(cpb_w1, cpb_b1, cpb_w2, coords_table, position_index, num_heads, num_tokens):
    """[1, heads, N, N] = 16 * sigmoid(cpb_mlp(coords)[relative index])."""
    table = dense(ops.relu(dense(coords_table, cpb_w1, cpb_b1)), cpb_w2).reshape(-1, num_heads)
    bias = ops.gather(table, position_index, 0)
    bias = bias.reshape(num_tokens, num_tokens, num_heads).transpose(2, 0, 1)
    return (16.0 * ops.sigmoid(bias)).expand_dims(0)


def cosine_window_attention(x, qkv_w, qkv_bias, logit_scale, cpb_w1, cpb_b1, cpb_w2, proj_w, proj_b, coords_table,
                            position_index, attn_mask, split_order, split_inverse, merge_order, merge_inverse,
                            num_heads, attn_drop=None, proj_drop=None):
    """Swin-V2 window attention on window tokens x [B * nW, N, C]; attn_mask [nW, 1, N, N] or None. The dropout
    cells are only passed by a WindowAttentionV2 with non-zero dropout (never inside a compiled step)."""
    # MindSpore's CPU elementwise kernels are several times slower on broadcast operands than on equal shapes,
    # and matmul(q, k.swapaxes) is ~10x slower than BatchMatMul(transpose_b): the small operands are tiled to the
    # full shape (per-head temperature, position bias + shift mask) and the bias goes through BiasAdd.
    b, n, _ = x.shape
    q, k, v = split_heads(dense(x, qkv_w, qkv_bias), split_order, split_inverse, num_heads)

    # cosine attention: the clamped temperature multiplies the normalised queries (same product as scaling
    # the [B, heads, N, N] logits, on a tensor N / head_dim times smaller); it is folded into the queries' row
    # factor 1 / ||q||
    scale = ops.exp(ops.minimum(logit_scale, MAX_LOGIT_SCALE)).reshape(1, num_heads, 1, 1)
    q, k = l2_normalize_rows(q, scale), l2_normalize_rows(k)
    bias = _swin_v2_position_bias(cpb_w1, cpb_b1, cpb_w2, coords_table, position_index, num_heads, n)
    if attn_mask is not None:
        bias = bias + attn_mask                                              # [nW, heads, N, N]
    bias = ops.tile(bias, (b // bias.shape[0], 1, 1, 1))
    if attn_drop is None:
        x = softmax_attention(q, k, v, bias)
    else:
        x = ops.matmul(attn_drop(ops.softmax(_QK_MATMUL(q, k) + bias, axis=-1)), v)
    x = dense(merge_heads(x, merge_order, merge_inverse), proj_w, proj_b)
    return x if proj_drop is None else proj_drop(x)


def l2_normalize_rows(x, scale=None):
    """x / max(||x||, 1e-12) over the last axis (torch F.normalize), times `scale` (broadcast to the row factor) if
    given. Written as a row factor rsqrt(max(sum x^2, 1e-24)) instead of ops.L2Normalize: MindSpore's CPU
    L2NormalizeGrad kernel took 4.9 s for the stage-1 queries of one clip, about 70x this formula's forward + backward
    (it made the Swin-V2 block backward 4.5x slower than timm's)."""
    factor = ops.rsqrt(ops.maximum(row_sums(x * x), L2_EPS ** 2))
    if scale is not None:
        factor = factor * scale
    return x * factor


def swin_v2_attn_branch(x, norm_g, norm_b, qkv_w, qkv_bias, logit_scale, cpb_w1, cpb_b1, cpb_w2, proj_w, proj_b,
                        coords_table, position_index, attn_mask, split_order, split_inverse, merge_order, merge_inverse,
                        window_order, token_order, window, num_heads):
    """Un-dropped attention residual branch of a Swin-V2 block: norm1(shifted-window attention(x)), x [B, H*W, C];
    split/merge orders: ``layers.head_orders``; window_order / token_order: ``layers.window_token_orders`` (None:
    one unshifted window)."""
    b, length, c = x.shape
    windows = gather_tokens(x, window_order, token_order).reshape(-1, window[0] * window[1], c)
    windows = cosine_window_attention(windows, qkv_w, qkv_bias, logit_scale, cpb_w1, cpb_b1, cpb_w2, proj_w, proj_b,
                                      coords_table, position_index, attn_mask, split_order, split_inverse, merge_order,
                                      merge_inverse, num_heads)
    return layer_norm_fn(gather_tokens(windows.reshape(b, length, c), token_order, window_order), norm_g, norm_b)


# one compiled graph per distinct block shape, shared by all blocks (see layers.compiled_step)
compiled_swin_v2_attn_branch = compiled_step(swin_v2_attn_branch)
_QK_MATMUL = ops.BatchMatMul(transpose_b=True)


class SwinV2Block(nn.Cell):
    """Res-post-norm Swin-V2 block: x + DP(LN1(W-MSA(x))), then x + DP(LN2(MLP(x))). Tokens [B, H*W, C]."""

    def __init__(self, dim: int, resolution: Tuple[int, int], num_heads: int, window_size: int, shift_size: int,
                 mlp_ratio: float = 4.0, qkv_bias: bool = True, drop: float = 0.0, attn_drop: float = 0.0,
                 drop_path: float = 0.0, pretrained_window_size: int = 0):
        super().__init__()
        self.dim = dim
        self.resolution = to_pair(resolution)
        self.window, self.shift = effective_window(self.resolution, window_size, shift_size)
        mask = shift_attn_mask(self.resolution, self.window, self.shift) if any(self.shift) else None
        self.window_order, self.token_order = window_token_orders(self.resolution, self.window, self.shift)
        self.attn = WindowAttentionV2(dim, self.window, num_heads, qkv_bias=qkv_bias, attn_drop=attn_drop,
                                      proj_drop=drop, pretrained_window=to_pair(pretrained_window_size),
                                      attn_mask=mask)
        self.norm1 = layer_norm(dim)
        self.drop_path1 = DropPath(drop_path)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop=drop)
        self.norm2 = layer_norm(dim)
        self.drop_path2 = DropPath(drop_path)

    def window_attn(self, x):
        """Shifted-window attention over the token grid (timm ``_attn``): [B, H*W, C] -> [B, H*W, C]."""
        windows = windows_from_tokens(x, self.resolution, self.window, self.shift)
        return tokens_from_windows(self.attn(windows), self.resolution, self.window, self.shift)

    def attn_residual(self, x):
        """Attention branch to add to x: drop_path1(norm1(window_attn(x))); everything but the drop path is one
        compiled graph per block shape (drop path draws random numbers, so it stays outside)."""
        if not self.attn.compilable:
            return self.drop_path1(self.norm1(self.window_attn(x)))
        branch = compiled_swin_v2_attn_branch(x, *step_weights(self.norm1.gamma, self.norm1.beta), *self.attn.weights(),
                                              self.window_order, self.token_order, self.window, self.attn.num_heads)
        return self.drop_path1(branch)

    def mlp_residual(self, x):
        """MLP branch to add to x: drop_path2(norm2(mlp(x))) (compiled per shape, as attn_residual)."""
        return self.drop_path2(self.mlp.branch(x, self.norm2, post_norm=True))

    def construct(self, x):
        x = x + self.attn_residual(x)
        return x + self.mlp_residual(x)


class PatchMergingV2(nn.Cell):
    """[B, H*W, C] -> gather 2x2 -> Linear(4C -> out, no bias) -> LayerNorm(out) (reduction BEFORE norm in V2)."""

    def __init__(self, resolution: Tuple[int, int], dim: int, out_dim: int):
        super().__init__()
        self.resolution = check_merge_resolution(resolution)
        self.reduction = nn.Dense(4 * dim, out_dim, has_bias=False)
        self.norm = layer_norm(out_dim)

    def construct(self, x):
        return self.norm(self.reduction(patch_merge_gather(x, self.resolution)))


class SwinV2Stage(nn.Cell):
    """Blocks (shift on odd blocks) followed by optional patch merging, as timm 0.6 ``BasicLayer``."""

    def __init__(self, dim: int, out_dim: Optional[int], resolution: Tuple[int, int], depth: int, num_heads: int,
                 window_size: int, mlp_ratio: float, qkv_bias: bool, drop: float, attn_drop: float,
                 drop_paths, pretrained_window_size: int):
        super().__init__()
        self.dim = dim
        self.resolution = to_pair(resolution)
        self.blocks = nn.CellList([
            SwinV2Block(dim, resolution, num_heads, window_size, 0 if i % 2 == 0 else window_size // 2,
                        mlp_ratio=mlp_ratio, qkv_bias=qkv_bias, drop=drop, attn_drop=attn_drop,
                        drop_path=drop_paths[i], pretrained_window_size=pretrained_window_size)
            for i in range(depth)])
        self.downsample = PatchMergingV2(resolution, dim, out_dim) if out_dim is not None else None

    def construct(self, x):
        for blk in self.blocks:
            x = blk(x)
        if self.downsample is not None:
            x = self.downsample(x)
        return x


class SwinV2(nn.Cell):
    """Swin Transformer V2 backbone (+ optional linear head on mean-pooled tokens).

    ``construct(images)`` returns the head logits, or the pooled [B, C] features when built without a head.
    """

    def __init__(self, cfg: SwinV2Config):
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        self.depths = list(cfg.depths)
        self.stage_dims = cfg.stage_dims()
        self.stage_resolutions = cfg.stage_resolutions()
        self.num_features = self.stage_dims[-1]

        self.patch_embed = PatchEmbed(cfg.in_chans, cfg.embed_dim, cfg.patch_size, norm=True)
        self.pos_drop = Dropout(p=cfg.drop_rate) if cfg.drop_rate > 0 else nn.Identity()
        drop_paths = np.linspace(0.0, cfg.drop_path_rate, sum(cfg.depths)).tolist()   # linear over all blocks
        stages = []
        for i, depth in enumerate(cfg.depths):
            first = sum(cfg.depths[:i])
            last_stage = i == cfg.num_stages - 1
            stages.append(SwinV2Stage(
                self.stage_dims[i], None if last_stage else self.stage_dims[i] * 2, self.stage_resolutions[i],
                depth, cfg.num_heads[i], cfg.window_size, cfg.mlp_ratio, cfg.qkv_bias, cfg.drop_rate,
                cfg.attn_drop_rate, drop_paths[first:first + depth], cfg.pretrained_window_sizes[i]))
        self.stages = nn.CellList(stages)
        self.norm = layer_norm(self.num_features)
        self.head = nn.Dense(self.num_features, cfg.num_classes) if cfg.num_classes > 0 else None
        self._init_weights()

    def _init_weights(self):
        """timm init: Linear trunc-normal(std 0.02) / zero bias, LayerNorm (1, 0), res-post-norm weights 0 (a fresh
        block is an identity); pretrained weights are loaded over this. numpy RNG: MindSpore's TruncatedNormal
        initializer takes minutes for Swin-V2-L."""
        rng = np.random.default_rng(np.random.randint(2 ** 31))
        for _, cell in self.cells_and_names():
            if isinstance(cell, nn.Dense):
                cell.weight.set_data(ms.Tensor(trunc_normal(rng, cell.weight.shape, std=0.02)))
                if cell.bias is not None:
                    cell.bias.set_data(ms.Tensor(np.zeros(cell.bias.shape, np.float32)))
        for stage in self.stages:
            for blk in stage.blocks:
                for norm in (blk.norm1, blk.norm2):
                    norm.gamma.set_data(ms.Tensor(np.zeros(norm.gamma.shape, np.float32)))

    def embed(self, images):
        """[B, C_in, H, W] -> patch tokens [B, (H/p)*(W/p), embed_dim] (no absolute position embedding in V2)."""
        return self.pos_drop(self.patch_embed(images))

    def forward_features(self, images):
        """Returns (list of per-stage token maps before patch merging, final LayerNorm-ed tokens)."""
        x = self.embed(images)
        stage_maps = []
        for stage in self.stages:
            for blk in stage.blocks:
                x = blk(x)
            stage_maps.append(x)
            if stage.downsample is not None:
                x = stage.downsample(x)
        return stage_maps, self.norm(x)

    def construct(self, images):
        _, tokens = self.forward_features(images)
        pooled = tokens.mean(axis=1)
        if self.head is not None:
            return self.head(pooled)
        return pooled
