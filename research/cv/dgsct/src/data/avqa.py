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
"""MUSIC-AVQA data in the release layout (official `DG-SCT/AVQA/net_grd_avst/dataloader_avst.py`).

    <ann>/avqa-{train,val,test}.json         list of {video_id, question_id, type (json string '["Audio",
                                             "Counting"]'), question_content (template with <Object>, <LR>, ...
                                             placeholders), templ_values (json string list), anser (sic)}
    <root>/frames/<video_id>/%08d.jpg        video frames; 10 are taken at int(linspace(1, n, 10))
    <root>/audio_wave/<video_id>.npy         320000 samples, viewed as 10 one-second rows of 32000

Question words: split on spaces, drop the last character of the last word ('?'), replace each word containing '<'
by the next template value, pad with '<pad>' to 14 words (official rule). The vocabulary (question words, '<pad>'
first, then first-seen order) and the answer list (first-seen order) are built from the TRAINING file and saved as
json with the checkpoint, so that evaluation and export use the same mapping.

Negative frames (AVST grounding): for each of the 10 positions a random frame of another video of the split. The
official loader rejects a candidate frame id f when f // 60 == video index, which does not exclude the clip itself
(frame ids are video * 10 + segment); the default here rejects f // 10 == video index, `official_negatives=True`
reproduces the original test.
"""
import ast
import json
import os
from dataclasses import dataclass
from typing import List, Sequence

import numpy as np

from ..atomic_file import write_text
from ..metrics.avqa import TYPE_PAIR_INDEX
from .transforms import (DataError, MixupOptions, build_task_dataset, load_frame, load_wave_segments, mixup_weights,
                         sampled_frame_paths, task_options)

MAX_QUESTION_LEN = 14
NUM_SEGMENTS = 10
SAMPLE_RATE = 32000
PAD = "<pad>"
REQUIRED_KEYS = ("video_id", "question_id", "type", "question_content", "templ_values", "anser")
OFFICIAL_NEGATIVE_DIVISOR = 60     # official dataloader_avst.py: neg_id // 60 (should be // 10)


AVQADataError = DataError   # the error type shared by all readers (src/data/transforms.py)


@dataclass
class AVQAGroundingDataOptions(MixupOptions):
    """`data.options` of the AVQA grounding pre-training."""
    ann_dir: str = ""                    # folder of avqa-<split>.json; empty = <root>/json if present, else root


@dataclass
class AVQADataOptions(AVQAGroundingDataOptions):
    """`data.options` of AVQA question answering."""
    vocab_file: str = ""                 # empty: built from avqa-train.json, saved as <ckpt_path>/avqa_vocab.json
    max_question_len: int = MAX_QUESTION_LEN


def _where(path, i, record=None):
    qid = f", question_id {record.get('question_id')!r}" if isinstance(record, dict) else ""
    return f"{path}: record {i}{qid}"


def question_words(record, where=""):
    """Template question -> list of words with the template values substituted (official tokenisation)."""
    words = record["question_content"].rstrip().split(" ")
    words[-1] = words[-1][:-1]
    try:
        values = ast.literal_eval(record["templ_values"]) if record["templ_values"] else []
    except (ValueError, SyntaxError):
        raise AVQADataError(f"{where}: templ_values {record['templ_values']!r} is not a list literal") from None
    slots = [i for i, w in enumerate(words) if "<" in w]
    if not isinstance(values, list) or len(slots) != len(values):
        raise AVQADataError(f"{where}: unknown template {record['question_content']!r}: it has {len(slots)} "
                            f"placeholder(s) but templ_values gives {values!r}")
    for i, value in zip(slots, values):
        words[i] = str(value)
    return words


def parse_type(record, where=""):
    """'["Audio-Visual", "Temporal"]' -> index into metrics.avqa.TYPE_PAIRS."""
    try:
        pair = tuple(json.loads(record["type"]))
    except (TypeError, ValueError):
        raise AVQADataError(f"{where}: question type {record['type']!r} is not a json list") from None
    if pair not in TYPE_PAIR_INDEX:
        raise AVQADataError(f"{where}: unknown question type {list(pair)!r}")
    return TYPE_PAIR_INDEX[pair]


def read_avqa_json(path) -> List[dict]:
    """Load and check a MUSIC-AVQA json file; each returned record gets 'words', 'type_index', 'where'."""
    if not os.path.isfile(path):
        raise AVQADataError(f"{path}: file not found")
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (ValueError, UnicodeDecodeError) as err:
        raise AVQADataError(f"{path}: not valid json: {err}") from err
    if not isinstance(data, list) or not data:
        raise AVQADataError(f"{path}: expected a non-empty json list of question records")
    records = []
    for i, record in enumerate(data):
        where = _where(path, i, record)
        if not isinstance(record, dict):
            raise AVQADataError(f"{where}: expected a json object, got {type(record).__name__}")
        missing = [k for k in REQUIRED_KEYS if k not in record]
        if missing:
            raise AVQADataError(f"{where}: missing key(s) {missing}")
        if not isinstance(record["question_content"], str) or not record["question_content"].strip():
            raise AVQADataError(f"{where}: empty question_content")
        records.append({"video_id": str(record["video_id"]), "question_id": record["question_id"],
                        "answer": str(record["anser"]), "words": question_words(record, where),
                        "type_index": parse_type(record, where), "where": where})
    return records


class AVQAVocabulary:
    """Question-word vocabulary ('<pad>' = 0) and answer list, built from the training records."""

    def __init__(self, words: Sequence[str], answers: Sequence[str], max_len=MAX_QUESTION_LEN):
        if not words or words[0] != PAD:
            raise ValueError(f"the question vocabulary must start with {PAD!r}")
        self.words, self.answers, self.max_len = list(words), list(answers), int(max_len)
        self.word_index = {w: i for i, w in enumerate(self.words)}
        self.answer_index = {a: i for i, a in enumerate(self.answers)}

    @classmethod
    def build(cls, records, max_len=MAX_QUESTION_LEN):
        words, answers = {PAD: None}, {}
        for record in records:
            words.update(dict.fromkeys(record["words"]))
            answers.setdefault(record["answer"], None)
        return cls(list(words), list(answers), max_len)

    def encode_question(self, record) -> np.ndarray:
        words = record["words"]
        if len(words) > self.max_len:
            raise AVQADataError(f"{record['where']}: question has {len(words)} words, more than {self.max_len}")
        unknown = [w for w in words if w not in self.word_index]
        if unknown:
            raise AVQADataError(f"{record['where']}: word(s) {unknown} not in the training vocabulary")
        ids = [self.word_index[w] for w in words] + [0] * (self.max_len - len(words))
        return np.array(ids, np.int32)

    def encode_answer(self, record) -> np.int32:
        if record["answer"] not in self.answer_index:
            raise AVQADataError(f"{record['where']}: answer {record['answer']!r} is not in the training answer list")
        return np.int32(self.answer_index[record["answer"]])

    def save(self, path):
        write_text(path, json.dumps({"question_words": self.words, "answers": self.answers, "max_len": self.max_len},
                                    indent=1))

    @classmethod
    def load(cls, path):
        try:
            with open(path, encoding="utf-8") as f:
                obj = json.load(f)
            return cls(obj["question_words"], obj["answers"], obj.get("max_len", MAX_QUESTION_LEN))
        except (OSError, ValueError, KeyError) as err:
            raise AVQADataError(f"{path}: not an AVQA vocabulary file ({err})") from err


def negative_positions(video_index, num_videos, num_segments, rng, official=False):
    """(video, segment) of a random frame of ANOTHER video for each of the num_segments positions.

    Rejection sampling over frame ids f in [0, num_videos * num_segments) like the official loader; `official`
    uses its test f // 60 != video_index, which lets frames of the same clip through.
    """
    if num_videos < 2:
        raise AVQADataError("negative frames need at least two videos in the split")
    divisor = OFFICIAL_NEGATIVE_DIVISOR if official else num_segments
    if (num_videos * num_segments - 1) // divisor == 0 == video_index:
        raise AVQADataError(f"official negative sampling cannot find a frame for video 0 of a split with only "
                            f"{num_videos} videos (every frame id // {divisor} is 0)")
    out = []
    for _ in range(num_segments):
        while True:
            frame_id = int(rng.integers(0, num_videos * num_segments))
            if frame_id // divisor != video_index:
                break
        out.append((frame_id // num_segments, frame_id % num_segments))
    return out


class AVQASource:
    """Random-access MUSIC-AVQA split for mindspore.dataset.GeneratorDataset.

    Items: (frames [T,3,S,S], negative frames [T,3,S,S], wave [T,clip], question [14] int32, mixup_lambda [T],
    answer int32, type_index int32).
    """

    columns = ["frames", "neg_frames", "wave", "question", "mixup_lambda", "answer", "type_index"]

    def __init__(self, root, json_path, vocab: AVQAVocabulary, image_size=192, segment_samples=SAMPLE_RATE,
                 clip_samples=None, num_segments=NUM_SEGMENTS, official_negatives=False, seed=None,
                 check_files=True, mixup_alpha=0.0):
        self.root, self.vocab = root, vocab
        self.image_size, self.num_segments = int(image_size), int(num_segments)
        self.segment, self.clip = int(segment_samples), clip_samples
        self.official_negatives = official_negatives
        self.mixup_alpha = float(mixup_alpha)
        self.rng = np.random.default_rng(seed)
        self.records = read_avqa_json(json_path)
        self.videos = list(dict.fromkeys(r["video_id"] for r in self.records))   # first-seen order, as official
        self.video_index = {v: i for i, v in enumerate(self.videos)}
        if len(self.videos) < 2:
            raise AVQADataError(f"{json_path}: negative frames need at least two videos, the file has "
                                f"{len(self.videos)}")
        # encode everything once: a bad question or answer fails here, before training
        self.questions = np.stack([vocab.encode_question(r) for r in self.records])
        self.answers = np.array([vocab.encode_answer(r) for r in self.records], np.int32)
        self.types = np.array([r["type_index"] for r in self.records], np.int32)
        self._frame_lists = {}
        if check_files:
            for record in self.records:
                self.frame_paths(record["video_id"], record["where"])
                wave = self.wave_path(record["video_id"])
                if not os.path.isfile(wave):
                    raise AVQADataError(f"{wave}: missing wave file ({record['where']})")

    def wave_path(self, video):
        return os.path.join(self.root, "audio_wave", video + ".npy")

    def frame_paths(self, video, where=""):
        """The 10 frames at int(linspace(1, n, 10)) of the n jpg files of the video (cached)."""
        if video not in self._frame_lists:
            folder = os.path.join(self.root, "frames", video)
            self._frame_lists[video] = sampled_frame_paths(folder, self.num_segments,
                                                           context=f" (video {video!r}, {where})")
        return self._frame_lists[video]

    def __len__(self):
        return len(self.records)

    def __getitem__(self, index):
        i = int(index)
        record = self.records[i]
        video, where = record["video_id"], record["where"]
        context = f" (video {video!r}, {where})"
        frames = np.stack([load_frame(p, self.image_size, context) for p in self.frame_paths(video, where)])
        negatives = []
        for neg_video, seg in negative_positions(self.video_index[video], len(self.videos), self.num_segments,
                                                 self.rng, self.official_negatives):
            path = self.frame_paths(self.videos[neg_video], where)[seg]
            negatives.append(load_frame(path, self.image_size, context + " as a negative frame"))
        wave = load_wave_segments(self.wave_path(video), self.num_segments, self.segment, self.clip, context)
        return (frames, np.stack(negatives), wave, self.questions[i],
                mixup_weights(self.rng, self.num_segments, self.mixup_alpha), self.answers[i], self.types[i])


class AVQAGroundingSource(AVQASource):
    """Grounding pre-training samples (grounding_gen): one per (video, segment) of the split.

    Items: (frame pair [2,3,S,S] = (positive, negative), wave [clip] of that second, mixup_lambda [1], index).
    """

    columns = ["frames", "wave", "mixup_lambda", "index"]

    def __init__(self, root, json_path, vocab=None, **kwargs):
        vocab = vocab or AVQAVocabulary.build(read_avqa_json(json_path))
        super().__init__(root, json_path, vocab, **kwargs)

    def __len__(self):
        return len(self.videos) * self.num_segments

    def __getitem__(self, index):
        i = int(index)
        video_idx, seg = divmod(i, self.num_segments)
        video = self.videos[video_idx]
        where = f"video {video!r} of {self.records[0]['where'].split(': record')[0]}"
        context = f" ({where})"
        positive = load_frame(self.frame_paths(video, where)[seg], self.image_size, context)
        # grounding_gen's own sampler excludes the same clip correctly: no official-bug option here
        neg_video, neg_seg = negative_positions(video_idx, len(self.videos), self.num_segments, self.rng)[0]
        negative = load_frame(self.frame_paths(self.videos[neg_video], where)[neg_seg], self.image_size,
                              context + " as a negative frame")
        wave = load_wave_segments(self.wave_path(video), self.num_segments, self.segment, self.clip, context)[seg]
        return np.stack([positive, negative]), wave, mixup_weights(self.rng, 1, self.mixup_alpha), np.int32(i)


VOCAB_FILE = "avqa_vocab.json"


def annotation_dir(data_cfg, schema=AVQADataOptions):
    """json folder: `data.options.ann_dir`, else `<root>/json` when it exists (official layout), else `root`."""
    json_dir = os.path.join(data_cfg.root, "json")
    return task_options(data_cfg, schema).ann_dir or (json_dir if os.path.isdir(json_dir) else data_cfg.root)


def resolve_vocabulary(data_cfg, ckpt_path):
    """The vocabulary a run uses: `data.options.vocab_file` if set, else `<ckpt_path>/avqa_vocab.json` if a
    previous training saved it, else built from avqa-train.json and saved there (atomically) for eval/export.
    Returns (vocabulary, its path)."""
    opts = task_options(data_cfg, AVQADataOptions)
    path = opts.vocab_file or os.path.join(ckpt_path, VOCAB_FILE)
    if os.path.isfile(path):
        return AVQAVocabulary.load(path), path
    if opts.vocab_file:
        raise AVQADataError(f"{path}: vocabulary file (data.options.vocab_file) not found")
    vocab = AVQAVocabulary.build(read_avqa_json(os.path.join(annotation_dir(data_cfg), "avqa-train.json")),
                                 opts.max_question_len)
    os.makedirs(ckpt_path, exist_ok=True)
    vocab.save(path)
    return vocab, path


def build_avqa_dataset(data_cfg, split, batch_size, training, rank=0, group_size=1, *, vocab,
                       official_negatives=False):
    """Task-registry dataset builder; `vocab`: the run's AVQAVocabulary (the task's `prepare` resolves it);
    official_negatives: the original negative-frame test (compat.official_negatives)."""
    opts = task_options(data_cfg, AVQADataOptions)
    source = AVQASource(data_cfg.root, os.path.join(annotation_dir(data_cfg), f"avqa-{split}.json"), vocab,
                        image_size=data_cfg.image_size, segment_samples=data_cfg.audio_rate,
                        clip_samples=data_cfg.clip_samples, num_segments=data_cfg.num_segments,
                        official_negatives=official_negatives,
                        mixup_alpha=opts.mixup_alpha if training else 0.0)
    return build_task_dataset(source, data_cfg, batch_size, training, rank, group_size), source


def build_avqa_grounding_dataset(data_cfg, split, batch_size, training, rank=0, group_size=1):
    """Grounding pre-training samples of the videos of avqa-<split>.json."""
    opts = task_options(data_cfg, AVQAGroundingDataOptions)
    source = AVQAGroundingSource(data_cfg.root, os.path.join(annotation_dir(data_cfg, AVQAGroundingDataOptions),
                                                             f"avqa-{split}.json"),
                                 image_size=data_cfg.image_size, segment_samples=data_cfg.audio_rate,
                                 clip_samples=data_cfg.clip_samples, num_segments=data_cfg.num_segments,
                                 mixup_alpha=opts.mixup_alpha if training else 0.0)
    return build_task_dataset(source, data_cfg, batch_size, training, rank, group_size), source
