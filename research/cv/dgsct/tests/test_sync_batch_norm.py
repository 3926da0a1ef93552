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
"""cross_rank_batch_norm: with the rows of every worker it computes what nn.BatchNorm2d computes on the whole batch
(output and running statistics). Two workers are simulated in one process: each worker's all-reduce returns the sum
of both workers' partial sums. The real 2-process run is tests/test_distributed_ave.py."""
import numpy as np
import mindspore as ms
from mindspore import nn

from src.dgsct.sync_batch_norm import cross_rank_batch_norm, use_cross_rank_batch_norm
from src.dgsct.torch_init import batch_norm2d
from conftest import MODEL_DIR


def _bn(channels):
    bn = batch_norm2d(channels)
    rng = np.random.default_rng(3)
    bn.gamma.set_data(ms.Tensor(rng.uniform(0.5, 1.5, channels).astype(np.float32)))
    bn.beta.set_data(ms.Tensor(rng.standard_normal(channels).astype(np.float32)))
    bn.moving_mean.set_data(ms.Tensor(rng.standard_normal(channels).astype(np.float32)))
    bn.moving_variance.set_data(ms.Tensor(rng.uniform(0.5, 2.0, channels).astype(np.float32)))
    bn.set_train(True)
    return bn


def test_two_simulated_workers_equal_batch_norm_on_the_whole_batch(pynative):
    rows = np.random.default_rng(0).standard_normal((12, 5)).astype(np.float32) * 3 + 2
    reference = _bn(5)
    expected = reference(ms.Tensor(rows.reshape(12, 5, 1, 1))).asnumpy().reshape(12, 5)
    halves = (rows[:6], rows[6:])
    outputs, stats = [], []
    for index, half in enumerate(halves):
        other = halves[1 - index]
        ours = _bn(5)
        # the all-reduce of this worker: its partial sum + the other worker's partial sum of the same quantity
        calls = iter([other.sum(axis=0), (other * other).sum(axis=0)])
        all_reduce = lambda partial: partial + ms.Tensor(next(calls))     # noqa: E731
        outputs.append(cross_rank_batch_norm(ms.Tensor(half), ours, all_reduce, 2).asnumpy())
        stats.append((ours.moving_mean.asnumpy(), ours.moving_variance.asnumpy()))
    np.testing.assert_allclose(np.concatenate(outputs), expected, rtol=1e-5, atol=1e-5)
    for mean, var in stats:
        np.testing.assert_allclose(mean, reference.moving_mean.asnumpy(), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(var, reference.moving_variance.asnumpy(), rtol=1e-5, atol=1e-6)


def test_gradient_matches_batch_norm(pynative):
    rows = np.random.default_rng(1).standard_normal((8, 4)).astype(np.float32)
    weights = ms.Tensor(np.random.default_rng(2).standard_normal((8, 4)).astype(np.float32))
    reference, ours = _bn(4), _bn(4)
    ref_grad = ms.grad(lambda x: (reference(x.reshape(8, 4, 1, 1)).reshape(8, 4) * weights).sum())(ms.Tensor(rows))
    our_grad = ms.grad(lambda x: (cross_rank_batch_norm(x, ours, lambda t: t, 1) * weights).sum())(ms.Tensor(rows))
    np.testing.assert_allclose(our_grad.asnumpy(), ref_grad.asnumpy(), rtol=1e-4, atol=1e-5)


def test_switch_reaches_prompt_modules_and_bn0():
    from src.config import load_config
    from src.dgsct.model import build_network
    cfg = load_config(str(MODEL_DIR / "configs" / "tiny" / "ave.yaml"), [])
    net, _ = build_network(cfg)
    assert use_cross_rank_batch_norm(net, 1) == 0
    cells = [cell for _, cell in net.cells_and_names() if getattr(cell, "batch_norm_workers", 0) == 1]
    prompts = len(net.encoder.vis_adapter_blocks_p1) * 4
    assert len(cells) == prompts + 1                     # every prompt module and the HTS-AT front end (bn0)
    assert isinstance(net.encoder.htsat.frontend.bn0, nn.BatchNorm2d)
