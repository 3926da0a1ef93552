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
"""AVVP end to end on configs/tiny/avvp.yaml through the README's tiny lines, run as written: synthetic LLP set ->
train.py (DG-SCT encoder + MGN head, GRAPH_MODE, log-mel mixup); the trained last.ckpt has a lower loss than the
initial network; evaluation gives the F1 table; MindIR export -> load -> same outputs."""
import numpy as np
import mindspore as ms
from mindspore import nn

from readme_commands import model_workdir, readme_line, run_lines
from src.config import load_config
from src.dgsct.model import build_network
from src.tasks import bind_task
from src.trainer import LossNet, evaluate


def check_trained_run(work, config, lr_check, overrides=(), export=True):
    """After a README `python train.py --config_path=<config>` run in `work`: its last.ckpt (in the config's
    ckpt_path) loads into the network of the config, has a lower loss on a training batch than the initial network
    of the same seed (eval mode; skipped with lr_check=None), changed most trainable and no frozen parameter, evaluates, and (unless export=False) exports to MindIR and reloads with the same
    outputs. Returns (trained net, task, cfg)."""
    import train as train_script
    plain = load_config(work / config)
    out_dir = work / plain.ckpt_path
    cfg = load_config(work / config, [f"--data.root={work / plain.data.root}", f"--ckpt_path={out_dir}",
                                      *overrides])
    assert (out_dir / "config.yaml").is_file()
    train_ds, _ = bind_task(cfg).build_data(cfg.data.train_split, cfg.train.batch_size, False)
    batch = next(train_ds.create_tuple_iterator(num_epochs=1))

    def network_and_loss(ckpt=None):
        """The config's network (the initial one of train.py's seed, or `ckpt` loaded into it) and its loss on the
        batch in eval mode (no SpecAugment / drop path / dropout / mixup noise: the losses compare like with like)."""
        train_script.seed_everything(cfg.train.seed)
        net, task = build_network(cfg)
        task.freeze(net)
        if ckpt is not None:
            not_loaded, _ = ms.load_param_into_net(net, ms.load_checkpoint(str(ckpt)))
            assert not not_loaded, not_loaded
        net.set_train(False)
        # (LossNet renames the parameters it wraps: load first, then wrap)
        return net, task, float(LossNet(net, task.build_loss(), len(task.input_columns))(*batch)[0])

    initial, _, before = network_and_loss()
    net, task, after = network_and_loss(out_dir / "last.ckpt")
    if lr_check is not None:
        assert after < before - lr_check, (before, after)
    # training moved most trainable parameters (a few get zero gradients by construction, e.g. a bias in front of
    # a softmax over the same axis) and no frozen one
    start = {p.name: p.asnumpy() for p in initial.get_parameters()}
    trainable = {p.name for p in net.trainable_params()}
    moved = {p.name for p in net.get_parameters() if not np.array_equal(p.asnumpy(), start[p.name])}
    assert len(moved & trainable) > len(trainable) / 2, sorted(trainable - moved)
    frozen_moved = [name for name in moved - trainable if "moving_" not in name]
    assert not frozen_moved, frozen_moved

    eval_ds, _ = task.build_data(cfg.data.eval_split, cfg.eval.batch_size, False)
    result, _ = evaluate(net, eval_ds, task, max_batches=1)
    assert task.select_metric in result

    if not export:
        return net, task, cfg
    inputs = task.example_inputs(1)
    expected = [o.asnumpy() for o in net(*inputs)]
    path = str(work / "export")
    ms.export(net, *inputs, file_name=path, file_format="MINDIR")
    loaded = nn.GraphCell(ms.load(path + ".mindir"))
    for got, want in zip(loaded(*inputs), expected):
        np.testing.assert_allclose(got.asnumpy(), want, rtol=1e-4, atol=1e-5)
    return net, task, cfg


def test_readme_tiny_avvp_trains_evaluates_and_exports(pynative, tmp_path):
    """The README's tiny AVVP lines as written (synthetic LLP set, then train.py on configs/tiny/avvp.yaml)."""
    work = model_workdir(tmp_path)
    stdout = run_lines([readme_line("python -m src.data.avvp_synthetic"),
                        readme_line("python train.py", "configs/tiny/avvp.yaml")], work)
    assert "epoch 2/2" in stdout and "checkpoint: " in stdout
    net, task, _ = check_trained_run(work, "configs/tiny/avvp.yaml", lr_check=0.2)
    assert task.name == "avvp" and len(net.head.audio_cug.blocks) == 1
