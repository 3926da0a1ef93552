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

File layout inside the run folder `ckpt_path`:
    sparcode-e0003.ckpt   one checkpoint per finished epoch (MindSpore .ckpt); its `train_state` entry is a JSON
                          string with epoch, global step, seeds, early-stopping state and the score-bias schedule
    best.ckpt             copy of the checkpoint with the best validation early_stop_metric (what eval/export load)
    config.yaml           the full config the run used
Every file is written through src/atomic_file.py (temporary name in the same directory, then os.replace), so a
crash never leaves a truncated checkpoint behind; temporary files of a killed run are removed at the next start.
The epoch checkpoint is written before best.ckpt is copied from it: a kill in between leaves a best.ckpt of an
older epoch, which `repair_best_checkpoint` detects (its train_state names its epoch) and replaces.
Loading refuses non-finite weights, naming the parameter and the file.
"""
import glob
import hashlib
import json
import os
import re

import numpy as np
import mindspore as ms
from mindspore import ops

from src.atomic_file import atomic_copy, atomic_output_path

TRAIN_STATE_KEY = "train_state"
BEST_NAME = "best.ckpt"
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
    params = [{"name": name, "data": param} for name, param in _unique_parameters(model, optimizer)]
    append = {TRAIN_STATE_KEY: json.dumps(train_state or {}, sort_keys=True)}
    with atomic_output_path(path) as tmp_path:
        ms.save_checkpoint(params, tmp_path, append_dict=append)
    return path


def parameter_digest(model):
    """sha256 over every model parameter (name, dtype, bytes): equal digests = identical weights and buffers.
    Ties an index and exported graphs to the checkpoint they were made from."""
    digest = hashlib.sha256()
    for param in sorted(model.get_parameters(), key=lambda p: p.name):
        value = param.asnumpy()
        digest.update(param.name.encode())
        digest.update(str(value.dtype).encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


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


def write_in_place(param, value):
    """Copy `value` into the Parameter's existing storage. set_data replaced the storage, and a graph compiled
    before (the index builder's ms.jit tail of g, kept on the network) went on reading the old one: train.py built
    the index of the best epoch from the last epoch's weights."""
    ops.assign(param, ms.Tensor(value, dtype=param.dtype))


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
        value = saved.asnumpy()
        if np.issubdtype(value.dtype, np.floating):
            bad = int(np.size(value) - np.count_nonzero(np.isfinite(value)))
            if bad:   # a diverged run: evaluating it would give an empty index and meaningless metrics
                raise CheckpointError(f"{path}: parameter '{name}' has {bad} non-finite value(s) (NaN/inf) of "
                                      f"{np.size(value)}; the run diverged or the file is damaged")
        write_in_place(param, value)
    if strict and (missing or mismatched):
        raise CheckpointError(f"{path}: missing parameters {missing[:10]} (total {len(missing)}); "
                              f"shape mismatches {mismatched[:10]}")
    return read_train_state(param_dict, path)


# Relative size of each tiled token head's own random init kept on top of the copied two-tower head: identical
# tokens get identical gradients forever, so a small difference is needed for the K tokens to specialise.
TILED_HEAD_JITTER = 0.1


def _tiled_head(name, saved, param):
    """The two-tower's 1-token head `saved` [d(, in)] tiled to this model's K-token head `param` [K d(, in)], or
    None if `name` is not such a pair. Query heads are scaled by 1/K_u, so that the K_u per-token dot products of
    a g with a dot path sum to the two-tower's <q, v>; item heads are copied, so the mean item token is v."""
    if not name.endswith(("heads.weight", "heads.bias")) or saved.ndim != param.ndim:
        return None
    rows, wanted = saved.shape[0], param.shape[0]
    if tuple(saved.shape[1:]) != tuple(param.shape[1:]) or wanted % rows or wanted == rows:
        return None
    scale = 1.0 / (wanted // rows) if name.startswith("query_tokenizer.") else 1.0
    tiled = np.concatenate([saved] * (wanted // rows), axis=0) * scale
    return tiled + TILED_HEAD_JITTER * scale * param.asnumpy()


def warm_start_from(path, model):
    """Initialise `model` from the parameters of `path` that have the same name and shape (e.g. SparCode from a
    trained two-tower: id / field embeddings and the query MLP match, the token heads and g do not).
    If the model's g has a dot path (`interaction: mlp_dot`), the two-tower's query and item token heads are
    tiled to its K_u / K_i heads as well (see _tiled_head), so it starts at the two-tower's scores.
    Returns (loaded names, skipped names); refuses a file that matches nothing or holds non-finite values."""
    param_dict = _read(path)
    tile = getattr(getattr(model, "interaction", None), "dot_path", False)
    loaded, skipped = [], []
    for name, param in _unique_parameters(model):
        saved = param_dict.get(name)
        value = None if saved is None or not param.requires_grad else saved.asnumpy()
        if value is not None and tuple(value.shape) != tuple(param.shape):
            value = _tiled_head(name, value, param) if tile else None
        if value is None:
            skipped.append(name)
            continue
        if not np.all(np.isfinite(value)):
            raise CheckpointError(f"init_ckpt {path}: parameter '{name}' has non-finite values")
        write_in_place(param, value)
        loaded.append(name)
    if not loaded:
        raise CheckpointError(f"init_ckpt {path}: no parameter has the name and shape of one of this model's "
                              f"(first of the model: {skipped[:5]})")
    return loaded, skipped


def read_checkpoint_state(path):
    """The train_state dict saved in a checkpoint file (empty if it has none)."""
    return read_train_state(_read(path), path)


def data_signature_mismatch(saved, current):
    """[(key, saved value, current value)] of the data-defining keys that differ; a key recorded on one side
    only is listed with the string '<not recorded>' on the other. Generic: keys added to the data signature
    later are compared without changes here."""
    missing = "<not recorded>"
    keys = sorted(set(saved) | set(current))
    return [(key, saved.get(key, missing), current.get(key, missing)) for key in keys
            if saved.get(key, missing) != current.get(key, missing)]


def repair_best_checkpoint(ckpt_dir, prefix, log=None):
    """Make best.ckpt the checkpoint of the best epoch recorded in the last epoch checkpoint.

    A process killed after writing `<prefix>-eN.ckpt` (best epoch N) but before copying it to best.ckpt leaves
    the previous best behind. Returns the path copied into best.ckpt, or None when it was already right."""
    last = latest_checkpoint(ckpt_dir, prefix)
    if last is None:
        return None
    last_state = read_checkpoint_state(last)
    best_epoch = last_state.get("best_epoch")
    if best_epoch is None or best_epoch < 0:
        return None
    best_path = os.path.join(ckpt_dir, BEST_NAME)
    if os.path.isfile(best_path):
        best_state = read_checkpoint_state(best_path)
        # a checkpoint written after epoch e records epoch = e + 1 (the next epoch to run)
        if best_state.get("epoch") == best_epoch + 1:
            return None
        if best_state.get("run_id") != last_state.get("run_id"):   # two runs in one folder: do not mix them
            if log is not None:
                log(f"{best_path} and {last} come from different training runs; best.ckpt left as it is")
            return None
    source = epoch_checkpoint_path(ckpt_dir, prefix, best_epoch)
    if not os.path.isfile(source):
        raise CheckpointError(f"{best_path} is not the checkpoint of the best epoch {best_epoch} recorded in {last}, "
                              f"and {source} no longer exists to repair it; pass --ckpt_file=... explicitly")
    atomic_copy(source, best_path)
    if log is not None:
        log(f"{best_path} was not the best epoch {best_epoch} recorded in {last} (a run killed before copying it); "
            f"replaced by {source}")
    return source


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
