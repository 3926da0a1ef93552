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
"""Few-shot scoring heads: CLIP-Adapter, prompt learner (shared and conditional context), CLIP/CLAP logits and the
audio-visual contrastive term. The PyTorch reference is written here from the method descriptions (CoOp/CoCoOp
prompt construction, CLIP-Adapter blending) on top of open_clip's text modules (parity extra; skipped without it)."""
import numpy as np
import pytest

import mindspore as ms

from src.backbones.clip import CLIP, CLIPConfig
from src.heads.fewshot_clip import (AudioVisualContrastive, ClipAdapter, PromptLearner, clap_logits, clip_logits)
from src.text.clip_bpe import CLIPTokenizer

CLASSES = ["dog", "church_bell", "cat", "background"]     # prompts fit the tiny 16-token context


@pytest.fixture(scope="module")
def tiny_clip():
    return CLIP(CLIPConfig.tiny()).set_train(False)


def test_prompt_layout_and_modes(tiny_clip, tiny_tokenizer, pynative):
    learner = PromptLearner(tiny_clip.text, tiny_tokenizer, CLASSES, embed_dim=24, seed=0)
    ids = learner.prompt_ids.asnumpy()
    x_id = tiny_tokenizer.encode("X")[0]
    assert (ids[:, 0] == tiny_tokenizer.start_id).all() and (ids[:, 1:5] == x_id).all()
    assert learner.n_ctx == 4 and learner.ctx.shape == (4, 32)
    assert abs(float(learner.ctx.asnumpy().std()) - 0.02) < 0.01          # N(0, 0.02), not the phrase
    prompts = learner.prompt_embeddings().asnumpy()
    np.testing.assert_array_equal(prompts[:, 1:5], np.broadcast_to(learner.ctx.asnumpy(), (4, 4, 32)))
    shared = learner().asnumpy()
    assert shared.shape == (4, 24)
    assert [p.name for p in learner.trainable_params() if "meta_net" in p.name]   # built in both modes
    conditional = PromptLearner(tiny_clip.text, tiny_tokenizer, CLASSES, embed_dim=24, conditional=True, seed=0)
    image_features = ms.Tensor(np.random.default_rng(0).standard_normal((3, 24)).astype(np.float32))
    out = conditional(image_features).asnumpy()
    assert out.shape == (3, 4, 24) and np.abs(out[0] - out[1]).max() > 1e-6
    with pytest.raises(ValueError, match="context length"):
        PromptLearner(tiny_clip.text, CLIPTokenizer(tiny_tokenizer.bpe_path, 600, 77), CLASSES, embed_dim=24)


def test_heads_match_torch_reference(tmp_path, tiny_tokenizer, pynative):
    torch = pytest.importorskip("torch")
    open_clip = pytest.importorskip("open_clip")
    from test_parity_clip import TINY, randomize, to_mindspore   # same tiny layout as the CLIP parity test

    ref = randomize(open_clip.model.CLIP(quick_gelu=True, **TINY), seed=5)
    net = to_mindspore(ref, tmp_path, "tiny")
    rng = np.random.default_rng(5)
    for conditional in (False, True):
        learner = PromptLearner(net.text, tiny_tokenizer, CLASSES, embed_dim=24, conditional=conditional, seed=1)
        adapter_v, adapter_t = ClipAdapter(24), ClipAdapter(24)
        for cell in (learner.meta_net, adapter_v, adapter_t):
            for p in cell.get_parameters():
                p.set_data(ms.Tensor(rng.standard_normal(p.shape).astype(np.float32) * 0.3))
        image = rng.standard_normal((3, 24)).astype(np.float32)
        ours = clip_logits(ms.Tensor(image), learner(ms.Tensor(image)), adapter_v, adapter_t,
                           net.logit_scale).asnumpy()

        def t(p):
            return torch.from_numpy(p.asnumpy())

        def adapter(x, cell):
            w1, w2 = t(cell.fc[0].weight), t(cell.fc[2].weight)
            return 0.2 * torch.relu(torch.relu(x @ w1.T) @ w2.T) + 0.8 * x

        with torch.no_grad():
            ids = torch.from_numpy(learner.prompt_ids.asnumpy().astype(np.int64))
            fixed = ref.token_embedding(ids)
            ctx = t(learner.ctx)
            x = torch.from_numpy(image)
            if conditional:
                hidden = torch.relu(x @ t(learner.meta_net[0].weight).T + t(learner.meta_net[0].bias))
                ctx = ctx[None] + (hidden @ t(learner.meta_net[2].weight).T + t(learner.meta_net[2].bias))[:, None]
                prompts = torch.cat([fixed[None, :, :1].expand(3, -1, -1, -1), ctx[:, None].expand(-1, 4, -1, -1),
                                     fixed[None, :, 5:].expand(3, -1, -1, -1)], dim=2).reshape(12, 16, -1)
                eot = ids.argmax(-1).repeat(3)
            else:
                prompts = torch.cat([fixed[:, :1], ctx[None].expand(4, -1, -1), fixed[:, 5:]], dim=1)
                eot = ids.argmax(-1)
            # CLIP text tower applied to prompt embeddings (the official DG-SCT TextEncoder flow)
            h = ref.transformer(prompts + ref.positional_embedding, attn_mask=ref.attn_mask)
            h = ref.ln_final(h)
            text = h[torch.arange(h.shape[0]), eot] @ ref.text_projection
            v = adapter(x, adapter_v)
            v = v / v.norm(dim=-1, keepdim=True)
            text = adapter(text, adapter_t)
            text = text / text.norm(dim=-1, keepdim=True)
            scale = ref.logit_scale.exp()
            if conditional:
                expected = scale * (v[:, None] * text.reshape(3, 4, -1)).sum(-1)
            else:
                expected = scale * v @ text.T
        diff = float(np.abs(ours - expected.numpy()).max())
        print(f"\nconditional={conditional}: max|diff| {diff:.2e}")
        assert diff < 1e-4 and np.abs(expected.numpy()).max() > 0.1


def test_clap_logits_and_contrastive(pynative):
    rng = np.random.default_rng(2)
    audio = rng.standard_normal((20, 8)).astype(np.float32)
    video = rng.standard_normal((20, 8)).astype(np.float32)
    texts = rng.standard_normal((5, 8)).astype(np.float32)

    def unit(x):
        return x / np.linalg.norm(x, axis=-1, keepdims=True)

    scale = np.float32(3.3)
    raw = clap_logits(ms.Tensor(audio), ms.Tensor(texts), ms.Tensor(np.array([scale]))).asnumpy()
    np.testing.assert_allclose(raw, scale * unit(audio) @ unit(texts).T, rtol=1e-5, atol=1e-5)
    exped = clap_logits(ms.Tensor(audio), ms.Tensor(texts), ms.Tensor(np.array([scale])), exp_scale=True).asnumpy()
    np.testing.assert_allclose(exped, np.exp(scale) * unit(audio) @ unit(texts).T, rtol=1e-5, atol=1e-4)

    contrastive = AudioVisualContrastive(np.log(1 / 0.07), dim=8, segments=10)
    a2v, v2a = (t.asnumpy() for t in contrastive(ms.Tensor(video), ms.Tensor(audio)))
    w, b = contrastive.fc_a1.weight.asnumpy(), contrastive.fc_a1.bias.asnumpy()
    a = unit((audio @ w.T + b).reshape(2, 10, 8).mean(1))
    v = unit(video.reshape(2, 10, 8).mean(1))
    np.testing.assert_allclose(a2v, (1 / 0.07) * a @ v.T, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(v2a, a2v.T)


def test_heads_compile_in_graph_mode(tiny_clip, tiny_tokenizer):
    """Training runs in GRAPH_MODE: the whole CLIP scoring path (both prompt modes) compiles and equals PyNative."""
    from mindspore import nn

    class Scorer(nn.Cell):
        def __init__(self, conditional):
            super().__init__()
            self.clip = tiny_clip
            self.learner = PromptLearner(tiny_clip.text, tiny_tokenizer, CLASSES, embed_dim=24,
                                         conditional=conditional, seed=0)
            self.adapter_v, self.adapter_t = ClipAdapter(24), ClipAdapter(24)

        def construct(self, images):
            v = self.clip.visual(images)
            return clip_logits(v, self.learner(v), self.adapter_v, self.adapter_t, self.clip.logit_scale)

    images = ms.Tensor(np.random.default_rng(3).standard_normal((2, 3, 32, 32)).astype(np.float32))
    for conditional in (False, True):
        scorer = Scorer(conditional)
        ms.set_context(mode=ms.PYNATIVE_MODE)
        eager = scorer(images).asnumpy()
        ms.set_context(mode=ms.GRAPH_MODE)
        graph = scorer(images).asnumpy()
        ms.set_context(mode=ms.PYNATIVE_MODE)
        assert eager.shape == (2, 4)
        np.testing.assert_allclose(graph, eager, rtol=0, atol=1e-5)
