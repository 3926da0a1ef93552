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
"""LAION-CLAP audio encoder (Wu et al., ICASSP 2023) as the DG-SCT few/zero-shot network uses it.

The CLAP checkpoint ``630k-audioset-fusion-best.pt`` holds an HTS-AT "tiny" audio branch (embed 96, depths
2-2-6-2, heads 4-8-16-32, window 8, spectrogram image 256; the same layout as ``src.backbones.htsat.HTSAT``) plus
feature-fusion
sub-modules for long clips, which DG-SCT drops, an audio projection 768 -> 512 -> ReLU -> 512 and the audio
temperature ``logit_scale_a``. What CLAP adds to HTS-AT is only the pooling and the projection::

    _, tokens = clap.htsat.forward_features(wave)    # or the DG-SCT block walk over clap.htsat.stages
    embedding = clap.embed_tokens(tokens)            # audio_projection(mean over tokens of htsat.norm(tokens))

(HTS-AT averages its final LayerNorm-ed token map over frequency and time; the mean over all tokens is the same.)

Front-end configuration: LAION-CLAP trains at 48 kHz with hop 480 (``clap_48k``); the official DG-SCT few-shot
code builds the HTS-AT with its AudioSet configuration (32 kHz, hop 320) and loads the CLAP weights into it,
including the 48 kHz mel filter bank, which our front end also takes from the checkpoint (``frontend.melW``).
``HTSATConfig.audioset()`` therefore reproduces the official few-shot behaviour.
"""
import math

import numpy as np

import mindspore as ms
from mindspore import Parameter, nn

from .htsat import HTSAT, HTSATConfig

CLAP_JOINT_DIM = 512
INIT_LOGIT_SCALE = math.log(1.0 / 0.07)


def clap_48k(**overrides) -> HTSATConfig:
    """HTS-AT front end of LAION-CLAP's own training (HTSAT-tiny model config): 48 kHz, 10 s, hop 480."""
    params = dict(sample_rate=48000, clip_samples=480000, hop_size=480)
    params.update(overrides)
    return HTSATConfig.audioset(**params)


class CLAPAudioEncoder(nn.Cell):
    """HTS-AT + CLAP audio projection. construct(wave [B, clip_samples]) -> audio embedding [B, joint_dim]
    (not normalised; CLAP scores use the cosine with the text embeddings times ``logit_scale_a``)."""

    def __init__(self, htsat_cfg: HTSATConfig = None, joint_dim: int = CLAP_JOINT_DIM):
        super().__init__()
        self.htsat = HTSAT(htsat_cfg or HTSATConfig.audioset())
        width = self.htsat.num_features
        self.audio_projection = nn.SequentialCell([nn.Dense(width, joint_dim), nn.ReLU(),
                                                   nn.Dense(joint_dim, joint_dim)])
        # shape [1], not a scalar: MindSpore checkpoints store 0-d tensors as [1]
        self.logit_scale_a = Parameter(ms.Tensor(np.array([INIT_LOGIT_SCALE], np.float32)))

    def pool(self, tokens):
        """Final HTS-AT tokens [B, N, C] (before the final norm) -> [B, C]: mean of the LayerNorm-ed tokens."""
        return self.htsat.norm(tokens).mean(axis=1)

    def embed_tokens(self, tokens):
        return self.audio_projection(self.pool(tokens))

    def construct(self, wave):
        _, tokens = self.htsat.forward_features(wave)
        return self.embed_tokens(tokens)
