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
"""AVQA head: the AVST answer network (official `AVQA_Fusion_Net` in `DG-SCT/AVQA/net_grd_avst/net_avst.py`, after
the backbones), its losses
(4.4.3), and the grounding pre-training head (`grounding_gen`).

Inputs: a_seg [B, T, Ca] (audio pooled by the last prompt module's spatial map), the final normalised Swin tokens of
the positive frames v_pos [B, T, N, C] (through the adapted encoder) and of the negative frames v_neg [B, T, N, C]
(through the plain frozen Swin), and the padded question word ids [B, L]. All hidden sizes equal C (1536 for
Swin-V2-L), as in the official code. Parameter names follow the official module so converted checkpoints map 1:1;
the official `fc_a1_pure` / `fc_a2_pure` / `norm3` / `dropout` are never used in its forward and are not built.
"""
from dataclasses import dataclass, field, replace

import numpy as np
import mindspore as ms
from mindspore import nn, ops, Tensor

from ..backbones.layers import Dropout, l2_normalize, layer_norm
from ..dgsct.attention import SeededMultiheadAttention
from ..dgsct.torch_init import torch_default_init


@dataclass
class AVSTConfig:
    """AVST sizes; defaults = the official model (93 question words, 42 answers, 1536 hidden, 4 heads)."""
    # derived by the AVQA task (never set in a yaml): sizes of the run's vocabulary and the backbone widths
    vocab_size: int = 93
    num_answers: int = 42
    audio_dim: int = 768      # a_seg width (HTS-AT final stage)
    visual_dim: int = 1536    # Swin final width = hidden size of the whole head
    num_heads: int = 4
    dropout: float = 0.1
    match_hidden: list = field(default_factory=lambda: [512, 256, 128])
    match_weight: float = 0.5       # loss: CE_qa + 0.5 CE_match
    grounding_ckpt: str = ""        # grounding pre-training checkpoint that initialises the grounding head


class QuestionEncoder(nn.Cell):
    """Embedding -> tanh -> LSTM (seq-first, 1 layer) over all padded words -> tanh(concat(h, c)) -> Linear."""

    def __init__(self, vocab_size, dim):
        super().__init__()
        self.word2vec = nn.Embedding(vocab_size, dim, embedding_table=Tensor(
            np.random.standard_normal((vocab_size, dim)).astype(np.float32)))   # torch default N(0, 1)
        self.lstm = nn.LSTM(dim, dim, num_layers=1)
        self.fc = nn.Dense(2 * dim, dim)
        torch_default_init(self.fc)

    def construct(self, question):
        words = ops.tanh(self.word2vec(question)).swapaxes(0, 1)              # [L, B, dim]
        _, (hidden, cell) = self.lstm(words)                                  # [1, B, dim] each
        feature = ops.concat((hidden, cell), axis=2).swapaxes(0, 1)
        return self.fc(ops.tanh(feature.reshape(feature.shape[0], -1)))      # [B, dim]


class AVGrounding(nn.Cell):
    """Audio-guided visual grounding and the audio-visual matching MLP (shared by AVST and its pre-training).

    audio(a) = fc_a2(ReLU(fc_a1(a))); ground(fa, V [*, N, C]): w = softmax over N of (V/|V|) . (fa/|fa|),
    vp = fc_gl(tanh([mean_N V, w (V/|V|)])); match(fa, vp) = 4-layer ReLU MLP -> 2 logits (index 1 = match).
    """

    def __init__(self, audio_dim, dim, match_hidden=(512, 256, 128)):
        super().__init__()
        h1, h2, h3 = match_hidden
        self.fc_a1 = nn.Dense(audio_dim, dim)
        self.fc_a2 = nn.Dense(dim, dim)
        self.fc_gl = nn.Dense(2 * dim, dim)
        self.fc1 = nn.Dense(2 * dim, h1)
        self.fc2 = nn.Dense(h1, h2)
        self.fc3 = nn.Dense(h2, h3)
        self.fc4 = nn.Dense(h3, 2)
        torch_default_init(self)

    def audio(self, a):
        return self.fc_a2(ops.relu(self.fc_a1(a)))

    def ground(self, fa, visual):
        """fa [M, C], visual [M, N, C] -> grounded visual feature [M, C]."""
        pooled = visual.mean(axis=1)
        tokens = l2_normalize(visual, axis=-1)
        weights = ops.softmax(ops.matmul(tokens, l2_normalize(fa, axis=-1)[:, :, None]).squeeze(-1), axis=-1)
        grounded = ops.matmul(weights[:, None, :], tokens).squeeze(1)
        return self.fc_gl(ops.tanh(ops.concat((pooled, grounded), axis=-1)))

    def match(self, fa, vp):
        x = ops.relu(self.fc1(ops.concat((fa, vp), axis=-1)))
        return self.fc4(ops.relu(self.fc3(ops.relu(self.fc2(x)))))


class AVSTHead(nn.Cell):
    """Question-guided spatio-temporal answer head. Returns (answer logits [B, A], match logits of the positive
    frames [B*T, 2], of the negative frames [B*T, 2])."""

    def __init__(self, cfg=None):
        super().__init__()
        cfg = cfg or AVSTConfig()
        dim = cfg.visual_dim
        self.grounding = AVGrounding(cfg.audio_dim, dim, cfg.match_hidden)
        self.question_encoder = QuestionEncoder(cfg.vocab_size, dim)
        self.attn_v = SeededMultiheadAttention(dim, cfg.num_heads, dropout=cfg.dropout)
        self.linear11 = nn.Dense(dim, dim)
        self.linear12 = nn.Dense(dim, dim)
        self.dropout1 = Dropout(p=cfg.dropout, batch_axis=1)          # on [1, B, C] (sequence-first)
        self.dropout2 = Dropout(p=cfg.dropout, batch_axis=1)
        self.norm1 = layer_norm(dim)
        self.attn_a = SeededMultiheadAttention(dim, cfg.num_heads, dropout=cfg.dropout)
        self.linear21 = nn.Dense(dim, dim)
        self.linear22 = nn.Dense(dim, dim)
        self.dropout3 = Dropout(p=cfg.dropout, batch_axis=1)
        self.dropout4 = Dropout(p=cfg.dropout, batch_axis=1)
        self.norm2 = layer_norm(dim)
        self.fc_fusion = nn.Dense(2 * dim, dim)
        self.fc_ans = nn.Dense(dim, cfg.num_answers)
        for cell in (self.linear11, self.linear12, self.linear21, self.linear22, self.fc_fusion, self.fc_ans):
            torch_default_init(cell)
        for attn in (self.attn_v, self.attn_a):    # torch MHA: xavier in_proj (as MindSpore), zero out_proj bias
            attn.out_proj.bias.set_data(ops.zeros_like(attn.out_proj.bias))

    def _question_attention(self, query, seq, attn, lin1, lin2, drop1, drop2, norm):
        """query [1, B, C] attends seq [T, B, C]; then x + Drop(W2 Drop(ReLU(W1 x))) and LayerNorm."""
        x = attn(query, seq, seq)[0]
        return norm(x + drop2(lin2(drop1(ops.relu(lin1(x))))))

    def construct(self, a_seg, v_pos, v_neg, question):
        b, t = a_seg.shape[0], a_seg.shape[1]
        n, c = v_pos.shape[2], v_pos.shape[3]
        q = self.question_encoder(question)                                   # [B, C]
        fa = self.grounding.audio(a_seg).reshape(b * t, c)
        vp = self.grounding.ground(fa, v_pos.reshape(b * t, n, c))
        vn = self.grounding.ground(fa, ops.stop_gradient(v_neg).reshape(b * t, n, c))
        match_pos = self.grounding.match(fa, vp)
        match_neg = self.grounding.match(fa, vn)
        vp = vp.reshape(b, t, c)
        fa = fa.reshape(b, t, c)
        query = q[None]
        att_v = self._question_attention(query, vp.swapaxes(0, 1), self.attn_v, self.linear11, self.linear12,
                                         self.dropout1, self.dropout2, self.norm1)
        att_a = self._question_attention(query, fa.swapaxes(0, 1), self.attn_a, self.linear21, self.linear22,
                                         self.dropout3, self.dropout4, self.norm2)
        feat = ops.concat((att_a + fa.mean(axis=1), att_v + vp.mean(axis=1)), axis=-1)
        feat = self.fc_fusion(ops.tanh(feat))
        return self.fc_ans(ops.tanh(feat * q)), match_pos, match_neg


class AVQALoss(nn.Cell):
    """Loss of the official main_avst.py: CE(answer logits, answer) + 0.5 * CE(match logits, 1 for positive / 0 for
    negative frames).
    The official batch interleaves positive and negative rows; the mean over all rows is the same."""

    def __init__(self, match_weight=0.5):
        super().__init__()
        self.match_weight = match_weight

    def construct(self, answer_logits, match_pos, match_neg, answer, *unused):
        loss_qa = ops.cross_entropy(answer_logits, answer.astype(ms.int32))
        loss_match = matching_loss(match_pos, match_neg)
        return loss_qa + self.match_weight * loss_match, loss_qa, loss_match


def matching_loss(match_pos, match_neg):
    """Mean CE over positive rows (target 1) and negative rows (target 0)."""
    logits = ops.concat((match_pos, match_neg), axis=0)
    target = ops.concat((ops.ones(match_pos.shape[0], ms.int32), ops.zeros(match_neg.shape[0], ms.int32)))
    return ops.cross_entropy(logits, target)


class GroundingLoss(nn.Cell):
    """Grounding pre-training loss: the matching CE (returned twice: total and its only part)."""

    def construct(self, match_pos, match_neg, *unused):
        loss = matching_loss(match_pos, match_neg)
        return loss, loss


class GroundingPretrainHead(nn.Cell):
    """grounding_gen: mean-pooled HTS-AT tokens a [B, Ca], final Swin tokens of the positive and the negative frame
    [B, N, C] -> match logits ([B, 2], [B, 2]); trained with `matching_loss`. Its `grounding` cell has the same
    parameter names as AVSTHead.grounding, so the trained weights initialise the AVST head."""

    def __init__(self, audio_dim=768, visual_dim=1536, match_hidden=(512, 256, 128)):
        super().__init__()
        self.grounding = AVGrounding(audio_dim, visual_dim, match_hidden)

    def construct(self, a_mean, v_pos, v_neg):
        fa = self.grounding.audio(a_mean)
        pos = self.grounding.match(fa, self.grounding.ground(fa, ops.stop_gradient(v_pos)))
        neg = self.grounding.match(fa, self.grounding.ground(fa, ops.stop_gradient(v_neg)))
        return pos, neg


class AVQAModel(nn.Cell):
    """DG-SCT encoder (AVQA prompt variant) + AVST head.

    construct(frames [B, T, 3, H, W], neg_frames [B, T, 3, H, W], wave [B, T, L], question [B, 14],
    mixup_lambda [B*T] or None) -> (answer logits, positive match logits, negative match logits).
    Positive frames: final normalised tokens of the adapted encoder; negative frames: the plain frozen Swin
    (`forward_features`, no gradient), as the official model.
    """

    def __init__(self, encoder, head):
        super().__init__()
        self.encoder = encoder
        self.head = head

    def construct(self, frames, neg_frames, wave, question, mixup_lambda=None):
        b, t = frames.shape[0], frames.shape[1]
        image_shape = frames.shape[2:]
        a_seg, stage_maps = self.encoder.audio_and_maps(frames.reshape((b * t,) + image_shape), wave.reshape(b * t, -1),
                                                        mixup_lambda)
        v_pos = stage_maps[-1]
        v_neg = ops.stop_gradient(self.encoder.swin.forward_features(neg_frames.reshape((b * t,) + image_shape))[1])
        n, c = v_pos.shape[1], v_pos.shape[2]
        return self.head(a_seg.reshape(b, t, -1), v_pos.reshape(b, t, n, c), v_neg.reshape(b, t, n, c), question)


@dataclass
class GroundingConfig:
    """Head section of configs/avqa_grounding.yaml."""
    match_hidden: list = field(default_factory=lambda: [512, 256, 128])


def build_avqa_model(encoder, head_cfg=None):
    """AVQAModel on a built AudioVisualEncoder; head widths from the backbones (vocabulary/answer sizes from cfg)."""
    head_cfg = replace(head_cfg or AVSTConfig(), audio_dim=encoder.htsat.stage_dims[-1],
                       visual_dim=encoder.swin.stage_dims[-1])
    return AVQAModel(encoder, AVSTHead(head_cfg))


class AVQAGroundingModel(nn.Cell):
    """Grounding pre-training model (official grounding_gen): frozen Swin and HTS-AT WITHOUT prompt modules,
    audio = mean of the final HTS-AT tokens. construct(frames [B, 2, 3, H, W] = (positive, negative),
    wave [B, L], mixup_lambda [B] or None) -> (positive match logits [B, 2], negative match logits [B, 2])."""

    def __init__(self, backbones, head):
        super().__init__()
        self.encoder = backbones          # `encoder.swin.*` / `encoder.htsat.*` names, as in every other task
        self.head = head

    def construct(self, frames, wave, mixup_lambda=None):
        a_mean = self.encoder.htsat.forward_features(wave, mixup_lambda)[1].mean(axis=1)
        v_pos = self.encoder.swin.forward_features(frames[:, 0])[1]
        v_neg = self.encoder.swin.forward_features(frames[:, 1])[1]
        return self.head(a_mean, v_pos, v_neg)


def load_grounding_weights(model, ckpt_path):
    """Initialise the grounding cell of an AVQA model (or AVST head) from a grounding pre-training checkpoint.

    Parameters are matched by their name after `grounding.` (the official code copies fc_a1/fc_a2/fc_gl/fc1-fc4 from
    lavish_grounding_gen_best.pt the same way). Fails unless every grounding parameter is found with its shape.
    """
    source = {}
    for name, value in ms.load_checkpoint(ckpt_path).items():
        if "grounding." in name:
            source[name.split("grounding.", 1)[1]] = value
    targets = [p for p in model.get_parameters() if "grounding." in p.name]
    if not targets:
        raise ValueError("the model has no grounding parameters")
    missing, wrong = [], []
    for param in targets:
        key = param.name.split("grounding.", 1)[1]
        if key not in source:
            missing.append(key)
        elif tuple(source[key].shape) != tuple(param.shape):
            wrong.append(f"{key}: checkpoint {tuple(source[key].shape)} vs model {tuple(param.shape)}")
    if missing or wrong:
        raise ValueError(f"{ckpt_path}: cannot initialise the grounding head: missing {missing}, shape mismatch "
                         f"{wrong}")
    for param in targets:
        param.set_data(source[param.name.split("grounding.", 1)[1]])
    return len(targets)
