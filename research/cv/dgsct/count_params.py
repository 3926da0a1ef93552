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

"PyTorch-comparable" counts leave out BatchNorm moving statistics, which MindSpore stores as Parameters but
PyTorch keeps as buffers. Index tables and shift masks are constants in our models and never counted.
"""
import argparse
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
    parser.add_argument("--only", choices=list(BACKBONES), default=None)
    args = parser.parse_args()
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
