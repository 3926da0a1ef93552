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
"""The few-shot task (src/tasks/fewshot.py): config inheritance and errors, the loss against torch, the k-shot training
subset, and the README's tiny commands (synthetic set, train, eval --metrics_file, export) run as written."""
import json

import numpy as np
import pytest
import mindspore as ms

from src.config import ConfigError, load_config
from src.data.ave import read_split
from src.data.fewshot import ave_k_shot
from src.data.fewshot_synthetic import write_clip_bpe, write_roberta_vocab
from src.data.synthetic import generate
from src.tasks import bind_task
from src.tasks.fewshot import FewShotLoss, first_event_target, first_event_target_np
from conftest import torch_or_skip
from readme_commands import MODEL_DIR, model_workdir, readme_line, run_lines, run_shell

TINY = MODEL_DIR / "configs" / "tiny" / "fewshot_ave.yaml"


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("fewshot_data")
    generate(root, num_videos=48, num_classes=4, rate=8000)
    write_clip_bpe(root / "vocab" / "bpe_tiny.txt.gz")
    write_roberta_vocab(root / "vocab")
    return root


def _overrides(root):
    return [f"--data.root={root}", f"--head.clip_bpe={root / 'vocab' / 'bpe_tiny.txt.gz'}",
            f"--head.roberta_vocab={root / 'vocab' / 'vocab.json'}",
            f"--head.roberta_merges={root / 'vocab' / 'merges.txt'}"]


def test_tiny_config_inherits_the_official_settings():
    cfg = load_config(TINY)
    assert cfg.task == "fewshot" and cfg.prompt.temporal_gate and cfg.prompt.num_tokens == 2
    assert cfg.train.lr_milestones == [10, 20, 30] and cfg.train.lr_gamma == 0.5 and cfg.train.grad_clip_norm == 0.5
    assert cfg.head.ce_weight_early == 500.0 and cfg.head.ce_weight_late == 5.0
    assert (cfg.data.image_size, cfg.data.options.shots, cfg.head.clip_preset) == (32, 2, "tiny")
    full = load_config(MODEL_DIR / "configs" / "fewshot_ave.yaml")
    assert (full.data.image_size, full.data.options.shots, full.prompt.gamma) == (224, 16, 0.01)


@pytest.mark.parametrize("override,key", [("--data.options.shots=3", "data.options.shots"),
                                          ("--data.options.target=frame", "data.options.target"),
                                          ("--train.lr_milestones=[20, 10]", "train.lr_milestones"),
                                          ("--train.grad_clip_norm=-1", "train.grad_clip_norm")])
def test_bad_options_name_the_key(override, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config(TINY, [override])


def test_loss_matches_torch_and_switches_weight(pynative):
    torch = torch_or_skip()
    cfg = load_config(MODEL_DIR / "configs" / "fewshot_ave.yaml").head      # official switch after epoch 10
    rng = np.random.default_rng(0)
    labels = np.zeros((2, 10, 5), np.float32)
    labels[:, :, -1] = 1
    labels[0, 3:6, 2], labels[0, 3:6, -1] = 1, 0          # video 0: class 2 from second 3
    labels[1, 0:2, 1], labels[1, 0:2, -1] = 1, 0          # video 1: class 1 from second 0
    assert first_event_target(ms.Tensor(labels)).asnumpy().argmax(-1).tolist() == [2, 1]
    np.testing.assert_array_equal(first_event_target_np(labels), first_event_target(ms.Tensor(labels)).asnumpy())
    ai, ia = (rng.standard_normal((2, 2)).astype(np.float32) for _ in range(2))
    ce_t = torch.nn.CrossEntropyLoss()
    eye = torch.eye(2)
    for video_level, classes in ((False, 5), (True, 4)):
        scores = rng.standard_normal((2, 10, classes)).astype(np.float32)
        loss = FewShotLoss(cfg, video_level)
        if video_level:
            ce_ref = ce_t(torch.tensor(scores).mean(1), torch.tensor(first_event_target_np(labels)))
        else:
            ce_ref = ce_t(torch.tensor(scores).reshape(20, -1), torch.tensor(labels).reshape(20, -1))
        contrast = 2 * ce_t(torch.tensor(ai), eye) + 1.5 * ce_t(torch.tensor(ia), eye)
        for epoch, weight in ((0, 500.0), (9, 500.0), (10, 5.0)):      # official: epochs 1..10 use 500
            loss.set_epoch(epoch)
            total, ce, _, _ = loss(ms.Tensor(scores), ms.Tensor(ai), ms.Tensor(ia), ms.Tensor(labels))
            assert float(ce.asnumpy()) == pytest.approx(float(ce_ref), rel=1e-5)
            assert float(total.asnumpy()) == pytest.approx(float(weight * ce_ref + contrast), rel=1e-5)


def test_adaptive_weighting_of_the_zero_shot_pretraining(pynative):
    """pretrain/main_trans.py: sum_i w_i L_i, w_i = L_i / (e + sum L) + 1 / e (1-based epoch e), gradient through w."""
    torch = torch_or_skip()
    from dataclasses import replace
    cfg = replace(load_config(MODEL_DIR / "configs" / "fewshot_ave.yaml").head, loss_weighting="adaptive")
    rng = np.random.default_rng(1)
    labels = np.zeros((2, 10, 5), np.float32)
    labels[:, :, -1] = 1
    scores, ai, ia = (rng.standard_normal(s).astype(np.float32) for s in ((2, 10, 5), (2, 2), (2, 2)))
    loss = FewShotLoss(cfg, False)
    loss.set_epoch(2)                                                     # the third epoch: e = 3
    s_t = torch.tensor(scores, requires_grad=True)
    ce_t = torch.nn.CrossEntropyLoss()
    parts = [ce_t(s_t.reshape(20, -1), torch.tensor(labels).reshape(20, -1)),
             ce_t(torch.tensor(ai), torch.eye(2)), ce_t(torch.tensor(ia), torch.eye(2))]
    total_ref = sum((p / (3 + sum(parts)) + 1 / 3) * p for p in parts)
    total_ref.backward()
    total = loss(ms.Tensor(scores), ms.Tensor(ai), ms.Tensor(ia), ms.Tensor(labels))[0]
    assert float(total.asnumpy()) == pytest.approx(float(total_ref), rel=1e-5)
    grad = ms.grad(lambda s: loss(s, ms.Tensor(ai), ms.Tensor(ia), ms.Tensor(labels))[0])(ms.Tensor(scores))
    np.testing.assert_allclose(grad.asnumpy(), s_t.grad.numpy(), rtol=1e-4, atol=1e-7)
    with pytest.raises(ConfigError, match="head.loss_weighting"):
        FewShotLoss(replace(cfg, loss_weighting="dynamic"), False)


def test_training_split_is_the_k_shot_subset(synthetic):
    cfg = load_config(TINY, _overrides(synthetic))
    _, source = bind_task(cfg).build_data("train", 2, False)
    records = read_split(synthetic, "train")
    expected = ave_k_shot(records, source.classes, 2)
    assert len(source) == len(expected) == 8
    assert [r.video_id for r in source.records] == [records[i].video_id for i in expected]
    _, test_source = bind_task(cfg).build_data("test", 2, False)
    assert len(test_source) == len(read_split(synthetic, "test"))          # evaluation: the whole split


def test_readme_tiny_commands_train_evaluate_export(tmp_path):
    """The README's few-shot demo lines, as written, in a folder that looks like the model folder."""
    work = model_workdir(tmp_path / "model")
    lines = [readme_line("python -m src.data.fewshot_synthetic", "--out outputs/synthetic_fewshot"),
             readme_line("python train.py", "configs/tiny/fewshot_ave.yaml"),
             readme_line("python eval.py", "tiny_fewshot_ave/last.ckpt"),
             readme_line("python export.py", "configs/tiny/fewshot_ave.yaml")]
    run_lines(lines, work, timeout=1200)
    metrics = json.loads((work / "outputs" / "tiny_fewshot_ave" / "metrics.json").read_text())
    assert metrics["task"] == "fewshot" and metrics["shots"] == 2.0 and 0 <= metrics["accuracy"] <= 100
    assert (work / "dgsct_fewshot_ave_tiny.mindir").is_file()
    # frozen weights unchanged, the trained ones moved: compare with the initial network of the same seed
    import train as train_script
    from src.dgsct.model import build_network
    cfg = load_config(work / "configs" / "tiny" / "fewshot_ave.yaml",
                      _overrides(work / "outputs" / "synthetic_fewshot"))
    train_script.seed_everything(cfg.train.seed)
    net, task = build_network(cfg)
    task.freeze(net)
    trained = ms.load_checkpoint(str(work / "outputs" / "tiny_fewshot_ave" / "last.ckpt"))
    moved_frozen, still = [], []
    for name, param in net.parameters_and_names():
        same = np.array_equal(param.asnumpy(), trained[name].asnumpy())
        if not param.requires_grad and "moving_" not in name and not same:
            moved_frozen.append(name)
        if param.requires_grad and same and "meta_net" not in name:     # the meta-net is unused (official too)
            still.append(name)
    assert not moved_frozen
    assert not still, still


def test_zero_shot_pretraining_config_and_vggsound_source(tmp_path):
    """configs/zeroshot_pretrain.yaml inherits the few-shot settings; the VGGSound-AVEL40K split (AVE file layout,
    6-digit ids) yields per-segment targets over the classes + background, and shots=0 keeps the whole split."""
    from PIL import Image
    from src.data.vggsound_avel import CATEGORY_FILE, LABEL_FILE
    cfg = load_config(MODEL_DIR / "configs" / "zeroshot_pretrain.yaml")
    assert (cfg.data.options.dataset, cfg.data.options.shots, cfg.head.loss_weighting) == ("vggsound_avel", 0,
                                                                                         "adaptive")
    assert (cfg.prompt.alpha, cfg.prompt.beta, cfg.prompt.gamma, cfg.train.lr) == (0.3, 0.01, 0.05, 3e-4)
    (tmp_path / CATEGORY_FILE).write_text("dog barking\nchurch bell\ncat\n")
    rows = [("12", "church bell", "[0, 1, 1, 0, 0, 0, 0, 0, 0, 0]", "train"),
            ("7", "dog barking", "[1, 1, 1, 1, 1, 1, 1, 1, 1, 1]", "train"),
            ("31", "cat", "[0, 0, 0, 0, 0, 0, 0, 0, 1, 1]", "test")]
    (tmp_path / LABEL_FILE).write_text("video_id,category,label,split\n" +
                                       "".join(f'{v},{c},"{f}",{s}\n' for v, c, f, s in rows))
    for video_id, *_ in rows:
        folder = tmp_path / "frames" / video_id.zfill(6)
        folder.mkdir(parents=True)
        for number in range(1, 11):
            Image.fromarray(np.full((8, 8, 3), number * 20, np.uint8)).save(folder / f"{number:08d}.jpg")
        (tmp_path / "wave").mkdir(exist_ok=True)
        np.save(tmp_path / "wave" / f"{video_id.zfill(6)}.npy", np.zeros(10 * 8000, np.float32))
    tiny = load_config(TINY, ["--data.options.dataset=vggsound_avel", "--data.options.shots=0",
                              f"--data.root={tmp_path}"])
    _, source = bind_task(tiny).build_data("train", 1, False)
    assert len(source) == 2 and source.classes == ["dog barking", "church bell", "cat"]
    frames, waves, labels = source[0]
    assert frames.shape == (10, 3, 32, 32) and waves.shape == (10, 16000) and labels.shape == (10, 4)
    assert labels.argmax(-1).tolist() == [3, 1, 1, 3, 3, 3, 3, 3, 3, 3]
    with pytest.raises(ConfigError, match=r"data\.options\.dataset"):
        load_config(TINY, ["--data.options.dataset=avvp"])


def test_readme_plot_of_accuracy_against_shots(tmp_path):
    """The README's plot_shots.py line, as written, on metrics files of the form eval.py writes for this task."""
    from PIL import Image
    work = model_workdir(tmp_path / "model")
    (work / "outputs").mkdir()
    for shots, accuracy in ((1, 41.5), (2, 47.25), (4, 52.0)):
        (work / "outputs" / f"fewshot_{shots}.json").write_text(json.dumps(
            {"accuracy": accuracy, "shots": float(shots), "task": "fewshot", "split": "test", "checkpoint": "x"}))
    line = readme_line("python plot_shots.py")
    result = run_shell(line, work)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [r.split()[:2] for r in result.stdout.splitlines()[1:4]]
    assert rows == [["1", "41.50"], ["2", "47.25"], ["4", "52.00"]]
    assert Image.open(work / "outputs" / "fewshot_shots.png").size == (640, 420)
    (work / "outputs" / "fewshot_4.json").write_text(json.dumps({"accuracy": 50.0}))
    result = run_shell(line, work)
    assert result.returncode != 0 and "outputs/fewshot_4.json" in result.stderr and "shots" in result.stderr
