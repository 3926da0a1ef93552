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
"""CLIP's byte-level BPE tokenizer, reading the merges file the user supplies (``bpe_simple_vocab_16e6.txt.gz``).

File format: gzip-compressed UTF-8 text; line 1 is a header (skipped), every further line is one merge
``"<left> <right>"`` in priority order (the first line has the highest priority); the released file holds 262,145
merges of which CLIP uses the first 48,894.

Vocabulary (ids in this order, as the released models expect): the 256 byte symbols, the same 256 symbols with the
end-of-word marker ``</w>``, one token per used merge (the concatenated pair), ``<|startoftext|>``,
``<|endoftext|>``; so vocab_size = 512 + merges + 2 (49,408 for ViT-B/32). A byte symbol is the byte itself as a
character for the 188 printable Latin-1 bytes ('!'..'~', '¡'..'¬', '®'..'ÿ', listed first, ascending) and
chr(256 + n) for the n-th remaining byte (listed next, ascending).

Encoding a text: repair mojibake with ftfy when it is installed (CLIP does; for plain text it changes nothing),
unescape HTML entities twice, collapse whitespace, lower-case; split into pre-tokens (the two special tokens, the
contractions 's 't 're 've 'm 'll 'd, runs of letters, single digits/numerals, runs of other non-space characters;
whitespace separates and is dropped); map each pre-token's UTF-8 bytes to byte symbols, mark its last symbol with
``</w>`` and apply merges greedily, always the highest-priority adjacent pair first (all its occurrences, left to
right), until none applies. ``tokenize`` wraps each text as [<|startoftext|>, ..., <|endoftext|>] and zero-pads it to
the context length; the end-of-text id is the largest id, so a row's argmax locates it (the text tower pools there).
"""
import gzip
import html
import os
import re
import unicodedata
from typing import Dict, List, Sequence, Tuple, Union

import numpy as np

START_TOKEN = "<|startoftext|>"
END_TOKEN = "<|endoftext|>"
END_OF_WORD = "</w>"
CONTRACTIONS = ("'s", "'t", "'re", "'ve", "'m", "'ll", "'d")
NUM_BYTE_SYMBOLS = 256
OPENAI_VOCAB_SIZE = 49408            # ViT-B/32 text tower
OPENAI_CONTEXT_LENGTH = 77
_WHITESPACE = re.compile(r"\s+")
# bytes that stand for themselves in the symbol alphabet ('!'..'~', '¡'..'¬', '®'..'ÿ'): 188 of 256
_PRINTABLE_BYTES = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]


def _byte_order() -> List[int]:
    """Byte values in vocabulary order: the printable Latin-1 bytes ascending, then the others ascending."""
    return _PRINTABLE_BYTES + [b for b in range(NUM_BYTE_SYMBOLS) if b not in set(_PRINTABLE_BYTES)]


def byte_to_symbol() -> Dict[int, str]:
    """byte value -> its symbol: itself for printable bytes, chr(256 + n) for the n-th other byte."""
    order = _byte_order()
    num_printable = len(_PRINTABLE_BYTES)
    return {byte: chr(byte) if position < num_printable else chr(NUM_BYTE_SYMBOLS + position - num_printable)
            for position, byte in enumerate(order)}


def byte_symbols() -> List[str]:
    """The 256 byte symbols in vocabulary order."""
    table = byte_to_symbol()
    return [table[b] for b in _byte_order()]


def read_merges(path: str, num_merges: int) -> List[Tuple[str, str]]:
    """The first ``num_merges`` merges of a gzip merges file; errors name the file and line."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"CLIP BPE vocabulary file not found: {path}")
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            lines = handle.read().split("\n")
    except (OSError, UnicodeDecodeError, EOFError) as err:
        raise ValueError(f"{path}: not a gzip-compressed UTF-8 BPE merges file ({err})") from err
    if lines and lines[-1] == "":
        lines.pop()                      # the newline that ends the file
    merges = []
    for number, line in enumerate(lines[1:num_merges + 1], start=2):
        parts = line.split(" ")
        if len(parts) != 2 or not all(parts):
            raise ValueError(f"{path}, line {number}: expected a merge '<left> <right>', got {line!r}")
        merges.append((parts[0], parts[1]))
    if len(merges) < num_merges:
        raise ValueError(f"{path}: has {len(merges)} merges after the header line, the vocabulary needs "
                         f"{num_merges} (vocab_size = 512 + merges + 2)")
    return merges


def merge_word(word: Tuple[str, ...], ranks: Dict[Tuple[str, str], int]) -> Tuple[str, ...]:
    """Greedy BPE: merge the adjacent pair of lowest rank (all its occurrences, left to right) until no pair of the
    word has a rank."""
    while len(word) > 1:
        pairs = set(zip(word[:-1], word[1:]))
        best = min(pairs, key=lambda pair: ranks.get(pair, float("inf")))
        if best not in ranks:
            break
        merged, i = [], 0
        while i < len(word):
            if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                merged.append(word[i] + word[i + 1])
                i += 2
            else:
                merged.append(word[i])
                i += 1
        word = tuple(merged)
    return word


def _category(char: str) -> str:
    return unicodedata.category(char)[0]


def pre_tokenize(text: str) -> List[str]:
    """Split cleaned text into pre-tokens: special tokens, contractions, letter runs (Unicode L*), single numerals
    (N*), runs of other non-whitespace characters. Whitespace is dropped."""
    pieces, i, size = [], 0, len(text)
    while i < size:
        char = text[i]
        special = next((t for t in (START_TOKEN, END_TOKEN) if text.startswith(t, i)), None)
        contraction = next((c for c in CONTRACTIONS if text[i:i + len(c)].lower() == c), None) if char == "'" else None
        if special or contraction:
            piece = special or contraction
        elif char.isspace():
            i += 1
            continue
        elif _category(char) == "L":
            end = i + 1
            while end < size and _category(text[end]) == "L":
                end += 1
            piece = text[i:end]
        elif _category(char) == "N":
            piece = char
        else:
            end = i + 1
            while end < size and not text[end].isspace() and _category(text[end]) not in "LN":
                end += 1
            piece = text[i:end]
        pieces.append(piece)
        i += len(piece)
    return pieces


def clean_text(text: str) -> str:
    """ftfy repair (when installed), HTML unescape x2, whitespace collapse, lower case."""
    try:
        import ftfy  # pylint: disable=import-outside-toplevel
        text = ftfy.fix_text(text)
    except ImportError:
        pass
    text = html.unescape(html.unescape(text)).strip()
    return _WHITESPACE.sub(" ", text).strip().lower()


class CLIPTokenizer:
    """Byte-level BPE of CLIP. ``vocab_size`` must equal the text tower's (it fixes how many merges are used)."""

    def __init__(self, bpe_path: str, vocab_size: int = OPENAI_VOCAB_SIZE,
                 context_length: int = OPENAI_CONTEXT_LENGTH):
        num_merges = vocab_size - 2 * NUM_BYTE_SYMBOLS - 2
        if num_merges < 0:
            raise ValueError(f"vocab_size {vocab_size} is smaller than the 514 byte and special tokens")
        self.bpe_path = bpe_path
        self.context_length = context_length
        self.byte_encoder = byte_to_symbol()
        merges = read_merges(bpe_path, num_merges)
        symbols = byte_symbols()
        vocab = symbols + [s + END_OF_WORD for s in symbols] + ["".join(m) for m in merges] + [START_TOKEN, END_TOKEN]
        self.encoder = {token: index for index, token in enumerate(vocab)}
        self.decoder = {index: token for token, index in self.encoder.items()}
        self.merge_ranks = {pair: rank for rank, pair in enumerate(merges)}
        self.vocab_size = len(vocab)
        self.start_id = self.encoder[START_TOKEN]
        self.end_id = self.encoder[END_TOKEN]
        self._cache = {START_TOKEN: START_TOKEN, END_TOKEN: END_TOKEN}

    def bpe(self, symbols: str) -> str:
        """Byte-symbol string of one pre-token -> space-separated BPE tokens."""
        if symbols not in self._cache:
            word = tuple(symbols[:-1]) + (symbols[-1] + END_OF_WORD,)
            self._cache[symbols] = " ".join(merge_word(word, self.merge_ranks))
        return self._cache[symbols]

    def encode(self, text: str) -> List[int]:
        """Text -> BPE ids (no start/end tokens)."""
        ids = []
        for piece in pre_tokenize(clean_text(text)):
            symbols = "".join(self.byte_encoder[b] for b in piece.encode("utf-8"))
            ids.extend(self.encoder[token] for token in self.bpe(symbols).split(" "))
        return ids

    def decode(self, ids: Sequence[int]) -> str:
        """BPE ids -> text; each end-of-word marker becomes a space (special tokens are kept as text)."""
        symbol_to_byte = {symbol: byte for byte, symbol in self.byte_encoder.items()}
        symbols = "".join(self.decoder[int(i)] for i in ids)
        return bytearray(symbol_to_byte[c] for c in symbols).decode("utf-8", errors="replace").replace(END_OF_WORD, " ")

    def __call__(self, texts: Union[str, Sequence[str]], truncate: bool = False) -> np.ndarray:
        """Texts -> int32 [N, context_length]: <|startoftext|> ids <|endoftext|>, zero padded. A text that does not
        fit raises ValueError unless ``truncate`` (then it is cut and its last id set to <|endoftext|>)."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        out = np.zeros((len(texts), self.context_length), np.int32)
        for row, text in enumerate(texts):
            ids = [self.start_id] + self.encode(text) + [self.end_id]
            if len(ids) > self.context_length:
                if not truncate:
                    raise ValueError(f"text {text!r} is {len(ids)} tokens long, the context length is "
                                     f"{self.context_length} (pass truncate=True to cut it)")
                ids = ids[:self.context_length]
                ids[-1] = self.end_id
            out[row, :len(ids)] = ids
        return out
