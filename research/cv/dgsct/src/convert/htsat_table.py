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
"""Conversion table: HTS-AT PyTorch state dict -> src.backbones.htsat.HTSAT.

`MODULE_RULES` maps the keys of the bare `HTSAT_Swin_Transformer` module (as `torch.save` of HTS-AT's `state_dict`);
`RULES` (used by
`convert_weights.py map --kind htsat`) accepts the Lightning checkpoint `HTSAT_AudioSet_Saved_1.ckpt` as exported
(`sed_model.` prefix) as well as bare keys (export with `--strip-prefix sed_model.`); a file mixing both fails
("already produced"). Composite tables (the DG-SCT task checkpoints, `htsat.` keys) reuse `MODULE_RULES` through
`mapping.prefixed`.

Every source key is accounted for: parameters are mapped; `num_batches_tracked` is dropped by the table;
`relative_position_index` and the shifted blocks' `attn_mask` are buffers the MindSpore model rebuilds from the
config (`BUFFERS`), so they are listed as ignored in the report, never silently skipped.
"""
from .mapping import Rule, batch_norm, conv, convert, layer_norm, linear, prefixed

CHECKPOINT_PREFIX = "sed_model."

BLOCK = "layers.{s}.blocks.{b}"
OUR_BLOCK = "stages.{s}.blocks.{b}"

MODULE_RULES = [
    # front end (torchlibrosa Conv1d DFT kernels [513, 1, 1024] and melW [513, 64] keep their layout)
    Rule("spectrogram_extractor.stft.conv_real.weight", "frontend.stft_real"),
    Rule("spectrogram_extractor.stft.conv_imag.weight", "frontend.stft_imag"),
    Rule("logmel_extractor.melW", "frontend.melW"),
    *batch_norm("bn0", "frontend.bn0"),
    *conv("patch_embed.proj", "patch_embed.proj"),
    *layer_norm("patch_embed.norm", "patch_embed.norm"),
    # Swin-V1 blocks
    *layer_norm(f"{BLOCK}.norm1", f"{OUR_BLOCK}.norm1"),
    Rule(f"{BLOCK}.attn.relative_position_bias_table", f"{OUR_BLOCK}.attn.relative_position_bias_table"),
    *linear(f"{BLOCK}.attn.qkv", f"{OUR_BLOCK}.attn.qkv"),
    *linear(f"{BLOCK}.attn.proj", f"{OUR_BLOCK}.attn.proj"),
    *layer_norm(f"{BLOCK}.norm2", f"{OUR_BLOCK}.norm2"),
    *linear(f"{BLOCK}.mlp.fc1", f"{OUR_BLOCK}.mlp.fc1"),
    *linear(f"{BLOCK}.mlp.fc2", f"{OUR_BLOCK}.mlp.fc2"),
    # patch merging: norm then reduction (no bias)
    *layer_norm("layers.{s}.downsample.norm", "stages.{s}.downsample.norm"),
    *linear("layers.{s}.downsample.reduction", "stages.{s}.downsample.reduction", bias=False),
    # final norm and the AudioSet TSCAM classifier (unused by DG-SCT, converted for completeness)
    *layer_norm("norm", "norm"),
    *conv("tscam_conv", "tscam_conv"),
    *linear("head", "head"),
]

# rebuilt at construction from the config (relative index table, shift masks), not loaded
BUFFERS = ("*.attn.relative_position_index", "*.attn_mask")

RULES = prefixed(MODULE_RULES, CHECKPOINT_PREFIX, "") + MODULE_RULES

PRESETS = ("audioset", "tiny")


def _strip(source):
    """Bare module keys of a Lightning (`sed_model.`) or bare state dict."""
    return {k[len(CHECKPOINT_PREFIX):] if k.startswith(CHECKPOINT_PREFIX) else k: v for k, v in source.items()}


def infer_config(source, preset=None):
    """HTSATConfig whose layout matches `source`: audio front end, spectrogram and window settings come from the
    preset (default audioset); widths, depths, heads and the class count are read from the tensor shapes."""
    from ..backbones.htsat import HTSATConfig   # lazy: the table imports without building models
    preset = preset or "audioset"
    if preset not in PRESETS:
        raise ValueError(f"unknown HTS-AT preset '{preset}', choose from {PRESETS}")
    config = getattr(HTSATConfig, preset)()
    bare = _strip(source or {})
    if "head.weight" in bare:
        config.num_classes = int(bare["head.weight"].shape[0])
    if "patch_embed.proj.weight" not in bare:
        return config                                  # nothing else to read: the preset's layout
    config.embed_dim = int(bare["patch_embed.proj.weight"].shape[0])
    depths, heads = [], []
    while f"layers.{len(depths)}.blocks.0.attn.relative_position_bias_table" in bare:
        stage = len(depths)
        depth = 0
        while f"layers.{stage}.blocks.{depth}.attn.relative_position_bias_table" in bare:
            depth += 1
        depths.append(depth)
        heads.append(int(bare[f"layers.{stage}.blocks.0.attn.relative_position_bias_table"].shape[1]))
    if depths:
        config.depths, config.num_heads = tuple(depths), tuple(heads)
    return config


def build_target(source=None, config=None):
    """The HTS-AT network to convert into. `config`: an HTSATConfig, a preset name (PRESETS) or None (audioset).
    For a preset, the width, depths, heads and class count are read from the checkpoint's shapes (AudioSet 527,
    ESC-50 50, ...); the front end and window come from the preset."""
    from ..backbones.htsat import HTSAT, HTSATConfig   # lazy: the table imports without building models
    if not isinstance(config, HTSATConfig):
        config = infer_config(source, config)
    return HTSAT(config)


def convert_htsat(source, target=None, ignore=(), strict=True):
    """Map a HTS-AT state dict (`sed_model.` keys or bare) onto `target` (default: build_target(source)).
    Raises mapping.ConversionError naming every unmapped / missing / wrong-shape key unless all map."""
    target = target if target is not None else build_target(source)
    return convert(source, RULES, target, ignore=ignore, buffers=BUFFERS, strict=strict)
