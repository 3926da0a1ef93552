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
"""MUSIC-AVQA question answering: DG-SCT encoder (positive frames) + plain frozen Swin (negative frames) -> AVST
head; answer accuracy per question type. The vocabulary is derived from the training questions (`prepare`)."""
from dataclasses import dataclass, replace

import numpy as np
from mindspore import Tensor

from ..data.avqa import AVQADataOptions, AVQAVocabulary, build_avqa_dataset, resolve_vocabulary
from ..dgsct.model import build_encoder
from ..heads.avqa_avst import AVQALoss, AVSTConfig, build_avqa_model, load_grounding_weights
from ..metrics.avqa import AVQAMetric
from .base import MetricOnNamedOutputs, Task


@dataclass(frozen=True)
class AVQADerived:
    vocab: AVQAVocabulary     # question words and answers of avqa-train.json
    vocab_file: str           # where it is saved for eval/export (data.options.vocab_file or <ckpt_path>)
    head: AVSTConfig          # the head config with the vocabulary and answer counts


class AVQATaskMetric(MetricOnNamedOutputs):
    def __init__(self):
        super().__init__(AVQAMetric())

    def update(self, outputs, batch):
        self.meter.update(outputs["answer_logits"], batch["answer"], batch["type_index"])


class AVQATask(Task):
    name = "avqa"
    head_schema = AVSTConfig
    data_schema = AVQADataOptions
    derived_head_keys = ("vocab_size", "num_answers", "audio_dim", "visual_dim")
    input_columns = ("frames", "neg_frames", "wave", "question", "mixup_lambda")
    label_columns = ("answer", "type_index")
    output_names = ("answer_logits", "match_pos", "match_neg")
    loss_names = ("qa", "match")
    select_metric = "overall"
    compat_flags = ("official_negatives",)

    @classmethod
    def prepare(cls, cfg):
        """The vocabulary sizes the embedding and the answer classifier and encodes the questions."""
        vocab, path = resolve_vocabulary(cfg.data, cfg.ckpt_path)
        return AVQADerived(vocab, path, replace(cfg.head, vocab_size=len(vocab.words), num_answers=len(vocab.answers)))

    def build_network(self):
        model = build_avqa_model(build_encoder(self.cfg), self.derived.head)
        if self.cfg.head.grounding_ckpt:
            load_grounding_weights(model, self.cfg.head.grounding_ckpt)
        return model

    def build_loss(self):
        return AVQALoss(self.cfg.head.match_weight)

    def build_data(self, split, batch_size, training, rank=0, group_size=1):
        return build_avqa_dataset(self.cfg.data, split, batch_size, training, rank, group_size,
                                  vocab=self.derived.vocab, official_negatives=self.cfg.compat.official_negatives)

    def build_metric(self):
        return AVQATaskMetric()

    def example_inputs(self, batch):
        frames, waves = super().example_inputs(batch)
        question = np.zeros((batch, self.cfg.data.options.max_question_len), np.int32)
        return frames, Tensor(frames.asnumpy().copy()), waves, Tensor(question)

    def example_labels(self, batch):
        return np.zeros(batch, np.int32), np.zeros(batch, np.int32)
