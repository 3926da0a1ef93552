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
"""Benchmark (not a test): training step time / samples/s, inference clips/s and peak memory per task.

python benchmark.py                                                        # the tiny config of every task, GRAPH_MODE
python benchmark.py --configs configs/ave.yaml --batch 1 --mode pynative   # full size (Swin-V2-L + HTS-AT)
python benchmark.py --configs configs/ave.yaml --batch 1 --set data.num_segments=4 --max_rss_gb 20
python benchmark.py --configs configs/ave.yaml --batch 1 --steps 1 --mode pynative --threads 1 --eval_only
python benchmark.py --configs configs/fewshot_ave.yaml --batch 1 --steps 1 --mode pynative --threads 1   # CLIP + CLAP

Each config runs in its own subprocess (so peak RSS is per model); inputs are random tensors of the config's shapes
with valid labels (src/tasks/base.py example_training_batch); the first (compiling) call of the training step and of the
evaluation forward is timed separately; every timed call is reported in wall-clock and in process CPU seconds (all
threads of the child), with --threads kernel threads (MindSpore op threads and OMP_NUM_THREADS). The parent kills a
child whose memory (resident + swapped out: on a machine short of memory the kernel swaps a large process out, and
its resident size alone then stays under any limit) passes --max_rss_gb and reports the row as over the limit. Prints one markdown table with
the load average of the machine. "frames" are the frames of one clip (one per 1-s segment, each with its wave; AVQA
passes as many negative frames besides; a grounding sample is one positive/negative frame pair with one wave).
A few-shot config whose vocabularies / AVE class names are absent gets stand-in files (src/data/fewshot_synthetic.py
stand_in_files: synthetic vocabularies in the released layouts, the real AVE class names of ../shared if present).
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

ALL_TINY = ["configs/tiny/ave.yaml", "configs/tiny/avvp.yaml", "configs/tiny/avs_s4.yaml", "configs/tiny/avs_ms3.yaml",
            "configs/tiny/avqa.yaml", "configs/tiny/avqa_grounding.yaml"]


# the vocabulary (embedding and answer sizes) of an AVQA network comes from avqa-train.json
DEFAULT_AVQA_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "shared", "data",
                                 "av", "MUSIC-AVQA")
# the class names of a few-shot AVE network (its CLIP prompts and CLAP class texts)
DEFAULT_AVE_ROOT = os.path.join(os.path.dirname(DEFAULT_AVQA_ROOT), "AVE")


def avqa_data(cfg, avqa_root, workdir):
    """Point an AVQA config at a folder with avqa-train.json: `avqa_root` (the real file gives the official 93 words
    and 42 answers) or, if it has none, a generated synthetic set. The vocabulary is saved under `workdir`."""
    from src.data.avqa_synthetic import make_synthetic_avqa
    if not (os.path.isfile(os.path.join(avqa_root, "avqa-train.json"))
            or os.path.isfile(os.path.join(avqa_root, "json", "avqa-train.json"))):
        avqa_root = os.path.join(workdir, "synthetic_avqa")
        make_synthetic_avqa(avqa_root, image_size=cfg.data.image_size, sample_rate=cfg.data.audio_rate)
    cfg.data.root = avqa_root
    cfg.ckpt_path = workdir
    return avqa_root


def measure(config_path, overrides, steps, batch, avqa_root, mode, threads=0, eval_only=False):
    if threads:
        os.environ["OMP_NUM_THREADS"] = str(threads)     # before MindSpore starts its thread pools
    import mindspore as ms
    from mindspore import nn
    from src.config import load_config
    from src.dgsct.encoder import count_parameters, set_train_mode
    from src.dgsct.model import build_network
    from src.tasks import example_training_batch
    from src.trainer import GradNet, LossNet

    ms.set_device("CPU")
    ms.set_context(mode=ms.GRAPH_MODE if mode == "graph" else ms.PYNATIVE_MODE)
    if threads:
        ms.device_context.cpu.op_tuning.threads_num(threads)
    cfg = load_config(config_path, [f"--{o}" for o in overrides])
    workdir = tempfile.mkdtemp(prefix="dgsct_benchmark_")
    vocabulary = avqa_data(cfg, avqa_root, workdir) if cfg.task == "avqa" else ""
    generated = ""
    if cfg.task == "fewshot":
        from src.data.fewshot_synthetic import stand_in_files
        generated = stand_in_files(cfg, workdir, DEFAULT_AVE_ROOT)
    start = time.time()
    net, task = build_network(cfg)
    build = time.time() - start
    task.freeze(net)
    trainable, total = count_parameters(net)
    optimizer = nn.Adam(net.trainable_params(), learning_rate=cfg.train.lr)
    grad_net = GradNet(LossNet(net, task.build_loss(), len(task.input_columns)), optimizer.parameters)
    inputs, labels = example_training_batch(task, batch, np.random.default_rng(0))

    def train_step():
        values, grads = grad_net(*inputs, *labels)
        optimizer(grads)
        return float(values[0].asnumpy())

    def infer():
        return net(*inputs)[0].asnumpy()

    nan = float("nan")
    first_train = first_train_cpu = train_step_s = train_cpu_s = nan
    train_rss = nan
    if not eval_only:
        set_train_mode(net, True)
        first_train, first_train_cpu, train_step_s, train_cpu_s = _timed(train_step, steps)
        train_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20
    set_train_mode(net, False)
    first_eval, first_eval_cpu, infer_s, infer_cpu_s = _timed(infer, steps)
    return dict(config=config_path + "".join(f" {o}" for o in overrides), task=cfg.task, batch=batch, mode=mode,
                threads=threads, frames=int(inputs[0].shape[1]), trainable=trainable, total=total, build_s=build,
                first_train_s=first_train, first_train_cpu_s=first_train_cpu, train_peak_rss_gb=train_rss,
                train_step_s=train_step_s, train_cpu_s=train_cpu_s, samples_per_s=batch / train_step_s,
                first_eval_s=first_eval, first_eval_cpu_s=first_eval_cpu, eval_s=infer_s, eval_cpu_s=infer_cpu_s,
                clips_per_s=batch / infer_s, vocabulary_from=vocabulary, generated=generated,
                peak_rss_gb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20)


def _timed(fn, steps):
    """(wall and process-CPU seconds of the first call, mean wall and mean process-CPU seconds of the next `steps`
    calls)."""
    start, cpu = time.perf_counter(), time.process_time()
    fn()
    first, first_cpu = time.perf_counter() - start, time.process_time() - cpu
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        fn()
    return first, first_cpu, (time.perf_counter() - start) / steps, (time.process_time() - cpu) / steps


def _rss_gb(pid):
    """Resident + swapped-out memory of process `pid` in GiB (0 when it has exited)."""
    kib = 0
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(("VmRSS:", "VmSwap:")):
                    kib += int(line.split()[1])
    except OSError:
        pass
    return kib / 2 ** 20


def run_child(config, args):
    """Run one config in a subprocess, killing it above --max_rss_gb; returns (result dict or None, message)."""
    cmd = [sys.executable, os.path.abspath(__file__), "--child", config, "--steps", str(args.steps),
           "--batch", str(args.batch), "--avqa_root", args.avqa_root, "--mode", args.mode,
           "--threads", str(args.threads), *(["--eval_only"] if args.eval_only else []), "--set", *args.set]
    log_path = f"{args.log_prefix}{os.path.basename(config).replace('.yaml', '')}.log"
    peak = 0.0
    with open(log_path, "w", encoding="utf-8") as log:
        child = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, text=True)
        while child.poll() is None:
            peak = max(peak, _rss_gb(child.pid))
            if args.max_rss_gb and peak > args.max_rss_gb:
                child.kill()
                child.wait()
                return None, f"killed: resident + swapped memory passed {args.max_rss_gb:g} GB"
            time.sleep(0.5)
    with open(log_path, encoding="utf-8") as log:
        lines = log.read().splitlines()
    results = [l for l in lines if l.startswith("RESULT ")]
    if not results:
        return None, f"failed (exit {child.returncode}), see {log_path}: " + " | ".join(lines[-3:])
    return json.loads(results[-1][7:]), ""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=ALL_TINY)
    parser.add_argument("--set", nargs="*", default=[], help="config overrides section.key=value for every config")
    parser.add_argument("--steps", type=int, default=5, help="timed calls after the first (compiling) one")
    parser.add_argument("--batch", type=int, default=2, help="clips per batch")
    parser.add_argument("--mode", choices=("graph", "pynative"), default="graph",
                        help="graph: compiled (fast; on CPU it keeps far more memory); pynative: eager")
    parser.add_argument("--threads", type=int, default=0,
                        help="kernel threads (MindSpore op threads + OMP_NUM_THREADS); 0 = MindSpore's default")
    parser.add_argument("--eval_only", action="store_true", help="skip the training step (evaluation forward only)")
    parser.add_argument("--max_rss_gb", type=float, default=20.0,
                        help="kill a config above this memory (GB, resident + swapped out)")
    parser.add_argument("--log_prefix", default="benchmark_", help="per-config log file prefix")
    parser.add_argument("--avqa_root", default=DEFAULT_AVQA_ROOT,
                        help="MUSIC-AVQA folder with avqa-train.json for the AVQA vocabulary (else a synthetic set)")
    parser.add_argument("--child", default="")
    args = parser.parse_args()
    if args.child:
        print("RESULT " + json.dumps(measure(args.child, args.set, args.steps, args.batch, args.avqa_root, args.mode,
                                             args.threads, args.eval_only)), flush=True)
        return
    load_before = os.getloadavg()[0]
    notes = []
    print("| config | mode | threads | frames x clips | trainable / total params | build s | "
          "first train step (compile) wall / CPU s | train step s | train step CPU s | train peak RSS GB | "
          "first eval (compile) wall / CPU s | eval s | eval CPU s | peak RSS GB |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for config in args.configs:
        r, message = run_child(config, args)
        if r is None:
            print(f"| {config} {' '.join(args.set)} | {args.mode} | {message} |", flush=True)
            continue
        if r["vocabulary_from"]:
            notes.append(f"{r['config']}: AVQA vocabulary from {os.path.normpath(r['vocabulary_from'])}")
        if r["generated"]:
            notes.append(f"{r['config']}: {r['generated']}")
        print(f"| {r['config']} | {r['mode']} | {r['threads'] or 'default'} | {r['frames']} x {r['batch']} | "
              f"{r['trainable']:,} / {r['total']:,} | {r['build_s']:.1f} | {r['first_train_s']:.1f} / "
              f"{r['first_train_cpu_s']:.1f} | {r['train_step_s']:.2f} | {r['train_cpu_s']:.2f} | "
              f"{r['train_peak_rss_gb']:.2f} | {r['first_eval_s']:.1f} / {r['first_eval_cpu_s']:.1f} | "
              f"{r['eval_s']:.2f} | {r['eval_cpu_s']:.2f} | {r['peak_rss_gb']:.2f} |", flush=True)
    print(f"\n{os.cpu_count()} CPUs; 1-min load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after; "
          f"{args.steps} timed calls per row" + "".join(f"\n{n}" for n in notes))


if __name__ == "__main__":
    main()
