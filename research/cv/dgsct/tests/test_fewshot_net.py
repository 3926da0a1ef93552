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
"""The DG-SCT few-shot network (CLIP ViT + CLAP HTS-AT paired block by block with the temporal-gate prompts): wiring,
freezing, and whole-network logits against a PyTorch reference written from the description of the official
`few-shot/nets/net_trans.py` (random weights, tiny widths, every gate non-zero)."""

import numpy as np
import pytest
import mindspore as ms

from src.backbones.clap_audio import CLAPAudioEncoder
from src.backbones.clip import CLIP, CLIPConfig
from src.backbones.htsat import HTSATConfig
from src.dgsct.fewshot import FewShotNet, freeze_fewshot, pair_blocks
from src.dgsct.prompt import PromptConfig
from conftest import params_numpy, torch_or_skip

CLASSES = ["dog", "church_bell", "cat", "background"]
BATCH, SEGMENTS = 2, 10
# 3 ViT blocks <-> HTS-AT depths (2, 1): a shifted HTS-AT block and a patch merging between the pairs
HTSAT = dict(depths=(2, 1), num_heads=(1, 2), spec_size=64, mel_bins=16, hop_size=128)
PROMPT = PromptConfig(reduction=4, groups=2, num_tokens=2, alpha=0.2, beta=0.05, temporal_gate=True, gamma=0.3)


def build_net(tokenizer, seed=0):
    rng = np.random.default_rng(seed)
    clip = CLIP(CLIPConfig.tiny(vision_layers=3))
    clap = CLAPAudioEncoder(HTSATConfig.tiny(**HTSAT), joint_dim=24)
    class_text = rng.standard_normal((len(CLASSES), 24)).astype(np.float32)
    return FewShotNet(clip, clap, PROMPT, tokenizer, CLASSES, class_text, segments=SEGMENTS)


def randomize(net, seed=1):
    """Non-zero gates, non-trivial norms / BatchNorm statistics / CLAP scale, so that no branch can hide."""
    rng = np.random.default_rng(seed)
    for name, param in net.parameters_and_names():
        value = param.asnumpy()
        if name.endswith(("gate", "gate_av")):
            value = rng.uniform(0.3, 0.8, value.shape)
        elif name.endswith("moving_variance"):
            value = rng.uniform(0.5, 2.0, value.shape)
        elif name.endswith("moving_mean"):
            value = rng.normal(0, 0.3, value.shape)
        elif name.endswith(("gamma", "beta")) and "htsat.frontend" not in name:
            value = value + rng.normal(0, 0.1, value.shape)
        elif name.endswith("logit_scale_a"):
            value = np.array([3.2])
        else:
            continue
        param.set_data(ms.Tensor(value.astype(np.float32)))


def test_pairing_needs_equal_block_counts():
    assert pair_blocks(3, (2, 1)) == ((0, 0), (0, 1), (1, 0))
    assert len(pair_blocks(12, (2, 2, 6, 2))) == 12
    with pytest.raises(ValueError, match="one-to-one"):
        pair_blocks(12, (2, 2, 18, 2))


def test_freezing_follows_the_official_scripts(tiny_tokenizer, pynative):
    net = build_net(tiny_tokenizer)
    trainable, total = freeze_fewshot(net)
    names = [p.name for p in net.trainable_params()]
    assert sum(p.size for p in net.trainable_params()) == trainable < total
    assert all(n.startswith(("vis_adapter_blocks", "audio_adapter_blocks", "clip_adapter", "prompt_learner.ctx",
                             "prompt_learner.meta_net", "audio_visual_contrastive_learner")) for n in names), names
    assert "prompt_learner.ctx" in names and any("temporal_gated" in n for n in names)
    assert not any(n.endswith(("moving_mean", "moving_variance")) for n in names)
    # 4 modules per pair, 3 pairs
    assert len([n for n in names if n.endswith(".gate_av")]) == 12


def test_backbone_eval_mode_option(tiny_tokenizer, pynative):
    """model.backbone_train_mode=false: training mode for the prompts and heads, eval mode for the frozen towers."""
    from src.dgsct.encoder import set_train_mode
    net = build_net(tiny_tokenizer)
    set_train_mode(net, True)
    assert net.clap_audio.htsat.frontend.training                     # official: frozen towers in train mode
    net.backbone_train_mode = False
    set_train_mode(net, True)
    assert not net.visual.training and not net.clap_audio.htsat.training and not net.clap_audio.htsat.frontend.training
    assert net.vis_adapter_blocks_p1[0].training and net.prompt_learner.training


def test_gates_at_zero_leave_the_backbone_embeddings_unchanged(tiny_tokenizer, pynative):
    """Every prompt module is gated and starts at 0: the walk equals the plain CLIP / CLAP forward at init."""
    net = build_net(tiny_tokenizer).set_train(False)
    rng = np.random.default_rng(0)
    images = ms.Tensor(rng.standard_normal((4, 3, 32, 32)).astype(np.float32))
    waves = ms.Tensor((rng.standard_normal((4, 16000)) * 0.1).astype(np.float32))
    image, audio = net.encode(images, waves)
    np.testing.assert_allclose(image.asnumpy(), net.visual(images).asnumpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(audio.asnumpy(), net.clap_audio(waves).asnumpy(), rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------------------------------- torch reference
def _sub(params, prefix):
    return {k[len(prefix):]: v for k, v in params.items() if k.startswith(prefix)}


def torch_reference(torch, p, frames, spec_image, class_ids, eot, n_ctx, contrastive_scale):
    """The few-shot forward written from the description (official `MMIL_Net.lavish_forward`, `clip_matching`,
    `clap_matching`, `AudioVisualContrastive`). The audio front end (tested against torchlibrosa on its own) is
    taken as its output image; the HTS-AT blocks and merging are timm's Swin-V1 modules."""
    from timm.models.swin_transformer import PatchMerging, SwinTransformerBlock
    from torch_prompt_reference import functional_prompt
    F = torch.nn.functional
    t = {k: torch.tensor(v) for k, v in p.items()}

    def ln(x, prefix):
        return F.layer_norm(x, (x.shape[-1],), t[prefix + ".gamma"], t[prefix + ".beta"], 1e-5)

    def attention(x, prefix, heads, mask=None):
        b, n, c = x.shape
        qkv = F.linear(x, t[prefix + ".in_proj.weight"], t[prefix + ".in_proj.bias"])
        q, k, v = qkv.reshape(b, n, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
        logits = (q * (c // heads) ** -0.5) @ k.transpose(-1, -2)
        if mask is not None:
            logits = logits + mask
        out = (logits.softmax(-1) @ v).transpose(1, 2).reshape(b, n, c)
        return F.linear(out, t[prefix + ".out_proj.weight"], t[prefix + ".out_proj.bias"])

    def mlp(x, prefix):
        h = F.linear(x, t[prefix + ".c_fc.weight"], t[prefix + ".c_fc.bias"])
        return F.linear(h * torch.sigmoid(1.702 * h), t[prefix + ".c_proj.weight"], t[prefix + ".c_proj.bias"])

    def swin_block(prefix, dim, resolution, heads, shift):
        blk = SwinTransformerBlock(dim, resolution, num_heads=heads, window_size=4, shift_size=shift).eval()
        state = {k.replace(".gamma", ".weight").replace(".beta", ".bias"): torch.tensor(v)
                 for k, v in _sub(p, prefix).items()}
        missing, unexpected = blk.load_state_dict(state, strict=False)
        assert not unexpected and all("relative_position_index" in m or "attn_mask" in m for m in missing), missing
        return blk

    # image tower embedding
    images = torch.tensor(frames.reshape((-1,) + frames.shape[2:]))
    x = F.conv2d(images, t["visual.conv1.weight"], stride=8).flatten(2).transpose(1, 2)
    cls = t["visual.class_embedding"].expand(x.shape[0], 1, -1)
    v = ln(torch.cat([cls, x], 1) + t["visual.positional_embedding"], "visual.ln_pre")
    # audio tokens: patch embed of the front-end image
    a = F.conv2d(torch.tensor(spec_image), t["clap_audio.htsat.patch_embed.proj.weight"],
                 t["clap_audio.htsat.patch_embed.proj.bias"], stride=4).flatten(2).transpose(1, 2)
    a = ln(a, "clap_audio.htsat.patch_embed.norm")
    layout = [(0, 0, 16, (16, 16), 1, 0), (0, 1, 16, (16, 16), 1, 2), (1, 0, 32, (8, 8), 2, 0)]
    for pair, (stage, block, dim, res, heads, shift) in enumerate(layout):
        a = swin_block(f"clap_audio.htsat.stages.{stage}.blocks.{block}.", dim, res, heads, shift)(a)
        vp = f"visual.transformer.resblocks.{pair}"
        v = v + attention(ln(v, vp + ".ln_1"), vp + ".attn", 2)
        d_a, _ = functional_prompt(_sub(p, f"audio_adapter_blocks_p1.{pair}."), a, v, PROMPT, True, False)
        d_v, _ = functional_prompt(_sub(p, f"vis_adapter_blocks_p1.{pair}."), v, a, PROMPT, True, False)
        v, a = v + d_v, a + d_a
        v_mlp = v + mlp(ln(v, vp + ".ln_2"), vp + ".mlp")
        d_a, _ = functional_prompt(_sub(p, f"audio_adapter_blocks_p2.{pair}."), a, v, PROMPT, True, False)
        d_v, _ = functional_prompt(_sub(p, f"vis_adapter_blocks_p2.{pair}."), v, a, PROMPT, True, False)
        v, a = v_mlp + d_v, a + d_a
        if stage == 0 and block == 1:
            merge = PatchMerging((16, 16), 16).eval()
            merge.load_state_dict({"norm.weight": t["clap_audio.htsat.stages.0.downsample.norm.gamma"],
                                   "norm.bias": t["clap_audio.htsat.stages.0.downsample.norm.beta"],
                                   "reduction.weight": t["clap_audio.htsat.stages.0.downsample.reduction.weight"]})
            a = merge(a)
    image = ln(v[:, 0], "visual.ln_post") @ t["visual.proj"]
    pooled = ln(a, "clap_audio.htsat.norm").mean(1)
    audio = F.linear(F.relu(F.linear(pooled, t["clap_audio.audio_projection.0.weight"],
                                     t["clap_audio.audio_projection.0.bias"])),
                     t["clap_audio.audio_projection.2.weight"], t["clap_audio.audio_projection.2.bias"])

    # CLIP matching: learned context between the start token and the class-name tokens
    emb = t["prompt_learner.text.token_embedding.embedding_table"][torch.tensor(class_ids).long()]
    ctx = t["prompt_learner.ctx"].expand(len(class_ids), -1, -1)
    prompts = torch.cat([emb[:, :1], ctx, emb[:, 1 + n_ctx:]], 1) + t["prompt_learner.text.positional_embedding"]
    causal = torch.triu(torch.full((prompts.shape[1],) * 2, float("-inf")), 1)
    for i in range(2):
        tp = f"prompt_learner.text.transformer.resblocks.{i}"
        prompts = prompts + attention(ln(prompts, tp + ".ln_1"), tp + ".attn", 2, causal)
        prompts = prompts + mlp(ln(prompts, tp + ".ln_2"), tp + ".mlp")
    text = ln(prompts, "prompt_learner.text.ln_final")[torch.arange(len(class_ids)), torch.tensor(eot).long()]
    text = text @ t["prompt_learner.text.text_projection"]

    def adapter(x, prefix):
        h = F.relu(F.linear(F.relu(F.linear(x, t[prefix + ".fc.0.weight"])), t[prefix + ".fc.2.weight"]))
        return 0.2 * h + 0.8 * x
    norm = lambda x: x / x.norm(dim=-1, keepdim=True)  # noqa: E731
    logits_v = t["logit_scale"].exp() * norm(adapter(image, "clip_adapter")) @ norm(adapter(text, "clip_adapter_text")).T
    logits_a = t["clap_audio.logit_scale_a"] * norm(audio) @ norm(t["class_text"]).T
    scores = (2 * logits_v + 2 * logits_a).reshape(BATCH, SEGMENTS, -1)
    # contrastive: fc_a1 on the audio embeddings, per-video means, exp(CLIP scale) taken at construction
    fa = F.linear(audio, t["audio_visual_contrastive_learner.fc_a1.weight"],
                  t["audio_visual_contrastive_learner.fc_a1.bias"])
    video_mean = norm(image.reshape(BATCH, SEGMENTS, -1).mean(1))
    audio_mean = norm(fa.reshape(BATCH, SEGMENTS, -1).mean(1))
    return scores, contrastive_scale * audio_mean @ video_mean.T, contrastive_scale * video_mean @ audio_mean.T


def test_whole_network_matches_torch_reference(tiny_tokenizer, pynative):
    torch = torch_or_skip()
    pytest.importorskip("timm")
    net = build_net(tiny_tokenizer)
    randomize(net)
    net.set_train(False)
    rng = np.random.default_rng(3)
    frames = rng.standard_normal((BATCH, SEGMENTS, 3, 32, 32)).astype(np.float32)
    waves = (rng.standard_normal((BATCH, SEGMENTS, 16000)) * 0.1).astype(np.float32)
    scores, audio_image, image_audio = net(ms.Tensor(frames), ms.Tensor(waves))
    spec = net.clap_audio.htsat.frontend(ms.Tensor(waves.reshape(BATCH * SEGMENTS, -1))).asnumpy()
    params = dict(params_numpy(net), class_text=net.clap_class_text.asnumpy())
    learner = net.prompt_learner
    with torch.no_grad():
        ref = torch_reference(torch, params, frames, spec, learner.prompt_ids.asnumpy(), learner.eot_index.asnumpy(),
                              learner.n_ctx, net.audio_visual_contrastive_learner.scale)
    assert scores.shape == (BATCH, SEGMENTS, len(CLASSES))
    # the prompts really act: a gate of 0.3-0.8 on every module moves the scores far beyond the tolerance
    for ours, theirs in zip((scores, audio_image, image_audio), ref):
        np.testing.assert_allclose(ours.asnumpy(), theirs.numpy(), rtol=1e-4, atol=1e-4)
    assert np.abs(scores.asnumpy()).max() > 1.0


def test_checkpoint_is_independent_of_the_class_list(tiny_tokenizer, tmp_path, pynative):
    """Zero-shot: weights trained on one class set load into the network of another class set (strictly) and score
    its classes; the class-specific parts (prompt token ids, CLAP class texts) are rebuilt from the names."""
    from src.dgsct.model import load_network_checkpoint
    net = build_net(tiny_tokenizer)
    randomize(net)
    ms.save_checkpoint(net, str(tmp_path / "pretrained.ckpt"))
    other = ["bell", "cat", "background"]
    target = FewShotNet(CLIP(CLIPConfig.tiny(vision_layers=3)), CLAPAudioEncoder(HTSATConfig.tiny(**HTSAT), joint_dim=24),
                        PROMPT, tiny_tokenizer, other, np.ones((3, 24), np.float32), segments=SEGMENTS)
    load_network_checkpoint(target, tmp_path / "pretrained.ckpt")
    np.testing.assert_array_equal(target.prompt_learner.ctx.asnumpy(), net.prompt_learner.ctx.asnumpy())
    target.set_train(False)
    rng = np.random.default_rng(0)
    frames = ms.Tensor(rng.standard_normal((2, SEGMENTS, 3, 32, 32)).astype(np.float32))
    waves = ms.Tensor((rng.standard_normal((2, SEGMENTS, 16000)) * 0.1).astype(np.float32))
    assert target(frames, waves)[0].shape == (2, SEGMENTS, 3)
