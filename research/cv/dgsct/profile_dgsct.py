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
"""Per-part profile of the full-size DG-SCT AVE encoder (not a test): where a forward (or a training step) goes.

    python profile_dgsct.py                          # eval forward, 1 thread, every part, MindSpore vs PyTorch
    python profile_dgsct.py --train                  # forward + backward of every part
    python profile_dgsct.py --parts prompt --threads 2
    python profile_dgsct.py --full                   # also one instrumented forward of the whole AVE network
    python profile_dgsct.py --parts --full           # only the whole-network breakdown
    python profile_dgsct.py --parts --full --train   # whole-network training step: forward / backward / Adam per part

Every distinct module of the full-size encoder (Swin-V2-L 192 + HTS-AT AudioSet, one 10-segment clip: B' = 10) is
built once with random weights and timed at its real input shape: the prompt module of each stage and direction
(audio->video, video->audio), one Swin-V2-L block and one HTS-AT block of each stage (shifted and unshifted windows
separately). Each call is timed (median of --repeats, after a warm-up) in wall-clock AND process CPU time, multiplied by
how often the full forward runs it, and summed per part. The same shapes go through the PyTorch equivalents in the
same process at the same thread count (timm 0.6 Swin-V2 / Swin-V1 blocks; tests/torch_prompt_reference.py for the
prompt module, with the official [B', C, N, 1] conv layout), so every row has its own baseline.

--full additionally runs the whole AVE network (random weights) once for warm-up and once timed, with synchronised
timers around every prompt call, Swin-V2 block step, HTS-AT block, patch embedding, patch merging, the audio front
end and the task head (disjoint, so the parts and the untimed rest add up to the measured forward). It needs about
4-5.5 GB and a few minutes in PyNative.

--full --train runs two training steps of the whole network (forward + backward of the task loss + Adam, the
benchmark.py training step) and times the second: the forward per part (the same timers), the backward of every
recomputed block step per part (layers._Recomputed: recomputation + gradient in one compiled graph), with one extra
forward of each of those steps timed apart as the cost of the recomputation, the op-by-op rest of the backward, and
the optimizer. At full size it needs about 12.5 GB and 5 minutes.
"""
import argparse
import os
import resource
import statistics
import sys
import time
from collections import OrderedDict

import numpy as np

MODEL_DIR = os.path.dirname(os.path.abspath(__file__))
SEGMENTS = 10                  # one AVE clip: 10 one-second segments -> B' = 10 frames / waves
AVE_CONFIG = os.path.join(MODEL_DIR, "configs", "ave.yaml")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1, help="kernel threads of MindSpore and of PyTorch")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per module after one warm-up")
    parser.add_argument("--parts", nargs="*", default=["prompt", "swin", "htsat"], choices=["prompt", "swin", "htsat"],
                        help="module kinds to time one by one (none: only --full)")
    parser.add_argument("--train", action="store_true", help="time forward + backward instead of the eval forward (with --full: whole training steps)")
    parser.add_argument("--no-torch", dest="torch", action="store_false", help="skip the PyTorch baseline")
    parser.add_argument("--full", action="store_true", help="also profile one forward (with --train: one training step) of the whole AVE network")
    parser.add_argument("--batch", type=int, default=SEGMENTS, help="B' (frames per call), 10 = one AVE clip")
    parser.add_argument("--config", default=AVE_CONFIG, help="network profiled by --full (default: full-size AVE)")
    return parser.parse_args()


def set_threads(threads):
    """Same thread count for both frameworks; OMP_NUM_THREADS must be set before either is imported."""
    os.environ["OMP_NUM_THREADS"] = str(threads)
    import mindspore as ms
    ms.set_device("CPU")
    ms.set_context(mode=ms.PYNATIVE_MODE)
    ms.device_context.cpu.op_tuning.threads_num(threads)
    try:
        import torch
        torch.set_num_threads(threads)
    except ImportError:
        pass


def timed(fn, repeats):
    """(median wall s, median process-CPU s) of `repeats` calls after one warm-up call, and (wall, CPU) of that
    first call (it includes compiling the block's graph the first time a shape is seen)."""
    first_wall, first_cpu = time.perf_counter(), time.process_time()
    fn()
    first = (time.perf_counter() - first_wall, time.process_time() - first_cpu)
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), first


def sync(out):
    """MindSpore runs asynchronously: fetch every output to host so the timer covers the computation (numbers and
    None, e.g. the zero gradients of constant arguments, are skipped)."""
    if isinstance(out, (tuple, list)):
        for item in out:
            sync(item)
    elif hasattr(out, "asnumpy"):
        out.asnumpy()


class Layout:
    """Full-size AVE shapes: per stage the Swin / HTS-AT dims, token grids, depths and heads."""

    def __init__(self):
        from src.backbones.htsat import HTSATConfig
        from src.backbones.swin_v2 import SwinV2Config
        self.swin = SwinV2Config.large_192()
        self.htsat = HTSATConfig.audioset()
        self.v_dims = self.swin.stage_dims()
        self.v_res = [r[0] for r in self.swin.stage_resolutions()]
        grid = self.htsat.spec_size // self.htsat.patch_size
        self.a_dims = [self.htsat.embed_dim * 2 ** s for s in range(len(self.htsat.depths))]
        self.a_res = [grid // 2 ** s for s in range(len(self.htsat.depths))]


def _rand(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# ---------------------------------------------------------------------------------------------------- module cases
def prompt_cases(layout, batch):
    """(name, count, build_ms, build_torch, inputs) per stage and direction; p1 and p2 modules share the shapes."""
    cases = []
    for s, pairs in enumerate(layout.htsat.depths):
        v = (layout.v_dims[s], layout.v_res[s] ** 2)
        a = (layout.a_dims[s], layout.a_res[s] ** 2)
        for direction, own, guide in (("A2V", v, a), ("V2A", a, v)):
            inputs = (_rand((batch, own[1], own[0]), 1), _rand((batch, guide[1], guide[0]), 2))
            cases.append((f"stage {s + 1} {direction} [{batch},{own[1]},{own[0]}]", 2 * pairs,
                          _prompt_builder(own, guide), _torch_prompt_builder(own, guide), inputs))
    return cases


def _prompt_builder(own, guide):
    def build():
        import mindspore as ms
        from src.dgsct.prompt import CrossModalPrompt, PromptConfig
        module = CrossModalPrompt(own[0], own[1], guide[0], guide[1], PromptConfig(), use_gate=True)
        module.gate.set_data(ms.Tensor([0.5], ms.float32))        # non-zero gates: nothing is trivially zero
        module.gate_av.set_data(ms.Tensor([0.5], ms.float32))
        return module
    return build


def _torch_prompt_builder(own, guide):
    def build(ms_module):
        sys.path.insert(0, os.path.join(MODEL_DIR, "tests"))
        from torch_prompt_reference import TorchPrompt
        module = TorchPrompt(own[0], own[1], guide[0], guide[1], contiguous=False)   # the official layout
        return module.load_mindspore({p.name: p.asnumpy() for p in ms_module.get_parameters()})
    return build


def _block_cases(cfg, dims, resolutions, batch, builder, torch_builder):
    """One case per stage and window kind (shifted windows exist only where the grid is larger than the window)."""
    cases = []
    for s, depth in enumerate(cfg.depths):
        res, dim, heads = resolutions[s], dims[s], cfg.num_heads[s]
        shifts = [0, cfg.window_size // 2] if res > cfg.window_size else [0]
        for shift in shifts:
            cases.append((f"stage {s + 1} {'shifted' if shift else 'plain'} [{batch},{res * res},{dim}]",
                          depth // len(shifts), builder(dim, res, heads, cfg.window_size, shift),
                          torch_builder(dim, res, heads, cfg.window_size, shift), (_rand((batch, res * res, dim)),)))
    return cases


def swin_cases(layout, batch):
    return _block_cases(layout.swin, layout.v_dims, layout.v_res, batch, _swin_builder, _timm_swin_builder)


def htsat_cases(layout, batch):
    return _block_cases(layout.htsat, layout.a_dims, layout.a_res, batch, _htsat_builder, _timm_swin_v1_builder)


def _swin_builder(dim, res, heads, window, shift):
    def build():
        from src.backbones.swin_v2 import SwinV2Block
        return SwinV2Block(dim, (res, res), heads, window, shift, drop_path=0.1)
    return build


def _timm_swin_builder(dim, res, heads, window, shift):
    def build(_):
        from timm.models.swin_transformer_v2 import SwinTransformerBlock
        return SwinTransformerBlock(dim, (res, res), heads, window_size=window, shift_size=shift, drop_path=0.1)
    return build


def _htsat_builder(dim, res, heads, window, shift):
    def build():
        from src.backbones.htsat import HTSATBlock
        return HTSATBlock(dim, (res, res), heads, window, shift, 4.0, 0.1)
    return build


def _timm_swin_v1_builder(dim, res, heads, window, shift):
    def build(_):
        from timm.models.swin_transformer import SwinTransformerBlock
        return SwinTransformerBlock(dim, (res, res), heads, window_size=window, shift_size=shift, drop_path=0.1)
    return build


PART_CASES = OrderedDict([("prompt", prompt_cases), ("swin", swin_cases), ("htsat", htsat_cases)])
PART_TITLES = {"prompt": "prompt modules", "swin": "Swin-V2-L blocks", "htsat": "HTS-AT blocks",
               "embed": "patch embeddings", "merge": "patch merging", "frontend": "audio front end (STFT, log-mel)",
               "head": "task head (temporal block + CMBS for AVE)"}


# ---------------------------------------------------------------------------------------------------- timing
def ms_call(module, inputs, train, trainable):
    """A closure running one MindSpore call (forward, or forward + backward of sum(out * w))."""
    import mindspore as ms
    tensors = [ms.Tensor(x) for x in inputs]
    module.set_train(train)
    if not train:
        return lambda: sync(module(*tensors))
    if not trainable:     # frozen like the backbones of the real network: no weight gradients to compute
        for param in module.get_parameters():
            param.requires_grad = False
    params = list(module.trainable_params()) if trainable else None

    def loss(*args):
        out = module(*args)
        out = out[0] if isinstance(out, tuple) else out
        return (out * out).mean()
    grad_fn = ms.value_and_grad(loss, grad_position=tuple(range(len(tensors))), weights=params)
    return lambda: sync(grad_fn(*tensors))


def torch_call(module, inputs, train, trainable):
    import torch
    module.train(train)
    if not train:
        tensors = [torch.tensor(x) for x in inputs]

        def forward():
            with torch.no_grad():
                module(*tensors)
        return forward
    for p in module.parameters():
        p.requires_grad_(trainable)

    def step():
        tensors = [torch.tensor(x, requires_grad=True) for x in inputs]
        out = module(*tensors)
        out = out[0] if isinstance(out, tuple) else out
        (out * out).mean().backward()
        module.zero_grad(set_to_none=True)
    return step


def count_flops(fn):
    """Floating-point operations of one call of a PyTorch closure (matmuls and convolutions, forward and backward, as
    torch.utils.flop_counter counts them: 2 per multiply-add); the MindSpore module does the same products."""
    from torch.utils.flop_counter import FlopCounterMode
    counter = FlopCounterMode(display=False)
    with counter:
        fn()
    return counter.get_total_flops()


def matmul_peak(threads, size=2048, repeats=5):
    """Measured fp32 matmul rate, GFLOP per CPU-second (per core) and per wall second, best of `repeats` square
    [size x size] products in MindSpore and in PyTorch (the larger is taken as the machine's peak)."""
    import mindspore as ms
    from mindspore import ops
    a = _rand((size, size))
    flops = 2.0 * size ** 3
    best = {}
    ms_a = ms.Tensor(a)
    calls = {"MindSpore": lambda: ops.matmul(ms_a, ms_a).asnumpy()}
    try:
        import torch
        t_a = torch.tensor(a)
        calls["PyTorch"] = lambda: torch.matmul(t_a, t_a)
    except ImportError:
        pass
    for name, fn in calls.items():
        fn()
        cpu_rates, wall_rates = [], []
        for _ in range(repeats):
            wall, cpu = time.perf_counter(), time.process_time()
            fn()
            cpu_rates.append(flops / max(time.process_time() - cpu, 1e-9) / 1e9)
            wall_rates.append(flops / (time.perf_counter() - wall) / 1e9)
        best[name] = (max(cpu_rates), max(wall_rates))
    return best


def profile_parts(args, layout):
    try:
        import torch  # noqa: F401
        have_torch = args.torch
    except ImportError:
        have_torch = False
    rows, totals = [], OrderedDict()
    for part in args.parts:
        totals[part] = [0.0] * 7
        for name, count, build_ms, build_torch, inputs in PART_CASES[part](layout, args.batch):
            module = build_ms()
            trainable = part == "prompt"          # the backbones are frozen: only their input gradient is needed
            ms_wall, ms_cpu, (first_wall, first_cpu) = timed(ms_call(module, inputs, args.train, trainable),
                                                             args.repeats)
            t_wall = t_cpu = flops = float("nan")
            if have_torch:
                torch_fn = torch_call(build_torch(module), inputs, args.train, trainable)
                t_wall, t_cpu, _ = timed(torch_fn, args.repeats)
                flops = count_flops(torch_fn)
            rows.append((PART_TITLES[part], name, count, ms_wall, ms_cpu, t_wall, t_cpu, first_wall, first_cpu, flops))
            # the first call of a shape compiles its graph once for every block of that shape
            for i, value in enumerate((ms_wall, ms_cpu, t_wall, t_cpu)):
                totals[part][i] += count * value
            totals[part][4] += first_wall - ms_wall
            totals[part][5] += first_cpu - ms_cpu
            totals[part][6] += count * flops
            print(f"  measured {part} {name}: MindSpore {ms_wall * 1e3:.1f} ms, PyTorch {t_wall * 1e3:.1f} ms",
                  file=sys.stderr, flush=True)
            del module
    return rows, totals


def print_parts(rows, totals, args, peak):
    what = "forward + backward" if args.train else "eval forward"
    print(f"\n### Per call ({what}, B' = {args.batch}, {args.threads} thread(s); median of {args.repeats})\n")
    print("| part | module, input shape | calls per clip | MindSpore wall ms | MindSpore CPU ms | PyTorch wall ms | "
          "PyTorch CPU ms | MS / torch (CPU) | MindSpore first call (compile) wall s | GFLOP per call |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for part, name, count, ms_wall, ms_cpu, t_wall, t_cpu, first_wall, _, flops in rows:
        print(f"| {part} | {name} | {count} | {ms_wall * 1e3:.1f} | {ms_cpu * 1e3:.1f} | {t_wall * 1e3:.1f} | "
              f"{t_cpu * 1e3:.1f} | {ms_cpu / t_cpu:.2f} | {first_wall:.1f} | {flops / 1e9:.2f} |")
    print(f"\n### Per part, one clip (calls per clip x per-call time)\n")
    peak_cpu = max(rate[0] for rate in peak.values())
    print("| part | MindSpore wall s | MindSpore CPU s | PyTorch wall s | PyTorch CPU s | MS / torch (CPU) | "
          "extra wall s of the first calls (compile) | GFLOP | MindSpore GFLOP per CPU s | % of matmul peak | "
          "PyTorch % of peak |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    sums = [0.0] * 7
    for part, values in list(totals.items()) + [("all", None)]:
        if values is None:
            part, values = "all measured parts", sums
        else:
            sums = [a + b for a, b in zip(sums, values)]
            part = PART_TITLES[part]
        gflop = values[6] / 1e9
        print(f"| {part} | {values[0]:.2f} | {values[1]:.2f} | {values[2]:.2f} | {values[3]:.2f} | "
              f"{values[1] / values[3]:.2f} | {values[4]:.1f} | {gflop:.0f} | {gflop / values[1]:.1f} | "
              f"{100 * gflop / values[1] / peak_cpu:.0f} % | {100 * gflop / values[3] / peak_cpu:.0f} % |")
    rates = ", ".join(f"{name} {cpu:.1f} GFLOP per CPU s ({wall:.1f} per wall s)" for name, (cpu, wall) in peak.items())
    print(f"\nfp32 matmul peak measured here (2048^3, {args.threads} thread(s), best of 5): {rates}; "
          f"% of peak = GFLOP / CPU s / {peak_cpu:.1f}")


# ---------------------------------------------------------------------------------------------------- full forward
class PartTimer:
    """Synchronised wall / CPU timers keyed by part; wraps bound methods of cells (PyNative only)."""

    def __init__(self):
        self.wall = OrderedDict()
        self.cpu = OrderedDict()

    def wrap(self, part, fn):
        def timed_call(*args, **kwargs):
            wall, cpu = time.perf_counter(), time.process_time()
            out = fn(*args, **kwargs)
            sync(out)
            self.wall[part] = self.wall.get(part, 0.0) + time.perf_counter() - wall
            self.cpu[part] = self.cpu.get(part, 0.0) + time.process_time() - cpu
            return out
        return timed_call

    def reset(self):
        self.wall.clear()
        self.cpu.clear()


def instrument(encoder, timer, head=None):
    """Route every prompt call, Swin block step and HTS-AT block, and the embeddings, audio front end, patch merging
    and task head, through the timer (instance attributes)."""
    for name in ("vis_adapter_blocks_p1", "vis_adapter_blocks_p2", "audio_adapter_blocks_p1",
                 "audio_adapter_blocks_p2"):
        for module in getattr(encoder, name):
            object.__setattr__(module, "construct", timer.wrap("prompt", module.construct))
    for stage in encoder.swin.stages:
        for blk in stage.blocks:      # an unpaired block's construct runs these two (wrapping it too would count twice)
            for method in ("attn_residual", "mlp_residual"):
                object.__setattr__(blk, method, timer.wrap("swin", getattr(blk, method)))
    for stage in encoder.htsat.stages:
        for blk in stage.blocks:
            object.__setattr__(blk, "construct", timer.wrap("htsat", blk.construct))
    for backbone in (encoder.swin, encoder.htsat):
        object.__setattr__(backbone, "embed", timer.wrap("embed", backbone.embed))
        for stage in backbone.stages:
            if stage.downsample is not None:
                object.__setattr__(stage.downsample, "construct", timer.wrap("merge", stage.downsample.construct))
    frontend = encoder.htsat.frontend
    object.__setattr__(frontend, "construct", timer.wrap("frontend", frontend.construct))
    if head is not None:
        object.__setattr__(head, "construct", timer.wrap("head", head.construct))


def profile_full(args):
    import mindspore as ms
    from src.config import load_config
    from src.dgsct.encoder import set_train_mode
    from src.dgsct.model import build_network
    from src.tasks import example_training_batch
    cfg = load_config(args.config, [])
    start = time.perf_counter()
    net, task = build_network(cfg)
    build_s = time.perf_counter() - start
    set_train_mode(net, False)
    inputs, _ = example_training_batch(task, 1, np.random.default_rng(0))
    timer = PartTimer()
    instrument(net.encoder, timer, getattr(net, "head", None))
    warm, warm_cpu = time.perf_counter(), time.process_time()
    sync(net(*inputs))
    warm, warm_cpu = time.perf_counter() - warm, time.process_time() - warm_cpu
    timer.reset()
    wall, cpu = time.perf_counter(), time.process_time()
    sync(net(*inputs))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"\n### Whole network ({os.path.relpath(args.config, MODEL_DIR)}), one clip, eval forward, PyNative, "
          f"{args.threads} thread(s)\n")
    print(f"build {build_s:.1f} s, first forward (compiles the block graphs) {warm:.1f} s wall, {warm_cpu:.1f} s CPU\n")
    print("| part | wall s | CPU s | share of the forward (CPU) |")
    print("| --- | --- | --- | --- |")
    for part in timer.wall:
        print(f"| {PART_TITLES[part]} | {timer.wall[part]:.2f} | {timer.cpu[part]:.2f} | "
              f"{100 * timer.cpu[part] / cpu:.1f} % |")
    # the timers are disjoint (no timed call runs inside another), so the rest is what none of them covers
    rest_wall, rest_cpu = wall - sum(timer.wall.values()), cpu - sum(timer.cpu.values())
    print(f"| rest (swin.norm, pooling, reshapes) | {rest_wall:.2f} | {rest_cpu:.2f} | "
          f"{100 * rest_cpu / cpu:.1f} % |")
    print(f"| whole forward | {wall:.2f} | {cpu:.2f} | 100 % |")


# ---------------------------------------------------------------------------------------------------- full training step
# which part a recomputed block step belongs to (layers._Recomputed.step_name); the MLP step is shared by both
# backbones: its last argument, post_norm, is True for Swin-V2 (res-post-norm) and False for HTS-AT (pre-norm)
STEP_PARTS = {"swin_v2_attn_branch": "swin", "htsat_attn_branch": "htsat", "prompt_front": "prompt",
              "prompt_eval": "prompt"}


def step_part(cell, inputs):
    if cell.step_name == "mlp_branch":
        return "swin" if inputs[-1] else "htsat"
    return STEP_PARTS.get(cell.step_name, cell.step_name)


def thread_cpu_seconds():
    """{thread name: CPU seconds so far} of this process's threads (Linux /proc; {} elsewhere). MindSpore runs its
    kernels and its dispatch queues on threads of its own, so the process CPU time is more than the wall time even
    with one kernel thread."""
    totals = {}
    task_dir = "/proc/self/task"
    if not os.path.isdir(task_dir):
        return totals
    ticks = os.sysconf("SC_CLK_TCK")
    for tid in os.listdir(task_dir):
        try:
            with open(f"{task_dir}/{tid}/comm", encoding="utf-8") as comm, \
                    open(f"{task_dir}/{tid}/stat", encoding="utf-8") as stat:
                name, fields = comm.read().strip(), stat.read().rsplit(")", 1)[1].split()
        except OSError:               # the thread ended meanwhile
            continue
        totals[name] = totals.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / ticks   # utime + stime
    return totals


def instrument_backward(backward, recompute):
    """Time the backward of every recomputed block step (layers._Recomputed.bprop: the recomputation + vector-Jacobian
    product in one compiled graph) per part into `backward`, and, apart, one extra forward of the same step with the
    same inputs into `recompute` (what the recomputation inside it costs; not counted in `backward`). Patches the
    class before the network is built."""
    from mindspore.graph.api import _no_grad
    from src.backbones import layers
    original = layers._Recomputed.bprop

    def bprop(self, *args):
        inputs = args[:-2]
        part = step_part(self, inputs)
        with _no_grad():
            recompute.wrap(part, self.forward)(*inputs)
        return backward.wrap(part, lambda: original(self, *args))()
    layers._Recomputed.bprop = bprop


def profile_full_train(args):
    """Two training steps (forward + backward + Adam) of the whole network, the second timed per part."""
    from mindspore import nn
    from src.config import load_config
    from src.dgsct.encoder import set_train_mode
    from src.dgsct.model import build_network
    from src.tasks import example_training_batch
    from src.trainer import GradNet, LossNet
    backward, recompute, forward = PartTimer(), PartTimer(), PartTimer()
    instrument_backward(backward, recompute)
    cfg = load_config(args.config, [])
    start = time.perf_counter()
    net, task = build_network(cfg)
    build_s = time.perf_counter() - start
    task.freeze(net)
    set_train_mode(net, True)
    optimizer = nn.Adam(net.trainable_params(), learning_rate=cfg.train.lr)
    loss_net = LossNet(net, task.build_loss(), len(task.input_columns))
    grad_net = GradNet(loss_net, optimizer.parameters)
    inputs, labels = example_training_batch(task, 1, np.random.default_rng(0))
    instrument(net.encoder, forward, getattr(net, "head", None))
    whole = PartTimer()          # the whole forward (loss included), the whole grad call, the optimizer
    object.__setattr__(loss_net, "construct", whole.wrap("forward", loss_net.construct))

    def step():
        values, grads = whole.wrap("forward + backward", grad_net)(*inputs, *labels)
        whole.wrap("optimizer", optimizer)(grads)
        return values

    first, first_cpu = time.perf_counter(), time.process_time()
    step()
    first, first_cpu = time.perf_counter() - first, time.process_time() - first_cpu
    for timer in (forward, backward, recompute, whole):
        timer.reset()
    threads_before = thread_cpu_seconds()
    wall, cpu = time.perf_counter(), time.process_time()
    step()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    threads = {name: t - threads_before.get(name, 0.0) for name, t in thread_cpu_seconds().items()}
    # the extra recompute forwards ran inside the timed step but are not part of it
    wall -= sum(recompute.wall.values())
    cpu -= sum(recompute.cpu.values())
    bwd_wall = whole.wall["forward + backward"] - whole.wall["forward"] - sum(recompute.wall.values())
    bwd_cpu = whole.cpu["forward + backward"] - whole.cpu["forward"] - sum(recompute.cpu.values())
    print(f"\n### Whole network ({os.path.relpath(args.config, MODEL_DIR)}), one clip, training step (forward + "
          f"backward + Adam), PyNative, {args.threads} thread(s)\n")
    print(f"build {build_s:.1f} s, first step (compiles the forward and backward graphs) {first:.1f} s wall, "
          f"{first_cpu:.1f} s CPU; peak RSS after it {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20:.2f}"
          f" GB\n")
    print("| part | forward wall s | forward CPU s | backward wall s | backward CPU s | of which recompute CPU s "
          "(one extra forward of the steps, timed apart) | forward + backward CPU s | share of the step (CPU) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    parts = list(forward.wall) + [p for p in backward.wall if p not in forward.wall]
    for part in parts:
        f_wall, f_cpu = forward.wall.get(part, 0.0), forward.cpu.get(part, 0.0)
        b_wall, b_cpu = backward.wall.get(part, 0.0), backward.cpu.get(part, 0.0)
        print(f"| {PART_TITLES.get(part, part)} | {f_wall:.2f} | {f_cpu:.2f} | {b_wall:.2f} | {b_cpu:.2f} | "
              f"{recompute.cpu.get(part, 0.0):.2f} | {f_cpu + b_cpu:.2f} | {100 * (f_cpu + b_cpu) / cpu:.1f} % |")
    # the forward timers are disjoint, and so are the backward ones: the rest is what none of them covers
    rest_f_wall = whole.wall["forward"] - sum(forward.wall.values())
    rest_f_cpu = whole.cpu["forward"] - sum(forward.cpu.values())
    rest_b_wall, rest_b_cpu = bwd_wall - sum(backward.wall.values()), bwd_cpu - sum(backward.cpu.values())
    print(f"| rest (forward: swin.norm, pooling, loss; backward: every op-by-op gradient, e.g. the prompt bottleneck's "
          f"BatchNorm, drop path, merging, embeddings, head) | {rest_f_wall:.2f} | {rest_f_cpu:.2f} | "
          f"{rest_b_wall:.2f} | {rest_b_cpu:.2f} | | {rest_f_cpu + rest_b_cpu:.2f} | "
          f"{100 * (rest_f_cpu + rest_b_cpu) / cpu:.1f} % |")
    print(f"| whole forward / whole backward | {whole.wall['forward']:.2f} | {whole.cpu['forward']:.2f} | "
          f"{bwd_wall:.2f} | {bwd_cpu:.2f} | {sum(recompute.cpu.values()):.2f} | "
          f"{whole.cpu['forward'] + bwd_cpu:.2f} | {100 * (whole.cpu['forward'] + bwd_cpu) / cpu:.1f} % |")
    print(f"| optimizer (Adam, {sum(p.size for p in optimizer.parameters):,} parameters) | | | "
          f"{whole.wall['optimizer']:.2f} | {whole.cpu['optimizer']:.2f} | | {whole.cpu['optimizer']:.2f} | "
          f"{100 * whole.cpu['optimizer'] / cpu:.1f} % |")
    print(f"| whole step (wall / CPU) | | | | | | {wall:.2f} / {cpu:.2f} | 100 % |")
    busy = sorted(((t, name) for name, t in threads.items() if t >= 0.01), reverse=True)
    print("\nCPU seconds per thread during the timed step, extra recompute forwards included (python = the main "
          "thread): " + ", ".join(f"{name} {t:.2f}" for t, name in busy))


def main():
    args = parse_args()
    sys.path.insert(0, MODEL_DIR)
    set_threads(args.threads)
    load_before = os.getloadavg()
    layout = Layout()
    if args.parts:
        peak = matmul_peak(args.threads)
        rows, totals = profile_parts(args, layout)
        print_parts(rows, totals, args, peak)
    if args.full:
        (profile_full_train if args.train else profile_full)(args)
    print(f"\n{os.cpu_count()} CPUs; load average (1/5/15 min) before {load_before[0]:.2f}/{load_before[1]:.2f}/"
          f"{load_before[2]:.2f}, after {os.getloadavg()[0]:.2f}; peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20:.2f} GB")


if __name__ == "__main__":
    main()
