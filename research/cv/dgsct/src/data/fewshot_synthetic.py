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
"""Synthetic few-shot set: the synthetic AVE set (src/data/synthetic.py, original AVE format) plus tiny vocabularies in
the released file formats, for the tiny CLIP (bpe_simple_vocab_16e6.txt.gz layout: byte symbols + letter-pair merges,
600 ids) and the tiny RoBERTa (vocab.json + merges.txt, 267 ids). The real vocabularies are user-supplied files.
Command line: python -m src.data.fewshot_synthetic --out DIR, with the options of src/data/synthetic.py.
"""
import gzip
import itertools
import json
import string
from pathlib import Path

from ..text.clip_bpe import byte_symbols
from .synthetic import generate_from_args, parse_args

CLIP_TINY_MERGES = 86            # CLIPConfig.tiny vocab 600 = 512 byte symbols (+ '</w>' forms) + 86 merges + 2
ROBERTA_MERGES = (("T", "h"), ("Th", "e"), ("\u0120", "s"), ("o", "u"), ("\u0120s", "ou"), ("n", "d"),
                  ("\u0120sou", "nd"))


def write_clip_bpe(path, num_merges=CLIP_TINY_MERGES):
    """A CLIP BPE merges file (gzip, '#version' line, one merge a line) with letter-pair merges."""
    merges = list(itertools.product(string.ascii_lowercase, string.ascii_lowercase))[:num_merges]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write("\n".join(["#version: 0.2"] + [" ".join(m) for m in merges]) + "\n")
    return str(path)


def write_roberta_vocab(folder, merges=ROBERTA_MERGES, drop=()):
    """vocab.json / merges.txt in the released layout: <s> <pad> </s> <unk>, the 256 byte symbols, merge results
    (tokens in ``drop`` left out, for error tests)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokens = ["<s>", "<pad>", "</s>", "<unk>"] + byte_symbols() + ["".join(m) for m in merges]
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tokens) if t not in drop}), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n",
                                       encoding="utf-8")
    return str(folder / "vocab.json"), str(folder / "merges.txt")


def main():
    args = parse_args(__doc__.splitlines()[0])
    generate_from_args(args)
    write_clip_bpe(Path(args.out) / "vocab" / "bpe_tiny.txt.gz")
    write_roberta_vocab(Path(args.out) / "vocab")
    print(f"synthetic few-shot set ({args.videos} videos, {args.classes} classes, tiny vocabularies) written to "
          f"{args.out}")


if __name__ == "__main__":
    main()
