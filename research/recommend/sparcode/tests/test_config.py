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
"""Config: types from defaults, yaml + command-line overrides, clear errors, save/load round trip."""
import glob
import os

import pytest
import yaml

from src.config import (DEFAULT_CONFIG_PATH, MODEL_ROOT, NULLABLE, PRESET_KEYS, Config, ConfigError, load_config,
                        overrides_to_dict, parse_cli)
from src.data.synthetic import SAFI_PRESETS

CONTRACT_KEYS = """dataset data_path processed_path preset seed n_users n_items n_fields_user n_fields_item field_vocab
n_pos_train n_pos_test history_len min_interactions min_rating split_ratio model embedding_size token_dim
num_query_tokens num_item_tokens num_codebooks codebook_size query_encoder sa_layers sa_heads interaction mlp_hidden
dropout use_user_fields use_item_fields ema_decay ema_eps dead_code_threshold commitment_weight vq_warmup_epochs
kmeans_init score_bias bias_anneal_epochs target_density l2 num_negatives negative_sampling lr batch_size epochs
early_stop_patience early_stop_metric log_every ckpt_path keep_ckpt_max device_target mode index_keys index_item_batch
index_path topk metrics_file eval_split""".split()


def write_yaml(tmp_path, text, name="c.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_defaults_define_every_contract_key_with_comment():
    cfg = load_config()
    missing = [k for k in CONTRACT_KEYS if k not in cfg]
    assert not missing
    with open(DEFAULT_CONFIG_PATH, encoding="utf-8") as f:
        lines = [line for line in f if line and not line.startswith((" ", "#", "\n"))]
    uncommented = [line.split(":")[0] for line in lines if "#" not in line]
    assert not uncommented, f"keys without a comment: {uncommented}"
    assert isinstance(cfg.lr, float) and isinstance(cfg.ema_eps, float) and cfg.ema_eps == 1e-5
    assert isinstance(cfg.batch_size, int) and cfg.topk == [10, 20, 50, 100]
    assert cfg.use_user_fields is True and cfg.target_density is None


def test_cli_overrides_keep_types():
    cfg = load_config(None, ["--lr=1e-3", "--batch_size=64", "--topk=[5,50]", "--kmeans_init=false",
                             "--mlp_hidden=64,32", "--score_bias=-0.5", "--target_density=0.08", "--mode=PYNATIVE",
                             "--split_ratio=[0.7,0.2,0.1]"])
    assert cfg.lr == 1e-3 and type(cfg.lr) is float
    assert cfg.batch_size == 64 and type(cfg.batch_size) is int
    assert cfg.topk == [5, 50] and cfg.mlp_hidden == [64, 32]
    assert cfg.kmeans_init is False and cfg.score_bias == -0.5 and cfg.target_density == 0.08
    assert cfg.split_ratio == [0.7, 0.2, 0.1] and all(type(v) is float for v in cfg.split_ratio)
    assert load_config(None, ["--lr=1"]).lr == 1.0 and type(load_config(None, ["--lr=1"]).lr) is float
    assert load_config(None, ["--kmeans_init=True"]).kmeans_init is True
    assert load_config(None, ["--target_density=0.1", "--target_density=null"]).target_density is None


def test_yaml_string_floats_become_floats(tmp_path):
    path = write_yaml(tmp_path, "lr: 1e-3\nema_eps: 1e-5\nl2: 1e-6\n")
    with open(path, encoding="utf-8") as f:
        assert isinstance(yaml.safe_load(f)["lr"], str)  # the YAML 1.1 trap this guards against
    cfg = load_config(path)
    assert (cfg.lr, cfg.ema_eps, cfg.l2) == (1e-3, 1e-5, 1e-6)
    assert all(type(v) is float for v in (cfg.lr, cfg.ema_eps, cfg.l2))


def test_precedence_default_then_file_then_cli(tmp_path):
    path = write_yaml(tmp_path, "batch_size: 32\nepochs: 3\n")
    cfg = load_config(path, {"epochs": "7"})
    assert (cfg.batch_size, cfg.epochs, cfg.lr) == (32, 7, 0.001)


def test_unknown_key_in_file_names_file_and_key(tmp_path):
    path = write_yaml(tmp_path, "batch_size: 32\nlearning_rate: 0.1\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert path in str(err.value) and "learning_rate" in str(err.value) and "unknown" in str(err.value)


def test_unknown_key_on_command_line():
    with pytest.raises(ConfigError, match=r"command line: unknown config key 'bacth_size'"):
        parse_cli(["--bacth_size=3"])


@pytest.mark.parametrize("override, key, expected", [
    ("--batch_size=1.5", "batch_size", "int"),
    ("--batch_size=abc", "batch_size", "int"),
    ("--lr=fast", "lr", "float"),
    ("--kmeans_init=maybe", "kmeans_init", "bool"),
    ("--topk=[10,x]", "topk", "list[int]"),
    ("--lr=null", "lr", "float"),
])
def test_wrong_type_on_command_line(override, key, expected):
    with pytest.raises(ConfigError) as err:
        load_config(None, [override])
    message = str(err.value)
    assert "command line" in message and f"'{key}'" in message and expected in message


def test_wrong_type_in_file_names_file_key_type_and_value(tmp_path):
    path = write_yaml(tmp_path, "epochs: ten\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert path in message and "'epochs'" in message and "int" in message and "'ten'" in message
    path = write_yaml(tmp_path, "use_user_fields: 3\n", "b.yaml")
    with pytest.raises(ConfigError, match="use_user_fields.*bool"):
        load_config(path)
    path = write_yaml(tmp_path, "mlp_hidden: 64\n", "c.yaml")
    with pytest.raises(ConfigError, match="mlp_hidden.*list"):
        load_config(path)


def test_invalid_values_and_bad_files(tmp_path):
    with pytest.raises(ConfigError, match="model.*must be one of"):
        load_config(None, ["--model=dssm"])
    with pytest.raises(ConfigError, match="score_bias.*<= 0"):
        load_config(None, ["--score_bias=0.5"])
    with pytest.raises(ConfigError, match="split_ratio"):
        load_config(None, ["--split_ratio=[0.5,0.2]"])
    with pytest.raises(ConfigError, match="token_dim"):
        load_config(None, ["--token_dim=30", "--num_codebooks=4"])
    with pytest.raises(ConfigError, match=r"codebook_size.*256 \*\* 4 exceeds 2\^31.*int32 query code ids"):
        load_config(None, ["--model=sparcode", "--codebook_size=256", "--num_codebooks=4"])
    load_config(None, ["--model=all_to_all", "--codebook_size=256", "--num_codebooks=4"])   # no codes: allowed
    with pytest.raises(ConfigError, match="preset"):
        load_config(None, ["--preset=XL"])
    missing = str(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="nope.yaml: config file not found"):
        load_config(missing)
    with pytest.raises(ConfigError, match="mapping"):
        load_config(write_yaml(tmp_path, "- a\n- b\n", "list.yaml"))
    with pytest.raises(ConfigError, match="invalid yaml"):
        load_config(write_yaml(tmp_path, "a: [1, 2\n", "broken.yaml"))


def test_preset_fills_only_null_synthetic_keys():
    cfg = load_config(None, {"preset": "M", "n_users": "123"})
    assert cfg.n_items == SAFI_PRESETS["M"]["n_items"] and cfg.field_vocab == 64
    assert cfg.n_users == 123  # explicit values win over the preset
    assert load_config(None, {"dataset": "ml-100k"}).n_users is None


def test_parse_cli_config_path_and_flag_forms(tmp_path):
    path = write_yaml(tmp_path, "epochs: 4\n")
    cfg = parse_cli([f"--config_path={path}", "--resume", "--lr", "0.01"])
    assert cfg.epochs == 4 and cfg.resume is True and cfg.lr == 0.01
    assert overrides_to_dict(["--a=1=2"]) == {"a": "1=2"}
    with pytest.raises(ConfigError, match="expected --key=value"):
        parse_cli(["lr=0.1"])


def test_save_and_from_file_round_trip(tmp_path):
    cfg = load_config(None, ["--lr=3e-4", "--topk=[1,5]", "--target_density=0.05", "--preset=tiny"])
    path = str(tmp_path / "ckpt" / "config.yaml")
    cfg.save(path)
    assert not [p for p in os.listdir(tmp_path / "ckpt") if p.endswith(".tmp")]
    again = Config.from_file(path)
    assert again.to_dict() == cfg.to_dict()
    assert Config.from_file(path, {"epochs": "2"}).epochs == 2


def test_attribute_assignment_is_validated():
    cfg = load_config()
    cfg.lr = "2e-3"
    assert cfg.lr == 2e-3
    with pytest.raises(ConfigError, match="unknown config key 'nope'"):
        cfg.nope = 1
    with pytest.raises(ConfigError, match="batch_size"):
        cfg.batch_size = "big"
    with pytest.raises(AttributeError):
        _ = cfg.nope


def test_every_config_file_loads():
    files = sorted(glob.glob(os.path.join(MODEL_ROOT, "configs", "*.yaml")))
    names = {os.path.basename(f) for f in files}
    assert {"synthetic_tiny.yaml", "synthetic_s.yaml", "synthetic_s2.yaml", "synthetic_i.yaml", "synthetic_m.yaml",
            "ml100k.yaml", "ml1m.yaml", "ml10m.yaml", "ml_latest_small.yaml"} <= names
    for path in files:
        cfg = load_config(path)
        if cfg.dataset == "synthetic":
            assert cfg.history_len == cfg.n_pos_train, path
    assert set(NULLABLE) <= set(load_config().to_dict())


def test_split_protocol_and_split_seed_keys(tmp_path):
    cfg = load_config(None, ["--split_protocol=per_user_time", "--split_seed=3"])
    assert cfg.split_protocol == "per_user_time" and cfg.split_seed == 3
    assert load_config().split_seed is None and load_config().split_protocol == "users"
    with pytest.raises(ConfigError, match="command line: key 'split_protocol' must be one of"):
        load_config(None, ["--split_protocol=random"])
    with pytest.raises(ConfigError, match="key 'split_ratio' with split_protocol per_user_time"):
        load_config(None, ["--split_protocol=per_user_time", "--split_ratio=[0.9,0.1,0.0]"])
    with pytest.raises(ConfigError, match="key 'split_seed' must be >= 0"):
        load_config(write_yaml(tmp_path, "split_seed: -1\n"))


def test_base_key_inherits_and_overrides_and_names_its_errors(tmp_path):
    write_yaml(tmp_path, "epochs: 3\nlr: 0.01\nbatch_size: 32\n", "full.yaml")
    child = write_yaml(tmp_path, "base: full.yaml\nepochs: 1\n", "tiny.yaml")
    cfg = load_config(child, ["--lr=0.02"])
    assert (cfg.epochs, cfg.batch_size, cfg.lr) == (1, 32, 0.02)          # child > base, command line > child
    bad = write_yaml(tmp_path, "base: full.yaml\nepochz: 1\n", "bad.yaml")
    with pytest.raises(ConfigError, match=r"bad\.yaml: unknown config key 'epochz'"):
        load_config(bad)
    write_yaml(tmp_path, "base: loop_b.yaml\n", "loop_a.yaml")
    write_yaml(tmp_path, "base: loop_a.yaml\n", "loop_b.yaml")
    with pytest.raises(ConfigError, match="cycle"):
        load_config(str(tmp_path / "loop_a.yaml"))
    with pytest.raises(ConfigError, match="not found"):
        load_config(write_yaml(tmp_path, "base: missing.yaml\n", "orphan.yaml"))


def test_demo_two_tower_config_is_the_demo_plus_the_baseline_settings():
    demo = load_config(os.path.join(MODEL_ROOT, "configs", "synthetic_demo.yaml"))
    two_tower = load_config(os.path.join(MODEL_ROOT, "configs", "synthetic_demo_two_tower.yaml"))
    differ = {key for key in demo.to_dict() if demo[key] != two_tower[key]}
    assert differ == {"model", "token_dim", "query_encoder", "embedding_init_std", "lr"}
    assert (two_tower.model, two_tower.token_dim, two_tower.lr) == ("two_tower", 4, 0.005)


def _configs_with_base():
    names = []
    for path in sorted(glob.glob(os.path.join(MODEL_ROOT, "configs", "*.yaml"))):
        with open(path, encoding="utf-8") as f:
            if "base" in (yaml.safe_load(f) or {}):
                names.append(os.path.basename(path))
    return names


def test_copied_configs_start_from_their_base():
    assert {"synthetic_s2.yaml", "synthetic_m.yaml", "synthetic_demo_two_tower.yaml"} <= set(_configs_with_base())


@pytest.mark.parametrize("name", _configs_with_base())
def test_config_with_a_base_lists_only_what_differs_from_it(name):
    """A config that starts from another (`base:`) equals it except for the keys it lists (and, for `preset`, the
    generator sizes the preset fills); each listed key really differs, so nothing is copied."""
    path = os.path.join(MODEL_ROOT, "configs", name)
    with open(path, encoding="utf-8") as f:
        listed = yaml.safe_load(f)
    base = load_config(os.path.join(MODEL_ROOT, "configs", listed.pop("base")))
    cfg = load_config(path)
    for key in listed:
        assert cfg[key] != base[key], f"{name}: {key} = {cfg[key]!r} repeats its base"
    filled = set(PRESET_KEYS) if "preset" in listed else set()
    differ = {key for key in base.to_dict() if base[key] != cfg[key]}
    assert differ - filled == set(listed)


def test_mode_accepts_either_case():
    assert load_config(None, ["--mode=graph"]).mode == "GRAPH"
    assert load_config(None, ["--mode=Pynative"]).mode == "PYNATIVE"
    with pytest.raises(ConfigError, match="mode"):
        load_config(None, ["--mode=eager"])


@pytest.mark.parametrize("script", ["train.py", "eval.py", "export.py", "infer.py", "preprocess.py"])
def test_help_lists_every_key_with_type_default_and_meaning(script):
    import subprocess  # pylint: disable=import-outside-toplevel
    import sys  # pylint: disable=import-outside-toplevel
    out = subprocess.run([sys.executable, script, "--help"], cwd=MODEL_ROOT, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    defaults = yaml.safe_load(open(DEFAULT_CONFIG_PATH, encoding="utf-8"))
    for key in defaults:
        assert f"--{key} " in out.stdout, key
    assert "--lr                       float, default 0.001\n      Adam learning rate" in out.stdout
    assert "--mode                     str, default GRAPH, one of GRAPH|PYNATIVE" in out.stdout
    assert "--embedding_init_std" in out.stdout and "SparCode much faster on SAFI" in out.stdout   # continued comment


@pytest.mark.parametrize("name", ["ml100k.yaml", "ml1m.yaml", "ml10m.yaml", "ml_latest_small.yaml"])
def test_movielens_configs_say_whether_they_were_measured(name):
    """Every MovieLens config's header either reports what was measured with it or says UNTESTED and why."""
    with open(os.path.join(MODEL_ROOT, "configs", name), encoding="utf-8") as f:
        header = "".join(line for line in f if line.startswith("#"))
    assert "Measured" in header or "UNTESTED" in header, name
    if "UNTESTED" in header:
        assert "no model was trained" in header or "not present" in header, name  # the reason is stated


def test_deprecated_ckpt_dir_still_loads_with_a_warning_naming_ckpt_path(tmp_path):
    path = write_yaml(tmp_path, "ckpt_dir: ./old_runs\n")
    with pytest.warns(FutureWarning, match=r"'ckpt_dir' is deprecated .*use 'ckpt_path'"):
        from_file = load_config(path)
    assert from_file.ckpt_path == "./old_runs" and "ckpt_dir" not in from_file
    with pytest.warns(FutureWarning, match=r"command line: config key 'ckpt_dir' is deprecated .*'ckpt_path'"):
        from_cli = parse_cli(["--ckpt_dir=./cli_runs"])
    assert from_cli.ckpt_path == "./cli_runs"
    # a config saved by the new code has only the new name, and loads without a warning
    from_cli.save(str(tmp_path / "saved.yaml"))
    saved = yaml.safe_load((tmp_path / "saved.yaml").read_text())
    assert "ckpt_dir" not in saved and saved["ckpt_path"] == "./cli_runs"


def test_old_and_new_name_together_are_refused(tmp_path):
    path = write_yaml(tmp_path, "ckpt_dir: ./a\nckpt_path: ./b\n")
    with pytest.raises(ConfigError, match=r"c.yaml: keys 'ckpt_dir' \(deprecated\) and 'ckpt_path' are both set"):
        load_config(path)


def test_early_stop_metric_is_a_validated_key():
    assert load_config().early_stop_metric == "recall@50"
    assert load_config(None, ["--early_stop_metric=ndcg@20"]).early_stop_metric == "ndcg@20"
    for bad in ("auc@50", "recall", "recall@0"):   # auc is not computed; a cut-off is required
        with pytest.raises(ConfigError, match=r"command line: key 'early_stop_metric' must be <metric>@<k>"):
            load_config(None, [f"--early_stop_metric={bad}"])
