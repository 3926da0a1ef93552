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
"""Evaluate a DG-SCT checkpoint: prints the metric, writes JSON (--metrics_file) and the task's figures (--plot, for
the tasks that define a `plot` hook: AVE per-video timelines, AVS mask overlays).

python eval.py --config_path=configs/ave.yaml --ckpt_file=CKPT [--metrics_file=m.json] [--plot=DIR] [--section.key=value]
Without --ckpt_file it loads <ckpt_path>/best.ckpt, else <ckpt_path>/last.ckpt (as SparCode's eval.py).
"""
import argparse
import json
import sys

import mindspore as ms

from src.atomic_file import write_text
from src.checkpoint import checkpoint_to_load
from src.config import load_config
from src.config_help import config_help
from src.dgsct.model import build_network, load_network_checkpoint
from src.tasks import TASKS, get_task
from src.trainer import evaluate


def main(argv=None):
    parser = argparse.ArgumentParser(description="DG-SCT evaluation", allow_abbrev=False, epilog=config_help(),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config_path", required=True)
    parser.add_argument("--plot", default="", help="folder for the task's figures (AVE timelines, AVS masks)")
    parser.add_argument("--plot_max", type=int, default=0, help="videos to plot (default: the task's)")
    args, overrides = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    cfg = load_config(args.config_path, overrides)
    plot_dir = args.plot or cfg.eval.plot_dir
    if plot_dir and get_task(cfg.task).plot is None:       # refused before the (long) evaluation
        plotting = sorted(name for name, task in TASKS.items() if task.plot is not None)
        raise SystemExit(f"eval.py: --plot is available for the tasks {plotting}, not for task {cfg.task!r}")
    ckpt_file = checkpoint_to_load(cfg)                    # a missing checkpoint fails before the network is built
    ms.set_device(cfg.device_target)
    ms.set_context(mode=ms.GRAPH_MODE if cfg.train.mode == "graph" else ms.PYNATIVE_MODE)
    net, task = build_network(cfg)
    load_network_checkpoint(net, ckpt_file)
    dataset, source = task.build_data(cfg.data.eval_split, cfg.eval.batch_size, False)
    result, records = evaluate(net, dataset, task)
    result.update(task=cfg.task, split=cfg.data.eval_split, checkpoint=ckpt_file)
    print(json.dumps(result, indent=1))
    if cfg.metrics_file:
        write_text(cfg.metrics_file, json.dumps(result, indent=1))
    if plot_dir:
        paths = task.plot(source, records, plot_dir, args.plot_max or task.plot_max_videos)
        print(f"{len(paths)} figures written to {plot_dir}")
    return result


if __name__ == "__main__":
    main()
