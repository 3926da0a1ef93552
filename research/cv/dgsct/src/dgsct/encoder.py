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
"""The audio-visual encoder (`MMIL_Net.forward` in the official `DG-SCT/AVE/nets/net_trans.py`): both frozen backbones
(each a `SteppableBackbone`, src/backbones/block_api.py) walked block pair by block pair with the prompt modules.

Pairing rule (derived from the depths, per stage s with Swin depth Ds and HTS-AT depth Hs):
  * Ds == Hs: Swin block i is paired with HTS-AT block i (stages 1, 2, 4 of the large layout);
  * Ds == q * Hs (q > 1): HTS-AT block k is paired with Swin block q*k + q - 1, the other Swin blocks run unmodified
    (stage 3 of the large layout: 18 = 3 * 6, blocks 2, 5, ..., 17);
  * anything else (Ds < Hs, or Ds not a multiple of Hs) is rejected: the original code has no rule for it.
For every pair k (both streams read the pair's inputs): p1 modules from the block inputs, Swin attention sub-block + A2V
p1 output, the WHOLE HTS-AT block + V2A p1 output, p2 modules from the updated streams, Swin MLP sub-block + A2V p2 output,
audio + V2A p2 output. After the last stage the Swin tokens get swin.norm (HTS-AT tokens stay un-normalised), and each
stream is pooled with the softmax spatial map of its own last p2 module (as `MMIL_Net.forward` does).
"""
from mindspore import nn, ops

from .prompt import CrossModalPrompt


def pair_schedule(swin_depths, htsat_depths):
    """Per Swin block, in order: (stage, swin block, htsat block or -1). Raises for depth pairs without a rule."""
    if len(swin_depths) != len(htsat_depths):
        raise ValueError(f"backbones have different stage counts: swin {swin_depths} vs htsat {htsat_depths}")
    schedule = []
    for stage, (d_swin, d_htsat) in enumerate(zip(swin_depths, htsat_depths)):
        if d_htsat < 1 or d_swin < d_htsat or d_swin % d_htsat:
            raise ValueError(f"stage {stage}: no pairing rule for {d_swin} Swin blocks and {d_htsat} HTS-AT blocks "
                             "(need equal depths or a Swin depth that is a multiple of the HTS-AT depth)")
        ratio = d_swin // d_htsat
        for block in range(d_swin):
            paired = block // ratio if block % ratio == ratio - 1 else -1
            schedule.append((stage, block, paired))
    return tuple(schedule)


class Backbones(nn.Cell):
    """The two frozen backbones without prompt modules (AVQA grounding pre-training), with the encoder's attribute
    names so that converted weights, freezing and set_train_mode work alike."""

    def __init__(self, swin, htsat, backbone_train_mode=True):
        super().__init__()
        self.swin = swin
        self.htsat = htsat
        self.backbone_train_mode = backbone_train_mode


class AudioVisualEncoder(nn.Cell):
    """Frozen Swin-V2 + HTS-AT with 4 cross-modal prompt modules per block pair.

    Inputs: images [B', 3, H, W], waves [B', L] (optional mixup_lambda for the HTS-AT front end).
    Outputs: v_seg [B', Cv_last], a_seg [B', Ca_last], and the tuple of Swin stage maps before merging (AVS uses them);
    `pooled` returns only (v_seg, a_seg), `audio_and_maps` only (a_seg, stage_maps).
    Modules: vis_adapter_blocks_p{1,2} (audio guides video), audio_adapter_blocks_p{1,2} (video guides audio).
    """

    def __init__(self, swin, htsat, prompt_cfg, backbone_train_mode=True):
        super().__init__()
        self.swin = swin
        self.htsat = htsat
        self.backbone_train_mode = backbone_train_mode
        self.schedule = pair_schedule(swin.depths, htsat.depths)
        vis_p1, vis_p2, audio_p1, audio_p2 = [], [], [], []
        for stage, _, paired in self.schedule:
            if paired < 0:
                continue
            v_dim, a_dim = swin.stage_dims[stage], htsat.stage_dims[stage]
            v_tok = swin.stage_resolutions[stage][0] * swin.stage_resolutions[stage][1]
            a_tok = htsat.stage_resolutions[stage][0] * htsat.stage_resolutions[stage][1]
            for lst in (vis_p1, vis_p2):      # A2V modules are always gated
                lst.append(CrossModalPrompt(v_dim, v_tok, a_dim, a_tok, prompt_cfg, use_gate=True))
            for lst in (audio_p1, audio_p2):
                lst.append(CrossModalPrompt(a_dim, a_tok, v_dim, v_tok, prompt_cfg, use_gate=prompt_cfg.audio_gate))
        for module in vis_p1 + audio_p1 + vis_p2[:-1] + audio_p2[:-1]:
            module.return_pool = False           # their pool maps are not used
        self.vis_adapter_blocks_p1 = nn.CellList(vis_p1)
        self.vis_adapter_blocks_p2 = nn.CellList(vis_p2)
        self.audio_adapter_blocks_p1 = nn.CellList(audio_p1)
        self.audio_adapter_blocks_p2 = nn.CellList(audio_p2)
        self.num_pairs = len(vis_p1)
        self.num_stages = len(swin.depths)

    def construct(self, images, waves, mixup_lambda=None):
        """-> (v_seg, a_seg, stage_maps)."""
        return self._run(images, waves, mixup_lambda, "all")

    def pooled(self, images, waves, mixup_lambda=None):
        """-> (v_seg, a_seg): what the AVE and AVVP heads use."""
        return self._run(images, waves, mixup_lambda, "pooled")

    def audio_and_maps(self, images, waves, mixup_lambda=None):
        """-> (a_seg, stage_maps): what the AVS and AVQA heads use."""
        return self._run(images, waves, mixup_lambda, "maps")

    def _run(self, images, waves, mixup_lambda, outputs):
        # Every output of a sub-cell call is used: MindSpore's graph compiler logs "Some side effect nodes were
        # eliminated by mistake" for an unused element of a tuple returned by a call with side effects (the
        # prompt modules' BatchNorm updates), hence the three entry points and the pool maps returned only by the
        # last pair's p2 modules (return_pool).
        v = self.swin.embed(images)
        a = self.htsat.embed(self.htsat.frontend(waves, mixup_lambda))
        pool_v = pool_a = None
        stage_maps = ()
        pair = 0
        for stage, block, paired in self.schedule:
            blk_v = self.swin.stages[stage].blocks[block]
            if paired < 0:
                v = blk_v(v)
            else:
                blk_a = self.htsat.stages[stage].blocks[paired]
                delta_a = self.audio_adapter_blocks_p1[pair](a, v)
                delta_v = self.vis_adapter_blocks_p1[pair](v, a)
                v = v + blk_v.attn_residual(v) + delta_v
                a = blk_a(a) + delta_a
                if pair == self.num_pairs - 1:
                    delta_a, pool_a = self.audio_adapter_blocks_p2[pair](a, v)
                    delta_v, pool_v = self.vis_adapter_blocks_p2[pair](v, a)
                else:
                    delta_a = self.audio_adapter_blocks_p2[pair](a, v)
                    delta_v = self.vis_adapter_blocks_p2[pair](v, a)
                v = v + blk_v.mlp_residual(v) + delta_v
                a = a + delta_a
                pair += 1
            if block == len(self.swin.stages[stage].blocks) - 1:     # end of the stage
                if outputs != "pooled":
                    stage_maps = stage_maps + (v,)
                if self.swin.stages[stage].downsample is not None:
                    v = self.swin.stages[stage].downsample(v)
                if self.htsat.stages[stage].downsample is not None:
                    a = self.htsat.stages[stage].downsample(a)
        v = self.swin.norm(v)
        a_seg = ops.matmul(pool_a, a).squeeze(1)
        if outputs == "maps":
            return a_seg, stage_maps[:-1] + (v,)      # the last stage map is the normed one (AVS uses swin.norm(.))
        v_seg = ops.matmul(pool_v, v).squeeze(1)
        if outputs == "pooled":
            return v_seg, a_seg
        return v_seg, a_seg, stage_maps[:-1] + (v,)


def set_train_mode(net, mode=True):
    """net.set_train(mode), then put the frozen backbones of `net` (an encoder, or a network with `.encoder`) back in
    eval mode when its encoder has backbone_train_mode=False. Cell.set_train sets the flag on every sub-cell directly
    (it never calls a sub-cell's set_train), so this cannot be an override on the encoder."""
    net.set_train(mode)
    encoder = getattr(net, "encoder", net)
    if mode and not getattr(encoder, "backbone_train_mode", True):
        # the few-shot network names its own frozen towers (CLIP image tower, CLAP HTS-AT)
        backbones = encoder.frozen_backbones() if hasattr(encoder, "frozen_backbones") else (encoder.swin,
                                                                                             encoder.htsat)
        for backbone in backbones:
            backbone.set_train(False)
    return net


def freeze_backbones(encoder, train_swin_norm=False, train_htsat=False):
    """Freeze every Swin and HTS-AT parameter; returns (trainable, total) of the encoder.
    train_swin_norm: the final swin.norm stays trainable (--is_vit_ln). train_htsat: all of HTS-AT stays trainable
    (the official AVS S4 script fine-tunes it)."""
    final_norm = {id(p) for p in encoder.swin.norm.get_parameters()}   # by identity: names change inside wrappers
    for param in encoder.swin.get_parameters():
        param.requires_grad = train_swin_norm and id(param) in final_norm
    for param in encoder.htsat.get_parameters():   # BatchNorm running statistics are never trainable
        param.requires_grad = train_htsat and not param.name.endswith(("moving_mean", "moving_variance"))
    return count_parameters(encoder)


def count_parameters(net):
    params = list(net.get_parameters())
    trainable = sum(p.size for p in params if p.requires_grad)
    return trainable, sum(p.size for p in params)


def check_optimizer_has_no_frozen(optimizer, net):
    """Fail if any frozen (requires_grad=False) parameter of `net` reached the optimizer."""
    frozen = {id(p) for p in net.get_parameters() if not p.requires_grad}
    leaked = [p.name for p in optimizer.parameters if id(p) in frozen]
    if leaked:
        raise RuntimeError(f"{len(leaked)} frozen parameters are in the optimizer, e.g. {leaked[:3]}")
