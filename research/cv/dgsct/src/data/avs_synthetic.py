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
"""Small synthetic AVSBench-format data set (csv + PNG frames + PNG masks + pickled wave dicts).

Every category c has a colour, a shape and a tone frequency. A video shows two objects of different
categories moving over a textured background; the sound is the tone(s) of the sounding object(s):
- S4: one sounding object for the whole clip, the other object is a silent distractor; the masks cover the
  sounding object only, so telling the two apart needs the audio.
- MS3: each object sounds during a random subset of the 5 seconds (at least one per second); the mask of
  frame t is the union of the objects sounding in second t.
Files follow `src/data/avs.py` exactly (the layout of the AVSBench release), so the real reader is tested.
"""
import argparse
import csv
import os

import numpy as np
from PIL import Image

from .avs import NUM_FRAMES, S4_CATEGORIES, release_paths

SHAPES = ("disk", "square", "diamond")


def _category_style(c):
    """Deterministic colour, shape and tone of category index c."""
    palette = np.array([[230, 40, 40], [40, 200, 60], [50, 80, 230], [230, 200, 30], [200, 50, 220],
                        [30, 210, 210]], np.float32)
    return palette[c % len(palette)], SHAPES[c % len(SHAPES)], 220.0 * 2 ** (c * 7 / 12)


def _shape_mask(size, shape, cy, cx, radius):
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    dy, dx = np.abs(yy - cy), np.abs(xx - cx)
    if shape == "disk":
        return dy ** 2 + dx ** 2 <= radius ** 2
    if shape == "square":
        return np.maximum(dy, dx) <= radius
    return dy + dx <= radius * 1.3


def _tone(freq, seconds, sample_rate, rng):
    t = np.arange(int(seconds * sample_rate), dtype=np.float32) / sample_rate
    return 0.5 * np.sin(2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi)) * (0.75 + 0.25 * np.sin(2 * np.pi * 3 * t))


def _save_png(array, path, mode):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(array).convert(mode).save(path)


def make_synthetic_avsbench(root, variant="s4", videos_per_split=(6, 2, 2), num_categories=3, image_size=64,
                            sample_rate=8000, seed=0):
    """Write a synthetic set in the release layout under `root` (<variant>_meta_data.csv + <variant>_data/);
    returns (data folder, meta csv path).

    videos_per_split: number of videos in train / val / test. Waves are 5 s at `sample_rate` (the real set:
    32 kHz), stored as pickled dicts per split (and per category for S4) like the DG-SCT wave files.
    """
    if variant not in ("s4", "ms3"):
        raise ValueError(f"variant must be 's4' or 'ms3', got {variant!r}")
    if not 2 <= num_categories <= len(S4_CATEGORIES):
        raise ValueError(f"num_categories must be in [2, {len(S4_CATEGORIES)}], got {num_categories}")
    rng = np.random.default_rng(seed)
    root, csv_path = release_paths(root, variant)
    rows, waves = [], {}
    radius = image_size / 7.0
    for split, count in zip(("train", "val", "test"), videos_per_split):
        for v in range(int(count)):
            cats = rng.choice(num_categories, size=2, replace=False)
            name = f"syn{variant}_{split}_{v:04d}"
            category = S4_CATEGORIES[cats[0]]
            if variant == "s4":
                sounding = np.ones((2, NUM_FRAMES), bool)
                sounding[1] = False
            else:
                sounding = rng.random((2, NUM_FRAMES)) < 0.5
                sounding[rng.integers(0, 2, NUM_FRAMES), np.arange(NUM_FRAMES)] = True
            start = rng.uniform(radius, image_size - radius, size=(2, 2))
            step = rng.uniform(-image_size / 20, image_size / 20, size=(2, 2))
            base = rng.uniform(60, 120, size=3).astype(np.float32)
            wave = np.zeros(NUM_FRAMES * sample_rate, np.float32)
            frame_dir = os.path.join(root, "visual_frames", split, category, name) if variant == "s4" else \
                os.path.join(root, "visual_frames", name)
            mask_dir = os.path.join(root, "gt_masks", split, category, name) if variant == "s4" else \
                os.path.join(root, "gt_masks", split, name)
            stem = name if variant == "s4" else name + ".mp4"
            num_masks = 1 if (variant == "s4" and split == "train") else NUM_FRAMES
            for k in range(NUM_FRAMES):
                img = base + rng.normal(0, 12, size=(image_size, image_size, 3)).astype(np.float32)
                mask = np.zeros((image_size, image_size), bool)
                for obj in range(2):
                    color, shape, freq = _category_style(int(cats[obj]))
                    cy, cx = np.clip(start[obj] + k * step[obj], radius, image_size - radius)
                    obj_mask = _shape_mask(image_size, shape, cy, cx, radius)
                    img[obj_mask] = color
                    if sounding[obj, k]:
                        mask |= obj_mask
                        wave[k * sample_rate:(k + 1) * sample_rate] += _tone(freq, 1, sample_rate, rng)
                _save_png(np.clip(img, 0, 255).astype(np.uint8), os.path.join(frame_dir, f"{stem}_{k + 1}.png"), "RGB")
                if k < num_masks:
                    _save_png(mask.astype(np.uint8) * 255, os.path.join(mask_dir, f"{name}_{k + 1}.png"),
                              "1" if variant == "s4" else "P")
            wave += rng.normal(0, 0.02, size=wave.shape).astype(np.float32)
            key = os.path.join(root, "wave", split, category) if variant == "s4" else os.path.join(root, "wave", split)
            waves.setdefault(key, {})[name + ".wav"] = wave
            rows.append([name, "0", category, split] if variant == "s4" else [name, split])
    for folder, table in waves.items():
        os.makedirs(folder, exist_ok=True)
        np.save(os.path.join(folder, "AVS.npy"), table, allow_pickle=True)
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["name", "start_time", "category", "split"] if variant == "s4" else ["name", "split"])
        writer.writerows(rows)
    return root, csv_path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="release folder to create (data.root of the config)")
    parser.add_argument("--variant", choices=("s4", "ms3"), default="s4")
    parser.add_argument("--videos", type=int, nargs=3, default=(6, 2, 2), metavar=("TRAIN", "VAL", "TEST"))
    parser.add_argument("--categories", type=int, default=3)
    parser.add_argument("--image_size", type=int, default=64)
    parser.add_argument("--rate", type=int, default=8000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    _, csv_path = make_synthetic_avsbench(args.out, args.variant, args.videos, args.categories, args.image_size,
                                          args.rate, args.seed)
    print(f"synthetic AVSBench {args.variant.upper()} set ({sum(args.videos)} videos) written to {args.out} "
          f"({csv_path})")


if __name__ == "__main__":
    main()
