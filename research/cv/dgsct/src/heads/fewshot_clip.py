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
"""Scoring heads of the DG-SCT few/zero-shot network (CLIP + CLAP backbones).

* ``ClipAdapter`` (Gao et al., "CLIP-Adapter", 2021): Linear(C -> C/4, no bias) -> ReLU -> Linear(C/4 -> C, no bias)
  -> ReLU, blended with its input: ratio * adapter(x) + (1 - ratio) * x, ratio 0.2. DG-SCT applies one to the CLIP
  image embedding and another to the class text embeddings.
* ``PromptLearner`` (CoOp, Zhou et al., IJCV 2022; CoCoOp, CVPR 2022): n_ctx learned context vectors replace the
  placeholder words of "X X X X <class name>." between the start token and the class-name tokens; the text tower
  then encodes the embedded prompts and pools at each prompt's end token. The context size comes from the initial
  phrase ("a photo of a": 4), but, as in the official DG-SCT code, the vectors are drawn from N(0, 0.02^2), not taken
  from the phrase's embeddings. The meta-net (512 -> 512/16 -> 512) of CoCoOp is built in both modes; the official
  DG-SCT forward never applies it (shared context for all images, ``conditional=False``, the default), CoCoOp adds
  meta_net(image feature) to every context vector (``conditional=True``, one prompt set per image).
* ``clip_logits``: exp(CLIP logit_scale) * cos(adapted image embedding, adapted prompt text embeddings).
* ``clap_logits``: CLAP logit_scale_a * cos(audio embedding, class text embeddings). The official DG-SCT code
  multiplies by the stored (log-space) value without exponentiating it; ``exp_scale=False`` reproduces that.
* ``AudioVisualContrastive``: Linear(512, 512) on the audio embeddings, per-video means over the segments, cosine
  logits audio->video and video->audio scaled by exp(CLIP logit_scale) (a constant taken at construction).
"""
from typing import Sequence

import numpy as np

import mindspore as ms
from mindspore import Parameter, nn, ops

from ..backbones.layers import l2_normalize
from ..text.clip_bpe import CLIPTokenizer

ADAPTER_RATIO = 0.2
ADAPTER_REDUCTION = 4
META_NET_REDUCTION = 16
CONTEXT_INIT = "a photo of a"
CONTEXT_STD = 0.02
PLACEHOLDER = "X"


class ClipAdapter(nn.Cell):
    """ratio * ReLU(W2 ReLU(W1 x)) + (1 - ratio) * x; cells ``fc.0`` / ``fc.2`` as the torch Sequential."""

    def __init__(self, dim: int = 512, reduction: int = ADAPTER_REDUCTION, ratio: float = ADAPTER_RATIO):
        super().__init__()
        self.ratio = ratio
        self.fc = nn.SequentialCell([nn.Dense(dim, dim // reduction, has_bias=False), nn.ReLU(),
                                     nn.Dense(dim // reduction, dim, has_bias=False), nn.ReLU()])

    def construct(self, x):
        return self.ratio * self.fc(x) + (1.0 - self.ratio) * x


def _repeat_batch(tensor, batch):
    """[...] -> [batch, ...] (a broadcast view)."""
    return ops.broadcast_to(tensor.expand_dims(0), (batch,) + tuple(tensor.shape))


class PromptLearner(nn.Cell):
    """Learned prompts for ``class_names`` on a CLIP text tower (``src.backbones.clip.TextTransformer``).

    construct(image_features) -> class text embeddings: [n_cls, D] (shared context) or [B, n_cls, D]
    (``conditional``: context shifted by meta_net(image feature) per image).
    """

    def __init__(self, text_tower, tokenizer: CLIPTokenizer, class_names: Sequence[str], embed_dim: int,
                 ctx_init: str = CONTEXT_INIT, conditional: bool = False, seed: int = None):
        super().__init__()
        if not class_names:
            raise ValueError("PromptLearner needs at least one class name")
        if tokenizer.context_length != text_tower.context_length:
            raise ValueError(f"tokenizer context length {tokenizer.context_length} != text tower's "
                             f"{text_tower.context_length}")
        self.text = text_tower
        self.conditional = conditional
        self.n_ctx = len(ctx_init.split())
        self.n_cls = len(class_names)
        width = text_tower.positional_embedding.shape[1]
        placeholder = " ".join([PLACEHOLDER] * self.n_ctx)
        prompts = [f"{placeholder} {name.replace('_', ' ')}." for name in class_names]
        ids = tokenizer(prompts)                                          # [n_cls, L]; ctx at 1 .. n_ctx
        self.prompt_ids = ms.Tensor(ids)
        self.eot_index = ms.Tensor(ids.argmax(-1).astype(np.int32))
        rng = np.random.default_rng(np.random.randint(2 ** 31) if seed is None else seed)
        self.ctx = Parameter(ms.Tensor((rng.standard_normal((self.n_ctx, width)) * CONTEXT_STD).astype(np.float32)))
        self.meta_net = nn.SequentialCell([nn.Dense(embed_dim, embed_dim // META_NET_REDUCTION), nn.ReLU(),
                                           nn.Dense(embed_dim // META_NET_REDUCTION, width)])

    def prompt_embeddings(self, image_features=None):
        """[n_cls, L, width], or [B * n_cls, L, width] when conditional. The start and class-name token embeddings
        are looked up on every call, so weights loaded after construction are used."""
        fixed = self.text.token_embedding(self.prompt_ids)
        prefix, suffix = fixed[:, :1], fixed[:, 1 + self.n_ctx:]
        if not self.conditional:
            ctx = ops.broadcast_to(self.ctx.expand_dims(0), (self.n_cls, self.n_ctx, self.ctx.shape[1]))
            return ops.concat((prefix, ctx, suffix), axis=1)
        batch = image_features.shape[0]
        ctx = self.ctx.expand_dims(0) + self.meta_net(image_features).expand_dims(1)   # [B, n_ctx, width]
        ctx = ops.broadcast_to(ctx.expand_dims(1), (batch, self.n_cls, self.n_ctx, ctx.shape[-1]))
        prompts = ops.concat((_repeat_batch(prefix, batch), ctx, _repeat_batch(suffix, batch)), axis=2)
        return prompts.reshape(batch * self.n_cls, prompts.shape[2], prompts.shape[3])

    def construct(self, image_features=None):
        prompts = self.prompt_embeddings(image_features)
        if not self.conditional:
            return self.text.encode_embeddings(prompts, self.eot_index)
        batch = image_features.shape[0]
        eot = ops.tile(self.eot_index, (batch,))
        return self.text.encode_embeddings(prompts, eot).reshape(batch, self.n_cls, -1)


def clip_logits(image_embedding, text_embedding, image_adapter, text_adapter, logit_scale):
    """exp(logit_scale) * cos(adapter(image), adapter(text)). image [B, D]; text [n_cls, D] or [B, n_cls, D]."""
    image = l2_normalize(image_adapter(image_embedding))
    text = l2_normalize(text_adapter(text_embedding))
    scale = ops.exp(logit_scale)
    if text.ndim == 2:
        return scale * ops.matmul(image, text.T)
    return scale * (image.expand_dims(1) * text).sum(-1)


def clap_logits(audio_embedding, class_text_embedding, logit_scale_a, exp_scale: bool = False):
    """logit_scale_a * cos(audio [B, D], class texts [n_cls, D]); the official code uses the log-space value as is."""
    scale = ops.exp(logit_scale_a) if exp_scale else logit_scale_a
    return scale * ops.matmul(l2_normalize(audio_embedding), l2_normalize(class_text_embedding).T)


class AudioVisualContrastive(nn.Cell):
    """Video-level audio-visual contrastive logits from segment embeddings [B * T, D] (T segments per video)."""

    def __init__(self, logit_scale_value: float, dim: int = 512, segments: int = 10):
        super().__init__()
        self.segments = segments
        self.fc_a1 = nn.Dense(dim, dim)
        self.scale = float(np.exp(logit_scale_value))

    def construct(self, video, audio):
        audio = self.fc_a1(audio)
        video = l2_normalize(video.reshape(-1, self.segments, video.shape[-1]).mean(axis=1))
        audio = l2_normalize(audio.reshape(-1, self.segments, audio.shape[-1]).mean(axis=1))
        audio_to_video = self.scale * ops.matmul(audio, video.T)
        return audio_to_video, audio_to_video.T
