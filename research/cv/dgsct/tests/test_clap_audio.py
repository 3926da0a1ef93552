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
"""CLAP audio side: LAION-CLAP checkpoint layout -> CLAPAudioEncoder (strict report), pooling + projection against a
PyTorch reference, presets. The checkpoint is generated here in the LAION-CLAP key layout (``module.`` prefix,
fusion sub-modules, text side, buffers)."""
import re

import numpy as np
import pytest

import mindspore as ms

from src.backbones.clap_audio import CLAPAudioEncoder, clap_48k
from src.backbones.htsat import HTSATConfig
from src.convert import clap_table
from src.convert.mapping import ConversionError, load_checked

# our parameter name -> LAION-CLAP name (the inverse of the table, written independently from the layout)
TORCH_NAME = [
    (r"^htsat\.frontend\.stft_real$", "audio_branch.spectrogram_extractor.stft.conv_real.weight"),
    (r"^htsat\.frontend\.stft_imag$", "audio_branch.spectrogram_extractor.stft.conv_imag.weight"),
    (r"^htsat\.frontend\.melW$", "audio_branch.logmel_extractor.melW"),
    (r"^htsat\.frontend\.bn0\.moving_mean$", "audio_branch.bn0.running_mean"),
    (r"^htsat\.frontend\.bn0\.moving_variance$", "audio_branch.bn0.running_var"),
    (r"^htsat\.frontend\.bn0\.", "audio_branch.bn0."),
    (r"^htsat\.stages\.", "audio_branch.layers."),
    (r"^htsat\.", "audio_branch."),
]


def laion_name(name):
    for pattern, replacement in TORCH_NAME:
        if re.search(pattern, name):
            name = re.sub(pattern, replacement, name)
            break
    return name.replace(".gamma", ".weight").replace(".beta", ".bias")


def laion_checkpoint(net, seed=0):
    """A LAION-CLAP-layout state dict for ``net``: every parameter under its torch name with random values, plus
    the keys DG-SCT drops or does not use (fusion, audio_transform, text side, buffers)."""
    rng = np.random.default_rng(seed)
    state = {}
    for name, p in net.parameters_and_names():
        shape = tuple(p.shape) if name != "logit_scale_a" else ()
        value = np.asarray(rng.standard_normal(shape) * 0.05, dtype=np.float32)
        if name.endswith("moving_variance"):
            value = np.abs(value) + 1.0
        state["module." + laion_name(name)] = value
    state["module.audio_branch.bn0.num_batches_tracked"] = np.array(7)
    for s, stage in enumerate(net.htsat.stages):
        for b, blk in enumerate(stage.blocks):
            tokens = blk.window[0] * blk.window[1]
            key = f"module.audio_branch.layers.{s}.blocks.{b}"
            state[f"{key}.attn.relative_position_index"] = np.zeros((tokens, tokens), np.int64)
            if blk.shifted:
                state[f"{key}.attn_mask"] = np.zeros((4, tokens, tokens), np.float32)
    embed = net.htsat.cfg.embed_dim
    state["module.audio_branch.patch_embed.mel_conv2d.weight"] = np.zeros((embed, 1, 4, 12), np.float32)
    state["module.audio_branch.patch_embed.mel_conv2d.bias"] = np.zeros(embed, np.float32)
    for part in ("local_att.1", "global_att.2"):
        for leaf in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
            state[f"module.audio_branch.patch_embed.fusion_model.{part}.{leaf}"] = np.zeros(4, np.float32)
    for leaf in ("sequential.0.weight", "sequential.0.bias", "sequential.3.weight", "sequential.3.bias"):
        state["module.audio_transform." + leaf] = np.zeros(2, np.float32)
        state["module.text_transform." + leaf] = np.zeros(2, np.float32)
    state["module.text_branch.embeddings.word_embeddings.weight"] = np.zeros((5, 4), np.float32)
    state["module.text_projection.0.weight"] = np.zeros((512, 768), np.float32)
    state["module.logit_scale_t"] = np.array(3.0, np.float32)
    return state


def exported(state):
    """What convert_weights.py export leaves after unwrapping: the DataParallel prefix stripped."""
    return {k[len("module."):]: v for k, v in state.items()}


@pytest.fixture(scope="module")
def tiny_clap():
    return CLAPAudioEncoder(HTSATConfig.tiny())


def test_laion_layout_converts_completely(tiny_clap, pynative):
    source = exported(laion_checkpoint(tiny_clap))
    result = clap_table.convert_clap_audio(source, tiny_clap)
    assert result.ok and len(result.params) == len(list(tiny_clap.get_parameters()))
    dropped = set(result.dropped)
    assert "audio_branch.patch_embed.mel_conv2d.weight" in dropped and "audio_transform.sequential.3.bias" in dropped
    assert "audio_branch.patch_embed.fusion_model.global_att.2.running_var" in dropped
    assert "audio_branch.bn0.num_batches_tracked" in dropped
    ignored = set(result.ignored)
    assert {"text_branch.embeddings.word_embeddings.weight", "text_projection.0.weight", "logit_scale_t"} <= ignored
    assert "audio_branch.layers.0.blocks.1.attn_mask" in ignored
    net = clap_table.build_target(source, "tiny")
    load_checked(net, result.params)
    np.testing.assert_array_equal(net.audio_projection[2].weight.asnumpy(), source["audio_projection.2.weight"])
    np.testing.assert_array_equal(net.htsat.stages[1].blocks[0].attn.qkv.weight.asnumpy(),
                                  source["audio_branch.layers.1.blocks.0.attn.qkv.weight"])
    np.testing.assert_array_equal(net.logit_scale_a.asnumpy(), [source["logit_scale_a"]])
    assert "source keys dropped by the table" in result.report()


def test_missing_or_unknown_keys_fail_naming_them(tiny_clap):
    source = exported(laion_checkpoint(tiny_clap))
    del source["audio_projection.0.bias"]
    source["audio_branch.extra.weight"] = np.zeros(3, np.float32)
    with pytest.raises(ConversionError) as err:
        clap_table.convert_clap_audio(source, tiny_clap)
    assert "audio_projection.0.bias" in str(err.value) and "audio_branch.extra.weight" in str(err.value)
    # without the text side on the ignore list, its keys are reported as unmapped
    source = exported(laion_checkpoint(tiny_clap))
    result = clap_table.convert_clap_audio(source, tiny_clap, ignore=(), strict=False)
    assert not result.ok and "text_branch.embeddings.word_embeddings.weight" in result.unmapped_source


def test_pooling_and_projection_match_torch(tiny_clap, pynative):
    torch = pytest.importorskip("torch")
    source = exported(laion_checkpoint(tiny_clap, seed=3))
    net = clap_table.build_target(source, "tiny")
    load_checked(net, clap_table.convert_clap_audio(source, net).params)
    net.set_train(False)
    tokens = np.random.default_rng(0).standard_normal((3, 16, 128)).astype(np.float32)
    ours = net.embed_tokens(ms.Tensor(tokens)).asnumpy()

    norm = torch.nn.LayerNorm(128)
    projection = torch.nn.Sequential(torch.nn.Linear(128, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512))
    with torch.no_grad():
        norm.weight.copy_(torch.from_numpy(source["audio_branch.norm.weight"]))
        norm.bias.copy_(torch.from_numpy(source["audio_branch.norm.bias"]))
        projection.load_state_dict({k[len("audio_projection."):]: torch.from_numpy(v) for k, v in source.items()
                                    if k.startswith("audio_projection.")})
        reference = projection(norm(torch.from_numpy(tokens)).mean(dim=1)).numpy()
    assert np.abs(ours - reference).max() < 1e-5
    assert np.abs(reference).max() > 1e-2


def test_forward_shapes_and_presets(tiny_clap, pynative):
    tiny_clap.set_train(False)
    wave = np.random.default_rng(1).standard_normal((1, tiny_clap.htsat.cfg.clip_samples)).astype(np.float32) * 0.1
    out = tiny_clap(ms.Tensor(wave)).asnumpy()
    assert out.shape == (1, 512) and np.isfinite(out).all()
    cfg = clap_48k()
    assert (cfg.sample_rate, cfg.clip_samples, cfg.hop_size, cfg.embed_dim, cfg.depths) == \
        (48000, 480000, 480, 96, (2, 2, 6, 2))
    with pytest.raises(ValueError, match="unknown CLAP preset"):
        clap_table.build_target({}, "htsat_base")
