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
"""HTS-AT (Chen et al., ICASSP 2022) as used by DG-SCT: audio front end + Swin-V1 pre-norm transformer.

Layout and numerics follow `HTSAT_Swin_Transformer` of the official repository (`DG-SCT/AVE/nets/htsat.py`, configured
by `nets/esc_config.py`): patch embed Conv2d(1->96, k4, s4) + LayerNorm, 4 stages
(96/192/384/768, depths 2-2-6-2, heads 4-8-16-32), window 8, shift 4 on odd blocks while the grid is larger
than the window, learned relative-position-bias table, scaled dot-product attention, patch merging
(gather -> LayerNorm(4C) -> Linear(4C->2C, no bias)), drop path 0.1 linear over all blocks.

Block-level access for DG-SCT (the `SteppableBackbone` protocol of src/backbones/block_api.py): `frontend`, `embed`,
`stages[s].blocks[i]` (with `attn_residual` / `mlp_residual`), `stages[s].downsample`, `norm`, `forward_features`.
Parameter names mirror the PyTorch ones except `layers` -> `stages` and the front-end tables (see
src/convert/htsat_table.py). `tscam_conv` and `head` exist so a full AudioSet checkpoint maps 100%;
DG-SCT uses the stage-4 tokens and never calls them.
"""
from dataclasses import dataclass, field
from typing import Tuple

import numpy as np

from mindspore import nn, ops, Parameter, Tensor

from .audio_frontend import AudioFrontend
from .layers import (DropPath, Mlp, PatchEmbed, as_constant, check_merge_resolution, compiled_step, dense,
                     effective_window, gather_tokens, head_orders, layer_norm, layer_norm_fn, merge_heads,
                     patch_merge_gather, relative_position_index, shift_attn_mask, softmax_attention, split_heads,
                     step_weights, tokens_from_windows, trunc_normal, window_token_orders, windows_from_tokens)


@dataclass
class HTSATConfig:
    """HTS-AT hyper-parameters. `clip_samples` fixes the waveform length the front end is built for."""
    sample_rate: int = 32000
    clip_samples: int = 320000          # 10 s (AVS uses 5 s: 160000)
    n_fft: int = 1024                   # also the STFT window length
    hop_size: int = 320
    mel_bins: int = 64
    fmin: float = 50.0
    fmax: float = 14000.0
    spec_size: int = 256
    freq_ratio: int = 4                 # time chunks stacked along frequency
    patch_size: int = 4
    in_chans: int = 1
    embed_dim: int = 96
    depths: Tuple[int, ...] = (2, 2, 6, 2)
    num_heads: Tuple[int, ...] = (4, 8, 16, 32)
    window_size: int = 8
    mlp_ratio: float = 4.0
    drop_path_rate: float = 0.1
    num_classes: int = 527
    spec_augment: dict = field(default_factory=lambda: dict(time_drop_width=64, time_stripes=2,
                                                            freq_drop_width=8, freq_stripes=2))

    @classmethod
    def audioset(cls, **overrides):
        """The configuration of HTSAT_AudioSet_Saved_1.ckpt (`--backbone_type audioset` of every official train.sh)."""
        return cls(**overrides)

    @classmethod
    def tiny(cls, **overrides):
        """Small config for tests: 8 kHz, 2-s clip (251 frames -> resized to 512), 32 mel bins, 128x128 image
        (32 mel x 4 chunks; the fold needs mel_bins == spec_size // freq_ratio), embed 16, 2-2-2-2 blocks,
        grids 32/16/8/4 with window 4: shifted in stages 1-3, one unshifted window in stage 4 (as the
        AudioSet model: 64/32/16 shifted, 8 not); the TSCAM kernel keeps height 1."""
        params = dict(sample_rate=8000, clip_samples=16000, n_fft=256, hop_size=64, mel_bins=32,
                      fmin=50.0, fmax=4000.0, spec_size=128, embed_dim=16, depths=(2, 2, 2, 2),
                      num_heads=(1, 2, 4, 8), window_size=4, num_classes=10,
                      spec_augment=dict(time_drop_width=16, time_stripes=2, freq_drop_width=4, freq_stripes=2))
        params.update(overrides)
        return cls(**params)


class WindowAttention(nn.Cell):
    """Multi-head self-attention inside windows with a learned relative-position bias (Swin-V1)."""

    def __init__(self, dim, window, num_heads):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} is not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.tokens = window[0] * window[1]
        self.qkv = nn.Dense(dim, 3 * dim)
        self.proj = nn.Dense(dim, dim)
        table_size = (2 * window[0] - 1) * (2 * window[1] - 1)
        self.relative_position_bias_table = Parameter(Tensor(np.zeros((table_size, num_heads), np.float32)),
                                                      name="relative_position_bias_table")   # set by HTSAT init
        self.relative_position_index = as_constant(relative_position_index(window).reshape(-1))
        self.head_orders = head_orders(self.tokens, num_heads)

    def weights(self):
        """The tensors ``scaled_window_attention`` takes after x (weights via ``step_weights``, then constants)."""
        return step_weights(self.qkv.weight, self.qkv.bias, self.proj.weight, self.proj.bias,
                            self.relative_position_bias_table) + (self.relative_position_index, *self.head_orders)

    def construct(self, x, mask=None):
        """x [B*nW, N, C]; mask [nW, N, N] additive (0 / -100) or None."""
        return scaled_window_attention(x, *self.weights(), mask, self.num_heads)


def scaled_window_attention(x, qkv_w, qkv_b, proj_w, proj_b, bias_table, position_index, split_order,
                            split_inverse, merge_order, merge_inverse, mask, num_heads):
    """Swin-V1 window attention on window tokens x [B*nW, N, C] with a learned relative-position bias; mask
    [nW, N, N] additive (0 / -100) or None."""
    # MindSpore's CPU elementwise kernels are several times slower on strided or broadcast operands: the scale
    # multiplies the contiguous queries (a scalar), and position bias + mask are tiled to the logits' shape.
    batch_windows, n, c = x.shape
    head_dim = c // num_heads
    q, k, v = split_heads(dense(x, qkv_w, qkv_b), split_order, split_inverse, num_heads)
    bias = ops.gather(bias_table, position_index, 0).reshape(n, n, num_heads).transpose(2, 0, 1).expand_dims(0)
    if mask is not None:
        bias = bias + mask.expand_dims(1)                                # [nW, heads, N, N]
    x = softmax_attention(q * head_dim ** -0.5, k, v, ops.tile(bias, (batch_windows // bias.shape[0], 1, 1, 1)))
    return dense(merge_heads(x, merge_order, merge_inverse), proj_w, proj_b)


def htsat_attn_branch(x, norm_g, norm_b, qkv_w, qkv_b, proj_w, proj_b, bias_table, position_index, split_order,
                      split_inverse, merge_order, merge_inverse, mask, window_order, token_order, window, num_heads):
    """Un-dropped attention residual branch of an HTS-AT (Swin-V1) block: window_attn(norm1(x)), x [B, H*W, C];
    split/merge orders: ``layers.head_orders``; window_order / token_order: ``layers.window_token_orders`` (None:
    one unshifted window)."""
    b, length, c = x.shape
    windows = gather_tokens(layer_norm_fn(x, norm_g, norm_b), window_order, token_order)
    windows = scaled_window_attention(windows.reshape(-1, window[0] * window[1], c), qkv_w, qkv_b, proj_w, proj_b,
                                      bias_table, position_index, split_order, split_inverse, merge_order,
                                      merge_inverse, mask, num_heads)
    return gather_tokens(windows.reshape(b, length, c), token_order, window_order)


# one compiled graph per distinct block shape, shared by all blocks (see layers.compiled_step)
compiled_htsat_attn_branch = compiled_step(htsat_attn_branch)


class HTSATBlock(nn.Cell):
    """Swin-V1 pre-norm block: x + DP(WAttn(LN1(x))), then + DP(MLP(LN2(x)))."""

    def __init__(self, dim, resolution, num_heads, window_size, shift_size, mlp_ratio, drop_path):
        super().__init__()
        self.resolution = tuple(resolution)
        self.window, self.shift = effective_window(resolution, window_size, shift_size)
        self.shifted = any(s > 0 for s in self.shift)
        self.norm1 = layer_norm(dim)
        self.attn = WindowAttention(dim, self.window, num_heads)
        self.drop_path = DropPath(drop_path)
        self.norm2 = layer_norm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        # rebuilt from the config, never loaded (the torch buffer `attn_mask` is ignored by the converter)
        self.attn_mask = as_constant(shift_attn_mask(resolution, self.window, self.shift)) if self.shifted else None
        self.window_order, self.token_order = window_token_orders(self.resolution, self.window, self.shift)

    def window_attn(self, x):
        """(Shifted-)window attention over a [B, H*W, C] token map."""
        windows = windows_from_tokens(x, self.resolution, self.window, self.shift)
        return tokens_from_windows(self.attn(windows, self.attn_mask), self.resolution, self.window, self.shift)

    def attn_residual(self, x):
        """drop_path(window_attn(norm1(x))); all but the drop path is one compiled graph per block shape."""
        branch = compiled_htsat_attn_branch(x, *step_weights(self.norm1.gamma, self.norm1.beta), *self.attn.weights(),
                                            self.attn_mask, self.window_order, self.token_order, self.window,
                                            self.attn.num_heads)
        return self.drop_path(branch)

    def mlp_residual(self, x):
        """drop_path(mlp(norm2(x))) (compiled per shape, as attn_residual)."""
        return self.drop_path(self.mlp.branch(x, self.norm2, post_norm=False))

    def construct(self, x):
        x = x + self.attn_residual(x)
        return x + self.mlp_residual(x)


class PatchMerging(nn.Cell):
    """HTS-AT / Swin-V1 merging: 2x2 gather -> LayerNorm(4C) -> Linear(4C -> 2C, no bias)."""

    def __init__(self, resolution, dim):
        super().__init__()
        self.resolution = check_merge_resolution(resolution)
        self.norm = layer_norm(4 * dim)
        self.reduction = nn.Dense(4 * dim, 2 * dim, has_bias=False)

    def construct(self, x):
        return self.reduction(self.norm(patch_merge_gather(x, self.resolution)))


class HTSATStage(nn.Cell):
    """`blocks` then optional `downsample` (torch: BasicLayer)."""

    def __init__(self, dim, resolution, depth, num_heads, window_size, mlp_ratio, drop_paths, downsample):
        super().__init__()
        self.blocks = nn.CellList([
            HTSATBlock(dim, resolution, num_heads, window_size, 0 if i % 2 == 0 else window_size // 2,
                       mlp_ratio, drop_paths[i])
            for i in range(depth)])
        self.downsample = PatchMerging(resolution, dim) if downsample else None

    def construct(self, x):
        for blk in self.blocks:
            x = blk(x)
        if self.downsample is not None:
            x = self.downsample(x)
        return x


class HTSAT(nn.Cell):
    """HTS-AT backbone with its front end; construct(wave) == forward_features(wave)."""

    def __init__(self, cfg: HTSATConfig):
        super().__init__()
        self.cfg = cfg
        self.frontend = AudioFrontend(
            sample_rate=cfg.sample_rate, clip_samples=cfg.clip_samples, n_fft=cfg.n_fft, hop_size=cfg.hop_size,
            mel_bins=cfg.mel_bins, fmin=cfg.fmin, fmax=cfg.fmax, spec_size=cfg.spec_size,
            freq_ratio=cfg.freq_ratio, **cfg.spec_augment)
        self.patch_embed = PatchEmbed(cfg.in_chans, cfg.embed_dim, cfg.patch_size, norm=True)

        grid = cfg.spec_size // cfg.patch_size
        num_stages = len(cfg.depths)
        self.depths = tuple(cfg.depths)
        self.stage_dims = tuple(cfg.embed_dim * 2 ** s for s in range(num_stages))
        self.stage_resolutions = tuple((grid // 2 ** s, grid // 2 ** s) for s in range(num_stages))
        drop_paths = np.linspace(0.0, cfg.drop_path_rate, sum(cfg.depths)).tolist()  # linear over all blocks
        stages, start = [], 0
        for s in range(num_stages):
            stages.append(HTSATStage(self.stage_dims[s], self.stage_resolutions[s], cfg.depths[s],
                                     cfg.num_heads[s], cfg.window_size, cfg.mlp_ratio,
                                     drop_paths[start:start + cfg.depths[s]], downsample=s < num_stages - 1))
            start += cfg.depths[s]
        self.stages = nn.CellList(stages)
        self.num_features = self.stage_dims[-1]
        self.norm = layer_norm(self.num_features)

        # TSCAM classifier of the AudioSet model (loaded for 100% checkpoint coverage; unused by DG-SCT).
        # Its kernel height = frequency rows left after the last stage per time chunk.
        tscam_rows = grid // 2 ** (num_stages - 1) // cfg.freq_ratio
        self.tscam_conv = nn.Conv2d(self.num_features, cfg.num_classes, kernel_size=(tscam_rows, 3),
                                    pad_mode="pad", padding=(0, 0, 1, 1), has_bias=True)
        self.head = nn.Dense(cfg.num_classes, cfg.num_classes)
        self._init_transformer_weights()

    def _init_transformer_weights(self):
        """HTS-AT init: Linear weights and position-bias tables trunc-normal(0.02), biases 0; LayerNorm 1/0
        (MindSpore default). Pretrained weights are loaded over this."""
        rng = np.random.default_rng(np.random.randint(2 ** 31))
        for _, cell in self.cells_and_names():
            if isinstance(cell, nn.Dense):
                cell.weight.set_data(Tensor(trunc_normal(rng, cell.weight.shape, std=0.02)))
                if cell.has_bias:
                    cell.bias.set_data(Tensor(np.zeros(cell.bias.shape, np.float32)))
            elif isinstance(cell, WindowAttention):
                table = cell.relative_position_bias_table
                table.set_data(Tensor(trunc_normal(rng, table.shape, std=0.02)))

    def embed(self, image):
        """[B, 1, S, S] -> [B, (S/4)^2, C1] tokens (no absolute position embedding in HTS-AT)."""
        return self.patch_embed(image)

    def forward_features(self, wave, mixup_lambda=None):
        """wave [B, clip_samples] -> (list of stage token maps before merging, final tokens, not normalised)."""
        x = self.embed(self.frontend(wave, mixup_lambda))
        stage_maps = []
        for stage in self.stages:
            for blk in stage.blocks:
                x = blk(x)
            stage_maps.append(x)
            if stage.downsample is not None:
                x = stage.downsample(x)
        return stage_maps, x

    def construct(self, wave, mixup_lambda=None):
        return self.forward_features(wave, mixup_lambda)
