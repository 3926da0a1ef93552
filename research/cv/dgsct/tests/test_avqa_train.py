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
"""AVQA end to end through the task registry on configs/tiny/avqa.yaml (synthetic MUSIC-AVQA set, encoder + frozen
Swin on the negative frames + AVST head, vocabulary saved with the run), and the grounding pre-training stage."""
import os

from src.data.avqa import AVQAVocabulary
from src.data.avqa_synthetic import make_synthetic_avqa
from src.tasks import bind_task
from test_avvp_train import tiny_run


def test_tiny_avqa_trains_evaluates_and_exports(graph_mode, tmp_path):
    data = make_synthetic_avqa(str(tmp_path / "avqa"), videos_per_split=(6, 2, 2), questions_per_video=2,
                               image_size=32, frames_per_video=10, sample_rate=8000)
    out = tmp_path / "out"
    net, task, cfg = tiny_run("configs/tiny/avqa.yaml", data, out, steps=4, lr_check=0.2)
    # the vocabulary was built from avqa-train.json and saved with the run; the task derived it (the config is
    # not written: a rebuilt task of the same config finds the saved file)
    vocab_file = task.derived.vocab_file
    assert vocab_file == os.path.join(str(out), "avqa_vocab.json") and not cfg.data.options.vocab_file
    assert bind_task(cfg).derived.vocab.words == task.derived.vocab.words
    vocab = AVQAVocabulary.load(vocab_file)
    assert net.head.fc_ans.weight.shape[0] == len(vocab.answers)
    assert net.head.question_encoder.word2vec.embedding_table.shape[0] == len(vocab.words)
    # (parameter names carry the prefix of the training wrapper, e.g. "net.encoder.swin....")
    names = [p.name for p in net.trainable_params()]
    assert any(".vis_adapter_blocks_p1." in n for n in names) and any("head.fc_ans." in n for n in names)
    assert not any("encoder.swin." in n or "encoder.htsat." in n for n in names)


def test_tiny_grounding_pretraining(graph_mode, tmp_path):
    data = make_synthetic_avqa(str(tmp_path / "avqa"), videos_per_split=(6, 2, 2), questions_per_video=1,
                               image_size=32, frames_per_video=10, sample_rate=8000)
    net, _, _ = tiny_run("configs/tiny/avqa_grounding.yaml", data, tmp_path / "out", steps=8, lr_check=0.0,
                         export=False)
    # only the grounding/matching head trains; its parameter names match the AVST head's grounding cell
    names = sorted(p.name for p in net.trainable_params())
    assert names and all("head.grounding." in n for n in names)
