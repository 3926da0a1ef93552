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
"""Data-parallel random draws: with use_global_batch_draws, the workers' Dropout / DropPath / SpecAugment masks are
the blocks of the mask one process draws for the whole global batch (so 2 workers train exactly as 1 process)."""
import numpy as np
import pytest
import mindspore as ms
from mindspore import nn, ops

from src.backbones.audio_frontend import AudioFrontend
from src.backbones.layers import Dropout, DropPath, use_global_batch_draws


def _draws(make, x_global, axis, workers):
    """Outputs of a fresh cell (fixed kernel seeds) called twice on the global input, and of `workers` cells, one per
    rank, each called twice on that rank's block of the input; the ranks' outputs concatenated along `axis`."""
    outputs = []
    for rank in range(workers):
        cell = make()
        cell.uniform = ops.UniformReal(5, 7)
        cell.set_train(True)
        use_global_batch_draws(cell, rank, workers)
        rows = x_global.shape[axis] // workers
        x = ms.Tensor(np.take(x_global, np.arange(rank * rows, (rank + 1) * rows), axis=axis))
        outputs.append([cell(x).asnumpy() for _ in range(2)])
    return [np.concatenate([o[step] for o in outputs], axis) for step in range(2)]


@pytest.mark.parametrize("make,shape,axis", [
    (lambda: Dropout(0.5, batch_axis=1), (3, 4, 5), 1),        # sequence-first [L, B, C]
    (lambda: Dropout(0.3), (4, 2, 3, 3), 0),
    (lambda: DropPath(0.5), (8, 3, 2), 0),
])
def test_two_workers_draw_the_blocks_of_the_global_mask(make, shape, axis):
    ms.set_context(mode=ms.GRAPH_MODE)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32) + 3.0      # no zeros of its own
    single = _draws(make, x, axis, 1)
    split = _draws(make, x, axis, 2)
    for one, two in zip(single, split):
        assert np.array_equal(one, two)
    assert not np.array_equal(single[0], single[1])              # the kernel state advances between calls
    assert 0 < np.mean(single[0] == 0) < 1                       # something was dropped, something kept


def test_spec_augment_stripes_of_two_workers_are_those_of_one_process():
    ms.set_context(mode=ms.GRAPH_MODE)
    x = np.random.default_rng(1).standard_normal((6, 63, 16)).astype(np.float32) + 3.0

    class Augment(nn.Cell):
        def __init__(self):
            super().__init__()
            self.front = AudioFrontend(sample_rate=8000, clip_samples=8000, n_fft=256, hop_size=128, mel_bins=16,
                                       spec_size=64, fmax=3800.0, time_drop_width=8, time_stripes=2, freq_drop_width=4,
                                       freq_stripes=2)

        def construct(self, spec):
            return self.front.spec_augment(spec)

    def make():
        cell = Augment()
        cell.front.uniform = ops.UniformReal(5, 7)
        return cell

    outputs = []
    for workers in (1, 2):
        blocks = []
        for rank in range(workers):
            cell = make()
            cell.set_train(True)
            use_global_batch_draws(cell, rank, workers)
            rows = 6 // workers
            blocks.append(cell(ms.Tensor(x[rank * rows:(rank + 1) * rows])).asnumpy())
        outputs.append(np.concatenate(blocks))
    assert np.array_equal(outputs[0], outputs[1])
    assert 0 < np.mean(outputs[0] == 0) < 0.9
