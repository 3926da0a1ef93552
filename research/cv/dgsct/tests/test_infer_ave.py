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
"""export.py (configurable batch) -> infer.py on the exported MindIR reproduces eval.py on the tiny AVE set."""
import json
from pathlib import Path

import numpy as np
import pytest
import mindspore as ms

import infer as infer_script
from readme_commands import model_workdir, readme_line, run_shell
from src.checkpoint import TrainProgress, save_training_checkpoint
from src.config import load_config
from src.data.synthetic import generate
from src.dgsct.model import build_network

TINY = Path(__file__).resolve().parents[1] / "configs" / "tiny" / "ave.yaml"


def _open_gates(net):
    for cell in (net.encoder.vis_adapter_blocks_p1, net.encoder.audio_adapter_blocks_p2):
        for module in cell:                # the prompt modules take part in the outputs
            module.gate.set_data(ms.Tensor([0.3], ms.float32))


def _tiny(line):
    """A README line on the full-size AVE config, run on the tiny one (the only change)."""
    assert "configs/ave.yaml" in line
    return line.replace("configs/ave.yaml", "configs/tiny/ave.yaml")


def _run(line, work):
    result = run_shell(line, work)
    assert result.returncode == 0, f"{line}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def test_readme_eval_export_infer_agree(tmp_path):
    work = model_workdir(tmp_path)
    # 22 videos: 5 test clips, so the MindIR (batch 4) gets one full and one padded batch
    generate(work / "data" / "AVE", num_videos=22, num_classes=4, rate=8000, frames_per_video=10, frame_size=40)
    ms.set_seed(3)
    net, _ = build_network(load_config(TINY))
    _open_gates(net)
    save_training_checkpoint(work / "best.ckpt", net, None, load_config(TINY), TrainProgress(0, 0))
    _run(_tiny(readme_line("python eval.py --config_path=configs/ave.yaml")), work)
    expected = json.loads((work / "metrics.json").read_text())
    assert len(list((work / "plots").glob("*.png"))) == 5
    _run(_tiny(readme_line("python export.py --config_path=configs/ave.yaml")), work)
    assert (work / "dgsct_ave.mindir").is_file() and (work / "dgsct_ave.yaml").is_file()
    _run(readme_line("python infer.py"), work)
    got = json.loads((work / "infer_metrics.json").read_text())
    assert got["batch_size"] == 4 and got["split"] == expected["split"] == "test"
    assert got["accuracy"] == pytest.approx(expected["accuracy"], abs=1e-12)
    with pytest.raises(FileNotFoundError, match="run export.py first"):
        infer_script.FixedBatchGraph(tmp_path / "missing.mindir", 3, 2)


def test_fixed_batch_graph_pads_and_trims(tmp_path):
    class Double(ms.nn.Cell):
        def construct(self, x, y):
            return x * 2, (x + y).reshape(-1, 1)            # second output: batch x 5 rows

    x = ms.Tensor(np.zeros((4, 5), np.float32))
    ms.export(Double(), x, x, file_name=str(tmp_path / "double"), file_format="MINDIR")
    graph = infer_script.FixedBatchGraph(tmp_path / "double.mindir", 4, 2)
    a = np.arange(10, dtype=np.float32).reshape(2, 5)
    first, second = graph(ms.Tensor(a), ms.Tensor(a), ms.Tensor(np.ones((2, 1), np.float32)))
    np.testing.assert_array_equal(first.asnumpy(), 2 * a)
    np.testing.assert_array_equal(second.asnumpy(), (2 * a).reshape(-1, 1))
    with pytest.raises(ValueError, match="exported for 4"):
        graph(ms.Tensor(np.zeros((5, 5), np.float32)), ms.Tensor(np.zeros((5, 5), np.float32)))
