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
"""Processed recommendation data, its on-disk format, the MovieLens split protocol and the training pipeline.

MovieLens protocol (`split_interactions`; the ComiRec protocol for the user split):
1. Every rating is an implicit positive; with `min_rating` set, only ratings >= min_rating are kept.
2. Duplicate (user, item) pairs keep their earliest rating (counted).
3. Users and items with < `min_interactions` positives are dropped, repeatedly, until a fixed point (k-core);
   every round's drops are counted in meta["dropped"].
4. Each user's items are ordered by (timestamp, raw item id): the item id breaks timestamp ties deterministically.
5. The split is seeded with `split_seed` (null = `seed`), so `seed` can vary the model on a fixed split.
   `split_protocol` chooses how held-out items are made:

   `users` (default; ComiRec): users are shuffled and split train/valid/test by `split_ratio`.
   6. Train users give one example per cut point k >= `min_history` (0-based position of the target in the
      sequence): hist = the last L items before k (left-padded with 0, most recent last), pos = item k. With
      `max_examples_per_user` > 0, a seeded random subset of that many cut points is kept per user.
   7. Valid/test users: n_hist = int(eval_hist_frac * n) clipped to [1, n - 1]; hist = last L of the first n_hist
      items; targets = the remaining items (the first `max_eval_targets` of them); seen = the first n_hist items.
   8. Negatives exclude the positives known at training time: a train user's whole sequence, a held-out user's
      first n_hist items.

   `per_user_time` (every user is trained on and evaluated; leave-last-out by time): each user's sequence of n
   items is cut by `split_ratio` = (train, valid, test) fractions of the timeline (valid and test > 0):
   n_test = max(1, floor(r_test n)), n_valid = max(1, floor(r_valid n)), the first n_train = n - n_valid - n_test
   items train. Users with n_train < 1 are neither trained on nor evaluated (counted).
   6'. Train examples: cut points min_history <= k < n_train of every user (same capping as above).
   7'. Valid: hist = last L of the train part, targets = the valid slice, seen = the train part.
       Test: hist = last L of train + valid, targets = the test slice, seen = train + valid (the valid items are
       known at test time but the model is not trained on them).
   8'. Negatives exclude each user's train part.
Test targets are never used for training in either protocol.
"""
import json
import logging
import os
from dataclasses import dataclass, field

import numpy as np

from src.atomic_file import atomic_write  # the one temp-file + os.replace helper of SparCode

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
ARRAYS_FILE = "arrays.npz"
META_FILE = "meta.json"
USER_FEATS_WHEN_NONE = 1  # width of the all-zero user_feats column for datasets without user fields


class DataError(ValueError):
    """Bad input data: the message names the file (and line) and what is wrong."""


@dataclass
class FieldTable:
    """Categorical side features of users or items (0 = padding / unknown)."""
    values: np.ndarray       # int32 [n_rows, n_slots]
    slot_field: np.ndarray   # int32 [n_slots]: field index of each slot (slots of one field are mean-pooled)
    field_vocab: list        # vocabulary size per field, counting the 0 padding value
    field_names: list

    def validate(self, what):
        if self.values.ndim != 2 or self.values.shape[1] != len(self.slot_field):
            raise DataError(f"{what}: values {self.values.shape} do not match {len(self.slot_field)} slots")
        if len(self.field_vocab) != len(self.field_names):
            raise DataError(f"{what}: {len(self.field_vocab)} vocab sizes for {len(self.field_names)} field names")
        if len(self.slot_field) and (self.slot_field.min() < 0 or self.slot_field.max() >= len(self.field_vocab)):
            raise DataError(f"{what}: slot_field refers to a field that does not exist")
        if self.values.size:
            limits = np.asarray(self.field_vocab, dtype=np.int64)[self.slot_field]
            bad = (self.values < 0) | (self.values >= limits[None, :])
            if bad.any():
                row, slot = np.argwhere(bad)[0]
                raise DataError(f"{what}: value {self.values[row, slot]} at row {row}, slot {slot} is outside "
                                f"the vocabulary of field '{self.field_names[self.slot_field[slot]]}'")


@dataclass
class EvalSplit:
    """Evaluation rows: one per held-out user (or per user for synthetic test)."""
    users: np.ndarray          # int32 [n] user row
    hist: np.ndarray           # int32 [n, L] item ids, left-padded with 0, most recent last
    target_indptr: np.ndarray  # int64 [n + 1]
    target_items: np.ndarray   # int32 [nnz]
    seen_indptr: np.ndarray    # int64 [n + 1]
    seen_items: np.ndarray     # int32 [nnz] items excluded from ranking

    def __len__(self):
        return len(self.users)

    def targets(self, row):
        return self.target_items[self.target_indptr[row]:self.target_indptr[row + 1]]

    def seen(self, row):
        return self.seen_items[self.seen_indptr[row]:self.seen_indptr[row + 1]]


@dataclass
class RecData:
    name: str
    n_users: int
    n_items: int                 # item ids are 1..n_items; 0 is padding
    item_fields: FieldTable      # n_rows = n_items + 1 (row 0 = padding)
    user_fields: object          # FieldTable with n_rows = n_users, or None
    train_users: np.ndarray      # int32 [n_examples]
    train_hist: np.ndarray       # int32 [n_examples, L]
    train_pos: np.ndarray        # int32 [n_examples]
    user_pos_indptr: np.ndarray  # int64 [n_users + 1]
    user_pos_items: np.ndarray   # int32 [nnz], sorted within each user
    valid: EvalSplit
    test: EvalSplit
    meta: dict = field(default_factory=dict)
    extras: dict = field(default_factory=dict)  # extra arrays (e.g. the synthetic generator's tables)

    @property
    def history_len(self):
        return int(self.train_hist.shape[1])

    def model_meta(self):
        """Sizes the model factory needs (build_model(cfg, data.model_meta()))."""
        if self.user_fields is None:
            user_slot_field = np.zeros(USER_FEATS_WHEN_NONE, dtype=np.int32)
            user_field_vocab = [1]  # a single field whose only value is padding
        else:
            user_slot_field = self.user_fields.slot_field
            user_field_vocab = list(self.user_fields.field_vocab)
        return {
            "n_items": int(self.n_items),
            "n_users": int(self.n_users),
            "item_slot_field": np.asarray(self.item_fields.slot_field, dtype=np.int32),
            "item_field_values": np.asarray(self.item_fields.values, dtype=np.int32),  # [n_items + 1, n_slots]
            "item_field_vocab": list(self.item_fields.field_vocab),
            "user_slot_field": np.asarray(user_slot_field, dtype=np.int32),
            "user_field_vocab": user_field_vocab,
            "history_len": self.history_len,
            "has_user_fields": self.user_fields is not None,
            # how often each item is a training positive (the in-batch candidate distribution, logq_correction)
            "item_pos_counts": np.bincount(self.train_pos, minlength=self.n_items + 1).astype(np.int64),
        }

    def user_feats(self, users):
        """int32 [len(users), n_user_slots] user field values (zeros [n, 1] without user fields)."""
        users = np.asarray(users)
        if self.user_fields is None:
            return np.zeros((len(users), USER_FEATS_WHEN_NONE), dtype=np.int32)
        return self.user_fields.values[users]

    def split(self, name):
        if name not in ("valid", "test"):
            raise ValueError(f"unknown split {name!r}: expected 'valid' or 'test'")
        return getattr(self, name)

    def validate(self):
        """Consistency checks shared by build and load; raises DataError."""
        where = f"dataset '{self.name}'"
        self.item_fields.validate(f"{where} item_fields")
        if self.item_fields.values.shape[0] != self.n_items + 1:
            raise DataError(f"{where}: item_fields has {self.item_fields.values.shape[0]} rows, "
                            f"expected n_items + 1 = {self.n_items + 1}")
        if self.user_fields is not None:
            self.user_fields.validate(f"{where} user_fields")
            if self.user_fields.values.shape[0] != self.n_users:
                raise DataError(f"{where}: user_fields has {self.user_fields.values.shape[0]} rows, "
                                f"expected n_users = {self.n_users}")
        n_ex = len(self.train_pos)
        if self.train_hist.shape != (n_ex, self.history_len) or len(self.train_users) != n_ex:
            raise DataError(f"{where}: train arrays disagree: users {self.train_users.shape}, "
                            f"hist {self.train_hist.shape}, pos {self.train_pos.shape}")
        if n_ex == 0:
            raise DataError(f"{where}: the train split is empty")
        _check_ids(self.train_pos, 1, self.n_items, f"{where} train_pos")
        _check_ids(self.train_hist, 0, self.n_items, f"{where} train_hist")
        _check_ids(self.train_users, 0, self.n_users - 1, f"{where} train_users")
        _check_csr(self.user_pos_indptr, self.user_pos_items, self.n_users, self.n_items, f"{where} user_pos")
        for name in ("valid", "test"):
            split = getattr(self, name)
            if len(split) == 0:
                raise DataError(f"{where}: the {name} split is empty")
            if split.hist.shape != (len(split), self.history_len):
                raise DataError(f"{where}: {name}.hist has shape {split.hist.shape}, "
                                f"expected ({len(split)}, {self.history_len})")
            _check_ids(split.users, 0, self.n_users - 1, f"{where} {name}.users")
            _check_ids(split.hist, 0, self.n_items, f"{where} {name}.hist")
            _check_csr(split.target_indptr, split.target_items, len(split), self.n_items, f"{where} {name}.targets")
            _check_csr(split.seen_indptr, split.seen_items, len(split), self.n_items, f"{where} {name}.seen")
            if (np.diff(split.target_indptr) == 0).any():
                raise DataError(f"{where}: {name} has rows without targets")

    # ------------------------------------------------------------------ persistence
    def _arrays(self):
        arrays = {
            "item_fields.values": self.item_fields.values,
            "item_fields.slot_field": self.item_fields.slot_field,
            "train_users": self.train_users, "train_hist": self.train_hist, "train_pos": self.train_pos,
            "user_pos_indptr": self.user_pos_indptr, "user_pos_items": self.user_pos_items,
        }
        if self.user_fields is not None:
            arrays["user_fields.values"] = self.user_fields.values
            arrays["user_fields.slot_field"] = self.user_fields.slot_field
        for name in ("valid", "test"):
            split = getattr(self, name)
            for attr in ("users", "hist", "target_indptr", "target_items", "seen_indptr", "seen_items"):
                arrays[f"{name}.{attr}"] = getattr(split, attr)
        for key, value in self.extras.items():
            arrays[f"extra.{key}"] = np.asarray(value)
        return arrays

    def save(self, directory):
        """Write arrays.npz then meta.json, each atomically (tmp file + os.replace); meta.json marks completion."""
        os.makedirs(directory, exist_ok=True)
        header = {
            "format_version": FORMAT_VERSION, "name": self.name, "n_users": int(self.n_users),
            "n_items": int(self.n_items),
            "item_fields": {"field_vocab": [int(v) for v in self.item_fields.field_vocab],
                            "field_names": list(self.item_fields.field_names)},
            "user_fields": None if self.user_fields is None else {
                "field_vocab": [int(v) for v in self.user_fields.field_vocab],
                "field_names": list(self.user_fields.field_names)},
            "meta": self.meta,
        }
        meta_path = os.path.join(directory, META_FILE)
        if os.path.exists(meta_path):
            os.remove(meta_path)  # an interrupted save must not leave an old meta next to new arrays
        atomic_write(os.path.join(directory, ARRAYS_FILE), lambda f: np.savez(f, **self._arrays()), binary=True)
        atomic_write(meta_path, lambda f: json.dump(jsonable(header), f, indent=1), binary=False)

    @classmethod
    def load(cls, directory):
        meta_path = os.path.join(directory, META_FILE)
        arrays_path = os.path.join(directory, ARRAYS_FILE)
        for path in (meta_path, arrays_path):
            if not os.path.isfile(path):
                raise DataError(f"{path}: missing (run preprocess.py to create the processed dataset)")
        try:
            with open(meta_path, "r", encoding="utf-8") as f:
                header = json.load(f)
        except (OSError, json.JSONDecodeError) as err:
            raise DataError(f"{meta_path}: corrupt meta file: {err}") from None
        if header.get("format_version") != FORMAT_VERSION:
            raise DataError(f"{meta_path}: format_version {header.get('format_version')!r}, "
                            f"this code reads {FORMAT_VERSION}")
        try:
            with np.load(arrays_path, allow_pickle=False) as npz:
                arrays = {key: npz[key] for key in npz.files}
        except Exception as err:  # zipfile/ValueError/OSError: all mean an unreadable file
            raise DataError(f"{arrays_path}: corrupt arrays file: {err}") from None
        try:
            return cls._from_parts(header, arrays)
        except KeyError as err:
            raise DataError(f"{arrays_path}: missing array {err}") from None

    @classmethod
    def _from_parts(cls, header, arrays):
        def table(prefix):
            info = header[prefix]
            if info is None:
                return None
            return FieldTable(arrays[f"{prefix}.values"], arrays[f"{prefix}.slot_field"],
                              list(info["field_vocab"]), list(info["field_names"]))

        def split(name):
            return EvalSplit(*(arrays[f"{name}.{attr}"] for attr in
                               ("users", "hist", "target_indptr", "target_items", "seen_indptr", "seen_items")))

        data = cls(name=header["name"], n_users=int(header["n_users"]), n_items=int(header["n_items"]),
                   item_fields=table("item_fields"), user_fields=table("user_fields"),
                   train_users=arrays["train_users"], train_hist=arrays["train_hist"], train_pos=arrays["train_pos"],
                   user_pos_indptr=arrays["user_pos_indptr"], user_pos_items=arrays["user_pos_items"],
                   valid=split("valid"), test=split("test"), meta=header.get("meta", {}),
                   extras={key[len("extra."):]: value for key, value in arrays.items() if key.startswith("extra.")})
        data.validate()
        return data


def jsonable(obj):
    """obj with numpy scalars / arrays and tuples turned into plain Python values json.dump accepts (keys as str)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _check_ids(ids, low, high, what):
    if ids.size and (ids.min() < low or ids.max() > high):
        raise DataError(f"{what}: ids must be in [{low}, {high}], found [{ids.min()}, {ids.max()}]")


def _check_csr(indptr, items, n_rows, n_items, what):
    if len(indptr) != n_rows + 1 or indptr[0] != 0 or indptr[-1] != len(items) or (np.diff(indptr) < 0).any():
        raise DataError(f"{what}: malformed CSR (indptr length {len(indptr)} for {n_rows} rows, "
                        f"{len(items)} items)")
    _check_ids(items, 1, n_items, what)


# ---------------------------------------------------------------------- CSR helpers
def csr_from_lists(lengths, items):
    """indptr (int64) from per-row lengths; items as int32."""
    indptr = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    return indptr, np.asarray(items, dtype=np.int32)


def csr_sorted_unique(rows, items, n_rows):
    """CSR with unique items sorted within each row, from parallel (row, item) arrays."""
    rows = np.asarray(rows, dtype=np.int64)
    items = np.asarray(items, dtype=np.int64)
    keys = np.unique(rows * (int(items.max(initial=0)) + 1) + items)
    span = int(items.max(initial=0)) + 1
    rows, items = keys // span, keys % span
    lengths = np.bincount(rows, minlength=n_rows)
    return csr_from_lists(lengths, items)


def csr_row_ids(indptr):
    """Row index of every CSR entry."""
    return np.repeat(np.arange(len(indptr) - 1, dtype=np.int64), np.diff(indptr))


def left_pad(matrix, length):
    """int32 [n, length] from an [n, m] item matrix: the last `length` columns, 0-padded on the left if m < length."""
    matrix = np.asarray(matrix)
    n, m = matrix.shape
    if m >= length:
        return np.ascontiguousarray(matrix[:, m - length:], dtype=np.int32)
    out = np.zeros((n, length), dtype=np.int32)
    out[:, length - m:] = matrix
    return out


# ---------------------------------------------------------------------- negatives
def sample_negatives(rng, users, n_neg, n_items, pos_indptr, pos_items):
    """int32 [len(users), n_neg] items drawn uniformly from 1..n_items excluding each user's positives.

    Vectorised rejection sampling: draw everything, then redraw only the rejected entries until none is left.
    Draws are with replacement across the n_neg columns (independent uniform negatives).
    """
    users = np.asarray(users, dtype=np.int64)
    n_pos = np.diff(pos_indptr)[users] if len(users) else np.zeros(0, dtype=np.int64)
    if len(users) and n_pos.max() >= n_items:
        bad = users[np.argmax(n_pos)]
        raise DataError(f"user row {bad} has every item as a positive: no negative can be sampled")
    span = n_items + 1
    # Global sorted keys user * span + item; items are sorted within each user row, so keys are sorted.
    pos_keys = csr_row_ids(pos_indptr) * span + pos_items.astype(np.int64)
    if len(pos_keys) > 1 and (np.diff(pos_keys) <= 0).any():  # unsorted or duplicate items in some row
        pos_keys = np.unique(pos_keys)
    negs = rng.integers(1, n_items + 1, size=(len(users), n_neg), dtype=np.int64)
    todo = np.arange(negs.size)
    user_of = np.repeat(users, n_neg)
    while todo.size:
        keys = user_of[todo] * span + negs.flat[todo]
        hit = np.searchsorted(pos_keys, keys)
        hit = np.minimum(hit, max(len(pos_keys) - 1, 0))
        rejected = pos_keys[hit] == keys if len(pos_keys) else np.zeros(len(keys), dtype=bool)
        todo = todo[rejected]
        negs.flat[todo] = rng.integers(1, n_items + 1, size=todo.size)
    return negs.astype(np.int32)


# ---------------------------------------------------------------------- MovieLens split protocol
SPLIT_PROTOCOLS = ("users", "per_user_time")


def split_seed(cfg):
    """Seed of the data split: cfg.split_seed, or cfg.seed when it is null (older configs)."""
    value = cfg.get("split_seed")
    return int(cfg.seed if value is None else value)


class _Sequences:
    """Chronological item sequences of all users, padded on the left with L zeros so that every history is one
    contiguous slice of `padded`."""

    def __init__(self, users, items, times, n_users, history_len):
        order = np.lexsort((items, times, users))  # by user, then time, then item id (deterministic ties)
        users = users[order].astype(np.int64)
        self.items = items[order].astype(np.int32)
        self.L = int(history_len)
        self.lengths = np.bincount(users, minlength=n_users)
        self.starts = np.zeros(n_users + 1, dtype=np.int64)
        np.cumsum(self.lengths, out=self.starts[1:])
        if (self.lengths == 0).any():
            raise DataError(f"split: {int((self.lengths == 0).sum())} users have no interactions after filtering")
        self.padded_starts = self.starts[:-1] + self.L * np.arange(n_users)
        self.padded = np.zeros(len(self.items) + self.L * n_users, dtype=np.int32)
        self.padded[np.repeat(self.padded_starts + self.L, self.lengths) + _ranges(self.lengths)] = self.items

    def histories(self, user_rows, cut):
        """[n, L] last L items before position `cut` of each user's sequence (left-padded with 0)."""
        begin = self.padded_starts[user_rows] + cut  # = (start of the real sequence) + cut - L
        return self.padded[begin[:, None] + np.arange(self.L)[None, :]]

    def train_examples(self, user_rows, end, cfg, rng):
        """One example per cut point min_history <= k < end[u] of every user in user_rows (optionally a seeded
        random subset of max_examples_per_user per user); returns (train dict, number of capped examples)."""
        n_cuts = np.maximum(end - cfg.min_history, 0)
        ex_user = np.repeat(user_rows, n_cuts)
        ex_cut = cfg.min_history + _ranges(n_cuts)
        capped = 0
        if cfg.max_examples_per_user > 0 and len(ex_user):
            by_user = np.lexsort((rng.random(len(ex_user)), ex_user))  # each user's cut points in random order
            rank = np.empty(len(ex_user), dtype=np.int64)
            rank[by_user] = _ranges(n_cuts)  # position of each cut point in its user's random order
            keep = rank < cfg.max_examples_per_user
            capped = int((~keep).sum())
            ex_user, ex_cut = ex_user[keep], ex_cut[keep]
        if len(ex_user) == 0:
            raise DataError(f"split: no train examples (every train user has <= min_history={cfg.min_history} "
                            "train items)")
        return ({"users": ex_user.astype(np.int32), "hist": self.histories(ex_user, ex_cut),
                 "pos": self.padded[self.padded_starts[ex_user] + self.L + ex_cut]}, capped)

    def eval_split(self, members, n_known, n_targets, max_targets):
        """EvalSplit of users `members`: hist = last L of their first n_known items, seen = those items,
        targets = the next n_targets items (the first max_targets of them); returns (split, truncated targets)."""
        n_tgt = np.minimum(n_targets, max_targets)
        tgt_pos = np.repeat(self.starts[members] + n_known, n_tgt) + _ranges(n_tgt)
        seen_pos = np.repeat(self.starts[members], n_known) + _ranges(n_known)
        t_indptr, t_items = csr_from_lists(n_tgt, self.items[tgt_pos])
        s_indptr, s_items = csr_from_lists(n_known, self.items[seen_pos])
        split = EvalSplit(members.astype(np.int32), self.histories(members, n_known), t_indptr, t_items,
                          s_indptr, s_items)
        return split, int((n_targets - n_tgt).sum())

    def known_positives(self, known_len):
        """CSR of the first known_len[u] items of every user (sorted, unique): what negatives must avoid."""
        n_users = len(known_len)
        known_pos = np.repeat(self.starts[:-1], known_len) + _ranges(known_len)
        return csr_sorted_unique(np.repeat(np.arange(n_users), known_len), self.items[known_pos], n_users)


def split_interactions(users, items, times, n_users, n_items, cfg, rng):
    """Protocol steps 4-8 on already filtered, remapped interactions (users 0..n_users-1, items 1..n_items).

    rng: numpy Generator seeded with split_seed(cfg). Returns (train dict, valid EvalSplit, test EvalSplit,
    user_pos CSR, stats dict).
    """
    del n_items  # ids are validated by RecData.validate
    seq = _Sequences(users, items, times, n_users, cfg.history_len)
    protocol = cfg.get("split_protocol") or "users"
    if protocol == "per_user_time":
        return _split_per_user_time(seq, n_users, cfg, rng)
    if protocol != "users":
        raise DataError(f"split: unknown split_protocol {protocol!r}; expected one of {list(SPLIT_PROTOCOLS)}")
    return _split_users(seq, n_users, cfg, rng)


def _split_users(seq, n_users, cfg, rng):
    """`users` protocol: disjoint train / valid / test users (steps 6-8)."""
    lengths = seq.lengths
    perm = rng.permutation(n_users)
    n_train = int(round(cfg.split_ratio[0] * n_users))
    n_valid = int(round(cfg.split_ratio[1] * n_users))
    groups = {"train": np.sort(perm[:n_train]), "valid": np.sort(perm[n_train:n_train + n_valid]),
              "test": np.sort(perm[n_train + n_valid:])}
    for name, members in groups.items():
        if len(members) == 0:
            raise DataError(f"split: the {name} split is empty ({n_users} users, split_ratio {cfg.split_ratio}); "
                            f"use more data or change split_ratio")
    tr = groups["train"]
    train, capped_examples = seq.train_examples(tr, lengths[tr], cfg, rng)

    # Held-out users: history = first eval_hist_frac of the sequence, targets = the rest (capped).
    n_hist = np.clip((cfg.eval_hist_frac * lengths).astype(np.int64), 1, np.maximum(lengths - 1, 1))
    splits = {}
    truncated = 0
    for name in ("valid", "test"):
        members = groups[name]
        members = members[lengths[members] >= 2]
        if len(members) == 0:
            raise DataError(f"split: the {name} split has no user with >= 2 interactions")
        splits[name], cut = seq.eval_split(members, n_hist[members], lengths[members] - n_hist[members],
                                           cfg.max_eval_targets)
        truncated += cut

    # Known positives for negative sampling: whole sequence of train users, seen part of held-out users.
    known_len = lengths.copy()
    held = np.concatenate([groups["valid"], groups["test"]])
    known_len[held] = n_hist[held]
    stats = {"train_users": len(tr), "valid_users": len(splits["valid"]), "test_users": len(splits["test"]),
             "train_examples": int(len(train["pos"])), "capped_train_examples": capped_examples,
             "truncated_eval_targets": truncated,
             "dropped_heldout_users_lt2": int(len(groups["valid"]) + len(groups["test"])
                                              - len(splits["valid"]) - len(splits["test"]))}
    return train, splits["valid"], splits["test"], seq.known_positives(known_len), stats


def per_user_time_cuts(lengths, split_ratio):
    """(n_train, n_valid, n_test) per user of the `per_user_time` protocol: the last floor(r_test n) items (at
    least 1) are test, the floor(r_valid n) before them (at least 1) valid, the rest train (may be < 1)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    _, r_valid, r_test = split_ratio
    n_test = np.maximum(np.floor(r_test * lengths + 1e-9).astype(np.int64), 1)
    n_valid = np.maximum(np.floor(r_valid * lengths + 1e-9).astype(np.int64), 1)
    return lengths - n_valid - n_test, n_valid, n_test


def _split_per_user_time(seq, n_users, cfg, rng):
    """`per_user_time` protocol: every user's timeline is cut into train / valid / test slices (steps 6'-8')."""
    if min(cfg.split_ratio[1], cfg.split_ratio[2]) <= 0:
        raise DataError(f"split: split_protocol per_user_time needs valid and test fractions > 0, got split_ratio "
                        f"{cfg.split_ratio}")
    n_train, n_valid, n_test = per_user_time_cuts(seq.lengths, cfg.split_ratio)
    members = np.flatnonzero(n_train >= 1)
    if len(members) == 0:
        raise DataError(f"split: no user has an item left for training with split_ratio {cfg.split_ratio}")
    train, capped_examples = seq.train_examples(members, n_train[members], cfg, rng)
    valid, cut_valid = seq.eval_split(members, n_train[members], n_valid[members], cfg.max_eval_targets)
    test, cut_test = seq.eval_split(members, n_train[members] + n_valid[members], n_test[members],
                                    cfg.max_eval_targets)
    known_len = np.where(n_train >= 1, n_train, 0)
    stats = {"train_users": int(len(np.unique(train["users"]))), "valid_users": len(valid), "test_users": len(test),
             "train_examples": int(len(train["pos"])), "capped_train_examples": capped_examples,
             "truncated_eval_targets": cut_valid + cut_test,
             "dropped_heldout_users_lt2": int(n_users - len(members))}
    return train, valid, test, seq.known_positives(known_len), stats


def _ranges(lengths):
    """Concatenation of arange(n) for n in lengths."""
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    return np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)


# ---------------------------------------------------------------------- build / pipeline
def data_signature(cfg):
    """Config keys that determine the processed data (a processed dir is reused only if they match)."""
    if cfg.dataset == "synthetic":
        return {key: cfg[key] for key in ("dataset", "seed", "history_len", "preset", "n_users", "n_items",
                                           "n_valid_users", "n_fields_user", "n_fields_item", "field_vocab",
                                           "n_pos_train", "n_pos_test", "safi_quantile", "safi_tau")}
    # MovieLens: the model seed does not change the data, only the split seed does
    keys = ["dataset", "history_len", "ratings_file", "min_rating", "min_interactions", "split_protocol",
            "split_ratio", "min_history", "max_examples_per_user", "eval_hist_frac", "max_eval_targets"]
    signature = {key: cfg.get(key) for key in keys}
    signature["split_seed"] = split_seed(cfg)
    from src.data.movielens import source_digests  # local import: movielens.py imports this module
    signature["source_files"] = source_digests(cfg.dataset, cfg.data_path, cfg.ratings_file)
    return signature


def _reusable(stored, current):
    """Processed data with signature `stored` serves `current`: equal, or equal except for the raw-file digests
    when the raw files are not available here (source_files None: nothing to rebuild from)."""
    if stored == current:
        return True
    if stored is None or "source_files" not in current or current["source_files"] is not None:
        return False
    others = [key for key in set(stored) | set(current) if key != "source_files"]
    return all(stored.get(key) == current.get(key) for key in others)


def build_data(cfg, reuse_processed=True):
    """RecData for cfg: load cfg.processed_path if it holds data with the same signature, else build it.

    Synthetic data is generated (seeded, seconds); MovieLens is read from cfg.data_path and split.
    reuse_processed=False always builds from the source (preprocess.py).
    """
    signature = data_signature(cfg)
    if reuse_processed and cfg.processed_path and os.path.isfile(os.path.join(cfg.processed_path, META_FILE)):
        data = RecData.load(cfg.processed_path)
        stored = data.meta.get("signature")
        if _reusable(stored, jsonable(signature)):
            if stored != jsonable(signature):
                logger.info("raw files of %s not found under data_path=%s: using the processed data in %s as is",
                            cfg.dataset, cfg.data_path, cfg.processed_path)
            return data
        diff = sorted(k for k in signature if stored is None or stored.get(k) != jsonable(signature[k]))
        logger.warning("processed data in %s was built with other settings (%s); rebuilding in memory",
                       cfg.processed_path, ", ".join(diff))
    if cfg.dataset == "synthetic":
        from src.data.synthetic import generate_safi
        data = generate_safi(cfg)
    else:
        from src.data.movielens import build_movielens
        data = build_movielens(cfg)
    data.meta["signature"] = jsonable(signature)
    return data


class _EpochBatches:
    """Iterable of ready-made batches for one rank; every pass draws fresh negatives (seeded by pass number)."""

    def __init__(self, data, rows, batch_size, num_negatives, epoch_seed):
        self.data = data
        self.rows = rows
        self.batch_size = batch_size
        self.num_negatives = num_negatives
        self.epoch_seed = epoch_seed
        self.passes = 0

    def __len__(self):
        return len(self.rows) // self.batch_size

    def __iter__(self):
        rng = np.random.default_rng([self.epoch_seed, self.passes])
        self.passes += 1
        data, rows = self.data, self.rows
        negs = sample_negatives(rng, data.train_users[rows], self.num_negatives, data.n_items,
                                data.user_pos_indptr, data.user_pos_items)
        feats = data.user_feats(data.train_users[rows])
        for b in range(len(self)):
            sl = slice(b * self.batch_size, (b + 1) * self.batch_size)
            r = rows[sl]
            yield (np.ascontiguousarray(feats[sl]), np.ascontiguousarray(data.train_hist[r]),
                   np.ascontiguousarray(data.train_pos[r]), np.ascontiguousarray(negs[sl]))


def train_rows_for_rank(n_examples, epoch_seed, rank_id, rank_size, batch_size):
    """Shuffled example rows of one rank: every rank shuffles with the same seed and takes an equal strided
    share, trimmed to whole batches (drop_remainder), so all ranks run the same number of steps."""
    if not 0 <= rank_id < rank_size:
        raise ValueError(f"rank_id {rank_id} outside [0, {rank_size})")
    perm = np.random.default_rng([epoch_seed, 7919]).permutation(n_examples)
    per_rank = n_examples // rank_size
    rows = perm[rank_id::rank_size][:per_rank]
    n_batches = per_rank // batch_size
    if n_batches == 0:
        raise DataError(f"train split: {n_examples} examples give no full batch of {batch_size} "
                        f"per rank for {rank_size} rank(s); lower batch_size")
    return rows[:n_batches * batch_size]


def create_train_dataset(data, cfg, epoch_seed, rank_id=0, rank_size=1):
    """mindspore.dataset of batched columns (user_feats [B,S], hist [B,L], pos [B], negs [B,N]), all int32.

    Rows are shuffled with epoch_seed and sharded by rank; negatives are drawn uniformly (excluding the user's
    known positives) with a generator seeded by (epoch_seed, pass), i.e. afresh on every pass over the data.
    With negative_sampling == "in_batch" the negs column is still filled (fixed shapes); the model may ignore it.
    """
    import mindspore.dataset as ds  # local import: the numpy side of this module does not need MindSpore
    rows = train_rows_for_rank(len(data.train_pos), epoch_seed, rank_id, rank_size, cfg.batch_size)
    source = _EpochBatches(data, rows, cfg.batch_size, cfg.num_negatives, epoch_seed)
    dataset = ds.GeneratorDataset(source, column_names=["user_feats", "hist", "pos", "negs"], shuffle=False,
                                  num_parallel_workers=1, python_multiprocessing=False)
    return dataset
