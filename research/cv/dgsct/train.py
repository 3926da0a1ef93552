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
"""Train DG-SCT on a task chosen by the config.

python train.py --config_path=configs/ave.yaml [--data.root=DIR] [--ckpt_path=DIR] [--resume] [--section.key=value ...]
Under msrun (RANK_SIZE > 1) it trains data parallel as one process would: train.batch_size is the global batch and
the N ranks take the N contiguous blocks of the very global batches one process would train on (GlobalBatchSampler),
gradients and logged losses are averaged across ranks (so the step count and learning rate equal standalone
training), training BatchNorm normalises with the statistics of the global batch (src/dgsct/sync_batch_norm.py), the
dropout / drop path / SpecAugment masks are the blocks of the global batch's masks (use_global_batch_draws), all
ranks start from the weights of rank 0, the ranks are checked to hold equal weights after every epoch (BatchNorm
running statistics averaged first) and rank 0 alone writes the checkpoints to ckpt_path. The result equals single-process
training up to the order of floating-point reductions (README "Distributed Training").
--dry_run checks the config, the data and every checkpoint path, then exits (the scripts run it before they start).
"""
import argparse
import os
import random
import sys
import warnings
from pathlib import Path

import yaml

import numpy as np
import mindspore as ms
from mindspore import nn, ops

from src.checkpoint import TrainProgress, restore_training_checkpoint
from src.config import ConfigError, load_config, save_config
from src.config_help import config_help
from src.backbones.layers import use_global_batch_draws
from src.dgsct.encoder import check_optimizer_has_no_frozen, count_parameters
from src.dgsct.model import build_network
from src.dgsct.sync_batch_norm import use_cross_rank_batch_norm
from src.tasks import bind_task
from src.trainer import GradNet, LossNet, Trainer


def parse_args(argv):
    parser = argparse.ArgumentParser(description="DG-SCT training", allow_abbrev=False, epilog=config_help(),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config_path", required=True)
    parser.add_argument("--dry_run", action="store_true", help="check config, data and checkpoint paths, then exit")
    parser.add_argument("--dry_run_workers", type=int, default=1, help="with --dry_run: the data-parallel worker count")
    return parser.parse_known_args(argv)


def split_legacy_resume(overrides):
    """`--resume=CKPT` (a path; the form before the shared `resume` key) -> (overrides with --resume=true, CKPT),
    with a FutureWarning naming the new form; `--resume` / `--resume=true|false` pass through unchanged."""
    kept, legacy, i = [], None, 0
    while i < len(overrides):
        arg = overrides[i]
        if arg.startswith("--resume="):
            value = arg.split("=", 1)[1]
        elif arg == "--resume" and i + 1 < len(overrides) and not overrides[i + 1].startswith("--"):
            value, i = overrides[i + 1], i + 1
        else:
            kept.append(arg)
            i += 1
            continue
        i += 1
        if isinstance(yaml.safe_load(value or "''"), bool):
            kept.append(f"--resume={value}")
            continue
        warnings.warn(f"--resume={value} is deprecated and will be removed in the next release; use "
                      f"--ckpt_path=<run folder> --resume (continues from <run folder>/last.ckpt)",
                      FutureWarning, stacklevel=2)
        legacy = value
        kept.append("--resume=true")
    return kept, legacy


def setup_context(cfg):
    ms.set_device(cfg.device_target)
    ms.set_context(mode=ms.GRAPH_MODE if cfg.train.mode == "graph" else ms.PYNATIVE_MODE)
    rank, size = 0, 1
    if int(os.environ.get("RANK_SIZE", "1")) > 1 or os.environ.get("MS_ROLE"):
        from mindspore.communication import init, get_rank, get_group_size
        init()                            # msrun's scheduler process exits inside init(): no side effects before
        rank, size = get_rank(), get_group_size()
        ms.set_auto_parallel_context(parallel_mode=ms.ParallelMode.DATA_PARALLEL, gradients_mean=True)
    return rank, size


def seed_everything(seed, rank=0):
    """One seed for the graph's random ops (dropout, drop path, SpecAugment), numpy, Python and the training order
    (the GlobalBatchSampler's permutation of every epoch). Data parallel: the graph's random ops keep the common seed
    on every rank, each draws the masks of the whole global batch and keeps its rank's block (use_global_batch_draws),
    so the workers draw what one process draws; the training order keeps the common seed (the ranks take blocks of
    the same global batches); numpy and Python (data-pipeline draws such as mixup weights) use seed + rank."""
    import mindspore.dataset as ds
    ms.set_seed(seed)
    ds.config.set_seed(seed)
    np.random.seed(seed + rank)
    random.seed(seed + rank)


def per_rank_batch(batch_size, size):
    """train.batch_size is the global batch; every rank takes an equal share of it."""
    if batch_size % size:
        raise ConfigError(f"key 'train.batch_size' ({batch_size}) must be a multiple of the {size} data-parallel "
                          f"workers (it is the global batch, split evenly across them)")
    return batch_size // size


def dry_run(cfg, resume, workers):
    """What the scripts check before they put a run in the background: paths, data, batch split."""
    missing = [f"{key}={path}" for key, path in (("model.swin_ckpt", cfg.model.swin_ckpt),
                                                 ("model.htsat_ckpt", cfg.model.htsat_ckpt),
                                                 ("head.grounding_ckpt", getattr(cfg.head, "grounding_ckpt", "")),
                                                 ("resume", resume)) if path and not Path(path).is_file()]
    if missing:
        raise FileNotFoundError("checkpoint file(s) not found: " + ", ".join(missing))
    per_rank_batch(cfg.train.batch_size, workers)
    _, source = bind_task(cfg).build_data(cfg.data.train_split, cfg.train.batch_size, True)
    print(f"dry run: config, data ({len(source)} {cfg.data.train_split} samples) and checkpoint paths are valid")


def average_bn_statistics(net, size):
    """Data parallel: each rank's BatchNorm running statistics saw only its shard; replace them by the mean over
    ranks (one all-reduce) so that every rank, and the checkpoint, holds the same statistics."""
    stats = [p for p in net.get_parameters() if p.name.endswith(("moving_mean", "moving_variance"))]
    if size <= 1 or not stats:
        return
    flat = np.concatenate([p.asnumpy().ravel() for p in stats]).astype(np.float32)
    total = ops.AllReduce()(ms.Tensor(flat)).asnumpy() / size
    start = 0
    for param in stats:
        param.set_data(ms.Tensor(total[start:start + param.size].reshape(param.shape), param.dtype))
        start += param.size


def broadcast_from_rank0(net, rank, size):
    """Data parallel: give every rank the parameters of rank 0 (one all-reduce of rank 0's values and zeros)."""
    params = [p for p in net.get_parameters() if p.dtype in (ms.float32, ms.float16)]
    if size <= 1 or not params:
        return
    flat = np.concatenate([p.asnumpy().astype(np.float32).ravel() for p in params])
    if rank != 0:
        flat = np.zeros_like(flat)
    total = ops.AllReduce()(ms.Tensor(flat)).asnumpy()
    start = 0
    for param in params:
        param.set_data(ms.Tensor(total[start:start + param.size].reshape(param.shape), param.dtype))
        start += param.size


def check_ranks_agree(net, size, where):
    """Data parallel: every rank must hold the same weights and BatchNorm statistics (same initialisation, averaged
    gradients, averaged statistics); gather a checksum of each parameter from every rank and name the first that
    differs, instead of saving one rank's weights and evaluating a model the other ranks do not have."""
    if size <= 1:
        return
    params = list(net.get_parameters())
    sums = np.array([np.sum(p.asnumpy(), dtype=np.float64) for p in params], np.float32)
    gathered = ops.AllGather()(ms.Tensor(sums)).asnumpy().reshape(size, -1)
    differ = np.flatnonzero((gathered != gathered[0]).any(axis=0))
    if differ.size:
        name = params[int(differ[0])].name
        raise RuntimeError(f"{where}: the {size} data-parallel workers hold different values of {name} "
                           f"({differ.size} parameters differ; checksums {gathered[:, differ[0]].tolist()})")


def after_epoch(net, size):
    """Data parallel, end of every epoch: average the BatchNorm running statistics, then check that every rank
    holds the same weights (every rank then evaluates the same model and takes the same early-stop decision)."""
    average_bn_statistics(net, size)
    check_ranks_agree(net, size, "end of epoch")


def main(argv=None):
    args, overrides = parse_args(sys.argv[1:] if argv is None else argv)
    overrides, legacy_resume = split_legacy_resume(overrides)
    cfg = load_config(args.config_path, overrides)
    resume_from = legacy_resume or (str(Path(cfg.ckpt_path) / "last.ckpt") if cfg.resume else "")
    if args.dry_run:
        return dry_run(cfg, resume_from, args.dry_run_workers)
    rank, size = setup_context(cfg)
    seed_everything(cfg.train.seed, rank)
    log = print if rank == 0 else (lambda *a, **k: None)
    net, task = build_network(cfg)
    task.freeze(net)
    broadcast_from_rank0(net, rank, size)
    synced = use_cross_rank_batch_norm(net, size)
    if synced:
        log(f"data parallel over {size} workers: {synced} BatchNorm sites normalise with global-batch statistics")
    if size > 1:
        drawn = use_global_batch_draws(net, rank, size)
        log(f"data parallel over {size} workers: {drawn} random cells draw the masks of the global batch")
    trainable, total = count_parameters(net)
    log(f"task {cfg.task}: trainable parameters {trainable:,} / total {total:,} ({100 * trainable / total:.1f}%)")
    optimizer = nn.Adam(net.trainable_params(), learning_rate=cfg.train.lr, beta1=0.9, beta2=0.999, eps=1e-8)
    check_optimizer_has_no_frozen(optimizer, net)
    reducer = nn.DistributedGradReducer(optimizer.parameters, mean=True, degree=size) if size > 1 else None
    grad_net = GradNet(LossNet(net, task.build_loss(), len(task.input_columns)), optimizer.parameters, reducer, size)
    rank_batch = per_rank_batch(cfg.train.batch_size, size)
    train_ds, _ = task.build_data(cfg.data.train_split, rank_batch, True, rank, size)
    progress = TrainProgress(0, 0)
    if resume_from:
        progress = restore_training_checkpoint(resume_from, net, optimizer)
        log(f"resumed from {resume_from} at epoch {progress.epoch} (best {cfg.train.early_stop_metric} "
            f"{progress.best:.4f}, {progress.stale_epochs} evaluations without improvement)")
    if rank == 0:
        Path(cfg.ckpt_path).mkdir(parents=True, exist_ok=True)
        save_config(cfg, Path(cfg.ckpt_path) / "config.yaml")
    trainer = Trainer(grad_net, optimizer, cfg.train, task.loss_names, log, rank, cfg.compat.official_accum_drop)
    _, last = trainer.fit(net, task, cfg, train_ds, rank_batch * size, progress,
                          after_epoch=lambda: after_epoch(net, size))
    if rank == 0:
        log(f"checkpoint: {last or 'none (training had already finished at the resumed epoch)'}")
    return net


if __name__ == "__main__":
    main()
