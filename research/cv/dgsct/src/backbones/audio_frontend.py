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
"""HTS-AT audio front end: waveform -> log-mel -> bn0 -> SpecAugment/mixup -> 1 x S x S image.

Numerics follow torchlibrosa 0.1.0 as configured by HTS-AT (`HTSAT_Swin_Transformer.forward` up to the patch embedding):
centre-padded (reflect) STFT with a periodic Hann window, power spectrogram, Slaney mel filterbank,
10*log10(max(x, amin)) with ref 1.0 and no top-dB clip, BatchNorm over mel bins, SpecAugment in train
mode, optional log-mel mixup, bicubic (align_corners=True, a=-0.75) time resize and the chunk fold.

CPU speed: ops.stft and a 1026-channel conv1d take seconds per clip on CPU, so the STFT is one gather
of (reflect-padded) frame indices followed by one matmul with the windowed DFT kernels; the bicubic
resize is one matmul with a precomputed interpolation matrix (exact, and avoids any doubt about the
CPU ResizeBicubic kernel's coefficient).
"""
import numpy as np

from mindspore import nn, ops, Parameter, Tensor

from ..dgsct.resize import bicubic_matrix
from ..dgsct.sync_batch_norm import cross_rank_batch_norm
from .layers import random_op_seeds, uniform_rows



# ---------------------------------------------------------------------------------------------
# Constant tables (numpy, built once at construction)
# ---------------------------------------------------------------------------------------------
def periodic_hann(n_fft):
    """Periodic Hann window (scipy.signal.get_window('hann', n, fftbins=True))."""
    n = np.arange(n_fft, dtype=np.float64)
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * n / n_fft)


def stft_kernels(n_fft):
    """Windowed real/imag DFT kernels in torchlibrosa's Conv1d layout [n_fft//2+1, 1, n_fft].

    real[f, 0, n] = cos(2 pi f n / N) w[n], imag[f, 0, n] = -sin(2 pi f n / N) w[n] (e^{-i...} convention).
    """
    n_bins = n_fft // 2 + 1
    phase = 2.0 * np.pi * np.outer(np.arange(n_bins), np.arange(n_fft)) / n_fft
    window = periodic_hann(n_fft)
    real = (np.cos(phase) * window).astype(np.float32)[:, None, :]
    imag = (-np.sin(phase) * window).astype(np.float32)[:, None, :]
    return real, imag


def hz_to_mel_slaney(hz):
    """Slaney mel scale: linear (200/3 Hz per mel) below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    f_sp = 200.0 / 3.0
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, np.log(6.4) / 27.0
    mel = hz / f_sp
    log_region = hz >= min_log_hz
    mel = np.where(log_region, min_log_mel + np.log(np.maximum(hz, 1e-30) / min_log_hz) / logstep, mel)
    return mel


def mel_to_hz_slaney(mel):
    """Inverse of hz_to_mel_slaney."""
    mel = np.asarray(mel, dtype=np.float64)
    f_sp = 200.0 / 3.0
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, np.log(6.4) / 27.0
    hz = mel * f_sp
    return np.where(mel >= min_log_mel, min_log_hz * np.exp(logstep * (mel - min_log_mel)), hz)


def slaney_mel_matrix(sample_rate, n_fft, n_mels, fmin, fmax):
    """Slaney-style, area-normalised triangular mel filterbank as [n_fft//2+1, n_mels] (melW layout)."""
    fft_freqs = np.linspace(0.0, sample_rate / 2.0, n_fft // 2 + 1)
    mel_edges = np.linspace(hz_to_mel_slaney(fmin), hz_to_mel_slaney(fmax), n_mels + 2)
    hz_edges = mel_to_hz_slaney(mel_edges)
    widths = np.diff(hz_edges)
    # distance of every FFT bin from every edge frequency: [n_mels + 2, n_bins]
    offsets = hz_edges[:, None] - fft_freqs[None, :]
    rising = -offsets[:-2] / widths[:-1, None]
    falling = offsets[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights *= (2.0 / (hz_edges[2:] - hz_edges[:-2]))[:, None]  # Slaney: constant energy per band
    return weights.T.astype(np.float32)


def reflect_frame_indices(num_samples, n_fft, hop):
    """Indices into the UNPADDED wave of every centred frame: [num_frames, n_fft].

    Reflect padding by n_fft//2 on both sides is folded into the indices (no pad op needed).
    """
    if num_samples <= n_fft // 2:
        raise ValueError(f"reflect padding needs more than {n_fft // 2} samples, got {num_samples}")
    num_frames = num_samples // hop + 1
    padded_pos = np.arange(num_frames)[:, None] * hop + np.arange(n_fft)[None, :]
    idx = padded_pos - n_fft // 2
    idx = np.abs(idx)                                               # left reflection
    idx = np.where(idx > num_samples - 1, 2 * (num_samples - 1) - idx, idx)  # right reflection
    return idx.astype(np.int32)


# ---------------------------------------------------------------------------------------------
# The Cell
# ---------------------------------------------------------------------------------------------
class AudioFrontend(nn.Cell):
    """[B, clip_samples] waveform -> [B, 1, spec_size, spec_size] image (HTS-AT's input).

    Parameters (torch key -> ours): spectrogram_extractor.stft.conv_real.weight -> stft_real,
    ...conv_imag.weight -> stft_imag (both [n_fft//2+1, 1, n_fft]), logmel_extractor.melW -> melW
    ([n_fft//2+1, mel_bins]), bn0.* -> bn0.*. The STFT/mel tables are frozen (requires_grad=False),
    as torchlibrosa's freeze_parameters=True makes them.
    """

    def __init__(self, sample_rate=32000, clip_samples=320000, n_fft=1024, hop_size=320, mel_bins=64,
                 fmin=50.0, fmax=14000.0, spec_size=256, freq_ratio=4, amin=1e-10, ref=1.0,
                 time_drop_width=64, time_stripes=2, freq_drop_width=8, freq_stripes=2):
        super().__init__()
        if spec_size % freq_ratio or mel_bins != spec_size // freq_ratio:
            raise ValueError(f"the fold needs mel_bins == spec_size // freq_ratio, got mel_bins={mel_bins}, "
                             f"spec_size={spec_size}, freq_ratio={freq_ratio}")
        self.num_frames = clip_samples // hop_size + 1
        self.target_frames = spec_size * freq_ratio
        if self.num_frames > self.target_frames:
            raise ValueError(f"{clip_samples} samples give {self.num_frames} frames > {self.target_frames} "
                             f"(= spec_size * freq_ratio); HTS-AT cannot fold a longer clip")
        self.clip_samples = clip_samples
        self.n_bins = n_fft // 2 + 1
        self.n_fft = n_fft
        self.mel_bins = mel_bins
        self.spec_size = spec_size
        self.freq_ratio = freq_ratio
        self.db_offset = 10.0 * float(np.log10(max(amin, ref)))
        self.amin = amin
        self.time_drop_width, self.time_stripes = time_drop_width, time_stripes
        self.freq_drop_width, self.freq_stripes = freq_drop_width, freq_stripes

        real, imag = stft_kernels(n_fft)
        self.stft_real = Parameter(Tensor(real), name="stft_real", requires_grad=False)
        self.stft_imag = Parameter(Tensor(imag), name="stft_imag", requires_grad=False)
        self.melW = Parameter(Tensor(slaney_mel_matrix(sample_rate, n_fft, mel_bins, fmin, fmax)),
                              name="melW", requires_grad=False)
        # torch BatchNorm2d(64) default momentum 0.1 -> MindSpore momentum 0.9
        self.bn0 = nn.BatchNorm2d(mel_bins, eps=1e-5, momentum=0.9)
        # > 1 under data parallel: training bn0 statistics over the global batch (dgsct/sync_batch_norm.py)
        self.batch_norm_workers = 1
        self.all_reduce = None

        # Constants rebuilt from the config (not parameters, never in a checkpoint)
        self.frame_index = Tensor(reflect_frame_indices(clip_samples, n_fft, hop_size))
        self.needs_resize = self.num_frames < self.target_frames
        self.resize_t = Tensor(bicubic_matrix(self.num_frames, self.target_frames, align_corners=True).T)  # [T_in, T_out]
        self.time_pos = Tensor(np.arange(self.num_frames, dtype=np.float32))
        self.freq_pos = Tensor(np.arange(mel_bins, dtype=np.float32))
        self.uniform = ops.UniformReal(*random_op_seeds())
        self.draw_workers, self.draw_rank = 1, 0     # SpecAugment stripes of the global batch under data parallel
        self.matmul_t = ops.MatMul(transpose_b=True)

    def power_spectrogram(self, wave):
        """[B, L] -> power spectrogram [B, T, n_fft//2+1]."""
        batch = wave.shape[0]
        frames = ops.gather(wave, self.frame_index, 1)                 # [B, T, n_fft]
        frames = frames.reshape(batch * self.num_frames, self.n_fft)
        kernels = ops.concat((self.stft_real.reshape(self.n_bins, self.n_fft),
                              self.stft_imag.reshape(self.n_bins, self.n_fft)), 0)
        spec = self.matmul_t(frames, kernels)                           # [B*T, 2*n_bins]
        real, imag = spec[:, :self.n_bins], spec[:, self.n_bins:]
        return (real * real + imag * imag).reshape(batch, self.num_frames, self.n_bins)

    def log_mel(self, wave):
        """[B, L] -> log-mel in dB [B, T, mel_bins] (before bn0)."""
        power = self.power_spectrogram(wave)
        mel = ops.matmul(power, self.melW)
        return 10.0 * ops.log10(ops.clamp(mel, min=self.amin)) - self.db_offset

    def _stripe_mask(self, batch, stripes, drop_width, positions):
        """1 where a position lies in any of `stripes` random stripes per example: [B, len(positions)].

        width ~ U{0..drop_width-1}, start ~ U{0..total-width-1} (torchlibrosa's DropStripes).
        """
        total = positions.shape[0]
        draws = uniform_rows(self.uniform, (2, batch, stripes), 1, self.draw_workers, self.draw_rank)
        width = ops.floor(draws[0] * drop_width)
        start = ops.floor(draws[1] * (total - width))
        pos = positions.reshape(1, 1, total)
        inside = ops.logical_and(pos >= start.expand_dims(-1), pos < (start + width).expand_dims(-1))
        return inside.any(axis=1)

    def spec_augment(self, x):
        """Zero 2 time stripes and 2 mel stripes per example of x [B, T, M]."""
        batch = x.shape[0]
        time_drop = self._stripe_mask(batch, self.time_stripes, self.time_drop_width, self.time_pos)
        freq_drop = self._stripe_mask(batch, self.freq_stripes, self.freq_drop_width, self.freq_pos)
        drop = ops.logical_or(time_drop.expand_dims(2), freq_drop.expand_dims(1))
        return ops.select(drop, ops.zeros_like(x), x)

    def fold_to_image(self, x):
        """[B, T, M] -> bicubic time resize to spec_size*freq_ratio frames -> [B, 1, spec_size, spec_size].

        Image row = chunk * M + mel, column = frame within the chunk.
        """
        batch = x.shape[0]
        x = x.transpose(0, 2, 1)                                        # [B, M, T]
        if self.needs_resize:
            x = ops.matmul(x.reshape(batch * self.mel_bins, self.num_frames), self.resize_t)
        x = x.reshape(batch, self.mel_bins, self.freq_ratio, self.spec_size)
        x = x.transpose(0, 2, 1, 3)                                     # [B, chunk, M, frame]
        return x.reshape(batch, 1, self.freq_ratio * self.mel_bins, self.spec_size)

    def construct(self, wave, mixup_lambda=None):
        if wave.shape[-1] != self.clip_samples:
            raise ValueError(f"AudioFrontend was built for {self.clip_samples} samples per clip, "
                             f"got waveform shape {wave.shape}")
        x = self.log_mel(wave)                                          # [B, T, M]
        if self.training and self.batch_norm_workers > 1:
            b, t, m = x.shape
            x = cross_rank_batch_norm(x.reshape(b * t, m), self.bn0, self.all_reduce,
                                      self.batch_norm_workers).reshape(b, t, m)
        else:
            x = self.bn0(x.transpose(0, 2, 1).expand_dims(-1))          # BN over mel: [B, M, T, 1]
            x = x.squeeze(-1).transpose(0, 2, 1)
        if self.training:
            x = self.spec_augment(x)
            if mixup_lambda is not None:
                x = mix_with_reversed_batch(x, mixup_lambda)
        return self.fold_to_image(x)


def mix_with_reversed_batch(x, mixup_lambda):
    """x_i <- l_i x_i + (1 - l_i) x_{N-1-i} (HTS-AT's do_mixup; the batch is mixed with its reverse)."""
    lam = mixup_lambda.astype(x.dtype).reshape((-1,) + (1,) * (x.ndim - 1))
    return lam * x + (1.0 - lam) * ops.flip(x, (0,))
