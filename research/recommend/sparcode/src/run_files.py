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
"""A finished run's files: its saved config, its checkpoint, the model restored from it, the index path, and the
names of the files an export writes (export.py writes them, infer.py reads them)."""
import os

from src.config import exit_if_help, load_config, overrides_to_dict


def resolve_checkpoint(cfg):
    """cfg.ckpt_file, else <ckpt_path>/best.ckpt (first repaired if a killed run left an older epoch in it), else the
    last epoch checkpoint in ckpt_path."""
    from src.checkpoint import BEST_NAME, latest_checkpoint, repair_best_checkpoint
    if cfg.ckpt_file:
        if not os.path.isfile(cfg.ckpt_file):
            raise FileNotFoundError(f"config key ckpt_file: checkpoint not found: {cfg.ckpt_file}")
        return cfg.ckpt_file
    repair_best_checkpoint(cfg.ckpt_path, cfg.model, print)
    best = os.path.join(cfg.ckpt_path, BEST_NAME)
    if os.path.isfile(best):
        return best
    last = latest_checkpoint(cfg.ckpt_path, cfg.model)
    if last is None:
        raise FileNotFoundError(f"no checkpoint in ckpt_path={cfg.ckpt_path} (best.ckpt or {cfg.model}-e*.ckpt); "
                                "train first or pass --ckpt_file=...")
    return last


def load_run_config(argv, prog="eval.py"):
    """Config of a finished run: the config.yaml saved next to the checkpoint (train.py writes it), with
    `--key=value` overrides on top. `--config_path` is used only when no saved config is found. --help lists the
    keys."""
    exit_if_help(argv, prog)
    raw = overrides_to_dict(argv)
    config_path = raw.pop("config_path", None)
    if raw.get("ckpt_file"):
        run_dir = os.path.dirname(os.path.abspath(raw["ckpt_file"]))
    else:
        run_dir = raw.get("ckpt_path") or raw.get("ckpt_dir") or load_config(config_path).ckpt_path
    saved = os.path.join(run_dir, "config.yaml")
    if os.path.isfile(saved):
        return load_config(saved, raw)
    if config_path is None:
        raise FileNotFoundError(f"no saved config {saved}; pass --config_path=... of the training run")
    return load_config(config_path, raw)


def load_trained_model(cfg, data, ckpt_file):
    """Model built from cfg with the checkpoint's weights (EMA codebooks and score bias included), eval mode."""
    from src.checkpoint import load_checkpoint_into
    from src.model.factory import build_model
    model = build_model(cfg, data.model_meta())
    load_checkpoint_into(ckpt_file, model, None, strict=True)
    model.set_train(False)
    return model


def default_index_path(cfg):
    return cfg.index_path or os.path.join(cfg.ckpt_path, "index.npz")


def export_paths(prefix):
    """Files of an export with --file_name=<prefix> (export.py writes them, infer.py reads them)."""
    return {name: f"{prefix}_{name}.{ext}" for name, ext in
            (("query", "mindir"), ("g", "mindir"), ("item", "mindir"), ("index", "npz"), ("config", "yaml"),
             ("export", "json"))}
