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
"""Few-shot LLP classification (`data.options.dataset: llp`): single-label k-shot training subset, the top-1-in-labels
accuracy of multi-label test videos, the option checks, and the README's tiny LLP lines (1 epoch, evaluation) as
written on the synthetic LLP set."""
import json

import numpy as np
import pytest

from src.config import ConfigError, load_config
from src.data.avvp import AVVP_CLASSES, read_weak_labels
from src.data.avvp_synthetic import make_synthetic_llp
from src.data.fewshot_synthetic import write_clip_bpe, write_roberta_vocab
from src.tasks import bind_task
from src.tasks.fewshot import FewShotAccuracy
from readme_commands import MODEL_DIR, model_workdir, readme_line, run_lines

TINY_LLP = MODEL_DIR / "configs" / "tiny" / "fewshot_llp.yaml"


def test_llp_needs_the_video_target():
    with pytest.raises(ConfigError, match=r"data\.options\.target"):
        load_config(TINY_LLP, ["--data.options.target=segment"])


def test_multi_label_accuracy_counts_top1_among_the_labels():
    labels = np.zeros((3, 10, 5), np.float32)              # 4 classes + the (unused) background column
    labels[0, :, [0, 2]] = 1                               # video 0: classes 0 and 2
    labels[1, :, 1] = 1                                    # video 1: class 1
    labels[2, :, 3] = 1                                    # video 2: class 3
    scores = np.zeros((3, 10, 4), np.float32)
    scores[0, :, 2] = 1                                    # top-1 = 2: among the labels
    scores[1, :, 1] = 1                                    # correct
    scores[2, :, 0] = 1                                    # wrong
    metric = FewShotAccuracy(video_level=True, shots=2, multi_label=True)
    metric.update({"scores": scores}, {"labels": labels})
    assert metric.result() == {"accuracy": pytest.approx(200 / 3), "shots": 2.0}


def test_readme_tiny_llp_train_and_evaluate(tmp_path):
    work = model_workdir(tmp_path / "model")
    root = work / "outputs" / "synthetic_llp"
    make_synthetic_llp(str(root), (12, 4, 6), num_classes=4, image_size=32, sample_rate=8000, seed=3)
    write_clip_bpe(work / "outputs" / "synthetic_fewshot" / "vocab" / "bpe_tiny.txt.gz")
    write_roberta_vocab(work / "outputs" / "synthetic_fewshot" / "vocab")

    cfg = load_config(work / "configs" / "tiny" / "fewshot_llp.yaml", [f"--data.root={root}"])
    _, train_source = bind_task(cfg).build_data("train", 2, False)
    _, weak, _ = read_weak_labels(root / "AVVP_train.csv")
    single = np.nonzero(weak.sum(1) == 1)[0]
    expected = [i for c in range(len(AVVP_CLASSES)) for i in single[weak[single].argmax(1) == c][:2]]
    assert train_source.indices == expected and len(expected) >= 2
    frames, waves, labels = train_source[0]
    assert frames.shape == (10, 3, 32, 32) and waves.shape == (10, 16000) and labels.shape == (10, 26)
    assert labels[:, -1].max() == 0 and (labels[:, :-1] == weak[expected[0]]).all()

    lines = [readme_line("python train.py", "configs/tiny/fewshot_llp.yaml"),
             readme_line("python eval.py", "tiny_fewshot_llp/last.ckpt")]
    run_lines(lines, work)
    metrics = json.loads((work / "outputs" / "tiny_fewshot_llp" / "metrics.json").read_text())
    assert metrics["task"] == "fewshot" and metrics["shots"] == 2.0 and 0 <= metrics["accuracy"] <= 100
    # 6 test videos: the accuracy is a multiple of 100 / 6
    assert abs(metrics["accuracy"] * 6 / 100 - round(metrics["accuracy"] * 6 / 100)) < 1e-6
