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
"""The README's tiny zero-shot lines as written: synthetic AVE and VGGSound-AVEL40K-format sets, 1 epoch of
pre-training on the latter, then eval.py on the AVE test split with the AVE class names and on the synthetic LLP
classification test split with the LLP class names, with no further training."""
import json

import mindspore as ms
import pytest

from src.checkpoint import load_network_state
from src.config import load_config
from src.data.avvp import read_weak_labels
from src.data.vggsound_avel import read_categories, read_labels_csv
from src.dgsct.model import build_network
from readme_commands import model_workdir, readme_line, run_lines


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    """The README's tiny zero-shot lines up to the pre-training (synthetic sets, 1 epoch on the VGGSound-AVEL40K-format
    set); returns the model work folder."""
    work = model_workdir(tmp_path_factory.mktemp("zeroshot") / "model")
    run_lines([readme_line("python -m src.data.fewshot_synthetic", "--out outputs/synthetic_fewshot"),
               readme_line("python -m src.data.fewshot_synthetic", "--dataset vggsound_avel"),
               readme_line("python train.py", "configs/tiny/zeroshot_pretrain.yaml")], work)
    return work


def _zero_shot_metrics(work, line, checkpoint="outputs/tiny_zeroshot_pretrain/last.ckpt"):
    metrics_file = line.split("--metrics_file=")[1].split()[0]
    metrics = json.loads((work / metrics_file).read_text())
    assert metrics["task"] == "fewshot" and metrics["split"] == "test" and metrics["shots"] == 0.0
    assert metrics["checkpoint"] == checkpoint and 0 <= metrics["accuracy"] <= 100
    return metrics


def _target_network_takes_the_checkpoint(work, config, overrides, pretrain_classes):
    """The target network (other class names and count) takes every parameter of the pre-trained checkpoint, with
    the same shapes; the checkpoint holds nothing else of the network."""
    vocab = work / "outputs" / "synthetic_fewshot" / "vocab"
    cfg = load_config(work / "configs" / "tiny" / config,
                      overrides + [f"--head.clip_bpe={vocab / 'bpe_tiny.txt.gz'}",
                                   f"--head.roberta_vocab={vocab / 'vocab.json'}",
                                   f"--head.roberta_merges={vocab / 'merges.txt'}"])
    net, task = build_network(cfg)
    assert not set(task.derived.class_names) & set(pretrain_classes)
    assert len(task.derived.class_names) != len(pretrain_classes) + 1
    params = ms.load_checkpoint(str(work / "outputs" / "tiny_zeroshot_pretrain" / "last.ckpt"))
    names = {name for name, _ in net.parameters_and_names()}
    tops = {name.split(".")[0] for name in names}
    assert {key for key in params if key.split(".")[0] in tops} == names
    load_network_state(net, params, "last.ckpt")


def test_readme_tiny_zero_shot_pretrain_then_evaluate_on_ave(pretrained):
    work = pretrained
    pretrain_root = work / "outputs" / "synthetic_vggsound_avel"
    pretrain_classes = read_categories(pretrain_root / "VggsoundAVEL40kCategories.txt")
    assert len(read_labels_csv(pretrain_root / "vggsound-avel40k_labels.csv", pretrain_classes, "train")) > 0
    line = readme_line("python eval.py", "zeroshot_ave.json")
    assert "configs/tiny/fewshot_ave.yaml" in line
    run_lines([line], work)
    _zero_shot_metrics(work, line)
    _target_network_takes_the_checkpoint(work, "fewshot_ave.yaml",
                                         [f"--data.root={work / 'outputs' / 'synthetic_fewshot'}"], pretrain_classes)


def test_readme_tiny_zero_shot_evaluate_on_llp_classification(pretrained):
    """The same pre-trained checkpoint on the synthetic LLP classification test split: the LLP class names (video
    level, no background), no training on LLP."""
    work = pretrained
    lines = [readme_line("python -m src.data.avvp_synthetic", "--out outputs/synthetic_llp"),
             readme_line("python eval.py", "zeroshot_llp.json")]
    assert "configs/tiny/fewshot_llp.yaml" in lines[1] and "tiny_zeroshot_pretrain/last.ckpt" in lines[1]
    run_lines(lines, work)
    metrics = _zero_shot_metrics(work, lines[1])
    _, weak, _ = read_weak_labels(work / "outputs" / "synthetic_llp" / "AVVP_test_pd.csv")
    hits = metrics["accuracy"] * len(weak) / 100          # a whole number of the test videos
    assert abs(hits - round(hits)) < 1e-6
    pretrain_classes = read_categories(work / "outputs" / "synthetic_vggsound_avel" / "VggsoundAVEL40kCategories.txt")
    _target_network_takes_the_checkpoint(work, "fewshot_llp.yaml",
                                         [f"--data.root={work / 'outputs' / 'synthetic_llp'}"], pretrain_classes)
