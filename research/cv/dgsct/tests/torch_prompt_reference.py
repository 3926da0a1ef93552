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
"""PyTorch version of the DG-SCT cross-modal prompt module (AVE variant, conv alignment), written from the paper's
description with the official data layout: grouped 1x1 Conv2d + BatchNorm2d on [B', C, N, 1].

Used by tests/test_prompt_train_parity.py (train-mode parity incl. BatchNorm running statistics) and by
profile_dgsct.py (the PyTorch time of one prompt call at the real shapes). `functional_prompt` covers every variant
(resize alignment, gate order, no BN, the few-shot temporal gate) for tests/test_prompt.py and
tests/test_fewshot_net.py. Needs torch; import it only after
checking that torch is available.

`contiguous=True` makes the [B', C, N, 1] tensors entering the convolutions/BatchNorm contiguous, and the gradients
flowing back into BatchNorm too (the permute after BN2 would otherwise hand it a permuted gradient). The official code
uses permuted views (strides C*N, 1, C, 1); torch 2.14.1's CPU BatchNorm2d backward returns wrong gradients for such
views, so a gradient reference must be contiguous in both directions (the forward is the same either way).
"""
import math

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

_BN_NAMES = {"gamma": "weight", "beta": "bias", "moving_mean": "running_mean", "moving_variance": "running_var"}
_LN_NAMES = {"gamma": "weight", "beta": "bias"}


class _ContiguousGrad(torch.autograd.Function):
    """Identity whose backward makes the incoming gradient contiguous."""

    @staticmethod
    def forward(ctx, t):
        return t.view_as(t)

    @staticmethod
    def backward(ctx, grad):
        return grad.contiguous()


def torch_name(ms_name):
    """MindSpore parameter name of the prompt module -> the torch one (BatchNorm/LayerNorm leaves renamed)."""
    prefix, _, leaf = ms_name.rpartition(".")
    if prefix in ("bn1", "bn2"):
        leaf = _BN_NAMES[leaf]
    elif prefix in ("ln_before", "ln_post"):
        leaf = _LN_NAMES[leaf]
    return f"{prefix}.{leaf}" if prefix else leaf


class TorchPrompt(nn.Module):
    """Prompt module: own stream x [B', N, C], guide y [B', M, D] -> (out [B', N, C], pool map [B', 1, N])."""

    def __init__(self, dim, num_tokens, guide_dim, guide_tokens, reduction=8, groups=2, latent_tokens=32,
                 alpha=0.3, beta=0.05, contiguous=True):
        super().__init__()
        hidden, down = dim // 2, dim // reduction
        self.groups, self.alpha, self.beta, self.contiguous = groups, alpha, beta, contiguous
        self.conv_adapter = nn.Conv2d(guide_tokens, num_tokens, 1)
        self.fc = nn.Linear(guide_dim, dim)
        self.my_tokens = nn.Parameter(torch.rand(latent_tokens, dim))
        self.gate_av = nn.Parameter(torch.zeros(1))
        self.gate = nn.Parameter(torch.zeros(1))
        self.fc_affine_audio_1 = nn.Linear(dim, dim)
        self.fc_affine_video_1 = nn.Linear(dim, dim)
        self.fc_affine_bottleneck = nn.Linear(dim, hidden)
        self.fc_affine_v_c_att = nn.Linear(hidden, dim)
        self.fc_affine_video_2 = nn.Linear(dim, hidden)
        self.fc_affine_audio_2 = nn.Linear(dim, hidden)
        self.fc_affine_v_s_att = nn.Linear(hidden, 1)
        self.down_sampler = nn.Conv2d(dim, down, 1, groups=groups, bias=False)
        self.up_sampler = nn.Conv2d(down, dim, 1, groups=groups, bias=False)
        self.bn1 = nn.BatchNorm2d(down)
        self.bn2 = nn.BatchNorm2d(dim)
        self.ln_before = nn.LayerNorm(dim)
        self.ln_post = nn.LayerNorm(dim)

    def load_mindspore(self, params):
        """Copy a MindSpore CrossModalPrompt's {name: ndarray} into this module (names through `torch_name`)."""
        state = {torch_name(name): torch.tensor(np.asarray(value)) for name, value in params.items()}
        missing, unexpected = self.load_state_dict(state, strict=False)
        missing = [m for m in missing if not m.endswith("num_batches_tracked")]
        if missing or unexpected:
            raise KeyError(f"parameter mismatch: missing {missing}, unexpected {unexpected}")
        return self

    def _maybe_contiguous(self, t):
        return _ContiguousGrad.apply(t.contiguous()) if self.contiguous else t

    def forward(self, x, y):
        y = self.fc(self.conv_adapter(y.unsqueeze(-1)).squeeze(-1))              # [B', N, C]
        tokens = self.my_tokens.unsqueeze(0).expand(x.shape[0], -1, -1)
        tokens = tokens + torch.softmax(tokens @ y.transpose(1, 2), -1) @ y
        x1 = x + self.gate_av * (torch.softmax(x @ tokens.transpose(1, 2), -1) @ tokens)
        guide = y.mean(1, keepdim=True)
        pooled = (F.relu(self.fc_affine_audio_1(guide)) * F.relu(self.fc_affine_video_1(x1))).mean(1, keepdim=True)
        channel_map = torch.sigmoid(self.fc_affine_v_c_att(F.relu(self.fc_affine_bottleneck(pooled))))
        x_c = x1 * (channel_map + 1)
        logits = self.fc_affine_v_s_att(F.relu(self.fc_affine_video_2(x_c)) * F.relu(self.fc_affine_audio_2(guide)))
        pool = torch.softmax(torch.tanh(logits).transpose(1, 2), -1)
        x2 = x1 * (self.alpha * channel_map + self.beta * torch.sigmoid(logits) + 1 - self.alpha)
        z = self._maybe_contiguous(self.ln_before(x2).permute(0, 2, 1).unsqueeze(-1))    # [B', C, N, 1]
        z = F.relu(self._maybe_contiguous(self.bn1(self._maybe_contiguous(self.down_sampler(z)))))
        z = self._maybe_contiguous(self.bn2(self._maybe_contiguous(self.up_sampler(z))))
        out = self.gate * self.ln_post(z.squeeze(-1).permute(0, 2, 1))
        return out, pool


def functional_prompt(params, x, y, cfg, use_gate, train):
    """The prompt module written directly in torch (functional) for any PromptConfig variant, with the weights of a
    MindSpore CrossModalPrompt ({name: ndarray}, names relative to the module): x [B', N, C], y [B', M, D] ->
    (out [B', N, C], pool map [B', 1, N]). train: BatchNorm batch statistics, else the running ones."""
    F = torch.nn.functional
    p = {k: torch.tensor(v) for k, v in params.items()}
    if cfg.alignment == "resize":
        y = F.linear(y, p["fc.weight"], p["fc.bias"])
        s_in, s_out = int(math.sqrt(y.shape[1])), int(math.sqrt(x.shape[1]))
        grid = y.transpose(1, 2).reshape(y.shape[0], -1, s_in, s_in)
        y = F.interpolate(grid, size=(s_out, s_out), mode="bicubic", align_corners=False).flatten(2).transpose(1, 2)
    else:
        y = F.conv2d(y.unsqueeze(-1), p["conv_adapter.weight"], p["conv_adapter.bias"]).squeeze(-1)
        y = F.linear(y, p["fc.weight"], p["fc.bias"])
    tokens = p["my_tokens"].unsqueeze(0).expand(x.shape[0], -1, -1)
    tokens = tokens + torch.softmax(tokens @ y.transpose(1, 2), -1) @ y
    x1 = x + p["gate_av"] * (torch.softmax(x @ tokens.transpose(1, 2), -1) @ tokens)
    lin = lambda name, t: F.linear(t, p[name + ".weight"], p[name + ".bias"])  # noqa: E731
    guide = y.mean(1, keepdim=True)
    pooled = (F.relu(lin("fc_affine_audio_1", guide)) * F.relu(lin("fc_affine_video_1", x1))).mean(1, keepdim=True)
    m_c = torch.sigmoid(lin("fc_affine_v_c_att", F.relu(lin("fc_affine_bottleneck", pooled))))
    x_c = x1 * (m_c + 1)
    s = lin("fc_affine_v_s_att", F.relu(lin("fc_affine_video_2", x_c)) * F.relu(lin("fc_affine_audio_2", guide)))
    pool = torch.softmax(torch.tanh(s).transpose(1, 2), -1)
    if cfg.temporal_gate:
        # as the official few-shot module: guide vectors viewed as [B, 10, C], gate [B, 10, 1, 1] on [B, 10, N, C]
        videos = x.shape[0] // 10
        g_t = torch.sigmoid(lin("temporal_gated.0", guide.reshape(videos, 10, -1))).unsqueeze(-1)
        view = lambda t: t.reshape(videos, 10, t.shape[1], t.shape[2])  # noqa: E731
        x2 = view(x1) * (cfg.alpha * view(m_c) + cfg.beta * view(torch.sigmoid(s)) + cfg.gamma * g_t + 1 - cfg.alpha)
        x2 = x2.reshape(x1.shape)
    else:
        x2 = x1 * (cfg.alpha * m_c + cfg.beta * torch.sigmoid(s) + 1 - cfg.alpha)
    ln = lambda name, t: F.layer_norm(t, (t.shape[-1],), p[name + ".gamma"], p[name + ".beta"], 1e-5)  # noqa: E731
    if cfg.apply_ln_before:
        x2 = ln("ln_before", x2)
    z = x2.transpose(1, 2).unsqueeze(-1).contiguous()

    def bn(name, t):   # written out (BatchNorm2d over (B', N)); batch statistics in train mode, running ones in eval
        if train:
            mean, var = t.mean((0, 2, 3), keepdim=True), t.var((0, 2, 3), unbiased=False, keepdim=True)
        else:
            mean = p[name + ".moving_mean"].view(1, -1, 1, 1)
            var = p[name + ".moving_variance"].view(1, -1, 1, 1)
        scale = p[name + ".gamma"].view(1, -1, 1, 1) / torch.sqrt(var + 1e-5)
        return (t - mean) * scale + p[name + ".beta"].view(1, -1, 1, 1)
    z = F.conv2d(z, p["down_sampler.weight"], groups=cfg.groups)
    z = F.relu(bn("bn1", z) if cfg.use_bn else z)
    z = F.conv2d(z, p["up_sampler.weight"], groups=cfg.groups)
    z = (bn("bn2", z) if cfg.use_bn else z).squeeze(-1).transpose(1, 2)
    if cfg.gate_before_ln_post:
        z = ln("ln_post", p["gate"] * z if use_gate else z)
    else:
        z = ln("ln_post", z)
        z = p["gate"] * z if use_gate else z
    return z, pool
