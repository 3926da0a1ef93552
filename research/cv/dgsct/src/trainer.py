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
"""Generic trainer: the epoch loop (`Trainer.fit`: train, evaluate, select the best checkpoint, early stop, save
atomically), the gradient step compiled once (GRAPH_MODE), gradient accumulation, StepLR per epoch, logging."""
import re
import time
from pathlib import Path

import numpy as np
import mindspore as ms
from mindspore import nn, ops

from .checkpoint import TrainProgress, save_training_checkpoint
from .config import ConfigError
from .dgsct.encoder import set_train_mode


class LossNet(nn.Cell):
    """network outputs -> task loss (total, parts...)."""

    def __init__(self, net, loss, num_inputs):
        super().__init__()
        self.net = net
        self.loss = loss
        self.num_inputs = num_inputs

    def construct(self, *batch):
        outputs = self.net(*batch[:self.num_inputs])
        return self.loss(*outputs, *batch[self.num_inputs:])


class GradNet(nn.Cell):
    """Returns ((total, parts...), gradients of total w.r.t. the optimizer's parameters). Data parallel (`reducer`
    an nn.DistributedGradReducer with mean=True over `workers` ranks): gradients and loss values are averaged over
    the ranks, i.e. those of the global batch, since every rank's loss is the mean over an equal share of it."""

    def __init__(self, loss_net, params, reducer=None, workers=1):
        super().__init__()
        self.grad_fn = ms.value_and_grad(loss_net, None, params, has_aux=True)
        self.reducer = reducer
        self.use_reducer = reducer is not None
        self.workers = workers
        self.all_reduce = ops.AllReduce() if self.use_reducer else None

    def construct(self, *batch):
        values, grads = self.grad_fn(*batch)
        if self.use_reducer:
            grads = self.reducer(grads)
            values = tuple(self.all_reduce(v) / self.workers for v in values)
        return values, grads


def step_lr(base_lr, epoch, step_epochs, gamma, milestones=()):
    """torch StepLR(step_size=step_epochs, gamma) value during `epoch` (0-based), stepped once per epoch; with
    `milestones`, torch MultiStepLR(milestones, gamma): gamma once for every milestone <= epoch."""
    if milestones:
        return base_lr * gamma ** sum(1 for m in milestones if m <= epoch)
    return base_lr * gamma ** (epoch // step_epochs)


class Trainer:
    """Owns the training loop. `fit` runs the epochs (evaluation, best.ckpt, early stopping, last.ckpt, resume from a
    TrainProgress); `train_epoch` runs one epoch. accum_itr k: default = average the gradients of k batches, then one
    Adam step (a leftover partial group at the epoch end is applied too); official_accum_drop = the original loop,
    which zeroes the gradient every batch and steps every k-th batch, i.e. uses only that batch's gradient."""

    def __init__(self, grad_net, optimizer, train_cfg, loss_names, log=print, rank=0, official_accum_drop=False):
        self.grad_net = grad_net
        self.official_accum_drop = official_accum_drop        # compat.official_accum_drop
        self.optimizer = optimizer
        self.cfg = train_cfg
        self.loss_names = loss_names
        self.log = log
        self.rank = rank
        self.global_batch = 0

    def set_epoch_lr(self, epoch):
        lr = step_lr(self.cfg.lr, epoch, self.cfg.lr_step_epochs, self.cfg.lr_gamma, self.cfg.lr_milestones)
        self.optimizer.learning_rate.set_data(ms.Tensor(lr, ms.float32))
        return lr

    def _apply(self, grads):
        if self.cfg.grad_clip_norm > 0:     # torch clip_grad_norm_: one global norm over all gradients
            grads = ops.clip_by_global_norm(grads, self.cfg.grad_clip_norm)
        self.optimizer(grads)

    def _check_after_last_update(self, batch, epoch):
        """The loss is checked before every update; the epoch's last update is checked here, on its last batch
        with the updated weights, so that a diverged model is never saved as last.ckpt."""
        values, _ = self.grad_net(*batch)
        loss = float(values[0].asnumpy())
        if not np.isfinite(loss):
            raise FloatingPointError(f"epoch {epoch + 1}: loss {loss} on the last batch after the last update "
                                     "(training diverged; lower train.lr); the checkpoint was not written")

    def train_epoch(self, dataset, epoch, steps_per_epoch, batch_size, max_batches=0):
        """One pass over `dataset`; returns (mean loss parts dict, batches run)."""
        lr = self.set_epoch_lr(epoch)
        if hasattr(dataset, "set_epoch"):
            dataset.set_epoch(epoch)                # the training sampler's order of this epoch (resume included)
        k = max(1, self.cfg.accum_itr)
        accumulated, pending = None, 0
        sums, count = None, 0
        start = time.time()
        total_batches = steps_per_epoch * self.cfg.epochs
        batch = None
        for index, batch in enumerate(named_data_errors(dataset.create_tuple_iterator(num_epochs=1))):
            if max_batches and index >= max_batches:
                break
            values, grads = self.grad_net(*batch)
            values = np.array([float(v.asnumpy()) for v in values])
            if not np.isfinite(values[0]):
                raise FloatingPointError(f"non-finite loss {values[0]} at epoch {epoch} batch {index}")
            sums = values if sums is None else sums + values
            count += 1
            self.global_batch += 1
            if self.official_accum_drop:
                if (index + 1) % k == 0:
                    self._apply(grads)
            else:
                accumulated = grads if accumulated is None else tuple(a + g for a, g in zip(accumulated, grads))
                pending += 1
                if pending == k:
                    self._apply(tuple(a / k for a in accumulated) if k > 1 else accumulated)
                    accumulated, pending = None, 0
            if self.cfg.log_every and (index + 1) % self.cfg.log_every == 0 and self.rank == 0:
                elapsed = time.time() - start
                rate = (index + 1) * batch_size / elapsed
                remaining = (total_batches - self.global_batch) * batch_size / max(rate, 1e-9)
                parts = " ".join(f"{n}={v:.4f}" for n, v in zip(self.loss_names, values[1:]))
                self.log(f"epoch {epoch + 1} step {index + 1}/{steps_per_epoch} loss={values[0]:.4f} {parts} "
                         f"lr={lr:.3g} samples/s={rate:.2f} eta={remaining / 60:.1f}min")
        if pending:
            self._apply(tuple(a / pending for a in accumulated))
        if count == 0:
            raise RuntimeError(f"epoch {epoch}: the training dataset produced no batch (too few samples for the batch?)")
        self._check_after_last_update(batch, epoch)
        means = sums / count
        return dict(zip(("loss",) + tuple(self.loss_names), means.tolist())), count

    def fit(self, net, task, cfg, train_ds, samples_per_step, progress=TrainProgress(0, 0), after_epoch=None):
        """Train from `progress` (a resumed checkpoint's, or epoch 0) to cfg.train.epochs. Each epoch: train, run
        `after_epoch()` (data parallel: synchronise BatchNorm statistics), refuse non-finite weights, evaluate every
        cfg.train.eval_every_epochs on cfg.data.eval_split (best.ckpt when cfg.train.early_stop_metric improves), write
        last.ckpt to cfg.ckpt_path, stop after cfg.train.early_stop_patience evaluations without improvement or cfg.train.max_steps
        batches. Only rank 0 writes. Returns (final TrainProgress, path of the last checkpoint or None)."""
        out_dir = Path(cfg.ckpt_path)
        steps_per_epoch = train_ds.get_dataset_size()
        self.global_batch = progress.epoch * steps_per_epoch
        batches_left, last, eval_ds = cfg.train.max_steps, None, None
        for epoch in range(progress.epoch, cfg.train.epochs):
            set_train_mode(net, True)      # keeps frozen backbones in eval mode if model.backbone_train_mode is false
            task.start_epoch(epoch)         # epoch-dependent loss weights (few-shot)
            means, ran = self.train_epoch(train_ds, epoch, steps_per_epoch, samples_per_step, batches_left)
            if after_epoch is not None:
                after_epoch()
            check_finite_parameters(net, f"epoch {epoch + 1}")
            self.log(f"epoch {epoch + 1}/{cfg.train.epochs} " + " ".join(f"{k}={v:.4f}" for k, v in means.items()))
            progress = progress._replace(epoch=epoch + 1, step=self.global_batch)
            if cfg.train.eval_every_epochs and (epoch + 1) % cfg.train.eval_every_epochs == 0:
                # every rank evaluates (identical weights and BN statistics), so all take the same early-stop decision
                if eval_ds is None:
                    eval_ds, _ = task.build_data(cfg.data.eval_split, cfg.eval.batch_size, False)
                progress, improved = self.evaluate(net, eval_ds, task, progress, f"epoch {epoch + 1} "
                                                   f"{cfg.data.eval_split}")
                if improved and self.rank == 0:
                    save_training_checkpoint(out_dir / "best.ckpt", net, self.optimizer, cfg, progress)
            if self.rank == 0:
                last = save_training_checkpoint(out_dir / "last.ckpt", net, self.optimizer, cfg, progress)
            if cfg.train.early_stop_patience and progress.stale_epochs >= cfg.train.early_stop_patience:
                self.log(f"early stop after epoch {epoch + 1}: {progress.stale_epochs} evaluations without a better "
                         f"{cfg.train.early_stop_metric} (best {progress.best:.4f})")
                break
            if batches_left:
                batches_left -= ran
                if batches_left <= 0:
                    break
        return progress, last

    def evaluate(self, net, dataset, task, progress, label):
        """Evaluate, log, and update the best value / evaluations-without-improvement counter of `progress`.
        Returns (updated progress, whether train.early_stop_metric improved)."""
        result, _ = evaluate(net, dataset, task)
        self.log(f"{label} " + " ".join(f"{k}={v:.4f}" for k, v in result.items()))
        metric = self.cfg.early_stop_metric or task.select_metric
        if metric not in result:
            raise ConfigError(f"key 'train.early_stop_metric' is {metric!r}, but task {task.name!r} reports "
                              f"{sorted(result)}")
        value = result[metric]
        improved = value > progress.best
        return progress._replace(best=max(progress.best, value),
                                 stale_epochs=0 if improved else progress.stale_epochs + 1), improved


def check_finite_parameters(net, where):
    """Refuse to save diverged weights: name the first non-finite parameter."""
    for name, param in net.parameters_and_names():
        value = param.asnumpy()
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            raise FloatingPointError(f"{where}: parameter {name} has non-finite values after the last update "
                                     f"(training diverged; lower train.lr); the checkpoint was not written")


def named_data_errors(iterator):
    """Re-raise a data-set read error (DataError, raised in a pipeline worker and wrapped by MindSpore in a
    RuntimeError with its C++ trace) as the DataError itself: the message names the file."""
    from .data.transforms import DataError
    while True:
        try:
            batch = next(iterator)
        except StopIteration:
            return
        except RuntimeError as err:
            # the worker's traceback is embedded in the message; its last "...DataError: <message>" line is the cause
            found = re.findall(r"^\S*DataError: (.+)$", str(err), flags=re.M)
            found = [line for line in found if not line.startswith("Traceback")]
            if not found:
                raise
            raise DataError(found[-1].strip()) from None
        yield batch


def evaluate(net, dataset, task, max_batches=0):
    """Run `net` in eval mode over `dataset` with the task's metric; returns (metric result dict, list of
    (predictions returned by metric.update, label column arrays)) for the task's `plot`."""
    net.set_train(False)
    metric = task.build_metric()
    records = []
    num_inputs = len(task.input_columns)
    columns = task.input_columns + task.label_columns
    for index, batch in enumerate(named_data_errors(dataset.create_tuple_iterator(num_epochs=1))):
        if max_batches and index >= max_batches:
            break
        outputs = net(*batch[:num_inputs])
        if len(outputs) != len(task.output_names):
            raise ValueError(f"task {task.name}: the network returned {len(outputs)} outputs, the task names "
                             f"{len(task.output_names)} {task.output_names}")
        arrays = [b.asnumpy() for b in batch]
        predicted = metric.update(dict(zip(task.output_names, (o.asnumpy() for o in outputs))),
                                  dict(zip(columns, arrays)))
        records.append((predicted, tuple(arrays[num_inputs:])))
    return metric.result(), records



