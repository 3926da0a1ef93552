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
"""The full DG-SCT network: frozen backbones + prompt modules (encoder) followed by a task head."""
from dataclasses import replace
from pathlib import Path

import mindspore as ms
from mindspore import nn

from ..backbones.htsat import HTSAT, HTSATConfig
from ..backbones.swin_v2 import SwinV2, SwinV2Config
from ..convert.mapping import load_checked
from .encoder import AudioVisualEncoder


def _preset(config_cls, name, overrides):
    if not hasattr(config_cls, name):
        raise ValueError(f"model: unknown preset {config_cls.__name__}.{name}()")
    cfg = getattr(config_cls, name)()
    fixed = {k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items()}
    return replace(cfg, **fixed)


def build_backbones(cfg):
    """(SwinV2, HTSAT) from the config's presets, with the converted backbone weights if given."""
    swin = SwinV2(_preset(SwinV2Config, cfg.model.swin_preset, cfg.model.swin_overrides))
    htsat = HTSAT(_preset(HTSATConfig, cfg.model.htsat_preset, cfg.model.htsat_overrides))
    if cfg.model.swin_ckpt:
        load_checked(swin, cfg.model.swin_ckpt)
    if cfg.model.htsat_ckpt:
        load_checked(htsat, cfg.model.htsat_ckpt)
    return swin, htsat


def build_encoder(cfg):
    """AudioVisualEncoder (backbones + cross-modal prompt modules) from the config."""
    return AudioVisualEncoder(*build_backbones(cfg), cfg.prompt, cfg.model.backbone_train_mode)


class DGSCTNet(nn.Cell):
    """frames [B, T, 3, H, W], waves [B, T, L] -> head(v_seg [B, T, Cv], a_seg [B, T, Ca]) (the AVE network)."""

    def __init__(self, encoder, head):
        super().__init__()
        self.encoder = encoder
        self.head = head

    def construct(self, frames, waves):
        batch, segments = frames.shape[0], frames.shape[1]
        images = frames.reshape((batch * segments,) + frames.shape[2:])
        v_seg, a_seg = self.encoder.pooled(images, waves.reshape(batch * segments, -1))
        return self.head(v_seg.reshape(batch, segments, -1), a_seg.reshape(batch, segments, -1))


def load_network_checkpoint(net, path):
    """Load a training checkpoint into `net` (optimizer entries ignored); fail on any missing/mis-shaped parameter."""
    from ..checkpoint import load_network_state
    if not Path(path).is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    params = ms.load_checkpoint(str(path))
    load_network_state(net, params, path)
    return params


def build_network(cfg):
    """Config -> (network, bound task). The task of the config (src/tasks) builds its network."""
    from ..tasks import bind_task
    task = bind_task(cfg)
    return task.build_network(), task
