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
"""Typed, validated flat configuration for SparCode.

`default_config.yaml` defines every key. Its default value fixes the key's type (int keys stay int, float keys
accept `1e-3` written in any way, lists keep their element type) and its comment is the key's meaning (`--help`).
Keys in NULLABLE may also be null. A yaml file given with `--config_path` and `--key=value` command-line overrides
may only set keys that exist; anything else raises ConfigError naming the source (file or "command line"), the key
and the problem. A yaml file may start from another one with `base: <path relative to this file>` (a tiny config
from its full one, a baseline from the demo); its own keys then override the base's.
"""
import os
import re
import sys
import warnings

import yaml

from src.atomic_file import atomic_write

MODEL_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CONFIG_PATH = os.path.join(MODEL_ROOT, "default_config.yaml")

# Keys whose value may be null, with the type of a non-null value (the default is null, so it cannot tell).
NULLABLE = {
    "data_path": str, "processed_path": str, "ratings_file": str, "preset": str,
    "n_users": int, "n_items": int, "n_valid_users": int, "n_fields_user": int, "n_fields_item": int,
    "field_vocab": int, "n_pos_train": int, "n_pos_test": int, "safi_quantile": float, "safi_tau": float,
    "min_rating": float, "target_density": float, "split_seed": int, "index_density": float,
    "index_path": str, "metrics_file": str, "ckpt_file": str, "init_ckpt": str,
}

CHOICES = {
    "dataset": ("synthetic", "ml-100k", "ml-1m", "ml-10m", "ml-latest-small"),
    "split_protocol": ("users", "per_user_time"),
    "preset": ("tiny", "S", "S2", "I", "M"),
    "model": ("sparcode", "two_tower", "all_to_all"),
    "query_encoder": ("mean_pool", "self_attention", "fields", "history"),
    "quantizer": ("product", "item_id"),
    "interaction": ("mlp", "mlp_dot", "self_attention"),
    "negative_sampling": ("uniform", "in_batch"),
    "device_target": ("CPU", "GPU", "Ascend"),
    "mode": ("GRAPH", "PYNATIVE"),
    "index_keys": ("used", "all"),
    "eval_split": ("test", "valid"),
    "file_format": ("MINDIR",),
}

# Synthetic keys that a preset fills when they are null (the preset table lives in src/data/synthetic.py).
PRESET_KEYS = ("n_users", "n_items", "n_valid_users", "n_fields_user", "n_fields_item", "field_vocab",
               "n_pos_train", "n_pos_test", "safi_quantile", "safi_tau")

COMMAND_LINE = "command line"

# Old key -> new key. The old name still loads for one release with a warning naming the new key, so that users'
# yaml files and saved run configs keep working (DG-SCT's src/config.py has the same names).
DEPRECATED_KEYS = {"ckpt_dir": "ckpt_path"}

# Metrics of the validation pass (src/metrics.py) that early_stop_metric may name (at any cut-off; the validation
# pass computes that cut-off besides topk).
EARLY_STOP_METRICS = ("recall", "ndcg", "hitrate", "precision")


class ConfigError(ValueError):
    """Bad configuration: unknown key, wrong type or invalid value (the message names source and key)."""


def _type_name(kind):
    if isinstance(kind, tuple):
        return f"list[{kind[1].__name__}]"
    return kind.__name__


def _parse_bool(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise TypeError


def _parse_int(value):
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, str):
        value = int(value.strip())  # "1.5" and "1e3" are rejected
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError
    return value


def _parse_float(value):
    if isinstance(value, str):
        value = float(value.strip())  # YAML 1.1 leaves `1e-5` a string
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError
    return float(value)


def _parse_str(value):
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise TypeError
    return str(value)  # YAML reads `file_name: 123` as an int; the key wants its text


_SCALAR_PARSERS = {bool: _parse_bool, int: _parse_int, float: _parse_float, str: _parse_str}


def _parse_list(value, elem_type):
    if isinstance(value, str):  # command line: "[10,20]" or "10,20"
        text = value.strip()
        if text.startswith("[") and text.endswith("]"):
            text = text[1:-1]
        value = [item for item in (part.strip() for part in text.split(",")) if item]
    if not isinstance(value, (list, tuple)):
        raise TypeError
    return [_SCALAR_PARSERS[elem_type](item) for item in value]


def _key_type(key, default):
    """Type of a key from its default: bool/int/float/str or ("list", elem_type)."""
    if key in NULLABLE:
        return NULLABLE[key]
    if isinstance(default, list):
        elem_types = {type(v) for v in default}
        if elem_types <= {int}:
            return ("list", int)
        if elem_types <= {int, float}:
            return ("list", float)
        return ("list", str)
    if isinstance(default, str):
        try:  # a default written as `1e-5` still declares a float key
            float(default)
            return float
        except ValueError:
            return str
    return type(default)


def coerce(key, value, kind, source):
    """Convert `value` to the key's type, or raise ConfigError naming source, key, expected type and value."""
    null_text = isinstance(value, str) and value.strip().lower() in ("null", "none") and source == COMMAND_LINE
    if value is None or null_text:
        if key in NULLABLE:
            return None
        raise ConfigError(f"{source}: key '{key}' must not be null (expected {_type_name(kind)})")
    try:
        if isinstance(kind, tuple):
            result = _parse_list(value, kind[1])
        else:
            result = _SCALAR_PARSERS[kind](value)
    except (TypeError, ValueError):
        raise ConfigError(f"{source}: key '{key}' expects {_type_name(kind)}, got {value!r} "
                          f"({type(value).__name__})") from None
    return result


class Config:
    """Flat configuration with attribute access (cfg.lr) and dict export."""

    def __init__(self, values, types=None):
        object.__setattr__(self, "_values", dict(values))
        object.__setattr__(self, "_types", dict(types or {}))

    def __getattr__(self, name):
        values = object.__getattribute__(self, "_values")
        if name in values:
            return values[name]
        raise AttributeError(f"config has no key '{name}'")

    def __setattr__(self, name, value):
        types = object.__getattribute__(self, "_types")
        if types and name not in types:
            raise ConfigError(f"assignment: unknown config key '{name}'")
        if types:
            value = coerce(name, value, types[name], "assignment")
        self._values[name] = value

    def __getitem__(self, name):
        return self._values[name]

    def __contains__(self, name):
        return name in self._values

    def get(self, name, default=None):
        return self._values.get(name, default)

    def to_dict(self):
        return dict(self._values)

    def __repr__(self):
        return f"Config({self._values!r})"

    def save(self, path):
        """Write the full config as yaml, atomically (saved next to checkpoints)."""
        atomic_write(path, lambda f: yaml.safe_dump(self.to_dict(), f, sort_keys=False), binary=False)

    @classmethod
    def from_file(cls, path, overrides=None):
        """Load a config saved by `save` (validated against the current schema)."""
        return load_config(path, overrides)


def _read_yaml(path):
    if not os.path.isfile(path):
        raise ConfigError(f"{path}: config file not found")
    try:
        with open(path, "r", encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: invalid yaml: {err}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping of key: value, got {type(data).__name__}")
    return data


def _config_chain(path, seen=()):
    """[(file, keys)] of `path` and its `base:` files, base first; a missing base or a cycle is a ConfigError."""
    path = os.path.abspath(path)
    if path in seen:
        raise ConfigError(f"{path}: key 'base' makes a cycle ({' -> '.join(seen + (path,))})")
    data = _read_yaml(path)
    base = data.pop("base", None)
    if base is None:
        return [(path, data)]
    if not isinstance(base, str) or not base:
        raise ConfigError(f"{path}: key 'base' must be the path of another config file, got {base!r}")
    base_path = os.path.join(os.path.dirname(path), base)
    if not os.path.isfile(base_path):
        raise ConfigError(f"{path}: key 'base': config file not found: {base_path}")
    return _config_chain(base_path, seen + (path,)) + [(path, data)]


def _rename_deprecated(updates, source):
    """Old key names of one source (a file or the command line) -> their new names, with a FutureWarning each."""
    updates = dict(updates)
    for old, new in DEPRECATED_KEYS.items():
        if old not in updates:
            continue
        if new in updates:
            raise ConfigError(f"{source}: keys '{old}' (deprecated) and '{new}' are both set; keep only '{new}'")
        warnings.warn(f"{source}: config key '{old}' is deprecated and will be removed in the next release; "
                      f"use '{new}'", FutureWarning, stacklevel=2)
        updates[new] = updates.pop(old)
    return updates


def _apply(values, types, updates, source, explicit):
    updates = _rename_deprecated(updates, source)
    for key, value in updates.items():
        if key not in types:
            raise ConfigError(f"{source}: unknown config key '{key}'")
        values[key] = coerce(key, value, types[key], source)
        explicit.add(key)


def overrides_to_dict(argv):
    """Parse `--key=value` (or `--key value`, or a bare `--flag` = true) into a dict of raw strings."""
    result = {}
    i = 0
    argv = list(argv)
    while i < len(argv):
        arg = argv[i]
        if not arg.startswith("--") or len(arg) <= 2:
            raise ConfigError(f"{COMMAND_LINE}: expected --key=value, got {arg!r}")
        body = arg[2:]
        if "=" in body:
            key, value = body.split("=", 1)
        elif i + 1 < len(argv) and not argv[i + 1].startswith("--"):
            key, value = body, argv[i + 1]
            i += 1
        else:
            key, value = body, "true"
        result[key] = value
        i += 1
    return result


def _fill_preset(values, explicit):
    """Synthetic data: keys left null take the preset's values (SAFI_PRESETS in src/data/synthetic.py)."""
    if values["dataset"] != "synthetic" or values["preset"] is None:
        return
    from src.data.synthetic import SAFI_PRESETS  # local import: synthetic.py does not import config
    preset = SAFI_PRESETS[values["preset"]]
    for key in PRESET_KEYS:
        if values[key] is None:
            values[key] = preset[key]


def _check_values(values, source_of):
    """Range checks that types cannot express."""
    def fail(key, what):
        raise ConfigError(f"{source_of.get(key, DEFAULT_CONFIG_PATH)}: key '{key}' {what}")

    for key, choices in CHOICES.items():
        if values[key] is not None and values[key] not in choices:
            fail(key, f"must be one of {list(choices)}, got {values[key]!r}")
    ratio = values["split_ratio"]
    if len(ratio) != 3 or min(ratio) < 0 or abs(sum(ratio) - 1.0) > 1e-6:
        fail("split_ratio", f"must be 3 non-negative fractions summing to 1, got {ratio}")
    if not values["topk"] or min(values["topk"]) <= 0:
        fail("topk", f"must be a non-empty list of positive ints, got {values['topk']}")
    name, _, cutoff = values["early_stop_metric"].partition("@")
    if name not in EARLY_STOP_METRICS or not cutoff.isdigit() or int(cutoff) <= 0:
        fail("early_stop_metric", f"must be <metric>@<k> with metric one of {list(EARLY_STOP_METRICS)} and a "
                                  f"cut-off k > 0, got {values['early_stop_metric']!r}")
    if values["score_bias"] > 0:
        fail("score_bias", f"must be <= 0 (more negative = sparser), got {values['score_bias']}")
    if values["token_dim"] % values["num_codebooks"] != 0:
        fail("token_dim", f"({values['token_dim']}) must be divisible by num_codebooks ({values['num_codebooks']})")
    if values["quantizer"] == "item_id":
        # the code of a history token is its item id: only the per-item history tokens have such a code
        if values["model"] != "sparcode":
            fail("quantizer", f"'item_id' applies to model sparcode only (its codes key the index), got model "
                              f"{values['model']!r}")
        if values["query_encoder"] != "history":
            fail("quantizer", f"'item_id' needs query_encoder 'history' (one token per history item, a function of "
                              f"the item alone), got query_encoder {values['query_encoder']!r}")
    elif values["model"] == "sparcode" and values["codebook_size"] ** values["num_codebooks"] > 2 ** 31:
        # query codes are flat int32 ids sum_m c_m K_c^(M-1-m) (src/model/quantizer.py); found only at the first
        # validation otherwise
        fail("codebook_size", f"codebook_size ** num_codebooks = {values['codebook_size']} ** "
                              f"{values['num_codebooks']} exceeds 2^31, the range of the int32 query code ids")
    if values["split_protocol"] == "per_user_time" and min(ratio[1:]) <= 0:
        fail("split_ratio", f"with split_protocol per_user_time, the valid and test fractions of each user's "
                            f"timeline must be > 0, got {ratio}")
    if values["split_seed"] is not None and values["split_seed"] < 0:
        fail("split_seed", f"must be >= 0 or null, got {values['split_seed']}")
    if not 0.0 < values["eval_hist_frac"] < 1.0:
        fail("eval_hist_frac", f"must be in (0, 1), got {values['eval_hist_frac']}")
    if values["logq_correction"] and values["negative_sampling"] != "in_batch":
        fail("logq_correction", f"corrects in-batch sampling only: set negative_sampling: in_batch "
                                f"(got {values['negative_sampling']!r})")
    if values["query_encoder"] == "history" and values["num_query_tokens"] != values["history_len"]:
        fail("num_query_tokens", f"query_encoder 'history' makes one token per history position: num_query_tokens "
                                 f"({values['num_query_tokens']}) must equal history_len ({values['history_len']})")
    if values["target_density"] is not None and not 0.0 < values["target_density"] <= 1.0:
        fail("target_density", f"must be in (0, 1], got {values['target_density']}")
    if values["index_density"] is not None:
        if not 0.0 < values["index_density"] <= 1.0:
            fail("index_density", f"must be in (0, 1], got {values['index_density']}")
        if values["model"] != "sparcode":
            fail("index_density", f"prunes SparCode's index; model {values['model']!r} has no index")
    if not values["index_prune_alpha"] >= 0.0:
        fail("index_prune_alpha", f"must be >= 0 (0 = one global cut), got {values['index_prune_alpha']}")
    if not values["sparsity_weight"] >= 0.0:
        fail("sparsity_weight", f"must be >= 0 (0 = no sparsity term), got {values['sparsity_weight']}")
    if not 0.0 <= values["relu_grad_leak"] <= 1.0:
        fail("relu_grad_leak", f"must be in [0, 1] (surrogate slope below zero), got {values['relu_grad_leak']}")
    if not values["dense_loss_weight"] >= 0.0:
        fail("dense_loss_weight", f"must be >= 0 (0 = no dense softmax), got {values['dense_loss_weight']}")
    if values["dense_loss_weight"] > 0 and (values["model"] == "two_tower" or values["negative_sampling"] != "uniform"):
        fail("dense_loss_weight", f"adds the sampled softmax of g's scores at b = 0: needs model sparcode or "
                                  f"all_to_all and negative_sampling uniform, got model {values['model']!r} and "
                                  f"negative_sampling {values['negative_sampling']!r}")
    if values["sparsity_weight"] > 0 and values["model"] == "two_tower":
        fail("sparsity_weight", "acts on the per-token scores of g (sparcode, all_to_all); the two-tower has none")
    positive = ("history_len", "min_interactions", "embedding_size", "token_dim", "num_query_tokens", "num_item_tokens",
                "num_codebooks", "codebook_size", "num_negatives", "batch_size", "epochs", "log_every",
                "index_item_batch", "index_pair_block", "eval_batch_size", "max_eval_targets", "sa_heads")
    for key in positive:
        if values[key] <= 0:
            fail(key, f"must be > 0, got {values[key]}")
    for key in ("max_examples_per_user", "early_stop_patience", "vq_warmup_epochs", "bias_anneal_epochs",
                "min_history", "keep_ckpt_max"):
        if values[key] < 0:
            fail(key, f"must be >= 0, got {values[key]}")
    if not 0.0 <= values["dropout"] < 1.0:
        fail("dropout", f"must be in [0, 1), got {values['dropout']}")
    if not 0.0 < values["ema_decay"] < 1.0:
        fail("ema_decay", f"must be in (0, 1), got {values['ema_decay']}")
    if values["lr"] <= 0:
        fail("lr", f"must be > 0, got {values['lr']}")
    if values["dataset"] == "synthetic":
        for key in PRESET_KEYS:
            if values[key] is None:
                fail(key, "is null and no synthetic preset is set")
        if values["safi_quantile"] is not None and not 0.0 < values["safi_quantile"] < 1.0:
            fail("safi_quantile", f"must be in (0, 1), got {values['safi_quantile']}")
        for key in ("n_users", "n_items", "n_valid_users", "n_fields_user", "n_fields_item", "field_vocab"):
            if values[key] <= 0:
                fail(key, f"must be > 0, got {values[key]}")
        if values["n_pos_train"] + values["n_pos_test"] >= values["n_items"]:
            # blame the key the user set (a preset fills the others)
            key = next((k for k in ("n_items", "n_pos_train", "n_pos_test") if k in source_of), "n_items")
            fail(key, f"({values[key]}): every user draws n_pos_train + n_pos_test = {values['n_pos_train']} + "
                      f"{values['n_pos_test']} distinct items, so n_items ({values['n_items']}) must be larger")


def load_config(config_path=None, overrides=None):
    """default_config.yaml, then `config_path` (existing keys only), then overrides (list of --key=value or dict)."""
    defaults = _read_yaml(DEFAULT_CONFIG_PATH)
    types = {key: _key_type(key, value) for key, value in defaults.items()}
    values = {}
    for key, value in defaults.items():
        values[key] = coerce(key, value, types[key], DEFAULT_CONFIG_PATH)
    explicit = set()
    source_of = {}
    if config_path is not None and os.path.abspath(config_path) != DEFAULT_CONFIG_PATH:
        for path, updates in _config_chain(config_path):
            _apply(values, types, updates, path, explicit)
            source_of.update({DEPRECATED_KEYS.get(key, key): path for key in updates})
    if overrides:
        if not isinstance(overrides, dict):
            overrides = overrides_to_dict(overrides)
        overrides = dict(overrides)
        overrides.pop("config_path", None)
        _apply(values, types, overrides, COMMAND_LINE, explicit)
        source_of.update({DEPRECATED_KEYS.get(key, key): COMMAND_LINE for key in overrides})
    values["mode"] = values["mode"].upper()      # `graph` as in DG-SCT's train.mode is accepted too
    if values["preset"] is not None and values["preset"] not in CHOICES["preset"]:
        raise ConfigError(f"{source_of.get('preset', DEFAULT_CONFIG_PATH)}: key 'preset' must be one of "
                          f"{list(CHOICES['preset'])}, got {values['preset']!r}")
    _fill_preset(values, explicit)
    _check_values(values, source_of)
    return Config(values, types)


def _key_meanings():
    """key -> its comment in default_config.yaml (a comment-only line under a key continues that key's comment)."""
    meanings, last = {}, None
    with open(DEFAULT_CONFIG_PATH, encoding="utf-8") as f:
        for line in f:
            key_line = re.match(r"^(\w+):[^#]*(?:#\s?(.*))?$", line.rstrip())
            continuation = re.match(r"^\s+#\s?(.*)$", line.rstrip())
            if key_line:
                last = key_line.group(1)
                meanings[last] = (key_line.group(2) or "").strip()
            elif continuation and last:
                meanings[last] += " " + continuation.group(1).strip()
            else:
                last = None
    return meanings


def config_help(prog):
    """Usage text listing every key of default_config.yaml with its type, default, choices and meaning."""
    defaults = _read_yaml(DEFAULT_CONFIG_PATH)
    meanings = _key_meanings()
    lines = [f"usage: python {prog} [--config_path=FILE] [--key=value ...]", "",
             "Every key below is a flag (--key=value) and a yaml key (--config_path; `base: FILE` in a yaml starts",
             "from another config). Defaults are those of default_config.yaml.", ""]
    for key, value in defaults.items():
        kind = _type_name(_key_type(key, value)) + (" or null" if key in NULLABLE else "")
        choices = f", one of {'|'.join(CHOICES[key])}" if key in CHOICES else ""
        shown = "null" if value is None else str(value).lower() if isinstance(value, bool) else value
        lines.append(f"  --{key:<24} {kind}, default {shown}{choices}")
        lines.append(f"      {meanings.get(key, '')}")
    return "\n".join(lines)


def exit_if_help(argv, prog):
    """`--help` / `-h` anywhere in argv: print config_help and exit 0 (before anything else is parsed)."""
    if any(arg in ("--help", "-h") for arg in argv):
        print(config_help(prog))
        raise SystemExit(0)


def parse_cli(argv=None, prog="train.py"):
    """`--config_path=...` plus any `--key=value` overrides (no argparse: every config key is a flag; --help lists
    them)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    exit_if_help(argv, prog)
    raw = overrides_to_dict(argv)
    config_path = raw.pop("config_path", None)
    return load_config(config_path, raw)
