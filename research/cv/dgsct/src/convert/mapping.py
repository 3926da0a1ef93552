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
"""Generic PyTorch-state-dict -> MindSpore-checkpoint mapping engine (no torch needed).

Step 2 of the weight conversion (step 1, ``torch_export.py``, turns a PyTorch file into an ``.npz``). A model's
conversion is an explicit *table*: an ordered list of ``Rule``s, each mapping source key(s) to target parameter
name(s) with an optional numpy transform. The engine applies the table, checks every shape against the target
network and fails unless every source key is used (or explicitly ignored / a rebuilt buffer) and every target
parameter is produced. Nothing is skipped silently.

Writing a table (a module ``src/convert/<name>_table.py``)::

    from src.convert.mapping import Rule, concat, layer_norm, linear, prefixed, split

    RULES = [
        *linear("patch_embed.proj", "patch_embed.proj"),                 # weight + bias, same layout
        *layer_norm("layers.{s}.blocks.{b}.norm1", "stages.{s}.blocks.{b}.norm1"),   # weight/bias -> gamma/beta
        Rule("layers.{s}.blocks.{b}.attn.q_bias", "stages.{s}.blocks.{b}.attn.q_bias"),
        Rule("x.{i}.qkv.weight", ("x.{i}.q.weight", "x.{i}.k.weight", "x.{i}.v.weight"), split(3)),  # 1 -> n
        Rule(("x.{i}.w_a", "x.{i}.w_b"), "y.{i}.w", concat(0)),          # n -> 1 (all sources must exist)
        Rule("some.unused.buffer", None),                                # dropped on purpose (reported)
        *prefixed(OTHER_TABLE, "swin.", "swin."),                        # reuse another table under a prefix
    ]
    BUFFERS = ("*relative_position_index", ...)   # optional: source keys the MindSpore model rebuilds itself
    def build_target(source, config):             # the MindSpore network whose parameters are the target
        ...

Patterns: ``{name}`` matches one dot-separated key segment, ``{name+}`` one or more segments; the values fill the
same placeholders in the target template(s). The first rule whose source pattern matches a key wins. Transforms
take/return numpy arrays (a tuple for several targets). Helpers: ``transpose``, ``reshape``, ``split``, ``concat``,
``squeeze``; rule helpers ``linear``, ``conv``, ``layer_norm``, ``batch_norm``, ``prefixed``.

Using it::

    result = convert(source_arrays, RULES, target_net, ignore=("head.*",), buffers=DEFAULT_BUFFERS)
    print(result.report())                 # counts + unmapped source keys + missing target params + ...
    save_checkpoint_atomic(result.params, "out.ckpt")
    load_checked(net, "out.ckpt")          # fails on any missing / unexpected / wrong-shape parameter

``convert`` raises ``ConversionError`` (message = the report) unless the mapping is complete and every shape
matches. ``ignore`` and ``buffers`` are fnmatch patterns over source keys; ignored keys are listed in the report.
"""
import fnmatch
import os
import re
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

import mindspore as ms

from ..atomic_file import atomic_output

# Source buffers that the MindSpore models rebuild at construction (index tables, coordinate tables, shift masks).
DEFAULT_BUFFERS = ("*relative_position_index", "*relative_coords_table", "*attn_mask")
NPZ_KEY_LIST = "__keys__"

Names = Union[str, Sequence[str], None]


class ConversionError(ValueError):
    """Incomplete or inconsistent mapping; the message is the full report."""


class LoadError(ValueError):
    """A checkpoint does not match a network exactly."""


# ----------------------------------------------------------------------------------------------- transforms
def transpose(*axes):
    """Array transform: np.transpose(a, axes)."""
    return lambda a: np.ascontiguousarray(np.transpose(a, axes or None))


def reshape(*shape):
    """Array transform: a.reshape(shape)."""
    return lambda a: a.reshape(shape)


def squeeze(axis):
    """Array transform: np.squeeze(a, axis)."""
    return lambda a: np.squeeze(a, axis)


def split(parts: int, axis: int = 0):
    """Array transform for a 1 -> n rule: equal split along an axis (e.g. packed qkv)."""
    def _split(a):
        if a.shape[axis] % parts:
            raise ValueError(f"cannot split axis {axis} of shape {a.shape} into {parts} equal parts")
        return tuple(np.ascontiguousarray(p) for p in np.split(a, parts, axis=axis))
    return _split


def concat(axis: int = 0):
    """Array transform for an n -> 1 rule: concatenate the sources along an axis."""
    return lambda *arrays: np.concatenate(arrays, axis=axis)


# ----------------------------------------------------------------------------------------------------- rules
_PLACEHOLDER = re.compile(r"\{(\w+)(\+?)\}")


def _compile_pattern(pattern: str):
    parts, last = [], 0
    for m in _PLACEHOLDER.finditer(pattern):
        parts.append(re.escape(pattern[last:m.start()]))
        parts.append(f"(?P<{m.group(1)}>{'.+' if m.group(2) else '[^.]+'})")
        last = m.end()
    parts.append(re.escape(pattern[last:]))
    return re.compile("".join(parts) + r"\Z")


def _fill(template: str, values: Dict[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def _as_tuple(names: Names) -> Tuple[str, ...]:
    if names is None:
        return ()
    return (names,) if isinstance(names, str) else tuple(names)


@dataclass(frozen=True)
class Rule:
    """source pattern(s) -> target template(s) [+ transform]. ``dst=None`` drops the source on purpose."""
    src: Names
    dst: Names
    transform: Optional[Callable] = None

    def __post_init__(self):
        if not _as_tuple(self.src):
            raise ValueError("a Rule needs at least one source pattern")
        if self.transform is None and len(_as_tuple(self.src)) != max(len(_as_tuple(self.dst)), 1):
            raise ValueError(f"rule {self.src} -> {self.dst}: a many-to-one or one-to-many rule needs a transform")

    def sources(self):
        return _as_tuple(self.src)

    def targets(self):
        return _as_tuple(self.dst)


def linear(src: str, dst: str, bias: bool = True) -> List[Rule]:
    """torch Linear/Conv (weight[, bias]) -> MindSpore Dense/Conv: same names, same [out, in, ...] layout."""
    names = ("weight", "bias") if bias else ("weight",)
    return [Rule(f"{src}.{n}", f"{dst}.{n}") for n in names]


conv = linear


def layer_norm(src: str, dst: str) -> List[Rule]:
    """torch LayerNorm weight/bias -> MindSpore gamma/beta."""
    return [Rule(f"{src}.weight", f"{dst}.gamma"), Rule(f"{src}.bias", f"{dst}.beta")]


def batch_norm(src: str, dst: str) -> List[Rule]:
    """torch BatchNorm -> MindSpore gamma/beta/moving_mean/moving_variance; num_batches_tracked is dropped."""
    return [Rule(f"{src}.weight", f"{dst}.gamma"), Rule(f"{src}.bias", f"{dst}.beta"),
            Rule(f"{src}.running_mean", f"{dst}.moving_mean"),
            Rule(f"{src}.running_var", f"{dst}.moving_variance"),
            Rule(f"{src}.num_batches_tracked", None)]


def prefixed(rules: Iterable[Rule], src_prefix: str, dst_prefix: str) -> List[Rule]:
    """The same rules with a prefix added to every source pattern and target template (to compose tables)."""
    def add(prefix, names):
        if names is None or isinstance(names, str):
            return names if names is None else prefix + names
        return tuple(prefix + n for n in names)
    return [Rule(add(src_prefix, r.src), add(dst_prefix, r.dst), r.transform) for r in rules]


# ------------------------------------------------------------------------------------------------ the engine
@dataclass
class ConversionResult:
    """Outcome of ``convert``; ``ok`` only when every list of problems is empty."""
    params: Dict[str, np.ndarray] = field(default_factory=dict)
    mapped: List[Tuple[Tuple[str, ...], Tuple[str, ...]]] = field(default_factory=list)
    unmapped_source: List[str] = field(default_factory=list)
    missing_target: List[str] = field(default_factory=list)
    ignored: List[str] = field(default_factory=list)
    dropped: List[str] = field(default_factory=list)
    errors: List[str] = field(default_factory=list)          # shape mismatches, unknown targets, duplicates ...
    num_source: int = 0
    num_target: int = 0

    @property
    def ok(self) -> bool:
        return not (self.unmapped_source or self.missing_target or self.errors)

    def report(self, max_items: int = 50) -> str:
        def block(title, items):
            if not items:
                return [f"{title}: none"]
            shown = [f"  {i}" for i in items[:max_items]]
            if len(items) > max_items:
                shown.append(f"  ... and {len(items) - max_items} more")
            return [f"{title} ({len(items)}):"] + shown

        used = sum(len(src) for src, _ in self.mapped)
        lines = [f"conversion {'OK' if self.ok else 'FAILED'}: {used}/{self.num_source} source keys mapped to "
                 f"{len(self.params)}/{self.num_target} target parameters "
                 f"({len(self.ignored)} ignored, {len(self.dropped)} dropped by the table)"]
        lines += block("errors", self.errors)
        lines += block("unmapped source keys", self.unmapped_source)
        lines += block("missing target parameters", self.missing_target)
        lines += block("ignored source keys (ignore list / rebuilt buffers)", self.ignored)
        lines += block("source keys dropped by the table", self.dropped)
        return "\n".join(lines)


def target_specs(target) -> Dict[str, Tuple[Tuple[int, ...], np.dtype]]:
    """name -> (shape, numpy dtype) of a network's parameters (or pass such a dict through)."""
    if isinstance(target, dict):
        return {k: (tuple(v[0]), np.dtype(v[1])) for k, v in target.items()}
    return {name: (tuple(p.shape), ms.dtype_to_nptype(p.dtype)) for name, p in target.parameters_and_names()}


def _matches_any(key: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(key, p) for p in patterns)


def convert(source: Dict[str, np.ndarray], rules: Sequence[Rule], target, ignore: Sequence[str] = (),
            buffers: Sequence[str] = DEFAULT_BUFFERS, strict: bool = True) -> ConversionResult:
    """Map ``source`` (key -> array) onto the parameters of ``target`` (a Cell or name -> (shape, dtype)).

    Raises ConversionError with the report when ``strict`` and the result is not ``ok``.
    """
    specs = target_specs(target)
    compiled = [(rule, [_compile_pattern(p) for p in rule.sources()]) for rule in rules]
    result = ConversionResult(num_source=len(source), num_target=len(specs))
    consumed = set()
    produced_by: Dict[str, str] = {}

    for key in source:
        if key in consumed:
            continue
        if _matches_any(key, ignore) or _matches_any(key, buffers):
            result.ignored.append(key)
            consumed.add(key)
            continue
        hit = None
        for rule, patterns in compiled:
            m = patterns[0].match(key)
            if m:
                hit = rule, m.groupdict()
                break
        if hit is None:
            result.unmapped_source.append(key)
            continue
        rule, values = hit
        src_keys = tuple(_fill(p, values) for p in rule.sources())
        absent = [k for k in src_keys if k not in source]
        if absent:
            result.errors.append(f"{key}: rule {rule.src} also needs source key(s) {absent}, which are absent")
            continue
        consumed.update(src_keys)
        if rule.dst is None:
            result.dropped.extend(src_keys)
            continue
        dst_names = tuple(_fill(t, values) for t in rule.targets())
        arrays = [np.asarray(source[k]) for k in src_keys]
        try:
            out = rule.transform(*arrays) if rule.transform is not None else arrays[0]
        except Exception as err:   # report the key with the failing transform
            result.errors.append(f"{key}: transform failed: {err}")
            continue
        outs = out if isinstance(out, tuple) else (out,)
        if len(outs) != len(dst_names):
            result.errors.append(f"{key}: transform gave {len(outs)} arrays for {len(dst_names)} targets")
            continue
        for name, array in zip(dst_names, outs):
            if name not in specs:
                result.errors.append(f"{key} -> {name}: the target network has no parameter '{name}'")
                continue
            if name in produced_by:
                result.errors.append(f"{key} -> {name}: already produced from {produced_by[name]}")
                continue
            shape, dtype = specs[name]
            if tuple(array.shape) != shape:
                result.errors.append(f"{key} -> {name}: shape mismatch, source {tuple(array.shape)} "
                                     f"vs target {shape}")
                continue
            produced_by[name] = key
            result.params[name] = np.ascontiguousarray(array, dtype=dtype)
        result.mapped.append((src_keys, dst_names))

    result.missing_target = [name for name in specs if name not in result.params]
    if strict and not result.ok:
        raise ConversionError(result.report())
    return result


# ------------------------------------------------------------------------------------------------------ I/O
def load_npz(path: str) -> Dict[str, np.ndarray]:
    """Read an exported state dict (see torch_export.py), in the original key order."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such .npz file: {path}")
    with np.load(path, allow_pickle=False) as data:
        keys = [str(k) for k in data[NPZ_KEY_LIST]] if NPZ_KEY_LIST in data.files else list(data.files)
        absent = [k for k in keys if k not in data.files]
        if absent:
            raise ValueError(f"{path}: key list names arrays that are not stored: {absent[:10]}")
        return {k: data[k] for k in keys}


def save_npz_atomic(arrays: Dict[str, np.ndarray], path: str):
    """Write key -> array plus the ordered key list to ``path`` atomically (src/atomic_file.py)."""
    if NPZ_KEY_LIST in arrays:
        raise ValueError(f"'{NPZ_KEY_LIST}' is reserved in exported .npz files")
    with atomic_output(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays, **{NPZ_KEY_LIST: np.array(list(arrays), dtype=str)})


def save_checkpoint_atomic(params: Dict[str, np.ndarray], path: str):
    """Save name -> array as a MindSpore .ckpt atomically (src/atomic_file.py)."""
    if not path.endswith(".ckpt"):
        raise ValueError(f"checkpoint path must end with .ckpt: {path}")
    with atomic_output(path) as tmp:
        ms.save_checkpoint([{"name": name, "data": ms.Tensor(array)} for name, array in params.items()], tmp)


def load_checked(net, checkpoint, prefix: str = "", allow_missing: Sequence[str] = (),
                 allow_unexpected: Sequence[str] = ()):
    """Load a .ckpt path or a name -> Parameter/Tensor/array dict into ``net`` and fail on any mismatch.

    ``prefix`` is prepended to the checkpoint names (e.g. load a Swin checkpoint into ``encoder.swin``);
    ``allow_missing`` / ``allow_unexpected`` are fnmatch patterns of names that may legitimately differ.
    Raises LoadError naming the missing, unexpected or wrong-shape parameters; returns the loaded names.
    """
    if isinstance(checkpoint, str):
        if not os.path.isfile(checkpoint):
            raise FileNotFoundError(f"no such checkpoint: {checkpoint}")
        raw = ms.load_checkpoint(checkpoint)
        origin = checkpoint
    else:
        raw, origin = checkpoint, "parameter dict"
    params = {}
    for name, value in raw.items():
        if not isinstance(value, ms.Parameter):
            value = ms.Parameter(ms.Tensor(np.asarray(value)) if not isinstance(value, ms.Tensor) else value,
                                 name=prefix + name)
        params[prefix + name] = value

    net_params = {p.name: p for p in net.get_parameters()}
    missing = [n for n in net_params if n not in params and not _matches_any(n, allow_missing)]
    unexpected = [n for n in params if n not in net_params and not _matches_any(n, allow_unexpected)]
    wrong_shape = [f"{n}: checkpoint {tuple(params[n].shape)} vs network {tuple(p.shape)}"
                   for n, p in net_params.items() if n in params and tuple(params[n].shape) != tuple(p.shape)]
    if missing or unexpected or wrong_shape:
        raise LoadError(f"{origin} does not match {type(net).__name__}: missing {missing[:20]} "
                        f"({len(missing)}), unexpected {unexpected[:20]} ({len(unexpected)}), "
                        f"wrong shape {wrong_shape[:20]}")
    loadable = {n: v for n, v in params.items() if n in net_params}
    not_loaded, ckpt_not_loaded = ms.load_param_into_net(net, loadable, strict_load=True)
    not_loaded = [n for n in not_loaded if not _matches_any(n, allow_missing)]
    if not_loaded or ckpt_not_loaded:
        raise LoadError(f"load_param_into_net left network parameters {not_loaded[:20]} unloaded and "
                        f"checkpoint entries {list(ckpt_not_loaded)[:20]} unused ({origin})")
    return sorted(loadable)
