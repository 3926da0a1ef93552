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
"""HTS-AT front end parity with torchlibrosa 0.1.0 and torch bicubic interpolation (needs requirements-parity.txt)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
torchlibrosa = pytest.importorskip("torchlibrosa")

import mindspore as ms  # noqa: E402
from mindspore import Tensor  # noqa: E402

from src.backbones.audio_frontend import AudioFrontend  # noqa: E402

ms.set_device("CPU")

SR, N_FFT, HOP, MELS, FMIN, FMAX = 32000, 1024, 320, 64, 50.0, 14000.0


def sweeps_plus_noise(batch, seconds, seed=0):
    """Linear and exponential sweeps over the whole band, a few tones, noise and a quiet stretch."""
    rng = np.random.RandomState(seed)
    t = np.arange(int(seconds * SR)) / SR
    duration = t[-1]
    linear = np.sin(2 * np.pi * (20.0 * t + (15000.0 - 20.0) / (2 * duration) * t ** 2))
    exponential = np.sin(2 * np.pi * 50.0 * duration / np.log(300.0) * (300.0 ** (t / duration) - 1))
    tones = 0.2 * np.sin(2 * np.pi * 440.0 * t) + 0.1 * np.sin(2 * np.pi * 3100.0 * t)
    waves = []
    for i in range(batch):
        wave = [linear, exponential][i % 2] * 0.4 + tones + 0.02 * (i + 1) * rng.randn(t.size)
        wave[SR:SR + SR // 4] *= 1e-3   # quiet passage: low-energy bins
        waves.append(wave)
    return np.stack(waves).astype(np.float32)


@pytest.fixture(scope="module")
def torch_frontend():
    spectrogram = torchlibrosa.stft.Spectrogram(n_fft=N_FFT, hop_length=HOP, win_length=N_FFT, window="hann",
                                                center=True, pad_mode="reflect", freeze_parameters=True)
    logmel = torchlibrosa.stft.LogmelFilterBank(sr=SR, n_fft=N_FFT, n_mels=MELS, fmin=FMIN, fmax=FMAX, ref=1.0,
                                                amin=1e-10, top_db=None, freeze_parameters=True)
    return spectrogram.eval(), logmel.eval()


def test_tables_equal_torchlibrosa_parameters(torch_frontend):
    spectrogram, logmel = torch_frontend
    fe = AudioFrontend()
    np.testing.assert_allclose(fe.stft_real.asnumpy(), spectrogram.stft.conv_real.weight.detach().numpy(),
                               rtol=0, atol=1e-6)
    np.testing.assert_allclose(fe.stft_imag.asnumpy(), spectrogram.stft.conv_imag.weight.detach().numpy(),
                               rtol=0, atol=1e-6)
    np.testing.assert_allclose(fe.melW.asnumpy(), logmel.melW.detach().numpy(), rtol=0, atol=1e-7)


def test_spectrogram_and_log_mel_match_torchlibrosa(torch_frontend):
    spectrogram, logmel = torch_frontend
    wave = sweeps_plus_noise(2, 10.0)
    with torch.no_grad():
        torch_power = spectrogram(torch.from_numpy(wave))             # [B, 1, T, 513]
        torch_db = logmel(torch_power)[:, 0].numpy()                  # [B, T, 64]
    torch_power = torch_power[:, 0].numpy()
    fe = AudioFrontend()
    power = fe.power_spectrogram(Tensor(wave)).asnumpy()
    db = fe.log_mel(Tensor(wave)).asnumpy()
    assert power.shape == torch_power.shape == (2, 1001, 513)
    assert db.shape == torch_db.shape == (2, 1001, 64)
    scale = torch_power.max()
    assert np.abs(power - torch_power).max() / scale < 1e-5
    assert np.abs(db - torch_db).max() < 1e-3


def torch_reshape_wav2img(x, spec_size=256, freq_ratio=4):
    """HTS-AT's reshape_wav2img op sequence: bicubic time resize then the chunk fold."""
    batch, channels, frames, mels = x.shape
    target = spec_size * freq_ratio
    if frames < target:
        x = torch.nn.functional.interpolate(x, (target, mels), mode="bicubic", align_corners=True)
    x = x.permute(0, 1, 3, 2).reshape(batch, channels, mels, freq_ratio, target // freq_ratio)
    return x.permute(0, 1, 3, 2, 4).reshape(batch, channels, freq_ratio * mels, target // freq_ratio)


@pytest.mark.parametrize("clip_samples", [320000, 160000])   # 10-s clips (1001 frames), 5-s AVS clips (501)
def test_bicubic_resize_and_fold_match_torch(clip_samples):
    fe = AudioFrontend(clip_samples=clip_samples)
    frames = clip_samples // HOP + 1
    x = np.random.RandomState(1).randn(2, frames, MELS).astype(np.float32) * 10.0
    ours = fe.fold_to_image(Tensor(x)).asnumpy()
    with torch.no_grad():
        ref = torch_reshape_wav2img(torch.from_numpy(x)[:, None]).numpy()
    assert ours.shape == ref.shape == (2, 1, 256, 256)
    assert np.abs(ours - ref).max() < 1e-4


def test_eval_image_matches_torch_pipeline(torch_frontend):
    """Spectrogram + log-mel + fresh bn0 (eval) + reshape_wav2img end to end."""
    spectrogram, logmel = torch_frontend
    wave = sweeps_plus_noise(2, 10.0, seed=3)
    bn0 = torch.nn.BatchNorm2d(MELS).eval()
    with torch.no_grad():
        x = logmel(spectrogram(torch.from_numpy(wave)))
        x = bn0(x.transpose(1, 3)).transpose(1, 3)
        ref = torch_reshape_wav2img(x).numpy()
    fe = AudioFrontend()
    fe.set_train(False)
    ours = fe(Tensor(wave)).asnumpy()
    assert np.abs(ours - ref).max() < 1e-3
