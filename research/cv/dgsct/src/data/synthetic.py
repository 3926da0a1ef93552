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
"""AVE data pipeline: a small synthetic AVE-format dataset (JPEG frames, .npy waves and the original text files).

Each video has one event class c on a random segment range [start, end). Inside the event the frames show the
class's coloured shape (colour and shape depend on c) and the audio is the class's tone pair; outside it the frames
are grey noise and the audio is quiet noise, so both modalities carry the class and the event boundaries.
Tones are log-spaced below the Nyquist frequency, so any number of classes stays distinct at any sample rate.
Command line: python -m src.data.synthetic --out DIR [--videos 48] [--classes 4] [--rate 8000] [--segments 10]
[--frame_size 80] [--frames 20]  (the real data is 10 s at 32 kHz; the tiny config uses 8 kHz to stay fast).
"""
import argparse
from pathlib import Path

import numpy as np
from PIL import Image

SPLITS = (("trainSet.txt", 0.6), ("valSet.txt", 0.2), ("testSet.txt", 0.2))


def class_colour(index, num_classes):
    hue = index / num_classes
    rgb = np.array([np.cos(2 * np.pi * (hue + k / 3)) for k in range(3)]) * 0.5 + 0.5
    return (rgb * 220 + 20).astype(np.uint8)


def draw_frame(rng, size, cls, num_classes, event, segment):
    """uint8 [size, size, 3]: noise background; during the event a class-coloured disc or square that drifts."""
    frame = rng.integers(90, 140, size=(size, size, 3)).astype(np.uint8)
    if not event:
        return frame
    yy, xx = np.mgrid[0:size, 0:size]
    centre = size * (0.3 + 0.04 * segment), size * 0.5
    radius = size * 0.28
    if cls % 2 == 0:
        mask = (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 < radius ** 2
    else:
        mask = (np.abs(yy - centre[0]) < radius) & (np.abs(xx - centre[1]) < radius)
    frame[mask] = class_colour(cls, num_classes)
    return frame


def class_tone(cls, num_classes, rate):
    """Base frequency of class cls: log-spaced in [150 Hz, 0.9 * Nyquist / 2.5] (the 2.5x overtone stays valid)."""
    high = 0.9 * rate / 2 / 2.5
    return 150.0 * (high / 150.0) ** (cls / max(1, num_classes - 1))


def make_audio(rng, rate, cls, start, end, num_classes=4, num_segments=10):
    """num_segments seconds of float32: quiet noise; in event seconds two class-specific tones."""
    wave = 0.02 * rng.standard_normal(num_segments * rate)
    t = np.arange(rate) / rate
    base = class_tone(cls, num_classes, rate)
    tone = 0.4 * np.sin(2 * np.pi * base * t) + 0.2 * np.sin(2 * np.pi * 2.5 * base * t)
    for second in range(start, end):
        wave[second * rate:(second + 1) * rate] += tone
    return wave.astype(np.float32)


def generate(out_dir, num_videos=48, num_classes=4, rate=8000, frames_per_video=20, frame_size=80, seed=0,
             num_segments=10):
    """Write the dataset under out_dir (clips of num_segments seconds); returns the list of class names."""
    rng = np.random.default_rng(seed)
    out = Path(out_dir)
    (out / "frames").mkdir(parents=True, exist_ok=True)
    (out / "wave").mkdir(parents=True, exist_ok=True)
    classes = [f"Synthetic event {k}" for k in range(num_classes)]
    lines = []
    for index in range(num_videos):
        cls = index % num_classes
        start = int(rng.integers(0, max(1, num_segments - 4)))      # events of >= 3 s (shorter clips: to the end)
        end = int(rng.integers(min(start + 3, num_segments), num_segments + 1))
        video_id = f"syn{index:05d}"
        folder = out / "frames" / video_id
        folder.mkdir(exist_ok=True)
        for number in range(1, frames_per_video + 1):
            segment = min((number - 1) * num_segments // frames_per_video, num_segments - 1)
            frame = draw_frame(rng, frame_size, cls, num_classes, start <= segment < end, segment)
            Image.fromarray(frame).save(folder / f"{number:08d}.jpg", quality=90)
        np.save(out / "wave" / f"{video_id}.npy", make_audio(rng, rate, cls, start, end, num_classes, num_segments))
        lines.append(f"{classes[cls]}&{video_id}&good&{start}&{end}")
    (out / "Annotations.txt").write_text("Category&VideoID&Quality&StartTime&EndTime\n" + "\n".join(lines) + "\n")
    (out / "categories.txt").write_text("\n".join(classes) + "\n")
    order = rng.permutation(num_videos)
    first = 0
    for index, (name, share) in enumerate(SPLITS):
        count = num_videos - first if index == len(SPLITS) - 1 else int(round(share * num_videos))
        chosen = sorted(order[first:first + count])
        (out / name).write_text("".join(lines[i] + "\n" for i in chosen))
        first += count
    return classes


def parse_args(description, argv=None, parents=()):
    """The command line of the synthetic AVE set (also used by src/data/fewshot_synthetic.py, which adds its own
    options through `parents`, so that --help lists them too)."""
    parser = argparse.ArgumentParser(description=description, parents=list(parents))
    parser.add_argument("--out", required=True)
    parser.add_argument("--videos", type=int, default=48)
    parser.add_argument("--classes", type=int, default=4)
    parser.add_argument("--rate", type=int, default=8000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--segments", type=int, default=10, help="clip length in seconds")
    parser.add_argument("--frame_size", type=int, default=80)
    parser.add_argument("--frames", type=int, default=20, help="frames per video")
    return parser.parse_args(argv)


def generate_from_args(args):
    generate(args.out, args.videos, args.classes, args.rate, args.frames, args.frame_size, args.seed, args.segments)


def main():
    args = parse_args(__doc__.splitlines()[0])
    generate_from_args(args)
    print(f"synthetic AVE set with {args.videos} videos, {args.classes} classes written to {args.out}")


if __name__ == "__main__":
    main()
