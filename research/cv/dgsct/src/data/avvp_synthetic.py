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
"""Synthetic LLP-format data set (csv files, JPEG frames, waves, R(2+1)D-shaped features) for demos and tests.

Every clip holds one or two of the LLP classes, each as an audio event and/or a visual event over a random
contiguous run of segments. Audio: a class-specific chord of sines during its audio event. Frames: a class-specific
colour block at a class-specific place during its visual event. Features: a class prototype during the visual event.
Weak labels (csv) are the union of audio and visual classes; val/test also get the dense eval csv files.
"""
import argparse
import csv
import os
import string

import numpy as np
from PIL import Image

from .avvp import AVVP_CLASSES, DENSE_FILES, NUM_SEGMENTS, SPLIT_FILES, ST_DIM

_ID_CHARS = string.ascii_letters + string.digits + "-_"


def _class_colour(c):
    rng = np.random.default_rng(1000 + c)
    return rng.integers(40, 256, size=3)


def _class_freqs(c):
    return 220.0 * 2 ** (np.array([0.0, 4.0, 7.0]) / 12.0 + c / 6.0)


def _random_run(rng, num_segments):
    length = int(rng.integers(2, num_segments + 1))
    start = int(rng.integers(0, num_segments - length + 1))
    return start, start + length


def _write_tsv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, delimiter="\t", lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def make_synthetic_llp(root, videos_per_split=(8, 4, 4), num_classes=4, image_size=32, sample_rate=32000,
                       num_segments=NUM_SEGMENTS, st_dim=ST_DIM, seed=0):
    """Write a small LLP-format data set under `root` (annotations and media in the same folder).

    Uses the first `num_classes` LLP class names. Returns the path of `root`.
    """
    if not 1 <= num_classes <= len(AVVP_CLASSES):
        raise ValueError(f"num_classes must be in 1..{len(AVVP_CLASSES)}, got {num_classes}")
    rng = np.random.default_rng(seed)
    prototypes = np.random.default_rng(seed + 7).normal(size=(num_classes, st_dim)).astype(np.float32)
    for sub in ("frame", "wave", os.path.join("feats", "r2plus1d_18")):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    t = np.arange(sample_rate) / sample_rate
    dense = {"audio": [], "visual": []}
    used = set()
    for split, count in zip(("train", "val", "test"), videos_per_split):
        weak_rows = []
        for _ in range(count):
            while True:
                vid = "".join(rng.choice(list(_ID_CHARS), size=11))
                if vid not in used:
                    used.add(vid)
                    break
            start = int(rng.integers(0, 300))
            filename = f"{vid}_{start}_{start + num_segments}"
            picked = rng.choice(num_classes, size=int(rng.integers(1, 3)), replace=False)
            audio_on = np.zeros((num_classes, num_segments), bool)
            visual_on = np.zeros((num_classes, num_segments), bool)
            for c in picked:
                kinds = [("audio", audio_on), ("visual", visual_on)]
                chosen = kinds if rng.random() < 0.6 else [kinds[int(rng.integers(0, 2))]]
                for kind, table in chosen:
                    onset, offset = _random_run(rng, num_segments)
                    table[c, onset:offset] = True
                    if split != "train":              # dense labels exist for val/test only
                        dense[kind].append((filename, onset, offset, AVVP_CLASSES[c]))
            wave = 0.01 * rng.normal(size=(num_segments, sample_rate))
            frames = np.full((num_segments, image_size, image_size, 3), 30, np.float32)
            frames += rng.normal(0, 8, size=frames.shape)
            feats = 0.1 * rng.normal(size=(num_segments, st_dim))
            half = image_size // 2
            for c in range(num_classes):
                for seg in np.nonzero(audio_on[c])[0]:
                    wave[seg] += sum(0.2 * np.sin(2 * np.pi * f * t) for f in _class_freqs(c))
                for seg in np.nonzero(visual_on[c])[0]:
                    y0, x0 = (c % 2) * half, ((c // 2) % 2) * half
                    frames[seg, y0:y0 + half, x0:x0 + half] = _class_colour(c)
                    feats[seg] += prototypes[c]
            frame_dir = os.path.join(root, "frame", vid)
            os.makedirs(frame_dir, exist_ok=True)
            for seg in range(num_segments):
                img = Image.fromarray(np.clip(frames[seg], 0, 255).astype(np.uint8))
                img.save(os.path.join(frame_dir, f"{seg + 1:08d}.jpg"), quality=90)
            np.save(os.path.join(root, "wave", vid + ".npy"), wave.reshape(-1).astype(np.float32))
            np.save(os.path.join(root, "feats", "r2plus1d_18", vid + ".npy"), feats.astype(np.float32))
            present = np.nonzero(audio_on.any(1) | visual_on.any(1))[0]
            weak_rows.append((filename, ",".join(AVVP_CLASSES[c] for c in present)))
        _write_tsv(os.path.join(root, SPLIT_FILES[split]), ("filename", "event_labels"), weak_rows)
    for kind, rows in dense.items():
        _write_tsv(os.path.join(root, DENSE_FILES[kind]), ("filename", "onset", "offset", "event_labels"), rows)
    return root


def main():
    parser = argparse.ArgumentParser(description="Write a synthetic LLP-format (AVVP) data set.")
    parser.add_argument("--out", required=True)
    parser.add_argument("--videos", type=int, nargs=3, default=(8, 4, 4), help="train val test")
    parser.add_argument("--classes", type=int, default=4)
    parser.add_argument("--rate", type=int, default=8000, help="wave sample rate")
    parser.add_argument("--frame_size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    make_synthetic_llp(args.out, tuple(args.videos), args.classes, args.frame_size, args.rate, seed=args.seed)
    print(f"synthetic LLP set ({args.videos} train/val/test videos, {args.classes} classes) written to {args.out}")


if __name__ == "__main__":
    main()
