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
"""CLAP text side: RoBERTa + text_projection, the LAION-CLAP text-key table (Hugging Face RobertaModel names), and
parity with a PyTorch RoBERTa written here from the architecture description (torch optional)."""
import math

import numpy as np
import pytest

import mindspore as ms

from src.backbones.roberta import CLAPTextEncoder, RobertaConfig
from src.convert import clap_table
from src.convert.mapping import ConversionError, load_checked


def hf_text_state(cfg: RobertaConfig, seed=0, random=True):
    """LAION-CLAP text-side keys (HF RobertaModel under text_branch.) plus a few audio-side keys and the buffers."""
    rng = np.random.default_rng(seed)
    sd = {}

    def put(key, *shape, centre=0.0):
        sd[key] = (centre + rng.standard_normal(shape, dtype=np.float32) * 0.1) if random else \
            np.zeros(shape, np.float32)

    c, f = cfg.hidden_size, cfg.intermediate_size
    e = "text_branch.embeddings."
    put(e + "word_embeddings.weight", cfg.vocab_size, c)
    put(e + "position_embeddings.weight", cfg.max_positions, c)
    put(e + "token_type_embeddings.weight", cfg.type_vocab_size, c)
    put(e + "LayerNorm.weight", c, centre=1.0), put(e + "LayerNorm.bias", c)
    sd[e + "position_ids"] = np.arange(cfg.max_positions, dtype=np.int64)[None]
    for i in range(cfg.num_layers):
        layer = f"text_branch.encoder.layer.{i}."
        for name, (rows, cols) in (("attention.self.query", (c, c)), ("attention.self.key", (c, c)),
                                   ("attention.self.value", (c, c)), ("attention.output.dense", (c, c)),
                                   ("intermediate.dense", (f, c)), ("output.dense", (c, f))):
            put(layer + name + ".weight", rows, cols), put(layer + name + ".bias", rows)
        for name in ("attention.output.LayerNorm", "output.LayerNorm"):
            put(layer + name + ".weight", c, centre=1.0), put(layer + name + ".bias", c)
    put("text_branch.pooler.dense.weight", c, c), put("text_branch.pooler.dense.bias", c)
    put("text_projection.0.weight", 512, c), put("text_projection.0.bias", 512)
    put("text_projection.2.weight", 512, 512), put("text_projection.2.bias", 512)
    put("text_transform.sequential.0.weight", 512, 512), put("text_transform.sequential.3.bias", 512)
    sd["logit_scale_t"] = np.array(2.7, np.float32)
    sd["logit_scale_a"] = np.array(2.9, np.float32)
    sd["audio_projection.0.weight"] = np.zeros((512, 768), np.float32)
    sd["audio_branch.norm.weight"] = np.ones(768, np.float32)
    return sd


def test_roberta_base_parameter_count_and_layout():
    cfg = RobertaConfig.base()
    net = CLAPTextEncoder(cfg)
    total = sum(p.size for p in net.text_branch.get_parameters())
    assert total == 124_645_632                                   # Hugging Face roberta-base with pooler
    result = clap_table.convert_clap_text(hf_text_state(cfg, random=False), net)
    assert result.ok and len(result.params) == len(list(net.get_parameters()))


def test_text_table_report(pynative):
    cfg = RobertaConfig.tiny()
    sd = hf_text_state(cfg)
    result = clap_table.convert_clap_text(sd, config="tiny")
    assert result.ok
    assert set(result.dropped) == {"text_transform.sequential.0.weight", "text_transform.sequential.3.bias",
                                   "logit_scale_t"}
    assert {"audio_projection.0.weight", "audio_branch.norm.weight", "logit_scale_a",
            "text_branch.embeddings.position_ids"} <= set(result.ignored)
    del sd["text_branch.encoder.layer.1.output.LayerNorm.bias"]
    with pytest.raises(ConversionError, match="text_branch.layers.1.output_norm.beta"):
        clap_table.convert_clap_text(sd, config="tiny")
    with pytest.raises(ValueError, match="unknown RoBERTa preset"):
        clap_table.build_text_target(None, "large")


def torch_clap_text(torch, sd, ids, mask, cfg):
    """RoBERTa (post-norm BERT layers, RoBERTa positions, tanh pooler) + CLAP text projection, from the description."""
    fn = torch.nn.functional

    def p(key):
        return torch.from_numpy(sd[key])

    def ln(x, prefix):
        return fn.layer_norm(x, (x.shape[-1],), p(prefix + ".weight"), p(prefix + ".bias"), eps=1e-5)

    def lin(x, prefix):
        return fn.linear(x, p(prefix + ".weight"), p(prefix + ".bias"))

    ids_t, mask_t = torch.from_numpy(ids.astype(np.int64)), torch.from_numpy(mask.astype(np.float32))
    not_pad = (ids_t != cfg.pad_token_id).long()
    positions = torch.cumsum(not_pad, 1) * not_pad + cfg.pad_token_id
    e = "text_branch.embeddings."
    x = p(e + "word_embeddings.weight")[ids_t] + p(e + "position_embeddings.weight")[positions]
    x = ln(x + p(e + "token_type_embeddings.weight")[0], e + "LayerNorm")
    batch, length, width = x.shape
    heads, head_dim = cfg.num_heads, width // cfg.num_heads
    key_bias = (1.0 - mask_t)[:, None, None, :] * torch.finfo(torch.float32).min

    def split(t):
        return t.view(batch, length, heads, head_dim).transpose(1, 2)

    for i in range(cfg.num_layers):
        layer = f"text_branch.encoder.layer.{i}."
        q, k, v = (split(lin(x, layer + f"attention.self.{n}")) for n in ("query", "key", "value"))
        attn = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(head_dim) + key_bias, -1)
        context = (attn @ v).transpose(1, 2).reshape(batch, length, width)
        x = ln(x + lin(context, layer + "attention.output.dense"), layer + "attention.output.LayerNorm")
        hidden = fn.gelu(lin(x, layer + "intermediate.dense"))
        x = ln(x + lin(hidden, layer + "output.dense"), layer + "output.LayerNorm")
    pooled = torch.tanh(lin(x[:, 0], "text_branch.pooler.dense"))
    return lin(torch.relu(lin(pooled, "text_projection.0")), "text_projection.2")


def test_clap_text_matches_torch_reference(pynative):
    torch = pytest.importorskip("torch")
    cfg = RobertaConfig.tiny()
    sd = hf_text_state(cfg, seed=4)
    net = clap_table.build_text_target(sd, "tiny")
    load_checked(net, clap_table.convert_clap_text(sd, net).params)
    net.set_train(False)
    # <s> tokens </s> then <pad> (id 1) with attention mask 0, as RobertaTokenizer(padding="max_length") gives
    ids = np.ones((3, 12), np.int32)
    for row, length in enumerate((4, 10, 7)):
        ids[row, 0], ids[row, length - 1] = 0, 2
        ids[row, 1:length - 1] = np.random.default_rng(row).integers(3, cfg.vocab_size, length - 2)
    mask = (ids != 1).astype(np.int32)
    ours = net(ms.Tensor(ids), ms.Tensor(mask)).asnumpy()
    with torch.no_grad():
        reference = torch_clap_text(torch, sd, ids, mask, cfg).numpy()
    diff = float(np.abs(ours - reference).max())
    print(f"\nCLAP text (tiny RoBERTa) max|diff| vs torch reference: {diff:.2e}")
    assert diff < 1e-4 and np.abs(reference).max() > 0.05
    # padding beyond the mask does not change the embedding
    longer = np.concatenate([ids, np.ones((3, 4), np.int32)], axis=1)
    again = net(ms.Tensor(longer), ms.Tensor((longer != 1).astype(np.int32))).asnumpy()
    np.testing.assert_allclose(again, ours, rtol=0, atol=1e-5)


# ------------------------------------------------------------------------------------------------ tokenizers
PRE_TOKENIZER_TEXTS = ["The sounds of Church bell", "It's  a man's world,   isn't it?\n\nThey'll've 1234 ½Ⅻ x² ",
                       "  leading", "trailing   ", "tab\tsep\t\tx", "a \n b", "émoji 🎸🐶!! (food)", "你好 世界",
                       "'S 'T 'RE", "x'sy", "\n", " ", "", "a  b", "1 2  3   ", "Frying_(food)", "<s>hi</s>"]


def test_pre_tokenizers_match_the_regex_patterns():
    """Both scanners against the published patterns run by the `regex` package (\\p{L} / \\p{N} classes)."""
    regex = pytest.importorskip("regex")
    from src.text.clip_bpe import pre_tokenize
    from src.text.roberta_bpe import gpt2_pre_tokenize
    gpt2 = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")
    clip = regex.compile(r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|"""
                         r"""[^\s\p{L}\p{N}]+""", regex.IGNORECASE)
    for text in PRE_TOKENIZER_TEXTS:
        assert gpt2_pre_tokenize(text) == gpt2.findall(text), text
        assert pre_tokenize(text.lower()) == clip.findall(text.lower()), text


def write_roberta_files(tmp_path, drop=()):
    """vocab.json / merges.txt in the released layout (the synthetic few-shot set's tiny vocabulary)."""
    from src.data.fewshot_synthetic import write_roberta_vocab
    return write_roberta_vocab(tmp_path, drop=drop)


def test_roberta_bpe_ids_by_hand(tmp_path):
    from src.text.clip_bpe import byte_symbols
    from src.text.roberta_bpe import RobertaTokenizer

    def sym(char):
        return 4 + byte_symbols().index(char)

    tok = RobertaTokenizer(*write_roberta_files(tmp_path), max_length=10)
    # "The" -> Th -> The (id 261); " sounds" -> Ġs, ou, Ġsou, nd, Ġsound (id 266) + s; " of" -> Ġ o f
    expected = [0, 261, 266, sym("s"), sym("\u0120"), sym("o"), sym("f"), 2, 1, 1]
    ids, mask = tok("The sounds of")
    np.testing.assert_array_equal(ids[0], expected)
    np.testing.assert_array_equal(mask[0], [1] * 8 + [0, 0])
    short = RobertaTokenizer(*write_roberta_files(tmp_path), max_length=6)
    np.testing.assert_array_equal(short("The sounds of")[0][0], [0, 261, 266, sym("s"), sym("\u0120"), 2])
    assert tok.encode("the") == [sym("t"), sym("h"), sym("e")]               # case-sensitive, no lower-casing
    missing = RobertaTokenizer(*write_roberta_files(tmp_path, drop=("z",)), max_length=10)
    assert missing.encode("z") == [3]                                       # absent piece -> <unk>


def test_roberta_tokenizer_file_errors(tmp_path):
    from src.text.roberta_bpe import RobertaTokenizer
    vocab, merges = write_roberta_files(tmp_path)
    with open(merges, "a", encoding="utf-8") as handle:
        handle.write("a b c\n")
    with pytest.raises(ValueError, match=r"merges.txt, line 9: expected a merge"):
        RobertaTokenizer(vocab, merges)
    (tmp_path / "bad.json").write_text('{"<s>": 0}', encoding="utf-8")
    with pytest.raises(ValueError, match=r"special tokens \['<pad>', '</s>', '<unk>'\] are missing"):
        RobertaTokenizer(str(tmp_path / "bad.json"), merges)
    with pytest.raises(FileNotFoundError, match="vocab_missing.json"):
        RobertaTokenizer(str(tmp_path / "vocab_missing.json"), merges)


def test_clap_text_graph_mode_equals_pynative():
    net = CLAPTextEncoder(RobertaConfig.tiny()).set_train(False)
    ids = np.ones((2, 10), np.int32)
    ids[:, 0] = 0
    ids[0, 1:4], ids[1, 1:7] = [5, 6, 2], [7, 8, 9, 10, 11, 2]
    args = (ms.Tensor(ids), ms.Tensor((ids != 1).astype(np.int32)))
    ms.set_context(mode=ms.PYNATIVE_MODE)
    eager = net(*args).asnumpy()
    ms.set_context(mode=ms.GRAPH_MODE)
    graph = net(*args).asnumpy()
    ms.set_context(mode=ms.PYNATIVE_MODE)
    np.testing.assert_allclose(graph, eager, rtol=0, atol=1e-5)
