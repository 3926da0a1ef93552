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
"""CLIP towers, the OpenAI-layout conversion table and the BPE tokenizer without torch (parity with open_clip is in
test_parity_clip.py). State dicts and vocabularies are generated here in the real layouts."""
import gzip

import numpy as np
import pytest

import mindspore as ms

from src.backbones.clip import CLIP, CLIPConfig, causal_mask
from src.convert import clip_table
from src.convert.mapping import ConversionError, load_checked
from src.text.clip_bpe import CLIPTokenizer, byte_symbols, byte_to_symbol, pre_tokenize


# ------------------------------------------------------------------------------------------------ state dicts
def openai_state_dict(cfg: CLIPConfig, seed=0, with_scalars=True, random=True):
    """Arrays under the key names and shapes of OpenAI's CLIP state dict (ViT-B-32.pt layout); random values, or
    zeros (cheap: untouched pages) when only the shapes matter."""
    rng = np.random.default_rng(seed)
    sd = {}

    def put(key, *shape):
        sd[key] = (0.1 * rng.standard_normal(shape, dtype=np.float32)) if random else np.zeros(shape, np.float32)

    def blocks(prefix, width, layers):
        for i in range(layers):
            p = f"{prefix}.{i}."
            put(p + "ln_1.weight", width), put(p + "ln_1.bias", width)
            put(p + "attn.in_proj_weight", 3 * width, width), put(p + "attn.in_proj_bias", 3 * width)
            put(p + "attn.out_proj.weight", width, width), put(p + "attn.out_proj.bias", width)
            put(p + "ln_2.weight", width), put(p + "ln_2.bias", width)
            put(p + "mlp.c_fc.weight", 4 * width, width), put(p + "mlp.c_fc.bias", 4 * width)
            put(p + "mlp.c_proj.weight", width, 4 * width), put(p + "mlp.c_proj.bias", width)

    vw, tw = cfg.vision_width, cfg.text_width
    put("positional_embedding", cfg.context_length, tw)
    put("text_projection", tw, cfg.embed_dim)
    sd["logit_scale"] = np.array(4.6052, np.float32)
    put("visual.class_embedding", vw)
    put("visual.positional_embedding", cfg.grid ** 2 + 1, vw)
    put("visual.proj", vw, cfg.embed_dim)
    put("visual.conv1.weight", vw, 3, cfg.patch_size, cfg.patch_size)
    put("visual.ln_pre.weight", vw), put("visual.ln_pre.bias", vw)
    blocks("visual.transformer.resblocks", vw, cfg.vision_layers)
    put("visual.ln_post.weight", vw), put("visual.ln_post.bias", vw)
    put("token_embedding.weight", cfg.vocab_size, tw)
    blocks("transformer.resblocks", tw, cfg.text_layers)
    put("ln_final.weight", tw), put("ln_final.bias", tw)
    if with_scalars:
        sd.update(input_resolution=np.array(cfg.image_size), context_length=np.array(cfg.context_length),
                  vocab_size=np.array(cfg.vocab_size))
    return sd


@pytest.fixture(scope="module")
def tiny_clip():
    net = CLIP(CLIPConfig.tiny())
    net.set_train(False)
    return net


def tiny_ids(rows=((3, 5, 9), (17, 4, 2, 8, 8, 30, 11))):
    """[start, ids..., end, 0...] with the tiny vocabulary (start 598, end 599 = the largest id)."""
    ids = np.zeros((len(rows), 16), np.int32)
    for r, row in enumerate(rows):
        ids[r, :len(row) + 2] = [598, *row, 599]
    return ids


# ------------------------------------------------------------------------------------------------------- model
def test_parameter_count_of_vit_b32_layout():
    cfg = CLIPConfig.vit_b32()
    sd = openai_state_dict(cfg, with_scalars=False, random=False)
    assert sum(a.size for a in sd.values()) == 151_277_313     # OpenAI ViT-B/32 (also open_clip's count)
    assert clip_table.infer_config(sd) == cfg


def test_block_stepping_equals_forward(tiny_clip, pynative):
    images = ms.Tensor(np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype(np.float32))
    x = tiny_clip.visual.embed(images)
    assert x.shape == (2, 17, 64)
    for blk in tiny_clip.visual.transformer.resblocks:
        x = x + blk.attn_residual(x)
        x = x + blk.mlp_residual(x)
    tokens, pooled = tiny_clip.visual.forward_features(images)
    np.testing.assert_allclose(x.asnumpy(), tokens.asnumpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(tiny_clip.visual.head(x).asnumpy(), pooled.asnumpy(), rtol=0, atol=1e-6)
    assert pooled.shape == (2, 24)


def test_text_pools_at_end_token_and_is_causal(tiny_clip, pynative):
    ids = tiny_ids()
    base = tiny_clip.encode_text(ms.Tensor(ids)).asnumpy()
    assert base.shape == (2, 24)
    changed = ids.copy()
    changed[0, 6:] = 77                   # after row 0's end token: invisible under the causal mask
    np.testing.assert_allclose(tiny_clip.encode_text(ms.Tensor(changed)).asnumpy(), base, rtol=0, atol=1e-6)
    changed = ids.copy()
    changed[0, 2] = 40                    # before the end token: must change row 0 only
    out = tiny_clip.encode_text(ms.Tensor(changed)).asnumpy()
    assert np.abs(out[0] - base[0]).max() > 1e-4
    np.testing.assert_allclose(out[1], base[1], rtol=0, atol=1e-6)
    # the learned-prompt entry point gives the same result from looked-up embeddings
    embeddings = tiny_clip.text.token_embedding(ms.Tensor(ids))
    direct = tiny_clip.text.encode_embeddings(embeddings, ms.Tensor(np.array([4, 8], np.int32))).asnumpy()
    np.testing.assert_allclose(direct, base, rtol=0, atol=1e-6)
    mask = causal_mask(3)
    assert (mask[np.tril_indices(3)] == 0).all() and np.isneginf(mask[np.triu_indices(3, 1)]).all()


def test_graph_mode_equals_pynative(tiny_clip):
    images = ms.Tensor(np.random.default_rng(1).standard_normal((2, 3, 32, 32)).astype(np.float32))
    ids = ms.Tensor(tiny_ids())
    ms.set_context(mode=ms.PYNATIVE_MODE)
    eager = [t.asnumpy() for t in tiny_clip(images, ids)]
    ms.set_context(mode=ms.GRAPH_MODE)
    graph = [t.asnumpy() for t in tiny_clip(images, ids)]
    ms.set_context(mode=ms.PYNATIVE_MODE)
    for a, b in zip(eager, graph):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)
    np.testing.assert_allclose(eager[0], eager[1].T)


def test_bad_config_is_rejected():
    with pytest.raises(ValueError, match="not divisible by patch_size"):
        CLIP(CLIPConfig.tiny(image_size=30))
    with pytest.raises(ValueError, match="vision_width 64 is not divisible by vision_heads 3"):
        CLIP(CLIPConfig.tiny(vision_heads=3))


# --------------------------------------------------------------------------------------------------- converter
def test_openai_layout_converts_completely_and_loads(tmp_path, pynative):
    sd = openai_state_dict(CLIPConfig.tiny())
    result = clip_table.convert_clip(sd, config="tiny")
    assert result.ok and not result.unmapped_source and not result.missing_target
    assert sorted(result.dropped) == ["context_length", "input_resolution", "vocab_size"]
    net = clip_table.build_target(sd, "tiny")
    load_checked(net, result.params)
    np.testing.assert_array_equal(net.text.token_embedding.embedding_table.asnumpy(), sd["token_embedding.weight"])
    np.testing.assert_array_equal(net.visual.transformer.resblocks[1].attn.in_proj.weight.asnumpy(),
                                  sd["visual.transformer.resblocks.1.attn.in_proj_weight"])
    np.testing.assert_array_equal(net.logit_scale.asnumpy(), [sd["logit_scale"]])


def test_float16_source_is_cast():
    """The released ViT-B-32.pt stores float16 weights."""
    sd = openai_state_dict(CLIPConfig.tiny())
    sd = {k: v.astype(np.float16) if v.dtype == np.float32 else v for k, v in sd.items()}
    result = clip_table.convert_clip(sd, config="tiny")
    assert result.ok and all(a.dtype == np.float32 for a in result.params.values())


def test_incomplete_or_foreign_state_dict_fails_with_report():
    sd = openai_state_dict(CLIPConfig.tiny())
    del sd["visual.transformer.resblocks.0.mlp.c_fc.bias"]
    sd["visual.extra_head.weight"] = np.zeros((2, 2), np.float32)
    with pytest.raises(ConversionError) as err:
        clip_table.convert_clip(sd, config="tiny")
    report = str(err.value)
    assert "visual.extra_head.weight" in report and "visual.transformer.resblocks.0.mlp.c_fc.bias" in report
    sd = openai_state_dict(CLIPConfig.tiny())
    sd["text_projection"] = np.zeros((32, 25), np.float32)
    target = clip_table.build_target(openai_state_dict(CLIPConfig.tiny()), "tiny")
    with pytest.raises(ConversionError, match="shape mismatch"):
        clip_table.convert_clip(sd, target)
    with pytest.raises(ValueError, match="no 'visual.conv1.weight'"):
        clip_table.infer_config({"layers.0.weight": np.zeros(1)})
    with pytest.raises(ValueError, match="unknown CLIP preset"):
        clip_table.infer_config(sd, "vit_h14")


# --------------------------------------------------------------------------------------------------- tokenizer
def write_vocab(path, merges, header="\"bpe_simple_vocab_16e6.txt#version: 0.2"):
    """A merges file in the released format: gzip UTF-8, header line, one 'left right' merge per line."""
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write("\n".join([header] + [" ".join(m) for m in merges]) + "\n")
    return str(path)


MERGES = [("t", "h"), ("th", "e</w>"), ("o", "g</w>"), ("d", "o"), ("c", "a"), ("ca", "t</w>"), ("a", "t")]


def symbol_id(char):
    return byte_symbols().index(char)


def test_byte_alphabet():
    symbols = byte_symbols()
    assert len(set(symbols)) == 256 and symbols[:3] == ["!", '"', "#"]
    assert byte_to_symbol()[ord(" ")] == "\u0120" and byte_to_symbol()[0] == "\u0100"   # GPT-2/CLIP convention
    assert symbols[188] == "\u0100" and symbol_id("a") == 64


def test_bpe_ids_by_hand(tmp_path):
    tok = CLIPTokenizer(write_vocab(tmp_path / "v.txt.gz", MERGES), vocab_size=512 + len(MERGES) + 2, context_length=8)
    assert tok.vocab_size == 521 and (tok.start_id, tok.end_id) == (519, 520)
    # "the": t h -> th, th e</w> -> the</w> (merge 1 -> id 513)
    assert tok.encode("The") == [513]
    # "dog": og</w> (rank 2) is merged before d o (rank 3), leaving d + og</w>
    assert tok.encode("dog") == [symbol_id("d"), 512 + 2]
    # "cat": c a (rank 4) before a t (rank 6): ca, then ca t</w> -> cat</w>
    assert tok.encode("cat") == [512 + 5]
    # single letter: the end-of-word form; a non-ASCII letter becomes its two UTF-8 byte symbols
    assert tok.encode("a") == [256 + symbol_id("a")]
    assert tok.encode("é") == [symbol_id("Ã"), 256 + symbol_id("©")]
    ids = tok(["the dog!", "cat"])
    assert ids.dtype == np.int32 and ids.shape == (2, 8)
    np.testing.assert_array_equal(ids[0], [519, 513, symbol_id("d"), 514, 256 + symbol_id("!"), 520, 0, 0])
    np.testing.assert_array_equal(ids[1], [519, 517, 520, 0, 0, 0, 0, 0])
    assert (ids.argmax(-1) == [5, 2]).all()           # the end token is the largest id
    assert tok.decode(ids[0, 1:5]) == "the dog ! "


def test_pre_tokenizer_and_cleaning(tmp_path):
    assert pre_tokenize("it's 12 dogs!! <|endoftext|>x") == ["it", "'s", "1", "2", "dogs", "!!", "<|endoftext|>", "x"]
    assert pre_tokenize("they'll've ½x") == ["they", "'ll", "'ve", "½", "x"]
    tok = CLIPTokenizer(write_vocab(tmp_path / "v.txt.gz", MERGES), vocab_size=521, context_length=8)
    assert tok.encode("  THE\n\t&amp;amp;  ") == tok.encode("the &")


def test_tokenizer_length_and_file_errors(tmp_path):
    path = write_vocab(tmp_path / "v.txt.gz", MERGES)
    tok = CLIPTokenizer(path, vocab_size=521, context_length=5)
    with pytest.raises(ValueError, match="context length is 5"):
        tok("the the the the the")
    cut = tok("the the the the the", truncate=True)
    np.testing.assert_array_equal(cut[0], [519, 513, 513, 513, 520])
    with pytest.raises(ValueError, match="has 7 merges after the header line, the vocabulary needs 10"):
        CLIPTokenizer(path, vocab_size=524)
    bad = write_vocab(tmp_path / "bad.txt.gz", MERGES[:2] + [("x",)])
    with pytest.raises(ValueError, match=r"bad.txt.gz, line 4: expected a merge"):
        CLIPTokenizer(bad, vocab_size=517)
    plain = tmp_path / "plain.txt"
    plain.write_text("header\nt h\n")
    with pytest.raises(ValueError, match="not a gzip-compressed"):
        CLIPTokenizer(str(plain), vocab_size=515)
    with pytest.raises(FileNotFoundError, match="missing.txt.gz"):
        CLIPTokenizer(str(tmp_path / "missing.txt.gz"))
