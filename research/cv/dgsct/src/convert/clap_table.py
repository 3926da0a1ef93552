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
``text_projection``, ``logit_scale_t``) belongs to the CLAP text encoder, which this table does not build:
``convert_clap_audio`` passes ``TEXT_SIDE`` as its ignore list so those keys are reported as ignored, not lost.
"""
from .htsat_table import BUFFERS as HTSAT_BUFFERS
from .htsat_table import MODULE_RULES as HTSAT_RULES
from .mapping import Rule, convert, linear, prefixed, reshape

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
