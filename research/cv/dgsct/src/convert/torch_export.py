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
"""Step 1 of weight conversion: PyTorch file -> .npz of numpy arrays (the only module that imports torch).

Accepts a plain state dict, a Lightning checkpoint (``state_dict``), ``model`` / ``state_dict`` / ``module``
wrappers and whole pickled ``nn.Module``s; strips DataParallel ``module.`` prefixes. torch is imported lazily so the
rest of the package (and the ``map`` step) works without it.
"""
from collections import OrderedDict
from typing import Dict, Optional, Sequence

import numpy as np

from .mapping import save_npz_atomic

WRAPPER_KEYS = ("state_dict", "model", "model_state_dict", "module", "net")
DATA_PARALLEL_PREFIX = "module."


def _import_torch():
    try:
        import torch  # pylint: disable=import-outside-toplevel
    except ImportError as err:
        raise ImportError("exporting a PyTorch file needs torch (pip install -r requirements-parity.txt); "
                          "the npz -> ckpt step does not") from err
    return torch


def _torch_load(torch, path: str, unsafe_pickle: bool):
    try:
        return torch.load(path, map_location="cpu", weights_only=not unsafe_pickle)
    except Exception as err:   # torch raises several types for files needing full unpickling
        if unsafe_pickle:
            raise
        raise RuntimeError(f"{path}: torch.load(weights_only=True) failed ({type(err).__name__}: "
                           f"{str(err).splitlines()[0][:300]}). If you trust this file, rerun with "
                           "--unsafe-pickle (full pickle, can execute code).") from err


def unwrap_state_dict(obj, torch, path: str = "<object>", key: Optional[str] = None):
    """Find the tensor dict inside a loaded checkpoint object."""
    if isinstance(obj, torch.nn.Module):
        return obj.state_dict()
    trail = []
    while isinstance(obj, dict):
        if key is not None:
            if key not in obj:
                raise KeyError(f"{path}: no key '{key}' at {'/'.join(trail) or 'top level'}; "
                               f"keys: {list(obj)[:20]}")
            trail.append(key)
            obj, key = obj[key], None
            continue
        if obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
            return obj
        inner = next((k for k in WRAPPER_KEYS if isinstance(obj.get(k), (dict, torch.nn.Module))), None)
        if inner is None:
            bad = next((k for k, v in obj.items() if not isinstance(v, torch.Tensor)), None)
            raise ValueError(f"{path}: cannot find a state dict at {'/'.join(trail) or 'top level'}: "
                             f"entry '{bad}' is a {type(obj.get(bad)).__name__}, and none of the wrapper keys "
                             f"{WRAPPER_KEYS} is present (keys: {list(obj)[:20]}); use --key")
        trail.append(inner)
        obj = obj[inner]
        if isinstance(obj, torch.nn.Module):
            return obj.state_dict()
    raise ValueError(f"{path}: expected a dict of tensors, found {type(obj).__name__}")


def strip_prefixes(state: Dict, prefixes: Sequence[str]) -> "OrderedDict":
    """Remove a prefix when EVERY key has it (repeatedly, e.g. nested DataParallel)."""
    state = OrderedDict(state)
    changed = True
    while changed and state:
        changed = False
        for prefix in prefixes:
            if all(k.startswith(prefix) for k in state):
                state = OrderedDict((k[len(prefix):], v) for k, v in state.items())
                changed = True
    return state


def to_numpy(state: Dict, torch, path: str = "<object>") -> "OrderedDict[str, np.ndarray]":
    """Tensors -> numpy (bfloat16 widened to float32, which numpy lacks)."""
    arrays = OrderedDict()
    for name, tensor in state.items():
        if not isinstance(tensor, torch.Tensor):
            raise TypeError(f"{path}: entry '{name}' is a {type(tensor).__name__}, not a tensor")
        tensor = tensor.detach().cpu()
        if tensor.dtype == torch.bfloat16:
            tensor = tensor.float()
        arrays[name] = tensor.numpy().copy()
    return arrays


def export_state_dict(src: str, out: str, key: Optional[str] = None, strip: Sequence[str] = (),
                      unsafe_pickle: bool = False):
    """Read ``src`` (.pth/.pt/.ckpt), write ``out`` (.npz); returns the exported arrays."""
    torch = _import_torch()
    obj = _torch_load(torch, src, unsafe_pickle)
    state = unwrap_state_dict(obj, torch, src, key)
    state = strip_prefixes(state, (DATA_PARALLEL_PREFIX,) + tuple(strip))
    arrays = to_numpy(state, torch, src)
    if not arrays:
        raise ValueError(f"{src}: the state dict is empty")
    save_npz_atomic(arrays, out)
    return arrays


def export_module(module, out: str):
    """Export a live torch module's state dict (used by the parity tests)."""
    torch = _import_torch()
    arrays = to_numpy(module.state_dict(), torch)
    save_npz_atomic(arrays, out)
    return arrays
