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

from src.config import ConfigError, load_config

MODEL_DIR = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("text", ["train:\n  epochs: 1\n", "task: ''\n"])
def test_task_is_required_and_named(tmp_path, text):
    (tmp_path / "no_task.yaml").write_text(text)
    with pytest.raises(ConfigError, match=r"no_task\.yaml: key 'task' is required \(one of .*'ave'.*'avvp'"):
        load_config(tmp_path / "no_task.yaml")


def test_output_dir_and_export_name_default_to_the_task(tmp_path):
    path = tmp_path / "avs.yaml"
    path.write_text((MODEL_DIR / "configs" / "tiny" / "avs_s4.yaml").read_text())
    cfg = load_config(path, ["--train.output_dir=", "--export.file_name="])
    assert (cfg.train.output_dir, cfg.export.file_name) == ("outputs/avs_s4", "dgsct_avs_s4")
    assert load_config(path, ["--train.output_dir=runs/x"]).train.output_dir == "runs/x"


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
    full.write_text((MODEL_DIR / "configs" / "tiny" / "ave.yaml").read_text())
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
