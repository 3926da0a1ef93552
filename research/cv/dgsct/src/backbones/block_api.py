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
"""The block-level API that the DG-SCT encoder steps through (src/dgsct/encoder.py).

DG-SCT inserts its prompt modules between the two residual branches of every backbone block and between stages
(`MMIL_Net.forward` of the official `DG-SCT/AVE/nets/net_trans.py` calls timm's `_attn`, `norm1`, `drop_path1`, `mlp`,
... one by one). Instead of reaching into private attributes, the two backbones (Swin-V2, HTS-AT) expose the steps below, and
their plain forward is exactly this composition (the CLIP ViT of the few-shot pipeline has one stage of
`SteppableBlock`s, `clip.visual.transformer.resblocks`)::

    x = backbone.embed(inputs)
    for stage in backbone.stages:
        for blk in stage.blocks:
            x = x + blk.attn_residual(x)
            x = x + blk.mlp_residual(x)
        if stage.downsample is not None:
            x = stage.downsample(x)
    x = backbone.norm(x)

These Protocols state that contract for readers and type checkers; `isinstance` works on them (runtime_checkable)
and tests/test_block_api.py checks every backbone against them.
"""
from typing import Any, Optional, Protocol, Sequence, runtime_checkable


@runtime_checkable
class SteppableBlock(Protocol):
    """One transformer block whose forward is x + attn_residual(x), then x + mlp_residual(x)."""

    def attn_residual(self, x) -> Any:
        """The attention branch to add to x ([B, N, C] -> [B, N, C]), drop path included."""

    def mlp_residual(self, x) -> Any:
        """The MLP branch to add to x ([B, N, C] -> [B, N, C]), drop path included."""


@runtime_checkable
class SteppableStage(Protocol):
    """A stage: its blocks in order, then an optional patch merging (None on the last stage)."""

    blocks: Sequence[SteppableBlock]
    downsample: Optional[Any]


@runtime_checkable
class SteppableBackbone(Protocol):
    """A backbone walked step by step: embed, the stages' blocks and merges, the final norm."""

    stages: Sequence[SteppableStage]

    def embed(self, x) -> Any:
        """Raw input -> the token map the first stage reads."""

    def norm(self, x) -> Any:
        """The final LayerNorm (applied after the last stage)."""
