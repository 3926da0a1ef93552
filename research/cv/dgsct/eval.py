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
"""Evaluate a DG-SCT checkpoint: prints the metric, writes JSON (--metrics_file) and per-video PNG timelines (--plot).

python eval.py --config_path=configs/ave.yaml --eval.ckpt=CKPT [--metrics_file=m.json] [--plot=DIR] [--section.key=value]
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
import mindspore as ms
from PIL import Image, ImageDraw

from src.config import load_config
from src.dgsct.model import build_network, load_network_checkpoint
from src.trainer import evaluate


def _colour(label, background):
    if label == background:
        return (200, 200, 200)
    hue = label / max(background, 1)
    rgb = np.array([np.cos(2 * np.pi * (hue + k / 3)) for k in range(3)]) * 0.5 + 0.5
    return tuple(int(c) for c in rgb * 200 + 30)


def plot_timeline(path, video_id, truth, predicted, classes):
    """PNG: one row of ground-truth segments, one of predicted segments, class names in the cells."""
    cell, left, rows = 90, 70, (("GT", truth), ("Pred", predicted))
    image = Image.new("RGB", (left + cell * len(truth) + 10, 30 + 40 * len(rows)), "white")
    draw = ImageDraw.Draw(image)
    draw.text((5, 5), f"{video_id}  (grey = background)", fill="black")
    background = len(classes)
    for row, (name, labels) in enumerate(rows):
        top = 25 + 40 * row
        draw.text((5, top + 12), name, fill="black")
        for t, label in enumerate(labels):
            box = (left + cell * t, top, left + cell * (t + 1) - 2, top + 36)
            draw.rectangle(box, fill=_colour(int(label), background), outline="black")
            text = "bg" if label == background else f"{int(label)}: {classes[int(label)]}"[-12:]
            draw.text((box[0] + 3, top + 12), text, fill="black")
    image.save(path)


def main(argv=None):
    parser = argparse.ArgumentParser(description="DG-SCT evaluation", allow_abbrev=False)
    parser.add_argument("--config_path", required=True)
    parser.add_argument("--metrics_file", default="")
    parser.add_argument("--plot", default="", help="folder for one PNG timeline per video")
    parser.add_argument("--plot_max", type=int, default=16, help="videos to plot for tasks with a plot hook (AVS)")
    args, overrides = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    cfg = load_config(args.config_path, overrides)
    if not cfg.eval.ckpt:
        raise SystemExit("eval.py: set --eval.ckpt=CHECKPOINT")
    ms.set_device(cfg.device_target)
    ms.set_context(mode=ms.GRAPH_MODE if cfg.train.mode == "graph" else ms.PYNATIVE_MODE)
    net, task = build_network(cfg)
    load_network_checkpoint(net, cfg.eval.ckpt)
    dataset, source = task.build_dataset(cfg.data, cfg.data.eval_split, cfg.eval.batch_size, False)
    if task.check_data:
        task.check_data(cfg, source)
    result, records = evaluate(net, dataset, task)
    result.update(task=cfg.task, split=cfg.data.eval_split, checkpoint=cfg.eval.ckpt)
    print(json.dumps(result, indent=1))
    metrics_file = args.metrics_file or cfg.eval.metrics_file
    if metrics_file:
        Path(metrics_file).parent.mkdir(parents=True, exist_ok=True)
        Path(metrics_file).write_text(json.dumps(result, indent=1))
    plot_dir = args.plot or cfg.eval.plot_dir
    if plot_dir and task.plot is not None:      # task-specific figures (AVS: frame / GT / prediction overlays)
        paths = task.plot(source, records, plot_dir, args.plot_max)
        print(f"{len(paths)} figures written to {plot_dir}")
    elif plot_dir:
        Path(plot_dir).mkdir(parents=True, exist_ok=True)
        predicted = np.concatenate([r[0] for r in records])
        truth = np.concatenate([r[1][0] for r in records]).argmax(-1)
        for index, record in enumerate(source.records[:len(predicted)]):
            plot_timeline(Path(plot_dir) / f"{record.video_id}.png", record.video_id, truth[index],
                          predicted[index], source.classes)
        print(f"{len(predicted)} timelines written to {plot_dir}")
    return result


if __name__ == "__main__":
    main()
