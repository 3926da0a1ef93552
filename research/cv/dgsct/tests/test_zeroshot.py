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
pre-training on the latter, then eval.py on the AVE test split with the AVE class names and no further training."""
import json

import mindspore as ms

from src.checkpoint import load_network_state
from src.config import load_config
from src.data.vggsound_avel import read_categories, read_labels_csv
from src.dgsct.model import build_network
from readme_commands import model_workdir, readme_line, run_lines


def test_readme_tiny_zero_shot_pretrain_then_evaluate_on_ave(tmp_path):
    work = model_workdir(tmp_path / "model")
    lines = [readme_line("python -m src.data.fewshot_synthetic", "--out outputs/synthetic_fewshot"),
             readme_line("python -m src.data.fewshot_synthetic", "--dataset vggsound_avel"),
             readme_line("python train.py", "configs/tiny/zeroshot_pretrain.yaml"),
             readme_line("python eval.py", "tiny_zeroshot_pretrain")]
    run_lines(lines, work)
    pretrain_root = work / "outputs" / "synthetic_vggsound_avel"
    pretrain_classes = read_categories(pretrain_root / "VggsoundAVEL40kCategories.txt")
    assert len(read_labels_csv(pretrain_root / "vggsound-avel40k_labels.csv", pretrain_classes, "train")) > 0

    metrics_file = lines[3].split("--metrics_file=")[1].split()[0]
    metrics = json.loads((work / metrics_file).read_text())
    assert metrics["task"] == "fewshot" and metrics["split"] == "test" and metrics["shots"] == 0.0
    assert metrics["checkpoint"] == "outputs/tiny_zeroshot_pretrain/last.ckpt" and 0 <= metrics["accuracy"] <= 100

    # the target network (AVE class names, another class count) takes every parameter of the pre-trained
    # checkpoint, with the same shapes; the checkpoint holds nothing else of the network
    vocab = work / "outputs" / "synthetic_fewshot" / "vocab"
    cfg = load_config(work / "configs" / "tiny" / "fewshot_ave.yaml",
                      [f"--data.root={work / 'outputs' / 'synthetic_fewshot'}",
                       f"--head.clip_bpe={vocab / 'bpe_tiny.txt.gz'}", f"--head.roberta_vocab={vocab / 'vocab.json'}",
                       f"--head.roberta_merges={vocab / 'merges.txt'}"])
    net, task = build_network(cfg)
    assert not set(task.derived.class_names) & set(pretrain_classes)
    assert len(task.derived.class_names) != len(pretrain_classes) + 1
    params = ms.load_checkpoint(str(work / "outputs" / "tiny_zeroshot_pretrain" / "last.ckpt"))
    names = {name for name, _ in net.parameters_and_names()}
    tops = {name.split(".")[0] for name in names}
    assert {key for key in params if key.split(".")[0] in tops} == names
    load_network_state(net, params, "last.ckpt")
