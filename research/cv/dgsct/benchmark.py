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
"""Benchmark (not a test): training step time / samples/s, inference clips/s and peak memory, GRAPH_MODE.

python benchmark.py [--configs configs/tiny/ave.yaml configs/ave.yaml] [--steps 5] [--batch 2]
Each config runs in its own subprocess (so peak RSS is per model); random inputs of the config's shapes; the first
(compiling) step is timed separately. Prints one markdown table.
"""
import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np


def measure(config_path, steps, batch):
    import mindspore as ms
    from mindspore import nn
    from src.config import load_config
    from src.dgsct.encoder import count_parameters, freeze_backbones
    from src.dgsct.model import build_network
    from src.trainer import GradNet, LossNet

    ms.set_device("CPU")
    ms.set_context(mode=ms.GRAPH_MODE)
    cfg = load_config(config_path)
    net, task = build_network(cfg)
    freeze_backbones(net.encoder)
    trainable, total = count_parameters(net)
    optimizer = nn.Adam(net.trainable_params(), learning_rate=cfg.train.lr)
    grad_net = GradNet(LossNet(net, task.build_loss(cfg), 2), optimizer.parameters)
    rng = np.random.default_rng(0)
    frames, waves = (ms.Tensor(rng.standard_normal(x.shape).astype(np.float32) * 0.1)
                     for x in task.example_inputs(cfg, batch))
    labels = np.zeros((batch, cfg.data.num_segments, cfg.head.cmbs.num_classes + 1), np.float32)
    labels[:, :, 0] = 1
    labels = ms.Tensor(labels)
    net.set_train(True)
    start = time.time()
    _, grads = grad_net(frames, waves, labels)
    optimizer(grads)
    first_train = time.time() - start
    start = time.time()
    for _ in range(steps):
        _, grads = grad_net(frames, waves, labels)
        optimizer(grads)
    step = (time.time() - start) / steps
    net.set_train(False)
    start = time.time()
    net(frames, waves)[0].asnumpy()
    first_eval = time.time() - start
    start = time.time()
    for _ in range(steps):
        net(frames, waves)[0].asnumpy()
    infer = (time.time() - start) / steps
    return dict(config=config_path, batch=batch, trainable=trainable, total=total, first_train_s=first_train,
                train_step_s=step, samples_per_s=batch / step, first_eval_s=first_eval, clips_per_s=batch / infer,
                peak_rss_gb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=["configs/tiny/ave.yaml", "configs/ave.yaml"])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--child", default="")
    args = parser.parse_args()
    if args.child:
        print("RESULT " + json.dumps(measure(args.child, args.steps, args.batch)))
        return
    rows = []
    for config in args.configs:
        out = subprocess.run([sys.executable, __file__, "--child", config, "--steps", str(args.steps),
                              "--batch", str(args.batch)], capture_output=True, text=True, check=False)
        lines = [l for l in out.stdout.splitlines() if l.startswith("RESULT ")]
        if not lines:
            print(f"{config}: failed\n{out.stderr[-2000:]}")
            continue
        rows.append(json.loads(lines[-1][7:]))
    print("| config | batch (clips) | trainable / total params | first train step (compile) s | train step s | "
          "train samples/s | first eval (compile) s | inference clips/s | peak RSS GB |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['config']} | {r['batch']} | {r['trainable']:,} / {r['total']:,} | {r['first_train_s']:.1f} | "
              f"{r['train_step_s']:.2f} | {r['samples_per_s']:.2f} | {r['first_eval_s']:.1f} | {r['clips_per_s']:.2f} | "
              f"{r['peak_rss_gb']:.2f} |")


if __name__ == "__main__":
    main()
