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
"""HTS-AT front end against numpy references of the same formulas (no torch needed)."""
import numpy as np
import pytest

import mindspore as ms
from mindspore import Tensor

from src.backbones.audio_frontend import (AudioFrontend, mix_with_reversed_batch,
                                          reflect_frame_indices, slaney_mel_matrix)
from src.dgsct.resize import bicubic_matrix

ms.set_device("CPU")

AUDIOSET = dict(sample_rate=32000, clip_samples=320000, n_fft=1024, hop_size=320, mel_bins=64,
                fmin=50.0, fmax=14000.0, spec_size=256, freq_ratio=4)
SMALL = dict(sample_rate=8000, clip_samples=16000, n_fft=256, hop_size=64, mel_bins=32,
             fmin=50.0, fmax=4000.0, spec_size=128, freq_ratio=4,
             time_drop_width=16, time_stripes=2, freq_drop_width=4, freq_stripes=2)
NO_AUGMENT = dict(time_drop_width=0, freq_drop_width=0)


def sweep_noise(batch, samples, sample_rate, seed=0):
    """Log sine sweeps plus noise and silence-free: a realistic-looking test signal."""
    rng = np.random.RandomState(seed)
    t = np.arange(samples) / sample_rate
    waves = []
    for i in range(batch):
        f0, f1 = 60.0 * (i + 1), 0.4 * sample_rate
        phase = 2 * np.pi * f0 * t[-1] / np.log(f1 / f0) * (np.exp(t / t[-1] * np.log(f1 / f0)) - 1)
        waves.append(0.5 * np.sin(phase) + 0.05 * rng.randn(samples))
    return np.stack(waves).astype(np.float32)


def numpy_power_spectrogram(wave, n_fft, hop):
    """Reference: reflect pad, periodic Hann, rfft, |X|^2 -> [B, T, n_fft//2+1]."""
    padded = np.pad(wave.astype(np.float64), ((0, 0), (n_fft // 2, n_fft // 2)), mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft, axis=1)[:, ::hop]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    return np.abs(np.fft.rfft(frames * window, axis=-1)) ** 2


def numpy_fold(x, spec_size, freq_ratio):
    """[B, T=spec_size*freq_ratio, M] -> image with row = chunk*M + mel, column = time in chunk."""
    batch, _, mels = x.shape
    image = np.zeros((batch, 1, freq_ratio * mels, spec_size), np.float64)
    for chunk in range(freq_ratio):
        image[:, 0, chunk * mels:(chunk + 1) * mels, :] = x[:, chunk * spec_size:(chunk + 1) * spec_size, :] \
            .transpose(0, 2, 1)
    return image


def test_frame_indices_reflect_like_numpy_pad():
    wave = np.arange(1000)
    idx = reflect_frame_indices(1000, 256, 64)
    padded = np.pad(wave, (128, 128), mode="reflect")
    expected = np.lib.stride_tricks.sliding_window_view(padded, 256)[::64]
    assert idx.shape == (1000 // 64 + 1, 256)
    np.testing.assert_array_equal(wave[idx], expected)


def test_power_spectrogram_matches_numpy_rfft():
    wave = sweep_noise(2, AUDIOSET["clip_samples"], 32000)
    fe = AudioFrontend(**AUDIOSET)
    ours = fe.power_spectrogram(Tensor(wave)).asnumpy()
    ref = numpy_power_spectrogram(wave, 1024, 320)
    assert ours.shape == ref.shape == (2, 1001, 513)
    rel = np.abs(ours - ref) / (ref + ref.max() * 1e-6)
    assert rel.max() < 1e-3, rel.max()


def test_mel_matrix_matches_mindspore_dataset_melscale():
    """An independent Slaney implementation (mindspore.dataset.audio) gives the same filterbank."""
    audio = pytest.importorskip("mindspore.dataset.audio")
    melscale = audio.MelScale(n_mels=64, sample_rate=32000, f_min=50.0, f_max=14000.0, n_stft=513,
                              norm=audio.NormType.SLANEY, mel_type=audio.MelType.SLANEY)
    ref = melscale(np.eye(513, dtype=np.float32)).T
    ours = slaney_mel_matrix(32000, 1024, 64, 50.0, 14000.0)
    assert ours.shape == (513, 64)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-6)


def test_log_mel_db_matches_numpy():
    wave = sweep_noise(2, AUDIOSET["clip_samples"], 32000, seed=1)
    wave[1, 1000:40000] = 0.0  # a silent stretch exercises the 1e-10 floor
    fe = AudioFrontend(**AUDIOSET)
    ours = fe.log_mel(Tensor(wave)).asnumpy()
    mel = numpy_power_spectrogram(wave, 1024, 320) @ slaney_mel_matrix(32000, 1024, 64, 50.0, 14000.0)
    ref = 10.0 * np.log10(np.maximum(mel, 1e-10))
    assert np.abs(ours - ref).max() < 1e-3
    assert ours.min() == pytest.approx(-100.0)


def test_bicubic_matrix_properties():
    matrix = bicubic_matrix(11, 20, align_corners=True)
    np.testing.assert_allclose(matrix.sum(1), 1.0, atol=1e-6)
    np.testing.assert_allclose(matrix[0], np.eye(11)[0])          # align_corners: end points are exact
    np.testing.assert_allclose(matrix[-1], np.eye(11)[-1])
    np.testing.assert_allclose(bicubic_matrix(7, 7, align_corners=True), np.eye(7), atol=1e-7)
    # output 2 of 11->21 sits half way between inputs 0 and 1 (t = 0.5): taps clamp at the left edge
    half = bicubic_matrix(11, 21, align_corners=True)[1]
    a = -0.75
    w_far = ((a * 1.5 - 5 * a) * 1.5 + 8 * a) * 1.5 - 4 * a
    w_near = ((a + 2) * 0.5 - (a + 3)) * 0.25 + 1
    np.testing.assert_allclose(half[:3], [w_far + w_near, w_near, w_far], atol=1e-6)


def test_eval_image_matches_numpy_pipeline_and_fold_order():
    wave = sweep_noise(2, SMALL["clip_samples"], 8000, seed=2)
    fe = AudioFrontend(**SMALL)
    fe.set_train(False)
    image = fe(Tensor(wave)).asnumpy()
    mel = numpy_power_spectrogram(wave, 256, 64) @ slaney_mel_matrix(8000, 256, 32, 50.0, 4000.0)
    logmel = 10.0 * np.log10(np.maximum(mel, 1e-10))
    normed = logmel / np.sqrt(1.0 + 1e-5)            # fresh bn0 in eval: mean 0, var 1, gamma 1, beta 0
    resized = np.einsum("ot,btm->bom", bicubic_matrix(251, 512, align_corners=True).astype(np.float64), normed)
    ref = numpy_fold(resized, 128, 4)
    assert image.shape == (2, 1, 128, 128)
    assert np.abs(image - ref).max() < 2e-4


def test_no_resize_when_clip_already_fills_the_image():
    cfg = dict(SMALL, clip_samples=(512 - 1) * 64)    # exactly 512 frames
    fe = AudioFrontend(**cfg)
    fe.set_train(False)
    x = np.random.RandomState(3).randn(2, 512, 32).astype(np.float32)
    np.testing.assert_array_equal(fe.fold_to_image(Tensor(x)).asnumpy(), numpy_fold(x, 128, 4))


def test_bad_configs_and_inputs_fail_clearly():
    with pytest.raises(ValueError, match="mel_bins"):
        AudioFrontend(**dict(SMALL, mel_bins=30))
    with pytest.raises(ValueError, match="frames"):
        AudioFrontend(**dict(SMALL, clip_samples=64 * 600))
    fe = AudioFrontend(**SMALL)
    with pytest.raises(ValueError, match="16000 samples"):
        fe(Tensor(np.zeros((1, 15000), np.float32)))


def test_spec_augment_zeroes_at_most_two_stripes_per_axis_per_example():
    fe = AudioFrontend(**AUDIOSET)
    x = np.ones((8, 1001, 64), np.float32)
    out = fe.spec_augment(Tensor(x)).asnumpy()
    masks = []
    for example in out:
        zero = example == 0
        zero_rows, zero_cols = zero.all(1), zero.all(0)
        # every zeroed element lies in a fully zeroed time row or mel column
        assert not (zero & ~zero_rows[:, None] & ~zero_cols[None, :]).any()
        for flags, width in ((zero_rows, 64), (zero_cols, 8)):
            runs = np.flatnonzero(np.diff(np.concatenate([[0], flags.astype(int), [0]])) == 1)
            assert len(runs) <= 2
            assert flags.sum() <= 2 * (width - 1)
        masks.append(zero)
    assert not all((m == masks[0]).all() for m in masks[1:])   # drawn per example
    assert np.mean([m.any() for m in masks]) > 0.5               # all-zero widths for every stripe are rare


def test_spec_augment_only_in_train_mode():
    wave = Tensor(sweep_noise(2, SMALL["clip_samples"], 8000, seed=4))
    fe = AudioFrontend(**SMALL)
    fe.set_train(False)
    np.testing.assert_array_equal(fe(wave).asnumpy(), fe(wave).asnumpy())
    fe.set_train(True)
    first, second = fe(wave).asnumpy(), fe(wave).asnumpy()
    assert np.abs(first - second).max() > 1e-3


def test_train_mode_bn0_batch_stats_and_momentum():
    wave = sweep_noise(4, SMALL["clip_samples"], 8000, seed=5)
    fe = AudioFrontend(**dict(SMALL, **NO_AUGMENT))
    fe.set_train(True)
    image = fe(Tensor(wave)).asnumpy()
    logmel = fe.log_mel(Tensor(wave)).asnumpy().astype(np.float64)
    mean, var = logmel.mean((0, 1)), logmel.var((0, 1))
    normed = (logmel - mean) / np.sqrt(var + 1e-5)
    ref = numpy_fold(np.einsum("ot,btm->bom", bicubic_matrix(251, 512, align_corners=True), normed), 128, 4)
    assert np.abs(image - ref).max() < 1e-3
    # torch momentum 0.1: running = 0.9 * running + 0.1 * batch statistic
    np.testing.assert_allclose(fe.bn0.moving_mean.asnumpy(), 0.1 * mean, rtol=1e-4, atol=1e-4)


def test_mixup_hook():
    x = np.random.RandomState(6).randn(4, 5, 3).astype(np.float32)
    lam = np.array([0.1, 0.5, 0.9, 1.0], np.float32)
    out = mix_with_reversed_batch(Tensor(x), Tensor(lam)).asnumpy()
    ref = lam[:, None, None] * x + (1 - lam[:, None, None]) * x[::-1]
    np.testing.assert_allclose(out, ref, rtol=1e-6, atol=1e-6)

    wave = Tensor(sweep_noise(4, SMALL["clip_samples"], 8000, seed=7))
    fe = AudioFrontend(**dict(SMALL, **NO_AUGMENT))
    fe.set_train(False)   # eval: the hook is ignored, as in HTS-AT
    np.testing.assert_array_equal(fe(wave, Tensor(lam)).asnumpy(), fe(wave).asnumpy())
    fe.set_train(True)    # train: the mixed log-mel is folded (the fold is linear, so mixing commutes with it)
    plain, mixed = fe(wave).asnumpy(), fe(wave, Tensor(lam)).asnumpy()
    ref = lam[:, None, None, None] * plain + (1 - lam[:, None, None, None]) * plain[::-1]
    np.testing.assert_allclose(mixed, ref, rtol=1e-5, atol=1e-4)


def test_graph_mode_equals_pynative():
    wave = Tensor(sweep_noise(2, SMALL["clip_samples"], 8000, seed=8))
    fe = AudioFrontend(**SMALL)
    fe.set_train(False)
    eager = fe(wave).asnumpy()
    ms.set_context(mode=ms.GRAPH_MODE)
    graph_fe = AudioFrontend(**SMALL)   # a fresh Cell: GRAPH_MODE caches the compiled graph per Cell
    graph_fe.set_train(False)
    np.testing.assert_allclose(graph_fe(wave).asnumpy(), eager, rtol=1e-5, atol=1e-5)
