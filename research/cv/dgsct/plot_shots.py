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
"""Plot few-shot accuracy against the number of shots from several `eval.py --metrics_file` results.

python plot_shots.py --metrics m1.json m2.json ... --out shots.png [--title TEXT]
Each file must hold "accuracy" (%) and "shots" (the few-shot task writes both); one point per file, joined in shot
order on a log2 shot axis. The table of points is printed too.
"""
import argparse
import json
import math
import sys
from pathlib import Path

from PIL import Image, ImageDraw

from src.atomic_file import atomic_output

WIDTH, HEIGHT, MARGIN = 640, 420, 60


def read_points(paths):
    """[(shots, accuracy, path)] sorted by shots; a file without the keys, or two files with the same shot count,
    raise naming the file."""
    points, seen = [], {}
    for path in paths:
        try:
            values = json.loads(Path(path).read_text(encoding="utf-8"))
            shots, accuracy = int(values["shots"]), float(values["accuracy"])
        except FileNotFoundError:
            raise SystemExit(f"{path}: metrics file not found") from None
        except (ValueError, KeyError, TypeError) as err:
            raise SystemExit(f"{path}: not a few-shot metrics file with 'shots' and 'accuracy' ({err})") from None
        if shots < 1:
            raise SystemExit(f"{path}: shots is {shots}; the plot needs k >= 1 shots per class")
        if shots in seen:
            raise SystemExit(f"{path}: shots {shots} already given by {seen[shots]}")
        seen[shots] = path
        points.append((shots, accuracy, str(path)))
    if len(points) < 2:
        raise SystemExit("plot_shots.py: give at least two metrics files (different shot counts)")
    return sorted(points)


def draw(points, title):
    """PIL image: accuracy (0-100 %) against log2(shots)."""
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    pen = ImageDraw.Draw(image)
    left, top, right, bottom = MARGIN, MARGIN // 2, WIDTH - MARGIN // 2, HEIGHT - MARGIN
    pen.rectangle((left, top, right, bottom), outline="black")
    low, high = math.log2(points[0][0]), math.log2(points[-1][0])

    def xy(shots, accuracy):
        x = left + (right - left) * (math.log2(shots) - low) / (high - low)
        return x, bottom - (bottom - top) * accuracy / 100.0

    for accuracy in range(0, 101, 20):
        y = xy(points[0][0], accuracy)[1]
        pen.line((left - 4, y, left, y), fill="black")
        pen.text((left - 30, y - 6), f"{accuracy}", fill="black")
    for shots, _, _ in points:
        x = xy(shots, 0)[0]
        pen.line((x, bottom, x, bottom + 4), fill="black")
        pen.text((x - 4, bottom + 8), str(shots), fill="black")
    pen.text(((left + right) // 2 - 20, bottom + 24), "shots", fill="black")
    pen.text((left, 6), title, fill="black")
    coords = [xy(shots, accuracy) for shots, accuracy, _ in points]
    pen.line(coords, fill=(31, 119, 180), width=2)
    for (x, y), (_, accuracy, _) in zip(coords, points):
        pen.ellipse((x - 4, y - 4, x + 4, y + 4), fill=(31, 119, 180))
        pen.text((x + 6, y - 14), f"{accuracy:.1f}", fill="black")
    return image


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metrics", nargs="+", required=True, help="eval.py --metrics_file outputs")
    parser.add_argument("--out", required=True, help="PNG file")
    parser.add_argument("--title", default="few-shot accuracy (%) against shots per class")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    points = read_points(args.metrics)
    print(f"{'shots':>6s} {'accuracy':>9s}  file")
    for shots, accuracy, path in points:
        print(f"{shots:6d} {accuracy:9.2f}  {path}")
    image = draw(points, args.title)
    with atomic_output(args.out) as tmp:
        image.save(tmp, format="PNG")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
