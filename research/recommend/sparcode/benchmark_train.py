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
"""Training-speed benchmark: one epoch of SparCode and of the two-tower baseline, with a per-phase profile.

    python benchmark_train.py --config_path=configs/ml100k.yaml --data_path=/path/to/ml-100k [--models=sparcode,two_tower]
                              [--threads=2] [--output=bench_train.json] [--key=value ...]

Without an existing --data_path (MovieLens) the synthetic preset of configs/synthetic_s2.yaml is used instead.
Every model runs in its own process (peak RSS per model), exactly as train.py trains an epoch (Trainer.train_epoch:
dataset iterator, compiled step with Adam and the EMA codebook update, one host read per step). Phases:
  data      building the epoch's batches alone (dataset iterator, no training)
  start     epoch start: k-means codebook init (first VQ epoch) and target_density calibration, if configured
  compile   first train step (graph compilation)
  train     the epoch's train steps: samples/s, wall and process CPU seconds
  valid     the validation pass (brute-force Recall@50 on the valid split) that train.py runs after every epoch
FLOPs per training sample are counted from the layer shapes (matmuls only: every Dense layer with the number of
rows it is applied to per sample, g's first layer as its query part + item part, attention products, the
quantizer's distance and EMA matmuls; backward = 2x the forward MACs of differentiated layers). The fp32 matmul
peak is the best of a 4096^3 numpy matmul and a 4096^3 MindSpore matmul with the same threads, on this machine,
in the same run; "% peak" = FLOPs per sample x samples/s / peak.
"""
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

from src.config import load_config, overrides_to_dict

MODEL_DIR = os.path.dirname(os.path.abspath(__file__))
SYNTHETIC_CONFIG = os.path.join(MODEL_DIR, "configs", "synthetic_s2.yaml")
OPTIONS = {"models": "sparcode,two_tower", "threads": 2, "output": None, "worker": None, "peak_size": 4096}


def parse_args(argv):
    """(options, config path, config overrides): benchmark options are taken out, the rest are config keys."""
    raw = overrides_to_dict(argv)
    opts = {key: raw.pop(key, default) for key, default in OPTIONS.items()}
    opts["threads"] = int(opts["threads"])
    opts["peak_size"] = int(opts["peak_size"])
    config_path = raw.pop("config_path", os.path.join(MODEL_DIR, "configs", "ml100k.yaml"))
    if load_config(config_path).dataset != "synthetic":
        data_path = raw.get("data_path") or load_config(config_path).data_path
        if not data_path or not os.path.isdir(data_path):
            print(f"MovieLens data_path {data_path!r} not found: benchmarking the synthetic preset "
                  f"({os.path.relpath(SYNTHETIC_CONFIG, MODEL_DIR)}) instead", flush=True)
            config_path = SYNTHETIC_CONFIG
            raw.pop("data_path", None)
            raw.pop("processed_path", None)
    return opts, config_path, raw


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# ---------------------------------------------------------------------------------------------- FLOP count
def _dense_layers(cell):
    from mindspore import nn
    return [(name, sub) for name, sub in cell.cells_and_names() if isinstance(sub, nn.Dense)]


def _macs(dense, rows):
    return rows * int(dense.weight.shape[0]) * int(dense.weight.shape[1])


def train_flops_per_sample(model, cfg):
    """Matmul FLOPs of one training sample (forward + backward), from the layer shapes of `model`."""
    k_u, l_hist = int(model.num_query_tokens), int(model.history_len)
    if model.in_batch:      # B candidates shared by the batch: item tokens once per sample, K_u x B pairs
        item_rows, cands = 1, int(cfg.batch_size)
    else:
        item_rows = cands = 1 + int(cfg.num_negatives)
    pairs = k_u * cands
    fwd = 0
    for name, dense in _dense_layers(model.item_tokenizer):
        fwd += _macs(dense, item_rows)
    query = model.query_tokenizer
    for name, dense in _dense_layers(query):
        per_history_item = name.startswith("in_proj") or name.startswith("encoder")
        fwd += _macs(dense, l_hist if per_history_item else 1)
    if getattr(query, "encoder", None) is not None:        # self-attention: QK^T and AV per layer
        fwd += 2 * l_hist * l_hist * int(cfg.embedding_size) * len(query.encoder.layers)
    inter = getattr(model, "interaction", None)
    if inter is None:                                       # two-tower: one dot product per candidate
        fwd += pairs * int(model.token_dim)
    else:
        mlp = getattr(inter, "mlp", inter)
        if hasattr(mlp, "first"):                           # factorised first layer + tail on every pair
            d_t, h1 = int(mlp.token_dim), int(mlp.first.weight.shape[0])
            fwd += k_u * d_t * h1 + item_rows * mlp.num_item_tokens * d_t * h1
            fwd += sum(_macs(dense, pairs) for _, dense in _dense_layers(mlp.rest))
            if mlp is not inter:                            # mlp_dot: the explicit dot path
                fwd += pairs * d_t
        else:                                               # self-attention g on each pair's (1 + K_i) sequence
            seq = 1 + int(inter.num_item_tokens)
            for name, dense in _dense_layers(inter):
                fwd += _macs(dense, pairs if name.startswith("readout") else pairs * seq)
            fwd += 2 * pairs * seq * seq * int(inter.token_dim) * len(inter.encoder.layers)
    no_grad = 0
    quantizer = getattr(model, "quantizer", None)
    if quantizer is not None:                               # nearest codeword (forward) + EMA assignment and sums
        no_grad = 3 * k_u * quantizer.codebook_size * int(model.token_dim)
    return 2 * (3 * fwd + no_grad)


# ---------------------------------------------------------------------------------------------- matmul peak
def matmul_peak(size, threads):
    """Best fp32 GFLOP/s of a size^3 matmul with numpy and with MindSpore (same machine, same threads)."""
    import mindspore as ms
    from mindspore import ops, Tensor
    flops = 2.0 * size ** 3
    a = np.random.default_rng(0).standard_normal((size, size)).astype(np.float32)
    results = {}
    best = float("inf")
    _ = a @ a
    for _ in range(3):
        start = time.perf_counter()
        _ = a @ a
        best = min(best, time.perf_counter() - start)
    results["numpy"] = flops / best / 1e9
    ms.set_context(mode=ms.GRAPH_MODE)
    ms.device_context.cpu.op_tuning.threads_num(threads)
    matmul = ms.jit(ops.matmul)
    t = Tensor(a)
    matmul(t, t).asnumpy()
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        matmul(t, t).asnumpy()
        best = min(best, time.perf_counter() - start)
    results["mindspore"] = flops / best / 1e9
    return results


# ---------------------------------------------------------------------------------------------- one model
def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def run_worker(model_name, config_path, overrides, threads):
    """One epoch of `model_name` as train.py runs it; returns the measurements (dict)."""
    # the run folder the trainer needs (nothing is kept): removed with its contents when the worker returns
    with tempfile.TemporaryDirectory(prefix="benchmark_train_") as run_dir:
        return _measure(model_name, config_path, dict(overrides, model=model_name, ckpt_path=run_dir), threads)


def _measure(model_name, config_path, values, threads):
    """run_worker's measurements with the config `values` (ckpt_path: the temporary run folder)."""
    import mindspore as ms
    from src.data.dataset import build_data, create_train_dataset
    from src.context import set_context
    from src.evaluation import make_validation_fn
    from src.logging_utils import StepLogger, get_logger
    from src.model.factory import build_model
    from src.trainer import Trainer, epoch_seed

    cfg = load_config(config_path, values)
    set_context(cfg)
    ms.device_context.cpu.op_tuning.threads_num(threads)
    ms.set_seed(int(cfg.seed))
    data, data_wall, _ = timed(lambda: build_data(cfg))
    model = build_model(cfg, data.model_meta())
    logger = get_logger()
    trainer = Trainer(cfg, data, model, evaluate_fn=make_validation_fn(cfg, data), logger=logger)
    out = {"model": model_name, "config": os.path.relpath(config_path, MODEL_DIR), "dataset": data.name,
           "train_examples": int(len(data.train_pos)), "batch_size": int(cfg.batch_size),
           "build_data_s": data_wall, "flops_per_sample": train_flops_per_sample(model, cfg),
           "parameters": int(sum(int(np.prod(p.shape)) for p in model.trainable_params()))}
    seed = epoch_seed(cfg.seed, 0)
    n_batches, out["data_s"], _ = timed(lambda: sum(1 for _ in create_train_dataset(data, cfg, seed)
                                                    .create_tuple_iterator(num_epochs=1)))
    _, out["start_s"], _ = timed(lambda: trainer._start_epoch(0))          # pylint: disable=protected-access
    first = next(create_train_dataset(data, cfg, epoch_seed(cfg.seed, 1)).create_tuple_iterator(num_epochs=1))
    step = trainer._step_fn(trainer._vq_active())                       # pylint: disable=protected-access
    _, out["compile_s"], _ = timed(lambda: step(*first)[0].asnumpy())
    step_logger = StepLogger(logger, n_batches, int(cfg.batch_size), log_every=10 ** 9)
    load_before = os.getloadavg()[0]
    record, wall, cpu = timed(lambda: trainer.train_epoch(0, step_logger))
    out.update(steps=int(record["steps"]), train_s=wall, train_cpu_s=cpu, load_before=load_before,
               load_after=os.getloadavg()[0], loss=float(record["loss"]))
    out["samples_per_s"] = record["steps"] * int(cfg.batch_size) / wall
    model.set_train(False)
    metrics, out["valid_s"], _ = timed(lambda: trainer.evaluate_fn(model))
    out["valid_recall@50"] = float(metrics["recall@50"])
    out["peak_rss_mb"] = peak_rss_mb()
    return out


# ---------------------------------------------------------------------------------------------- table
def format_table(rows, peak):
    header = ("| model | samples/s | s/epoch (train) | CPU s / wall s | start s | compile s | valid s | data s | "
              "peak RSS MB | MFLOP/sample | GFLOP/s | % of fp32 matmul peak |")
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for r in rows:
        gflops = r["flops_per_sample"] * r["samples_per_s"] / 1e9
        lines.append(f"| {r['model']} | {r['samples_per_s']:.0f} | {r['train_s']:.1f} | "
                     f"{r['train_cpu_s']:.1f} / {r['train_s']:.1f} | {r['start_s']:.1f} | {r['compile_s']:.1f} | "
                     f"{r['valid_s']:.1f} | {r['data_s']:.2f} | {r['peak_rss_mb']:.0f} | "
                     f"{r['flops_per_sample'] / 1e6:.1f} | {gflops:.1f} | {100 * gflops / peak:.1f} |")
    return "\n".join(lines)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    opts, config_path, overrides = parse_args(argv)
    if opts["worker"]:
        result = run_worker(opts["worker"], config_path, overrides, opts["threads"])
        print("BENCH_JSON " + json.dumps(result), flush=True)
        return result
    rows = []
    for name in [m for m in str(opts["models"]).split(",") if m]:
        cmd = [sys.executable, os.path.abspath(__file__), f"--config_path={config_path}", f"--worker={name}",
               f"--threads={opts['threads']}"] + [f"--{k}={v}" for k, v in overrides.items()]
        proc = subprocess.run(cmd, cwd=MODEL_DIR, capture_output=True, text=True, check=False)
        lines = [line for line in proc.stdout.splitlines() if line.startswith("BENCH_JSON ")]
        if proc.returncode != 0 or not lines:
            sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
            raise SystemExit(f"benchmark worker for model {name!r} failed (exit code {proc.returncode})")
        rows.append(json.loads(lines[-1][len("BENCH_JSON "):]))
        print(f"{name}: {rows[-1]['samples_per_s']:.0f} samples/s", flush=True)
    peaks = matmul_peak(opts["peak_size"], opts["threads"])
    peak = max(peaks.values())
    print(f"\nmachine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, kernel threads "
          f"{opts['threads']}; load average (1 min) {rows[0]['load_before']:.2f} before / "
          f"{rows[-1]['load_after']:.2f} after the timed epochs")
    print(f"config: {rows[0]['config']} ({rows[0]['dataset']}, {rows[0]['train_examples']} train examples, "
          f"batch {rows[0]['batch_size']}) {' '.join(f'--{k}={v}' for k, v in overrides.items())}")
    print(f"fp32 matmul peak ({opts['peak_size']}^3): numpy {peaks['numpy']:.1f} GFLOP/s, "
          f"MindSpore {peaks['mindspore']:.1f} GFLOP/s")
    print(format_table(rows, peak))
    if len(rows) > 1:
        base = rows[-1]
        for r in rows[:-1]:
            print(f"{r['model']} / {base['model']}: {r['samples_per_s'] / base['samples_per_s']:.2f}x samples/s, "
                  f"{r['flops_per_sample'] / base['flops_per_sample']:.1f}x FLOPs per sample")
    if opts["output"]:
        with open(opts["output"], "w", encoding="utf-8") as f:
            json.dump({"rows": rows, "matmul_peak_gflops": peaks, "threads": opts["threads"]}, f, indent=1)
    return rows


if __name__ == "__main__":
    main()
