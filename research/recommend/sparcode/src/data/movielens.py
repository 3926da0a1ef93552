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
"""Readers of the ORIGINAL MovieLens files and the build of a RecData with the protocol of dataset.py.

| dataset          | ratings                           | items                          | users                     |
|------------------|-----------------------------------|--------------------------------|---------------------------|
| ml-100k          | u.data  (tab: user item rating ts)| u.item (`|`, 19 genre flags)   | u.user (`|`), u.occupation|
| ml-1m            | ratings.dat (`::`)                | movies.dat (`::`, genres `|`)  | users.dat (`::`)          |
| ml-10m           | ratings.dat (`::`, half stars)    | movies.dat (`::`)              | -                         |
| ml-latest-small  | ratings.csv (header)              | movies.csv (header, quoted)    | -                         |
The .dat/.item files are read as ISO-8859-1, the csv files as UTF-8. A ratings file name may be overridden
(cfg.ratings_file) and a `.gz` file is read transparently (also found automatically when only `<name>.gz` exists).

Item features: genres (multi-valued field, one slot per genre, 0-padded), release-year bucket. User features
(100k, 1m): gender, age bucket (the seven ML-1M buckets; 100k ages are mapped to them), occupation.
Every bad input raises DataError naming the file, the line and the problem; everything dropped is counted in
meta["dropped"] and logged.
"""
import csv
import gzip
import io
import logging
import math
import os
import re
import warnings

import numpy as np

from src.atomic_file import file_sha256
from src.data.dataset import DataError, FieldTable, RecData, split_interactions, split_seed

logger = logging.getLogger(__name__)

SPECS = {
    "ml-100k": {"ratings": "u.data", "sep": "\t", "header": None, "items": "u.item", "users": "u.user",
                "encoding": "latin-1"},
    "ml-1m": {"ratings": "ratings.dat", "sep": "::", "header": None, "items": "movies.dat", "users": "users.dat",
              "encoding": "latin-1"},
    "ml-10m": {"ratings": "ratings.dat", "sep": "::", "header": None, "items": "movies.dat", "users": None,
               "encoding": "latin-1"},  # titles are only read for their year; latin-1 decodes any byte
    "ml-latest-small": {"ratings": "ratings.csv", "sep": ",", "header": "userId,movieId,rating,timestamp",
                        "items": "movies.csv", "users": None, "encoding": "utf-8"},
}
YEAR_EDGES = (1940, 1950, 1960, 1970, 1980, 1990, 1995, 2000, 2005, 2010, 2015, 2020)  # bucket 1 = before 1940
ML1M_AGES = (1, 18, 25, 35, 45, 50, 56)  # ML-1M age codes: <18, 18-24, 25-34, 35-44, 45-49, 50-55, 56+
NO_GENRE = "(no genres listed)"
_YEAR_IN_TITLE = re.compile(r"\((\d{4})\)\s*$")


def resolve_file(directory, name):
    """Path of `name` in directory, or of `name.gz` when only that exists; DataError if neither does."""
    path = name if os.path.isabs(name) else os.path.join(directory, name)
    if os.path.isfile(path):
        return path
    if os.path.isfile(path + ".gz"):
        return path + ".gz"
    raise DataError(f"{path}: file not found")


def read_text(path, encoding):
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except OSError as err:
        raise DataError(f"{path}: cannot read: {err}") from None
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as err:
        line = raw[:err.start].count(b"\n") + 1
        raise DataError(f"{path}:{line}: not valid {encoding} text") from None


# ---------------------------------------------------------------------- ratings
def read_ratings(path, sep, header=None, encoding="utf-8"):
    """(users, items, ratings, timestamps, line_numbers) of a ratings file with 4 fields per line.

    Fast path: numpy parses the whole text at once after checking that every line has exactly 3 separators.
    If anything looks wrong, a line-by-line pass finds the first bad line and raises DataError with its number.
    """
    text = read_text(path, encoding)
    first_line = 1
    if header is not None:
        head, _, text = text.partition("\n")
        if head.strip().replace('"', "") != header:
            raise DataError(f"{path}:1: expected the header {header!r}, got {head.strip()!r}")
        first_line = 2
    if not text.strip():
        raise DataError(f"{path}: no ratings in the file")
    text = text.rstrip("\r\n") + "\n"  # blank lines at the end are not data
    parsed = _fast_parse(text, sep)
    if parsed is None:
        parsed = _slow_parse(text, sep, path, first_line)
        lines = parsed.pop()
    else:
        lines = np.arange(first_line, first_line + len(parsed[0]), dtype=np.int64)
    users, items, ratings, times = parsed
    return users, items, ratings, times, lines


def _fast_parse(text, sep):
    if "\n\n" in text.rstrip("\n") or text.startswith("\n"):
        return None  # blank lines shift line numbers: let the slow path report them
    body = text.rstrip("\r\n")
    data = np.frombuffer(body.encode("latin-1", errors="replace"), dtype=np.uint8)
    newlines = np.flatnonzero(data == ord("\n"))
    n_lines = len(newlines) + 1
    sep_char = sep[0]
    sep_pos = np.flatnonzero(data == ord(sep_char))
    per_line = np.bincount(np.searchsorted(newlines, sep_pos), minlength=n_lines)
    if (per_line != 3 * len(sep)).any():
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a parse failure shows up as a short array, checked below
        values = np.fromstring(body.replace(sep, " "), dtype=np.float64, sep=" ")
    if len(values) != 4 * n_lines:
        return None
    values = values.reshape(n_lines, 4)
    ids = values[:, [0, 1, 3]]
    if not np.isfinite(values).all() or (ids != np.round(ids)).any() or (values[:, :2] < 0).any():
        return None
    return [values[:, 0].astype(np.int64), values[:, 1].astype(np.int64), values[:, 2],
            values[:, 3].astype(np.int64)]


def _parse_int(token, path, line_no, what):
    try:
        value = int(token)
    except ValueError:
        raise DataError(f"{path}:{line_no}: {what} {token!r} is not an integer") from None
    if value < 0:
        raise DataError(f"{path}:{line_no}: {what} {token!r} is negative")
    return value


def _slow_parse(text, sep, path, first_line):
    users, items, ratings, times, lines = [], [], [], [], []
    for offset, line in enumerate(io.StringIO(text)):
        line_no = first_line + offset
        line = line.rstrip("\r\n")
        if not line.strip():
            raise DataError(f"{path}:{line_no}: empty line")
        fields = line.split(sep)
        if len(fields) != 4:
            raise DataError(f"{path}:{line_no}: expected 4 fields separated by {sep!r}, got {len(fields)}: {line!r}")
        users.append(_parse_int(fields[0], path, line_no, "user id"))
        items.append(_parse_int(fields[1], path, line_no, "item id"))
        try:
            rating = float(fields[2])
        except ValueError:
            raise DataError(f"{path}:{line_no}: rating {fields[2]!r} is not a number") from None
        if not math.isfinite(rating):  # float() accepts 'nan', 'inf' and overflows like '1e999'
            raise DataError(f"{path}:{line_no}: rating {fields[2]!r} is not a finite number")
        ratings.append(rating)
        times.append(_parse_int(fields[3], path, line_no, "timestamp"))
        lines.append(line_no)
    return [np.array(users, dtype=np.int64), np.array(items, dtype=np.int64), np.array(ratings, dtype=np.float64),
            np.array(times, dtype=np.int64), np.array(lines, dtype=np.int64)]


# ---------------------------------------------------------------------- items
def year_buckets(years):
    """Release-year bucket per item: 0 = unknown, 1 = before 1940, ... (edges YEAR_EDGES)."""
    years = np.asarray(years, dtype=np.int64)
    return np.where(years > 0, np.digitize(years, YEAR_EDGES) + 1, 0).astype(np.int32)


def _lines(path, encoding):
    for line_no, line in enumerate(io.StringIO(read_text(path, encoding)), start=1):
        line = line.rstrip("\r\n")
        if line.strip():
            yield line_no, line


def _add_item(items, path, line_no, item_id, genres, year):
    if item_id in items:
        raise DataError(f"{path}:{line_no}: item id {item_id} appears twice")
    items[item_id] = (genres, year)


def read_items_100k(path, genre_path):
    """u.item: id|title|release date|video date|url|19 genre flags (order of u.genre)."""
    genre_names = []
    for line_no, line in _lines(genre_path, "latin-1"):
        fields = line.split("|")
        if len(fields) != 2 or _parse_int(fields[1], genre_path, line_no, "genre index") != len(genre_names):
            raise DataError(f"{genre_path}:{line_no}: expected 'name|index' with consecutive indices, got {line!r}")
        genre_names.append(fields[0])
    items = {}
    for line_no, line in _lines(path, "latin-1"):
        fields = line.split("|")
        if len(fields) != 5 + len(genre_names):
            raise DataError(f"{path}:{line_no}: expected {5 + len(genre_names)} fields separated by '|', "
                            f"got {len(fields)}")
        item_id = _parse_int(fields[0], path, line_no, "item id")
        flags = fields[5:]
        if any(flag not in ("0", "1") for flag in flags):
            raise DataError(f"{path}:{line_no}: genre flags must be 0 or 1, got {flags}")
        genres = [g + 1 for g, flag in enumerate(flags) if flag == "1"]
        date = fields[2].strip()
        year = int(date[-4:]) if len(date) >= 4 and date[-4:].isdigit() else _title_year(fields[1])
        _add_item(items, path, line_no, item_id, genres, year)
    return items, genre_names


def _title_year(title):
    match = _YEAR_IN_TITLE.search(title.strip())
    return int(match.group(1)) if match else 0


def read_items_dat(path, encoding):
    """movies.dat of ml-1m / ml-10m: id::title::genre|genre (genres sorted by name into a vocabulary)."""
    raw = []
    for line_no, line in _lines(path, encoding):
        fields = line.split("::")
        if len(fields) != 3:
            raise DataError(f"{path}:{line_no}: expected 3 fields separated by '::', got {len(fields)}: {line!r}")
        raw.append((line_no, _parse_int(fields[0], path, line_no, "item id"), fields[1], fields[2]))
    return _items_from_rows(path, raw)


def read_items_csv(path):
    """movies.csv of ml-latest-small: movieId,title,genres with a header and quoted titles."""
    text = read_text(path, "utf-8")
    reader = csv.reader(io.StringIO(text))
    raw = []
    for row in reader:
        line_no = reader.line_num
        if line_no == 1:
            if [c.strip() for c in row] != ["movieId", "title", "genres"]:
                raise DataError(f"{path}:1: expected the header 'movieId,title,genres', got {','.join(row)!r}")
            continue
        if not row:
            continue
        if len(row) != 3:
            raise DataError(f"{path}:{line_no}: expected 3 comma-separated fields, got {len(row)}: {row!r}")
        raw.append((line_no, _parse_int(row[0], path, line_no, "item id"), row[1], row[2]))
    return _items_from_rows(path, raw)


def _items_from_rows(path, raw):
    names = sorted({g for _, _, _, genres in raw for g in genres.split("|") if g and g != NO_GENRE})
    index = {name: i + 1 for i, name in enumerate(names)}
    items = {}
    for line_no, item_id, title, genres in raw:
        ids = sorted(index[g] for g in genres.split("|") if g and g != NO_GENRE)
        _add_item(items, path, line_no, item_id, ids, _title_year(title))
    if not items:
        raise DataError(f"{path}: no items in the file")
    return items, names


# ---------------------------------------------------------------------- users
def _read_user_file(path, sep, columns, encode_age, encode_occupation):
    """Shared loop over a 5-field user file; columns = field index of (gender, age, occupation).

    encode_age / encode_occupation(token, line_no) return the 1-based category or raise DataError.
    """
    users = {}
    for line_no, line in _lines(path, "latin-1"):
        fields = line.split(sep)
        if len(fields) != 5:
            raise DataError(f"{path}:{line_no}: expected 5 fields separated by {sep!r}, got {len(fields)}: {line!r}")
        user_id = _parse_int(fields[0], path, line_no, "user id")
        gender, age, occupation = (fields[c] for c in columns)
        if gender not in ("M", "F"):
            raise DataError(f"{path}:{line_no}: gender must be M or F, got {gender!r}")
        if user_id in users:
            raise DataError(f"{path}:{line_no}: user id {user_id} appears twice")
        users[user_id] = (1 if gender == "M" else 2, encode_age(age, line_no), encode_occupation(occupation, line_no))
    return users


def read_users_100k(path, occupation_path):
    """u.user: id|age|gender|occupation|zip; ages mapped to the ML-1M buckets, occupations as in u.occupation."""
    occupations = {name: i + 1 for i, (_, name) in enumerate(_lines(occupation_path, "latin-1"))}

    def age_bucket(token, line_no):
        return int(np.searchsorted(ML1M_AGES, _parse_int(token, path, line_no, "age"), side="right"))  # 1..7

    def occupation_index(token, line_no):
        if token not in occupations:
            raise DataError(f"{path}:{line_no}: occupation {token!r} is not in {occupation_path}")
        return occupations[token]

    return _read_user_file(path, "|", (2, 1, 3), age_bucket, occupation_index), len(occupations)


def read_users_1m(path):
    """users.dat: id::gender::age::occupation::zip (age in the 7 ML-1M codes, occupation 0..20)."""
    def age_code(token, line_no):
        age = _parse_int(token, path, line_no, "age")
        if age not in ML1M_AGES:
            raise DataError(f"{path}:{line_no}: age {age} is not an ML-1M age code {ML1M_AGES}")
        return ML1M_AGES.index(age) + 1

    def occupation_code(token, line_no):
        occupation = _parse_int(token, path, line_no, "occupation")
        if occupation > 20:
            raise DataError(f"{path}:{line_no}: occupation {occupation} is outside 0..20")
        return occupation + 1

    return _read_user_file(path, "::", (1, 2, 3), age_code, occupation_code), 21


# ---------------------------------------------------------------------- build
def source_digests(dataset, data_path, ratings_file=None):
    """{file name: sha256 of its bytes} of the original files `read_raw` reads, or None when data_path or one of
    the files is missing. Part of the data signature: processed data is reused only for the same file contents
    (a changed file or another data_path with other files rebuilds; the same files moved elsewhere do not)."""
    if dataset not in SPECS or not data_path or not os.path.isdir(data_path):
        return None
    spec = SPECS[dataset]
    names = [ratings_file or spec["ratings"], spec["items"]] + ([spec["users"]] if spec["users"] else [])
    if dataset == "ml-100k":
        names += ["u.genre", "u.occupation"]
    digests = {}
    for name in names:
        try:
            path = resolve_file(data_path, name)
        except DataError:
            return None
        digests[os.path.basename(path)] = file_sha256(path)
    return digests


def read_raw(dataset, data_path, ratings_file=None):
    """Everything of one MovieLens dataset: ratings arrays, item dict, genre names, user dict (or None)."""
    if dataset not in SPECS:
        raise DataError(f"unknown MovieLens dataset {dataset!r}; expected one of {sorted(SPECS)}")
    if not data_path:
        raise DataError(f"{dataset}: data_path is not set (the folder with the original files)")
    if not os.path.isdir(data_path):
        raise DataError(f"{data_path}: data folder not found")
    spec = SPECS[dataset]
    ratings_path = resolve_file(data_path, ratings_file or spec["ratings"])
    items_path = resolve_file(data_path, spec["items"])
    if dataset == "ml-100k":
        items, genres = read_items_100k(items_path, resolve_file(data_path, "u.genre"))
        users, n_occupations = read_users_100k(resolve_file(data_path, spec["users"]),
                                               resolve_file(data_path, "u.occupation"))
    elif dataset == "ml-1m":
        items, genres = read_items_dat(items_path, spec["encoding"])
        users, n_occupations = read_users_1m(resolve_file(data_path, spec["users"]))
    elif dataset == "ml-10m":
        items, genres = read_items_dat(items_path, spec["encoding"])
        users, n_occupations = None, 0
    else:
        items, genres = read_items_csv(items_path)
        users, n_occupations = None, 0
    ratings = read_ratings(ratings_path, spec["sep"], spec["header"], spec["encoding"])
    _check_known(ratings[1], ratings[4], set(items), ratings_path, "item id", items_path)
    if users is not None:
        users_path = resolve_file(data_path, spec["users"])
        _check_known(ratings[0], ratings[4], set(users), ratings_path, "user id", users_path)
    return {"ratings": ratings, "ratings_path": ratings_path, "items": items, "genres": genres, "users": users,
            "n_occupations": n_occupations}


def _check_known(ids, lines, known, path, what, source):
    known_arr = np.fromiter(known, dtype=np.int64, count=len(known))
    unknown = ~np.isin(ids, known_arr)
    if unknown.any():
        first = int(np.argmax(unknown))
        raise DataError(f"{path}:{lines[first]}: {what} {ids[first]} is not in {source} "
                        f"({int(unknown.sum())} ratings refer to unknown ids)")


def filter_interactions(users, items, ratings, times, min_rating, min_interactions):
    """Implicit positives: rating filter, de-duplication (earliest kept), k-core to a fixed point; counts drops."""
    dropped = {"raw_ratings": int(len(users))}
    if min_rating is not None:
        keep = ratings >= min_rating
        dropped["below_min_rating"] = int((~keep).sum())
        users, items, times = users[keep], items[keep], times[keep]
    order = np.lexsort((times, items, users))
    users, items, times = users[order], items[order], times[order]
    first = np.ones(len(users), dtype=bool)
    first[1:] = (users[1:] != users[:-1]) | (items[1:] != items[:-1])
    dropped["duplicate_ratings"] = int((~first).sum())
    users, items, times = users[first], items[first], times[first]
    rounds = 0
    users_before, items_before = len(np.unique(users)), len(np.unique(items))
    ratings_before = len(users)
    while len(users):
        _, u_inv, u_cnt = np.unique(users, return_inverse=True, return_counts=True)
        _, i_inv, i_cnt = np.unique(items, return_inverse=True, return_counts=True)
        keep = (u_cnt[u_inv] >= min_interactions) & (i_cnt[i_inv] >= min_interactions)
        if keep.all():
            break
        rounds += 1
        users, items, times = users[keep], items[keep], times[keep]
    dropped["kcore_rounds"] = rounds
    dropped["kcore_users"] = users_before - len(np.unique(users))
    dropped["kcore_items"] = items_before - len(np.unique(items))
    dropped["kcore_ratings"] = ratings_before - len(users)
    return users, items, times, dropped


def item_field_table(raw_ids, items, genre_names):
    """FieldTable over rows 0..n (row 0 padding): genre slots (multi-valued) + release-year bucket."""
    genre_lists = [items[i][0] for i in raw_ids]
    n_slots = max(1, max((len(g) for g in genre_lists), default=1))
    values = np.zeros((len(raw_ids) + 1, n_slots + 1), dtype=np.int32)
    for row, genres in enumerate(genre_lists, start=1):
        values[row, :len(genres)] = genres
    values[1:, n_slots] = year_buckets([items[i][1] for i in raw_ids])
    slot_field = np.array([0] * n_slots + [1], dtype=np.int32)
    return FieldTable(values, slot_field, [len(genre_names) + 1, len(YEAR_EDGES) + 2], ["genre", "year"])


def user_field_table(raw_ids, users, n_occupations):
    values = np.array([users[u] for u in raw_ids], dtype=np.int32).reshape(len(raw_ids), 3)
    return FieldTable(values, np.arange(3, dtype=np.int32), [3, len(ML1M_AGES) + 1, n_occupations + 1],
                      ["gender", "age", "occupation"])


def build_movielens(cfg):
    """Read the original files of cfg.dataset from cfg.data_path and apply the protocol of dataset.py."""
    raw = read_raw(cfg.dataset, cfg.data_path, cfg.ratings_file)
    r_users, r_items, r_ratings, r_times, _ = raw["ratings"]
    users, items, times, dropped = filter_interactions(r_users, r_items, r_ratings, r_times, cfg.min_rating,
                                                       cfg.min_interactions)
    if len(users) == 0:
        raise DataError(f"{raw['ratings_path']}: no interactions left after filtering "
                        f"(min_rating={cfg.min_rating}, min_interactions={cfg.min_interactions})")
    raw_user_ids, user_rows = np.unique(users, return_inverse=True)
    raw_item_ids, item_rows = np.unique(items, return_inverse=True)
    dropped["items_in_file_without_kept_ratings"] = len(raw["items"]) - len(raw_item_ids)
    if raw["users"] is not None:
        dropped["users_in_file_without_kept_ratings"] = len(raw["users"]) - len(raw_user_ids)
    n_users, n_items = len(raw_user_ids), len(raw_item_ids)
    rng = np.random.default_rng(split_seed(cfg))
    train, valid, test, (pos_indptr, pos_items), stats = split_interactions(
        user_rows, item_rows + 1, times, n_users, n_items, cfg, rng)
    dropped["heldout_users_with_lt2_interactions"] = stats.pop("dropped_heldout_users_lt2")
    dropped["capped_train_examples"] = stats.pop("capped_train_examples")
    dropped["truncated_eval_targets"] = stats.pop("truncated_eval_targets")
    for key, value in dropped.items():
        logger.info("%s: %s = %d", cfg.dataset, key, value)
    stats.update({"users": n_users, "items": n_items, "interactions": int(len(users)),
                  "density": float(len(users)) / (n_users * n_items)})
    protocol = cfg.get("split_protocol") or "users"
    what = ("users split train/valid/test" if protocol == "users"
            else "every user's timeline split train/valid/test")
    meta = {"protocol": f"implicit feedback, k-core, chronological, {what} (split_protocol {protocol}, "
                        f"split_seed {split_seed(cfg)}; see dataset.py)",
            "ratings_file": os.path.basename(raw["ratings_path"]), "dropped": dropped, "stats": stats,
            "genres": raw["genres"], "year_edges": list(YEAR_EDGES)}
    user_fields = None
    if raw["users"] is not None:
        user_fields = user_field_table(raw_user_ids, raw["users"], raw["n_occupations"])
    data = RecData(name=cfg.dataset, n_users=n_users, n_items=n_items,
                   item_fields=item_field_table(raw_item_ids, raw["items"], raw["genres"]), user_fields=user_fields,
                   train_users=train["users"], train_hist=train["hist"], train_pos=train["pos"],
                   user_pos_indptr=pos_indptr, user_pos_items=pos_items, valid=valid, test=test, meta=meta,
                   extras={"raw_user_id": raw_user_ids, "raw_item_id": raw_item_ids})
    data.validate()
    return data
