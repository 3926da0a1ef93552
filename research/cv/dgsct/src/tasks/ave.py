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
"""AVE (audio-visual event localisation): DG-SCT encoder -> temporal attention + CMBS head on the pooled segment
features; segment accuracy; per-video timeline figures."""
import numpy as np

from ..data.ave import AVEDataOptions, build_ave_dataset
from ..dgsct.model import DGSCTNet, build_encoder
from ..heads.ave_cmbs import AVEHead, AVEHeadConfig, AVELoss
from ..metrics.ave import AVEAccuracy, plot_ave_records
from .base import MetricOnNamedOutputs, Task, check_class_count


class AVEMetric(MetricOnNamedOutputs):
    def __init__(self):
        super().__init__(AVEAccuracy())

    def update(self, outputs, batch):
        return self.meter.update(outputs["is_event"], outputs["event"], batch["labels"])


class AVETask(Task):
    name = "ave"
    head_schema = AVEHeadConfig
    data_schema = AVEDataOptions
    output_names = ("is_event", "event", "av", "gate")
    loss_names = ("event", "gate", "cls", "av")
    select_metric = "accuracy"
    compat_flags = ("official_gate_bce",)

    def build_network(self):
        encoder = build_encoder(self.cfg)
        head = AVEHead(encoder.swin.stage_dims[-1], encoder.htsat.stage_dims[-1], self.cfg.head)
        return DGSCTNet(encoder, head)

    def build_loss(self):
        return AVELoss(self.cfg.compat.official_gate_bce)

    def build_data(self, split, batch_size, training, rank=0, group_size=1):
        dataset, source = build_ave_dataset(self.cfg.data, split, batch_size, training, rank, group_size)
        self.check_data(source)
        return dataset, source

    def check_data(self, source):
        check_class_count(source, self.cfg.head.cmbs.num_classes, "head.cmbs.num_classes",
                          source.root / "Annotations.txt")

    def build_metric(self):
        return AVEMetric()

    def example_labels(self, batch):
        labels = np.zeros((batch, self.cfg.data.num_segments, self.cfg.head.cmbs.num_classes + 1), np.float32)
        labels[:, :, -1] = 1                                # background everywhere
        labels[:, :3, 0], labels[:, :3, -1] = 1, 0          # event of class 0 in the first three segments
        return (labels,)

    def plot(self, source, records, out_dir, max_videos):
        """One timeline PNG per video: predicted vs annotated event class of each segment."""
        return plot_ave_records(source, records, out_dir, max_videos or len(source))
