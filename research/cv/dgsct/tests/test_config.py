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
"""Config loader: types kept through overrides, unknown keys / wrong types name the key and the file."""
from pathlib import Path

import pytest
import yaml

from src.config import ConfigError, load_config, parse_overrides, save_config

MODEL_DIR = Path(__file__).resolve().parents[1]


def test_official_ave_config_values():
    cfg = load_config(MODEL_DIR / "configs" / "ave.yaml")
    assert (cfg.train.lr, cfg.train.lr_step_epochs, cfg.train.lr_gamma) == (5e-4, 3, 0.35)
    assert (cfg.train.batch_size, cfg.train.epochs, cfg.train.seed, cfg.train.accum_itr) == (8, 50, 43, 2)
    assert (cfg.prompt.reduction, cfg.prompt.groups, cfg.prompt.num_tokens) == (8, 2, 32)
    assert cfg.model.swin_preset == "large_192" and cfg.model.htsat_preset == "audioset"
    assert cfg.head.cmbs.num_classes == 28 and not cfg.compat.official_gate_bce and not cfg.compat.official_accum_drop


def test_overrides_keep_types():
    cfg = load_config(MODEL_DIR / "configs" / "tiny" / "ave.yaml",
                      ["--train.lr=1e-3", "--train.epochs", "7", "--prompt.ln_post=false", "--head.cmbs.topk=2",
                       "--data.root=/x/y"])
    assert cfg.train.lr == pytest.approx(1e-3) and isinstance(cfg.train.lr, float)
    assert cfg.train.epochs == 7 and cfg.prompt.ln_post is False and cfg.head.cmbs.topk == 2
    assert cfg.data.root == "/x/y"


@pytest.mark.parametrize("args,message", [
    (["--train.lrr=1"], "train.lrr"),
    (["--train.epochs=1.5"], "train.epochs"),
    (["--prompt.alpha=abc"], "prompt.alpha"),
    (["--head.cmbs.bogus=1"], "head.cmbs.bogus"),
    (["--compat.official_accum_drop=3"], "compat.official_accum_drop"),
])
def test_bad_keys_and_types_name_the_key(args, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")) as err:
        load_config(MODEL_DIR / "configs" / "tiny" / "ave.yaml", args)
    assert "ave.yaml" in str(err.value)


def test_bad_yaml_key_names_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("task: ave\ntrain:\n  epochz: 3\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml.*train\.epochz"):
        load_config(path)


def test_unknown_task_and_scientific_notation(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(f"base: {MODEL_DIR / 'configs' / 'ave.yaml'}\ntrain:\n  lr: 1e-5\n")   # YAML 1.1: a string
    assert load_config(path).train.lr == pytest.approx(1e-5)
    path.write_text("task: nope\n")
    with pytest.raises(ValueError, match="unknown task 'nope'"):
        load_config(path)


def test_saved_config_round_trips(tmp_path):
    cfg = load_config(MODEL_DIR / "configs" / "tiny" / "ave.yaml", ["--train.epochs=3"])
    saved = save_config(cfg, tmp_path / "cfg.yaml")
    again = load_config(saved)
    assert again == cfg
    assert yaml.safe_load(saved.read_text())["train"]["epochs"] == 3


def test_parse_overrides_rejects_positional():
    with pytest.raises(ConfigError, match="unexpected argument"):
        parse_overrides(["train.lr=1"])


@pytest.mark.parametrize("override,key", [("--train.early_stop_patience=-1", "train.early_stop_patience"),
                                          ("--data.options.mixup_alpha=-0.5", "data.options.mixup_alpha"),
                                          ("--data.options.mixup_alpha=high", "data.options.mixup_alpha")])
def test_out_of_range_values_name_the_key(override, key):
    with pytest.raises(ConfigError, match=rf"avs_s4.yaml \+ command line: key '{key}'"):
        load_config(MODEL_DIR / "configs" / "avs_s4.yaml", [override])


@pytest.mark.parametrize("config", ["ave", "avvp", "avs_s4", "avs_ms3", "avqa", "avqa_grounding"])
def test_benchmark_batch_matches_the_dataset_columns(config):
    """benchmark.py's inputs/labels: one array per dataset column, one mixup weight per backbone sample."""
    import numpy as np
    from src.tasks import bind_task, example_training_batch
    cfg = load_config(MODEL_DIR / "configs" / "tiny" / f"{config}.yaml")
    task = bind_task(cfg)
    inputs, labels = example_training_batch(task, 3, np.random.default_rng(0))
    assert len(inputs) == len(task.input_columns) and len(labels) == len(task.label_columns)
    if "mixup_lambda" in task.input_columns:
        mixup = inputs[task.input_columns.index("mixup_lambda")].shape
        assert mixup == ((3, 1) if config == "avqa_grounding" else (3, cfg.data.num_segments))
    assert all(x.shape[0] == 3 for x in inputs + labels)


@pytest.mark.parametrize("config,args,message", [
    ("avvp", ["--data.options.st_dirr=x"], r"unknown key 'data\.options\.st_dirr'"),
    ("avvp", ["--data.options.mixup_alpha=[1]"], r"key 'data\.options\.mixup_alpha' expects float"),
    ("avqa", ["--data.options.max_question_len=long"], r"key 'data\.options\.max_question_len' expects int"),
    ("ave", ["--data.options.mixup_alpha=0.5"], r"unknown key 'data\.options\.mixup_alpha'"),   # AVE has no mixup
])
def test_data_options_are_typed_per_task(config, args, message):
    with pytest.raises(ConfigError, match=message):
        load_config(MODEL_DIR / "configs" / "tiny" / f"{config}.yaml", args)


def test_data_options_defaults_come_from_the_task_schema():
    from src.data.avqa import AVQADataOptions
    from src.data.avvp import AVVPDataOptions
    avvp = load_config(MODEL_DIR / "configs" / "avvp.yaml")
    assert isinstance(avvp.data.options, AVVPDataOptions) and avvp.data.options.media_dir == ""
    avqa = load_config(MODEL_DIR / "configs" / "tiny" / "avqa.yaml")
    assert isinstance(avqa.data.options, AVQADataOptions) and avqa.data.options.max_question_len == 14


@pytest.mark.parametrize("config,key", [("avqa", "vocab_size"), ("avqa", "visual_dim"), ("avvp", "num_segments"),
                                        ("avvp", "audio_dim")])
def test_derived_head_keys_cannot_be_set(config, key):
    with pytest.raises(ConfigError, match=rf"key 'head\.{key}' is derived by task '{config}'"):
        load_config(MODEL_DIR / "configs" / "tiny" / f"{config}.yaml", [f"--head.{key}=7"])


def test_prepare_returns_derived_values_and_leaves_the_config_alone(tmp_path):
    """AVVP: the head gets data.num_segments from prepare(); the saved config has no derived key and reloads."""
    import copy
    from src.tasks import bind_task
    cfg = load_config(MODEL_DIR / "configs" / "tiny" / "avvp.yaml", ["--data.num_segments=6"])
    before = copy.deepcopy(cfg)
    task = bind_task(cfg)
    assert task.derived.num_segments == 6 and cfg == before
    save_config(cfg, tmp_path / "saved.yaml")
    saved = yaml.safe_load((tmp_path / "saved.yaml").read_text())
    assert "num_segments" not in saved["head"] and "audio_dim" not in saved["head"]
    assert load_config(tmp_path / "saved.yaml") == cfg


@pytest.mark.parametrize("config,args,old", [
    ("ave", ["--train.official_accum_drop=true"], "train.official_accum_drop"),
    ("ave", ["--head.official_gate_bce=true"], "head.official_gate_bce"),
    ("avs_s4", ["--head.official_inplace_relu=true"], "head.official_inplace_relu"),
    ("avqa", ["--data.options.official_negatives=true"], "data.options.official_negatives"),
])
def test_old_compat_keys_point_to_the_compat_section(config, args, old):
    key = old.rsplit(".", 1)[1]
    with pytest.raises(ConfigError, match=rf"key '{old}' is now 'compat\.{key}'"):
        load_config(MODEL_DIR / "configs" / "tiny" / f"{config}.yaml", args)


@pytest.mark.parametrize("config,args,message", [
    ("avvp", ["--compat.official_gate_bce=true"], r"'compat\.official_gate_bce' has no effect on task 'avvp' "
                                                  r"\(it applies to ave\)"),
    ("ave", ["--compat.official_negatives=true"], r"'compat\.official_negatives' has no effect on task 'ave'"),
    ("avvp", ["--compat.official_accum_drop=true"], r"'compat\.official_accum_drop' has no effect with "
                                                    r"train\.accum_itr 1"),
])
def test_compat_switches_that_do_nothing_are_refused(config, args, message):
    with pytest.raises(ConfigError, match=message):
        load_config(MODEL_DIR / "configs" / "tiny" / f"{config}.yaml", args)


def test_compat_switches_reach_the_code_they_change(tmp_path):
    """Each switch of the compat: section is read by its consumer (loss, AVS head, AVQA sampler, trainer)."""
    from src.data.avqa_synthetic import make_synthetic_avqa
    from src.tasks import bind_task
    from src.heads.avs_tpavi import AVSHeadConfig
    tiny = MODEL_DIR / "configs" / "tiny"
    ave = load_config(tiny / "ave.yaml", ["--compat.official_gate_bce=true", "--compat.official_accum_drop=true",
                                          "--train.accum_itr=2"])
    assert bind_task(ave).build_loss().official_gate_bce and not bind_task(load_config(tiny / "ave.yaml")) \
        .build_loss().official_gate_bce
    assert ave.compat.official_accum_drop and not hasattr(AVSHeadConfig(), "official_inplace_relu")
    avs = load_config(tiny / "avs_s4.yaml", ["--compat.official_inplace_relu=true"])
    assert bind_task(avs).build_network().head.official_inplace_relu
    data = make_synthetic_avqa(str(tmp_path / "avqa"), videos_per_split=(6, 1, 1), questions_per_video=1,
                               image_size=32, frames_per_video=10, sample_rate=8000)
    for flag in (True, False):
        cfg = load_config(tiny / "avqa.yaml", [f"--data.root={data}", f"--ckpt_path={tmp_path / 'out'}",
                                               f"--compat.official_negatives={str(flag).lower()}"])
        _, source = bind_task(cfg).build_data("train", 1, True)
        assert source.official_negatives is flag
