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
"""Primitives shared by the two DG-SCT backbones (Swin-V2 and HTS-AT).

Everything here follows the PyTorch/timm semantics the official DG-SCT code relies on:

* ``DropPath``: stochastic depth with a per-sample keep mask divided by the keep probability; identity in eval.
* ``Mlp``: Linear -> exact (erf) GELU -> Linear, cells named ``fc1`` / ``fc2`` like timm.
* ``layer_norm``: LayerNorm with eps 1e-5 (MindSpore's default is 1e-7); the one LayerNorm factory of the model.
* ``l2_normalize``: x / max(||x||, 1e-12) over one axis (torch ``F.normalize``).
* ``window_partition`` / ``window_reverse``: [B, H, W, C] <-> [B * nW, wh, ww, C].
* ``cyclic_shift``: ``np.roll`` over the two grid axes, built from slices + concat (``ops.roll`` has no CPU kernel).
* ``windows_from_tokens`` / ``tokens_from_windows``: [B, H*W, C] token map <-> shifted windows [B * nW, N, C]
  (the shift -> partition and reverse -> unshift halves of every (shifted-)window attention).
* ``window_token_orders`` / ``gather_tokens``: the same shift + partition (and its inverse) as one gather of the
  tokens with a constant index; ``head_orders`` / ``split_heads`` / ``merge_heads``: attention heads split from the qkv
  projection and merged back with gathers. The compiled block steps use these instead of transposes (a transpose inside
  a compiled graph keeps about twice its tensor resident after the call); their gradient is the inverse gather.
* ``effective_window``: window/shift actually used when the grid is not larger than the window (timm rule).
* ``shift_attn_mask`` / ``relative_position_index``: numpy tables built once at construction time; the caller keeps
  them as constant Tensors (not Parameters), so they never appear in checkpoints or in weight conversion.
* ``patch_merge_gather``: 2x2 neighbourhood gather in the order (0,0), (1,0), (0,1), (1,1) -> channel concat.
* ``PatchEmbed``: Conv2d(k = s = patch) -> flatten to tokens -> optional LayerNorm.
* ``trunc_normal``: fast numpy truncated normal for timm-style Linear init (MindSpore's initializer is slow).
* ``compiled_step`` / ``step_weights``: block steps written as module-level functions of their weights, compiled once
  per distinct input shape and reused by every block instance of that shape (see ``compiled_step``).
* ``layer_norm_fn`` / ``exact_gelu`` / ``mlp_branch``: functional forms used inside those compiled steps.
"""
import functools
import os
from typing import Optional, Sequence, Tuple, Union

import numpy as np

import mindspore as ms
from mindspore import nn, ops
from mindspore.common.seed import _get_graph_seed   # the seed counter of nn.Dropout
from mindspore.graph.api import _no_grad, _pynative_executor   # what ms.recompute uses for its PyNative bprop

LAYER_NORM_EPS = 1e-5
ATTN_MASK_VALUE = -100.0

IntPair = Union[int, Sequence[int]]


def to_pair(value: IntPair) -> Tuple[int, int]:
    """int -> (int, int); a 2-sequence is returned as a tuple of ints."""
    if isinstance(value, (int, np.integer)):
        return int(value), int(value)
    pair = tuple(int(v) for v in value)
    if len(pair) != 2:
        raise ValueError(f"expected an int or a pair of ints, got {value!r}")
    return pair


def trunc_normal(rng: np.random.Generator, shape, std: float, bound: float = 2.0) -> np.ndarray:
    """Normal(0, std) truncated to +-bound*std (redraws outside values), float32."""
    out = rng.standard_normal(shape, dtype=np.float32)
    bad = np.abs(out) > bound
    while bad.any():
        out[bad] = rng.standard_normal(int(bad.sum()), dtype=np.float32)
        bad = np.abs(out) > bound
    return out * np.float32(std)


def layer_norm(dim: int) -> nn.LayerNorm:
    """LayerNorm over the last axis with PyTorch's eps (1e-5); parameters are ``gamma`` / ``beta``."""
    return nn.LayerNorm((dim,), epsilon=LAYER_NORM_EPS)


def l2_normalize(x, axis: int = -1, eps: float = 1e-12):
    """x / max(||x||_2, eps) along `axis` (torch.nn.functional.normalize; equal to CLIP's x / x.norm() for x != 0)."""
    norm = ops.sqrt((x * x).sum(axis=axis, keepdims=True))
    return x / ops.maximum(norm, eps)


def as_constant(array: np.ndarray) -> ms.Tensor:
    """Numpy table -> constant Tensor (no Parameter: not trained, not saved, not converted)."""
    return ms.Tensor(np.ascontiguousarray(array))


def random_op_seeds():
    """(seed, seed2) for a random primitive. MindSpore 2.10 gives an ops.UniformReal() without seeds a fresh random
    seed in every process, whatever mindspore.set_seed says (same-seed runs differed); take them from the global
    seed and a creation counter instead, the one nn.Dropout uses (MindSpore's graph-seed counter, reset by
    mindspore.set_seed): same seed and same construction order = same random draws, also within one process."""
    if ms.get_seed() is None:
        return 0, 0                       # no seed set: the kernel picks a random one
    return _get_graph_seed(0, "dgsct_random_op")


# Cells that draw random numbers per sample (Dropout, DropPath, SpecAugment) carry these two attributes. Under data
# parallel (use_global_batch_draws) every worker draws the numbers of the whole global batch from the common seed and
# keeps the rows of its own share, so that the workers together draw exactly what one process draws for that batch.
DRAW_WORKERS_ATTR = "draw_workers"
DRAW_RANK_ATTR = "draw_rank"


def uniform_rows(uniform, shape, axis, workers, rank):
    """U[0, 1) draws of `shape`, whose `axis` holds this worker's rows of the global batch: with `workers` > 1 the
    draws of the global shape (axis * workers rows, worker r's rows being the r-th contiguous block), cut to rank's
    block. `uniform` is an ops.UniformReal with fixed seeds; shape, axis, workers and rank are compile-time values."""
    if workers == 1:
        return uniform(shape)
    rows = shape[axis]
    draws = uniform(shape[:axis] + (rows * workers,) + shape[axis + 1:])
    return ops.narrow(draws, axis, rank * rows, rows)


def use_global_batch_draws(net, rank, workers):
    """Make every random cell of `net` draw for the global batch of `workers` data-parallel ranks and keep rank's
    block (call before the first training step); returns how many cells."""
    count = 0
    for _, cell in net.cells_and_names():
        if hasattr(cell, DRAW_WORKERS_ATTR):
            setattr(cell, DRAW_WORKERS_ATTR, int(workers))
            setattr(cell, DRAW_RANK_ATTR, int(rank))
            count += 1
    return count


class Dropout(nn.Cell):
    """Inverted dropout (torch nn.Dropout semantics: zero each element with probability p in training, scale the rest
    by 1 / (1 - p); identity in eval mode) drawn from a seeded ops.UniformReal. `batch_axis` is the axis of x that
    holds the samples (0 for [B, ...], 1 for sequence-first [L, B, ...]); under data parallel the mask is the one of
    the global batch (see uniform_rows). nn.Dropout cannot do the latter: its kernel draws the local shape only."""

    def __init__(self, p: float = 0.5, batch_axis: int = 0):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"{self.cls_name}: the drop probability must be in [0, 1), got {p}")
        self.p = float(p)
        self.keep_prob = 1.0 - self.p
        self.batch_axis = batch_axis
        self.uniform = ops.UniformReal(*random_op_seeds())
        self.draw_workers = 1
        self.draw_rank = 0

    def mask_shape(self, shape):
        return shape                                                    # one draw per element

    def construct(self, x):
        if not self.training or self.p == 0.0:
            return x
        draws = uniform_rows(self.uniform, self.mask_shape(x.shape), self.batch_axis, self.draw_workers,
                             self.draw_rank)
        keep = ops.floor(draws + self.keep_prob).astype(x.dtype)          # 1 with probability keep_prob, else 0
        scale = keep / self.keep_prob
        if scale.shape != x.shape:
            # a broadcast product is several times slower than an equal-shape one on MindSpore's CPU kernels (forward
            # + backward of a stage-1 drop path: 164 ms CPU as x * keep / p, 66 ms as one product with the tiled scale)
            scale = ops.tile(scale, tuple(n // m for n, m in zip(x.shape, scale.shape)))
        return x * scale

    def extend_repr(self):
        return f"p={self.p}, batch_axis={self.batch_axis}"


class DropPath(Dropout):
    """Stochastic depth (timm semantics): in training, each sample's residual branch is kept with probability
    1 - drop_prob and divided by that probability (one draw per sample of axis 0); identity in eval mode or when
    drop_prob == 0."""

    def __init__(self, drop_prob: float = 0.0):
        super().__init__(drop_prob)
        self.drop_prob = self.p

    def mask_shape(self, shape):
        return (shape[0],) + (1,) * (len(shape) - 1)

    def extend_repr(self):
        return f"drop_prob={self.drop_prob}"


def compiled_step(fn):
    """``ms.jit(fn)`` for a module-level block step that receives every weight as a tensor argument.

    MindSpore keys its compile cache on the function and the shapes/dtypes of the tensor arguments (Python scalars and
    tuples are compile-time constants), so the 18 stage-3 Swin-V2 blocks share ONE compiled graph. ``ms.jit`` on a
    cell's method instead compiles one graph per cell instance, each holding its own weights and activation buffers
    (+0.39 GB and 5-16 s per stage-3 Swin-V2 block). Inside a GRAPH_MODE network the call is simply inlined.

    In a PyNative forward that records a backward (training), a step with any argument that requires a gradient runs
    through ``_Recomputed`` (gradient checkpointing): it keeps only its arguments and output for the backward and
    there recomputes the step inside one compiled graph that returns the gradients of the arguments that require one
    (the token map alone for a frozen backbone block). PyNative's own jit backward kept every intermediate of the step
    (attention maps, MLP hidden layers) from the forward to the backward, for all 36 backbone blocks and 48 prompt
    modules at once (2 GB per 10-s segment at full size), and computed the frozen weights' gradients besides; the
    recomputation costs one more forward of the step. It also reused the backward graph of a jit function across
    calls: a graph first differentiated with its weight arguments frozen, then used with them trainable, returned
    zero weight gradients (tests/test_compiled_step_grads.py); the recomputing cells are kept per pattern of which
    arguments require a gradient, so frozen and trainable uses never share a backward graph. Calls that record no
    backward (evaluation) run one ``ms.jit`` object per pattern as well."""
    graphs = {}
    recomputed = {}

    @functools.wraps(fn)
    def step(*args):
        key = tuple(bool(getattr(arg, "_requires_grad", False)) for arg in args)
        if any(key) and _recording_gradients():
            tensors = tuple(isinstance(arg, ms.Tensor) for arg in args)
            cell = recomputed.get((key, tensors))
            if cell is None:
                cell = recomputed[key, tensors] = _Recomputed(fn, key, tensors)
            return cell(*args)
        graph = graphs.get(key)
        if graph is None:
            graph = graphs[key] = ms.jit(fn)
        return graph(*args)
    return step


def _recording_gradients():
    """True in a compiled (not MS_JIT=0) PyNative forward that records operations for a backward (value_and_grad /
    grad)."""
    return (ms.get_context("mode") == ms.PYNATIVE_MODE and os.environ.get("MS_JIT") != "0"
            and _pynative_executor.grad_flag())


class _Recomputed(nn.Cell):
    """Custom-bprop cell: the forward runs ``fn`` compiled without recording its operations; the bprop recomputes
    ``fn`` in one compiled graph that returns the vector-Jacobian product for the arguments whose ``needs_grad`` is
    set (zeros for the other tensors, 0 for constants). ``is_tensor`` marks the tensor arguments: GradOperation's
    get_all returns one gradient per tensor argument only (None, numbers and tuples get none). Gradient
    checkpointing of one block step (see ``compiled_step``)."""

    def __init__(self, fn, needs_grad, is_tensor):
        super().__init__()
        self.step_name = fn.__name__          # which block step (profile_dgsct.py --full --train groups by it)
        self.forward = ms.jit(fn)
        tensor_args = [i for i, tensor in enumerate(is_tensor) if tensor]
        self.positions = tuple(i for i in tensor_args if needs_grad[i])
        slots = tuple(slot for slot, i in enumerate(tensor_args) if needs_grad[i])
        sens_grads = ops.GradOperation(get_all=True, sens_param=True)

        num_args = len(is_tensor)

        def vjp(*args):
            # the output gradients come as separate tensor arguments after fn's: a tuple argument of tensors would be
            # a compile-time constant (one recompilation per call)
            douts = args[num_args:]
            sens = douts[0] if len(douts) == 1 else douts
            grads = sens_grads(fn)(*args[:num_args], sens)
            return tuple(grads[slot] for slot in slots)
        self.vjp = ms.jit(vjp)

    def construct(self, *args):
        with _no_grad():
            return self.forward(*args)

    def bprop(self, *args):
        inputs, dout = args[:-2], args[-1]
        grads = self.vjp(*inputs, *(dout if isinstance(dout, tuple) else (dout,)))
        by_position = dict(zip(self.positions, grads))
        return tuple(by_position[i] if i in by_position else ops.zeros_like(a) if isinstance(a, ms.Tensor) else 0
                     for i, a in enumerate(inputs))


def step_weights(*params):
    """Parameters -> tensors to pass to a ``compiled_step``: ``p.reshape(p.shape)``, a view of the Parameter's memory
    (no copy; the gradient still flows back to the Parameter). Passing the Parameter itself makes MindSpore bind it
    into the compiled graph, which then gets recompiled (and duplicated in memory) for every instance; a copy
    (``p + 0``) stays resident after the call, because a compiled graph keeps its last inputs alive (one block's weights
    per graph). ``None`` (an absent bias) is passed through."""
    return tuple(None if p is None else p.reshape(p.shape) for p in params)


_LAYER_NORM = ops.LayerNorm(begin_norm_axis=-1, begin_params_axis=-1, epsilon=LAYER_NORM_EPS)


def layer_norm_fn(x, gamma, beta):
    """LayerNorm over the last axis with eps 1e-5 (the kernel nn.LayerNorm runs; ops.layer_norm has no CPU kernel).
    Its CPU backward kernel (LayerNormGrad) is 5x its forward on the stage-1 Swin-V2 token map; a hand-written
    backward (row means as matmuls) halved that time but kept about 0.8 GB more resident in the compiled
    recomputation graphs of a stage-1 block, so the kernel stays."""
    return _LAYER_NORM(x, gamma, beta)[0]


_SQRT_HALF = 0.7071067811865476
_INV_SQRT_2PI = 0.3989422804014327


def _one_plus_erf(x):
    # shared by the GELU forward and its backward: in one compiled graph the two identical Erf nodes are merged,
    # so the backward does not evaluate erf (MindSpore's CPU Erf is a scalar libm call per value) a second time
    return 1.0 + _ERF(x * _SQRT_HALF)


class _ExactGELU(nn.Cell):
    """x * Phi(x) with a hand-written backward dout * (Phi(x) + x * phi(x)): the derived one squared x with Pow (21 ms
    of the stage-1 Swin-V2 MLP backward) and went through more passes over the [tokens, 4C] hidden layer."""

    def construct(self, x):
        return 0.5 * x * _one_plus_erf(x)

    def bprop(self, x, out, dout):
        return (dout * (0.5 * _one_plus_erf(x) + x * _EXP(x * x * -0.5) * _INV_SQRT_2PI),)


_EXACT_GELU = _ExactGELU()


def exact_gelu(x):
    """x * Phi(x) = 0.5 * x * (1 + erf(x / sqrt(2))) (torch's default GELU) written with ops.erf: the same function
    as nn.GELU(approximate=False), about twice as fast on MindSpore's CPU kernels (backward: ``_ExactGELU``)."""
    return _EXACT_GELU(x)


_MATMUL_NT = ops.MatMul(transpose_b=True)


def dense(x, weight, bias=None):
    """nn.Dense on the last axis of any-rank x: one [rows, in] x [out, in]^T MatMul (+ BiasAdd), as nn.Dense runs."""
    rows = _MATMUL_NT(x.reshape(-1, x.shape[-1]), weight)
    if bias is not None:
        rows = ops.bias_add(rows, bias)
    return rows.reshape(x.shape[:-1] + (weight.shape[0],))


def mlp_branch(x, fc1_w, fc1_b, fc2_w, fc2_b, norm_g, norm_b, post_norm):
    """Un-dropped MLP residual branch: LN(fc2(GELU(fc1(x)))) (Swin-V2 res-post-norm, post_norm=True) or
    fc2(GELU(fc1(LN(x)))) (Swin-V1 / HTS-AT pre-norm)."""
    if not post_norm:
        x = layer_norm_fn(x, norm_g, norm_b)
    x = dense(exact_gelu(dense(x, fc1_w, fc1_b)), fc2_w, fc2_b)
    if post_norm:
        x = layer_norm_fn(x, norm_g, norm_b)
    return x


compiled_mlp_branch = compiled_step(mlp_branch)


class ExactGELU(nn.Cell):
    """Cell form of ``exact_gelu``."""

    def construct(self, x):
        return exact_gelu(x)


class Mlp(nn.Cell):
    """Transformer MLP: fc1 -> exact GELU -> dropout -> fc2 -> dropout (dropout omitted when 0)."""

    def __init__(self, in_features: int, hidden_features: Optional[int] = None,
                 out_features: Optional[int] = None, drop: float = 0.0):
        super().__init__()
        hidden_features = hidden_features or in_features
        out_features = out_features or in_features
        self.fc1 = nn.Dense(in_features, hidden_features)
        self.act = ExactGELU()
        self.fc2 = nn.Dense(hidden_features, out_features)
        self.drop = Dropout(p=drop) if drop > 0 else nn.Identity()
        self.drop_rate = drop

    def construct(self, x):
        x = self.drop(self.act(self.fc1(x)))
        return self.drop(self.fc2(x))

    def branch(self, x, norm, post_norm):
        """LayerNorm `norm` after (post_norm) or before the MLP, as one compiled step per shape when dropout is 0."""
        if self.drop_rate > 0:
            return norm(self(x)) if post_norm else self(norm(x))
        return compiled_mlp_branch(x, *step_weights(self.fc1.weight, self.fc1.bias, self.fc2.weight, self.fc2.bias,
                                                    norm.gamma, norm.beta), post_norm)


class PatchEmbed(nn.Cell):
    """[B, C_in, H, W] -> Conv2d(kernel = stride = patch) -> [B, (H/p)*(W/p), C] tokens -> optional LayerNorm.

    The convolution keeps its Conv2d parameters (checkpoint layout [C, C_in, p, p]) but runs as what it is, one matmul
    of the non-overlapping p x p patches with the flattened kernel: MindSpore's CPU Conv2d with stride 4 took about
    2.6 s per 10-frame clip for the two backbones' embeddings, the matmul a few tens of ms."""

    def __init__(self, in_chans: int, embed_dim: int, patch_size: int, norm: bool = True):
        super().__init__()
        self.embed_dim = embed_dim
        self.patch_size = patch_size
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size,
                              pad_mode="valid", has_bias=True)
        self.norm = layer_norm(embed_dim) if norm else nn.Identity()

    def construct(self, x):
        b, c, h, w = x.shape
        p = self.patch_size
        gh, gw = h // p, w // p
        x = x[:, :, :gh * p, :gw * p]         # valid padding: a partial patch at the border is dropped, as Conv2d
        patches = x.reshape(b, c, gh, p, gw, p).transpose(0, 2, 4, 1, 3, 5).reshape(b * gh * gw, c * p * p)
        x = dense(patches, self.proj.weight.reshape(self.embed_dim, c * p * p), self.proj.bias)
        return self.norm(x.reshape(b, gh * gw, self.embed_dim))


def window_partition(x, window: IntPair):
    """[B, H, W, C] -> [B * nW, wh, ww, C] (windows in row-major grid order)."""
    wh, ww = to_pair(window)
    b, h, w, c = x.shape
    x = x.reshape(b, h // wh, wh, w // ww, ww, c)
    return x.transpose(0, 1, 3, 2, 4, 5).reshape(-1, wh, ww, c)


def window_reverse(windows, window: IntPair, resolution: IntPair):
    """[B * nW, wh, ww, C] -> [B, H, W, C]; inverse of ``window_partition``."""
    wh, ww = to_pair(window)
    h, w = to_pair(resolution)
    c = windows.shape[-1]
    x = windows.reshape(-1, h // wh, w // ww, wh, ww, c)
    return x.transpose(0, 1, 3, 2, 4, 5).reshape(-1, h, w, c)


def _roll_axis1(x, shift: int):
    size = x.shape[1]
    shift %= size
    if shift == 0:
        return x
    return ops.concat((x[:, size - shift:], x[:, :size - shift]), axis=1)


def _roll_axis2(x, shift: int):
    size = x.shape[2]
    shift %= size
    if shift == 0:
        return x
    return ops.concat((x[:, :, size - shift:], x[:, :, :size - shift]), axis=2)


def cyclic_shift(x, shift: IntPair):
    """``np.roll(x, shift, axis=(1, 2))`` for [B, H, W, C] with slices + concat (CPU-safe replacement of ops.roll).
    A negative shift moves content towards index 0 (the Swin forward shift is ``-shift_size``)."""
    sh, sw = to_pair(shift)
    return _roll_axis2(_roll_axis1(x, sh), sw)


def windows_from_tokens(x, resolution: IntPair, window: IntPair, shift: IntPair):
    """Token map [B, H*W, C] -> cyclic shift by -shift -> window tokens [B * nW, wh*ww, C] (zero shift: no roll)."""
    (h, w), (wh, ww), (sh, sw) = to_pair(resolution), to_pair(window), to_pair(shift)
    b, _, c = x.shape
    x = cyclic_shift(x.reshape(b, h, w, c), (-sh, -sw))
    return window_partition(x, (wh, ww)).reshape(-1, wh * ww, c)


def tokens_from_windows(windows, resolution: IntPair, window: IntPair, shift: IntPair):
    """Inverse of ``windows_from_tokens``: [B * nW, wh*ww, C] -> reverse windows -> roll back -> [B, H*W, C]."""
    (h, w), (wh, ww) = to_pair(resolution), to_pair(window)
    c = windows.shape[-1]
    x = window_reverse(windows.reshape(-1, wh, ww, c), (wh, ww), (h, w))
    return cyclic_shift(x, shift).reshape(-1, h * w, c)


def window_token_order(resolution: IntPair, window: IntPair, shift: IntPair) -> Optional[np.ndarray]:
    """[H*W] int32: for each token of ``windows_from_tokens``' output (windows flattened in order), its position in
    the [B, H*W, C] token map; None when that order is the identity (one window, no shift). Gathering the tokens with
    it does the cyclic shift and the window partition in one op; gathering the windows with its argsort undoes them.
    Inside a compiled step a gather keeps no buffer resident, while every transpose in a graph kept about twice the
    transposed tensor after the call (+71 MB per graph for a 26 MB window partition, +13.5 MB with the gather)."""
    (h, w), (wh, ww), (sh, sw) = to_pair(resolution), to_pair(window), to_pair(shift)
    grid = np.roll(np.arange(h * w, dtype=np.int32).reshape(h, w), (-sh, -sw), axis=(0, 1))
    order = grid.reshape(h // wh, wh, w // ww, ww).transpose(0, 2, 1, 3).reshape(-1)
    return None if np.array_equal(order, np.arange(h * w)) else order


def window_token_orders(resolution: IntPair, window: IntPair, shift: IntPair):
    """(window order, token order) as constant index Tensors for ``gather_tokens``: tokens -> shifted windows and
    back; (None, None) when no reordering is needed."""
    order = window_token_order(resolution, window, shift)
    if order is None:
        return None, None
    return as_constant(order), as_constant(np.argsort(order).astype(np.int32))


# Primitive instances, not the functional ops.gather / ops.exp / ...: in a GRAPH_MODE training graph a functional op
# used both in a custom-bprop cell's construct and in a bprop failed to compile ("The func graph is empty")
_GATHER = ops.Gather()
_TILE = ops.Tile()
_EXP = ops.Exp()
_ERF = ops.Erf()


class _PermuteRows(nn.Cell):
    """x [B, L, ...] -> x[:, order] for a permutation `order` of L, whose gradient is the inverse gather (MindSpore's
    gather gradient is a scatter-add into zeros, several times slower)."""

    def construct(self, x, order, inverse):
        return _GATHER(x, order, 1)

    def bprop(self, x, order, inverse, out, dout):
        return _GATHER(dout, inverse, 1), ops.zeros_like(order), ops.zeros_like(inverse)


_PERMUTE_ROWS = _PermuteRows()


def head_orders(tokens: int, num_heads: int):
    """Constant gather indices that split and merge attention heads without a transpose: (split order, split inverse,
    merge order, merge inverse), permutations of 3 * heads * tokens and heads * tokens rows. Rows of a [B, tokens * 3 *
    heads, head_dim] view of the qkv projection in split order are [B, 3, heads, tokens, head_dim]; rows of a [B, heads
    * tokens, head_dim] view of the attention output in merge order are [B, tokens, heads * head_dim]. A transpose
    inside a compiled step keeps about twice its tensor resident after the call, a gather not."""
    split = np.arange(tokens * 3 * num_heads).reshape(tokens, 3 * num_heads).T.reshape(-1)
    merge = np.arange(num_heads * tokens).reshape(num_heads, tokens).T.reshape(-1)
    return tuple(as_constant(a.astype(np.int32)) for a in (split, np.argsort(split), merge, np.argsort(merge)))


def row_sums(x):
    """x [..., d] -> [..., 1], the sum over the last axis as one matmul with a column of ones: MindSpore's CPU
    ReduceSum over a short last axis is several times slower (15 ms for the stage-1 Swin-V2 queries, 4.4 M values)."""
    d = x.shape[-1]
    return ops.matmul(x.reshape(-1, d), ops.ones((d, 1), x.dtype)).reshape(x.shape[:-1] + (1,))


def token_sums(x):
    """x [B, N, C] -> [B, 1, C], the sum over the tokens (axis 1) as a batched matmul with a row of ones: MindSpore's
    CPU ReduceSum / ReduceMean over that axis took 20-34 ms for a stage-1 prompt map (10 x 2304 x 192)."""
    return _BATCH_MATMUL(ops.ones((x.shape[0], 1, x.shape[1]), x.dtype), x)


class _TileTokens(nn.Cell):
    """v [B, 1, C] -> [B, N, C] (ops.tile), whose gradient is ``token_sums`` instead of the derived ReduceSum."""

    def construct(self, v, n):
        return _TILE(v, (1, n, 1))

    def bprop(self, v, n, out, dout):
        return token_sums(dout), 0


class _TileChannels(nn.Cell):
    """v [B, N, 1] -> [B, N, C] (ops.tile), whose gradient is ``row_sums`` instead of the derived ReduceSum."""

    def construct(self, v, c):
        return _TILE(v, (1, 1, c))

    def bprop(self, v, c, out, dout):
        return row_sums(dout), 0


_TILE_TOKENS = _TileTokens()
_TILE_CHANNELS = _TileChannels()


def tile_tokens(v, n):
    """[B, 1, C] -> [B, N, C]: a per-sample vector repeated over N tokens (see ``_TileTokens``)."""
    return _TILE_TOKENS(v, n)


def tile_channels(v, c):
    """[B, N, 1] -> [B, N, C]: a per-token value repeated over C channels (see ``_TileChannels``)."""
    return _TILE_CHANNELS(v, c)


_QK_MATMUL = ops.BatchMatMul(transpose_b=True)
_TN_MATMUL = ops.BatchMatMul(transpose_a=True)
_BATCH_MATMUL = ops.BatchMatMul()
_SOFTMAX = ops.Softmax(axis=-1)


class _SoftmaxAttention(nn.Cell):
    """softmax(q k^T + bias) v for q, k, v [B, heads, N, d] and bias [B, heads, N, N], with a hand-written backward.
    The derived one reduced the [B, heads, N, N] product of the probabilities and their gradient over its last axis
    (62 ms of the 0.6 s stage-1 Swin-V2 attention backward) and transposed the probabilities for the value gradient;
    here that row sum is sum(dout * out) over the head dim (the same number: sum_j P_ij (dout v^T)_ij = dout_i .
    (P v)_i), and the transposes are BatchMatMul flags."""

    def construct(self, q, k, v, bias):
        return _BATCH_MATMUL(_SOFTMAX(_QK_MATMUL(q, k) + bias), v)

    def bprop(self, q, k, v, bias, out, dout):
        probs = _SOFTMAX(_QK_MATMUL(q, k) + bias)
        dscores = probs * (_QK_MATMUL(dout, v) - row_sums(dout * out))
        return _BATCH_MATMUL(dscores, k), _TN_MATMUL(dscores, q), _TN_MATMUL(probs, dout), dscores


_SOFTMAX_ATTENTION = _SoftmaxAttention()


def softmax_attention(q, k, v, bias):
    """softmax(q k^T + bias) v (bias already of the logits' shape [B, heads, N, N]); see ``_SoftmaxAttention``."""
    return _SOFTMAX_ATTENTION(q, k, v, bias)


def split_heads(qkv, split_order, split_inverse, num_heads):
    """qkv projection [B, N, 3C] -> (q, k, v), each [B, heads, N, C / heads] (see ``head_orders``)."""
    b, n, c3 = qkv.shape
    head_dim = c3 // (3 * num_heads)
    rows = _PERMUTE_ROWS(qkv.reshape(b, n * 3 * num_heads, head_dim), split_order, split_inverse)
    # ops.unstack, not rows[:, 0], rows[:, 1], rows[:, 2]: MindSpore's CPU StridedSlice kernel took 48 ms per slice of
    # the stage-1 Swin-V2 qkv (160 windows, 4.4 M values each), about half of the attention step's forward time
    return tuple(ops.unstack(rows.reshape(b, 3, num_heads, n, head_dim), axis=1))


def merge_heads(x, merge_order, merge_inverse):
    """Attention output [B, heads, N, d] -> [B, N, heads * d] (see ``head_orders``)."""
    b, h, n, d = x.shape
    return _PERMUTE_ROWS(x.reshape(b, h * n, d), merge_order, merge_inverse).reshape(b, n, h * d)


def gather_tokens(x, order, inverse):
    """x [B, L, C] with its tokens (axis 1) in `order`, a constant permutation Tensor whose inverse is `inverse`;
    order None leaves x as it is."""
    return x if order is None else _PERMUTE_ROWS(x, order, inverse)


def effective_window(resolution: IntPair, window: IntPair, shift: IntPair):
    """Per axis: a grid not larger than the window gets one window covering it and no shift (timm rule)."""
    res, win, sft = to_pair(resolution), to_pair(window), to_pair(shift)
    eff_window = tuple(r if r <= w else w for r, w in zip(res, win))
    eff_shift = tuple(0 if r <= w else s for r, w, s in zip(res, eff_window, sft))
    return eff_window, eff_shift


def shift_attn_mask(resolution: IntPair, window: IntPair, shift: IntPair) -> np.ndarray:
    """Additive mask [nW, N, N] (N = wh*ww) for shifted-window attention: 0 where query and key come from the
    same region of the un-shifted image, -100 otherwise. Built in numpy once, at construction time."""
    (h, w), (wh, ww), (sh, sw) = to_pair(resolution), to_pair(window), to_pair(shift)
    if h % wh or w % ww:
        raise ValueError(f"grid {h}x{w} is not divisible by window {wh}x{ww}")

    def region(size, win, sft):
        # three bands along an axis: [0, size-win), [size-win, size-sft), [size-sft, size)
        idx = np.arange(size)
        return (idx >= size - win).astype(np.int64) + (idx >= size - sft).astype(np.int64)

    labels = region(h, wh, sh)[:, None] * 3 + region(w, ww, sw)[None, :]          # [H, W]
    windows = labels.reshape(h // wh, wh, w // ww, ww).transpose(0, 2, 1, 3).reshape(-1, wh * ww)
    same = windows[:, None, :] == windows[:, :, None]                              # [nW, N(query), N(key)]
    return np.where(same, 0.0, ATTN_MASK_VALUE).astype(np.float32)


def relative_position_index(window: IntPair) -> np.ndarray:
    """[N, N] int32 index into a (2wh-1)*(2ww-1) relative-offset table (row-major over (dh, dw))."""
    wh, ww = to_pair(window)
    coords = np.stack(np.meshgrid(np.arange(wh), np.arange(ww), indexing="ij")).reshape(2, -1)   # [2, N]
    rel = coords[:, :, None] - coords[:, None, :]                                                 # [2, N, N]
    index = (rel[0] + wh - 1) * (2 * ww - 1) + (rel[1] + ww - 1)
    return index.astype(np.int32)


def patch_merge_gather(x, resolution: IntPair):
    """[B, H*W, C] -> [B, H/2 * W/2, 4C]: each 2x2 neighbourhood concatenated along channels in the order
    (row, col) offsets (0,0), (1,0), (0,1), (1,1), as timm's PatchMerging (x0, x1, x2, x3)."""
    h, w = to_pair(resolution)
    b, _, c = x.shape
    x = x.reshape(b, h // 2, 2, w // 2, 2, c)               # [B, i, row offset, j, col offset, C]
    # channel block k = 2 * col_offset + row_offset gives (0,0), (1,0), (0,1), (1,1)
    return x.transpose(0, 1, 3, 4, 2, 5).reshape(b, (h // 2) * (w // 2), 4 * c)


def check_merge_resolution(resolution: IntPair):
    """Patch merging needs an even grid; fail at build time with the offending size."""
    h, w = to_pair(resolution)
    if h % 2 or w % 2:
        raise ValueError(f"patch merging needs an even token grid, got {h}x{w}")
    return h, w
