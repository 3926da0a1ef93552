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
"""The README's weight-conversion commands, run as written on small files in each official layout:
official PyTorch file -> `convert_weights.py export` -> .npz -> `convert_weights.py map --kind K` -> .ckpt that loads.

Layouts: Microsoft's Swin-V2 release (`{"model": state}`), the HTS-AT Lightning checkpoint (`{"state_dict":
{"sed_model.*"}}`), the official DG-SCT AVE `best_82.18.pt` (DataParallel `module.*` state dict). Swin-V2 and
HTS-AT files have tiny widths and depths (read from the shapes by the tables); the DG-SCT line is the only one run
with a change: its `--config configs/ave.yaml` (full-size network) becomes `configs/tiny/ave.yaml`.
"""
import numpy as np
import pytest
import mindspore as ms

from readme_commands import model_workdir, readme_line, run_shell
from test_ave_convert import TINY, _official_name
from test_convert import timm_swinv2_state
from test_htsat import synthetic_checkpoint
from src.backbones.htsat import HTSAT, HTSATConfig
from src.config import load_config
from src.dgsct.model import build_network, load_network_checkpoint

torch = pytest.importorskip("torch")


def _tensors(state):
    return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()}


def _official_ave_state():
    net, _ = build_network(load_config(TINY))
    rng = np.random.default_rng(0)
    state = {"module." + _official_name(n): rng.standard_normal(p.shape).astype(np.float32)
             for n, p in net.parameters_and_names()}
    state["module.swin.head.weight"] = np.zeros((5, 32), np.float32)          # official-only entries, dropped
    state["module.CMBS.video_norm.weight"] = np.zeros(3, np.float32)
    return state


@pytest.fixture(scope="module")
def official_files(tmp_path_factory):
    """The three official files (small), and their arrays under the keys the export step writes."""
    work = model_workdir(tmp_path_factory.mktemp("readme_convert"))
    swin = timm_swinv2_state(embed=8, depths=(1, 1, 1, 1), heads=(1, 1, 1, 1), grid=48, window=12, num_classes=7)
    torch.save({"model": _tensors(swin)}, work / "swinv2_large_patch4_window12_192_22k.pth")
    htsat = synthetic_checkpoint(HTSAT(HTSATConfig.audioset(embed_dim=8, depths=(1, 1, 1, 1),
                                                            num_heads=(1, 1, 1, 1), num_classes=5)))
    torch.save({"state_dict": _tensors(htsat), "epoch": 3}, work / "HTSAT_AudioSet_Saved_1.ckpt")
    ave = _official_ave_state()
    torch.save(_tensors(ave), work / "best_82.18.pt")
    return work, {"swin": swin, "htsat": htsat, "ave": {k[len("module."):]: v for k, v in ave.items()}}


def _run(line, work):
    result = run_shell(line, work)
    assert result.returncode == 0, f"{line}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def test_readme_export_then_map_every_kind(official_files):
    work, arrays = official_files
    for src, out in (("swinv2_large_patch4_window12_192_22k.pth", "swinv2_l.npz"),
                     ("HTSAT_AudioSet_Saved_1.ckpt", "htsat.npz"), ("best_82.18.pt", "dgsct_ave.npz")):
        _run(readme_line("python convert_weights.py export", f"--src {src} --out {out}"), work)
        assert (work / out).is_file()

    swin_line = readme_line("python convert_weights.py map --kind swinv2")
    assert "wrote" in _run(swin_line, work)
    swin = ms.load_checkpoint(str(work / "swinv2_l_192.ckpt"))
    assert not any(k.startswith("head.") for k in swin)                       # --ignore 'head.*'
    np.testing.assert_array_equal(swin["stages.3.blocks.0.mlp.fc2.weight"].asnumpy(),
                                  arrays["swin"]["layers.3.blocks.0.mlp.fc2.weight"])

    _run(readme_line("python convert_weights.py map --kind htsat"), work)
    htsat = ms.load_checkpoint(str(work / "htsat_audioset.ckpt"))
    np.testing.assert_array_equal(htsat["stages.2.blocks.0.attn.qkv.weight"].asnumpy(),
                                  arrays["htsat"]["sed_model.layers.2.blocks.0.attn.qkv.weight"])

    ave_line = readme_line("python convert_weights.py map --kind dgsct_ave")
    assert "--config configs/ave.yaml" in ave_line
    _run(ave_line.replace("configs/ave.yaml", "configs/tiny/ave.yaml"), work)
    net, _ = build_network(load_config(TINY))
    load_network_checkpoint(net, work / "dgsct_ave.ckpt")                    # what eval.py --ckpt_file does
    params = dict(net.parameters_and_names())
    for name in ("head.CMBS.audio_cas.weight", "encoder.vis_adapter_blocks_p1.0.gate"):
        np.testing.assert_array_equal(params[name].asnumpy(), arrays["ave"][_official_name(name)])


def test_map_refuses_a_config_of_another_task(official_files, tmp_path):
    work, _ = official_files
    _run(readme_line("python convert_weights.py export", "--src best_82.18.pt"), work)
    result = run_shell("python convert_weights.py map --kind dgsct_ave --src dgsct_ave.npz --out x.ckpt "
                       "--config configs/tiny/avvp.yaml", work)
    assert result.returncode != 0 and "task is 'avvp'" in result.stderr
    assert not (work / "x.ckpt").exists()
