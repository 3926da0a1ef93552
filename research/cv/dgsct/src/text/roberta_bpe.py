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
"""RoBERTa's byte-level BPE tokenizer (the GPT-2 scheme) from the user's ``vocab.json`` and ``merges.txt``.

Files (as released with roberta-base): ``vocab.json`` maps token -> id (50,265 entries; ``<s>`` 0, ``<pad>`` 1,
``</s>`` 2, ``<unk>`` 3, ``<mask>`` 50264); ``merges.txt`` is UTF-8 text, a ``#version`` header line, then one merge
``"<left> <right>"`` per line in priority order.

Encoding (no lower-casing, no text cleaning, no prefix space): split the text into pre-tokens (contractions 's 't 're
've 'm 'll 'd; an optional single space followed by a run of letters, a run of numerals or a run of other
non-whitespace characters; whitespace runs, where a run followed by a non-space character leaves its last character
to the next pre-token); map each pre-token's UTF-8 bytes to the byte symbols CLIP also uses (a space is 'Ġ');
apply the merges greedily (lowest rank first); look the pieces up in the vocabulary (``<unk>`` if absent). Calling
the tokenizer gives ``<s> ids </s>`` padded with ``<pad>`` to ``max_length`` and the attention mask, truncating the
ids between the two special tokens when too long (as ``RobertaTokenizer(padding="max_length", truncation=True)``,
which LAION-CLAP uses with max_length 77). Special-token strings inside a text are tokenized as plain text.
"""
import json
import os
from typing import Dict, List, Sequence, Tuple, Union

import numpy as np

from .clip_bpe import CONTRACTIONS, _category, byte_to_symbol, merge_word

BOS, PAD, EOS, UNK = "<s>", "<pad>", "</s>", "<unk>"
CLAP_MAX_LENGTH = 77


def gpt2_pre_tokenize(text: str) -> List[str]:
    """Pre-tokens of the GPT-2 pattern
    's|'t|'re|'ve|'m|'ll|'d| ?L+| ?N+| ?[^\\sLN]+|\\s+(?!\\S)|\\s+  (L = letters, N = numerals)."""
    pieces, i, size = [], 0, len(text)

    def kind(char):
        if char.isspace():
            return "S"
        category = _category(char)
        return category if category in "LN" else "O"

    def run_end(start, wanted):
        end = start
        while end < size and kind(text[end]) == wanted:
            end += 1
        return end

    while i < size:
        contraction = next((c for c in CONTRACTIONS if text.startswith(c, i)), None)
        if contraction:
            pieces.append(contraction)
            i += len(contraction)
            continue
        start = i + 1 if text[i] == " " and i + 1 < size and kind(text[i + 1]) != "S" else i
        if kind(text[start]) != "S":
            end = run_end(start, kind(text[start]))
        else:
            end = run_end(i, "S")
            if end < size and end - i > 1:       # leave the last whitespace to the next pre-token
                end -= 1
        pieces.append(text[i:end])
        i = end
    return pieces


def read_vocab(path: str) -> Dict[str, int]:
    if not os.path.isfile(path):
        raise FileNotFoundError(f"RoBERTa vocabulary file not found: {path}")
    try:
        with open(path, encoding="utf-8") as handle:
            vocab = json.load(handle)
    except (ValueError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not a JSON token -> id map ({err})") from err
    if not isinstance(vocab, dict) or not all(isinstance(v, int) for v in vocab.values()):
        raise ValueError(f"{path}: expected a JSON object mapping tokens to integer ids")
    missing = [t for t in (BOS, PAD, EOS, UNK) if t not in vocab]
    if missing:
        raise ValueError(f"{path}: special tokens {missing} are missing")
    return vocab


def read_merges_txt(path: str) -> List[Tuple[str, str]]:
    if not os.path.isfile(path):
        raise FileNotFoundError(f"RoBERTa merges file not found: {path}")
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().split("\n")
    merges = []
    for number, line in enumerate(lines, start=1):
        if number == 1 and line.startswith("#version"):
            continue
        if not line:
            continue
        parts = line.split(" ")
        if len(parts) != 2 or not all(parts):
            raise ValueError(f"{path}, line {number}: expected a merge '<left> <right>', got {line!r}")
        merges.append((parts[0], parts[1]))
    return merges


class RobertaTokenizer:
    """Byte-level BPE of RoBERTa; ``__call__`` returns (ids, attention_mask), int32 [N, max_length]."""

    def __init__(self, vocab_path: str, merges_path: str, max_length: int = CLAP_MAX_LENGTH):
        if max_length < 2:
            raise ValueError(f"max_length must leave room for <s> and </s>, got {max_length}")
        self.encoder = read_vocab(vocab_path)
        self.merge_ranks = {pair: rank for rank, pair in enumerate(read_merges_txt(merges_path))}
        self.byte_encoder = byte_to_symbol()
        self.max_length = max_length
        self.bos_id, self.pad_id, self.eos_id, self.unk_id = (self.encoder[t] for t in (BOS, PAD, EOS, UNK))
        self._cache: Dict[str, Tuple[str, ...]] = {}

    def encode(self, text: str) -> List[int]:
        """Text -> ids without <s> / </s>."""
        ids = []
        for piece in gpt2_pre_tokenize(text):
            symbols = "".join(self.byte_encoder[b] for b in piece.encode("utf-8"))
            if symbols not in self._cache:
                self._cache[symbols] = merge_word(tuple(symbols), self.merge_ranks)
            ids.extend(self.encoder.get(token, self.unk_id) for token in self._cache[symbols])
        return ids

    def __call__(self, texts: Union[str, Sequence[str]]) -> Tuple[np.ndarray, np.ndarray]:
        texts = [texts] if isinstance(texts, str) else list(texts)
        ids = np.full((len(texts), self.max_length), self.pad_id, np.int32)
        mask = np.zeros_like(ids)
        for row, text in enumerate(texts):
            tokens = [self.bos_id] + self.encode(text)[:self.max_length - 2] + [self.eos_id]
            ids[row, :len(tokens)] = tokens
            mask[row, :len(tokens)] = 1
        return ids, mask
