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
"""MUSIC-AVQA readers: real json files, vocabulary, negatives, the synthetic set, and every bad-input error."""
import json
import os
import shutil

import numpy as np
import pytest

from conftest import shared_dataset_dir
from src.data.avqa import (AVQADataError, AVQAGroundingSource, AVQASource, AVQAVocabulary, negative_positions,
                           question_words, read_avqa_json)
from src.data.avqa_synthetic import make_synthetic_avqa
from src.metrics.avqa import TYPE_PAIRS


@pytest.fixture
def avqa_json_dir():
    path = shared_dataset_dir("av/MUSIC-AVQA/json", "avqa-val.json", "MUSIC-AVQA json files")
    return path


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("avqa"))
    return make_synthetic_avqa(root, videos_per_split=(6, 3, 3), questions_per_video=3, image_size=24)


def test_real_json_and_vocabulary(avqa_json_dir, tmp_path):
    # the train split is not available: val stands in for vocabulary building
    val = read_avqa_json(str(avqa_json_dir / "avqa-val.json"))
    test = read_avqa_json(str(avqa_json_dir / "avqa-test.json"))
    assert len(val) == 4595 and len(test) == 9185
    first = val[0]   # "Is the <Object> in the video always playing?" with ["ukulele"]
    assert first["words"] == ["Is", "the", "ukulele", "in", "the", "video", "always", "playing"]
    assert TYPE_PAIRS[first["type_index"]] == ("Audio-Visual", "Existential")
    vocab = AVQAVocabulary.build(val)
    assert vocab.words[0] == "<pad>" and vocab.words[1:4] == ["Is", "the", "ukulele"]
    assert len(vocab.answers) <= 42 and vocab.answers[0] == "yes"
    ids = vocab.encode_question(first)
    assert ids.shape == (14,) and (ids[8:] == 0).all() and ids[2] == vocab.word_index["ukulele"]
    # no question is longer than 14 words; val and test together use exactly the official 93-word vocabulary
    assert max(len(r["words"]) for r in val + test) <= 14
    assert len(AVQAVocabulary.build(val + test).words) == 93
    # a test word unseen in the vocabulary source is a clear error (here 'fifth' is missing from val)
    with pytest.raises(AVQADataError, match=r"avqa-test.json: record \d+, question_id \d+: word\(s\) \['fifth'\]"):
        for record in test:
            vocab.encode_question(record)
    path = str(tmp_path / "vocab.json")
    vocab.save(path)
    loaded = AVQAVocabulary.load(path)
    assert loaded.words == vocab.words and loaded.answers == vocab.answers


def test_official_vocabulary_file_matches_first_seen_rule(avqa_json_dir):
    """The DG-SCT extras carry the official 93-word vocabulary (written twice): val + test use the same words."""
    extras = avqa_json_dir.parent / "dgsct_extras" / "ques_vocab.txt"
    if not extras.is_file():
        pytest.skip("dgsct_extras/ques_vocab.txt not found")
    official = list(dict.fromkeys(extras.read_text().splitlines()))
    assert len(official) == 93 and official[0] == "<pad>"
    records = read_avqa_json(str(avqa_json_dir / "avqa-val.json")) + read_avqa_json(
        str(avqa_json_dir / "avqa-test.json"))
    assert set(AVQAVocabulary.build(records).words) == set(official)


def test_question_words_template_substitution():
    record = {"question_content": "Is the <Object> on the <LR> louder than the <Object> on the <LR>?",
              "templ_values": '["cello", "left", "piano", "right"]'}
    assert question_words(record) == ["Is", "the", "cello", "on", "the", "left", "louder", "than", "the", "piano",
                                      "on", "the", "right"]
    record = {"question_content": "How many sounding <Object> in the video\uff1f", "templ_values": '["flute"]'}
    assert question_words(record)[-1] == "video"          # the full-width question mark is dropped too


def test_negative_sampling_excludes_own_video():
    rng = np.random.default_rng(0)
    own = 2
    draws = [v for _ in range(300) for v, _ in negative_positions(own, 5, 10, rng)]
    assert own not in draws and set(draws) == {0, 1, 3, 4}
    # official test (frame id // 60 != video index): video 2 can draw its own frames (the bug) ...
    rng = np.random.default_rng(0)
    official = [v for _ in range(300) for v, _ in negative_positions(2, 5, 10, rng, official=True)]
    assert own in official
    # ... and with 5 videos every id // 60 is 0, so video 0 would loop forever in the original loader
    with pytest.raises(AVQADataError, match="official negative sampling cannot find a frame for video 0"):
        negative_positions(0, 5, 10, rng, official=True)
    with pytest.raises(AVQADataError, match="at least two videos"):
        negative_positions(0, 1, 10, rng)


def test_synthetic_source_items(synth):
    vocab = AVQAVocabulary.build(read_avqa_json(os.path.join(synth, "avqa-train.json")))
    source = AVQASource(synth, os.path.join(synth, "avqa-val.json"), vocab, image_size=16, clip_samples=64000,
                        seed=0)
    frames, negs, wave, question, mixup, answer, type_index = source[0]
    assert frames.shape == negs.shape == (10, 3, 16, 16)
    assert wave.shape == (10, 64000) and question.shape == (14,) and question.dtype == np.int32
    assert 0 <= answer < len(vocab.answers) and 0 <= type_index < 9
    # 12 frames -> int(linspace(1, 12, 10)) = 1, 2, 3, 4, 5, 7, 8, 9, 10, 12
    assert [os.path.basename(p) for p in source.frame_paths(source.records[0]["video_id"])][-3:] == \
        ["00000009.jpg", "00000010.jpg", "00000012.jpg"]
    grounding = AVQAGroundingSource(synth, os.path.join(synth, "avqa-train.json"), image_size=16, seed=0)
    pair, seg_wave, mixup, _ = grounding[13]
    assert len(grounding) == 60 and pair.shape == (2, 3, 16, 16) and seg_wave.shape == (320000,)


def _write_json(tmp_path, records):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(records))
    return str(path)


GOOD = {"video_id": "00000001", "question_id": 7, "type": '["Audio", "Counting"]',
        "question_content": "Is there a <Object> sound?", "templ_values": '["cello"]', "question_deleted": 0,
        "anser": "yes"}


@pytest.mark.parametrize("change, match", [
    ({"question_content": "Is the <Object> louder than the <Object>?"}, "unknown template"),
    ({"templ_values": "[cello"}, "templ_values .* is not a list literal"),
    ({"type": '["Audio", "Dancing"]'}, "unknown question type"),
    ({"type": "Audio"}, "is not a json list"),
    ({"anser": None, "drop": "anser"}, r"missing key\(s\) \['anser'\]"),
])
def test_bad_records_name_file_and_record(tmp_path, change, match):
    bad = dict(GOOD, **{k: v for k, v in change.items() if k != "drop"})
    if "drop" in change:
        bad.pop(change["drop"])
    path = _write_json(tmp_path, [GOOD, bad])
    with pytest.raises(AVQADataError, match=match) as err:
        read_avqa_json(path)
    assert f"{path}: record 1" in str(err.value)


def test_unknown_word_answer_and_long_question(tmp_path):
    vocab = AVQAVocabulary.build(read_avqa_json(_write_json(tmp_path, [GOOD])))
    other = dict(GOOD, templ_values='["tuba"]', anser="no")
    records = read_avqa_json(_write_json(tmp_path, [GOOD, other]))
    with pytest.raises(AVQADataError, match=r"record 1, question_id 7: word\(s\) \['tuba'\] not in the training"):
        vocab.encode_question(records[1])
    with pytest.raises(AVQADataError, match="answer 'no' is not in the training answer list"):
        vocab.encode_answer(records[1])
    long = dict(GOOD, question_content="Is there a <Object> sound " + "really " * 10 + "?")
    record = read_avqa_json(_write_json(tmp_path, [long]))[0]
    with pytest.raises(AVQADataError, match="question has 16 words, more than 14"):
        AVQAVocabulary.build([record]).encode_question(record)
    with pytest.raises(AVQADataError, match="not valid json"):
        (tmp_path / "broken.json").write_text("[{")
        read_avqa_json(str(tmp_path / "broken.json"))


def test_missing_media_errors(tmp_path):
    root = make_synthetic_avqa(str(tmp_path / "d"), videos_per_split=(6, 2, 2), questions_per_video=2,
                               image_size=16, frames_per_video=10)
    vocab = AVQAVocabulary.build(read_avqa_json(os.path.join(root, "avqa-train.json")))
    val = os.path.join(root, "avqa-val.json")
    video = read_avqa_json(val)[0]["video_id"]
    os.remove(os.path.join(root, "audio_wave", video + ".npy"))
    with pytest.raises(AVQADataError, match=f"{video}.npy: missing wave file .*avqa-val.json: record 0"):
        AVQASource(root, val, vocab)
    shutil.rmtree(os.path.join(root, "frames", video))
    with pytest.raises(AVQADataError, match=f"frames/{video}: missing frame folder .*record 0"):
        AVQASource(root, val, vocab)
    one_video = str(tmp_path / "one.json")
    with open(val) as f, open(one_video, "w") as g:
        json.dump([r for r in json.load(f) if r["video_id"] == video], g)
    with pytest.raises(AVQADataError, match="one.json: negative frames need at least two videos, the file has 1"):
        AVQASource(root, one_video, vocab, check_files=False)
