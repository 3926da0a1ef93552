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
"""Fault injection: kills between checkpoint files, resumes with other data, stale processed data, bad ratings,
mismatched exports, non-finite weights, impossible sizes, truncated files and orphaned temporary files."""
import os
import re
import shutil
import signal
import subprocess
import sys

import numpy as np
import mindspore as ms
import pytest

import eval as eval_entry
import export as export_entry
import infer as infer_entry
import train as train_entry
import src.trainer as trainer_module
from conftest import MODEL_DIR, TINY_CONFIG, run_train
from src.checkpoint import CheckpointError, atomic_save_checkpoint, load_checkpoint_into, read_train_state
from src.config import ConfigError, load_config
from src.data.dataset import DataError, build_data
from src.data.movielens import read_raw
from test_data_movielens import ml_cfg, real_or_handmade_100k, replace_line, synthetic_log, write_latest, write_ml10m


def _train_state(path):
    return read_train_state(ms.load_checkpoint(path), path)


def _copy_run(src, dst):
    """Copy a run folder and point its saved config at the copy (eval/export read ckpt_path from it)."""
    shutil.copytree(src, dst)
    cfg_path = os.path.join(dst, "config.yaml")
    text = open(cfg_path, encoding="utf-8").read().replace(str(src), str(dst))
    with open(cfg_path, "w", encoding="utf-8") as f:
        f.write(text)
    return str(dst)


@pytest.fixture(scope="module")
def one_epoch_run(tmp_path_factory):
    """A SparCode run stopped after epoch 0 (copy it before changing anything)."""
    ckpt_dir = tmp_path_factory.mktemp("one_epoch") / "run"
    run_train(str(ckpt_dir), "--epochs=1")
    return ckpt_dir


class Killed(BaseException):
    """Stands for SIGKILL at a chosen point of the save sequence."""


# ---------------------------------------------------------------------- best.ckpt after a kill
def test_kill_before_best_copy_is_repaired_by_resume_and_by_eval(one_epoch_run, tmp_path, monkeypatch):
    run = _copy_run(one_epoch_run, tmp_path / "run")
    assert _train_state(os.path.join(run, "best.ckpt"))["epoch"] == 1          # best.ckpt = epoch 0
    # epoch 1 is the best so far (validation patched), and the process dies right after writing its checkpoint
    monkeypatch.setattr(train_entry, "make_validation_fn", lambda cfg, data: lambda model: {"recall@50": 2.0})
    real_copy = trainer_module.atomic_copy

    def dying_copy(src, dst):
        if os.path.basename(dst) == "best.ckpt":
            raise Killed()
        return real_copy(src, dst)
    monkeypatch.setattr(trainer_module, "atomic_copy", dying_copy)
    with pytest.raises(Killed):
        run_train(run, "--epochs=2", "--resume")
    monkeypatch.undo()
    epoch1 = os.path.join(run, "sparcode-e0001.ckpt")
    assert _train_state(epoch1)["best_epoch"] == 1
    assert _train_state(os.path.join(run, "best.ckpt"))["epoch"] == 1            # stale: still epoch 0

    # eval.py on a copy of the killed run evaluates the true best epoch (and repairs best.ckpt)
    other = _copy_run(run, tmp_path / "other")
    result = eval_entry.main([f"--ckpt_path={other}"])
    assert _train_state(os.path.join(other, "best.ckpt"))["epoch"] == 2
    assert result["checkpoint"] == os.path.join(other, "best.ckpt")

    # --resume repairs best.ckpt before anything else; its weights are those of epoch 1
    state = run_train(run, "--epochs=2", "--resume")
    assert state["best_epoch"] == 1
    best = ms.load_checkpoint(os.path.join(run, "best.ckpt"))
    assert read_train_state(best)["epoch"] == 2
    saved = ms.load_checkpoint(epoch1)
    for name, value in saved.items():
        if isinstance(value, (ms.Parameter, ms.Tensor)):
            np.testing.assert_array_equal(best[name].asnumpy(), value.asnumpy())


def test_best_checkpoint_repair_cases(tmp_path):
    """repair_best_checkpoint on small files: stale -> replaced; from another run in the folder -> left alone;
    best epoch file pruned -> error naming best.ckpt."""
    from src.checkpoint import repair_best_checkpoint
    net, folder = ms.nn.Dense(3, 2), str(tmp_path)

    def save(name, epoch, best_epoch, run_id="a"):
        atomic_save_checkpoint(os.path.join(folder, name), net, None,
                               {"epoch": epoch, "best_epoch": best_epoch, "run_id": run_id})
    save("net-e0000.ckpt", 1, 0)
    save("best.ckpt", 1, 0)
    save("net-e0001.ckpt", 2, 1)                    # killed before the copy
    messages = []
    assert repair_best_checkpoint(folder, "net", messages.append).endswith("net-e0001.ckpt")
    assert _train_state(os.path.join(folder, "best.ckpt"))["epoch"] == 2 and "best epoch 1" in messages[0]
    assert repair_best_checkpoint(folder, "net") is None                       # already right
    save("best.ckpt", 1, 0, run_id="b")                                           # another run's best.ckpt
    assert repair_best_checkpoint(folder, "net", messages.append) is None
    assert _train_state(os.path.join(folder, "best.ckpt"))["run_id"] == "b" and "different" in messages[-1]
    save("best.ckpt", 1, 0)
    os.remove(os.path.join(folder, "net-e0001.ckpt"))
    save("net-e0002.ckpt", 3, 1)                                                  # best epoch 1 pruned
    with pytest.raises(CheckpointError, match=r"best.ckpt is not the checkpoint of the best epoch 1"):
        repair_best_checkpoint(folder, "net")


# ---------------------------------------------------------------------- resume with other data
@pytest.mark.parametrize("override, key", [("--seed=7", "seed"), ("--safi_tau=0.9", "safi_tau"),
                                           ("--history_len=10", "history_len")])
def test_resume_with_other_data_defining_key_is_refused(one_epoch_run, tmp_path, override, key):
    run = _copy_run(one_epoch_run, tmp_path / "run")
    with pytest.raises(CheckpointError, match=rf"--resume: .*'{key}'"):
        run_train(run, "--epochs=2", "--resume", override)
    assert not os.path.exists(os.path.join(run, "sparcode-e0001.ckpt"))


def test_resume_refuses_checkpoint_of_other_source_files():
    """The generic comparison names keys added to the data signature later (here: the raw-file digests)."""
    from src.checkpoint import data_signature_mismatch
    saved = {"dataset": "ml-100k", "split_seed": 0, "source_files": {"u.data": "aa", "u.item": "bb"}}
    assert data_signature_mismatch(saved, dict(saved)) == []
    changed = dict(saved, source_files={"u.data": "cc", "u.item": "bb"})
    assert [m[0] for m in data_signature_mismatch(saved, changed)] == ["source_files"]
    assert [m[0] for m in data_signature_mismatch(saved, dict(saved, split_protocol="x"))] == ["split_protocol"]


# ---------------------------------------------------------------------- stale processed data
def _processed_ml10m(tmp_path):
    """Hand-made ml-10m files and their processed folder (as preprocess.py writes it), marked to spot reuse."""
    folder = write_ml10m(tmp_path / "ml", synthetic_log())
    processed = str(tmp_path / "processed")
    cfg = ml_cfg("ml-10m", folder, processed_path=processed)
    data = build_data(cfg, reuse_processed=False)
    data.meta["marker"] = "saved"
    data.save(processed)
    return folder, processed, cfg, data


def test_processed_data_is_not_reused_when_raw_files_or_data_path_change(tmp_path):
    folder, processed, cfg, data = _processed_ml10m(tmp_path)
    assert build_data(cfg).meta.get("marker") == "saved"                    # same files: reused
    # the same files under another folder are the same data: still reused
    moved = shutil.copytree(folder, tmp_path / "moved")
    assert build_data(ml_cfg("ml-10m", moved, processed_path=processed)).meta.get("marker") == "saved"
    # other files under another data_path: rebuilt
    other = write_ml10m(tmp_path / "other", synthetic_log(seed=5))
    rebuilt = build_data(ml_cfg("ml-10m", other, processed_path=processed))
    assert "marker" not in rebuilt.meta
    # a changed rating line in place (same data_path): rebuilt, and the new line is seen
    replace_line(folder / "ratings.dat", 1, "1::25::5::999999999\n")
    changed = build_data(cfg)
    assert "marker" not in changed.meta
    assert changed.meta["signature"]["source_files"] != data.meta["signature"]["source_files"]


def test_processed_data_is_used_when_the_raw_files_are_gone(tmp_path):
    folder, _, cfg, _ = _processed_ml10m(tmp_path)
    shutil.rmtree(folder)
    assert build_data(cfg).meta.get("marker") == "saved"


# ---------------------------------------------------------------------- non-finite ratings
@pytest.mark.parametrize("rating", ["nan", "inf", "-inf", "NaN", "1e999"])
def test_non_finite_ratings_raise_naming_file_and_line(tmp_path, rating):
    folder = write_ml10m(tmp_path / "ml", synthetic_log())
    replace_line(folder / "ratings.dat", 17, f"5::7::{rating}::978300760\n")
    with pytest.raises(DataError, match=rf"ratings.dat:17: rating '{re.escape(rating)}' is not a finite number"):
        read_raw("ml-10m", str(folder))
    hundred_k = real_or_handmade_100k(tmp_path)
    replace_line(hundred_k / "u.data", 4, f"3\t7\t{rating}\t881250949\n")
    with pytest.raises(DataError, match=rf"u.data:4: rating '{re.escape(rating)}' is not a finite number"):
        read_raw("ml-100k", str(hundred_k))
    latest = write_latest(tmp_path / "latest", synthetic_log())
    replace_line(latest / "ratings.csv", 3, f"1,2,{rating},964982703\n")
    with pytest.raises(DataError, match=rf"ratings.csv:3: rating '{re.escape(rating)}' is not a finite number"):
        read_raw("ml-latest-small", str(latest))


# ---------------------------------------------------------------------- exports tied to their index
@pytest.fixture(scope="module")
def exported(tiny_sparcode_run, tmp_path_factory):
    prefix = str(tmp_path_factory.mktemp("faults_export") / "sparcode")
    export_entry.main([f"--ckpt_path={tiny_sparcode_run['ckpt_dir']}", f"--file_name={prefix}"])
    return prefix


def _copy_export(prefix, folder):
    os.makedirs(folder)
    for path in [p for p in os.listdir(os.path.dirname(prefix))]:
        shutil.copy(os.path.join(os.path.dirname(prefix), path), folder)
    return os.path.join(folder, os.path.basename(prefix))


def test_infer_refuses_an_index_of_another_model(tiny_sparcode_run, exported, tmp_path):
    from src.index_build import build_and_save_index
    from src.run_files import load_trained_model
    from src.logging_utils import get_logger
    prefix = _copy_export(exported, tmp_path / "export")
    cfg = load_config(f"{prefix}_config.yaml", {"index_path": str(tmp_path / "foreign.npz")})
    data = build_data(cfg)
    model = load_trained_model(cfg, data, os.path.join(tiny_sparcode_run["ckpt_dir"], "best.ckpt"))
    weights = [p for p in model.interaction.get_parameters() if p.ndim == 2][0]
    weights.set_data(weights * 1.5)                                         # "another model"
    build_and_save_index(model, data, cfg, get_logger())
    shutil.copyfile(tmp_path / "foreign.npz", f"{prefix}_index.npz")
    with pytest.raises(ValueError, match=r"sparcode_index.npz.*other model weights"):
        infer_entry.main([f"--file_name={prefix}"])


def test_infer_refuses_a_swapped_or_truncated_mindir(exported, tmp_path):
    prefix = _copy_export(exported, tmp_path / "export")
    shutil.copyfile(f"{prefix}_item.mindir", f"{prefix}_query.mindir")          # a graph of another export
    with pytest.raises(ValueError, match=r"sparcode_query.mindir.*not the file export.py wrote"):
        infer_entry.main([f"--file_name={prefix}"])
    prefix = _copy_export(exported, tmp_path / "export2")
    data = open(f"{prefix}_g.mindir", "rb").read()
    with open(f"{prefix}_g.mindir", "wb") as f:
        f.write(data[:len(data) // 2])
    with pytest.raises(ValueError, match=r"sparcode_g.mindir"):
        infer_entry.main([f"--file_name={prefix}"])
    # without the export manifest, loading the truncated graph still names the file
    with pytest.raises(ValueError, match=r"sparcode_g.mindir: cannot load MindIR"):
        infer_entry.load_graph(f"{prefix}_g.mindir")


def test_export_json_and_index_carry_the_checkpoint_digest(tiny_sparcode_run, exported):
    import json
    from src.checkpoint import parameter_digest
    from src.run_files import load_trained_model
    from src.index import SparseCodeIndex
    cfg = load_config(f"{exported}_config.yaml")
    model = load_trained_model(cfg, build_data(cfg), os.path.join(tiny_sparcode_run["ckpt_dir"], "best.ckpt"))
    digest = parameter_digest(model)
    with open(f"{exported}_export.json", encoding="utf-8") as f:
        manifest = json.load(f)
    assert manifest["model_digest"] == digest
    assert SparseCodeIndex.load(f"{exported}_index.npz").meta["model_digest"] == digest
    assert set(manifest["sha256"]) == {"query", "item", "g", "index", "config"}


# ---------------------------------------------------------------------- non-finite weights
def test_non_finite_weights_are_refused_at_load(tiny_sparcode_run, tmp_path):
    run = str(tmp_path / "run")
    os.makedirs(run)
    shutil.copy(os.path.join(tiny_sparcode_run["ckpt_dir"], "config.yaml"), run)
    params = ms.load_checkpoint(os.path.join(tiny_sparcode_run["ckpt_dir"], "best.ckpt"))
    name = next(n for n, v in params.items() if n.startswith("interaction") and isinstance(v, ms.Parameter))
    bad = params[name].asnumpy().copy()
    bad.flat[3] = np.nan
    params[name] = ms.Parameter(ms.Tensor(bad), name=name)
    path = os.path.join(run, "nan.ckpt")
    ms.save_checkpoint([{"name": n, "data": v} for n, v in params.items() if isinstance(v, ms.Parameter)], path)
    with pytest.raises(CheckpointError, match=rf"nan.ckpt: parameter '{re.escape(name)}' has 1 non-finite value"):
        eval_entry.main([f"--ckpt_file={path}", f"--ckpt_path={run}", f"--index_path={run}/index.npz"])
    assert not os.path.exists(os.path.join(run, "index.npz"))


def test_non_finite_weights_are_refused_for_any_network(tmp_path):
    net = ms.nn.Dense(3, 2)
    net.bias.set_data(ms.Tensor(np.array([0.0, np.inf], np.float32)))
    path = str(tmp_path / "inf-e0000.ckpt")
    atomic_save_checkpoint(path, net, None, {})
    with pytest.raises(CheckpointError, match=r"inf-e0000.ckpt: parameter 'bias' has 1 non-finite value"):
        load_checkpoint_into(path, ms.nn.Dense(3, 2))


# ---------------------------------------------------------------------- impossible sizes
def test_topk_larger_than_the_catalogue_names_the_key(tiny_sparcode_run, tmp_path):
    with pytest.raises(ConfigError, match=r"key 'topk'.*500.*200 items"):
        eval_entry.main([f"--ckpt_path={tiny_sparcode_run['ckpt_dir']}", "--topk=10,500"])
    with pytest.raises(ConfigError, match=r"key 'topk'.*500.*200 items"):
        run_train(str(tmp_path / "run"), "--topk=10,500")
    assert not os.path.exists(tmp_path / "run" / "sparcode-e0000.ckpt")


@pytest.mark.parametrize("value", ["1", "0"])
def test_n_items_too_small_names_the_key(value):
    with pytest.raises(ConfigError, match=rf"command line: key 'n_items'.*{value}"):
        load_config(TINY_CONFIG, [f"--n_items={value}"])


# ---------------------------------------------------------------------- orphaned temporary files
_KILLED_WRITER = """
import sys, time
sys.path.insert(0, {model_dir!r})
from src.atomic_file import atomic_write
def write(f):
    f.write(b"partial checkpoint")
    f.flush()
    print("writing", flush=True)
    time.sleep(120)
atomic_write({path!r}, write, binary=True)
"""


def _start_writer(path):
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER.format(model_dir=MODEL_DIR, path=path)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    return proc


def test_orphaned_temporary_checkpoints_are_cleaned_at_the_next_start(one_epoch_run, tmp_path):
    run = _copy_run(one_epoch_run, tmp_path / "run")
    dead = _start_writer(os.path.join(run, "sparcode-e0001.ckpt"))
    dead.send_signal(signal.SIGKILL)
    dead.wait()
    alive = _start_writer(os.path.join(run, "index.npz"))                    # another process still writing
    try:
        temp = sorted(f for f in os.listdir(run) if f.startswith(".tmp-"))
        assert len(temp) == 2 and any(f.endswith("sparcode-e0001.ckpt") for f in temp), temp
        run_train(run, "--epochs=1", "--resume")                               # nothing to train, only the start
        left = sorted(f for f in os.listdir(run) if f.startswith(".tmp-"))
        assert left == [f for f in temp if f.endswith("index.npz")], left
    finally:
        alive.kill()
        alive.wait()


def test_one_atomic_write_helper_in_sparcode():
    """Every file SparCode writes goes through the one temp-file + os.replace helper (src/atomic_file.py)."""
    offenders = []
    sources = [os.path.join(MODEL_DIR, name) for name in os.listdir(MODEL_DIR) if name.endswith(".py")]
    for sub in ("src", "scripts"):
        for folder, _, files in os.walk(os.path.join(MODEL_DIR, sub)):
            sources += [os.path.join(folder, name) for name in files if name.endswith(".py")]
    for path in sources:
        if path != os.path.join(MODEL_DIR, "src", "atomic_file.py"):
            text = open(path, encoding="utf-8").read()
            if re.search(r"os\.replace\(|os\.rename\(|mkstemp\(|shutil\.copy", text):
                offenders.append(os.path.relpath(path, MODEL_DIR))
    assert offenders == []
