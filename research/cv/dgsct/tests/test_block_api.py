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
"""The backbones satisfy the block-level API that the DG-SCT encoder steps through (src/backbones/block_api.py)."""
from mindspore import nn

from src.backbones.block_api import SteppableBackbone, SteppableBlock, SteppableStage
from src.backbones.clip import CLIP, CLIPConfig
from src.backbones.htsat import HTSAT, HTSATConfig
from src.backbones.swin_v2 import SwinV2, SwinV2Config


def test_swin_and_htsat_are_steppable_backbones():
    for net in (SwinV2(SwinV2Config.tiny()), HTSAT(HTSATConfig.tiny())):
        assert isinstance(net, SteppableBackbone), type(net).__name__
        assert all(isinstance(stage, SteppableStage) for stage in net.stages)
        assert all(isinstance(blk, SteppableBlock) for stage in net.stages for blk in stage.blocks)
        assert net.stages[-1].downsample is None and all(s.downsample is not None for s in net.stages[:-1])


def test_clip_vision_blocks_are_steppable():
    blocks = CLIP(CLIPConfig.tiny()).visual.transformer.resblocks
    assert len(blocks) == 2 and all(isinstance(blk, SteppableBlock) for blk in blocks)


def test_a_plain_block_is_not_steppable():
    """The protocol check can fail: a block without the two residual steps does not pass it."""
    class PlainBlock(nn.Cell):
        def attn_residual(self, x):
            return x

        def construct(self, x):
            return x
    assert not isinstance(PlainBlock(), SteppableBlock)
    assert not isinstance(nn.Dense(2, 2), SteppableBackbone)
