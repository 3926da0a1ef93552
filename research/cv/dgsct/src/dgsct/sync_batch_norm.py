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
"""Training-mode BatchNorm whose batch statistics cover the global batch of all data-parallel workers.

Under msrun each worker sees batch_size / N clips. A plain BatchNorm normalises with the statistics of that share
only, which is a different function from single-process training on the whole batch (with 2 clips per worker the
prompt modules' BatchNorm subtracts a mean of 2 videos). Here the per-channel sum and sum of squares are all-reduced
in the forward pass, so every worker normalises with the mean and the (biased) variance of the global batch, as one
process would; the gradient flows through the all-reduce. The running statistics are updated as nn.BatchNorm does
(moving = (1 - m) * moving + m * batch, unbiased variance), with the global statistics, so they stay equal on
every worker.
"""
from mindspore import ops

# cells that call cross_rank_batch_norm in training carry this attribute (1 = plain BatchNorm)
WORKERS_ATTR = "batch_norm_workers"


def cross_rank_batch_norm(rows, bn, all_reduce, workers):
    """rows [R, C] (this worker's R rows), `bn` an nn.BatchNorm cell over C channels -> normalised rows [R, C]."""
    count = rows.shape[0] * workers
    mean = all_reduce(rows.sum(axis=0)) / count
    mean_sq = all_reduce((rows * rows).sum(axis=0)) / count
    var = ops.maximum(mean_sq - mean * mean, 0.0)
    out = (rows - mean) / ops.sqrt(var + bn.eps) * bn.gamma + bn.beta
    rate = bn.momentum                     # MindSpore keeps 1 - the constructor's momentum here
    batch_mean, batch_var = ops.stop_gradient(mean), ops.stop_gradient(var) * (count / (count - 1))
    update_mean = ops.assign(bn.moving_mean, (1 - rate) * bn.moving_mean + rate * batch_mean)
    update_var = ops.assign(bn.moving_variance, (1 - rate) * bn.moving_variance + rate * batch_var)
    return ops.depend(out, ops.depend(update_mean, update_var))


def use_cross_rank_batch_norm(net, workers):
    """Switch every cell of `net` that supports it to global-batch BatchNorm statistics over `workers` ranks
    (call after mindspore.communication.init(), before the first training step); returns how many cells."""
    if workers <= 1:
        return 0
    count = 0
    for _, cell in net.cells_and_names():
        if hasattr(cell, WORKERS_ATTR):
            setattr(cell, WORKERS_ATTR, int(workers))
            cell.all_reduce = ops.AllReduce()
            count += 1
    return count
