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
"""AVVP end to end through the task registry on configs/tiny/avvp.yaml: synthetic LLP set -> DG-SCT encoder ->
MGN head; a few GRAPH_MODE steps with log-mel mixup lower the loss; evaluation gives the F1 table; MindIR export ->
load -> same outputs."""
import numpy as np
import mindspore as ms
from mindspore import nn

from src.config import load_config
from src.data.avvp_synthetic import make_synthetic_llp
from src.dgsct.encoder import freeze_backbones
from src.dgsct.model import build_network
from src.trainer import GradNet, LossNet, evaluate


def tiny_run(config, data_dir, out_dir, steps, lr_check, export=True):
    """Shared by the AVVP and AVQA end-to-end tests: build from the config, train `steps` batches on one batch,
    evaluate, export (unless export=False); returns (net, task, cfg)."""
    cfg = load_config(config, [f"--data.root={data_dir}", f"--ckpt_path={out_dir}"])
    net, task = build_network(cfg)
    freeze_backbones(net.encoder)
    optimizer = nn.Adam(net.trainable_params(), learning_rate=cfg.train.lr)
    loss_net = LossNet(net, task.build_loss(), len(task.input_columns))
    grad_net = GradNet(loss_net, optimizer.parameters)
    train_ds, _ = task.build_data("train", cfg.train.batch_size, True)
    batch = next(train_ds.create_tuple_iterator(num_epochs=1))

    @ms.jit
    def step(*args):
        values, grads = grad_net(*args)
        optimizer(grads)
        return values[0]

    def deterministic_loss():
        # eval mode: no SpecAugment / drop path / dropout / mixup noise, so the check below compares like with like
        # (train-mode losses also depend on the state of MindSpore's in-graph random kernels, i.e. on test order)
        loss_net.set_train(False)
        value = float(loss_net(*batch)[0])
        loss_net.set_train(True)
        return value

    before = deterministic_loss()
    losses = [float(step(*batch)) for _ in range(steps)]
    after = deterministic_loss()
    assert after < before - lr_check, (before, after, losses)

    eval_ds, _ = task.build_data(cfg.data.eval_split, cfg.eval.batch_size, False)
    result, _ = evaluate(net, eval_ds, task, max_batches=1)
    assert task.select_metric in result

    if not export:
        return net, task, cfg
    inputs = task.example_inputs(1)
    expected = [o.asnumpy() for o in net(*inputs)]
    path = str(out_dir / "export")
    ms.export(net, *inputs, file_name=path, file_format="MINDIR")
    loaded = nn.GraphCell(ms.load(path + ".mindir"))
    for got, want in zip(loaded(*inputs), expected):
        np.testing.assert_allclose(got.asnumpy(), want, rtol=1e-4, atol=1e-5)
    return net, task, cfg


def test_tiny_avvp_trains_evaluates_and_exports(graph_mode, tmp_path):
    data = make_synthetic_llp(str(tmp_path / "llp"), videos_per_split=(2, 1, 1), num_classes=3, image_size=32,
                              sample_rate=8000)
    net, task, _ = tiny_run("configs/tiny/avvp.yaml", data, tmp_path / "out", steps=4, lr_check=0.2)
    assert task.name == "avvp" and len(net.head.audio_cug.blocks) == 1
