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
"""Training loop: functional GRAPH_MODE train step, EMA codebooks, score-bias schedule, early stopping, resume.

One step (loss of the authors' MindSpore release: sampled softmax + l2 + VQ commitment; Adam), ONE compiled graph
and one host read of the losses per step:
    (total, softmax, l2, commit, sparsity, dense, z), grads = value_and_grad(model.loss_and_tokens)(batch)
    grads = DistributedGradReducer(grads)                                       # data parallel only
    Adam(grads)
    EMA codebook update from this forward pass's query tokens z (not differentiated)   # SparCode, VQ active only
Per epoch: set_epoch_state (VQ warm-up switch and b schedule), k-means codebook init when VQ switches on,
optional density-targeting of b, a validation pass (early_stop_metric, Recall@50 by default, on the valid split)
for early stopping, and an atomic checkpoint (rank 0). `fit(resume=True)` restores the last checkpoint and continues with the same state.

Data parallel: every rank builds the same model from the same seed, trains on its shard, gradients are
averaged, and the EMA step sees the query tokens of ALL ranks (AllGather), so codebooks and EMA buffers stay
identical on every rank without an extra broadcast.
"""
import json
import os
import time

import numpy as np
import mindspore as ms
from mindspore import nn, ops

from src.atomic_file import atomic_write, remove_orphaned_temp_files
from src.checkpoint import (BEST_NAME, CheckpointError, atomic_copy, atomic_save_checkpoint, data_signature_mismatch,
                            epoch_checkpoint_path, latest_checkpoint, load_checkpoint_into, prune_checkpoints,
                            read_checkpoint_state, repair_best_checkpoint)
from src.data.dataset import create_train_dataset, jsonable
from src.logging_utils import StepLogger, format_seconds, get_logger
from src.model.quantizer import codebook_perplexity

KMEANS_SAMPLE_ROWS = 4096     # training rows whose query tokens seed the codebooks
DENSITY_SAMPLE_ROWS = 512     # rows / items used to calibrate b for target_density
DENSITY_SAMPLE_ITEMS = 2000


def launched_by_msrun():
    """True inside an msrun/mpirun-launched process (worker or scheduler)."""
    return "MS_ROLE" in os.environ or int(os.environ.get("RANK_SIZE", "1")) > 1


def init_distributed():
    """init() the collective backend only when launched by msrun; returns (rank_id, rank_size).

    msrun also runs the script as the scheduler (MS_ROLE=MS_SCHED), which exits inside init(): callers must do
    their side effects (files, logs) only after this returns."""
    if not launched_by_msrun():
        return 0, 1
    from mindspore.communication import get_group_size, get_rank, init
    init()
    ms.set_auto_parallel_context(parallel_mode=ms.ParallelMode.DATA_PARALLEL, gradients_mean=True)
    return get_rank(), get_group_size()


def epoch_seed(seed, epoch):
    """Seed of an epoch's shuffle and negatives: a pure function of (seed, epoch), so a resumed run draws the
    same data as an uninterrupted one."""
    return int(seed) * 1_000_003 + int(epoch)


class Trainer:
    """Fits `model` on `data`; `evaluate_fn(model) -> metrics dict` scores the validation split."""

    def __init__(self, cfg, data, model, evaluate_fn=None, rank_id=0, rank_size=1, logger=None,
                 ckpt_prefix=None):
        self.cfg = cfg
        self.data = data
        self.model = model
        self.evaluate_fn = evaluate_fn
        self.rank_id = int(rank_id)
        self.rank_size = int(rank_size)
        self.is_main = self.rank_id == 0
        self.logger = logger or get_logger(rank_id=self.rank_id)
        self.ckpt_dir = cfg.ckpt_path
        self.prefix = ckpt_prefix or cfg.model
        self.quantizer = getattr(model, "quantizer", None)
        self.optimizer = nn.Adam(model.trainable_params(), learning_rate=float(cfg.lr))
        self.grad_reducer = None
        self.all_gather = None
        if self.rank_size > 1:
            self.grad_reducer = nn.DistributedGradReducer(self.optimizer.parameters, mean=True,
                                                          degree=self.rank_size)
            self.all_gather = ops.AllGather()
        self._train_steps = {}          # with_ema -> compiled step
        self.state = {"epoch": 0, "global_step": 0, "best_metric": -1.0, "best_epoch": -1, "bad_epochs": 0,
                      "seed": int(cfg.seed), "early_stop_metric": cfg.early_stop_metric, "history": [], "stopped_early": False, "run_id": os.urandom(8).hex()}

    # ------------------------------------------------------------------ compiled steps
    def _build_train_step(self, with_ema):
        """One compiled step: forward + backward + (all-reduce) + Adam, and with_ema the EMA codebook update from the
        query tokens of the same forward pass (as in the VQ-VAE EMA update: no second query-tower pass, no second
        graph launch). Returns (stacked [total, softmax, l2, commit, sparsity, dense softmax], batch code counts [M, K_c]
        when with_ema)."""
        model, optimizer, reducer = self.model, self.optimizer, self.grad_reducer
        quantizer, all_gather = self.quantizer, self.all_gather

        def forward(user_feats, hist, pos, negs):
            return model.loss_and_tokens(user_feats, hist, pos, negs)   # grads of total; the rest is aux

        grad_fn = ms.value_and_grad(forward, None, optimizer.parameters, has_aux=True)

        @ms.jit
        def train_step(user_feats, hist, pos, negs):
            (total, softmax, l2, commit, sparsity, dense, z), grads = grad_fn(user_feats, hist, pos, negs)
            if reducer is not None:
                grads = reducer(grads)
            total = ops.depend(total, optimizer(grads))
            losses = ops.stack((total, softmax, l2, commit, sparsity, dense))
            if not with_ema:
                return losses, losses
            if all_gather is not None:
                z = all_gather(z)                               # same statistics on every rank
            return losses, quantizer.ema_step(z)
        return train_step

    def _step_fn(self, with_ema):
        """The compiled train step (built on first use: warm-up epochs need no EMA variant and vice versa)."""
        if with_ema not in self._train_steps:
            self._train_steps[with_ema] = self._build_train_step(with_ema)
        return self._train_steps[with_ema]

    # ------------------------------------------------------------------ helpers
    def _log_every(self):
        return max(int(self.cfg.log_every), 1)

    def _sample_rows(self, n_rows, size, epoch, salt):
        """Training rows drawn identically on every rank (seeded by seed, epoch, salt)."""
        rng = np.random.default_rng([int(self.cfg.seed), int(epoch), salt])
        return np.sort(rng.choice(n_rows, size=min(size, n_rows), replace=False))

    def _kmeans_init(self, epoch):
        rows = self._sample_rows(len(self.data.train_pos), KMEANS_SAMPLE_ROWS, epoch, 17)
        feats = self.data.user_feats(self.data.train_users[rows])
        hist = self.data.train_hist[rows]
        batch = int(self.cfg.batch_size)
        batches = [(feats[i:i + batch], hist[i:i + batch]) for i in range(0, len(rows), batch)]
        global_vectors = batch * self.rank_size * int(self.cfg.num_query_tokens)
        inertia = self.model.init_codebooks_kmeans(batches, batch_vectors=global_vectors,
                                                   seed=int(self.cfg.seed) + epoch)
        self.logger.info("epoch %d: k-means codebook init on %d query tokens, inertia %s", epoch,
                         len(rows) * int(self.cfg.num_query_tokens), [round(float(x), 5) for x in inertia])

    def _density_targeted(self):
        return self.cfg.target_density is not None and hasattr(self.model, "calibrate_score_bias")

    def _calibrate_bias(self, epoch, when="start"):
        rows = self._sample_rows(len(self.data.train_pos), DENSITY_SAMPLE_ROWS, epoch, 29)
        item_ids = 1 + self._sample_rows(self.data.n_items, DENSITY_SAMPLE_ITEMS, epoch, 31)
        out = self.model.calibrate_score_bias(self.data.user_feats(self.data.train_users[rows]),
                                              self.data.train_hist[rows], item_ids.astype(np.int32), epoch)
        self.logger.info("epoch %d (%s): score bias calibrated to %.5f (sample density %.4f, target %s)", epoch,
                         when, out["score_bias"], out["density"], self.cfg.target_density)

    def _start_epoch(self, epoch):
        info = self.model.set_epoch_state(epoch)
        if info.get("kmeans_init_due"):
            self._kmeans_init(epoch)
        if self._density_targeted():
            self._calibrate_bias(epoch)
        self.model.set_train(True)
        return info

    def _vq_active(self):
        return self.quantizer is not None and float(self.quantizer.vq_active.asnumpy()) > 0.5

    def _train_state(self):
        state = dict(self.state)
        state["score_bias"] = self.model.get_score_bias() if hasattr(self.model, "get_score_bias") else None
        state["rank_size"] = self.rank_size
        state["config_model"] = self.cfg.model
        state["data_signature"] = self.data.meta.get("signature")   # checked by --resume
        return state

    # ------------------------------------------------------------------ checkpoints
    def save_checkpoint(self, epoch):
        """Rank 0 writes `<prefix>-eXXXX.ckpt` (and best.ckpt when improved); other ranks return."""
        if not self.is_main:
            return None
        path = atomic_save_checkpoint(epoch_checkpoint_path(self.ckpt_dir, self.prefix, epoch), self.model,
                                      self.optimizer, self._train_state())
        # A kill between these two writes leaves an older best.ckpt: restore() / eval repair it from the epoch files.
        if self.state["best_epoch"] == epoch:
            atomic_copy(path, os.path.join(self.ckpt_dir, BEST_NAME))
        prune_checkpoints(self.ckpt_dir, self.prefix, int(self.cfg.keep_ckpt_max))
        atomic_write(os.path.join(self.ckpt_dir, "train_history.json"),
                     lambda f: json.dump(self.state["history"], f, indent=1), binary=False)
        return path

    def _check_resume(self, path, saved):
        """Refuse to continue a checkpoint on other data or with another seed, naming the keys."""
        if saved.get("seed") is not None and int(saved["seed"]) != int(self.cfg.seed):
            raise CheckpointError(f"--resume: {path} was trained with key 'seed' = {saved['seed']}, the config "
                                  f"says {self.cfg.seed}; resume with the same seed or use a new ckpt_path")
        metric = saved.get("early_stop_metric")
        if metric is not None and metric != self.cfg.early_stop_metric:
            raise CheckpointError(f"--resume: {path} selected its best epoch by key 'early_stop_metric' = {metric!r}, "
                                  f"the config says {self.cfg.early_stop_metric!r}; resume with the same metric or "
                                  f"use a new ckpt_path")
        stored, current = saved.get("data_signature"), self.data.meta.get("signature")
        if stored is None or current is None:
            self.logger.warning("--resume: %s records no data signature; cannot check that the data is the same",
                                path)
            return
        differing = data_signature_mismatch(stored, current)
        changed = [m for m in differing if "<not recorded>" not in (m[1], m[2])]
        if changed:
            raise CheckpointError("--resume: " + path + " was trained on other data: " + "; ".join(
                f"key '{key}' = {old!r} there, {new!r} now" for key, old, new in changed) +
                "; resume with the same data settings or use a new ckpt_path")
        for key, old, new in differing:
            self.logger.warning("--resume: data key '%s' is %r in %s and %r now", key, old, path, new)

    def restore(self, path=None):
        """Load the last (or given) checkpoint with optimizer state; the next epoch continues after it."""
        path = path or latest_checkpoint(self.ckpt_dir, self.prefix)
        if path is None:
            raise FileNotFoundError(f"--resume: no checkpoint '{self.prefix}-e*.ckpt' in {self.ckpt_dir}")
        saved = read_checkpoint_state(path)
        if saved.get("config_model") not in (None, self.cfg.model):
            raise ValueError(f"{path} was written for model {saved['config_model']!r}, config says {self.cfg.model!r}")
        self._check_resume(path, saved)
        state = load_checkpoint_into(path, self.model, self.optimizer, strict=True)
        if self.is_main:
            repair_best_checkpoint(self.ckpt_dir, self.prefix, self.logger.warning)
        for key in self.state:
            if key in state:
                self.state[key] = state[key]
        self.logger.info("resumed from %s: next epoch %d, global step %d, best %s=%.5f (epoch %d)", path,
                         self.state["epoch"], self.state["global_step"], self.cfg.early_stop_metric,
                         self.state["best_metric"], self.state["best_epoch"])
        return path

    # ------------------------------------------------------------------ main loop
    def train_epoch(self, epoch, step_logger):
        cfg = self.cfg
        dataset = create_train_dataset(self.data, cfg, epoch_seed(cfg.seed, epoch), self.rank_id, self.rank_size)
        use_ema = self._vq_active()
        step_fn = self._step_fn(use_ema)
        sums = np.zeros(6, np.float64)
        code_counts = None
        n_steps = 0
        for user_feats, hist, pos, negs in dataset.create_tuple_iterator(num_epochs=1):
            losses, counts = step_fn(user_feats, hist, pos, negs)
            if use_ema:
                counts = counts.asnumpy()
                code_counts = counts if code_counts is None else code_counts + counts
            parts = losses.asnumpy().astype(np.float64)   # one host read per step: the 6 loss parts
            if not np.all(np.isfinite(parts)):
                raise FloatingPointError(f"epoch {epoch} step {self.state['global_step'] + 1}: non-finite loss {parts}")
            sums += parts
            n_steps += 1
            self.state["global_step"] += 1
            step_logger.step(self.state["global_step"], epoch,
                             {"loss": parts[0], "softmax": parts[1], "l2": parts[2], "commit": parts[3],
                              "sparsity": parts[4], "dense": parts[5]},
                             float(cfg.lr))
        means = sums / max(n_steps, 1)
        record = {"epoch": epoch, "steps": n_steps, "loss": means[0], "softmax_loss": means[1],
                  "l2_loss": means[2], "commit_loss": means[3], "sparsity_loss": means[4],
                  "dense_loss": means[5]}
        if code_counts is not None:
            record["codebook_perplexity"] = [float(x) for x in codebook_perplexity(code_counts)]
        return record

    def fit(self, resume=False):
        cfg = self.cfg
        if self.is_main:
            removed = remove_orphaned_temp_files(self.ckpt_dir)
            if removed:
                self.logger.info("removed %d temporary file(s) left in %s by a killed run: %s", len(removed),
                                 self.ckpt_dir, ", ".join(removed))
        if resume:
            self.restore()
        steps_per_epoch = len(create_train_dataset(self.data, cfg, epoch_seed(cfg.seed, 0), self.rank_id,
                                                   self.rank_size))
        total_steps = steps_per_epoch * int(cfg.epochs)
        step_logger = StepLogger(self.logger, total_steps, int(cfg.batch_size) * self.rank_size,
                                 self._log_every(), start_step=self.state["global_step"])
        patience = int(cfg.early_stop_patience)
        start = time.time()
        for epoch in range(int(self.state["epoch"]), int(cfg.epochs)):
            if self.state["stopped_early"]:
                break
            t0 = time.time()
            epoch_info = self._start_epoch(epoch)
            step_logger.reset_clock(self.state["global_step"])
            record = self.train_epoch(epoch, step_logger)
            record["score_bias"] = epoch_info.get("score_bias")
            if self._density_targeted():
                # Again after the epoch's steps: the weights moved, and the b calibrated at the epoch start gave
                # index densities of 0.064-0.10 for a target of 0.05 on ML-100K. Validation, the checkpoint and
                # the index then all use the b that matches these weights.
                self._calibrate_bias(epoch, when="end")
                record["score_bias"] = self.model.get_score_bias()
            record["vq_active"] = epoch_info.get("vq_active")
            record["train_seconds"] = time.time() - t0
            if self.evaluate_fn is not None:
                self.model.set_train(False)
                metrics = self.evaluate_fn(self.model)
                self.model.set_train(True)
                record["valid"] = metrics
                value = float(metrics[cfg.early_stop_metric])
                if value > self.state["best_metric"]:
                    self.state.update(best_metric=value, best_epoch=epoch, bad_epochs=0)
                else:
                    self.state["bad_epochs"] += 1
                if patience > 0 and self.state["bad_epochs"] >= patience:
                    self.state["stopped_early"] = True
            else:  # no validation: the last epoch counts as the best
                self.state["best_epoch"] = epoch
            record["seconds"] = time.time() - t0
            self.state["history"].append(jsonable(record))
            self.state["epoch"] = epoch + 1
            self.save_checkpoint(epoch)
            self.logger.info("epoch %d done in %s: %s", epoch, format_seconds(record["seconds"]),
                             _epoch_summary(record, cfg.early_stop_metric))
            if self.state["stopped_early"]:
                self.logger.info("early stop: no %s improvement for %d epochs (best %.5f at epoch %d)",
                                 cfg.early_stop_metric, patience, self.state["best_metric"], self.state["best_epoch"])
        self.logger.info("training finished in %s (%d steps)", format_seconds(time.time() - start),
                         self.state["global_step"])
        return self.state

    def load_best(self):
        """Load best.ckpt (best validation epoch) into the model, if it exists; returns its path or None."""
        path = os.path.join(self.ckpt_dir, "best.ckpt")
        if not os.path.isfile(path):
            return None
        load_checkpoint_into(path, self.model, None, strict=True)
        return path


def _epoch_summary(record, metric):
    parts = [f"loss={record['loss']:.5f}", f"softmax={record['softmax_loss']:.5f}",
             f"commit={record['commit_loss']:.5f}"]
    if record.get("sparsity_loss"):    # the unweighted term; 0 (and not shown) when sparsity_weight is 0
        parts.append(f"sparsity={record['sparsity_loss']:.5f}")
    if record.get("dense_loss"):       # the unweighted dense softmax; 0 (and not shown) when dense_loss_weight is 0
        parts.append(f"dense={record['dense_loss']:.5f}")
    if record.get("score_bias") is not None:
        parts.append(f"b={record['score_bias']:.4f}")
    if "codebook_perplexity" in record:
        parts.append("perplexity=" + "/".join(f"{p:.1f}" for p in record["codebook_perplexity"]))
    if "valid" in record:
        parts.append(f"valid {metric}={record['valid'][metric]:.4f}")
    return " ".join(parts)

