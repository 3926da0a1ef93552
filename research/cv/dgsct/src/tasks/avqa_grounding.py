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
"""AVQA grounding pre-training (official grounding_gen): frozen Swin and HTS-AT without prompt modules + the
audio-visual matching head; its weights initialise the AVST head's grounding cell (head.grounding_ckpt)."""
import numpy as np
from mindspore import Tensor

from ..data.avqa import AVQAGroundingDataOptions, build_avqa_grounding_dataset
from ..dgsct.encoder import Backbones
from ..dgsct.model import build_backbones
from ..heads.avqa_avst import AVQAGroundingModel, GroundingConfig, GroundingLoss, GroundingPretrainHead
from .base import Task


class GroundingAccuracy:
    """Matching accuracy of the grounding pre-training: positive pairs should score class 1, negative pairs 0."""

    def __init__(self):
        self.correct, self.count = 0, 0

    def update(self, outputs, batch):
        match_pos, match_neg = outputs["match_pos"], outputs["match_neg"]
        self.correct += int((match_pos.argmax(-1) == 1).sum()) + int((match_neg.argmax(-1) == 0).sum())
        self.count += 2 * len(match_pos)

    def result(self):
        if not self.count:
            raise RuntimeError("GroundingAccuracy.result() called before any update()")
        return {"match_accuracy": 100.0 * self.correct / self.count}


class AVQAGroundingTask(Task):
    name = "avqa_grounding"
    head_schema = GroundingConfig
    data_schema = AVQAGroundingDataOptions
    input_columns = ("frames", "wave", "mixup_lambda")
    label_columns = ("index",)
    output_names = ("match_pos", "match_neg")
    loss_names = ("match",)
    select_metric = "match_accuracy"
    uses_prompt = False                         # frozen backbones without prompt modules

    def build_network(self):
        backbones = Backbones(*build_backbones(self.cfg), self.cfg.model.backbone_train_mode)
        head = GroundingPretrainHead(backbones.htsat.stage_dims[-1], backbones.swin.stage_dims[-1],
                                     self.cfg.head.match_hidden)
        return AVQAGroundingModel(backbones, head)

    def build_loss(self):
        return GroundingLoss()

    def build_data(self, split, batch_size, training, rank=0, group_size=1):
        return build_avqa_grounding_dataset(self.cfg.data, split, batch_size, training, rank, group_size)

    def build_metric(self):
        return GroundingAccuracy()

    def example_inputs(self, batch):
        """frames [B, 2, 3, S, S] (positive, negative frame), wave [B, L] (one second tiled to the clip)."""
        data = self.cfg.data
        frames = np.zeros((batch, 2, 3, data.image_size, data.image_size), np.float32)
        return Tensor(frames), Tensor(np.zeros((batch, data.clip_samples), np.float32))

    def example_labels(self, batch):
        return (np.arange(batch, dtype=np.int32),)
