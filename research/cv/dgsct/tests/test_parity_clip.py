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
"""Parity of our CLIP towers and BPE tokenizer with open_clip 2.32 (OpenAI layout, QuickGELU), random weights.

Optional: needs the parity extra (requirements-parity.txt: torch + open-clip-torch); skipped cleanly without it.
open_clip models get random weights everywhere (LayerNorm and biases included), go through OUR exporter
(torch -> npz) and table (npz -> ckpt), and the image/text embeddings, the tokens after every image block (stepped
through attn_residual / mlp_residual as DG-SCT does) and the CLIP logits must agree within 1e-4 (fp32).
"""
import os

import numpy as np
import pytest

import mindspore as ms

torch = pytest.importorskip("torch")
open_clip = pytest.importorskip("open_clip")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from src.convert import clip_table  # noqa: E402
from src.convert.mapping import convert, load_checked, load_npz, save_checkpoint_atomic  # noqa: E402
from src.convert.torch_export import export_module, export_state_dict  # noqa: E402
from src.text.clip_bpe import CLIPTokenizer  # noqa: E402

TOL = 1e-4
TINY = dict(embed_dim=24, vision_cfg=dict(layers=2, width=64, head_width=32, patch_size=8, image_size=32),
            text_cfg=dict(context_length=16, vocab_size=600, width=32, heads=2, layers=2))


def randomize(model, seed):
    """Random values for every parameter: LayerNorm weights around 1, biases and embeddings non-zero."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "ln" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.05 * torch.randn_like(p))
            elif name == "logit_scale":
                p.fill_(2.5)
    return model.eval()


def to_mindspore(model, tmp_path, preset):
    """open_clip model -> npz (our exporter) -> strict table conversion -> ckpt -> loaded MindSpore CLIP."""
    arrays = export_module(model, str(tmp_path / "clip.npz"))
    arrays = load_npz(str(tmp_path / "clip.npz"))
    net = clip_table.build_target(arrays, preset)
    result = convert(arrays, clip_table.RULES, net, buffers=clip_table.BUFFERS)
    assert result.ok and len(result.params) == len(list(net.get_parameters())), result.report()
    ckpt = str(tmp_path / "clip.ckpt")
    save_checkpoint_atomic(result.params, ckpt)
    load_checked(net, ckpt)
    return net.set_train(False)


def random_ids(rng, batch, context, vocab, lengths):
    """[start, random ids, end, 0 ...] rows; the end id (vocab - 1) is the largest, as in CLIP's vocabulary."""
    ids = np.zeros((batch, context), np.int32)
    for row, length in enumerate(lengths):
        ids[row, 0] = vocab - 2
        ids[row, 1:length + 1] = rng.integers(1, vocab - 2, length)
        ids[row, length + 1] = vocab - 1
    return ids


def reference_block_tokens(model, images):
    """Tokens after every open_clip image block ([B, L, C])."""
    out = []
    with torch.no_grad():
        visual = model.visual
        x = visual.conv1(torch.from_numpy(images))
        x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)
        cls = visual.class_embedding.to(x.dtype) + torch.zeros(x.shape[0], 1, x.shape[-1])
        x = visual.ln_pre(torch.cat([cls, x], dim=1) + visual.positional_embedding)
        for blk in visual.transformer.resblocks:
            x = blk(x) if getattr(visual.transformer, "batch_first", True) else blk(x.permute(1, 0, 2)).permute(1, 0, 2)
            out.append(x.numpy())
    return out


def max_diff(a, b):
    return float(np.abs(np.asarray(a) - np.asarray(b)).max())


def test_tiny_clip_matches_open_clip(tmp_path, pynative):
    model = randomize(open_clip.model.CLIP(quick_gelu=True, **TINY), seed=0)
    net = to_mindspore(model, tmp_path, "tiny")
    rng = np.random.default_rng(0)
    images = rng.standard_normal((2, 3, 32, 32)).astype(np.float32)
    ids = random_ids(rng, 3, 16, 600, lengths=(3, 14, 7))
    with torch.no_grad():
        ref_image = model.encode_image(torch.from_numpy(images)).numpy()
        ref_text = model.encode_text(torch.from_numpy(ids.astype(np.int64))).numpy()
        ref_logits = model(torch.from_numpy(images), torch.from_numpy(ids.astype(np.int64)))
        ref_logits = (ref_logits[2] * ref_logits[0] @ ref_logits[1].T).numpy()
    image = net.encode_image(ms.Tensor(images)).asnumpy()
    text = net.encode_text(ms.Tensor(ids)).asnumpy()
    logits = net(ms.Tensor(images), ms.Tensor(ids))[0].asnumpy()

    # stepping through the blocks the way the DG-SCT encoder does
    x = net.visual.embed(ms.Tensor(images))
    step_diffs = []
    for blk, ref in zip(net.visual.transformer.resblocks, reference_block_tokens(model, images)):
        x = x + blk.attn_residual(x)
        x = x + blk.mlp_residual(x)
        step_diffs.append(max_diff(x.asnumpy(), ref))
    stepped_image = net.visual.head(x).asnumpy()

    diffs = dict(image=max_diff(image, ref_image), text=max_diff(text, ref_text), logits=max_diff(logits, ref_logits),
                 stepped=max_diff(stepped_image, ref_image), blocks=max(step_diffs))
    print(f"\ntiny CLIP max|diff| vs open_clip: {diffs}")
    assert max(diffs.values()) < TOL, diffs
    assert np.abs(ref_image).max() > 0.1 and np.abs(ref_text).max() > 0.1   # not a degenerate comparison


def test_vit_b32_full_size_matches_open_clip(tmp_path, pynative):
    """The real ViT-B/32 layout (151,277,313 parameters) through the 'openai' preset: one image, two texts.
    In memory (no npz/ckpt files), the torch model freed before ours is built (peak RSS ~3.5 GB, ~21 s CPU)."""
    model = randomize(open_clip.create_model("ViT-B-32-quickgelu", pretrained=None), seed=1)
    assert sum(p.numel() for p in model.parameters()) == 151_277_313
    rng = np.random.default_rng(1)
    images = rng.standard_normal((1, 3, 224, 224)).astype(np.float32)
    ids = random_ids(rng, 2, 77, 49408, lengths=(5, 40))
    with torch.no_grad():
        ref_image = model.encode_image(torch.from_numpy(images)).numpy()
        ref_text = model.encode_text(torch.from_numpy(ids.astype(np.int64))).numpy()
    arrays = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    del model
    net = clip_table.build_target(arrays, "openai")
    result = clip_table.convert_clip(arrays, net)
    del arrays
    assert result.ok and len(result.params) == len(list(net.get_parameters()))
    load_checked(net, result.params)
    del result
    net.set_train(False)
    diffs = dict(image=max_diff(net.encode_image(ms.Tensor(images)).asnumpy(), ref_image),
                 text=max_diff(net.encode_text(ms.Tensor(ids)).asnumpy(), ref_text))
    print(f"\nViT-B/32 max|diff| vs open_clip: {diffs}")
    assert max(diffs.values()) < TOL, diffs


def test_torchscript_archive_exports_with_unsafe_pickle(tmp_path):
    """OpenAI ships ViT-B-32.pt as a TorchScript archive with three int layout scalars: the safe loader refuses
    it with a hint, --unsafe-pickle exports it, and the table maps everything (the scalars are dropped)."""
    model = randomize(open_clip.model.CLIP(quick_gelu=True, **TINY), seed=2)

    class Archive(torch.nn.Module):
        """The OpenAI key layout at top level plus the layout scalars as buffers, like the released file."""

        def __init__(self, clip_model):
            super().__init__()
            for name in ("visual", "token_embedding", "positional_embedding", "transformer", "ln_final",
                         "text_projection", "logit_scale"):
                setattr(self, name, getattr(clip_model, name))
            for name in clip_table.LAYOUT_SCALARS:
                self.register_buffer(name, torch.tensor(7))

        def forward(self, x):
            return x

    scripted = torch.jit.script(Archive(model))
    pt = str(tmp_path / "ViT-tiny.pt")
    scripted.save(pt)
    with pytest.raises(RuntimeError, match="unsafe-pickle"):
        export_state_dict(pt, str(tmp_path / "x.npz"))
    arrays = export_state_dict(pt, str(tmp_path / "x.npz"), unsafe_pickle=True)
    assert set(clip_table.LAYOUT_SCALARS) <= set(arrays)
    result = clip_table.convert_clip(arrays, config="tiny")
    assert result.ok and sorted(result.dropped) == sorted(clip_table.LAYOUT_SCALARS)
    assert "source keys dropped by the table (3)" in result.report()


OPENCLIP_VOCAB = os.path.join(os.path.dirname(open_clip.__file__), "bpe_simple_vocab_16e6.txt.gz")


@pytest.mark.skipif(not os.path.isfile(OPENCLIP_VOCAB), reason="open_clip ships no bpe_simple_vocab_16e6.txt.gz")
def test_tokenizer_matches_open_clip_on_the_released_vocabulary():
    """open_clip renamed the special tokens (<start_of_text>), so texts containing OpenAI's <|endoftext|> differ by
    design and are not compared; everything else must give identical ids."""
    ours = CLIPTokenizer(OPENCLIP_VOCAB)
    reference = open_clip.tokenizer.SimpleTokenizer(OPENCLIP_VOCAB)
    texts = ["a photo of a dog.", "Church bell", "It's a man's world, isn't it?  They'll've", "chainsaw &amp; saw",
             "café naïve 123 ½ Ⅻ x²", "Frying (food)", "emoji 🎸🐶 guitar", "Ünïcödé ÅÄÖ αβγ 你好世界", "'S'T 'RE",
             "a photo of a baby cry, infant crying", "Male_speech, man speaking", "accordion\tbanjo\n\nbagpipes"]
    assert ours.vocab_size == 49408
    np.testing.assert_array_equal(ours(texts), reference(texts).numpy())
