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
"""Run the commands the README shows, as written: read them from the README's code blocks and run them with bash
in a folder that looks like the model folder (symlinks to its entry points, src/, configs/, scripts/)."""
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

MODEL_DIR = Path(__file__).resolve().parents[1]
LINKED = ("src", "configs", "scripts", "train.py", "eval.py", "export.py", "infer.py", "convert_weights.py",
          "preprocess.py", "plot_shots.py", "benchmark.py", "count_params.py")


def readme_commands(readme="README.md"):
    """Command lines of the README's fenced blocks (continuations joined, trailing comments dropped)."""
    blocks, current = [], None
    for line in (MODEL_DIR / readme).read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            if current is None:
                current = [] if line.strip() in ("```", "```bash", "```shell") else False
            else:
                if current is not False:
                    blocks.append("\n".join(current))
                current = None
        elif current is not None and current is not False:
            current.append(line)
    lines = []
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            if line and not line.startswith("#"):
                lines.append(re.sub(r"\s+", " ", line))
    return lines


def readme_line(prefix, contains=""):
    """The one README command that starts with `prefix` and contains `contains` (fails if the README lost it; the
    same line shown in two places counts once)."""
    found = list(dict.fromkeys(line for line in readme_commands() if line.startswith(prefix) and contains in line))
    assert len(found) == 1, f"README.md should show exactly one command '{prefix} ... {contains} ...', found {found}"
    return found[0]


def model_workdir(path):
    """`path` made to look like the model folder (symlinks), so README commands with relative paths run there."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    for name in LINKED:
        if (MODEL_DIR / name).exists() and not (path / name).exists():
            (path / name).symlink_to(MODEL_DIR / name)
    return path


def run_shell(line, cwd, timeout=600, env=None):
    """Run one command line with bash in `cwd`; `python` is this interpreter (its folder first on PATH)."""
    full_env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
                    GLOG_v="3", **(env or {}))
    return subprocess.run(["bash", "-c", line], cwd=cwd, env=full_env, capture_output=True, text=True,
                          timeout=timeout)


def wait_for(path, seconds=900):
    """The content of `path` once a background job (the training scripts' exit_status) has written it."""
    end = time.time() + seconds
    while time.time() < end:
        if path.is_file() and path.read_text().strip():
            return path.read_text().strip()
        time.sleep(1)
    raise AssertionError(f"{path} not written within {seconds} s")


def run_lines(lines, cwd, timeout=900):
    """Run README command lines in order in `cwd` with 1 kernel thread; fail naming the line and its output.
    Returns the stdout of the last line."""
    for line in lines:
        result = run_shell(line, cwd, timeout=timeout, env={"OMP_NUM_THREADS": "1"})
        assert result.returncode == 0, f"{line}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def free_port(first):
    """The first port from `first` on that nothing listens on and that can be bound now (msrun's master port: the CI
    runs the two model suites at the same time, and both start msrun jobs)."""
    for port in range(first, first + 200):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {first}..{first + 199}")
