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
"""PyTorch weights -> MindSpore checkpoint, in two steps.

    # step 1 (needs torch): PyTorch .pth/.pt/.ckpt -> .npz (state dict arrays + key list)
    python convert_weights.py export --src swinv2_large_patch4_window12_192_22k.pth --out swinv2_l.npz
    # step 2 (no torch): .npz -> .ckpt through an explicit mapping table; fails unless the mapping is complete
    python convert_weights.py map --kind swinv2 --src swinv2_l.npz --out swinv2_l.ckpt [--config large_192]
        [--ignore 'head.*' ...] [--report report.txt]

Kinds (tables in src/convert/): swinv2 (timm 0.6 Swin-V2), htsat (HTS-AT Lightning checkpoint),
dgsct_ave (whole official DG-SCT AVE checkpoint), clip (OpenAI CLIP, e.g. ViT-B-32.pt; a TorchScript archive needs
--unsafe-pickle at export), clap (LAION-CLAP audio side: HTS-AT + audio_projection + logit_scale_a), clap_text
(LAION-CLAP text side: RoBERTa + text_projection). A table may name source keys it always leaves out (IGNORE: the
other half of a CLAP checkpoint); they are listed in the report as ignored.
"""
import argparse
import fnmatch
import importlib
import sys

TABLES = {
    "swinv2": "src.convert.swin_v2_table",
    "htsat": "src.convert.htsat_table",
    "dgsct_ave": "src.convert.dgsct_table",
    "clip": "src.convert.clip_table",
    "clap": "src.convert.clap_table",
    "clap_text": "src.convert.clap_text_table",
}


def load_table(kind: str):
    """Import the table module of a kind; it must define RULES and build_target(source, config)."""
    if kind not in TABLES:
        raise SystemExit(f"unknown --kind '{kind}', choose from {sorted(TABLES)}")
    try:
        table = importlib.import_module(TABLES[kind])
    except ModuleNotFoundError as err:
        if err.name == TABLES[kind]:
            raise SystemExit(f"the '{kind}' table ({TABLES[kind]}) is not available in this checkout") from err
        raise
    for attr in ("RULES", "build_target"):
        if not hasattr(table, attr):
            raise SystemExit(f"{TABLES[kind]} does not define {attr}")
    return table


def run_export(args):
    from src.convert.torch_export import export_state_dict
    arrays = export_state_dict(args.src, args.out, key=args.key, strip=args.strip_prefix,
                               unsafe_pickle=args.unsafe_pickle)
    print(f"exported {len(arrays)} arrays from {args.src} to {args.out}")


def run_map(args):
    from src.atomic_file import write_text
    from src.convert.mapping import DEFAULT_BUFFERS, ConversionError, convert, load_npz, save_checkpoint_atomic
    table = load_table(args.kind)
    source = load_npz(args.src)
    ignore = list(getattr(table, "IGNORE", ())) + list(args.ignore)
    kept = {k: v for k, v in source.items() if not any(fnmatch.fnmatchcase(k, p) for p in ignore)}
    target = table.build_target(kept, args.config)   # e.g. no head in the target when 'head.*' is ignored
    buffers = getattr(table, "BUFFERS", DEFAULT_BUFFERS)
    result = convert(source, table.RULES, target, ignore=ignore, buffers=buffers, strict=False)
    report = result.report()
    print(report)
    if args.report:
        write_text(args.report, report + "\n")
    if not result.ok:
        raise ConversionError(f"{args.src}: mapping for kind '{args.kind}' is incomplete (see report above); "
                              "nothing was written")
    save_checkpoint_atomic(result.params, args.out)
    print(f"wrote {len(result.params)} parameters to {args.out}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    exp = sub.add_parser("export", help="PyTorch file -> .npz (needs torch)")
    exp.add_argument("--src", required=True, help=".pth / .pt / .ckpt file")
    exp.add_argument("--out", required=True, help="output .npz")
    exp.add_argument("--key", default=None, help="take the state dict from this top-level key (default: auto)")
    exp.add_argument("--strip-prefix", action="append", default=[],
                     help="extra prefix to strip when every key has it ('module.' is always stripped)")
    exp.add_argument("--unsafe-pickle", action="store_true",
                     help="allow full pickle loading (only for files you trust)")
    mp = sub.add_parser("map", help=".npz -> MindSpore .ckpt through a mapping table (no torch)")
    mp.add_argument("--kind", required=True, choices=sorted(TABLES))
    mp.add_argument("--src", required=True, help=".npz written by the export step")
    mp.add_argument("--out", required=True, help="output .ckpt (written atomically)")
    mp.add_argument("--config", default=None,
                    help="target model: swinv2 / htsat preset name (default large_192 / audioset), dgsct_ave yaml "
                         "(default configs/ave.yaml), clip preset (openai / tiny; default: read from the state "
                         "dict), clap preset (dgsct / clap_48k / tiny), clap_text preset (base / tiny)")
    mp.add_argument("--ignore", nargs="*", default=[], help="fnmatch patterns of source keys to leave out")
    mp.add_argument("--report", default=None, help="also write the mapping report to this file")
    args = parser.parse_args(argv)
    if args.command == "export":
        run_export(args)
    else:
        run_map(args)


if __name__ == "__main__":
    sys.exit(main())
