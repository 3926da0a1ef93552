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
"""CLIP (Radford et al., ICML 2021) image and text encoders with block-level access, for DG-SCT few/zero-shot.

The DG-SCT few-shot network replaces Swin-V2 by the CLIP ViT-B/32 image tower and inserts its cross-modal modules
between the sub-steps of every ViT block, so the image tower exposes the same steps as the Swin/HTS-AT backbones::

    x = clip.visual.embed(images)                    # [B, 3, 224, 224] -> [B, 1 + 7*7, 768] (class token first)
    for blk in clip.visual.transformer.resblocks:
        x = x + blk.attn_residual(x)                 # attn(ln_1(x))
        x = x + blk.mlp_residual(x)                  # c_proj(QuickGELU(c_fc(ln_2(x))))
    image_embedding = clip.visual.head(x)            # ln_post(class token) @ proj -> [B, 512]

The text tower takes token ids, or token embeddings for learned prompts (CoOp/CoCoOp insert context vectors
between the start token and the class-name tokens)::

    e = clip.text.token_embedding(ids)               # [N, 77] -> [N, 77, 512]
    text_embedding = clip.text.encode_embeddings(e, eot_index)   # causal transformer, ln_final, EOT token @ proj

Architecture facts (OpenAI CLIP): pre-norm residual blocks with LayerNorm eps 1e-5, a single packed q/k/v input
projection with bias, scaled dot-product attention (q * head_dim^-0.5), MLP width 4x with QuickGELU
x * sigmoid(1.702 x); image: Conv2d(k = s = patch, no bias), learned class embedding and absolute positional
embedding, ln_pre before the transformer, ln_post on the class token, linear projection without bias; text: learned
absolute positional embedding, causal attention mask (a token attends to itself and earlier tokens), ln_final,
pooling at the end-of-text token (the highest id in the vocabulary, hence argmax over the ids), projection without
bias. Tokens are kept as [batch, length, width] (the PyTorch code transposes to [length, batch, width] internally;
the result is the same).

Parameter names follow the OpenAI state dict with LayerNorm ``gamma``/``beta``, the attention's packed projection as
Dense cells (``attn.in_proj``, ``attn.out_proj``), the text tower under ``text.`` and the token table as
``text.token_embedding.embedding_table`` (see src/convert/clip_table.py).
"""
import math
from dataclasses import dataclass, replace

import numpy as np

import mindspore as ms
from mindspore import Parameter, nn, ops

from .layers import as_constant, l2_normalize, layer_norm

QUICK_GELU_SCALE = 1.702
INIT_LOGIT_SCALE = math.log(1.0 / 0.07)   # CLIP's initial temperature


@dataclass
class CLIPConfig:
    """CLIP hyper-parameters; the defaults are ViT-B/32 (OpenAI ``ViT-B-32.pt``, 151.3M parameters)."""
    embed_dim: int = 512            # joint image-text embedding size
    image_size: int = 224
    patch_size: int = 32
    vision_width: int = 768
    vision_layers: int = 12
    vision_heads: int = 12
    context_length: int = 77
    vocab_size: int = 49408
    text_width: int = 512
    text_layers: int = 12
    text_heads: int = 8
    mlp_ratio: float = 4.0

    @classmethod
    def vit_b32(cls, **overrides):
        return replace(cls(), **overrides)

    @classmethod
    def tiny(cls, **overrides):
        """Same code path at test size: 32 px images in 8 px patches (17 tokens), widths 64/32, 2 blocks each."""
        base = cls(embed_dim=24, image_size=32, patch_size=8, vision_width=64, vision_layers=2, vision_heads=2,
                   context_length=16, vocab_size=600, text_width=32, text_layers=2, text_heads=2)
        return replace(base, **overrides)

    @property
    def grid(self):
        return self.image_size // self.patch_size

    def validate(self):
        if self.image_size % self.patch_size:
            raise ValueError(f"image_size {self.image_size} is not divisible by patch_size {self.patch_size}")
        for name, width, heads in (("vision", self.vision_width, self.vision_heads),
                                   ("text", self.text_width, self.text_heads)):
            if width % heads:
                raise ValueError(f"{name}_width {width} is not divisible by {name}_heads {heads}")
        return self


class QuickGELU(nn.Cell):
    """x * sigmoid(1.702 x), the GELU approximation the OpenAI CLIP weights were trained with."""

    def construct(self, x):
        return x * ops.sigmoid(QUICK_GELU_SCALE * x)


class SelfAttention(nn.Cell):
    """Multi-head self-attention with one packed q/k/v projection (PyTorch ``nn.MultiheadAttention`` layout)."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.head_dim = width // heads
        self.scale = self.head_dim ** -0.5
        self.in_proj = nn.Dense(width, 3 * width)
        self.out_proj = nn.Dense(width, width)

    def construct(self, x, mask=None):
        """x [B, L, C]; mask None or an additive [L, L] table (0 / -inf)."""
        b, n, c = x.shape
        qkv = self.in_proj(x).reshape(b, n, 3, self.heads, self.head_dim).transpose(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]
        attn = ops.matmul(q, k.swapaxes(-2, -1))                        # [B, heads, L, L]
        if mask is not None:
            attn = attn + mask
        attn = ops.softmax(attn, -1)
        x = ops.matmul(attn, v).transpose(0, 2, 1, 3).reshape(b, n, c)
        return self.out_proj(x)


class CLIPMlp(nn.Cell):
    """c_fc -> QuickGELU -> c_proj."""

    def __init__(self, width: int, hidden: int):
        super().__init__()
        self.c_fc = nn.Dense(width, hidden)
        self.gelu = QuickGELU()
        self.c_proj = nn.Dense(hidden, width)

    def construct(self, x):
        return self.c_proj(self.gelu(self.c_fc(x)))


class ResidualAttentionBlock(nn.Cell):
    """Pre-norm block: x + attn(ln_1(x)), then + mlp(ln_2(x))."""

    def __init__(self, width: int, heads: int, mlp_ratio: float = 4.0):
        super().__init__()
        self.ln_1 = layer_norm(width)
        self.attn = SelfAttention(width, heads)
        self.ln_2 = layer_norm(width)
        self.mlp = CLIPMlp(width, int(width * mlp_ratio))

    def attn_residual(self, x, mask=None):
        return self.attn(self.ln_1(x), mask)

    def mlp_residual(self, x):
        return self.mlp(self.ln_2(x))

    def construct(self, x, mask=None):
        x = x + self.attn_residual(x, mask)
        return x + self.mlp_residual(x)


class Transformer(nn.Cell):
    """A stack of ``resblocks`` sharing one (optional) attention mask."""

    def __init__(self, width: int, layers: int, heads: int, mlp_ratio: float = 4.0):
        super().__init__()
        self.width = width
        self.resblocks = nn.CellList([ResidualAttentionBlock(width, heads, mlp_ratio) for _ in range(layers)])

    def construct(self, x, mask=None):
        for blk in self.resblocks:
            x = blk(x, mask)
        return x


class VisionTransformer(nn.Cell):
    """CLIP image tower: ``embed`` -> ``transformer`` -> ``head``; construct(images) = image embedding [B, D]."""

    def __init__(self, cfg: CLIPConfig):
        super().__init__()
        width = cfg.vision_width
        self.width = width
        self.num_tokens = cfg.grid * cfg.grid + 1
        self.conv1 = nn.Conv2d(3, width, kernel_size=cfg.patch_size, stride=cfg.patch_size, pad_mode="valid",
                               has_bias=False)
        self.class_embedding = Parameter(ms.Tensor(np.zeros(width, np.float32)))
        self.positional_embedding = Parameter(ms.Tensor(np.zeros((self.num_tokens, width), np.float32)))
        self.ln_pre = layer_norm(width)
        self.transformer = Transformer(width, cfg.vision_layers, cfg.vision_heads, cfg.mlp_ratio)
        self.ln_post = layer_norm(width)
        self.proj = Parameter(ms.Tensor(np.zeros((width, cfg.embed_dim), np.float32)))

    def embed(self, images):
        """[B, 3, H, W] -> [B, 1 + (H/p)*(W/p), width]: patch tokens after the class token, + positions, ln_pre."""
        x = self.conv1(images)
        b = x.shape[0]
        x = x.reshape(b, self.width, -1).transpose(0, 2, 1)
        cls = ops.broadcast_to(self.class_embedding.reshape(1, 1, self.width), (b, 1, self.width))
        x = ops.concat((cls, x), axis=1) + self.positional_embedding
        return self.ln_pre(x)

    def head(self, tokens):
        """Final tokens [B, L, width] -> ln_post(class token) @ proj -> [B, embed_dim]."""
        return ops.matmul(self.ln_post(tokens[:, 0]), self.proj)

    def forward_features(self, images):
        """Returns (tokens after the last block [B, L, width], image embedding [B, embed_dim])."""
        tokens = self.transformer(self.embed(images))
        return tokens, self.head(tokens)

    def construct(self, images):
        return self.forward_features(images)[1]


def causal_mask(length: int) -> np.ndarray:
    """[L, L] additive mask: 0 on and below the diagonal, -inf above (token i sees tokens 0..i)."""
    return np.triu(np.full((length, length), -np.inf, np.float32), 1)


class TextTransformer(nn.Cell):
    """CLIP text tower; construct(ids [N, L] int) = text embedding [N, D] pooled at each row's highest id (EOT)."""

    def __init__(self, cfg: CLIPConfig):
        super().__init__()
        width = cfg.text_width
        self.context_length = cfg.context_length
        self.token_embedding = nn.Embedding(cfg.vocab_size, width)
        self.positional_embedding = Parameter(ms.Tensor(np.zeros((cfg.context_length, width), np.float32)))
        self.transformer = Transformer(width, cfg.text_layers, cfg.text_heads, cfg.mlp_ratio)
        self.ln_final = layer_norm(width)
        self.text_projection = Parameter(ms.Tensor(np.zeros((width, cfg.embed_dim), np.float32)))
        self.attn_mask = as_constant(causal_mask(cfg.context_length))

    def encode_embeddings(self, embeddings, eot_index):
        """Token embeddings [N, L, width] (ids already looked up, or learned prompts) and the position of each row's
        end-of-text token [N] -> [N, embed_dim]."""
        length = embeddings.shape[1]
        x = embeddings + self.positional_embedding[:length]
        x = self.ln_final(self.transformer(x, self.attn_mask[:length, :length]))
        pooled = ops.gather(x, eot_index.astype(ms.int32), 1, batch_dims=1)      # [N, width]
        return ops.matmul(pooled, self.text_projection)

    def construct(self, ids):
        return self.encode_embeddings(self.token_embedding(ids), ops.argmax(ids, -1))


class CLIP(nn.Cell):
    """Both towers and the learned temperature: construct(images, ids) -> (image logits [B, N], text logits [N, B])
    = exp(logit_scale) * cosine similarities, as CLIP's zero-shot classifier."""

    def __init__(self, cfg: CLIPConfig = None):
        super().__init__()
        self.cfg = (cfg or CLIPConfig()).validate()
        self.visual = VisionTransformer(self.cfg)
        self.text = TextTransformer(self.cfg)
        # shape [1], not a scalar: MindSpore checkpoints store 0-d tensors as [1]
        self.logit_scale = Parameter(ms.Tensor(np.array([INIT_LOGIT_SCALE], np.float32)))
        self._init_weights()

    def _init_weights(self, seed=None):
        """OpenAI CLIP's initialisation (normal with width-dependent stds); pretrained weights are loaded over it.
        numpy RNG: MindSpore's initializers are slow for the 38M-entry vocabulary table."""
        rng = np.random.default_rng(np.random.randint(2 ** 31) if seed is None else seed)

        def normal(param, std):
            param.set_data(ms.Tensor((rng.standard_normal(param.shape, dtype=np.float32) * std).astype(np.float32)))

        def zeros(param):
            param.set_data(ms.Tensor(np.zeros(param.shape, np.float32)))

        vis, txt = self.visual, self.text
        scale = vis.width ** -0.5
        normal(vis.conv1.weight, (3 * self.cfg.patch_size ** 2) ** -0.5)
        normal(vis.class_embedding, scale)
        normal(vis.positional_embedding, scale)
        normal(vis.proj, scale)
        normal(txt.token_embedding.embedding_table, 0.02)
        normal(txt.positional_embedding, 0.01)
        normal(txt.text_projection, self.cfg.text_width ** -0.5)
        for tower in (vis.transformer, txt.transformer):
            width, layers = tower.width, len(tower.resblocks)
            attn_std, proj_std, fc_std = width ** -0.5, width ** -0.5 * (2 * layers) ** -0.5, (2 * width) ** -0.5
            for blk in tower.resblocks:
                normal(blk.attn.in_proj.weight, attn_std)
                zeros(blk.attn.in_proj.bias)
                normal(blk.attn.out_proj.weight, proj_std)
                zeros(blk.attn.out_proj.bias)
                normal(blk.mlp.c_fc.weight, fc_std)
                normal(blk.mlp.c_proj.weight, proj_std)

    def encode_image(self, images):
        return self.visual(images)

    def encode_text(self, ids):
        return self.text(ids)

    def construct(self, images, ids):
        image = self.encode_image(images)
        text = self.encode_text(ids)
        image, text = l2_normalize(image), l2_normalize(text)
        logits = ops.exp(self.logit_scale) * ops.matmul(image, text.T)
        return logits, logits.T
