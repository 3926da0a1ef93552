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
"""Task registry: task name -> dataset builder, head, loss, metric, head config schema.

Adding a task (AVVP, AVS, AVQA) = one `register(TaskSpec(...))` call in this file plus its modules under src/;
train.py / eval.py / export.py stay generic.
"""
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import mindspore as ms

from .config import ConfigError
from .data.ave import build_ave_dataset
from .data.avqa import build_avqa_dataset, build_avqa_grounding_dataset
from .data.avs import build_avs_dataset
from .data.avvp import build_avvp_dataset
from .heads.ave_cmbs import AVEHead, AVEHeadConfig, AVELoss
from .heads.avqa_avst import (AVQALoss, AVSTConfig, GroundingAccuracy, GroundingConfig, GroundingLoss,
                              avqa_example_inputs, build_avqa_grounding_network, build_avqa_network,
                              grounding_example_inputs)
from .heads.avs_tpavi import AVSHeadConfig, AVSLoss, build_avs_network
from .heads.avvp_mgn import AVVPLoss, MGNConfig, avvp_example_inputs, build_avvp_network
from .metrics.ave import AVEAccuracy, plot_ave_records
from .metrics.avqa import AVQAMetric
from .metrics.avs import AVSMeter, OFFICIAL_FRAMES_PER_BATCH, plot_avs_records
from .metrics.avvp import AVVPMetric


@dataclass
class TaskSpec:
    name: str
    head_schema: type                                  # dataclass of the `head:` yaml section
    build_head: Callable[[Any, int, int], Any]         # (cfg, video_dim, audio_dim) -> head Cell
    build_loss: Callable[[Any], Any]                   # cfg -> loss Cell(*net outputs, *labels) -> (total, parts...)
    build_dataset: Callable                            # (data_cfg, split, batch, training, rank, size) -> (ds, source)
    build_metric: Callable[[], Any]                    # -> object with update(*outputs, labels) and result()
    loss_names: tuple                                  # names of the loss parts after the total
    input_columns: tuple = ("frames", "waves")         # dataset columns fed to the network
    label_columns: tuple = ("labels",)
    metric_update: Callable = None                     # (metric, outputs numpy tuple, labels numpy tuple) -> predictions
    example_inputs: Callable = None                    # (cfg, batch) -> tuple of dummy input Tensors (export)
    example_labels: Callable = None                    # (cfg, batch) -> valid label arrays of a training batch
    build_network: Callable = None                     # (cfg, encoder) -> whole net with `.encoder`, replacing
                                                       # DGSCTNet + build_head (AVS: head on the stage maps)
    select_metric: str = "accuracy"                    # metric result key that selects the best checkpoint
    plot: Callable = None                              # (source, eval records, out_dir, max_videos) -> PNG paths
    uses_prompts: bool = True                          # False: build_network gets the plain Backbones (no modules)
    check_data: Callable = None                        # (cfg, dataset source) -> None; raises on a data/head mismatch
    resizes_frames: bool = False                       # the network resizes data.image_size frames to the Swin size


TASKS = {}


def register(spec):
    TASKS[spec.name] = spec
    return spec


def get_task(name, source="config"):
    if name not in TASKS:
        raise ValueError(f"{source}: unknown task {name!r} (registered: {sorted(TASKS)})")
    return TASKS[name]


def example_training_batch(task, cfg, batch, rng):
    """Inputs (in `task.input_columns` order) and labels of one training batch of the config's shapes: random
    frames/waves/features, integer inputs kept, mixup weights 1 (no mixing), valid labels. For benchmarks."""
    inputs = [x.asnumpy() for x in task.example_inputs(cfg, batch)]
    inputs = [rng.standard_normal(x.shape).astype(x.dtype) * 0.1 if x.dtype == np.float32 else x for x in inputs]
    if "mixup_lambda" in task.input_columns[len(inputs):]:
        # one weight per backbone sample: the waves of a sample ([B, T, L] -> T; a grounding sample's [B, L] -> 1)
        waves = next(x for x, name in zip(inputs, task.input_columns) if name.startswith("wave"))
        inputs.append(np.ones((batch, int(np.prod(waves.shape[1:-1]))), np.float32))
    if len(inputs) != len(task.input_columns):
        raise ValueError(f"task {task.name}: example inputs give {len(inputs)} columns, expected "
                         f"{task.input_columns}")
    return tuple(ms.Tensor(x) for x in inputs), tuple(ms.Tensor(y) for y in task.example_labels(cfg, batch))


def _ave_example_labels(cfg, batch):
    labels = np.zeros((batch, cfg.data.num_segments, cfg.head.cmbs.num_classes + 1), np.float32)
    labels[:, :, -1] = 1                                # background everywhere
    labels[:, :3, 0], labels[:, :3, -1] = 1, 0          # event of class 0 in the first three segments
    return (labels,)


def _avs_example_labels(variant):
    def labels(cfg, batch):
        masks = np.zeros((batch, 1 if variant == "s4" else cfg.data.num_segments, 1, cfg.data.image_size,
                          cfg.data.image_size), np.float32)
        masks[..., : cfg.data.image_size // 2, : cfg.data.image_size // 2] = 1
        return (masks,)
    return labels


def _avvp_example_labels(cfg, batch):
    k, t = cfg.head.num_classes, cfg.data.num_segments
    label = np.zeros((batch, k), np.float32)
    label[:, 0] = 1
    return label, np.zeros((batch, k, t), np.uint8), np.zeros((batch, k, t), np.uint8)


def _check_class_count(source, configured, key, where):
    if len(source.classes) != configured:
        raise ConfigError(f"{where}: the data has {len(source.classes)} classes but {key} is {configured}")


def _check_ave_data(cfg, source):
    _check_class_count(source, cfg.head.cmbs.num_classes, "head.cmbs.num_classes", source.root / "Annotations.txt")


def _ave_example_inputs(cfg, batch):
    data = cfg.data
    frames = np.zeros((batch, data.num_segments, 3, data.image_size, data.image_size), np.float32)
    waves = np.zeros((batch, data.num_segments, data.clip_samples), np.float32)
    return ms.Tensor(frames), ms.Tensor(waves)


register(TaskSpec(
    name="ave",
    head_schema=AVEHeadConfig,
    build_head=lambda cfg, video_dim, audio_dim: AVEHead(video_dim, audio_dim, cfg.head),
    build_loss=lambda cfg: AVELoss(cfg.head.official_gate_bce),
    build_dataset=build_ave_dataset,
    build_metric=AVEAccuracy,
    loss_names=("event", "gate", "cls", "av"),
    metric_update=lambda metric, outputs, labels: metric.update(outputs[0], outputs[1], labels[0]),
    example_inputs=_ave_example_inputs,
    example_labels=_ave_example_labels,
    check_data=_check_ave_data,
    plot=plot_ave_records,
))


# AVSBench S4 / MS3: one network (DG-SCT encoder stage maps -> AVS head); variants differ in prompt config, loss, data.
for _variant in ("s4", "ms3"):
    register(TaskSpec(
        name=f"avs_{_variant}",
        head_schema=AVSHeadConfig,
        build_head=None,
        build_network=build_avs_network,
        build_loss=lambda cfg, v=_variant: AVSLoss(v, cfg.head.kl_weight, cfg.data.num_segments),
        build_dataset=lambda *args, v=_variant, **kw: build_avs_dataset(v, *args, **kw),
        build_metric=lambda: AVSMeter(official_frames_per_batch=OFFICIAL_FRAMES_PER_BATCH),
        loss_names=("bce", "kl"),
        input_columns=("frames", "waves", "mixup_lambda"),
        label_columns=("masks",),
        metric_update=lambda metric, outputs, labels: metric.update_from_outputs(outputs, labels),
        example_inputs=_ave_example_inputs,
        example_labels=_avs_example_labels(_variant),
        select_metric="miou",
        plot=plot_avs_records,
        resizes_frames=True,
    ))


# AVVP (LLP): MGN head on the pooled features + R(2+1)D features; log-mel mixup weights come from the dataset.
register(TaskSpec(
    name="avvp",
    head_schema=MGNConfig,
    build_head=None,
    build_network=build_avvp_network,
    build_loss=lambda cfg: AVVPLoss(cfg.head.num_classes, cfg.head.visual_smoothing),
    build_dataset=build_avvp_dataset,
    build_metric=AVVPMetric,
    loss_names=("av", "audio", "visual", "cls_audio", "cls_visual"),
    input_columns=("frames", "wave", "video_st", "mixup_lambda"),
    label_columns=("label", "gt_audio", "gt_visual"),
    metric_update=lambda metric, outputs, labels: metric.update(outputs[2], outputs[5], outputs[6], labels[1],
                                                                labels[2]),
    example_inputs=avvp_example_inputs,
    example_labels=_avvp_example_labels,
    check_data=lambda cfg, source: _check_class_count(source, cfg.head.num_classes, "head.num_classes",
                                                      source.csv_path),
    select_metric="segment_type",
))


# AVQA (MUSIC-AVQA): AVST head; positive frames through the encoder, negative frames through the plain Swin.
register(TaskSpec(
    name="avqa",
    head_schema=AVSTConfig,
    build_head=None,
    build_network=build_avqa_network,
    build_loss=lambda cfg: AVQALoss(cfg.head.match_weight),
    build_dataset=build_avqa_dataset,
    build_metric=AVQAMetric,
    loss_names=("qa", "match"),
    input_columns=("frames", "neg_frames", "wave", "question", "mixup_lambda"),
    label_columns=("answer", "type_index"),
    metric_update=lambda metric, outputs, labels: metric.update(outputs[0], labels[0], labels[1]),
    example_inputs=avqa_example_inputs,
    example_labels=lambda cfg, batch: (np.zeros(batch, np.int32), np.zeros(batch, np.int32)),
    select_metric="overall",
))


# AVQA grounding pre-training (official grounding_gen): frozen backbones without prompt modules + matching head.
register(TaskSpec(
    name="avqa_grounding",
    head_schema=GroundingConfig,
    build_head=None,
    build_network=build_avqa_grounding_network,
    build_loss=lambda cfg: GroundingLoss(),
    build_dataset=build_avqa_grounding_dataset,
    build_metric=GroundingAccuracy,
    loss_names=("match",),
    input_columns=("frames", "wave", "mixup_lambda"),
    label_columns=("index",),
    metric_update=lambda metric, outputs, labels: metric.update(outputs[0], outputs[1]),
    example_inputs=grounding_example_inputs,
    example_labels=lambda cfg, batch: (np.arange(batch, dtype=np.int32),),
    uses_prompts=False,
    select_metric="match_accuracy",
))
