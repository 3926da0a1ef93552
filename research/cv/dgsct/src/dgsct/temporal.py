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
"""Task-level temporal attention (`TemporalAttention` in the official `DG-SCT/AVE/nets/net_trans.py`; it runs once
after the backbones, as the authors confirm in the official issue #7) and its reusable sequence-first building blocks.

All tensors are sequence-first [T, B, C] like the original CMRAN/CMBS layers. SeededMultiheadAttention (packed
in_proj, seq-first, the layout of nn.MultiheadAttention with a seeded attention dropout) and bidirectional nn.LSTM
(torch gate order i, f, g, o; two bias vectors) have the PyTorch parameter layout; tests/test_temporal.py checks both
against torch when it is installed.
"""
import copy
from dataclasses import dataclass

from mindspore import nn, ops

from ..backbones.layers import Dropout, layer_norm
from .attention import SeededMultiheadAttention
from .torch_init import torch_default_init


class _PostNormLayer(nn.Cell):
    """Shared part of the encoder/decoder layers: attention residual + LN1, FFN residual + LN2 (torch names)."""

    def __init__(self, d_model, dim_ff, dropout):
        super().__init__()
        self.linear1 = nn.Dense(d_model, dim_ff)
        self.linear2 = nn.Dense(dim_ff, d_model)
        # sequence-first [L, B, C]: the samples are on axis 1
        self.dropout = Dropout(p=dropout, batch_axis=1)
        self.dropout1 = Dropout(p=dropout, batch_axis=1)
        self.dropout2 = Dropout(p=dropout, batch_axis=1)
        self.norm1 = layer_norm(d_model)
        self.norm2 = layer_norm(d_model)
        self.relu = nn.ReLU()

    def residual_ffn(self, x, attended):
        x = self.norm1(x + self.dropout1(attended))
        return self.norm2(x + self.dropout2(self.linear2(self.dropout(self.relu(self.linear1(x))))))


class EncoderLayer(_PostNormLayer):
    """Post-norm self-attention layer: x <- LN1(x + Drop(MHA(x, x, x))); x <- LN2(x + Drop(W2 Drop(ReLU(W1 x))))."""

    def __init__(self, d_model, nhead=4, dim_ff=1024, dropout=0.1):
        super().__init__(d_model, dim_ff, dropout)
        self.self_attn = SeededMultiheadAttention(d_model, nhead, dropout=dropout)
        torch_default_init(self)

    def construct(self, x):
        return self.residual_ffn(x, self.self_attn(x, x, x))


class DecoderLayer(_PostNormLayer):
    """Cross-attention over concat([memory, x]) along time, then the FFN (the original's unused self_attn is omitted)."""

    def __init__(self, d_model, nhead=4, dim_ff=1024, dropout=0.1):
        super().__init__(d_model, dim_ff, dropout)
        self.multihead_attn = SeededMultiheadAttention(d_model, nhead, dropout=dropout)
        torch_default_init(self)

    def construct(self, x, memory):
        memory = ops.concat((memory, x), axis=0)
        return self.residual_ffn(x, self.multihead_attn(x, memory, memory))


class InternalTemporalRelationModule(nn.Cell):
    """ITRM: Linear(in -> d), then `num_layers` encoder layers that start as identical copies (deep-copied template)."""

    def __init__(self, input_dim, d_model, num_layers=2, nhead=4, dim_ff=1024, dropout=0.1):
        super().__init__()
        self.affine_matrix = nn.Dense(input_dim, d_model)
        template = EncoderLayer(d_model, nhead, dim_ff, dropout)
        self.layers = nn.CellList([copy.deepcopy(template) for _ in range(num_layers)])
        torch_default_init(self.affine_matrix)

    def construct(self, x):
        x = self.affine_matrix(x)
        for layer in self.layers:
            x = layer(x)
        return x


class CrossModalRelationAttModule(nn.Cell):
    """CMRA: Linear(in -> d) on the query, then one decoder layer attending [memory; query]."""

    def __init__(self, input_dim, d_model, nhead=4, dim_ff=1024, dropout=0.1):
        super().__init__()
        self.affine_matrix = nn.Dense(input_dim, d_model)
        self.layer = DecoderLayer(d_model, nhead, dim_ff, dropout)
        torch_default_init(self)

    def construct(self, query, memory):
        return self.layer(self.affine_matrix(query), memory)


@dataclass
class TemporalConfig:
    """Sizes of the AVE `TemporalAttention` (official DG-SCT/AVE/nets/net_trans.py)."""
    audio_proj: int = 128       # a_fc: audio feature -> 128 (no activation)
    video_proj: int = 512       # v_fc: visual feature -> 512, ReLU, Dropout(video_dropout)
    video_dropout: float = 0.2
    d_model: int = 256
    nhead: int = 4
    dim_ff: int = 1024
    dropout: float = 0.1
    encoder_layers: int = 2
    gate_scale: float = 0.1     # V = Vq * (1 + gate_scale * ga)


class TemporalAttention(nn.Cell):
    """Gated BiLSTM + ITRM/CMRA block run once on the pooled segment features (AVE version).

    Inputs: v_seg [B, T, Cv], a_seg [B, T, Ca].
    Outputs (sequence-first): video [T, B, d], audio [T, B, d], gate = ga * gv [T, B, 1] (a probability).
    """

    def __init__(self, video_dim, audio_dim, cfg=None):
        super().__init__()
        cfg = cfg or TemporalConfig()
        d = cfg.d_model
        self.gate_scale = cfg.gate_scale
        self.a_fc = nn.Dense(audio_dim, cfg.audio_proj)
        self.v_fc = nn.Dense(video_dim, cfg.video_proj)
        self.v_dropout = Dropout(p=cfg.video_dropout)                 # on [B, T, C]
        self.relu = nn.ReLU()
        # BiLSTMs as the original RNN encoder: audio hidden d/2, video hidden d per direction
        self.audio_rnn = nn.LSTM(cfg.audio_proj, d // 2, batch_first=True, bidirectional=True)
        self.visual_rnn = nn.LSTM(cfg.video_proj, d, batch_first=True, bidirectional=True)
        kw = dict(nhead=cfg.nhead, dim_ff=cfg.dim_ff, dropout=cfg.dropout)
        self.video_encoder = InternalTemporalRelationModule(2 * d, d, cfg.encoder_layers, **kw)
        self.audio_encoder = InternalTemporalRelationModule(d, d, cfg.encoder_layers, **kw)
        self.audio_decoder = CrossModalRelationAttModule(d, d, **kw)
        self.video_decoder = CrossModalRelationAttModule(2 * d, d, **kw)
        self.audio_gated = nn.Dense(d, 1)
        self.video_gated = nn.Dense(d, 1)
        torch_default_init(self.a_fc)
        torch_default_init(self.v_fc)
        torch_default_init(self.audio_gated)
        torch_default_init(self.video_gated)

    def construct(self, v_seg, a_seg):
        audio = self.a_fc(a_seg)
        video = self.v_dropout(self.relu(self.v_fc(v_seg)))
        audio = self.audio_rnn(audio)[0].transpose(1, 0, 2)        # [T, B, d]
        video = self.visual_rnn(video)[0].transpose(1, 0, 2)       # [T, B, 2d]
        video_key = self.video_encoder(video)
        audio_query = self.audio_decoder(audio, video_key)
        audio_key = self.audio_encoder(audio)
        video_query = self.video_decoder(video, audio_key)
        gate_a = ops.sigmoid(self.audio_gated(audio_key))
        gate_v = ops.sigmoid(self.video_gated(video_key))
        video_out = video_query * (1 + self.gate_scale * gate_a)
        audio_out = audio_query * (1 + self.gate_scale * gate_v)
        return video_out, audio_out, gate_a * gate_v
