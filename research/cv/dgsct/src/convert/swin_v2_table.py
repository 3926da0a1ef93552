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
"""Conversion table: timm 0.6.x Swin Transformer V2 state dict -> ``src.backbones.swin_v2.SwinV2``.

timm keys (``layers.{s}.blocks.{b}...``, LayerNorm ``weight``/``bias``) map one to one onto ours (``stages``,
``gamma``/``beta``); no transposes are needed (Dense and Conv2d keep PyTorch's [out, in, ...] layout). The buffers
``attn_mask``, ``relative_position_index`` and ``relative_coords_table`` are rebuilt by our model (DEFAULT_BUFFERS).
The 22k classification head is mapped when the target has a head; otherwise pass ``--ignore 'head.*'``.
"""
from typing import Dict, Optional

import numpy as np

from ..backbones.swin_v2 import SwinV2, SwinV2Config
from .mapping import DEFAULT_BUFFERS, Rule, layer_norm, linear

_BLK = "layers.{s}.blocks.{b}."
_OUR = "stages.{s}.blocks.{b}."

RULES = [
    *linear("patch_embed.proj", "patch_embed.proj"),
    *layer_norm("patch_embed.norm", "patch_embed.norm"),
    # window attention
    Rule(_BLK + "attn.logit_scale", _OUR + "attn.logit_scale"),
    Rule(_BLK + "attn.q_bias", _OUR + "attn.q_bias"),
    Rule(_BLK + "attn.v_bias", _OUR + "attn.v_bias"),
    *linear(_BLK + "attn.cpb_mlp.0", _OUR + "attn.cpb_mlp.0"),
    *linear(_BLK + "attn.cpb_mlp.2", _OUR + "attn.cpb_mlp.2", bias=False),
    *linear(_BLK + "attn.qkv", _OUR + "attn.qkv", bias=False),
    *linear(_BLK + "attn.proj", _OUR + "attn.proj"),
    # res-post-norms and MLP
    *layer_norm(_BLK + "norm1", _OUR + "norm1"),
    *linear(_BLK + "mlp.fc1", _OUR + "mlp.fc1"),
    *linear(_BLK + "mlp.fc2", _OUR + "mlp.fc2"),
    *layer_norm(_BLK + "norm2", _OUR + "norm2"),
    # patch merging at the end of stages 1-3
    *linear("layers.{s}.downsample.reduction", "stages.{s}.downsample.reduction", bias=False),
    *layer_norm("layers.{s}.downsample.norm", "stages.{s}.downsample.norm"),
    *layer_norm("norm", "norm"),
    *linear("head", "head"),
]

BUFFERS = DEFAULT_BUFFERS

PRESETS = {"large_192": SwinV2Config.large_192, "tiny": SwinV2Config.tiny}


def infer_config(source: Dict[str, np.ndarray], preset: Optional[str] = None, with_head: Optional[bool] = None):
    """SwinV2Config whose layout matches ``source``: image and window size come from the preset (default large_192);
    depths, widths, heads, patch size, input channels and head size are read from the tensor shapes."""
    preset = preset or "large_192"
    if preset not in PRESETS:
        raise ValueError(f"unknown Swin-V2 preset '{preset}', choose from {sorted(PRESETS)}")
    if "patch_embed.proj.weight" not in source:
        raise ValueError("source has no 'patch_embed.proj.weight': not a timm Swin-V2 state dict")
    embed_dim, in_chans, patch, _ = source["patch_embed.proj.weight"].shape
    depths, heads = [], []
    stage = 0
    while f"layers.{stage}.blocks.0.attn.logit_scale" in source:
        depth = 0
        while f"layers.{stage}.blocks.{depth}.attn.logit_scale" in source:
            depth += 1
        depths.append(depth)
        heads.append(int(source[f"layers.{stage}.blocks.0.attn.logit_scale"].shape[0]))
        stage += 1
    if not depths:
        raise ValueError("source has no 'layers.0.blocks.0.attn.logit_scale': not a timm Swin-V2 state dict")
    has_head = "head.weight" in source if with_head is None else with_head
    num_classes = int(source["head.weight"].shape[0]) if has_head and "head.weight" in source else 0
    return PRESETS[preset](embed_dim=int(embed_dim), in_chans=int(in_chans), patch_size=int(patch),
                           depths=tuple(depths), num_heads=tuple(heads), num_classes=num_classes,
                           pretrained_window_sizes=(0,) * len(depths))


def build_target(source: Dict[str, np.ndarray], config: Optional[str] = None, with_head: Optional[bool] = None):
    """The SwinV2 network the converted checkpoint is for (used for names and shapes)."""
    return SwinV2(infer_config(source, config, with_head))
