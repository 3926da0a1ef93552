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
"""scripts/common.sh new_run_dir: the training scripts start from an empty run folder, except that with --resume
they keep its checkpoint folder (the run continues from its last checkpoint)."""
import subprocess
from pathlib import Path

import pytest

COMMON = Path(__file__).resolve().parents[1] / "scripts" / "common.sh"


def _new_run_dir(run, *args):
    subprocess.run(["bash", "-c", f'source "{COMMON}"; CKPT_SUBDIR=checkpoints new_run_dir "$@"', "_", str(run),
                    *args], check=True, timeout=60)


@pytest.mark.parametrize("args,kept", [((), False), (("--epochs=2",), False), (("--resume",), True),
                                       (("--resume=true",), True), (("--resume=false",), False)])
def test_new_run_dir_keeps_the_checkpoints_only_when_resuming(tmp_path, args, kept):
    run = tmp_path / "train_standalone"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "sparcode-e0000.ckpt").write_text("x")
    (run / "log.txt").write_text("old log")
    _new_run_dir(run, *args)
    assert run.is_dir() and not (run / "log.txt").exists()
    assert (run / "checkpoints" / "sparcode-e0000.ckpt").exists() is kept
