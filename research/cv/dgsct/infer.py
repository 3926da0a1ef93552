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
"""Run an exported DG-SCT MindIR on a data set and compute eval.py's metrics (no checkpoint, no network code).

python infer.py --file_name=dgsct_ave [--data.root=DIR] [--data.eval_split=test] [--metrics_file=infer.json]

Reads <file_name>.mindir and the <file_name>.yaml export.py wrote beside it. The MindIR's batch is
export.batch_size: batches are cut to that size and the last, partial one is padded with copies of its last
sample, whose outputs are dropped, so every clip is scored exactly once.
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
import mindspore as ms
from mindspore import nn

from src.atomic_file import write_text
from src.config import load_config
from src.tasks import bind_task
from src.trainer import evaluate


class FixedBatchGraph:
    """The exported graph as `evaluate` calls it: any batch up to the exported size (padded, outputs trimmed).
    Outputs whose first axis is batch x k (e.g. frames flattened into the batch) keep their first n x k rows."""

    def __init__(self, path, batch_size, num_inputs):
        if not Path(path).is_file():
            raise FileNotFoundError(f"exported MindIR not found: {path} (run export.py first)")
        self.graph = nn.GraphCell(ms.load(str(path)))
        self.batch_size = batch_size
        self.num_inputs = num_inputs

    def set_train(self, mode=False):
        if mode:
            raise ValueError("an exported MindIR only runs inference")

    def __call__(self, *inputs):
        inputs = [x.asnumpy() for x in inputs[:self.num_inputs]]    # the network inputs (not the mixup weights)
        n = inputs[0].shape[0]
        if n > self.batch_size:
            raise ValueError(f"batch of {n} clips but the MindIR was exported for {self.batch_size} "
                             "(--export.batch_size)")
        if n < self.batch_size:
            inputs = [np.concatenate([x, np.repeat(x[-1:], self.batch_size - n, axis=0)]) for x in inputs]
        outputs = self.graph(*[ms.Tensor(x) for x in inputs])
        outputs = outputs if isinstance(outputs, (tuple, list)) else (outputs,)
        trimmed = []
        for out in outputs:
            rows = out.shape[0]
            if rows % self.batch_size:
                raise ValueError(f"MindIR output of shape {out.shape}: first axis is not a multiple of the batch "
                                 f"{self.batch_size}")
            trimmed.append(out[:n * (rows // self.batch_size)])
        return tuple(trimmed)


def main(argv=None):
    parser = argparse.ArgumentParser(description="DG-SCT MindIR inference", allow_abbrev=False)
    parser.add_argument("--file_name", required=True, help="the --file_name given to export.py")
    parser.add_argument("--metrics_file", default="")
    args, overrides = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    prefix = args.file_name[:-len(".mindir")] if args.file_name.endswith(".mindir") else args.file_name
    config_path = Path(prefix + ".yaml")
    if not config_path.is_file():
        raise FileNotFoundError(f"{config_path} not found: infer.py reads the config export.py wrote beside "
                                f"{prefix}.mindir")
    cfg = load_config(config_path, overrides)
    ms.set_device(cfg.device_target)
    ms.set_context(mode=ms.GRAPH_MODE)
    task = bind_task(cfg)
    num_graph_inputs = len(task.example_inputs(1))
    batch = int(cfg.export.batch_size)
    graph = FixedBatchGraph(prefix + ".mindir", batch, num_graph_inputs)
    dataset, _ = task.build_data(cfg.data.eval_split, batch, False)
    result, _ = evaluate(graph, dataset, task)
    result.update(task=cfg.task, split=cfg.data.eval_split, mindir=prefix + ".mindir", batch_size=batch)
    print(json.dumps(result, indent=1))
    if args.metrics_file:
        write_text(args.metrics_file, json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
