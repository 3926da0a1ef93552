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
"""Trainer logic without a network: gradient accumulation (correct vs the original's drop), StepLR, loss means."""
from types import SimpleNamespace

import numpy as np
import pytest
import mindspore as ms

from src.trainer import Trainer, step_lr


class _Batches:
    def __init__(self, n):
        self.n = n

    def create_tuple_iterator(self, num_epochs=1):
        return iter([(ms.Tensor(np.array([float(i + 1)], np.float32)),) for i in range(self.n)])


class _GradNet:
    """loss = batch value; gradient = (batch value,) so the optimizer's input shows which batches were used."""

    def __call__(self, x):
        return (x.sum(), x.sum() * 0), (x,)


class _Optimizer:
    def __init__(self):
        self.received = []
        self.learning_rate = ms.Parameter(ms.Tensor(0.0, ms.float32), name="learning_rate")

    def __call__(self, grads):
        self.received.append(float(grads[0].asnumpy()[0]))


def _cfg(**kw):
    base = dict(lr=1.0, lr_step_epochs=3, lr_gamma=0.35, accum_itr=2, epochs=10,
                log_every=0, lr_milestones=[], grad_clip_norm=0.0)
    base.update(kw)
    return SimpleNamespace(**base)


def test_correct_accumulation_averages_every_batch(pynative):
    opt = _Optimizer()
    means, count = Trainer(_GradNet(), opt, _cfg(), ("zero",)).train_epoch(_Batches(5), 0, 5, 1)
    assert opt.received == [1.5, 3.5, 5.0]          # (1+2)/2, (3+4)/2, leftover batch 5 applied at the epoch end
    assert count == 5 and means["loss"] == pytest.approx(3.0)


def test_official_accumulation_drops_every_other_batch(pynative):
    opt = _Optimizer()
    Trainer(_GradNet(), opt, _cfg(), ("zero",), official_accum_drop=True).train_epoch(_Batches(5), 0, 5, 1)
    assert opt.received == [2.0, 4.0]               # only the 2nd and 4th batch's gradients; 1, 3, 5 are lost


def test_no_accumulation_and_max_batches(pynative):
    opt = _Optimizer()
    _, count = Trainer(_GradNet(), opt, _cfg(accum_itr=1), ("zero",)).train_epoch(_Batches(5), 0, 5, 1, max_batches=3)
    assert opt.received == [1.0, 2.0, 3.0] and count == 3


def test_step_lr_per_epoch(pynative):
    assert [round(step_lr(5e-4, e, 3, 0.35), 10) for e in (0, 2, 3, 5, 6)] == \
        [5e-4, 5e-4, round(5e-4 * 0.35, 10), round(5e-4 * 0.35, 10), round(5e-4 * 0.35 ** 2, 10)]
    opt = _Optimizer()
    Trainer(_GradNet(), opt, _cfg(lr=2.0), ("zero",)).train_epoch(_Batches(2), 4, 2, 1)
    assert float(opt.learning_rate.asnumpy()) == pytest.approx(2.0 * 0.35)


def test_multistep_lr_and_gradient_clipping(pynative):
    """Few-shot schedule: torch MultiStepLR([10, 20, 30], 0.5) stepped after each epoch (0-based epoch e uses gamma
    once per milestone <= e), and clip_grad_norm_(0.5) on the global norm."""
    assert [step_lr(3e-4, e, 3, 0.5, [10, 20, 30]) for e in (0, 9, 10, 19, 20, 35)] == \
        [3e-4, 3e-4, 1.5e-4, 1.5e-4, 7.5e-5, 3.75e-5]
    opt = _Optimizer()
    Trainer(_GradNet(), opt, _cfg(accum_itr=1, grad_clip_norm=0.5), ("zero",)).train_epoch(_Batches(3), 0, 3, 1)
    assert opt.received == pytest.approx([0.5, 0.5, 0.5])        # |g| = 1, 2, 3 -> clipped to norm 0.5
    opt = _Optimizer()
    Trainer(_GradNet(), opt, _cfg(accum_itr=1, grad_clip_norm=2.5), ("zero",)).train_epoch(_Batches(3), 0, 3, 1)
    assert opt.received == pytest.approx([1.0, 2.0, 2.5])


class _Net(ms.nn.Cell):
    def __init__(self):
        super().__init__()
        self.dense = ms.nn.Dense(1, 1)

    def construct(self, x):
        return (self.dense(x.reshape(1, 1)),)


class _SizedBatches(_Batches):
    def get_dataset_size(self):
        return self.n


class _CheckpointedOptimizer(_Optimizer):
    def get_parameters(self):
        return []


class _ScriptedTask:
    """Evaluation results follow a script: best.ckpt selection and early stopping are checked without a model."""
    name, select_metric, input_columns, label_columns, output_names = "scripted", "score", ("x",), (), ("y",)

    def __init__(self, scores):
        self.scores = iter(scores)

    def build_data(self, split, batch_size, training, rank=0, group_size=1):
        return _SizedBatches(1), None

    def start_epoch(self, epoch):
        pass

    def build_metric(self):
        score = next(self.scores)
        return SimpleNamespace(update=lambda outputs, batch: None, result=lambda: {"score": score})


def test_fit_keeps_the_best_checkpoint_and_stops_early(pynative, tmp_path):
    from src.checkpoint import TrainProgress
    from src.config import Config, TrainConfig
    cfg = Config(train=TrainConfig(epochs=10, accum_itr=1, log_every=0, early_stop_epochs=2,
                                   output_dir=str(tmp_path)))
    trainer = Trainer(_GradNet(), _CheckpointedOptimizer(), cfg.train, ("zero",), log=lambda *a: None)
    progress, last = trainer.fit(_Net(), _ScriptedTask([1.0, 3.0, 2.0, 2.5, 9.0]), cfg, _SizedBatches(2), 1)
    # epochs 1, 2 improve; 3, 4 do not -> stop after epoch 4 (the 9.0 of epoch 5 is never reached)
    assert progress == TrainProgress(epoch=4, step=8, best=3.0, stale_epochs=2)
    assert last == tmp_path / "last.ckpt" and trainer.global_batch == 8
    best = ms.load_checkpoint(str(tmp_path / "best.ckpt"))
    assert int(best["epoch"].asnumpy()) == 2 and float(best["best"].asnumpy()) == 3.0
    assert int(ms.load_checkpoint(str(last))["epoch"].asnumpy()) == 4


def test_fit_resumes_from_the_saved_progress(pynative, tmp_path):
    from src.checkpoint import TrainProgress
    from src.config import Config, TrainConfig
    cfg = Config(train=TrainConfig(epochs=3, accum_itr=1, log_every=0, output_dir=str(tmp_path)))
    trainer = Trainer(_GradNet(), _CheckpointedOptimizer(), cfg.train, ("zero",), log=lambda *a: None)
    progress, _ = trainer.fit(_Net(), _ScriptedTask([0.5]), cfg, _SizedBatches(2), 1,
                              TrainProgress(epoch=2, step=4, best=0.7, stale_epochs=1))
    assert progress == TrainProgress(epoch=3, step=6, best=0.7, stale_epochs=2)     # one epoch left, no improvement
    assert not (tmp_path / "best.ckpt").exists()
