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
"""2-worker msrun data-parallel run on CPU: both ranks end with bit-identical weights, EMA buffers included."""
import os
import re
import shutil
import socket
import subprocess
import sys

import pytest

from conftest import MODEL_DIR, TINY_CONFIG

DIGEST = re.compile(r"rank (\d)/2 final parameter digest ([0-9a-f]{64})")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_worker_msrun_keeps_ranks_identical(tmp_path):
    venv_bin = os.path.dirname(sys.executable)
    msrun = os.path.join(venv_bin, "msrun")
    if not os.path.isfile(msrun):
        msrun = shutil.which("msrun")
    if msrun is None:
        pytest.skip("msrun is not installed beside this python")
    env = dict(os.environ)
    env["PATH"] = venv_bin + os.pathsep + env.get("PATH", "")     # msrun starts the bare word `python`
    for var in ("MS_ROLE", "RANK_ID", "RANK_SIZE"):
        env.pop(var, None)
    log_dir, ckpt_dir = tmp_path / "log", tmp_path / "ckpt"
    cmd = [msrun, "--worker_num=2", "--local_worker_num=2", f"--master_port={_free_port()}",
           f"--log_dir={log_dir}", "--join=True", os.path.join(MODEL_DIR, "train.py"),
           f"--config_path={TINY_CONFIG}", f"--ckpt_path={ckpt_dir}", "--epochs=1", "--log_every=20",
           "--dead_code_threshold=0.0"]
    proc = subprocess.run(cmd, cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=900)
    logs = {p.name: p.read_text(errors="replace") for p in log_dir.glob("*.log")}
    tails = "\n".join(f"--- {name}\n{text[-3000:]}" for name, text in logs.items())
    assert proc.returncode == 0, f"msrun failed ({proc.returncode}):\n{proc.stderr[-3000:]}\n{tails}"
    digests = {}
    for name in ("worker_0.log", "worker_1.log"):
        found = DIGEST.findall(logs.get(name, ""))
        assert found, f"no parameter digest in {name}:\n{tails}"
        rank, digest = found[-1]
        digests[int(rank)] = digest
    assert set(digests) == {0, 1}
    assert digests[0] == digests[1], digests
    # side effects on rank 0 only: one set of checkpoints, one index
    assert sorted(p.name for p in ckpt_dir.glob("*.ckpt")) == ["best.ckpt", "sparcode-e0000.ckpt"]
    assert (ckpt_dir / "index.npz").is_file()
    assert "2 rank(s)" in logs["worker_0.log"]
