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
"""`convert_weights.py map --kind clip / clap / clap_text` from the command line on small .npz files in the OpenAI CLIP
and LAION-CLAP layouts (one CLAP file holds both sides; each kind converts its side and lists the other as
ignored); the written .ckpt loads completely into the network the few-shot task builds."""
import subprocess
import sys

import numpy as np
import mindspore as ms

from src.backbones.clap_audio import CLAPAudioEncoder
from src.backbones.clip import CLIP, CLIPConfig
from src.backbones.htsat import HTSATConfig
from src.backbones.roberta import CLAPTextEncoder, RobertaConfig
from src.convert.mapping import load_checked, save_npz_atomic
from readme_commands import MODEL_DIR
from test_clap_audio import exported, laion_checkpoint
from test_clap_text import hf_text_state
from test_clip import openai_state_dict


def _map(kind, src, out, config):
    cmd = [sys.executable, "convert_weights.py", "map", "--kind", kind, "--src", str(src), "--out", str(out),
           "--config", config]
    return subprocess.run(cmd, cwd=MODEL_DIR, capture_output=True, text=True, timeout=600)


def _clap_file(tmp_path):
    """Both halves of a LAION-CLAP checkpoint after `convert_weights.py export` (tiny widths)."""
    audio = exported(laion_checkpoint(CLAPAudioEncoder(HTSATConfig.tiny()), seed=3))
    audio = {k: v for k, v in audio.items() if not k.startswith(("text_", "logit_scale_t"))}
    text = {k: v for k, v in hf_text_state(RobertaConfig.tiny(), seed=4).items()
            if k.startswith(("text_", "logit_scale_t"))}
    path = tmp_path / "clap.npz"
    save_npz_atomic({**audio, **text}, str(path))
    return path, audio, text


def test_map_kind_clip(tmp_path):
    state = openai_state_dict(CLIPConfig.tiny(), seed=5)
    save_npz_atomic(state, str(tmp_path / "clip.npz"))
    result = _map("clip", tmp_path / "clip.npz", tmp_path / "clip.ckpt", "tiny")
    assert result.returncode == 0, result.stderr[-3000:]
    net = CLIP(CLIPConfig.tiny())
    assert len(load_checked(net, str(tmp_path / "clip.ckpt"))) == len(list(net.get_parameters()))
    np.testing.assert_array_equal(net.visual.proj.asnumpy(), state["visual.proj"])


def test_map_kinds_clap_and_clap_text_split_one_checkpoint(tmp_path):
    path, audio, text = _clap_file(tmp_path)
    result = _map("clap", path, tmp_path / "clap_audio.ckpt", "tiny")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "text_branch.pooler.dense.weight" in result.stdout            # listed as ignored, not converted
    net = CLAPAudioEncoder(HTSATConfig.tiny())
    assert len(load_checked(net, str(tmp_path / "clap_audio.ckpt"))) == len(list(net.get_parameters()))
    np.testing.assert_array_equal(net.audio_projection[2].weight.asnumpy(), audio["audio_projection.2.weight"])

    result = _map("clap_text", path, tmp_path / "clap_text.ckpt", "tiny")
    assert result.returncode == 0, result.stderr[-3000:]
    text_net = CLAPTextEncoder(RobertaConfig.tiny())
    assert len(load_checked(text_net, str(tmp_path / "clap_text.ckpt"))) == len(list(text_net.get_parameters()))
    np.testing.assert_array_equal(text_net.text_projection[0].weight.asnumpy(), text["text_projection.0.weight"])
    assert not any(k.startswith("htsat.") for k in ms.load_checkpoint(str(tmp_path / "clap_text.ckpt")))


def test_map_kind_clap_fails_on_a_missing_key_and_writes_nothing(tmp_path):
    path, audio, text = _clap_file(tmp_path)
    del audio["audio_projection.0.bias"]
    save_npz_atomic({**audio, **text}, str(path))
    result = _map("clap", path, tmp_path / "clap_audio.ckpt", "tiny")
    assert result.returncode != 0 and "audio_projection.0.bias" in result.stdout + result.stderr
    assert not (tmp_path / "clap_audio.ckpt").exists()
