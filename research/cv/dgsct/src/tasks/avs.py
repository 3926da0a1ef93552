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
"""AVSBench S4 / MS3 (audio-visual segmentation): DG-SCT encoder stage maps -> TPAVI decoder; mIoU / F-score; mask
overlay figures. The two variants differ in the prompt config, the loss (MS3 adds the KL term) and the data."""
import numpy as np

from ..data.avs import AVSDataOptions, build_avs_dataset
from ..dgsct.model import build_encoder
from ..heads.avs_tpavi import AVSHeadConfig, AVSLoss, build_avs_network
from ..metrics.avs import AVSMeter, OFFICIAL_FRAMES_PER_BATCH, plot_avs_records
from .base import MetricOnNamedOutputs, Task


class AVSMetric(MetricOnNamedOutputs):
    def __init__(self):
        super().__init__(AVSMeter(official_frames_per_batch=OFFICIAL_FRAMES_PER_BATCH))

    def update(self, outputs, batch):
        """Scores the annotated frames; returns their predicted binary masks (uint8 [B, M, H, W]) for plotting."""
        return self.meter.update_from_outputs((outputs["logits"],), (batch["masks"],))


class AVSTask(Task):
    variant = ""
    head_schema = AVSHeadConfig
    data_schema = AVSDataOptions
    input_columns = ("frames", "waves", "mixup_lambda")
    label_columns = ("masks",)
    output_names = ("logits", "feat1", "feat2", "feat3", "feat4", "audio1", "audio2", "audio3", "audio4")
    loss_names = ("bce", "kl")
    select_metric = "miou"
    resizes_frames = True
    compat_flags = ("official_inplace_relu",)
    plot_max_videos = 16

    def build_network(self):
        return build_avs_network(self.cfg, build_encoder(self.cfg))

    def build_loss(self):
        return AVSLoss(self.variant, self.cfg.head.kl_weight, self.cfg.data.num_segments)

    def build_data(self, split, batch_size, training, rank=0, group_size=1):
        return build_avs_dataset(self.variant, self.cfg.data, split, batch_size, training, rank, group_size)

    def build_metric(self):
        return AVSMetric()

    def example_labels(self, batch):
        data = self.cfg.data
        frames = 1 if self.variant == "s4" else data.num_segments          # S4 annotates the first frame only
        masks = np.zeros((batch, frames, 1, data.image_size, data.image_size), np.float32)
        masks[..., : data.image_size // 2, : data.image_size // 2] = 1
        return (masks,)

    def plot(self, source, records, out_dir, max_videos):
        """Predicted and annotated masks over the frames of the first videos."""
        return plot_avs_records(source, records, out_dir, max_videos)


class AVSS4Task(AVSTask):
    name, variant = "avs_s4", "s4"


class AVSMS3Task(AVSTask):
    name, variant = "avs_ms3", "ms3"
