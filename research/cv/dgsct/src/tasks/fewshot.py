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
"""DG-SCT few-shot (paper Sec. 4.5; official `few-shot/main_AVE.py`, `main_AVE_class.py`): the CLIP + CLAP network of
src/dgsct/fewshot.py trained on the first k videos per class.

* target "segment" (AVE): one score row per 1-s segment over the K event classes + "background"; CE against the
  segment labels; metric = segment accuracy.
* target "video" (AVE classification, `--weak 1`): the mean of the 10 segment scores over the K event classes; the
  target is the class of the first event segment; metric = video accuracy.
* dataset "llp" (LLP classification, official `few-shot/main_LLP_class.py`): target "video" over the 25 LLP classes
  (no background); the k-shot training subset takes single-label videos only (`data.options.shots: 0` = all of them).
  A multi-label test video counts as correct when the top-1 class is one of its labels (our rule: the spec of the
  official code does not say how multi-label test videos are scored).
* dataset "vggsound_avel": the zero-shot pre-training set (VGGSound-AVEL40K, 141 classes + background, per segment;
  official `pretrain/main_trans.py`), in the AVE file layout (src/data/vggsound_avel.py).
Loss (official): w * CE + 2 * L(audio->image) + 1.5 * L(image->audio), w = 500 for epochs 1..10 and 5 afterwards;
the contrastive terms are CE of the [B, B] logits against the identity. `head.loss_weighting: adaptive` is the
zero-shot pre-training loss (`pretrain/main_trans.py`): sum_i w_i L_i with w_i = L_i / (e + sum_j L_j) + 1 / e, e the
1-based epoch, the weights not detached from the graph.
"""
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import mindspore as ms
from mindspore import Parameter, nn, ops

from ..config import ConfigError
from ..data.ave import AVESource, load_categories
from ..data.avvp import AVVP_CLASSES, SPLIT_FILES, LLPClassificationSource, media_folder
from ..data.fewshot import SHOTS, KShotSource, ave_k_shot, llp_k_shot
from ..data.vggsound_avel import CATEGORY_FILE, VGGSoundAVELSource, read_categories, vggsound_k_shot
from ..data.transforms import build_task_dataset
from ..dgsct.fewshot import FewShotNet, freeze_fewshot
from .base import Task

TARGETS = ("segment", "video")
DATASETS = ("ave", "llp", "vggsound_avel")


@dataclass
class FewShotHeadConfig:
    """`head:` of the few-shot task: the CLIP / CLAP parts (presets, converted weights, vocabularies) and the loss."""
    clip_preset: str = "vit_b32"          # CLIPConfig.<preset>()
    clip_overrides: dict = field(default_factory=dict)
    clip_ckpt: str = ""                   # convert_weights.py --kind clip output; empty = random init
    clip_bpe: str = ""                    # bpe_simple_vocab_16e6.txt.gz (required)
    clap_audio_ckpt: str = ""             # convert_weights.py --kind clap output (HTS-AT + audio_projection)
    clap_text_preset: str = "base"        # RobertaConfig.<preset>()
    clap_text_overrides: dict = field(default_factory=dict)
    clap_text_ckpt: str = ""              # convert_weights.py --kind clap_text output
    roberta_vocab: str = ""               # roberta-base vocab.json (required)
    roberta_merges: str = ""              # roberta-base merges.txt (required)
    clap_max_length: int = 77
    clap_prompt: str = "The sounds of "   # CLAP class prompt prefix (official CLAPTextEncoder)
    ctx_init: str = "a photo of a"        # prompt learner context (its length = number of learned vectors)
    conditional: bool = False             # CoCoOp meta-net conditioning (official forward: off)
    ce_weight_early: float = 500.0        # CE weight for epochs 1 .. ce_switch_epoch
    ce_weight_late: float = 5.0
    ce_switch_epoch: int = 10
    audio_image_weight: float = 2.0
    image_audio_weight: float = 1.5
    loss_weighting: str = "fixed"         # fixed (few-shot) | adaptive (zero-shot pre-training, pretrain/main_trans.py)


@dataclass
class FewShotDataOptions:
    """`data.options:` of the few-shot task."""
    dataset: str = "ave"                  # ave | llp (LLP classification) | vggsound_avel (zero-shot pre-training)
    target: str = "segment"               # segment (AVE) | video (AVE classification)
    shots: int = 16                       # k videos per class in the training split (0 = the whole split)

    def validate(self, source):
        if self.dataset not in DATASETS:
            raise ValueError(f"{source}: key 'data.options.dataset' must be one of {DATASETS}, got {self.dataset!r}")
        if self.target not in TARGETS:
            raise ValueError(f"{source}: key 'data.options.target' must be one of {TARGETS}, got {self.target!r}")
        if self.dataset == "llp" and self.target != "video":
            raise ValueError(f"{source}: key 'data.options.target' must be 'video' for data.options.dataset llp "
                             f"(LLP classification is video level), got {self.target!r}")
        if self.shots != 0 and self.shots not in SHOTS:
            raise ValueError(f"{source}: key 'data.options.shots' must be one of {SHOTS} (or 0 = whole split), "
                             f"got {self.shots}")


def soft_cross_entropy(logits, target):
    """torch CrossEntropyLoss with probability targets: mean over rows of -sum(target * log_softmax(logits))."""
    return -(target * ops.log_softmax(logits, -1)).sum(-1).mean()


def first_event_target(labels):
    """[B, T, K+1] segment labels -> [B, K]: the class of the first segment with an event (zeros if none)."""
    events = labels[:, :, :-1]
    has_event = ops.amax(events, -1)                                       # [B, T]
    first = ops.one_hot(ops.argmax(has_event, 1), labels.shape[1], ms.Tensor(1.0), ms.Tensor(0.0))
    return (events * first.expand_dims(-1)).sum(1)


def first_event_target_np(labels):
    labels = np.asarray(labels)
    events = labels[:, :, :-1]
    first = events.max(-1).argmax(1)
    return events[np.arange(len(labels)), first]


class FewShotLoss(nn.Cell):
    """(scores [B, T, K'], audio_image [B, B], image_audio [B, B], labels [B, T, K+1]) -> (total, ce, a->i, i->a).
    The CE weight is a non-trainable parameter that `set_epoch` changes (the graph reads it at run time)."""

    def __init__(self, cfg: FewShotHeadConfig, video_level: bool):
        super().__init__()
        self.cfg = cfg
        self.video_level = video_level
        if cfg.loss_weighting not in ("fixed", "adaptive"):
            raise ConfigError(f"key 'head.loss_weighting' must be fixed or adaptive, got {cfg.loss_weighting!r}")
        self.adaptive = cfg.loss_weighting == "adaptive"
        self.ce_weight = Parameter(ms.Tensor(cfg.ce_weight_early, ms.float32), name="ce_weight", requires_grad=False)
        self.epoch = Parameter(ms.Tensor(1.0, ms.float32), name="epoch", requires_grad=False)   # 1-based

    def set_epoch(self, epoch):
        """epoch 0-based; the official loop counts epochs from 1 and uses the early weight while epoch <= 10."""
        late = epoch + 1 > self.cfg.ce_switch_epoch
        self.ce_weight.set_data(ms.Tensor(self.cfg.ce_weight_late if late else self.cfg.ce_weight_early, ms.float32))
        self.epoch.set_data(ms.Tensor(float(epoch + 1), ms.float32))

    def construct(self, scores, audio_image, image_audio, labels):
        if self.video_level:
            ce = soft_cross_entropy(scores.mean(1), first_event_target(labels))
        else:
            ce = soft_cross_entropy(scores.reshape(-1, scores.shape[-1]), labels.reshape(-1, labels.shape[-1]))
        identity = ops.eye(audio_image.shape[0], audio_image.shape[0], ms.float32)
        loss_ai = soft_cross_entropy(audio_image, identity)
        loss_ia = soft_cross_entropy(image_audio, identity)
        if self.adaptive:
            denominator = self.epoch + ce + loss_ai + loss_ia
            total = ((ce / denominator + 1 / self.epoch) * ce + (loss_ai / denominator + 1 / self.epoch) * loss_ai
                     + (loss_ia / denominator + 1 / self.epoch) * loss_ia)
        else:
            total = self.ce_weight * ce + self.cfg.audio_image_weight * loss_ai + self.cfg.image_audio_weight * loss_ia
        return total, ce, loss_ai, loss_ia


class FewShotAccuracy:
    """Segment accuracy (argmax over K+1 per segment) or video accuracy (argmax of the mean segment scores vs the
    first event's class; multi_label (LLP): correct when the argmax is any of the video's labels), in percent over
    every segment / video of the split."""

    def __init__(self, video_level, shots, multi_label=False):
        self.video_level = video_level
        self.multi_label = multi_label
        self.shots = shots
        self.correct = self.count = 0

    def update(self, outputs, batch):
        scores, labels = outputs["scores"], batch["labels"]
        if self.video_level and self.multi_label:
            predicted = scores.mean(1).argmax(-1)
            hit = first_event_target_np(labels)[np.arange(len(predicted)), predicted] > 0
            self.correct += int(hit.sum())
            self.count += predicted.size
            return predicted
        if self.video_level:
            predicted, target = scores.mean(1).argmax(-1), first_event_target_np(labels).argmax(-1)
        else:
            predicted, target = scores.argmax(-1), labels.argmax(-1)
        self.correct += int((predicted == target).sum())
        self.count += predicted.size
        return predicted

    def result(self):
        if not self.count:
            raise ValueError("few-shot accuracy: no sample was evaluated")
        return {"accuracy": 100.0 * self.correct / self.count, "shots": float(self.shots)}


@dataclass
class FewShotDerived:
    class_names: list
    clap_class_text: np.ndarray


class FewShotTask(Task):
    name = "fewshot"
    head_schema = FewShotHeadConfig
    data_schema = FewShotDataOptions
    output_names = ("scores", "audio_image", "image_audio")
    loss_names = ("ce", "audio_image", "image_audio")
    select_metric = "accuracy"
    image_backbone = "clip"

    @property
    def video_level(self):
        return self.cfg.data.options.target == "video"

    @classmethod
    def prepare(cls, cfg):
        """Class names (+ "background" for the per-segment target) and their CLAP text embeddings."""
        names = class_names(cfg.data)
        if cfg.data.options.target == "segment":
            names = names + ["background"]
        return FewShotDerived(names, clap_class_text(cfg.head, names))

    def clip_config(self):
        from ..backbones.clip import CLIPConfig
        head = self.cfg.head
        if not hasattr(CLIPConfig, head.clip_preset):
            raise ConfigError(f"key 'head.clip_preset': unknown CLIPConfig preset {head.clip_preset!r}")
        clip_cfg = getattr(CLIPConfig, head.clip_preset)(**head.clip_overrides)
        if clip_cfg.image_size != self.cfg.data.image_size:
            raise ConfigError(f"key 'data.image_size' is {self.cfg.data.image_size} but the CLIP image tower is built "
                              f"for {clip_cfg.image_size} (head.clip_preset / head.clip_overrides)")
        return clip_cfg.validate()

    def build_network(self):
        from ..backbones.clap_audio import CLAPAudioEncoder
        from ..backbones.clip import CLIP
        from ..convert.mapping import load_checked
        from ..dgsct.model import _preset
        from ..backbones.htsat import HTSATConfig
        from ..text.clip_bpe import CLIPTokenizer
        head = self.cfg.head
        clip_cfg = self.clip_config()
        clip = CLIP(clip_cfg)
        if head.clip_ckpt:
            load_checked(clip, head.clip_ckpt)
        htsat_cfg = _preset(HTSATConfig, self.cfg.model.htsat_preset, self.cfg.model.htsat_overrides)
        clap_audio = CLAPAudioEncoder(htsat_cfg, joint_dim=clip_cfg.embed_dim)
        if head.clap_audio_ckpt:
            load_checked(clap_audio, head.clap_audio_ckpt)
        tokenizer = CLIPTokenizer(_required(head.clip_bpe, "head.clip_bpe"), vocab_size=clip_cfg.vocab_size,
                                  context_length=clip_cfg.context_length)
        derived = self.derived
        return FewShotNet(clip, clap_audio, self.cfg.prompt, tokenizer, derived.class_names, derived.clap_class_text,
                          segments=self.cfg.data.num_segments, ctx_init=head.ctx_init, conditional=head.conditional,
                          backbone_train_mode=self.cfg.model.backbone_train_mode)

    def freeze(self, net):
        return freeze_fewshot(net)

    def build_loss(self):
        self._loss = FewShotLoss(self.cfg.head, self.video_level)
        return self._loss

    def start_epoch(self, epoch):
        loss = getattr(self, "_loss", None)
        if loss is not None:
            loss.set_epoch(epoch)

    def build_data(self, split, batch_size, training, rank=0, group_size=1):
        data = self.cfg.data
        if data.options.dataset == "llp":
            if split not in SPLIT_FILES:
                raise ConfigError(f"LLP split {split!r} (keys data.train_split / data.eval_split) must be one of "
                                  f"{tuple(SPLIT_FILES)}")
            source = LLPClassificationSource(media_folder(data.root), data.root, split, image_size=data.image_size,
                                             segment_samples=data.audio_rate, clip_samples=data.clip_samples,
                                             num_segments=data.num_segments)
            if split == data.train_split:      # single-label videos only; shots 0 = all of them
                shots = data.options.shots or len(source)
                source = KShotSource(source, llp_k_shot(source.labels, source.classes, shots), shots)
            return build_task_dataset(source, data, batch_size, training, rank, group_size), source
        if data.options.dataset == "vggsound_avel":
            source, k_shot = VGGSoundAVELSource(data.root, split, data), vggsound_k_shot
        else:
            source, k_shot = AVESource(data.root, split, data, classes=load_categories(data.root)), ave_k_shot
        if split == data.train_split and data.options.shots:
            source = KShotSource(source, k_shot(source.records, source.classes, data.options.shots),
                                 data.options.shots)
        return build_task_dataset(source, data, batch_size, training, rank, group_size), source

    def build_metric(self):
        return FewShotAccuracy(self.video_level, self.cfg.data.options.shots,
                               multi_label=self.cfg.data.options.dataset == "llp")

    def example_labels(self, batch):
        k = len(class_names(self.cfg.data)) if self.cfg.data.root else 1
        labels = np.zeros((batch, self.cfg.data.num_segments, k + 1), np.float32)
        labels[:, :, -1] = 1
        labels[:, :3, 0], labels[:, :3, -1] = 1, 0
        return (labels,)


def class_names(data):
    """The event classes of the configured dataset (without background)."""
    if data.options.dataset == "vggsound_avel":
        return read_categories(Path(data.root) / CATEGORY_FILE)
    if data.options.dataset == "llp":
        return list(AVVP_CLASSES)
    return load_categories(data.root)


def _required(path, key):
    if not path:
        raise ConfigError(f"key '{key}' is required by the few-shot task (a vocabulary file the user supplies)")
    return path


def clap_class_text(head, class_names):
    """[K, D] CLAP text embeddings of "<clap_prompt><name>" from the (frozen) CLAP text encoder, in eval mode."""
    from ..backbones.roberta import CLAPTextEncoder, RobertaConfig
    from ..convert.mapping import load_checked
    from ..text.roberta_bpe import RobertaTokenizer
    from ..backbones.clip import CLIPConfig
    if not hasattr(RobertaConfig, head.clap_text_preset):
        raise ConfigError(f"key 'head.clap_text_preset': unknown RobertaConfig preset {head.clap_text_preset!r}")
    joint_dim = getattr(CLIPConfig, head.clip_preset)(**head.clip_overrides).embed_dim
    encoder = CLAPTextEncoder(getattr(RobertaConfig, head.clap_text_preset)(**head.clap_text_overrides), joint_dim)
    if head.clap_text_ckpt:
        load_checked(encoder, head.clap_text_ckpt)
    tokenizer = RobertaTokenizer(_required(head.roberta_vocab, "head.roberta_vocab"),
                                 _required(head.roberta_merges, "head.roberta_merges"), head.clap_max_length)
    ids, mask = tokenizer([head.clap_prompt + name for name in class_names])
    encoder.set_train(False)
    return encoder(ms.Tensor(ids), ms.Tensor(mask)).asnumpy()
