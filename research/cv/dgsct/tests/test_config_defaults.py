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
"""Config names shared with SparCode and task-neutral defaults: no AVE value leaks into another task's run."""
from pathlib import Path

import pytest
import yaml

from src.config import ConfigError, load_config

MODEL_DIR = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("text", ["train:\n  epochs: 1\n", "task: ''\n"])
def test_task_is_required_and_named(tmp_path, text):
    (tmp_path / "no_task.yaml").write_text(text)
    with pytest.raises(ConfigError, match=r"no_task\.yaml: key 'task' is required \(one of .*'ave'.*'avvp'"):
        load_config(tmp_path / "no_task.yaml")


def test_run_folder_and_export_name_default_to_the_task(tmp_path):
    path = tmp_path / "avs.yaml"
    path.write_text("base: " + str(MODEL_DIR / "configs" / "tiny" / "avs_s4.yaml") + "\n")
    cfg = load_config(path, ["--ckpt_path=", "--file_name="])
    assert (cfg.ckpt_path, cfg.file_name) == ("outputs/avs_s4", "dgsct_avs_s4")
    assert load_config(path, ["--ckpt_path=runs/x"]).ckpt_path == "runs/x"


# the keys of both models with the same meaning have the same names (SparCode: flat --key=value)
SHARED_KEYS = ("ckpt_path", "resume", "ckpt_file", "metrics_file", "file_name", "file_format")


def test_keys_shared_with_sparcode_have_its_names_at_the_top_level():
    cfg = load_config(MODEL_DIR / "configs" / "tiny" / "ave.yaml",
                      ["--ckpt_path=runs/a", "--resume", "--ckpt_file=a.ckpt", "--metrics_file=m.json",
                       "--file_name=net", "--file_format=MINDIR", "--train.early_stop_patience=4",
                       "--train.early_stop_metric=accuracy"])
    assert [getattr(cfg, key) for key in SHARED_KEYS] == ["runs/a", True, "a.ckpt", "m.json", "net", "MINDIR"]
    assert (cfg.train.early_stop_patience, cfg.train.early_stop_metric) == (4, "accuracy")
    sparcode_defaults = (MODEL_DIR.parents[1] / "recommend" / "sparcode" / "default_config.yaml").read_text()
    for key in SHARED_KEYS + ("early_stop_patience", "early_stop_metric"):
        assert f"\n{key}:" in sparcode_defaults, key


@pytest.mark.parametrize("old,value,new,read", [
    ("train.output_dir", "runs/old", "ckpt_path", lambda c: c.ckpt_path),
    ("train.early_stop_epochs", 7, "train.early_stop_patience", lambda c: c.train.early_stop_patience),
    ("eval.ckpt", "e.ckpt", "ckpt_file", lambda c: c.ckpt_file),
    ("export.ckpt", "x.ckpt", "ckpt_file", lambda c: c.ckpt_file),
    ("eval.metrics_file", "m.json", "metrics_file", lambda c: c.metrics_file),
    ("export.file_name", "net", "file_name", lambda c: c.file_name),
    ("export.file_format", "MINDIR", "file_format", lambda c: c.file_format)])
def test_deprecated_keys_still_load_with_a_warning_naming_the_new_key(tmp_path, old, value, new, read):
    section, key = old.split(".")
    path = tmp_path / "old.yaml"
    path.write_text(f"base: {MODEL_DIR / 'configs' / 'tiny' / 'ave.yaml'}\n{section}:\n  {key}: {value}\n")
    with pytest.warns(FutureWarning, match=rf"old\.yaml: config key '{old}' is deprecated .*use '{new}'"):
        assert read(load_config(path)) == value
    with pytest.warns(FutureWarning, match=rf"command line: config key '{old}' is deprecated .*use '{new}'"):
        assert read(load_config(MODEL_DIR / "configs" / "tiny" / "ave.yaml", [f"--{old}={value}"])) == value


def test_deprecated_and_new_key_with_different_values_are_refused():
    with pytest.raises(ConfigError, match=r"command line: keys 'train.output_dir' \(deprecated\) and 'ckpt_path' "
                                          r"are both set"):
        load_config(MODEL_DIR / "configs" / "tiny" / "ave.yaml", ["--train.output_dir=a", "--ckpt_path=b"])


def test_saved_config_uses_only_the_new_names(tmp_path):
    from src.config import save_config  # pylint: disable=import-outside-toplevel
    cfg = load_config(MODEL_DIR / "configs" / "tiny" / "ave.yaml")
    saved = yaml.safe_load(save_config(cfg, tmp_path / "c.yaml").read_text())
    assert "output_dir" not in saved["train"] and "early_stop_epochs" not in saved["train"]
    assert set(saved["eval"]) == {"batch_size", "plot_dir"} and set(saved["export"]) == {"batch_size"}
    assert saved["train"]["early_stop_metric"] == "accuracy"            # resolved: the AVE task's metric


# keys whose value differs per task: the generic schema gives none of them a default (no AVE value leaks)
PER_TASK_KEYS = ("train.epochs", "train.batch_size", "train.lr", "data.num_segments", "data.eval_split",
                 "prompt.reduction", "prompt.num_tokens", "prompt.tokens_init", "prompt.alignment", "prompt.use_bn")


@pytest.mark.parametrize("key", PER_TASK_KEYS)
def test_per_task_keys_have_no_default_and_must_be_set(tmp_path, key):
    section, name = key.split(".")
    config = yaml.safe_load((MODEL_DIR / "configs" / "ave.yaml").read_text())
    del config[section][name]
    (tmp_path / "ave.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError, match=rf"ave\.yaml: key '{key}' is required"):
        load_config(tmp_path / "ave.yaml")


def test_generic_defaults_are_not_the_ave_values():
    from src.config import REQUIRED, DataConfig, PromptSection, TrainConfig  # pylint: disable=import-outside-toplevel
    ave = load_config(MODEL_DIR / "configs" / "ave.yaml")
    train, data = TrainConfig(), DataConfig()
    for key in PER_TASK_KEYS:
        section, name = key.split(".")
        assert getattr({"train": train, "data": data, "prompt": PromptSection()}[section], name) is REQUIRED, key
    # the remaining training defaults are neutral (no schedule, no accumulation, no early stop), unlike AVE's
    assert (train.lr_gamma, train.accum_itr, train.early_stop_patience, train.early_stop_metric) == (1.0, 1, 0, "")
    assert (ave.train.lr_gamma, ave.train.accum_itr, ave.train.early_stop_patience) == (0.35, 2, 20)


def test_early_stop_metric_defaults_to_the_task_metric():
    tiny = MODEL_DIR / "configs" / "tiny"
    assert {name: load_config(tiny / f"{name}.yaml").train.early_stop_metric for name in ("ave", "avs_s4", "avqa")} \
        == {"ave": "accuracy", "avs_s4": "miou", "avqa": "overall"}


TINY_CONFIGS = sorted((MODEL_DIR / "configs" / "tiny").glob("*.yaml"))


def _leaves(tree, prefix=()):
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            out.update(_leaves(value, prefix + (key,)))
        else:
            out[prefix + (key,)] = value
    return out


@pytest.mark.parametrize("tiny", TINY_CONFIGS, ids=lambda p: p.stem)
def test_tiny_config_is_its_full_config_plus_the_listed_overrides(tiny):
    """Each tiny config names as `base:` its full config, or another tiny config (a tiny variant of a tiny task,
    e.g. few-shot LLP on tiny few-shot AVE; a config has one base), and lists only keys whose value differs from
    that base; loaded, it equals the base in every other key."""
    from src.config import config_to_dict  # pylint: disable=import-outside-toplevel
    raw = yaml.safe_load(tiny.read_text())
    base = raw.pop("base")
    assert base == f"../{tiny.name}" or (base != tiny.name and (tiny.parent / base) in TINY_CONFIGS), base
    full_path = (tiny.parent / base).resolve()
    full, small = _leaves(config_to_dict(load_config(full_path))), _leaves(config_to_dict(load_config(tiny)))
    overrides = _leaves(raw)
    for key, value in overrides.items():
        assert small[key] == value, key
        assert full.get(key) != value, f"{tiny.name}: {'.'.join(key)} = {value!r} repeats the full config"
    # every other key equals the full config's (an empty mapping there, e.g. model.swin_overrides: {}, is covered
    # by the override keys below it)
    covered = {key[:i] for key in overrides for i in range(1, len(key) + 1)}
    differing = {key for key in set(full) | set(small) if full.get(key) != small.get(key)}
    assert differing <= covered, sorted(differing - covered)


@pytest.mark.parametrize("given,expected", [("GRAPH", "graph"), ("graph", "graph"), ("PyNative", "pynative")])
def test_mode_accepts_either_case(given, expected):
    cfg = load_config(MODEL_DIR / "configs" / "tiny" / "ave.yaml", [f"--train.mode={given}"])
    assert cfg.train.mode == expected


def test_unknown_mode_is_refused():
    with pytest.raises(ConfigError, match="train.mode"):
        load_config(MODEL_DIR / "configs" / "tiny" / "ave.yaml", ["--train.mode=eager"])


@pytest.mark.parametrize("script", ["train.py", "eval.py", "export.py"])
def test_help_lists_every_key_with_type_default_and_meaning(script):
    import dataclasses  # pylint: disable=import-outside-toplevel
    import subprocess  # pylint: disable=import-outside-toplevel
    import sys  # pylint: disable=import-outside-toplevel
    from src.config import Config  # pylint: disable=import-outside-toplevel
    out = subprocess.run([sys.executable, script, "--help"], cwd=MODEL_DIR, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    for section in dataclasses.fields(Config):
        default = section.default_factory() if section.default_factory is not dataclasses.MISSING else None
        keys = [f"{section.name}.{f.name}" for f in dataclasses.fields(default)] \
            if dataclasses.is_dataclass(default) else [section.name]
        for key in keys:
            assert f"--{key} " in out.stdout or f"--{key}.*" in out.stdout, key
    assert "--train.lr_step_epochs" in out.stdout and "StepLR(step_size, gamma) stepped per epoch" in out.stdout
    assert "task avqa: head keys (AVSTConfig)" in out.stdout and "--head.match_weight" in out.stdout


def test_base_key_merges_sections_and_names_errors(tmp_path):
    full = tmp_path / "full.yaml"
    full.write_text((MODEL_DIR / "configs" / "ave.yaml").read_text())
    tiny = tmp_path / "sub" / "tiny.yaml"
    tiny.parent.mkdir()
    tiny.write_text("base: ../full.yaml\ntrain:\n  epochs: 1\n")
    cfg, reference = load_config(tiny), load_config(full)
    assert cfg.train.epochs == 1 and cfg.train.lr == reference.train.lr and cfg.prompt == reference.prompt
    assert load_config(tiny, ["--train.epochs=2"]).train.epochs == 2              # command line wins
    (tmp_path / "a.yaml").write_text("base: b.yaml\n")
    (tmp_path / "b.yaml").write_text("base: a.yaml\n")
    with pytest.raises(ConfigError, match="cycle"):
        load_config(tmp_path / "a.yaml")
    (tmp_path / "orphan.yaml").write_text("base: missing.yaml\n")
    with pytest.raises(ConfigError, match=r"missing\.yaml \(key 'base' of .*orphan\.yaml\)"):
        load_config(tmp_path / "orphan.yaml")


def test_a_task_without_prompt_modules_takes_no_prompt_section(tmp_path):
    grounding = load_config(MODEL_DIR / "configs" / "avqa_grounding.yaml")
    assert grounding.prompt is None
    path = tmp_path / "grounding.yaml"
    path.write_text(f"base: {MODEL_DIR / 'configs' / 'avqa_grounding.yaml'}\nprompt: {{alpha: 0.2}}\n")
    with pytest.raises(ConfigError, match=r"task 'avqa_grounding' has no prompt modules; remove the 'prompt' section"):
        load_config(path)
