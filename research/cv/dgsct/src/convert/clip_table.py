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
"""Conversion table: OpenAI CLIP state dict (``ViT-B-32.pt``, also open_clip's ``-quickgelu`` models) ->
``src.backbones.clip.CLIP``.

The released ``ViT-B-32.pt`` is a TorchScript archive: export it with
``convert_weights.py export --unsafe-pickle`` (torch.load hands TorchScript archives to torch.jit.load, which the
safe loader refuses); its weights are float16 and are cast to the target's float32 here. Key layout::

    visual.conv1.weight, visual.class_embedding, visual.positional_embedding, visual.ln_pre.*, visual.proj,
    visual.transformer.resblocks.{i}.{ln_1, attn.in_proj_weight, attn.in_proj_bias, attn.out_proj, ln_2,
                                      mlp.c_fc, mlp.c_proj}, visual.ln_post.*
    token_embedding.weight, positional_embedding, transformer.resblocks.{i}.*, ln_final.*, text_projection,
    logit_scale, and three int scalars input_resolution / context_length / vocab_size (TorchScript file only)

Ours keeps the visual names, moves the text tower under ``text.``, stores the packed attention projection in Dense
cells (``attn.in_proj.weight`` = ``attn.in_proj_weight``, same [3C, C] layout), the token table as
``text.token_embedding.embedding_table`` and LayerNorm ``weight``/``bias`` as ``gamma``/``beta``. No transposes:
``proj`` and ``text_projection`` are applied as ``x @ P`` on both sides. The three scalars describe the layout
(read by ``infer_config``) and are dropped by the table, so the report lists them.
"""
from typing import Dict, Optional

import numpy as np

from ..backbones.clip import CLIP, CLIPConfig
from .mapping import Rule, convert, layer_norm, linear, reshape

OPENAI_HEAD_WIDTH = 64      # OpenAI CLIP: heads = width // 64 in both towers
LAYOUT_SCALARS = ("input_resolution", "context_length", "vocab_size")


def _block_rules(src: str, dst: str):
    return [
        *layer_norm(f"{src}.ln_1", f"{dst}.ln_1"),
        Rule(f"{src}.attn.in_proj_weight", f"{dst}.attn.in_proj.weight"),
        Rule(f"{src}.attn.in_proj_bias", f"{dst}.attn.in_proj.bias"),
        *linear(f"{src}.attn.out_proj", f"{dst}.attn.out_proj"),
        *layer_norm(f"{src}.ln_2", f"{dst}.ln_2"),
        *linear(f"{src}.mlp.c_fc", f"{dst}.mlp.c_fc"),
        *linear(f"{src}.mlp.c_proj", f"{dst}.mlp.c_proj"),
    ]


RULES = [
    # image tower
    Rule("visual.conv1.weight", "visual.conv1.weight"),
    Rule("visual.class_embedding", "visual.class_embedding"),
    Rule("visual.positional_embedding", "visual.positional_embedding"),
    *layer_norm("visual.ln_pre", "visual.ln_pre"),
    *_block_rules("visual.transformer.resblocks.{i}", "visual.transformer.resblocks.{i}"),
    *layer_norm("visual.ln_post", "visual.ln_post"),
    Rule("visual.proj", "visual.proj"),
    # text tower
    Rule("token_embedding.weight", "text.token_embedding.embedding_table"),
    Rule("positional_embedding", "text.positional_embedding"),
    *_block_rules("transformer.resblocks.{i}", "text.transformer.resblocks.{i}"),
    *layer_norm("ln_final", "text.ln_final"),
    Rule("text_projection", "text.text_projection"),
    Rule("logit_scale", "logit_scale", reshape(1)),         # 0-d in torch; [1] in ours (checkpoint round trip)
    # layout scalars of the TorchScript file: not parameters
    *[Rule(name, None) for name in LAYOUT_SCALARS],
]

BUFFERS = ("attn_mask", "*.attn_mask")   # open_clip text tower: causal mask, rebuilt by our model

PRESETS = ("openai", "tiny")


def _count_blocks(source: Dict[str, np.ndarray], prefix: str) -> int:
    count = 0
    while f"{prefix}.{count}.ln_1.weight" in source:
        count += 1
    return count


def _require(source: Dict[str, np.ndarray], key: str) -> np.ndarray:
    if key not in source:
        raise ValueError(f"source has no '{key}': not an OpenAI-layout CLIP state dict")
    return source[key]


def infer_config(source: Dict[str, np.ndarray], preset: Optional[str] = None) -> CLIPConfig:
    """CLIPConfig whose layout matches ``source``: every size from the tensor shapes; head counts (not stored in
    the file) from the preset: ``openai`` (default) uses width // 64 as OpenAI's model builder, ``tiny`` takes them
    from CLIPConfig.tiny()."""
    preset = preset or "openai"
    if preset not in PRESETS:
        raise ValueError(f"unknown CLIP preset '{preset}', choose from {PRESETS}")
    vision_width, _, patch, _ = _require(source, "visual.conv1.weight").shape
    num_positions = _require(source, "visual.positional_embedding").shape[0]
    grid = int(round((num_positions - 1) ** 0.5))
    if grid * grid + 1 != num_positions:
        raise ValueError(f"visual.positional_embedding has {num_positions} rows, not 1 + a square grid")
    context_length, text_width = _require(source, "positional_embedding").shape
    sizes = dict(embed_dim=int(_require(source, "text_projection").shape[1]), image_size=int(patch * grid),
                 patch_size=int(patch), vision_width=int(vision_width),
                 vision_layers=_count_blocks(source, "visual.transformer.resblocks"),
                 context_length=int(context_length),
                 vocab_size=int(_require(source, "token_embedding.weight").shape[0]),
                 text_width=int(text_width), text_layers=_count_blocks(source, "transformer.resblocks"))
    if preset == "tiny":
        tiny = CLIPConfig.tiny()
        heads = dict(vision_heads=tiny.vision_heads, text_heads=tiny.text_heads)
    else:
        heads = dict(vision_heads=sizes["vision_width"] // OPENAI_HEAD_WIDTH,
                     text_heads=sizes["text_width"] // OPENAI_HEAD_WIDTH)
    return CLIPConfig(**sizes, **heads).validate()


def build_target(source: Dict[str, np.ndarray], config: Optional[str] = None) -> CLIP:
    """The CLIP network the converted checkpoint is for (names and shapes)."""
    return CLIP(infer_config(source, config))


def convert_clip(source: Dict[str, np.ndarray], target: Optional[CLIP] = None, config: Optional[str] = None,
                 ignore=(), strict: bool = True):
    """Map an OpenAI-layout CLIP state dict onto ``target`` (default: build_target(source, config)). Raises
    mapping.ConversionError with the full report unless every key maps and every shape matches."""
    target = target if target is not None else build_target(source, config)
    return convert(source, RULES, target, ignore=ignore, buffers=BUFFERS, strict=strict)
