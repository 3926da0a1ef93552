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
"""CPU forward-time benchmark of the full-size DG-SCT backbones (not a test; run it once, on a quiet machine).

    python benchmark_backbones.py                        # all backbones, GRAPH_MODE and PYNATIVE
    python benchmark_backbones.py --backbones swinv2_l192 --modes graph --repeats 3

For every (backbone, mode) a fresh subprocess builds the model (eval mode, random weights), times one 1-second
segment (batch 1) and one 10-segment clip (batch 10) after a warm-up call per shape (the warm-up includes graph
compilation in GRAPH_MODE, reported separately), and reports its peak resident memory (ru_maxrss).

Adding a backbone = one entry in BACKBONES: a builder and a function making the input of `n` segments.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections import OrderedDict

import numpy as np

SEGMENTS_PER_CLIP = 10


def _swin_v2_l192():
    from src.backbones.swin_v2 import SwinV2, SwinV2Config
    return SwinV2(SwinV2Config.large_192())


def _swin_v2_tiny():
    from src.backbones.swin_v2 import SwinV2, SwinV2Config
    return SwinV2(SwinV2Config.tiny())


def _frames(n, size=192):
    """n segments = n video frames of 3 x size x size (one frame per 1-s segment)."""
    return np.random.default_rng(0).standard_normal((n, 3, size, size)).astype(np.float32)


def _htsat():
    from src.backbones.htsat import HTSAT, HTSATConfig
    return HTSAT(HTSATConfig.audioset())


def _htsat_frontend():
    from src.backbones.audio_frontend import AudioFrontend
    return AudioFrontend()      # defaults = the AudioSet front end (STFT, log-mel, bn0, resize, fold)


def _htsat_tiny():
    from src.backbones.htsat import HTSAT, HTSATConfig
    return HTSAT(HTSATConfig.tiny())


def _waves(n, samples=320000):
    """n segments = n waveforms: DG-SCT tiles each 1-s segment's audio to HTS-AT's 10-s (32 kHz) input."""
    return (0.1 * np.random.default_rng(0).standard_normal((n, samples))).astype(np.float32)


# name -> (builder, make_input(n_segments), description)
BACKBONES = OrderedDict([
    ("swinv2_l192", (_swin_v2_l192, _frames, "Swin-V2-L 192px, 1 frame per segment")),
    ("swinv2_tiny", (_swin_v2_tiny, lambda n: _frames(n, 64), "tiny config, smoke run of this script only")),
    ("htsat", (_htsat, _waves, "HTS-AT AudioSet incl. front end, one 10-s waveform per segment")),
    ("htsat_frontend", (_htsat_frontend, _waves, "HTS-AT front end alone, one 10-s waveform per segment")),
    ("htsat_tiny", (_htsat_tiny, lambda n: _waves(n, 16000), "tiny config, smoke run of this script only")),
])
DEFAULT_BACKBONES = [name for name in BACKBONES if not name.endswith("_tiny")]


def worker(name, mode, repeats):
    """Runs in a subprocess: build, warm up, time; prints one JSON line."""
    import mindspore as ms
    ms.set_device("CPU")
    ms.set_context(mode=ms.GRAPH_MODE if mode == "graph" else ms.PYNATIVE_MODE)
    builder, make_input, _ = BACKBONES[name]
    start = time.perf_counter()
    net = builder()
    net.set_train(False)
    result = {"backbone": name, "mode": mode, "build_s": time.perf_counter() - start}
    for label, n in (("segment", 1), ("clip", SEGMENTS_PER_CLIP)):
        x = ms.Tensor(make_input(n))
        start = time.perf_counter()
        out = net(x)
        _block(out)
        result[f"{label}_first_s"] = time.perf_counter() - start     # includes compilation in GRAPH_MODE
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            _block(net(x))
            times.append(time.perf_counter() - start)
        result[f"{label}_s"] = float(np.median(times))
    result["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
    print("RESULT " + json.dumps(result), flush=True)


def _block(out):
    """Force execution (MindSpore may launch asynchronously): fetch every output to host."""
    if isinstance(out, (tuple, list)):
        for item in out:
            _block(item)
    else:
        out.asnumpy()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbones", nargs="*", default=DEFAULT_BACKBONES, choices=list(BACKBONES))
    parser.add_argument("--modes", nargs="*", default=["graph", "pynative"], choices=["graph", "pynative"])
    parser.add_argument("--repeats", type=int, default=2, help="timed calls per shape after the warm-up")
    parser.add_argument("--worker", nargs=2, metavar=("BACKBONE", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], args.worker[1], args.repeats)
        return 0

    rows = []
    for name in args.backbones:
        for mode in args.modes:
            cmd = [sys.executable, os.path.abspath(__file__), "--worker", name, mode, "--repeats", str(args.repeats)]
            proc = subprocess.run(cmd, capture_output=True, text=True, cwd=os.path.dirname(os.path.abspath(__file__)),
                                  check=False)
            lines = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
            if proc.returncode != 0 or not lines:
                print(f"{name} / {mode} failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
                continue
            rows.append(json.loads(lines[-1][len("RESULT "):]))
            print(f"done: {name} / {mode}", flush=True)

    print(f"\nCPU: {os.cpu_count()} logical cores; median of {args.repeats} calls after one warm-up per shape; "
          f"clip = {SEGMENTS_PER_CLIP} segments in one batch")
    header = ("| backbone | mode | build (s) | 1st segment call (s) | per segment (s) | 1st clip call (s) | "
              "per 10-segment clip (s) | peak RSS (GB) |")
    print(header)
    print("|---" * (header.count("|") - 1) + "|")
    for r in rows:
        print(f"| {r['backbone']} | {r['mode']} | {r['build_s']:.1f} | {r['segment_first_s']:.2f} | "
              f"{r['segment_s']:.2f} | {r['clip_first_s']:.2f} | {r['clip_s']:.2f} | {r['peak_rss_gb']:.2f} |")
    return 0 if len(rows) == len(args.backbones) * len(args.modes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
