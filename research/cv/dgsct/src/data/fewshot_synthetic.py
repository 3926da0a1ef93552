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
With ``--dataset vggsound_avel`` the clips go into the VGGSound-AVEL40K layout of the zero-shot pre-training
(src/data/vggsound_avel.py: VggsoundAVEL40kCategories.txt, vggsound-avel40k_labels.csv, 6-digit ids) with class names
of their own ("Pretraining sound k"), so a zero-shot evaluation on the synthetic AVE set sees unseen names.
Command line: python -m src.data.fewshot_synthetic --out DIR [--dataset ave|vggsound_avel], with the options of
src/data/synthetic.py.
"""
import gzip
import itertools
import json
import string
from pathlib import Path

import numpy as np
from PIL import Image

from ..text.clip_bpe import byte_symbols
from .synthetic import SPLITS, draw_frame, generate_from_args, make_audio, parse_args
from .vggsound_avel import CATEGORY_FILE, LABEL_FILE, VIDEO_ID_DIGITS

CLIP_TINY_MERGES = 86            # CLIPConfig.tiny vocab 600 = 512 byte symbols (+ '</w>' forms) + 86 merges + 2
AVE_CLASSES = 28                 # stand-in class count of a few-shot AVE config without class names
ROBERTA_MERGES = (("T", "h"), ("Th", "e"), ("\u0120", "s"), ("o", "u"), ("\u0120s", "ou"), ("n", "d"),
                  ("\u0120sou", "nd"))


def write_clip_bpe(path, num_merges=CLIP_TINY_MERGES):
    """A CLIP BPE merges file (gzip, '#version' line, one merge a line): letter-pair merges, then (for the 48,894 merges
    of the full-size ViT-B/32 text tower) pairs of other byte symbols, every merge result distinct."""
    letters = list(itertools.product(string.ascii_lowercase, string.ascii_lowercase))
    seen = set(letters)
    others = (pair for pair in itertools.product(byte_symbols(), byte_symbols()) if pair not in seen)
    merges = list(itertools.islice(itertools.chain(letters, others), num_merges))
    if len(merges) < num_merges:
        raise ValueError(f"write_clip_bpe: at most {len(merges)} synthetic merges, asked for {num_merges}")
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


def stand_in_files(cfg, workdir, ave_root=""):
    """For benchmarks and parameter counts: give a few-shot config the files its network is built from when they are
    not on this machine (the config is changed in place): a CLIP BPE merges file with the text tower's vocabulary
    size and a RoBERTa vocab.json / merges.txt (synthetic, released layouts), and for an AVE config without class
    names in `data.root` the class names of `ave_root` (the real AVE folder: its 28 classes), else 28 numbered names.
    Returns a note naming what was generated ("" if nothing)."""
    from ..data.ave import load_categories
    from ..tasks.fewshot import FewShotTask
    head, notes, workdir = cfg.head, [], Path(workdir)
    if not Path(head.clip_bpe).is_file():
        vocab_size = FewShotTask(cfg).clip_config().vocab_size
        head.clip_bpe = write_clip_bpe(workdir / "vocab" / "bpe.txt.gz", vocab_size - 2 * len(byte_symbols()) - 2)
        notes.append(f"synthetic CLIP BPE ({vocab_size:,} ids)")
    if not (Path(head.roberta_vocab).is_file() and Path(head.roberta_merges).is_file()):
        head.roberta_vocab, head.roberta_merges = write_roberta_vocab(workdir / "vocab")
        notes.append("synthetic RoBERTa vocabulary")
    has_names = lambda root: any((Path(root) / name).is_file() for name in ("categories.txt", "Annotations.txt"))
    if cfg.data.options.dataset == "ave" and not has_names(cfg.data.root):
        real = bool(ave_root) and has_names(ave_root)
        names = load_categories(ave_root) if real else [f"event {k}" for k in range(AVE_CLASSES)]
        cfg.data.root = str(workdir / "ave_classes")
        Path(cfg.data.root).mkdir(parents=True, exist_ok=True)
        (Path(cfg.data.root) / "categories.txt").write_text("\n".join(names) + "\n", encoding="utf-8")
        notes.append(f"{len(names)} AVE class names ({'real' if real else 'numbered'})")
    return ", ".join(notes)


def write_vggsound_avel(out_dir, num_videos=24, num_classes=3, rate=8000, frames_per_video=20, frame_size=80,
                        seed=0, num_segments=10):
    """Synthetic clips (the coloured shapes and tones of src/data/synthetic.py) in the VGGSound-AVEL40K layout:
    category file, labels CSV (video_id, category, per-second flags, split; splits 60/20/20 % as the synthetic AVE
    set), frames/<6-digit id>/%08d.jpg, wave/<6-digit id>.npy. Returns the class names."""
    rng = np.random.default_rng(seed)
    out = Path(out_dir)
    (out / "wave").mkdir(parents=True, exist_ok=True)
    classes = [f"Pretraining sound {k}" for k in range(num_classes)]
    order = rng.permutation(num_videos)
    split_of, first = {}, 0
    for index, (name, share) in enumerate(SPLITS):
        count = num_videos - first if index == len(SPLITS) - 1 else int(round(share * num_videos))
        split_of.update({int(i): name.replace("Set.txt", "") for i in order[first:first + count]})
        first += count
    rows = []
    for index in range(num_videos):
        cls = index % num_classes
        start = int(rng.integers(0, max(1, num_segments - 4)))
        end = int(rng.integers(min(start + 3, num_segments), num_segments + 1))
        video_id = str(index).zfill(VIDEO_ID_DIGITS)
        folder = out / "frames" / video_id
        folder.mkdir(parents=True, exist_ok=True)
        for number in range(1, frames_per_video + 1):
            segment = min((number - 1) * num_segments // frames_per_video, num_segments - 1)
            frame = draw_frame(rng, frame_size, cls, num_classes, start <= segment < end, segment)
            Image.fromarray(frame).save(folder / f"{number:08d}.jpg", quality=90)
        np.save(out / "wave" / f"{video_id}.npy", make_audio(rng, rate, cls, start, end, num_classes, num_segments))
        flags = [int(start <= t < end) for t in range(num_segments)]
        rows.append(f'{index},{classes[cls]},"{flags}",{split_of[index]}')
    (out / CATEGORY_FILE).write_text("\n".join(classes) + "\n", encoding="utf-8")
    (out / LABEL_FILE).write_text("video_id,category,label,split\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return classes


def main():
    import argparse
    extra = argparse.ArgumentParser(add_help=False)
    extra.add_argument("--dataset", choices=("ave", "vggsound_avel"), default="ave",
                       help="file layout: AVE, or VGGSound-AVEL40K (zero-shot pre-training)")
    args = parse_args(__doc__.splitlines()[0], parents=[extra])
    if args.dataset == "vggsound_avel":
        write_vggsound_avel(args.out, args.videos, args.classes, args.rate, args.frames, args.frame_size, args.seed,
                            args.segments)
    else:
        generate_from_args(args)
    write_clip_bpe(Path(args.out) / "vocab" / "bpe_tiny.txt.gz")
    write_roberta_vocab(Path(args.out) / "vocab")
    print(f"synthetic few-shot set ({args.dataset} layout, {args.videos} videos, {args.classes} classes, tiny vocabularies) written to "
          f"{args.out}")


if __name__ == "__main__":
    main()
