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
"""export.py -> MindIR -> nn.GraphCell gives the checkpoint's logits."""
from pathlib import Path

import numpy as np
import mindspore as ms
from mindspore import nn

import export as export_script
import train as train_script
from src.checkpoint import TrainProgress, save_training_checkpoint
from src.config import load_config
from src.dgsct.model import build_network

TINY = Path(__file__).resolve().parents[1] / "configs" / "tiny" / "ave.yaml"


def test_export_graphcell_matches_checkpoint(tmp_path):
    cfg = load_config(TINY)
    train_script.seed_everything(1)
    ms.set_context(mode=ms.GRAPH_MODE)
    net, task = build_network(cfg)
    for cell in (net.encoder.vis_adapter_blocks_p1, net.encoder.vis_adapter_blocks_p2,
                 net.encoder.audio_adapter_blocks_p1, net.encoder.audio_adapter_blocks_p2):
        for module in cell:                # open the gates so the prompt modules take part in the check
            module.gate.set_data(ms.Tensor([0.3], ms.float32))
            module.gate_av.set_data(ms.Tensor([0.2], ms.float32))
    ckpt = save_training_checkpoint(tmp_path / "net.ckpt", net, None, cfg, TrainProgress(0, 0))
    name = tmp_path / "model"
    export_script.main([f"--config_path={TINY}", f"--ckpt_file={ckpt}", f"--file_name={name}"])
    assert (tmp_path / "model.yaml").is_file()
    rng = np.random.default_rng(0)
    frames = ms.Tensor(rng.standard_normal((1, 10, 3, 32, 32)).astype(np.float32))
    waves = ms.Tensor((0.1 * rng.standard_normal((1, 10, cfg.data.clip_samples))).astype(np.float32))
    net.set_train(False)
    expected = [o.asnumpy() for o in net(frames, waves)]
    graph = nn.GraphCell(ms.load(f"{name}.mindir"))
    got = [o.asnumpy() for o in graph(frames, waves)]
    assert len(got) == len(expected) == 4
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
