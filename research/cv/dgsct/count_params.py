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
"""Print total and per-stage parameter counts of the DG-SCT backbones and compare them with
the reference totals counted from the official module definitions (timm 0.6 Swin-V2-L with its 22k head, HTS-AT).

    python count_params.py              # Swin-V2-L-192 (with its 22k head) and HTS-AT (AudioSet)
    python count_params.py --only fewshot    # the few-shot network of configs/fewshot_ave.yaml vs the official MMIL_Net

"PyTorch-comparable" counts leave out BatchNorm moving statistics, which MindSpore stores as Parameters but
PyTorch keeps as buffers. Index tables and shift masks are constants in our models and never counted.
"""
import argparse
import os
import re
from collections import OrderedDict

import mindspore as ms

ms.set_device("CPU")

BUFFER_LIKE = ("moving_mean", "moving_variance")      # torch buffers, MindSpore Parameters


def group_name(name: str) -> str:
    """stages.2.blocks.7.attn.qkv.weight -> 'stages.2.blocks'; patch_embed.proj.weight -> 'patch_embed'."""
    m = re.match(r"(stages\.\d+\.(?:blocks|downsample))\.", name)
    return m.group(1) if m else name.split(".")[0]


def count(net):
    groups = OrderedDict()
    buffers = 0
    for name, p in net.parameters_and_names():
        if name.endswith(BUFFER_LIKE):
            buffers += p.size
            continue
        key = group_name(name)
        groups[key] = groups.get(key, 0) + p.size
    return groups, buffers


def build_swin():
    from src.backbones.swin_v2 import SwinV2, SwinV2Config
    return SwinV2(SwinV2Config.large_192(num_classes=21841))   # the 22k head is part of the released file


def build_htsat():
    from src.backbones.htsat import HTSAT, HTSATConfig
    return HTSAT(HTSATConfig.audioset())


# key -> (title, builder, reference total in M, reference note, {group: reference M})
BACKBONES = OrderedDict([
    ("swin", ("Swin-V2-L-192 (timm swinv2_large_window12_192_22k)", build_swin, 228.8,
              "incl. the 33.6M 22k head", {"head": 33.6})),
    ("htsat", ("HTS-AT (AudioSet)", build_htsat, 31.3, "incl. 1.1M STFT/mel params", {"frontend": 1.1})),
])


# The official few-shot network (few-shot/nets/net_trans.py MMIL_Net, AVE: 28 classes + background), counted by
# instantiating its module definitions in torch (CLIP ViT-B/32 of few-shot/nets/clip/model.py, HTS-AT of
# few-shot/nets/HTSAT.py with esc_fig.py, 48 VisualAdapter modules, CMBS, AudioAdapter; RoBERTa-base as Hugging Face's
# RobertaModel incl. its pooler): part -> (our parameter-name prefixes, official count, note). Our rows count
# PyTorch-comparable parameters (BatchNorm moving statistics apart).
FEWSHOT_PARTS = OrderedDict([
    ("48 prompt modules", (("vis_adapter_blocks", "audio_adapter_blocks"), 97_299_648,
                           "official incl. 4,727,808 in the 48 unused fc_caption Linear(512, 192) and 48 gate_tk")),
    ("CLIP-Adapters (image, text)", (("clip_adapter",), 262_144, "")),
    ("prompt learner context + meta-net", (("prompt_learner.ctx", "prompt_learner.meta_net"), 35_360, "")),
    ("audio-visual contrastive layer", (("audio_visual_contrastive_learner",), 262_656, "")),
    ("CMBS", ((), 14_068_825, "official: built and trained, never called in the forward")),
    ("AudioAdapter", ((), 4_800_769, "official: built and trained, never called in the forward")),
    ("CLIP image tower", (("visual.",), 87_849_216, "official `ViT`")),
    ("CLIP text tower incl. token embedding", (("prompt_learner.text.",), 63_428_096,
                                               "official `text_encoder` 38,131,200 + `token_embedding` 25,296,896")),
    ("CLIP logit_scale", (("logit_scale",), 1, "")),
    ("HTS-AT (CLAP audio branch, fusion dropped)", (("clap_audio.htsat.",), 31_325_143, "incl. 1,083,584 STFT/mel")),
    ("CLAP audio_projection", (("clap_audio.audio_projection",), 656_384, "")),
    ("CLAP logit_scale_a", (("clap_audio.logit_scale_a",), 0, "official: a plain tensor, not a parameter")),
    ("CLAP text encoder", ((), 125_827_328, "official: RoBERTa-base 124,645,632 + text_transform 525,312 (unused) + "
                                            "text_projection 656,384")),
])
FEWSHOT_TRAINABLE_PARTS = ("48 prompt modules", "CLIP-Adapters (image, text)", "prompt learner context + meta-net",
                           "audio-visual contrastive layer", "CMBS", "AudioAdapter")
# few-shot/main_AVE.py's own count (substring tests on the names; audio_projection and logit_scale match none of them)
FEWSHOT_OFFICIAL_PRINTED = (116_729_402, 425_159_185)
FEWSHOT_CONFIG = "configs/fewshot_ave.yaml"
# the real AVE class names (../shared from the repository root), if present
SHARED_AVE_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "shared", "data", "av",
                               "AVE")


def fewshot_report():
    """Build the few-shot network as train.py does (random weights; stand-in vocabularies / AVE class names where the
    configured files are absent) and print our count next to the official one per part. True when every part the
    port builds matches and the differences are exactly the parts it leaves out."""
    import tempfile
    from src.backbones.roberta import CLAPTextEncoder, RobertaConfig
    from src.config import load_config
    from src.data.fewshot_synthetic import stand_in_files
    from src.dgsct.model import build_network
    cfg = load_config(FEWSHOT_CONFIG)
    with tempfile.TemporaryDirectory(prefix="dgsct_count_") as workdir:
        generated = stand_in_files(cfg, workdir, SHARED_AVE_ROOT)
        net, task = build_network(cfg)
        trainable, total = task.freeze(net)
    params = [(name, p) for name, p in net.parameters_and_names() if not name.endswith(BUFFER_LIKE)]
    buffers = total - sum(p.size for _, p in params)
    print(f"\nfew-shot network ({FEWSHOT_CONFIG}, {len(task.derived.class_names)} classes; {generated or 'real files'})")
    print(f"  {'part':46s} {'ours':>14s} {'official':>14s}  note")
    ours_by_part, claimed = OrderedDict(), set()
    for part, (prefixes, official, note) in FEWSHOT_PARTS.items():
        names = {name for name, _ in params if name.startswith(prefixes) and name not in claimed} if prefixes else set()
        claimed |= names
        ours_by_part[part] = sum(p.size for name, p in params if name in names)
        print(f"  {part:46s} {ours_by_part[part]:14,d} {official:14,d}  {note}")
    left = [name for name, _ in params if name not in claimed]
    if left:
        print(f"  parameters in no part: {left[:5]}")
    text_encoder = CLAPTextEncoder(getattr(RobertaConfig, cfg.head.clap_text_preset)(), 512)
    text_count = sum(p.size for p in text_encoder.get_parameters())
    official_total = sum(v[1] for v in FEWSHOT_PARTS.values())
    official_trainable = sum(FEWSHOT_PARTS[k][1] for k in FEWSHOT_TRAINABLE_PARTS)
    ours_total = total - buffers
    print(f"  {'TRAINABLE':46s} {trainable:14,d} {official_trainable:14,d}  main_AVE.py's own count "
          f"{FEWSHOT_OFFICIAL_PRINTED[0]:,d}")
    print(f"  {'TOTAL (PyTorch-comparable)':46s} {ours_total:14,d} {official_total:14,d}  main_AVE.py's own count "
          f"{FEWSHOT_OFFICIAL_PRINTED[1]:,d} (skips audio_projection, logit_scale)")
    print(f"  BatchNorm moving statistics (buffers in torch, not counted above): {buffers:,d}")
    print(f"  our CLAP text encoder, used once to embed the class names, outside the network: {text_count:,d}")
    same = [k for k, (prefixes, official, _) in FEWSHOT_PARTS.items() if prefixes and k != "48 prompt modules"
            and k != "CLAP logit_scale_a"]
    match = (not left and all(ours_by_part[k] == FEWSHOT_PARTS[k][1] for k in same)
             and FEWSHOT_PARTS["48 prompt modules"][1] - ours_by_part["48 prompt modules"] == 4_727_808 + 48
             and trainable == sum(ours_by_part[k] for k in FEWSHOT_TRAINABLE_PARTS))
    print(f"  parts built by the port match the official ones: {'YES' if match else 'NO'}")
    return match


def report(title, net, ref_total, ref_note, ref_groups):
    groups, buffers = count(net)
    total = sum(groups.values())
    print(f"\n{title}")
    print(f"  {'group':28s} {'params':>14s} {'M':>9s}")
    for key, n in groups.items():
        note = f"   (reference {ref_groups[key]}M)" if key in ref_groups else ""
        print(f"  {key:28s} {n:14,d} {n / 1e6:9.3f}{note}")
    print(f"  {'TOTAL (PyTorch-comparable)':28s} {total:14,d} {total / 1e6:9.3f}   reference {ref_total}M {ref_note}")
    if buffers:
        print(f"  BatchNorm moving statistics (buffers in torch, not counted above): {buffers:,d}")
    match = abs(total / 1e6 - ref_total) < 0.05          # the reference has 0.1M precision
    print(f"  matches the reference: {'YES' if match else 'NO'} (difference {total / 1e6 - ref_total:+.3f}M)")
    return match


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=list(BACKBONES) + ["fewshot"], default=None)
    args = parser.parse_args()
    if args.only == "fewshot":
        return 0 if fewshot_report() else 1
    ok = True
    for key, (title, builder, ref_total, note, ref_groups) in BACKBONES.items():
        if args.only and key != args.only:
            continue
        try:
            net = builder()
        except ImportError as err:
            print(f"\n{title}: not available in this checkout ({err}); skipped")
            continue
        ok &= report(title, net, ref_total, note, ref_groups)
        del net
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
