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
"""Atomic training checkpoints: model (incl. EMA buffers and score bias), optimizer state, loop state.

File layout inside `ckpt_dir`:
    sparcode-e0003.ckpt   one checkpoint per finished epoch (MindSpore .ckpt); its `train_state` entry is a JSON
                          string with epoch, global step, seeds, early-stopping state and the score-bias schedule
    best.ckpt             copy of the checkpoint with the best validation Recall@50 (what eval/export load)
    config.yaml           the full config the run used
Every file is written to a temporary name in the same directory and moved into place with os.replace, so a
crash never leaves a truncated checkpoint behind.
"""
import glob
import json
import os
import re

import mindspore as ms

TRAIN_STATE_KEY = "train_state"
CKPT_PATTERN = re.compile(r"^(?P<prefix>.+)-e(?P<epoch>\d+)\.ckpt$")


class CheckpointError(RuntimeError):
    """Raised when a checkpoint is missing, corrupt or does not match the network."""


def _unique_parameters(*cells):
    """(name, Parameter) pairs of all given cells, each Parameter once (the optimizer holds the model's too)."""
    seen, named = set(), []
    for cell in cells:
        if cell is None:
            continue
        for param in cell.get_parameters():
            if id(param) in seen:
                continue
            seen.add(id(param))
            named.append((param.name, param))
    names = [n for n, _ in named]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise CheckpointError(f"parameter names are not unique, cannot checkpoint: {duplicates[:5]}")
    return named


def atomic_save_checkpoint(path, model, optimizer=None, train_state=None):
    """Save model + optimizer parameters and a JSON-serialisable `train_state` dict to `path` atomically."""
    if not path.endswith(".ckpt"):
        raise ValueError(f"checkpoint path must end with .ckpt: {path}")
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp_path = os.path.join(directory, f".tmp-{os.getpid()}-{os.path.basename(path)}")
    params = [{"name": name, "data": param} for name, param in _unique_parameters(model, optimizer)]
    append = {TRAIN_STATE_KEY: json.dumps(train_state or {}, sort_keys=True)}
    try:
        ms.save_checkpoint(params, tmp_path, append_dict=append)
        os.replace(tmp_path, path)
    finally:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
    return path


def atomic_copy(src, dst):
    """Copy a file to `dst` through a temporary file in the destination directory."""
    directory = os.path.dirname(os.path.abspath(dst))
    tmp_path = os.path.join(directory, f".tmp-{os.getpid()}-{os.path.basename(dst)}")
    try:
        with open(src, "rb") as fin, open(tmp_path, "wb") as fout:
            fout.write(fin.read())
        os.replace(tmp_path, dst)
    finally:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
    return dst


def _read(path):
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint file not found: {path}")
    try:
        return ms.load_checkpoint(path)
    except Exception as err:  # MindSpore raises ValueError/RuntimeError for corrupt files
        raise CheckpointError(f"cannot read checkpoint {path}: {err}") from err


def read_train_state(param_dict, path=""):
    raw = param_dict.get(TRAIN_STATE_KEY)
    if raw is None:
        return {}
    if isinstance(raw, (ms.Parameter, ms.Tensor)):
        raise CheckpointError(f"{path}: entry {TRAIN_STATE_KEY} is not a string")
    return json.loads(str(raw))


def load_checkpoint_into(path, model, optimizer=None, strict=True):
    """Restore model (and optimizer) parameters from `path`; returns the saved train_state dict.

    strict=True: every parameter of the given cells must be present with the same shape, otherwise
    CheckpointError names the missing / mismatched ones (load_param_into_net would only warn).
    """
    param_dict = _read(path)
    missing, mismatched = [], []
    for name, param in _unique_parameters(model, optimizer):
        saved = param_dict.get(name)
        if saved is None:
            missing.append(name)
            continue
        if tuple(saved.shape) != tuple(param.shape):
            mismatched.append(f"{name}: checkpoint {tuple(saved.shape)} vs network {tuple(param.shape)}")
            continue
        param.set_data(ms.Tensor(saved.asnumpy(), dtype=param.dtype))
    if strict and (missing or mismatched):
        raise CheckpointError(f"{path}: missing parameters {missing[:10]} (total {len(missing)}); "
                              f"shape mismatches {mismatched[:10]}")
    return read_train_state(param_dict, path)


def list_epoch_checkpoints(ckpt_dir, prefix):
    """Epoch checkpoints in `ckpt_dir` sorted by epoch: [(epoch, path), ...]."""
    found = []
    for path in glob.glob(os.path.join(ckpt_dir, f"{prefix}-e*.ckpt")):
        match = CKPT_PATTERN.match(os.path.basename(path))
        if match and match.group("prefix") == prefix:
            found.append((int(match.group("epoch")), path))
    return sorted(found)


def latest_checkpoint(ckpt_dir, prefix):
    found = list_epoch_checkpoints(ckpt_dir, prefix)
    return found[-1][1] if found else None


def prune_checkpoints(ckpt_dir, prefix, keep_max):
    """Delete the oldest epoch checkpoints, keeping `keep_max` (<= 0 keeps all)."""
    if keep_max <= 0:
        return
    for _, path in list_epoch_checkpoints(ckpt_dir, prefix)[:-keep_max]:
        os.remove(path)


def epoch_checkpoint_path(ckpt_dir, prefix, epoch):
    return os.path.join(ckpt_dir, f"{prefix}-e{epoch:04d}.ckpt")
