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
"""AVST head (official net_avst.py), AVQA losses (main_avst.py) and the grounding pre-training head on random encoder
outputs."""
import math

import numpy as np
import pytest
import mindspore as ms
from mindspore import Tensor, nn

from src.heads.avqa_avst import (AVGrounding, AVQALoss, AVSTConfig, AVSTHead, GroundingPretrainHead,
                                 QuestionEncoder, load_grounding_weights, matching_loss)

CFG = AVSTConfig(vocab_size=20, num_answers=7, audio_dim=24, visual_dim=32, match_hidden=(16, 8, 8))


def _inputs(batch=2, seed=0):
    rng = np.random.default_rng(seed)
    a = Tensor(rng.normal(size=(batch, 10, 24)).astype(np.float32))
    vp = Tensor(rng.normal(size=(batch, 10, 4, 32)).astype(np.float32))
    vn = Tensor(rng.normal(size=(batch, 10, 4, 32)).astype(np.float32))
    q = Tensor(rng.integers(1, 20, size=(batch, 14)).astype(np.int32))
    return a, vp, vn, q


def test_grounding_by_hand(pynative):
    g = AVGrounding(3, 2, (4, 4, 4))
    g.fc_gl.weight.set_data(Tensor(np.eye(2, 4, dtype=np.float32)))    # fc_gl picks the pooled feature ...
    g.fc_gl.bias.set_data(Tensor(np.zeros(2, np.float32)))
    visual = Tensor(np.array([[[3.0, 0.0], [0.0, 1.0]]], np.float32))  # two tokens: along x and along y
    fa = Tensor(np.array([[1.0, 0.0]], np.float32))
    out = g.ground(fa, visual).asnumpy()
    # ... so out = tanh(mean of the tokens) = tanh([1.5, 0.5])
    np.testing.assert_allclose(out, np.tanh([[1.5, 0.5]]), rtol=1e-6)
    g.fc_gl.weight.set_data(Tensor(np.eye(2, 4, k=2, dtype=np.float32)))  # now the grounded (attended) part
    out = g.ground(fa, visual).asnumpy()
    # normalised tokens (1,0), (0,1); cosine with fa: 1 and 0 -> softmax weights (e, 1)/(e+1)
    w = np.exp([1.0, 0.0]) / np.exp([1.0, 0.0]).sum()
    np.testing.assert_allclose(out, np.tanh([w]), rtol=1e-5)


def test_question_encoder_reads_padding(pynative):
    enc = QuestionEncoder(10, 8)
    q1 = Tensor(np.array([[3, 4, 0, 0]], np.int32))
    q2 = Tensor(np.array([[3, 4, 0, 0, 0]], np.int32))
    # the official encoder runs the LSTM over the pads too: a longer padding changes the feature
    assert enc(q1).shape == (1, 8)
    assert not np.allclose(enc(q1).asnumpy(), enc(q2).asnumpy())
    assert abs(enc.word2vec.embedding_table.asnumpy().std() - 1.0) < 0.3   # torch default N(0, 1)


def test_losses_by_hand(pynative):
    logits = Tensor(np.zeros((3, 7), np.float32))
    match = Tensor(np.zeros((30, 2), np.float32))
    total, qa, m = AVQALoss()(logits, match, match, Tensor(np.array([0, 1, 2], np.int32)))
    # uniform logits: CE = log 7 for the answers, log 2 for the matching rows; total = log 7 + 0.5 log 2
    np.testing.assert_allclose([qa.asnumpy(), m.asnumpy(), total.asnumpy()],
                               [math.log(7), math.log(2), math.log(7) + 0.5 * math.log(2)], rtol=1e-6)
    pos = Tensor(np.array([[0.0, 5.0]], np.float32))     # confident "match" on the positive row
    neg = Tensor(np.array([[5.0, 0.0]], np.float32))     # confident "no match" on the negative row
    np.testing.assert_allclose(matching_loss(pos, neg).asnumpy(), math.log(1 + math.exp(-5)), rtol=1e-5)


def test_outputs_and_grounding_transfer(pynative, tmp_path):
    head = AVSTHead(CFG)
    head.set_train(False)
    out, mpos, mneg = head(*_inputs())
    assert out.shape == (2, 7) and mpos.shape == mneg.shape == (20, 2)
    pre = GroundingPretrainHead(24, 32, (16, 8, 8))
    names = sorted(p.name for p in pre.get_parameters())
    assert names == sorted(p.name for p in head.grounding.get_parameters())
    assert len(names) == 14         # fc_a1, fc_a2, fc_gl, fc1..fc4 (weight + bias), as the official copy list
    path = str(tmp_path / "grounding.ckpt")
    ms.save_checkpoint(pre, path)
    assert load_grounding_weights(head, path) == 14
    np.testing.assert_array_equal(head.grounding.fc4.weight.asnumpy(), pre.grounding.fc4.weight.asnumpy())
    small = GroundingPretrainHead(24, 32, (16, 8, 4))
    ms.save_checkpoint(small, path)
    with pytest.raises(ValueError, match="shape mismatch"):
        load_grounding_weights(head, path)


class _HeadWithLoss(nn.Cell):
    def __init__(self, head, loss):
        super().__init__()
        self.head, self.loss = head, loss

    def construct(self, a, vp, vn, q, answer):
        out = self.head(a, vp, vn, q)
        return self.loss(out[0], out[1], out[2], answer)[0]


def test_training_lowers_loss_and_export_roundtrip(graph_mode, tmp_path):
    ms.set_seed(0)
    head = AVSTHead(CFG)
    a, vp, vn, q = _inputs(batch=4)
    answer = Tensor(np.array([1, 3, 5, 0], np.int32))
    net = _HeadWithLoss(head, AVQALoss())
    opt = nn.Adam(head.trainable_params(), learning_rate=5e-3)
    grad_fn = ms.value_and_grad(net, None, opt.parameters)

    @ms.jit
    def step(a, vp, vn, q, answer):
        loss, grads = grad_fn(a, vp, vn, q, answer)
        opt(grads)
        return loss

    head.set_train(True)
    losses = [float(step(a, vp, vn, q, answer)) for _ in range(6)]
    assert losses[-1] < losses[0] - 0.15, losses

    head.set_train(False)
    expected = [o.asnumpy() for o in head(a, vp, vn, q)]
    path = str(tmp_path / "avst")
    ms.export(head, a, vp, vn, q, file_name=path, file_format="MINDIR")
    loaded = nn.GraphCell(ms.load(path + ".mindir"))
    for got, want in zip(loaded(a, vp, vn, q), expected):
        np.testing.assert_allclose(got.asnumpy(), want, rtol=1e-5, atol=1e-6)


def test_configs_use_real_keys():
    from src.config import load_config
    full = load_config("configs/avqa.yaml")
    prompt = full.prompt
    assert (prompt.reduction, prompt.groups, prompt.num_tokens, prompt.tokens_init) == (8, 4, 2, "zeros")
    assert not prompt.use_bn and not prompt.audio_gate and full.train.lr == 1e-4
    assert full.head.match_weight == 0.5 and full.compat.official_negatives is False
    assert load_config("configs/avqa_grounding.yaml").train.batch_size == 128
    load_config("configs/tiny/avqa.yaml")
