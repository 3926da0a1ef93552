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
"""Conversion table: a whole official DG-SCT AVE checkpoint (`best_82.18.pt`, `MMIL_Net`) -> src.dgsct.model.DGSCTNet.

Key layout of the official AVE checkpoint `best_82.18.pt` (`MMIL_Net.state_dict()`; keys may carry DataParallel's
`module.` prefix). Backbones reuse the Swin-V2 and
HTS-AT tables under `swin.` / `htsat.`; the 48 modules, the temporal block and the CMBS head are mapped here.
Dropped on purpose (they never influence an output and are not built in this port): `gate_tk`,
`adapter_token_downsampler`, the Swin 22k head, the unused template encoder/decoder layers and the decoder's
`self_attn` inside TemporalAttention, and CMBS `AVInter`/`VAInter`/`video_norm`/`audio_norm`.
"""
from pathlib import Path

from .htsat_table import BUFFERS as HTSAT_BUFFERS, MODULE_RULES as HTSAT_RULES
from .mapping import DEFAULT_BUFFERS, Rule, batch_norm, conv, convert, layer_norm, linear, prefixed
from .swin_v2_table import RULES as SWIN_RULES

_MOD = "{kind}_adapter_blocks_{p}.{k}"
_OUR_MOD = "encoder.{kind}_adapter_blocks_{p}.{k}"
_TA = "temporal_attn"
_OUR_TA = "head.temporal_attn"


def _post_norm_layer(src, dst, attn_src, attn_dst):
    return [Rule(f"{src}.{attn_src}.in_proj_weight", f"{dst}.{attn_dst}.in_proj_weight"),
            Rule(f"{src}.{attn_src}.in_proj_bias", f"{dst}.{attn_dst}.in_proj_bias"),
            *linear(f"{src}.{attn_src}.out_proj", f"{dst}.{attn_dst}.out_proj"),
            *linear(f"{src}.linear1", f"{dst}.linear1"), *linear(f"{src}.linear2", f"{dst}.linear2"),
            *layer_norm(f"{src}.norm1", f"{dst}.norm1"), *layer_norm(f"{src}.norm2", f"{dst}.norm2")]


MODULE_RULES = [
    Rule(f"{_MOD}.gate_tk", None),
    *[Rule(f"{_MOD}.{name}", f"{_OUR_MOD}.{name}") for name in ("gate", "gate_av", "my_tokens")],
    *conv(f"{_MOD}.conv_adapter", f"{_OUR_MOD}.conv_adapter"),
    *[rule for name in ("fc", "fc_affine_audio_1", "fc_affine_video_1", "fc_affine_bottleneck", "fc_affine_video_2",
                        "fc_affine_audio_2", "fc_affine_v_s_att", "fc_affine_v_c_att")
      for rule in linear(f"{_MOD}.{name}", f"{_OUR_MOD}.{name}")],
    Rule(f"{_MOD}.down_sampler.weight", f"{_OUR_MOD}.down_sampler.weight"),
    Rule(f"{_MOD}.up_sampler.weight", f"{_OUR_MOD}.up_sampler.weight"),
    *batch_norm(f"{_MOD}.bn1", f"{_OUR_MOD}.bn1"), *batch_norm(f"{_MOD}.bn2", f"{_OUR_MOD}.bn2"),
    *layer_norm(f"{_MOD}.ln_before", f"{_OUR_MOD}.ln_before"), *layer_norm(f"{_MOD}.ln_post", f"{_OUR_MOD}.ln_post"),
    Rule("adapter_token_downsampler.{i}.weight", None),
]

HEAD_RULES = [
    *linear(f"{_TA}.v_fc", f"{_OUR_TA}.v_fc"), *linear(f"{_TA}.a_fc", f"{_OUR_TA}.a_fc"),
    *[Rule(f"{_TA}.audio_visual_rnn_layer.{rnn}.{{w}}", f"{_OUR_TA}.{rnn}.{{w}}") for rnn in ("audio_rnn", "visual_rnn")],
    Rule(f"{_TA}.{{x}}_encoder.encoder_layer.{{rest+}}", None),
    Rule(f"{_TA}.{{x}}_decoder.decoder_layer.{{rest+}}", None),
    Rule(f"{_TA}.{{x}}_decoder.decoder.layers.0.self_attn.{{rest+}}", None),
    *linear(f"{_TA}.{{x}}_encoder.affine_matrix", f"{_OUR_TA}.{{x}}_encoder.affine_matrix"),
    *linear(f"{_TA}.{{x}}_decoder.affine_matrix", f"{_OUR_TA}.{{x}}_decoder.affine_matrix"),
    *_post_norm_layer(f"{_TA}.{{x}}_encoder.encoder.layers.{{i}}", f"{_OUR_TA}.{{x}}_encoder.layers.{{i}}",
                      "self_attn", "self_attn"),
    *_post_norm_layer(f"{_TA}.{{x}}_decoder.decoder.layers.0", f"{_OUR_TA}.{{x}}_decoder.layer",
                      "multihead_attn", "multihead_attn"),
    *linear(f"{_TA}.audio_gated.0", f"{_OUR_TA}.audio_gated"), *linear(f"{_TA}.video_gated.0", f"{_OUR_TA}.video_gated"),
    *linear("CMBS.localize_module.classifier", "head.CMBS.localize_module.classifier"),
    *linear("CMBS.localize_module.event_classifier", "head.CMBS.localize_module.event_classifier"),
    *linear("CMBS.audio_cas", "head.CMBS.audio_cas"), *linear("CMBS.video_cas", "head.CMBS.video_cas"),
    *[Rule(f"CMBS.{name}.{{rest+}}", None) for name in ("AVInter", "VAInter", "video_norm", "audio_norm")],
]

BASE_RULES = [
    Rule("swin.head.{p}", None),                       # ImageNet-22k head, unused by DG-SCT
    *prefixed(SWIN_RULES, "swin.", "encoder.swin."),
    *prefixed(HTSAT_RULES, "htsat.", "encoder.htsat."),
    *MODULE_RULES,
    *HEAD_RULES,
]
RULES = prefixed(BASE_RULES, "module.", "") + BASE_RULES
BUFFERS = tuple(DEFAULT_BUFFERS) + tuple(HTSAT_BUFFERS) + ("*num_batches_tracked", "*k_bias")


DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "ave.yaml"


def build_target(source=None, config=None):
    """The DG-SCT AVE network the checkpoint is for. `config`: a DG-SCT yaml (default: this model's configs/ave.yaml,
    the official settings); its task must be `ave`. `source` is not needed: the layout is the config's."""
    from ..config import load_config            # lazy: the table imports without building models
    from ..dgsct.model import build_network
    path = Path(config) if config else DEFAULT_CONFIG
    if not path.is_file():
        raise FileNotFoundError(f"--config {path}: no such DG-SCT config file (kind dgsct_ave takes a yaml such as "
                                f"configs/ave.yaml)")
    cfg = load_config(path)
    if cfg.task != "ave":
        raise ValueError(f"--config {path}: task is {cfg.task!r}, kind dgsct_ave converts AVE checkpoints")
    net, _ = build_network(cfg)
    return net


def convert_dgsct_ave(source, target, ignore=(), strict=True):
    """Map an official AVE state dict onto `target` (a DGSCTNet built from configs/ave.yaml).
    Raises mapping.ConversionError naming every unmapped / missing / wrong-shape key unless all map."""
    return convert(source, RULES, target, ignore=ignore, buffers=BUFFERS, strict=strict)
