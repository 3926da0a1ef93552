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
"""AVE data pipeline: tests of preprocess.py (video -> frames + 32 kHz wave) on small videos written here.

The AVE release format (H.264 + stereo AAC in mp4) is written with PyAV (requirements-test.txt; that test skips
without it). The other tests write AVI files by hand, with no encoder at all: MJPEG frames (PIL) and mono 16-bit PCM
or stereo IMA-ADPCM audio, which the FFmpeg inside mindspore.dataset.vision.read_video decodes. ADPCM decodes to planar samples like AAC (the AVE mp4 audio), which
read_video returns correctly; packed stereo PCM it returns scrambled (see preprocess.packed_audio_bug).
"""
import io
import os
import struct

import numpy as np
import pytest
from PIL import Image

import preprocess
from src.data.transforms import load_wave_segments, sampled_frame_paths


def _chunk(fourcc, data):
    return fourcc + struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")


def _list(kind, data):
    return _chunk(b"LIST", kind + data)


IMA_STEPS = [7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 19, 21, 23, 25, 28, 31, 34, 37, 41, 45, 50, 55, 60, 66, 73, 80, 88,
             97, 107, 118, 130, 143, 157, 173, 190, 209, 230, 253, 279, 307, 337, 371, 408, 449, 494, 544, 598, 658,
             724, 796, 876, 963, 1060, 1166, 1282, 1411, 1552, 1707, 1878, 2066, 2272, 2499, 2749, 3024, 3327, 3660,
             4026, 4428, 4871, 5358, 5894, 6484, 7132, 7845, 8630, 9493, 10442, 11487, 12635, 13899, 15289, 16818,
             18500, 20350, 22385, 24623, 27086, 29794, 32767]
IMA_INDEX = [-1, -1, -1, -1, 2, 4, 6, 8]


def ima_nibbles(samples, predictor):
    """IMA-ADPCM encoding of int samples after the block's first one (step index starts at 0)."""
    index, out = 0, []
    for sample in samples:
        diff, nibble, step = int(sample) - predictor, 0, IMA_STEPS[index]
        if diff < 0:
            nibble, diff = 8, -diff
        delta = step >> 3
        for bit in (4, 2, 1):
            if diff >= step:
                nibble, diff, delta = nibble | bit, diff - step, delta + step
            step >>= 1
        predictor = max(-32768, min(32767, predictor - delta if nibble & 8 else predictor + delta))
        index = max(0, min(88, index + IMA_INDEX[nibble & 7]))
        out.append(nibble)
    return out


def ima_adpcm(pcm, block_align):
    """int16 [C, L] -> (MS IMA-ADPCM blocks, samples per block)."""
    channels = pcm.shape[0]
    per_block = (block_align - 4 * channels) * 2 // channels + 1
    data = b""
    for first in range(0, pcm.shape[1] - per_block + 1, per_block):
        block = pcm[:, first:first + per_block]
        nibbles = [ima_nibbles(block[c, 1:], int(block[c, 0])) for c in range(channels)]
        data += b"".join(struct.pack("<hBB", int(block[c, 0]), 0, 0) for c in range(channels))
        for group in range(0, per_block - 1, 8):
            for c in range(channels):
                n = nibbles[c][group:group + 8]
                data += bytes(n[2 * k] | (n[2 * k + 1] << 4) for k in range(4))
    return data, per_block


def write_mjpeg_avi(path, frames, fps, audio, rate):
    """frames uint8 [T, H, W, 3] as MJPEG + audio float [L] (16-bit PCM) or [C, L] (IMA-ADPCM) -> an AVI file."""
    count, height, width, _ = frames.shape
    pcm = (np.clip(np.atleast_2d(audio), -1, 1) * 32767).astype("<i2")
    channels = pcm.shape[0]
    if channels == 1:
        data, block, per_block, tag = pcm.tobytes(), 2, 1, 1
        strf_audio = struct.pack("<HHIIHHH", tag, 1, rate, 2 * rate, block, 16, 0)
    else:
        block = 256 * channels
        data, per_block = ima_adpcm(pcm, block)
        strf_audio = struct.pack("<HHIIHHHH", 0x11, channels, rate, rate * block // per_block, block, 4, 2, per_block)
    blocks = len(data) // block
    avih = struct.pack("<14I", int(1e6 / fps), 0, 0, 0x10, count, 0, 2, 0, width, height, 0, 0, 0, 0)
    strh_video = struct.pack("<4s4sIHHIIIIIIiI4h", b"vids", b"MJPG", 0, 0, 0, 0, 1, fps, 0, count, 0, -1, 0,
                             0, 0, width, height)
    strf_video = struct.pack("<IiiHH4sIiiII", 40, width, height, 1, 24, b"MJPG", width * height * 3, 0, 0, 0, 0)
    strh_audio = struct.pack("<4s4sIHHIIIIIIiI4h", b"auds", b"\0\0\0\0", 0, 0, 0, 0, block,
                             rate * block // per_block, 0, blocks, 0, -1, block, 0, 0, 0, 0)
    header = _list(b"hdrl", _chunk(b"avih", avih)
                   + _list(b"strl", _chunk(b"strh", strh_video) + _chunk(b"strf", strf_video))
                   + _list(b"strl", _chunk(b"strh", strh_audio) + _chunk(b"strf", strf_audio)))
    movi, index = b"", b""
    per_frame = -(-blocks // count) * block
    for i, frame in enumerate(frames):
        jpeg = io.BytesIO()
        Image.fromarray(frame).save(jpeg, format="JPEG", quality=95)
        for fourcc, chunk in ((b"00dc", jpeg.getvalue()), (b"01wb", data[i * per_frame:(i + 1) * per_frame])):
            if chunk:
                index += struct.pack("<4sIII", fourcc, 0x10, 4 + len(movi), len(chunk))
                movi += _chunk(fourcc, chunk)
    body = b"AVI " + header + _list(b"movi", movi) + _chunk(b"idx1", index)
    with open(path, "wb") as handle:
        handle.write(b"RIFF" + struct.pack("<I", len(body)) + body)


def make_video(path, seconds, fps=25, rate=22050, tone=440.0):
    """Frame colour (red channel) = 20 * second; a `tone` Hz sine of amplitude 0.5."""
    frames = np.zeros((seconds * fps, 24, 32, 3), np.uint8)
    frames[..., 0] = (20 * (np.arange(seconds * fps) // fps)).astype(np.uint8)[:, None, None]
    frames[..., 2] = 200
    t = np.arange(seconds * rate) / rate
    write_mjpeg_avi(path, frames, fps, 0.5 * np.sin(2 * np.pi * tone * t), rate)


def _args(video_dir, out_dir, *extra):
    return preprocess.parse_args(["--video_dir", str(video_dir), "--output_dir", str(out_dir), *extra])


@pytest.fixture
def videos(tmp_path):
    folder = tmp_path / "videos"
    folder.mkdir()
    make_video(folder / "longer.avi", 12)          # 12 s: audio trimmed to 10 s
    make_video(folder / "short.avi", 7, fps=10, rate=16000, tone=1000.0)   # 7 s: padded, last frame repeated
    return folder


def test_videos_become_frames_and_32k_waves(videos, tmp_path):
    out = tmp_path / "AVE"
    counts = preprocess.run(_args(videos, out))
    assert counts["done"] == 2 and counts["trimmed"] == 1 and counts["padded"] == 1 and counts["short_video"] == 1
    for name, seconds, tone in (("longer", 12, 440), ("short", 7, 1000)):
        paths = sampled_frame_paths(str(out / "frames" / name), 10)      # read back with the loader's helpers
        assert [os.path.basename(p) for p in paths] == [f"{k:08d}.jpg" for k in range(1, 11)]
        red = [int(np.asarray(Image.open(p))[..., 0].mean().round()) for p in paths]
        expected = [20 * min(s, seconds - 1) for s in range(10)]          # frame at the middle of each second
        assert np.abs(np.array(red) - expected).max() <= 3, red
        raw = np.load(out / "wave" / f"{name}.npy")
        assert raw.shape == (320000,) and raw.dtype == np.float32
        waves = load_wave_segments(str(out / "wave" / f"{name}.npy"), 10, 32000)
        for second in range(min(seconds, 10) - 1):
            row = waves[second, :32000]
            assert int(np.abs(np.fft.rfft(row)).argmax()) == tone              # 1-s rows: bin k = k Hz
            assert abs(row.std() * np.sqrt(2) - 0.5) < 0.01                   # amplitude kept through resampling
        if seconds < 10:
            assert not raw[seconds * 32000 + 100:].any()                     # zero padding after the end
    # a rerun skips finished videos; --overwrite redoes them
    assert preprocess.run(_args(videos, out))["exists"] == 2
    assert preprocess.run(_args(videos, out, "--overwrite", "--num_frames", "4"))["done"] == 2
    assert len(os.listdir(out / "frames" / "short")) == 4


def test_undecodable_video_names_it_and_skip_errors_continues(videos, tmp_path, capsys):
    (videos / "broken.avi").write_bytes(b"RIFF" + bytes(200))
    with pytest.raises(SystemExit, match=r"broken.avi: cannot decode video: .*--skip_errors"):
        preprocess.run(_args(videos, tmp_path / "out"))
    counts = preprocess.run(_args(videos, tmp_path / "out2", "--skip_errors", "--workers", "2"))
    assert counts["error"] == 1 and counts["done"] == 2
    assert "broken.avi" in (tmp_path / "out2" / "preprocess_errors.txt").read_text()
    assert "1 failed" in capsys.readouterr().out


def test_annotation_list_selects_videos(videos, tmp_path):
    ann = tmp_path / "Annotations.txt"
    ann.write_text("Category&VideoID&Quality&StartTime&EndTime\nBark&short&good&0&5\nGoat&short&good&2&4\n")
    assert preprocess.run(_args(videos, tmp_path / "o", "--annotations", str(ann)))["done"] == 1
    ann.write_text("Category&VideoID&Quality&StartTime&EndTime\nBark&absent&good&0&5\n")
    with pytest.raises(SystemExit, match=r"1 annotated video\(s\) not in .*'absent'"):
        preprocess.run(_args(videos, tmp_path / "o", "--annotations", str(ann)))


def test_planar_stereo_is_averaged_to_mono(tmp_path):
    folder = tmp_path / "videos"
    folder.mkdir()
    rate, t = 16000, np.arange(3 * 16000) / 16000
    stereo = np.stack([0.5 * np.sin(2 * np.pi * 440 * t), 0.5 * np.sin(2 * np.pi * 1000 * t)])
    write_mjpeg_avi(folder / "stereo.avi", np.zeros((30, 16, 16, 3), np.uint8), 10, stereo, rate)
    assert preprocess.run(_args(folder, tmp_path / "out", "--clip_seconds", "2"))["done"] == 1
    spectrum = np.abs(np.fft.rfft(np.load(tmp_path / "out" / "wave" / "stereo.npy")[:32000]))
    assert sorted(np.argsort(spectrum)[-2:].tolist()) == [440, 1000]          # both channels, 1-s window
    np.testing.assert_allclose(spectrum[[440, 1000]] / 16000, 0.25, rtol=0.05)   # mean of two 0.5 tones


def test_audio_helpers_on_arrays():
    assert preprocess.to_float_mono(np.array([[-32768, 16384]], np.int16)).tolist() == [-1.0, 0.5]
    assert preprocess.to_float_mono(np.array([[0, 128, 255]], np.uint8)).tolist() == [-1.0, 0.0, 127 / 128]
    np.testing.assert_allclose(preprocess.to_float_mono(np.array([[0.2, 0.4], [0.4, 0.0]], np.float32)), [0.3, 0.2])
    tone = np.sin(2 * np.pi * 300 * np.arange(44100) / 44100).astype(np.float32)
    out = preprocess.resample(tone, 44100, 32000)
    assert out.shape == (32000,) and int(np.abs(np.fft.rfft(out)).argmax()) == 300
    wave, what = preprocess.fit_length(np.ones(5, np.float32), 8)
    assert what == "padded" and wave.tolist() == [1] * 5 + [0] * 3
    assert preprocess.fit_length(np.ones(9), 8)[1] == "trimmed" and preprocess.fit_length(np.ones(8), 8)[1] == "exact"
    # read_video's packed-stereo layout (row 1 = row 0 shifted by one sample) is detected, real stereo is not
    interleaved = np.random.default_rng(0).integers(-999, 999, 2000).astype(np.int16)
    assert preprocess.packed_audio_bug(np.stack([interleaved[:1000], interleaved[1:1001]]))
    assert not preprocess.packed_audio_bug(np.stack([interleaved[:1000], interleaved[1000:]]))
    assert not preprocess.packed_audio_bug(np.zeros((2, 100), np.float32))
    np.testing.assert_allclose(preprocess.frame_times(10, fps=1), np.arange(10) + 0.5)
    np.testing.assert_allclose(preprocess.frame_times(10, num_frames=4), [1.25, 3.75, 6.25, 8.75])
    index, past_end = preprocess.select_frames(70, 10.0, preprocess.frame_times(10, fps=1))
    assert index.tolist() == [5, 15, 25, 35, 45, 55, 65, 69, 69, 69] and past_end == 3


def write_h264_aac_mp4(path, frames, fps, audio, rate):
    """The AVE release format: H.264 video (yuv420p) + stereo AAC audio in an mp4, encoded with PyAV."""
    av = pytest.importorskip("av")
    with av.open(str(path), mode="w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        sound = container.add_stream("aac", rate=rate, layout="stereo")
        for frame in frames:
            container.mux(video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(video.encode(None))
        stereo = np.ascontiguousarray(np.stack([audio, audio]).astype(np.float32))
        for start in range(0, stereo.shape[1], 1024):
            chunk = av.AudioFrame.from_ndarray(np.ascontiguousarray(stereo[:, start:start + 1024]), format="fltp",
                                               layout="stereo")
            chunk.sample_rate, chunk.pts = rate, start
            container.mux(sound.encode(chunk))
        container.mux(sound.encode(None))


def test_h264_aac_mp4_like_the_ave_release(tmp_path):
    folder = tmp_path / "videos"
    folder.mkdir()
    seconds, fps, rate = 11, 10, 44100
    frames = np.zeros((seconds * fps, 48, 64, 3), np.uint8)
    frames[..., 0] = (20 * (np.arange(seconds * fps) // fps)).astype(np.uint8)[:, None, None]
    frames[..., 2] = 200
    t = np.arange(seconds * rate) / rate
    write_h264_aac_mp4(folder / "clip.mp4", frames, fps, 0.5 * np.sin(2 * np.pi * 440 * t), rate)
    out = tmp_path / "AVE"
    counts = preprocess.run(_args(folder, out))
    assert counts["done"] == 1 and counts["trimmed"] == 1
    paths = sampled_frame_paths(str(out / "frames" / "clip"), 10)
    red = [int(np.asarray(Image.open(p))[..., 0].mean().round()) for p in paths]
    assert np.abs(np.array(red) - [20 * s for s in range(10)]).max() <= 8, red    # lossy H.264 + JPEG
    waves = load_wave_segments(str(out / "wave" / "clip.npy"), 10, 32000)
    for second in range(1, 10):
        row = waves[second, :32000]
        assert int(np.abs(np.fft.rfft(row)).argmax()) == 440
        assert abs(row.std() * np.sqrt(2) - 0.5) < 0.03                              # lossy AAC
