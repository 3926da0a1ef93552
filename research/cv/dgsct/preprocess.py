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
"""AVE data pipeline: original AVE videos (AVE.zip, <id>.mp4) -> frames/<id>/%08d.jpg and wave/<id>.npy.

    python preprocess.py --video_dir AVE_Dataset/AVE --output_dir data/AVE [--fps 1 | --num_frames 10]
                         [--clip_seconds 10] [--sample_rate 32000] [--skip_errors] [--overwrite] [--workers 2]

Decoding uses mindspore.dataset.vision.read_video (the FFmpeg 5.1 libraries bundled with MindSpore on CPU, which
include the H.264 and AAC decoders of the AVE mp4 files: no PyAV, OpenCV or ffmpeg binary needed). It returns the
audio in the decoder's own sample format (e.g. int16 for PCM), converted to float here. MindSpore 2.10 returns packed
(interleaved) multi-channel PCM scrambled; such a video is refused with an error saying so (planar audio, as AAC
decodes to, is read correctly; tests/test_preprocess.py checks both on hand-written AVI files).
The repository does not say at which rate the official frames.zip was extracted; the default here
is 1 frame per second, taken at the middle of each second (frames 00000001..00000010 for a 10-s clip), which the
loader's int(linspace(1, n, 10)) maps one-to-one onto the 10 segments. `--num_frames N` takes N frames evenly
over the clip instead (middles of N equal intervals).
Audio: all channels averaged to mono, converted to float in [-1, 1], resampled with a polyphase filter
(scipy.signal.resample_poly) to 32 kHz, then zero-padded or trimmed to exactly clip_seconds * 32000 samples
(320000) and saved as float32; the counts of padded / trimmed clips are logged. A video shorter than the clip
repeats its last frame for the missing seconds (logged). Outputs are written atomically (temporary name, then
rename), so an interrupted run leaves no half-written video and a rerun continues where it stopped.
A video that cannot be decoded (or has no video / audio stream) stops the run with an error naming it;
with --skip_errors it is logged and skipped, and the failures are counted at the end.
"""
import argparse
import math
import os
import sys
from multiprocessing import Pool

import numpy as np
from PIL import Image
from scipy.signal import resample_poly
from tqdm import tqdm

from src.atomic_file import atomic_output
from src.data.ave import parse_annotation_file

VIDEO_EXTENSIONS = (".mp4", ".mkv", ".webm", ".avi", ".mov")


class VideoDecodeError(RuntimeError):
    """A video that cannot be turned into frames and a wave; the message names the file."""


def _decoder_message(err):
    """The '[ERROR] ...' line of MindSpore's multi-line pipeline error (else its first line)."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return next((line for line in lines if line.startswith("[ERROR]")), lines[0] if lines else repr(err))


def read_video(path, clip_seconds):
    """(frames uint8 [T, H, W, 3], audio [C, L] in the stream's sample format, video fps, audio rate)."""
    try:
        from mindspore.dataset.vision import read_video as ms_read_video
    except ImportError as err:      # pragma: no cover - depends on the MindSpore build
        raise VideoDecodeError("mindspore.dataset.vision.read_video is not available in this MindSpore build; "
                               "install mindspore>=2.3 (CPU wheels bundle FFmpeg)") from err
    try:
        # read a little past the clip so the last frame of the clip is not cut by the end timestamp
        frames, audio, meta = ms_read_video(path, 0, float(clip_seconds) + 1.0, pts_unit="sec")
    except (RuntimeError, ValueError) as err:
        raise VideoDecodeError(f"{path}: cannot decode video: {_decoder_message(err)}") from err
    if frames.ndim != 4 or frames.shape[0] == 0:
        raise VideoDecodeError(f"{path}: no video frames decoded")
    if audio.ndim != 2 or audio.size == 0:
        raise VideoDecodeError(f"{path}: no audio stream decoded")
    if packed_audio_bug(audio):
        raise VideoDecodeError(f"{path}: read_video returned {audio.shape[0]}-channel audio in a packed sample format "
                               f"as rows shifted by one sample (MindSpore 2.10 reads interleaved PCM as if planar, "
                               f"so only the first 1/{audio.shape[0]} of the stream is there); re-encode the audio "
                               f"to mono or to a planar codec (AAC, the AVE format, decodes as planar float)")
    video_fps, audio_rate = float(meta.get("video_fps", 0)), int(meta.get("audio_fps", 0))
    if video_fps <= 0 or audio_rate <= 0:
        raise VideoDecodeError(f"{path}: decoder reports video fps {video_fps} and audio rate {audio_rate}")
    return frames, audio, video_fps, audio_rate


def packed_audio_bug(audio):
    """True when the [C, L] rows are the interleaved samples read at offsets 0..C-1 (row c = row c-1 shifted by one
    sample inside every decoded packet), which is what read_video gives for packed multi-channel PCM (seen on 16-bit
    stereo PCM in AVI). Real multi-channel audio almost never has x_c[i] == x_{c-1}[i+1] on 90 % of the samples."""
    if audio.shape[0] < 2 or audio.shape[1] < 2 or np.all(audio == audio.flat[0]):
        return False
    return bool(np.mean(audio[1:, :-1] == audio[:-1, 1:]) > 0.9)


def frame_times(clip_seconds, fps=1.0, num_frames=None):
    """Timestamps (s) of the frames to save: middles of 1/fps-s intervals, or of num_frames equal intervals."""
    count = int(num_frames) if num_frames else int(round(clip_seconds * fps))
    if count < 1:
        raise ValueError(f"no frames to extract (clip {clip_seconds} s, fps {fps}, num_frames {num_frames})")
    return (np.arange(count) + 0.5) * (clip_seconds / count)


def select_frames(num_decoded, video_fps, times):
    """Decoded-frame index at each timestamp (the frame shown at that time); past the end: the last frame."""
    index = np.floor(np.asarray(times) * video_fps + 1e-6).astype(np.int64)
    return np.minimum(index, num_decoded - 1), int((index >= num_decoded).sum())


def to_float_mono(audio):
    """[C, L] samples of any decoder format -> float32 [L] in [-1, 1] (channel mean)."""
    audio = np.asarray(audio)
    if audio.dtype == np.uint8:
        audio = (audio.astype(np.float32) - 128.0) / 128.0
    elif np.issubdtype(audio.dtype, np.integer):
        audio = audio.astype(np.float32) / float(-np.iinfo(audio.dtype).min)
    return audio.astype(np.float32).mean(axis=0)


def resample(wave, rate_in, rate_out):
    """Polyphase resampling rate_in -> rate_out (exact rational ratio)."""
    if rate_in == rate_out:
        return wave.astype(np.float32)
    g = math.gcd(int(rate_in), int(rate_out))
    return resample_poly(wave, rate_out // g, rate_in // g).astype(np.float32)


def fit_length(wave, length):
    """Zero-pad or trim to `length` samples; returns (wave, 'padded' | 'trimmed' | 'exact')."""
    if wave.shape[0] < length:
        return np.pad(wave, (0, length - wave.shape[0])), "padded"
    if wave.shape[0] > length:
        return wave[:length], "trimmed"
    return wave, "exact"


def save_wave(path, wave):
    with atomic_output(path) as tmp:
        np.save(tmp, wave.astype(np.float32))


def save_frames(folder, frames, quality):
    """Write frames as %08d.jpg into `folder` through a temporary folder renamed at the end."""
    with atomic_output(folder) as tmp:
        os.makedirs(tmp)
        for number, frame in enumerate(frames, 1):
            Image.fromarray(np.ascontiguousarray(frame)).save(os.path.join(tmp, f"{number:08d}.jpg"), quality=quality)


def process_video(path, output_dir, args):
    """Decode one video and write its frames and wave; returns a dict of what happened."""
    video_id = os.path.splitext(os.path.basename(path))[0]
    frame_dir = os.path.join(output_dir, "frames", video_id)
    wave_path = os.path.join(output_dir, "wave", video_id + ".npy")
    if not args.overwrite and os.path.isdir(frame_dir) and os.path.isfile(wave_path):
        return {"video": video_id, "status": "exists"}
    frames, audio, video_fps, audio_rate = read_video(path, args.clip_seconds)
    index, past_end = select_frames(frames.shape[0], video_fps,
                                    frame_times(args.clip_seconds, args.fps, args.num_frames))
    wave = resample(to_float_mono(audio), audio_rate, args.sample_rate)
    wave, length = fit_length(wave, int(round(args.clip_seconds * args.sample_rate)))
    save_frames(frame_dir, frames[index], args.jpeg_quality)
    save_wave(wave_path, wave)
    return {"video": video_id, "status": "done", "audio": length, "short_video": past_end > 0}


def _worker(job):
    path, output_dir, args = job
    try:
        return process_video(path, output_dir, args)
    except VideoDecodeError as err:
        return {"video": os.path.basename(path), "status": "error", "error": str(err)}


def list_videos(video_dir, ids=None):
    """Video files of video_dir (sorted); with `ids`, exactly those ids (a missing one is an error)."""
    if not os.path.isdir(video_dir):
        raise SystemExit(f"error: video folder not found: {video_dir}")
    found = {os.path.splitext(n)[0]: os.path.join(video_dir, n) for n in sorted(os.listdir(video_dir))
             if n.lower().endswith(VIDEO_EXTENSIONS)}
    if ids is None:
        return list(found.values())
    missing = [i for i in ids if i not in found]
    if missing:
        raise SystemExit(f"error: {len(missing)} annotated video(s) not in {video_dir}, e.g. {missing[:3]}")
    return [found[i] for i in ids]


def run(args):
    ids = None
    if args.annotations:    # distinct video ids, in file order (a video can hold several annotated events)
        ids = list(dict.fromkeys(r.video_id for r in parse_annotation_file(args.annotations, args.clip_seconds)))
    videos = list_videos(args.video_dir, ids)
    for sub in ("frames", "wave"):
        os.makedirs(os.path.join(args.output_dir, sub), exist_ok=True)
    jobs = [(path, args.output_dir, args) for path in videos]
    counts = {"done": 0, "exists": 0, "error": 0, "padded": 0, "trimmed": 0, "short_video": 0}
    failures = []
    pool = Pool(args.workers) if args.workers > 1 else None
    results = pool.imap_unordered(_worker, jobs) if pool else map(_worker, jobs)
    try:
        for result in tqdm(results, total=len(jobs), desc="AVE videos", unit="video", file=sys.stderr):
            counts[result["status"]] += 1
            if result["status"] == "error":
                if not args.skip_errors:
                    raise SystemExit(f"error: {result['error']} (rerun with --skip_errors to skip such videos)")
                failures.append(result["error"])
                tqdm.write(f"skipped: {result['error']}", file=sys.stderr)
            elif result["status"] == "done":
                counts[result["audio"]] = counts.get(result["audio"], 0) + 1
                counts["short_video"] += int(result["short_video"])
    finally:
        if pool:
            pool.terminate()
    print(f"{len(jobs)} videos: {counts['done']} written, {counts['exists']} already present, {counts['error']} "
          f"failed; audio padded to {args.clip_seconds} s: {counts['padded']}, trimmed: {counts['trimmed']}; "
          f"videos shorter than the clip (last frame repeated): {counts['short_video']}")
    if failures:
        with open(os.path.join(args.output_dir, "preprocess_errors.txt"), "w", encoding="utf-8") as handle:
            handle.write("\n".join(failures) + "\n")
        print(f"the {len(failures)} failures are listed in {os.path.join(args.output_dir, 'preprocess_errors.txt')}")
    return counts


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="AVE videos -> frames/<id>/%08d.jpg + wave/<id>.npy (32 kHz)")
    parser.add_argument("--video_dir", required=True, help="folder with the AVE videos (<id>.mp4)")
    parser.add_argument("--output_dir", required=True, help="dataset root that receives frames/ and wave/")
    parser.add_argument("--annotations", default="", help="optional Annotations.txt: process exactly its videos")
    parser.add_argument("--fps", type=float, default=1.0, help="frames saved per second (default 1)")
    parser.add_argument("--num_frames", type=int, default=0, help="instead of --fps: N frames evenly over the clip")
    parser.add_argument("--clip_seconds", type=float, default=10.0)
    parser.add_argument("--sample_rate", type=int, default=32000)
    parser.add_argument("--jpeg_quality", type=int, default=95)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--skip_errors", action="store_true", help="log undecodable videos and continue")
    parser.add_argument("--overwrite", action="store_true", help="redo videos whose outputs already exist")
    return parser.parse_args(argv)


if __name__ == "__main__":
    run(parse_args())
