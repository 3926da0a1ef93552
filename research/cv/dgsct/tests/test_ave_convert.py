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
"""Official AVE checkpoint key layout (MMIL_Net.state_dict()) -> our network through src/convert/dgsct_table.py."""
from pathlib import Path

import numpy as np
import pytest

from src.config import load_config
from src.convert.dgsct_table import convert_dgsct_ave
from src.convert.mapping import ConversionError
from src.dgsct.model import build_network

TINY = Path(__file__).resolve().parents[1] / "configs" / "tiny" / "ave.yaml"


def _official_name(name):
    """Our parameter name -> the official PyTorch key (written from the official module names, independent of the
    table)."""
    torch_leaf = {"gamma": "weight", "beta": "bias", "moving_mean": "running_mean", "moving_variance": "running_var"}
    parts = name.split(".")
    if parts[0] == "encoder":
        parts = parts[1:]
        if parts[0] in ("swin", "htsat"):
            parts[1] = {"stages": "layers"}.get(parts[1], parts[1])
            if parts[0] == "htsat" and parts[1] == "frontend":
                parts = {"stft_real": ["htsat", "spectrogram_extractor", "stft", "conv_real", "weight"],
                         "stft_imag": ["htsat", "spectrogram_extractor", "stft", "conv_imag", "weight"],
                         "melW": ["htsat", "logmel_extractor", "melW"]}.get(parts[2], ["htsat"] + parts[2:])
    else:
        parts = parts[1:]                                       # drop "head."
        if parts[0] == "temporal_attn":
            if parts[1] in ("audio_rnn", "visual_rnn"):
                parts = [parts[0], "audio_visual_rnn_layer"] + parts[1:]
            elif parts[1].endswith("_encoder") and parts[2] == "layers":
                parts = parts[:2] + ["encoder"] + parts[2:]
            elif parts[1].endswith("_decoder") and parts[2] == "layer":
                parts = parts[:2] + ["decoder", "layers", "0"] + parts[3:]
            elif parts[1].endswith("_gated"):
                parts = parts[:2] + ["0"] + parts[2:]
    is_norm = any(p.startswith(("norm", "ln_", "bn")) for p in parts[-2:-1]) or parts[-2] in ("norm",)
    if parts[-1] in torch_leaf and (is_norm or parts[-1] in ("moving_mean", "moving_variance")):
        parts[-1] = torch_leaf[parts[-1]]
    return ".".join(parts)


def test_official_key_layout_maps_completely():
    cfg = load_config(TINY)
    net, _ = build_network(cfg)
    rng = np.random.default_rng(0)
    ours = {name: rng.standard_normal(p.shape).astype(np.float32) for name, p in net.parameters_and_names()}
    source = {"module." + _official_name(n): v for n, v in ours.items()}
    # official-only entries the table must drop or treat as rebuilt buffers
    for k in range(len(net.encoder.vis_adapter_blocks_p1)):
        source[f"module.vis_adapter_blocks_p1.{k}.gate_tk"] = np.ones(1, np.float32)
    source["module.adapter_token_downsampler.0.weight"] = np.zeros((4, 2), np.float32)
    source["module.swin.head.weight"] = np.zeros((5, 32), np.float32)
    source["module.temporal_attn.video_encoder.encoder_layer.linear1.weight"] = np.zeros((2, 2), np.float32)
    source["module.temporal_attn.audio_decoder.decoder.layers.0.self_attn.in_proj_weight"] = np.zeros(3, np.float32)
    source["module.CMBS.AVInter.video_multihead.in_proj_weight"] = np.zeros(3, np.float32)
    source["module.CMBS.video_norm.weight"] = np.zeros(3, np.float32)
    source["module.htsat.bn0.num_batches_tracked"] = np.zeros((), np.int64)
    source["module.htsat.layers.0.blocks.0.attn.relative_position_index"] = np.zeros((16, 16), np.int64)
    result = convert_dgsct_ave(source, net)
    assert result.ok, result.report()
    for name, value in ours.items():
        np.testing.assert_array_equal(np.asarray(result.params[name]), value, err_msg=name)
    del source["module.head.CMBS.audio_cas.weight".replace("head.", "")]
    with pytest.raises(ConversionError, match="audio_cas"):
        convert_dgsct_ave(source, net)
