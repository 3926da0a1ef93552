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
"""Typed yaml configuration: nested dataclasses, `--section.key=value` overrides that keep types, clear errors.

A config file has the sections of `Config`; the `head` and `data.options` sections are validated against the schemas
of the task (src/tasks/<task>.py: `head_schema`, `data_schema`). Head keys the task derives from the data or the
backbones (`derived_head_keys`) cannot be set. Unknown keys and wrong types fail naming the key and the file. `save_config` writes the resolved config
next to every checkpoint and export so eval/export never guess.
"""
import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .atomic_file import write_text
from .dgsct.prompt import PromptConfig


class ConfigError(ValueError):
    pass


@dataclass
class ModelConfig:
    swin_preset: str = "large_192"      # SwinV2Config.<preset>()
    swin_overrides: dict = field(default_factory=dict)
    htsat_preset: str = "audioset"      # HTSATConfig.<preset>()
    htsat_overrides: dict = field(default_factory=dict)
    swin_ckpt: str = ""                 # converted backbone weights (convert_weights.py); empty = random init
    htsat_ckpt: str = ""
    backbone_train_mode: bool = True    # official: frozen backbones still run in train mode (drop path, bn0, SpecAugment)
    train_swin_norm: bool = False       # --is_vit_ln
    train_htsat: bool = False           # true: fine-tune all of HTS-AT (as the official AVS S4 train.py does)


@dataclass
class DataConfig:
    root: str = ""                      # folder with Annotations.txt, *Set.txt, frames/, wave/
    image_size: int = 192
    audio_rate: int = 32000             # sample rate of wave/<id>.npy
    clip_samples: int = 320000          # each 1-s segment is tiled to this many samples (10 s)
    num_segments: int = 10
    num_workers: int = 2
    train_split: str = "train"
    eval_split: str = "test"            # the official code validates and selects on the TEST split
    options: typing.Any = None          # task schema (src/tasks/<task>.py data_schema), built by load_config


@dataclass
class TrainConfig:
    epochs: int = 50
    batch_size: int = 8
    lr: float = 5.0e-4
    lr_step_epochs: int = 3             # StepLR(step_size, gamma) stepped per epoch
    lr_gamma: float = 0.35
    lr_milestones: list = field(default_factory=list)   # non-empty: MultiStepLR(milestones, lr_gamma) instead of StepLR
    grad_clip_norm: float = 0.0         # > 0: clip the gradient to this global norm before each update
    accum_itr: int = 2
    seed: int = 43
    log_every: int = 10
    max_steps: int = 0                  # stop after this many batches (0 = all epochs); for demos and tests
    output_dir: str = ""                # "" = outputs/<task>
    eval_every_epochs: int = 1
    early_stop_epochs: int = 0          # stop after this many evaluations without a better select metric (0 = never)
    mode: str = "graph"                 # graph | pynative (GRAPH / PYNATIVE as in SparCode are accepted too)


@dataclass
class CompatConfig:
    """Bug compatibility: each switch reproduces one behaviour of the official code that this port corrects by
    default (README "Bug compatibility" says what and why). A switch that does not apply to the task must stay false."""
    official_accum_drop: bool = False    # trainer: with accum_itr k, step on every k-th batch's gradient only
    official_gate_bce: bool = False      # AVE loss: BCE-with-logits applied to the gate probability (sigmoid twice)
    official_inplace_relu: bool = False  # AVS decoder: in-place ReLUs (residual identity relu(x), relu'd stage maps)
    official_negatives: bool = False     # AVQA data: negative frame rejected when frame id // 60 == video index


# where the switches lived before the `compat:` section (an old config gets a pointer, not just "unknown key")
MOVED_TO_COMPAT = {("train", "official_accum_drop"), ("head", "official_gate_bce"),
                   ("head", "official_inplace_relu"), ("data.options", "official_negatives")}


@dataclass
class EvalConfig:
    batch_size: int = 1                 # test.sh evaluates with batch 1 (exact per-segment accuracy)
    ckpt: str = ""
    metrics_file: str = ""
    plot_dir: str = ""


@dataclass
class ExportConfig:
    ckpt: str = ""
    file_name: str = ""                 # "" = dgsct_<task>
    file_format: str = "MINDIR"
    batch_size: int = 1


@dataclass
class Config:
    task: str = ""                      # required: a task of the registry in src/tasks.py
    device_target: str = "CPU"
    prompt: PromptConfig = field(default_factory=PromptConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    head: typing.Any = None             # task schema (src/tasks/)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    compat: CompatConfig = field(default_factory=CompatConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    export: ExportConfig = field(default_factory=ExportConfig)


def _coerce(value, expected, key, source):
    """Check/convert one leaf value to the annotated type; ints are accepted for floats, '1e-5' strings too."""
    if expected is typing.Any or expected is dict and isinstance(value, dict):
        return value
    if expected is float:
        if isinstance(value, bool):
            raise ConfigError(f"{source}: key '{key}' expects float, got bool {value!r}")
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)     # YAML 1.1 reads 1e-5 as a string
            except ValueError:
                pass
        raise ConfigError(f"{source}: key '{key}' expects float, got {type(value).__name__} {value!r}")
    if expected is int and isinstance(value, bool) or not isinstance(value, expected):
        raise ConfigError(f"{source}: key '{key}' expects {expected.__name__}, got {type(value).__name__} {value!r}")
    return value


def build_dataclass(cls, values, source, prefix=""):
    """dict -> dataclass `cls`, recursively; unknown keys and wrong types raise ConfigError naming key and source."""
    values = values or {}
    if not isinstance(values, dict):
        raise ConfigError(f"{source}: section '{prefix.rstrip('.') or '<root>'}' must be a mapping, got {values!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ConfigError(f"{source}: unknown key '{prefix}{unknown[0]}' (allowed in this section: {sorted(names)})")
    kwargs = {}
    for name, value in values.items():
        expected = hints[name]
        if dataclasses.is_dataclass(expected):
            kwargs[name] = build_dataclass(expected, value, source, f"{prefix}{name}.")
        else:
            kwargs[name] = _coerce(value, expected, prefix + name, source)
    return cls(**kwargs)


def _set_dotted(tree, dotted, value):
    node = tree
    parts = dotted.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"command line: '{dotted}' goes through a non-section key '{part}'")
    node[parts[-1]] = value


def parse_overrides(argv):
    """['--train.lr=1e-3', '--data.root', 'x'] -> {'train': {'lr': 0.001}, 'data': {'root': 'x'}} (yaml-typed values)."""
    overrides, i = {}, 0
    while i < len(argv):
        arg = argv[i]
        if not arg.startswith("--"):
            raise ConfigError(f"command line: unexpected argument {arg!r} (use --section.key=value)")
        if "=" in arg:
            key, raw = arg[2:].split("=", 1)
        elif i + 1 < len(argv):
            key, raw = arg[2:], argv[i + 1]
            i += 1
        else:
            raise ConfigError(f"command line: {arg} needs a value")
        _set_dotted(overrides, key, yaml.safe_load(raw) if raw != "" else "")
        i += 1
    return overrides


def _merge(base, extra):
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
    return base


def _read_with_base(path, chain=()):
    """The yaml mapping of `path`; with `base: <file relative to it>` the base file's mapping (sections merged key by
    key) under this file's keys, so a tiny config states only what differs from its full config."""
    if path.resolve() in chain:
        raise ConfigError(f"{path}: key 'base' makes a cycle ({' -> '.join(str(p) for p in chain + (path,))})")
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}" + (f" (key 'base' of {chain[-1]})" if chain else ""))
    with open(path, encoding="utf-8") as handle:
        raw = yaml.safe_load(handle) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: top level must be a mapping")
    base = raw.pop("base", None)
    if base is None:
        return raw
    if not isinstance(base, str) or not base:
        raise ConfigError(f"{path}: key 'base' must be the path of another config file, got {base!r}")
    return _merge(_read_with_base(path.parent / base, chain + (path.resolve(),)), raw)


def load_config(path, argv=()):
    """Load yaml `path`, apply command-line overrides `argv`, validate against the schemas; returns Config."""
    from .tasks import TASKS, get_task     # the registry imports heads; import lazily to keep config importable alone
    path = Path(path)
    raw = _read_with_base(path)
    overrides = parse_overrides(list(argv))
    raw = _merge(raw, overrides)
    source = f"{path}" + (" + command line" if overrides else "")
    if not raw.get("task"):
        raise ConfigError(f"{source}: key 'task' is required (one of {sorted(TASKS)})")
    task = get_task(raw["task"], source)
    head = raw.pop("head", None) or {}
    data = raw.get("data")
    options = data.pop("options", None) if isinstance(data, dict) else None
    _reject_derived_keys(head, task, source)
    _point_to_compat({"train": raw.get("train"), "head": head, "data.options": options}, source)
    cfg = build_dataclass(Config, raw, source)
    cfg.head = build_dataclass(task.head_schema, head, source, "head.")
    cfg.data.options = build_dataclass(task.data_schema, options, source, "data.options.")
    cfg.prompt.validate(f"{source}: prompt")
    cfg.train.mode = cfg.train.mode.lower()
    cfg.train.output_dir = cfg.train.output_dir or f"outputs/{cfg.task}"     # task-neutral defaults
    cfg.export.file_name = cfg.export.file_name or f"dgsct_{cfg.task}"
    _check_values(cfg, source, task)
    return cfg


def _reject_derived_keys(head, task, source):
    """Head keys the task derives (vocabulary size, backbone widths) are not configuration: setting one would be
    silently overridden, so it is an error."""
    if not isinstance(head, dict):
        return
    derived = sorted(set(head) & set(task.derived_head_keys))
    if derived:
        raise ConfigError(f"{source}: key 'head.{derived[0]}' is derived by task {task.name!r} (from the data or the "
                          f"backbones) and cannot be set; derived head keys: {list(task.derived_head_keys)}")


def _point_to_compat(sections, source):
    for section, key in sorted(MOVED_TO_COMPAT):
        if isinstance(sections[section], dict) and key in sections[section]:
            raise ConfigError(f"{source}: key '{section}.{key}' is now 'compat.{key}' (all bug-compatibility "
                              f"switches are in the compat: section)")


def _check_compat(cfg, source, task):
    """A switch set for a task it does not apply to would do nothing: name it."""
    if cfg.compat.official_accum_drop and cfg.train.accum_itr <= 1:
        raise ConfigError(f"{source}: key 'compat.official_accum_drop' has no effect with train.accum_itr "
                          f"{cfg.train.accum_itr} (it drops the gradients of accumulated batches)")
    for key in (f.name for f in dataclasses.fields(CompatConfig)):
        if getattr(cfg.compat, key) and key not in TRAINER_COMPAT + task.compat_flags:
            users = sorted(t.name for t in _all_tasks() if key in t.compat_flags)
            raise ConfigError(f"{source}: key 'compat.{key}' has no effect on task {task.name!r} (it applies to "
                              f"{', '.join(users)})")


def _all_tasks():
    from .tasks import TASKS
    return TASKS.values()


TRAINER_COMPAT = ("official_accum_drop",)     # honoured by the generic trainer, i.e. by every task


def _check_values(cfg, source, task):
    """Values a type check cannot catch, named by key."""
    if cfg.train.mode not in ("graph", "pynative"):
        raise ConfigError(f"{source}: key 'train.mode' must be graph or pynative (either case), got {cfg.train.mode!r}")
    milestones = cfg.train.lr_milestones
    if any(isinstance(m, bool) or not isinstance(m, int) or m < 1 for m in milestones) or milestones != sorted(milestones):
        raise ConfigError(f"{source}: key 'train.lr_milestones' must be increasing positive epoch counts, "
                          f"got {milestones!r}")
    if cfg.train.grad_clip_norm < 0:
        raise ConfigError(f"{source}: key 'train.grad_clip_norm' must be >= 0 (0 = no clipping), "
                          f"got {cfg.train.grad_clip_norm}")
    if cfg.train.early_stop_epochs < 0:
        raise ConfigError(f"{source}: key 'train.early_stop_epochs' must be >= 0 (0 = never), "
                          f"got {cfg.train.early_stop_epochs}")
    for key in ("train.batch_size", "eval.batch_size", "export.batch_size", "train.epochs"):
        section, name = key.split(".")
        value = getattr(getattr(cfg, section), name)
        if value < 1:
            raise ConfigError(f"{source}: key '{key}' must be >= 1, got {value}")
    _check_input_sizes(cfg, source, task)
    _check_compat(cfg, source, task)
    if hasattr(cfg.data.options, "validate"):
        try:
            cfg.data.options.validate(source)
        except ValueError as err:
            raise ConfigError(str(err)) from None


def _check_input_sizes(cfg, source, task):
    """The data must be cut to the sizes the backbones are built for (else a Conv2D/Reshape fails deep inside).
    Tasks whose network resizes the frames itself (AVS: 224 -> the Swin size) are exempt from the image check."""
    from .backbones.htsat import HTSATConfig
    from .backbones.swin_v2 import SwinV2Config
    for config_cls, preset, overrides, model_key, data_key in (
            (SwinV2Config, cfg.model.swin_preset, cfg.model.swin_overrides, "img_size", "image_size"),
            (HTSATConfig, cfg.model.htsat_preset, cfg.model.htsat_overrides, "clip_samples", "clip_samples")):
        if not hasattr(config_cls, preset):
            raise ConfigError(f"{source}: unknown backbone preset {config_cls.__name__}.{preset}()")
        if data_key == "image_size" and (task.resizes_frames or task.image_backbone != "swin"):
            continue                  # the few-shot tasks check their CLIP image size themselves
        built = overrides.get(model_key, getattr(getattr(config_cls, preset)(), model_key))
        if built != getattr(cfg.data, data_key):
            prefix = "swin" if config_cls is SwinV2Config else "htsat"
            raise ConfigError(f"{source}: key 'data.{data_key}' is {getattr(cfg.data, data_key)} but the "
                              f"{prefix} backbone is built for {model_key}={built} (model.{prefix}_preset "
                              f"'{preset}' / model.{prefix}_overrides): set both to the same value")


def config_to_dict(cfg):
    """The config as plain data; head keys the task derives are left out (they are not configuration)."""
    from .tasks import get_task
    values = dataclasses.asdict(cfg)
    if isinstance(values.get("head"), dict):
        for key in get_task(cfg.task).derived_head_keys:
            values["head"].pop(key, None)
    return values


def save_config(cfg, path):
    """Write the resolved config as yaml (atomically) beside a checkpoint or export."""
    write_text(path, yaml.safe_dump(config_to_dict(cfg), sort_keys=False))
    return Path(path)
