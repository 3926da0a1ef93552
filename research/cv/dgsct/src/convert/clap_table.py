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
"""Conversion table: LAION-CLAP checkpoint (``630k-audioset-fusion-best.pt``) -> the audio side,
``src.backbones.clap_audio.CLAPAudioEncoder``.

The file is ``{"epoch": ..., "state_dict": {"module.<key>": tensor}}``; ``convert_weights.py export`` unwraps
``state_dict`` and strips the DataParallel ``module.`` prefix. Keys used here:

* ``audio_branch.*``: the HTS-AT (front-end tables, bn0, patch embed, Swin blocks, norm, TSCAM head), mapped by
  the HTS-AT table (src/convert/htsat_table.py) under ``htsat.``;
* ``audio_projection.{0,2}``: Linear 768 -> 512, ReLU, Linear 512 -> 512;
* ``logit_scale_a``: the audio temperature (log space; 0-d in torch, [1] in ours).

Dropped by the table (listed in the report): the feature-fusion sub-modules ``audio_branch.patch_embed.mel_conv2d``
and ``audio_branch.patch_embed.fusion_model`` (DG-SCT removes them before loading), and ``audio_transform`` (an MLP
CLAP uses only in its training loss). The text side (``text_branch`` RoBERTa, ``text_transform``,
``text_projection``, ``logit_scale_t``) belongs to the CLAP text encoder: ``convert_clap_audio`` passes
``TEXT_SIDE`` as its ignore list so those keys are reported as ignored, not lost, and ``TEXT_RULES`` /
``convert_clap_text`` map them onto ``src.backbones.roberta.CLAPTextEncoder`` (Hugging Face RobertaModel names ->
ours; the ``position_ids`` buffer is rebuilt; ``text_transform`` and ``logit_scale_t`` are unused by DG-SCT and
dropped), ignoring the audio side in the same way.
"""
from .htsat_table import BUFFERS as HTSAT_BUFFERS
from .htsat_table import MODULE_RULES as HTSAT_RULES
from .mapping import Rule, convert, layer_norm, linear, prefixed, reshape

AUDIO_BRANCH = "audio_branch."

RULES = [
    Rule(AUDIO_BRANCH + "patch_embed.mel_conv2d.{rest+}", None),       # feature fusion for >10 s clips: unused
    Rule(AUDIO_BRANCH + "patch_embed.fusion_model.{rest+}", None),
    *prefixed(HTSAT_RULES, AUDIO_BRANCH, "htsat."),
    *linear("audio_projection.0", "audio_projection.0"),
    *linear("audio_projection.2", "audio_projection.2"),
    Rule("logit_scale_a", "logit_scale_a", reshape(1)),
    Rule("audio_transform.{rest+}", None),                              # CLAP training-loss MLP: unused
]

BUFFERS = HTSAT_BUFFERS

TEXT_SIDE = ("text_branch.*", "text_transform.*", "text_projection.*", "logit_scale_t")
IGNORE = TEXT_SIDE           # `convert_weights.py map --kind clap` converts the audio side only

_LAYER, _OURS = "text_branch.encoder.layer.{i}.", "text_branch.layers.{i}."
TEXT_RULES = [
    Rule("text_branch.embeddings.word_embeddings.weight", "text_branch.embeddings.word_embeddings.embedding_table"),
    Rule("text_branch.embeddings.position_embeddings.weight",
         "text_branch.embeddings.position_embeddings.embedding_table"),
    Rule("text_branch.embeddings.token_type_embeddings.weight",
         "text_branch.embeddings.token_type_embeddings.embedding_table"),
    *layer_norm("text_branch.embeddings.LayerNorm", "text_branch.embeddings.norm"),
    *linear(_LAYER + "attention.self.query", _OURS + "query"),
    *linear(_LAYER + "attention.self.key", _OURS + "key"),
    *linear(_LAYER + "attention.self.value", _OURS + "value"),
    *linear(_LAYER + "attention.output.dense", _OURS + "attention_output"),
    *layer_norm(_LAYER + "attention.output.LayerNorm", _OURS + "attention_norm"),
    *linear(_LAYER + "intermediate.dense", _OURS + "intermediate"),
    *linear(_LAYER + "output.dense", _OURS + "output"),
    *layer_norm(_LAYER + "output.LayerNorm", _OURS + "output_norm"),
    *linear("text_branch.pooler.dense", "text_branch.pooler"),
    *linear("text_projection.0", "text_projection.0"),
    *linear("text_projection.2", "text_projection.2"),
    Rule("text_transform.{rest+}", None),                               # CLAP training-loss MLP: unused
    Rule("logit_scale_t", None),                                        # DG-SCT scores audio-text with logit_scale_a
]

TEXT_BUFFERS = ("text_branch.embeddings.position_ids", "text_branch.embeddings.token_type_ids")
AUDIO_SIDE = ("audio_branch.*", "audio_projection.*", "audio_transform.*", "logit_scale_a")

PRESETS = ("dgsct", "clap_48k", "tiny")


def build_target(source=None, config=None):
    """The CLAPAudioEncoder to convert into. ``config``: an HTSATConfig or a preset: ``dgsct`` (default; the
    HTS-AT AudioSet front end the official few-shot code uses), ``clap_48k`` (LAION-CLAP's own 48 kHz front end) or
    ``tiny`` (tests). The class count of the TSCAM head is read from the checkpoint."""
    from ..backbones.clap_audio import CLAPAudioEncoder, clap_48k    # lazy: the table imports without models
    from ..backbones.htsat import HTSATConfig
    if not isinstance(config, HTSATConfig):
        preset = config or "dgsct"
        if preset not in PRESETS:
            raise ValueError(f"unknown CLAP preset '{preset}', choose from {PRESETS}")
        config = {"dgsct": HTSATConfig.audioset, "clap_48k": clap_48k, "tiny": HTSATConfig.tiny}[preset]()
        head = (source or {}).get(AUDIO_BRANCH + "head.weight")
        if head is not None:
            config.num_classes = int(head.shape[0])
    return CLAPAudioEncoder(config)


def convert_clap_audio(source, target=None, config=None, ignore=TEXT_SIDE, strict=True):
    """Map a LAION-CLAP state dict onto ``target`` (default: build_target(source, config)). Raises
    mapping.ConversionError with the full report unless every audio key maps and every shape matches."""
    target = target if target is not None else build_target(source, config)
    return convert(source, RULES, target, ignore=ignore, buffers=BUFFERS, strict=strict)


def build_text_target(source=None, config=None):
    """The CLAPTextEncoder to convert into: ``config`` a RobertaConfig, ``base`` (default; roberta-base as in
    LAION-CLAP) or ``tiny`` (tests)."""
    from ..backbones.roberta import CLAPTextEncoder, RobertaConfig    # lazy: the table imports without models
    if not isinstance(config, RobertaConfig):
        preset = config or "base"
        if preset not in ("base", "tiny"):
            raise ValueError(f"unknown RoBERTa preset '{preset}', choose from ('base', 'tiny')")
        config = getattr(RobertaConfig, preset)()
    return CLAPTextEncoder(config)


def convert_clap_text(source, target=None, config=None, ignore=AUDIO_SIDE, strict=True):
    """Map the text side of a LAION-CLAP state dict onto ``target`` (default: build_text_target(source, config));
    the audio side is reported as ignored. Raises mapping.ConversionError unless every text key maps."""
    target = target if target is not None else build_text_target(source, config)
    return convert(source, TEXT_RULES, target, ignore=ignore, buffers=TEXT_BUFFERS, strict=strict)
