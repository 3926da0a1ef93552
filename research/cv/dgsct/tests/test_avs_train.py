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
"""Whole AVS model (tiny Swin-V2 + tiny HTS-AT + DG-SCT modules + AVS head) on the synthetic AVSBench set: the
README's tiny S4 lines run as written (data, train.py, eval.py with plots) and the trained checkpoint has a lower
loss than the initial network; a few training steps lower the loss on MS3 (no README line); MindIR export -> load
gives the same logits."""
from pathlib import Path

import numpy as np
import pytest
import mindspore as ms
from mindspore import nn

from readme_commands import model_workdir, readme_line, run_lines
from src.config import load_config
from src.data.avs_synthetic import make_synthetic_avsbench
from src.dgsct.encoder import freeze_backbones
from src.dgsct.model import build_network
from test_avvp_train import check_trained_run

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "tiny"


def _setup(tmp_path, variant, split="train"):
    """Tiny config + synthetic set -> (cfg, network, task, one batch of the split)."""
    root = str(tmp_path / variant)
    cfg = load_config(CONFIGS / f"avs_{variant}.yaml", [f"--data.root={root}"])
    make_synthetic_avsbench(root, variant, (2, 0, 1), image_size=cfg.data.image_size, sample_rate=cfg.data.audio_rate,
                            seed=4)
    ms.set_seed(0)
    net, task = build_network(cfg)
    freeze_backbones(net.encoder)
    dataset, _ = task.build_data(split, 2, False)
    batch = next(dataset.create_tuple_iterator(num_epochs=1))
    return cfg, net, task, batch


def test_readme_tiny_avs_s4_trains_and_evaluates(pynative, tmp_path):
    """python -m src.data.avs_synthetic --variant s4 ..., python train.py --config_path=configs/tiny/avs_s4.yaml,
    python eval.py ... --plot=outputs/plots_s4, as the README writes them."""
    work = model_workdir(tmp_path)
    stdout = run_lines([readme_line("python -m src.data.avs_synthetic --variant s4"),
                        readme_line("python train.py", "configs/tiny/avs_s4.yaml")], work)
    assert "epoch 2/2" in stdout and "checkpoint: " in stdout
    net, _, _ = check_trained_run(work, "configs/tiny/avs_s4.yaml", lr_check=0.02, export=False)
    params = [p.name for p in net.trainable_params()]
    assert not any(".swin." in n or ".htsat." in n for n in params)     # frozen backbones
    stdout = run_lines([readme_line("python eval.py", "configs/tiny/avs_s4.yaml")], work)
    assert "miou" in stdout.lower()
    assert list((work / "outputs" / "plots_s4").glob("*.png"))


@pytest.mark.parametrize("variant", ["ms3"])
def test_training_steps_lower_the_loss(pynative, tmp_path, variant):
    cfg, model, task, (frames, waves, mixup, masks) = _setup(tmp_path, variant)
    assert masks.shape[1] == (1 if variant == "s4" else 5)     # S4 trains on the annotated first frame only
    model.set_train(True)
    loss_fn = task.build_loss()
    params = model.trainable_params()
    assert not any(p.name.startswith(("encoder.swin.", "encoder.htsat.")) for p in params)   # frozen backbones
    opt = nn.Adam(params, learning_rate=cfg.train.lr)

    def forward():
        return loss_fn(*model(frames, waves, mixup), masks)[0]

    grad_fn = ms.value_and_grad(forward, None, opt.parameters)
    losses = []
    for _ in range(3):
        loss, grads = grad_fn()
        opt(grads)
        losses.append(float(loss.asnumpy()))
    assert np.isfinite(losses).all() and losses[-1] < losses[0] - 0.02, losses


def test_export_mindir_then_load_gives_same_logits(pynative, tmp_path):
    """What export.py does: the whole network (logits first) to MindIR, reloaded with nn.GraphCell."""
    _, net, _, (frames, waves, _, _) = _setup(tmp_path, "s4", split="test")
    net.set_train(False)
    expected = [o.asnumpy() for o in net(frames, waves)]
    path = str(tmp_path / "avs_s4")
    ms.export(net, frames, waves, file_name=path, file_format="MINDIR")
    loaded = nn.GraphCell(ms.load(path + ".mindir"))(frames, waves)
    assert len(loaded) == len(expected) == 9
    for got, want in zip(loaded, expected):
        np.testing.assert_allclose(got.asnumpy(), want, rtol=1e-4, atol=1e-4)
