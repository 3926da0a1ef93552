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
"""MGN head (official nets/mgn.py) and AVVP losses (main.py) on random encoder outputs: assignment variants, init, loss
values,
a few training steps in GRAPH_MODE, MindIR export -> load -> same outputs."""
import math

import numpy as np
import pytest
import mindspore as ms
from mindspore import Tensor, nn, ops

from src.heads.avvp_mgn import (AssignAttention, AVVPLoss, GroupingBlock, MGNConfig, MGNHead, ModalityTrans,
                                sample_mixup_lambda)

TINY = dict(audio_dim=24, video_dim=32, st_dim=16, dim=32, depth_aud=1, depth_vis=1, depth_av=1, num_heads=4,
            temporal_d_model=8, temporal_ff=32)


def _inputs(batch=2, seed=0):
    rng = np.random.default_rng(seed)
    a = Tensor(rng.normal(size=(batch, 10, 24)).astype(np.float32))
    v = Tensor(rng.normal(size=(batch, 10, 32)).astype(np.float32))
    st = Tensor(rng.normal(size=(batch, 10, 16)).astype(np.float32))
    return a, v, st


def test_assignment_variants(pynative):
    rng = np.random.default_rng(1)
    q = Tensor(rng.normal(size=(2, 5, 16)).astype(np.float32))    # 5 groups
    k = Tensor(rng.normal(size=(2, 7, 16)).astype(np.float32))    # 7 inputs
    soft = AssignAttention(16, hard=False, gumbel=False)
    soft.set_train(False)
    out, soft_map, hard_map = soft(q, k)
    assert out.shape == (2, 5, 16)
    # soft assignment: a distribution over the GROUP axis for every input
    np.testing.assert_allclose(hard_map.asnumpy().sum(axis=1), 1.0, rtol=1e-5)
    # 'soft' map = 1 + softmax over inputs -> each group's row sums to 7 + 1
    np.testing.assert_allclose(soft_map.asnumpy().sum(axis=2), 8.0, rtol=1e-5)
    assert soft_map.asnumpy().min() > 1.0

    hard = AssignAttention(16, hard=True, gumbel=False)
    hard.set_train(False)
    logits = Tensor(rng.normal(size=(2, 5, 7)).astype(np.float32))
    assign = hard.assignment(logits).asnumpy()
    np.testing.assert_array_equal(assign.sum(axis=1), 1.0)
    np.testing.assert_array_equal(assign.argmax(axis=1), logits.asnumpy().argmax(axis=1))
    # straight-through: the gradient is that of the soft assignment
    weights = Tensor(rng.normal(size=(2, 5, 7)).astype(np.float32))
    g_hard = ms.grad(lambda x: (hard.assignment(x) * weights).sum())(logits)
    g_soft = ms.grad(lambda x: (ops.softmax(x, axis=-2) * weights).sum())(logits)
    np.testing.assert_allclose(g_hard.asnumpy(), g_soft.asnumpy(), rtol=1e-5, atol=1e-6)

    gumbel = AssignAttention(16, hard=True, gumbel=True)
    gumbel.set_train(True)
    draws = np.stack([gumbel.assignment(logits).asnumpy() for _ in range(20)])
    np.testing.assert_array_equal(draws.sum(axis=2), 1.0)          # one-hot over groups in training
    assert len({d.argmax(axis=1).tobytes() for d in draws}) > 1    # and random
    gumbel.set_train(False)                                        # eval: deterministic hard argmax
    np.testing.assert_array_equal(gumbel.assignment(logits).asnumpy(), assign)


def test_grouping_shapes_and_han(pynative):
    rng = np.random.default_rng(2)
    block = GroupingBlock(16, 4, num_group_tokens=6, num_output_groups=3, hard=False, gumbel=False)
    x = Tensor(rng.normal(size=(2, 10, 16)).astype(np.float32))
    tokens = Tensor(rng.normal(size=(2, 6, 16)).astype(np.float32))
    out, soft_map, _ = block(x, tokens)
    assert out.shape == (2, 3, 16) and soft_map.shape == (2, 3, 10)
    assert block.mlp_inter.fc1.weight.shape == (8, 6)               # token-mixing MLP 6 -> dim/2 -> 3
    trans = ModalityTrans(16, depth=2, num_heads=4, num_group_tokens=6, hard=False, drop_path=0.1, han_tokens=10)
    trans.set_train(False)
    assert trans.han_encoder.assign.hard and trans.han_encoder.assign.gumbel   # opposite of the soft grouping
    out, soft_map, _ = trans(x, Tensor(rng.normal(size=(6, 16)).astype(np.float32)), x)
    assert out.shape == (2, 6, 16) and soft_map.shape == (2, 6, 10)


def test_head_init_outputs_and_config(pynative):
    head = MGNHead(MGNConfig(**TINY))
    assert not head.audio_token.asnumpy().any() and not head.visual_token.asnumpy().any()
    w = head.av_mcg.blocks[0].mlp.fc1.weight.asnumpy()
    assert abs(w.std() - 0.02) < 0.003 and np.abs(w).max() < 0.1   # trunc-normal(0.02)
    assert not head.fc_prob.bias.asnumpy().any()
    ln = head.audio_cug.grouping.norm_x
    assert ln.epsilon == 1e-5 and (ln.gamma.asnumpy() == 1).all()
    # the temporal block keeps PyTorch's default init (not trunc-normal): uniform(+-1/sqrt(fan_in))
    assert np.abs(head.temporal_attn.audio_gated.weight.asnumpy()).max() <= 1 / math.sqrt(8) + 1e-6
    head.set_train(False)
    aud_cls, vis_cls, glob, a_prob, v_prob, a_frame, v_frame = head(*_inputs())
    assert aud_cls.shape == vis_cls.shape == (25, 25)
    assert glob.shape == a_prob.shape == v_prob.shape == (2, 25)
    assert a_frame.shape == v_frame.shape == (2, 10, 25)
    # soft maps lie in (1, 2), so frame probabilities lie in (p, 2p) of the video-level probability
    ratio = a_frame.asnumpy() / a_prob.asnumpy()[:, None, :]
    assert ratio.min() > 1.0 and ratio.max() < 2.0
    with pytest.raises(ValueError, match="head.unimodal_assign"):
        MGNConfig(unimodal_assign="gumbel").validate()


def test_loss_by_hand(pynative):
    loss = AVVPLoss()
    label = np.zeros((1, 25), np.float32)
    label[0, 3] = 1
    half = Tensor(np.full((1, 25), 0.5, np.float32))
    uniform_cls = Tensor(np.zeros((25, 25), np.float32))
    frames = Tensor(np.zeros((1, 10, 25), np.float32))      # frame outputs are not part of the loss
    total, *parts = loss(uniform_cls, uniform_cls, half, half, half, frames, frames, Tensor(label))
    # every BCE at p = 0.5 is log 2 whatever the (smoothed) target; CE of uniform logits over 25 classes is log 25
    np.testing.assert_allclose([p.asnumpy() for p in parts], [math.log(2)] * 3 + [math.log(25)] * 2, rtol=1e-5)
    # visual target smoothing: y=1 -> 0.95, y=0 -> 0.05; with v_prob = 0.95 / 0.05 the BCE is H(0.95)
    v = np.where(label > 0, 0.95, 0.05).astype(np.float32)
    _, *parts = loss(uniform_cls, uniform_cls, half, half, Tensor(v), frames, frames, Tensor(label))
    entropy = -(0.95 * math.log(0.95) + 0.05 * math.log(0.05))
    np.testing.assert_allclose(parts[2].asnumpy(), entropy, rtol=1e-5)
    # clamping: p = 0 for a positive class costs -log(1e-7) / 25, not infinity
    zero = Tensor(np.zeros((1, 25), np.float32))
    _, *parts = loss(uniform_cls, uniform_cls, zero, half, half, frames, frames, Tensor(label))
    np.testing.assert_allclose(parts[0].asnumpy(), -math.log(1e-7) / 25 - 24 / 25 * math.log(1 - 1e-7), rtol=1e-4)


def test_mixup_lambda():
    lam = sample_mixup_lambda(4000, rng=np.random.default_rng(0))
    assert lam.shape == (4000,) and lam.dtype == np.float32
    # Beta(0.5, 0.5): mean 1/2, variance 1/8, U-shaped (more mass near 0 and 1 than in the middle)
    assert abs(lam.mean() - 0.5) < 0.02 and abs(lam.var() - 0.125) < 0.01
    assert ((lam < 0.1) | (lam > 0.9)).mean() > 0.35


class _HeadWithLoss(nn.Cell):
    def __init__(self, head, loss):
        super().__init__()
        self.head, self.loss = head, loss

    def construct(self, a, v, st, label):
        out = self.head(a, v, st)
        return self.loss(*out, label)[0]


def test_training_lowers_loss_and_export_roundtrip(graph_mode, tmp_path):
    ms.set_seed(0)
    head = MGNHead(MGNConfig(**TINY))
    a, v, st = _inputs(batch=4)
    label = Tensor((np.random.default_rng(3).random((4, 25)) < 0.2).astype(np.float32))
    net = _HeadWithLoss(head, AVVPLoss())
    opt = nn.Adam(head.trainable_params(), learning_rate=3e-3)
    grad_fn = ms.value_and_grad(net, None, opt.parameters)

    @ms.jit
    def step(a, v, st, label):
        loss, grads = grad_fn(a, v, st, label)
        opt(grads)
        return loss

    head.set_train(True)
    losses = [float(step(a, v, st, label)) for _ in range(6)]
    assert losses[-1] < losses[0] - 0.3, losses

    head.set_train(False)
    expected = [o.asnumpy() for o in head(a, v, st)]
    path = str(tmp_path / "mgn")
    ms.export(head, a, v, st, file_name=path, file_format="MINDIR")
    loaded = nn.GraphCell(ms.load(path + ".mindir"))
    for got, want in zip(loaded(a, v, st), expected):
        np.testing.assert_allclose(got.asnumpy(), want, rtol=1e-5, atol=1e-6)


def test_configs_use_real_keys():
    from src.config import load_config
    full = load_config("configs/avvp.yaml")
    assert full.head == MGNConfig() and full.prompt.num_tokens == 32 and full.prompt.tokens_init == "rand"
    assert (full.train.lr, full.train.batch_size, full.train.epochs) == (3e-4, 8, 40)
    assert (full.train.lr_step_epochs, full.train.lr_gamma) == (10, 0.1)
    load_config("configs/tiny/avvp.yaml").head.validate()
