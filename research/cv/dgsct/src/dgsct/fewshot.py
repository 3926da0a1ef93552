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
"""The DG-SCT few/zero-shot network (paper Sec. 4.5; official `few-shot/nets/net_trans.py`, `MMIL_Net`): the
text-aligned backbones CLIP ViT-B/32 (image) and LAION-CLAP HTS-AT (audio) walked block pair by block pair with
the cross-modal prompt modules (the variant with the in-module temporal gate), then CLIP and CLAP matching against
class-name text embeddings.

Pairing and wiring (`MMIL_Net.lavish_forward`): the k-th ViT block is paired with the k-th HTS-AT block in order
(12 + 12 for the released models; the walk follows the HTS-AT stages and merges after each stage). Per pair:
  1. a <- the WHOLE HTS-AT block(a);  v <- v + attn(ln_1(v))
  2. dA1 = V2A_p1(a, v), dV1 = A2V_p1(v, a);  v <- v + dV1, a <- a + dA1
  3. v_mlp = v + mlp(ln_2(v))
  4. dA2 = V2A_p2(a, v), dV2 = A2V_p2(v, a)   (v still BEFORE the MLP)
  5. v <- v_mlp + dV2, a <- a + dA2
This differs from the four main tasks (src/dgsct/encoder.py), where the p1 pair reads the block inputs.

Heads: image embedding = ln_post(class token) @ proj; audio embedding = CLAP audio_projection(mean of the
LayerNorm-ed final HTS-AT tokens). logits_v = exp(CLIP logit_scale) cos(CLIP-Adapter(image), CLIP-Adapter(prompt
texts)), logits_a = CLAP logit_scale_a (not exponentiated, as the official code) cos(audio, CLAP class texts);
scores = 2 logits_v + 2 logits_a per segment; the audio-visual contrastive logits use per-video means.
The CLAP class-text embeddings come from a frozen text encoder and fixed prompts ("The sounds of <name>"), so they
are computed once when the network is built (`clap_class_text`, a constant) instead of on every step. Nothing in the
checkpoint depends on the class list (the prompt learner's context is shared by all classes, the class-name tokens
are looked up on every call), so a network trained on one class set (zero-shot: VGGSound-AVEL40K) loads into the
network built for another one (AVE, LLP) and scores its classes without further training.
"""
import numpy as np

import mindspore as ms
from mindspore import Parameter, nn

from ..backbones.layers import l2_normalize
from ..heads.fewshot_clip import AudioVisualContrastive, ClipAdapter, PromptLearner, clap_logits, clip_logits
from .prompt import CrossModalPrompt

# trainable sub-cells of the official few-shot scripts (every other parameter is frozen): the prompt modules, both
# CLIP-Adapters, the prompt learner's context and meta-net, the contrastive layer
TRAINABLE = ("vis_adapter_blocks_p1", "vis_adapter_blocks_p2", "audio_adapter_blocks_p1", "audio_adapter_blocks_p2",
             "clip_adapter", "clip_adapter_text", "audio_visual_contrastive_learner")
SCORE_WEIGHT = 2.0       # scores = 2 * logits_v + 2 * logits_a


def pair_blocks(num_vit_blocks, htsat_depths):
    """((htsat stage, block in stage), ...) for ViT blocks 0.. in order; the counts must be equal."""
    pairs = tuple((stage, block) for stage, depth in enumerate(htsat_depths) for block in range(depth))
    if len(pairs) != num_vit_blocks:
        raise ValueError(f"the few-shot network pairs ViT blocks one-to-one with HTS-AT blocks: {num_vit_blocks} ViT "
                         f"blocks vs {len(pairs)} HTS-AT blocks (depths {tuple(htsat_depths)})")
    return pairs


class FewShotNet(nn.Cell):
    """frames [B, T, 3, S, S], waves [B, T, L] -> (scores [B, T, K], logits_audio_image [B, B],
    logits_image_audio [B, B]).

    Args:
        clip: src.backbones.clip.CLIP (weights already loaded); its image tower, text tower (inside the prompt
            learner) and logit_scale are used.
        clap_audio: src.backbones.clap_audio.CLAPAudioEncoder (weights loaded).
        prompt_cfg: PromptConfig (few-shot: temporal_gate true).
        tokenizer: CLIP tokenizer for the prompt learner; class_names: the K class names (with "background" for the
            per-segment tasks).
        clap_class_text: [K, D] CLAP text embeddings of "The sounds of <name>" (numpy).
        segments: T, segments per video (the contrastive term averages over them).
    """

    def __init__(self, clip, clap_audio, prompt_cfg, tokenizer, class_names, clap_class_text, segments=10,
                 ctx_init="a photo of a", conditional=False, backbone_train_mode=True):
        super().__init__()
        clap_class_text = np.asarray(clap_class_text, np.float32)
        if clap_class_text.shape != (len(class_names), clip.cfg.embed_dim):
            raise ValueError(f"CLAP class text embeddings of shape {clap_class_text.shape} do not match "
                             f"{len(class_names)} classes x embed_dim {clip.cfg.embed_dim}")
        self.visual = clip.visual
        self.clap_audio = clap_audio
        self.backbone_train_mode = backbone_train_mode
        self.segments = segments
        htsat = clap_audio.htsat
        self.pairs = pair_blocks(len(self.visual.transformer.resblocks), htsat.depths)
        v_dim, v_tok = self.visual.width, self.visual.num_tokens
        vis_p1, vis_p2, audio_p1, audio_p2 = [], [], [], []
        for stage, _ in self.pairs:
            a_dim = htsat.stage_dims[stage]
            a_tok = htsat.stage_resolutions[stage][0] * htsat.stage_resolutions[stage][1]
            for lst in (vis_p1, vis_p2):      # audio -> video modules are always gated
                lst.append(CrossModalPrompt(v_dim, v_tok, a_dim, a_tok, prompt_cfg, use_gate=True))
            for lst in (audio_p1, audio_p2):
                lst.append(CrossModalPrompt(a_dim, a_tok, v_dim, v_tok, prompt_cfg, use_gate=prompt_cfg.audio_gate))
        for module in vis_p1 + vis_p2 + audio_p1 + audio_p2:
            module.return_pool = False        # the few-shot heads pool with the class token / the token mean
        self.vis_adapter_blocks_p1 = nn.CellList(vis_p1)
        self.vis_adapter_blocks_p2 = nn.CellList(vis_p2)
        self.audio_adapter_blocks_p1 = nn.CellList(audio_p1)
        self.audio_adapter_blocks_p2 = nn.CellList(audio_p2)
        embed_dim = clip.cfg.embed_dim
        self.prompt_learner = PromptLearner(clip.text, tokenizer, class_names, embed_dim, ctx_init=ctx_init,
                                            conditional=conditional)
        self.conditional = conditional
        self.clip_adapter = ClipAdapter(embed_dim)
        self.clip_adapter_text = ClipAdapter(embed_dim)
        self.logit_scale = Parameter(ms.Tensor(clip.logit_scale.asnumpy()), name="logit_scale", requires_grad=False)
        self.clap_class_text = ms.Tensor(clap_class_text)      # derived from the class names: not in checkpoints
        # official: exp(CLIP logit_scale) taken once when the layer is built
        scale = float(clip.logit_scale.asnumpy().reshape(-1)[0])
        self.audio_visual_contrastive_learner = AudioVisualContrastive(scale, embed_dim, segments)

    def frozen_backbones(self):
        """The frozen towers that model.backbone_train_mode=false keeps in eval mode during training."""
        return self.visual, self.clap_audio.htsat

    def encode(self, images, waves):
        """images [B', 3, S, S], waves [B', L] -> (image embedding [B', D], audio embedding [B', D])."""
        htsat = self.clap_audio.htsat
        v = self.visual.embed(images)
        a = htsat.embed(htsat.frontend(waves))
        for pair, (stage, block) in enumerate(self.pairs):
            blk_v = self.visual.transformer.resblocks[pair]
            a = htsat.stages[stage].blocks[block](a)
            v = v + blk_v.attn_residual(v)
            delta_a = self.audio_adapter_blocks_p1[pair](a, v)
            delta_v = self.vis_adapter_blocks_p1[pair](v, a)
            v = v + delta_v
            a = a + delta_a
            v_mlp = v + blk_v.mlp_residual(v)
            delta_a = self.audio_adapter_blocks_p2[pair](a, v)      # reads v before the MLP (official wiring)
            delta_v = self.vis_adapter_blocks_p2[pair](v, a)
            v = v_mlp + delta_v
            a = a + delta_a
            if block == htsat.depths[stage] - 1 and htsat.stages[stage].downsample is not None:
                a = htsat.stages[stage].downsample(a)
        return self.visual.head(v), self.clap_audio.embed_tokens(a)

    def class_text(self, image_embedding):
        """CLIP text embeddings of the learned prompts: [K, D], or [B', K, D] for the conditional (CoCoOp) mode."""
        if self.conditional:
            return self.prompt_learner(l2_normalize(self.clip_adapter(image_embedding)))
        return self.prompt_learner()

    def construct(self, frames, waves):
        batch, segments = frames.shape[0], frames.shape[1]
        images = frames.reshape((batch * segments,) + frames.shape[2:])
        image, audio = self.encode(images, waves.reshape(batch * segments, -1))
        audio_image, image_audio = self.audio_visual_contrastive_learner(image, audio)
        logits_v = clip_logits(image, self.class_text(image), self.clip_adapter, self.clip_adapter_text,
                               self.logit_scale)
        logits_a = clap_logits(audio, self.clap_class_text, self.clap_audio.logit_scale_a)
        scores = SCORE_WEIGHT * logits_v + SCORE_WEIGHT * logits_a
        return scores.reshape(batch, segments, -1), audio_image, image_audio


def freeze_fewshot(net):
    """Freeze every parameter except those the official scripts train (TRAINABLE cells, the prompt learner's `ctx`
    and `meta_net`); BatchNorm running statistics are never trainable. Returns (trainable, total)."""
    trainable = set()
    for name in TRAINABLE:
        trainable.update(id(p) for p in getattr(net, name).get_parameters())
    trainable.add(id(net.prompt_learner.ctx))
    trainable.update(id(p) for p in net.prompt_learner.meta_net.get_parameters())
    params = list(net.get_parameters())
    for param in params:
        param.requires_grad = id(param) in trainable and not param.name.endswith(("moving_mean", "moving_variance"))
    return sum(p.size for p in params if p.requires_grad), sum(p.size for p in params)
