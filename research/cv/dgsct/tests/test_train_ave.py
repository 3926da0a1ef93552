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
"""Short AVE training on the synthetic set: beats chance, frozen weights unchanged, resume continues the state.

One module fixture trains 1 epoch, then resumes from that checkpoint up to the config's 8 epochs (GRAPH_MODE, tiny config).
Calibration (tiny config, 48 synthetic videos / 4 classes, seed 43, test split of 9 videos, best constant prediction
0.49 = background everywhere): 10 epochs at lr 5e-3 reach 1.00; 2 epochs at lr 2e-3 stay at 0.49. The test
requires accuracy >= best constant prediction + MARGIN on the synthetic test split.
"""
import shutil
from pathlib import Path

import numpy as np
import pytest
import mindspore as ms
from mindspore import nn

import train as train_script
from src.checkpoint import restore_training_checkpoint
from src.config import load_config
from src.data.synthetic import generate
from src.dgsct.encoder import freeze_backbones
from src.dgsct.model import build_network
from src.trainer import evaluate

MODEL_DIR = Path(__file__).resolve().parents[1]
TINY = MODEL_DIR / "configs" / "tiny" / "ave.yaml"
MARGIN = 0.30


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("ave_train")
    generate(root / "data", num_videos=48, num_classes=4, rate=8000)
    common = [f"--config_path={TINY}", f"--data.root={root / 'data'}", f"--ckpt_path={root / 'out'}"]
    train_script.main(common + ["--train.epochs=1"])
    first = root / "epoch1.ckpt"
    shutil.copy(root / "out" / "last.ckpt", first)
    net = train_script.main(common + ["--resume"])          # continues <ckpt_path>/last.ckpt
    ms.set_context(mode=ms.GRAPH_MODE)
    return dict(root=root, common=common, first=first, last=root / "out" / "last.ckpt", net=net)


def _fresh(run_info, extra=()):
    cfg = load_config(TINY, run_info["common"][1:] + list(extra))
    train_script.seed_everything(cfg.train.seed)
    net, task = build_network(cfg)
    freeze_backbones(net.encoder)
    return cfg, net, task


def test_frozen_unchanged_trainable_changed(run):
    _, initial, _ = _fresh(run)            # same seed -> the exact initial weights of the training run
    trained = ms.load_checkpoint(str(run["last"]))
    changed_frozen, unchanged_trainable = [], []
    for name, param in initial.parameters_and_names():
        same = np.array_equal(param.asnumpy(), trained[name].asnumpy())
        if not param.requires_grad and "moving_" not in name and same is False:
            changed_frozen.append(name)
        if param.requires_grad and same:
            unchanged_trainable.append(name)
    assert not changed_frozen
    # every trainable tensor moved, except the never-used ones? none exist in this port: all receive gradients
    assert not unchanged_trainable


def test_beats_chance(run):
    cfg, net, task = _fresh(run)
    from src.dgsct.model import load_network_checkpoint
    load_network_checkpoint(net, run["last"])
    dataset, source = task.build_data("test", 4, False)
    result, records = evaluate(net, dataset, task)
    labels = np.concatenate([r[1][0] for r in records]).argmax(-1).ravel()
    chance = np.bincount(labels).max() / labels.size        # best constant prediction on this split
    print(f"synthetic test accuracy {result['accuracy']:.3f}, best constant {chance:.3f}")
    assert result["accuracy"] >= chance + MARGIN


def test_resume_restores_state_and_continues(run):
    cfg, net, _ = _fresh(run)
    optimizer = nn.Adam(net.trainable_params(), learning_rate=cfg.train.lr)
    epoch, step, _, _ = restore_training_checkpoint(run["first"], net, optimizer)
    saved = ms.load_checkpoint(str(run["first"]))
    assert epoch == 1 and step > 0
    for name, param in net.parameters_and_names():
        assert np.array_equal(param.asnumpy(), saved[name].asnumpy()), name
    for param in optimizer.moment1:
        assert np.array_equal(param.asnumpy(), saved[param.name].asnumpy())
    assert optimizer.global_step.asnumpy().item() == saved["global_step"].asnumpy().item() > 0
    final = ms.load_checkpoint(str(run["last"]))
    assert int(final["epoch"].asnumpy()) == 8
    assert final["global_step"].asnumpy().item() == 8 * saved["global_step"].asnumpy().item()   # continued, not restarted
    with pytest.raises(FileNotFoundError, match="resume"):
        restore_training_checkpoint(run["root"] / "missing.ckpt", net, optimizer)


def test_early_stop_counts_evaluations_and_resumes_the_count(tmp_path, capsys, pynative):
    """lr 0 and backbones in eval mode (model.backbone_train_mode=false): the test accuracy never changes, so with
    early_stop_patience=2 training stops after epoch 3 (best at epoch 1, then 2 evaluations without improvement); a
    resume with patience 3 continues that count and stops after epoch 4. The resume is written in the deprecated
    forms (train.early_stop_epochs, --resume=CKPT), which still work with a warning naming the new ones."""
    generate(tmp_path / "data", num_videos=12, num_classes=4, rate=8000)
    out = tmp_path / "out"
    common = [f"--config_path={TINY}", f"--data.root={tmp_path / 'data'}", f"--ckpt_path={out}",
              "--train.mode=pynative", "--train.lr=0.0", "--train.epochs=8", "--train.eval_every_epochs=1",
              "--model.backbone_train_mode=false"]
    train_script.main(common + ["--train.early_stop_patience=2"])
    log = capsys.readouterr().out
    accuracies = [line.split("accuracy=")[1].split()[0] for line in log.splitlines() if " test accuracy=" in line]
    assert len(accuracies) == 3 and len(set(accuracies)) == 1, log
    assert "early stop after epoch 3" in log
    last = ms.load_checkpoint(str(out / "last.ckpt"))
    assert int(last["epoch"].asnumpy()) == 3 and int(last["stale_epochs"].asnumpy()) == 2
    assert float(last["best"].asnumpy()) == pytest.approx(float(accuracies[0]), abs=1e-4)
    assert int(ms.load_checkpoint(str(out / "best.ckpt"))["epoch"].asnumpy()) == 1
    shutil.copy(out / "last.ckpt", tmp_path / "stopped.ckpt")
    with pytest.warns(FutureWarning) as warned:
        train_script.main(common + ["--train.early_stop_epochs=3", f"--resume={tmp_path / 'stopped.ckpt'}"])
    messages = " ".join(str(w.message) for w in warned)
    assert "'train.early_stop_epochs' is deprecated" in messages and "'train.early_stop_patience'" in messages
    assert "--resume=" in messages and "use --ckpt_path=<run folder> --resume" in messages
    log = capsys.readouterr().out
    assert "2 evaluations without improvement" in log and "early stop after epoch 4" in log, log
    assert int(ms.load_checkpoint(str(out / "last.ckpt"))["epoch"].asnumpy()) == 4
