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
"""AVQA end to end on the README's tiny lines, run as written (synthetic MUSIC-AVQA set, grounding pre-training on
configs/tiny/avqa_grounding.yaml, then configs/tiny/avqa.yaml initialised from it: encoder + frozen Swin on the
negative frames + AVST head, vocabulary saved with the run)."""
import os

import pytest

from readme_commands import model_workdir, readme_line, run_lines
from src.data.avqa import AVQAVocabulary
from src.tasks import bind_task
from test_avvp_train import check_trained_run


@pytest.fixture(scope="module")
def readme_avqa_run(tmp_path_factory):
    """The README's three tiny AVQA lines, once for both tests: (model-like folder, stdout of each train.py)."""
    work = model_workdir(tmp_path_factory.mktemp("avqa"))
    run_lines([readme_line("python -m src.data.avqa_synthetic")], work)
    grounding = run_lines([readme_line("python train.py", "configs/tiny/avqa_grounding.yaml")], work)
    avqa = run_lines([readme_line("python train.py", "configs/tiny/avqa.yaml")], work)
    return work, grounding, avqa


def test_readme_tiny_avqa_trains_evaluates_and_exports(pynative, readme_avqa_run):
    work, _, stdout = readme_avqa_run
    assert "epoch 2/2" in stdout and "checkpoint: " in stdout
    out = work / "outputs" / "tiny_avqa"
    net, task, cfg = check_trained_run(work, "configs/tiny/avqa.yaml", lr_check=0.2, overrides=[
        f"--head.grounding_ckpt={work / 'outputs' / 'tiny_avqa_grounding' / 'last.ckpt'}"])
    # the vocabulary was built from avqa-train.json and saved with the run; the task derived it (the config is
    # not written: a rebuilt task of the same config finds the saved file)
    vocab_file = task.derived.vocab_file
    assert vocab_file == os.path.join(str(out), "avqa_vocab.json") and not cfg.data.options.vocab_file
    assert bind_task(cfg).derived.vocab.words == task.derived.vocab.words
    vocab = AVQAVocabulary.load(vocab_file)
    assert net.head.fc_ans.weight.shape[0] == len(vocab.answers)
    assert net.head.question_encoder.word2vec.embedding_table.shape[0] == len(vocab.words)
    names = [p.name for p in net.trainable_params()]
    assert any(".vis_adapter_blocks_p1." in n for n in names) and any("head.fc_ans." in n for n in names)
    assert not any("encoder.swin." in n or "encoder.htsat." in n for n in names)


def test_readme_tiny_grounding_pretraining(pynative, readme_avqa_run):
    work, stdout, _ = readme_avqa_run
    assert "epoch 2/2" in stdout and "checkpoint: " in stdout
    # (2 epochs of the tiny matching task leave its loss near ln 2 on any one batch: measured 0.6928 -> 0.6951 in the
    # CI check of 2026-12-07, so no loss check here; the AVQA stage above checks learning)
    net, _, _ = check_trained_run(work, "configs/tiny/avqa_grounding.yaml", lr_check=None, export=False)
    # only the grounding/matching head trains; its parameter names match the AVST head's grounding cell
    names = sorted(p.name for p in net.trainable_params())
    assert names and all("head.grounding." in n for n in names)
