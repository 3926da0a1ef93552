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
"""Atomic training checkpoints (network + optimizer state + epoch/step) with the config saved beside them."""
from pathlib import Path
from typing import NamedTuple

import mindspore as ms

from .atomic_file import atomic_output
from .config import save_config



class TrainProgress(NamedTuple):
    """Where training stands, saved in every training checkpoint so that --resume continues it exactly."""
    epoch: int                    # epochs completed
    step: int                     # batches run
    best: float = -1.0            # best validation value of train.early_stop_metric so far
    stale_epochs: int = 0         # evaluations since `best` last improved (early stopping)


def _entries(net, optimizer):
    # network names relative to `net` (p.name changes when a wrapper Cell adopts the network)
    entries = dict(net.parameters_and_names())
    if optimizer is not None:
        for param in optimizer.get_parameters():     # moments, beta powers, global_step, learning_rate
            entries.setdefault(param.name, param)
    return [{"name": name, "data": value} for name, value in entries.items()]


def save_training_checkpoint(path, net, optimizer, cfg, progress):
    """Write `path` (.ckpt) atomically (src/atomic_file.py) and `path` with .yaml holding the config.
    progress: TrainProgress (epoch, step, best, stale_epochs) stored beside the parameters."""
    path = Path(path)
    meta = {"epoch": int(progress.epoch), "step": int(progress.step), "best": float(progress.best),
            "stale_epochs": int(progress.stale_epochs)}
    with atomic_output(path) as tmp:
        ms.save_checkpoint(_entries(net, optimizer), tmp, append_dict=meta)
    save_config(cfg, path.with_suffix(".yaml"))
    return path


def restore_training_checkpoint(path, net, optimizer):
    """Load network and optimizer state; fail on anything missing. Returns the TrainProgress saved with it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint to resume from not found: {path}")
    params = ms.load_checkpoint(str(path))
    load_network_state(net, params, path)
    optimizer_params = {p.name: p for p in optimizer.get_parameters()}
    network_ids = {id(p) for p in net.get_parameters()}
    for name, param in optimizer_params.items():
        if id(param) in network_ids:
            continue
        if name not in params:
            raise ValueError(f"{path}: optimizer state {name!r} missing")
        param.set_data(params[name].astype(param.dtype))
    for key in ("epoch", "step"):
        if key not in params:
            raise ValueError(f"{path}: no {key!r} entry (not a training checkpoint of train.py)")
    return TrainProgress(int(params["epoch"].asnumpy()), int(params["step"].asnumpy()),
                         float(params["best"].asnumpy()) if "best" in params else -1.0,
                         int(params["stale_epochs"].asnumpy()) if "stale_epochs" in params else 0)


def load_network_state(net, params, path):
    """Copy `params` (names relative to `net`) into `net`; fail on a missing name or a shape mismatch."""
    missing, wrong = [], []
    for name, param in net.parameters_and_names():
        if name not in params:
            missing.append(name)
        elif tuple(params[name].shape) != tuple(param.shape):
            wrong.append(f"{name}: {tuple(params[name].shape)} vs {tuple(param.shape)}")
        else:
            param.set_data(params[name].astype(param.dtype))
    if missing or wrong:
        raise ValueError(f"{path}: {len(missing)} parameters missing (e.g. {missing[:5]}), "
                         f"{len(wrong)} with wrong shapes (e.g. {wrong[:3]})")


def checkpoint_to_load(cfg):
    """The checkpoint eval.py / export.py load: `ckpt_file`, else <ckpt_path>/best.ckpt, else <ckpt_path>/last.ckpt
    (as SparCode's ckpt_file default)."""
    if cfg.ckpt_file:
        if not Path(cfg.ckpt_file).is_file():
            raise FileNotFoundError(f"key 'ckpt_file': checkpoint not found: {cfg.ckpt_file}")
        return cfg.ckpt_file
    for name in ("best.ckpt", "last.ckpt"):
        path = Path(cfg.ckpt_path) / name
        if path.is_file():
            return str(path)
    raise FileNotFoundError(f"no checkpoint to load: key 'ckpt_file' is not set and ckpt_path={cfg.ckpt_path} holds "
                            f"no best.ckpt or last.ckpt (set --ckpt_file=CKPT or --ckpt_path=RUN_FOLDER)")
