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
"""Synthetic MUSIC-AVQA-format data set (json files, JPEG frames, waves) for demos and tests.

Every video shows two instruments, one on the left and one on the right half of the frame (an instrument-specific
colour). Each may sound (an instrument-specific chord, with its own loudness and start second). Questions use real
MUSIC-AVQA templates whose answers follow from that content (which instrument is where, which sounds, which is
louder, how many sound, which comes in first), covering all nine question types.

The training split asks every answerable question of every video, cycles the sounding patterns, puts instrument
k % 6 on the left of its k-th video and probes instrument k % 6 in an extra question, so that (with at least 6
training videos) the vocabulary and answer list built from it cover the val/test questions.
"""
import argparse
import json
import os

import numpy as np
from PIL import Image

INSTRUMENTS = ("accordion", "acoustic_guitar", "banjo", "cello", "flute", "piano")
NUMBERS = ("zero", "one", "two")


def _colour(i):
    return np.random.default_rng(500 + i).integers(40, 256, size=3)


def _questions(left, right, sounding, loud, onset, rng):
    """(type, template, values, answer) tuples answerable from the video content."""
    names = (INSTRUMENTS[left], INSTRUMENTS[right])
    other = INSTRUMENTS[int(rng.choice([i for i in range(len(INSTRUMENTS)) if i not in (left, right)]))]
    yes = ("no", "yes")
    probe = names[int(rng.integers(0, 2))] if rng.random() < 0.7 else other
    probe_sounds = probe in names and sounding[names.index(probe)]
    louder = loud[0] * sounding[0] > loud[1] * sounding[1]
    out = [
        (["Audio", "Counting"], "Is there a <Object> sound?", [probe], yes[probe_sounds]),
        (["Audio", "Comparative"], "Is the <Object> louder than the <Object>?", list(names), yes[louder]),
        (["Visual", "Counting"], "Is there a <Object> in the entire video?", [probe], yes[probe in names]),
        (["Visual", "Location"], "What kind of instrument is the <LRer> instrument? ", ["leftest"], names[0]),
        (["Audio-Visual", "Counting"], "How many instruments are sounding in the video?", [],
         NUMBERS[int(sum(sounding))]),
        (["Audio-Visual", "Existential"], "Is the <Object> in the video always playing?", [names[1]],
         yes[sounding[1]]),
        (["Audio-Visual", "Comparative"], "Is the instrument on the <LR> louder than the instrument on the <LR>?",
         ["left", "right"], yes[louder]),
    ]
    if any(sounding):
        loudest = int(np.argmax(np.asarray(loud) * np.asarray(sounding)))
        out.append((["Audio-Visual", "Location"], "Where is the <LL> instrument?", ["loudest"],
                    ("left", "right")[loudest]))
        first = min((onset[k], k) for k in range(2) if sounding[k])[1]
        out.append((["Audio-Visual", "Temporal"], "What is the <TH> instrument that comes in?", ["first"],
                    names[first]))
    return out


def make_synthetic_avqa(root, videos_per_split=(8, 4, 4), questions_per_video=4, image_size=32, frames_per_video=12,
                        sample_rate=32000, num_segments=10, seed=0):
    """Write avqa-{train,val,test}.json under `root`, frames under root/frames and waves under root/audio_wave."""
    if videos_per_split[0] < len(INSTRUMENTS):
        raise ValueError(f"the training split needs at least {len(INSTRUMENTS)} videos to cover every instrument")
    rng = np.random.default_rng(seed)
    os.makedirs(os.path.join(root, "frames"), exist_ok=True)
    os.makedirs(os.path.join(root, "audio_wave"), exist_ok=True)
    t = np.arange(sample_rate) / sample_rate
    video_counter, question_counter = 0, 0
    for split, count in zip(("train", "val", "test"), videos_per_split):
        records = []
        for k in range(count):
            video_counter += 1
            video = f"{video_counter:08d}"
            left, right = (int(i) for i in rng.choice(len(INSTRUMENTS), size=2, replace=False))
            if split == "train":
                left = k % len(INSTRUMENTS)
                right = (left + 1 + int(rng.integers(0, len(INSTRUMENTS) - 1))) % len(INSTRUMENTS)
            sounding = [bool(rng.random() < 0.7), bool(rng.random() < 0.7)]
            loud = [float(rng.uniform(0.1, 0.5)), float(rng.uniform(0.1, 0.5))]
            onset = [int(rng.integers(0, num_segments // 2)), int(rng.integers(0, num_segments // 2))]
            if split == "train":      # cycle through every sounding pattern so all count answers occur
                sounding = [(True, True), (True, False), (False, True), (False, False)][k % 4]
            wave = 0.01 * rng.normal(size=(num_segments, sample_rate))
            for k, inst in enumerate((left, right)):
                if sounding[k]:
                    tone = sum(np.sin(2 * np.pi * 196.0 * 2 ** ((inst + j) / 6.0) * t) for j in (0, 2))
                    wave[onset[k]:] += loud[k] * tone
            np.save(os.path.join(root, "audio_wave", video + ".npy"), wave.reshape(-1).astype(np.float32))
            folder = os.path.join(root, "frames", video)
            os.makedirs(folder, exist_ok=True)
            half = image_size // 2
            for f in range(frames_per_video):
                frame = np.full((image_size, image_size, 3), 25.0) + rng.normal(0, 8, (image_size, image_size, 3))
                frame[half // 2:half // 2 + half, :half] = _colour(left)
                frame[half // 2:half // 2 + half, half:] = _colour(right)
                Image.fromarray(np.clip(frame, 0, 255).astype(np.uint8)).save(
                    os.path.join(folder, f"{f + 1:08d}.jpg"), quality=90)
            candidates = _questions(left, right, sounding, loud, onset, rng)
            if split == "train":
                probe = INSTRUMENTS[k % len(INSTRUMENTS)]
                picked = candidates + [(["Visual", "Counting"], "Is there a <Object> in the entire video?", [probe],
                                        ("no", "yes")[probe in (INSTRUMENTS[left], INSTRUMENTS[right])])]
            else:
                picked = [candidates[int(j)] for j in rng.choice(len(candidates), replace=False,
                                                                 size=min(questions_per_video, len(candidates)))]
            for qtype, template, values, answer in picked:
                question_counter += 1
                records.append({"video_id": video, "question_id": question_counter, "type": json.dumps(qtype),
                                "question_content": template, "templ_values": json.dumps(values),
                                "question_deleted": 0, "anser": answer})
        with open(os.path.join(root, f"avqa-{split}.json"), "w", encoding="utf-8") as f:
            json.dump(records, f, indent=1)
    return root


def main():
    parser = argparse.ArgumentParser(description="Write a synthetic MUSIC-AVQA-format data set.")
    parser.add_argument("--out", required=True)
    parser.add_argument("--videos", type=int, nargs=3, default=(8, 4, 4), help="train val test")
    parser.add_argument("--questions", type=int, default=4, help="questions per val/test video")
    parser.add_argument("--rate", type=int, default=8000, help="wave sample rate")
    parser.add_argument("--frame_size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    make_synthetic_avqa(args.out, tuple(args.videos), args.questions, args.frame_size, sample_rate=args.rate,
                        seed=args.seed)
    print(f"synthetic MUSIC-AVQA set ({args.videos} train/val/test videos) written to {args.out}")


if __name__ == "__main__":
    main()
