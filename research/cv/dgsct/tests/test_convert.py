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
"""Weight-conversion engine and the timm Swin-V2 table, without torch: complete mappings succeed (tiny and the
large layout), wrong-shape / partial / unknown-key checkpoints fail naming the key, load_checked is strict."""
import os

import numpy as np
import pytest

import mindspore as ms

import convert_weights
from src.backbones.swin_v2 import SwinV2, SwinV2Config
from src.convert import swin_v2_table
from src.convert.mapping import (ConversionError, LoadError, Rule, concat, convert, load_checked, load_npz,
                                 prefixed, save_checkpoint_atomic, save_npz_atomic, split, transpose)


def timm_swinv2_state(embed=24, depths=(2, 2, 2, 2), heads=(1, 2, 4, 8), grid=16, window=4, num_classes=0,
                      official_buffers=False, seed=0):
    """A timm 0.6 Swin-V2 state dict layout written from timm 0.6's key list, random values."""
    rng = np.random.default_rng(seed)

    def arr(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    state = {"patch_embed.proj.weight": arr(embed, 3, 4, 4), "patch_embed.proj.bias": arr(embed),
             "patch_embed.norm.weight": arr(embed), "patch_embed.norm.bias": arr(embed)}
    for s, (depth, h) in enumerate(zip(depths, heads)):
        d, res = embed * 2 ** s, grid // 2 ** s
        win = min(res, window)
        for b in range(depth):
            k = f"layers.{s}.blocks.{b}."
            state.update({
                k + "attn.logit_scale": arr(h, 1, 1), k + "attn.q_bias": arr(d), k + "attn.v_bias": arr(d),
                k + "attn.cpb_mlp.0.weight": arr(512, 2), k + "attn.cpb_mlp.0.bias": arr(512),
                k + "attn.cpb_mlp.2.weight": arr(h, 512), k + "attn.qkv.weight": arr(3 * d, d),
                k + "attn.proj.weight": arr(d, d), k + "attn.proj.bias": arr(d),
                k + "norm1.weight": arr(d), k + "norm1.bias": arr(d),
                k + "mlp.fc1.weight": arr(4 * d, d), k + "mlp.fc1.bias": arr(4 * d),
                k + "mlp.fc2.weight": arr(d, 4 * d), k + "mlp.fc2.bias": arr(d),
                k + "norm2.weight": arr(d), k + "norm2.bias": arr(d)})
            if b % 2 == 1 and res > window:                      # persistent buffer of shifted blocks
                state[k + "attn_mask"] = arr((res // win) ** 2, win * win, win * win)
            if official_buffers:                                 # present in the official Microsoft files
                state[k + "attn.relative_coords_table"] = arr(1, 2 * win - 1, 2 * win - 1, 2)
                state[k + "attn.relative_position_index"] = rng.integers(0, 9, (win * win, win * win))
        if s < len(depths) - 1:
            state[f"layers.{s}.downsample.reduction.weight"] = arr(2 * d, 4 * d)
            state[f"layers.{s}.downsample.norm.weight"] = arr(2 * d)
            state[f"layers.{s}.downsample.norm.bias"] = arr(2 * d)
    final = embed * 2 ** (len(depths) - 1)
    state["norm.weight"], state["norm.bias"] = arr(final), arr(final)
    if num_classes:
        state["head.weight"], state["head.bias"] = arr(num_classes, final), arr(num_classes)
    return state


@pytest.fixture(scope="module")
def tiny_state():
    return timm_swinv2_state(num_classes=10)


@pytest.fixture(scope="module")
def tiny_net():
    return SwinV2(SwinV2Config.tiny(num_classes=10))


def test_tiny_complete_mapping_and_checkpoint_roundtrip(tiny_state, tiny_net, tmp_path, pynative):
    result = convert(tiny_state, swin_v2_table.RULES, tiny_net)
    assert result.ok and not result.unmapped_source and not result.missing_target
    n_params = len(list(tiny_net.get_parameters()))
    assert len(result.params) == n_params
    assert sorted(result.ignored) == ["layers.0.blocks.1.attn_mask", "layers.1.blocks.1.attn_mask"]
    np.testing.assert_array_equal(result.params["stages.2.blocks.1.norm1.gamma"],
                                  tiny_state["layers.2.blocks.1.norm1.weight"])
    np.testing.assert_array_equal(result.params["stages.0.downsample.norm.beta"],
                                  tiny_state["layers.0.downsample.norm.bias"])
    assert "conversion OK" in result.report()

    path = str(tmp_path / "tiny.ckpt")
    save_checkpoint_atomic(result.params, path)
    assert os.listdir(tmp_path) == ["tiny.ckpt"]                  # no temporary file left behind
    fresh = SwinV2(SwinV2Config.tiny(num_classes=10))
    assert len(load_checked(fresh, path)) == n_params
    for p in fresh.get_parameters():
        np.testing.assert_array_equal(p.asnumpy(), result.params[p.name])


def test_large_layout_maps_completely_with_and_without_head():
    """The real Swin-V2-L-192 key layout (depths 2-2-18-2, heads 6-12-24-48, window 12, 22k head, official
    buffers) at a narrow width so the test stays small: every key is used and every parameter produced."""
    state = timm_swinv2_state(embed=12, depths=(2, 2, 18, 2), heads=(6, 12, 24, 48), grid=48, window=12,
                              num_classes=21841, official_buffers=True)
    cfg = swin_v2_table.infer_config(state, "large_192")
    assert (cfg.depths, cfg.num_heads, cfg.num_classes, cfg.window_size) == ((2, 2, 18, 2), (6, 12, 24, 48),
                                                                            21841, 12)
    net = swin_v2_table.build_target(state, "large_192")
    result = convert(state, swin_v2_table.RULES, net)
    assert result.ok and len(result.params) == len(list(net.get_parameters()))
    assert len(result.ignored) == 2 * 24 + 2                      # coords tables + indices + 2 shift masks
    headless = swin_v2_table.build_target(state, "large_192", with_head=False)
    assert headless.head is None
    with pytest.raises(ConversionError, match="head.weight"):
        convert(state, swin_v2_table.RULES, headless)
    assert convert(state, swin_v2_table.RULES, headless, ignore=("head.*",)).ok


def test_wrong_shape_fails_naming_the_key(tiny_state, tiny_net):
    bad = dict(tiny_state)
    bad["layers.1.blocks.0.attn.qkv.weight"] = np.zeros((10, 48), np.float32)
    with pytest.raises(ConversionError) as err:
        convert(bad, swin_v2_table.RULES, tiny_net)
    message = str(err.value)
    assert "layers.1.blocks.0.attn.qkv.weight -> stages.1.blocks.0.attn.qkv.weight: shape mismatch" in message
    assert "(10, 48)" in message and "(144, 48)" in message


def test_partial_checkpoint_fails_naming_missing_params(tiny_state, tiny_net):
    partial = {k: v for k, v in tiny_state.items() if not k.startswith("layers.3.blocks.1.mlp.")}
    with pytest.raises(ConversionError) as err:
        convert(partial, swin_v2_table.RULES, tiny_net)
    message = str(err.value)
    assert "missing target parameters (4)" in message
    assert "stages.3.blocks.1.mlp.fc2.weight" in message
    result = convert(partial, swin_v2_table.RULES, tiny_net, strict=False)
    assert not result.ok and len(result.missing_target) == 4


def test_unknown_source_key_fails_unless_ignored(tiny_state, tiny_net):
    extra = dict(tiny_state, **{"layers.0.blocks.0.attn.extra_scale": np.ones(1, np.float32)})
    with pytest.raises(ConversionError, match=r"unmapped source keys \(1\):\n  layers.0.blocks.0.attn.extra_scale"):
        convert(extra, swin_v2_table.RULES, tiny_net)
    result = convert(extra, swin_v2_table.RULES, tiny_net, ignore=("*.extra_scale",))
    assert "layers.0.blocks.0.attn.extra_scale" in result.ignored


def test_engine_split_concat_drop_prefix_and_errors():
    target = {"enc.q.weight": ((2, 3), np.float32), "enc.k.weight": ((2, 3), np.float32),
              "enc.v.weight": ((2, 3), np.float32), "enc.ab": ((3, 2), np.float32),
              "enc.deep.x.w": ((2,), np.float32)}
    rules = prefixed([
        Rule("qkv", ("q.weight", "k.weight", "v.weight"), split(3, axis=0)),
        Rule(("a", "b"), "ab", lambda a, b: transpose(1, 0)(concat(0)(a, b))),
        Rule("{path+}.weight", "{path}.w"),
        Rule("counter", None),
    ], "module.", "enc.")
    qkv = np.arange(18, dtype=np.float32).reshape(6, 3)
    source = {"module.qkv": qkv, "module.a": np.ones((1, 3), np.float32), "module.b": np.zeros((1, 3), np.float32),
              "module.deep.x.weight": np.ones(2, np.float32), "module.counter": np.array(3)}
    result = convert(source, rules, target)
    np.testing.assert_array_equal(result.params["enc.k.weight"], qkv[2:4])
    assert result.params["enc.ab"].shape == (3, 2) and result.dropped == ["module.counter"]
    # n -> 1 rule with a missing partner names both keys
    with pytest.raises(ConversionError, match=r"module.a: rule .* needs source key\(s\) \['module.b'\]"):
        convert({k: v for k, v in source.items() if k != "module.b"}, rules, target)
    # a rule producing a name the network does not have
    with pytest.raises(ConversionError, match="has no parameter 'enc.q.weight'"):
        convert(source, rules, {k: v for k, v in target.items() if k != "enc.q.weight"})
    # two sources for one target
    dup = [Rule("x", "t"), Rule("y", "t")]
    with pytest.raises(ConversionError, match="y -> t: already produced from x"):
        convert({"x": np.ones(1), "y": np.ones(1)}, dup, {"t": ((1,), np.float32)})
    with pytest.raises(ValueError, match="needs a transform"):
        Rule("qkv", ("q", "k"))


def test_load_checked_fails_on_missing_and_unexpected(tiny_state, tiny_net, tmp_path, pynative):
    params = convert(tiny_state, swin_v2_table.RULES, tiny_net).params
    fresh = SwinV2(SwinV2Config.tiny(num_classes=10))
    missing = {k: v for k, v in params.items() if k != "norm.beta"}
    with pytest.raises(LoadError, match=r"missing \['norm.beta'\]"):
        load_checked(fresh, missing)
    unexpected = dict(params, **{"stages.9.bogus": np.zeros(2, np.float32)})
    with pytest.raises(LoadError, match=r"unexpected \['stages.9.bogus'\]"):
        load_checked(fresh, unexpected)
    wrong = dict(params, **{"norm.beta": np.zeros(3, np.float32)})
    with pytest.raises(LoadError, match="norm.beta: checkpoint \\(3,\\) vs network \\(192,\\)"):
        load_checked(fresh, wrong)
    path = str(tmp_path / "partial.ckpt")
    save_checkpoint_atomic(missing, path)
    with pytest.raises(LoadError, match="norm.beta"):
        load_checked(fresh, path)
    assert load_checked(fresh, path, allow_missing=("norm.beta",))
    # prefix: a backbone checkpoint loaded into a parent cell whose parameter names carry "swin."
    parent = ms.nn.Cell()
    parent.swin = SwinV2(SwinV2Config.tiny(num_classes=10))
    assert len(load_checked(parent, params, prefix="swin.")) == len(params)


def test_cli_map_writes_checkpoint_only_when_complete(tiny_state, tmp_path, capsys):
    npz = str(tmp_path / "tiny.npz")
    save_npz_atomic(tiny_state, npz)
    assert list(load_npz(npz)) == list(tiny_state)                  # key order kept
    out = str(tmp_path / "tiny.ckpt")
    convert_weights.main(["map", "--kind", "swinv2", "--src", npz, "--out", out, "--config", "tiny"])
    assert os.path.isfile(out) and "conversion OK" in capsys.readouterr().out
    headless = str(tmp_path / "headless.ckpt")
    convert_weights.main(["map", "--kind", "swinv2", "--src", npz, "--out", headless, "--config", "tiny",
                          "--ignore", "head.*"])
    assert not any(k.startswith("head") for k in ms.load_checkpoint(headless))
    broken = dict(tiny_state)
    del broken["layers.0.blocks.0.attn.q_bias"]
    save_npz_atomic(broken, npz)
    bad_out = str(tmp_path / "broken.ckpt")
    with pytest.raises(ConversionError, match="incomplete"):
        convert_weights.main(["map", "--kind", "swinv2", "--src", npz, "--out", bad_out, "--config", "tiny"])
    assert "stages.0.blocks.0.attn.q_bias" in capsys.readouterr().out
    assert not os.path.exists(bad_out)
