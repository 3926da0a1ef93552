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
"""AVVP / LLP (audio-visual video parsing): DG-SCT encoder -> MGN head with the R(2+1)D features; segment- and
event-level F1 of audio, visual and audio-visual events."""
from dataclasses import replace

import numpy as np
from mindspore import Tensor

from ..data.avvp import AVVPDataOptions, build_avvp_dataset
from ..dgsct.model import build_encoder
from ..heads.avvp_mgn import AVVPLoss, MGNConfig, build_avvp_model
from ..metrics.avvp import AVVPMetric
from .base import MetricOnNamedOutputs, Task, check_class_count


class AVVPTaskMetric(MetricOnNamedOutputs):
    def __init__(self):
        super().__init__(AVVPMetric())

    def update(self, outputs, batch):
        self.meter.update(outputs["global_prob"], outputs["a_frame"], outputs["v_frame"], batch["gt_audio"],
                          batch["gt_visual"])


class AVVPTask(Task):
    name = "avvp"
    head_schema = MGNConfig
    data_schema = AVVPDataOptions
    derived_head_keys = ("num_segments", "audio_dim", "video_dim")
    input_columns = ("frames", "wave", "video_st", "mixup_lambda")
    label_columns = ("label", "gt_audio", "gt_visual")
    output_names = ("aud_cls", "vis_cls", "global_prob", "a_prob", "v_prob", "a_frame", "v_frame")
    loss_names = ("av", "audio", "visual", "cls_audio", "cls_visual")
    select_metric = "segment_type"

    @classmethod
    def prepare(cls, cfg):
        """The head config with the values the data decides (segments per video); the input widths are set from
        the built backbones."""
        return replace(cfg.head, num_segments=cfg.data.num_segments)

    def build_network(self):
        return build_avvp_model(build_encoder(self.cfg), self.derived)

    def build_loss(self):
        return AVVPLoss(self.cfg.head.num_classes, self.cfg.head.visual_smoothing)

    def build_data(self, split, batch_size, training, rank=0, group_size=1):
        dataset, source = build_avvp_dataset(self.cfg.data, split, batch_size, training, rank, group_size)
        check_class_count(source, self.cfg.head.num_classes, "head.num_classes", source.csv_path)
        return dataset, source

    def build_metric(self):
        return AVVPTaskMetric()

    def example_inputs(self, batch):
        frames, waves = super().example_inputs(batch)
        video_st = np.zeros((batch, self.cfg.data.num_segments, self.cfg.head.st_dim), np.float32)
        return frames, waves, Tensor(video_st)

    def example_labels(self, batch):
        k, t = self.cfg.head.num_classes, self.cfg.data.num_segments
        label = np.zeros((batch, k), np.float32)
        label[:, 0] = 1
        return label, np.zeros((batch, k, t), np.uint8), np.zeros((batch, k, t), np.uint8)
