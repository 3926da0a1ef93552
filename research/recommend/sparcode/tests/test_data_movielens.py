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
"""MovieLens readers: the real files (skipped when absent), hand-made files in the original formats, bad input."""
import gzip
import os

import numpy as np
import pytest

from src.config import MODEL_ROOT, load_config
from src.data.dataset import DataError, build_data
from src.data.movielens import YEAR_EDGES, _fast_parse, _slow_parse, filter_interactions, read_ratings, read_raw


def ml_cfg(dataset, data_path, **overrides):
    return load_config(None, dict({"dataset": dataset, "data_path": str(data_path), "history_len": 5}, **overrides))


def real_dir(shared_data_dir, name):
    path = os.path.join(shared_data_dir, "movielens", name)
    if not os.path.isdir(path):
        pytest.skip(f"{path} not present")
    return path


# ---------------------------------------------------------------------- real files
def test_real_ml100k(shared_data_dir):
    path = real_dir(shared_data_dir, "ml-100k")
    raw = read_raw("ml-100k", path)
    users, items, ratings, times, lines = raw["ratings"]
    assert len(users) == 100000 and len(raw["items"]) == 1682 and len(raw["users"]) == 943
    assert set(np.unique(ratings)) == {1.0, 2.0, 3.0, 4.0, 5.0} and lines[0] == 1 and lines[-1] == 100000
    assert len(raw["genres"]) == 19 and raw["genres"][0] == "unknown"
    assert raw["items"][1] == ([3 + 1, 4 + 1, 5 + 1], 1995)  # Toy Story: Animation, Children's, Comedy
    assert raw["users"][1] == (1, 2, 20)  # M, age 24 -> bucket 2 "18-24", technician = 20th of u.occupation
    data = build_data(ml_cfg("ml-100k", path, history_len=20))
    assert data.n_users == 943 and data.meta["dropped"]["raw_ratings"] == 100000
    dropped = data.meta["dropped"]
    assert data.meta["stats"]["interactions"] == 100000 - dropped["kcore_ratings"]
    assert data.n_items == 1682 - dropped["kcore_items"]
    assert len(data.valid) + len(data.test) + data.meta["stats"]["train_users"] == 943
    assert data.user_fields.values.shape == (943, 3) and data.item_fields.field_names == ["genre", "year"]
    again = build_data(ml_cfg("ml-100k", path, history_len=20))
    assert np.array_equal(data.train_hist, again.train_hist) and np.array_equal(data.test.users, again.test.users)


def test_real_ml1m_partial_gz(shared_data_dir):
    path = real_dir(shared_data_dir, "ml-1m")
    partial = "ratings.partial-users1-2999.dat.gz"
    if not os.path.isfile(os.path.join(path, partial)):
        pytest.skip("partial ml-1m ratings file not present")
    data = build_data(ml_cfg("ml-1m", path, ratings_file=partial, max_examples_per_user=20))
    dropped = data.meta["dropped"]
    assert dropped["raw_ratings"] == 487650 and data.meta["ratings_file"] == partial
    assert data.n_users == 2999 and data.extras["raw_user_id"].max() == 2999
    assert dropped["users_in_file_without_kept_ratings"] == 6040 - 2999
    assert dropped["items_in_file_without_kept_ratings"] == 3883 - data.n_items  # movies.dat lists 3,883 movies
    assert len(data.meta["genres"]) == 18 and data.item_fields.field_vocab == [19, len(YEAR_EDGES) + 2]
    assert data.user_fields.values[0].tolist() == [2, 1, 11]  # user 1: F, age code 1, occupation 10
    assert np.bincount(data.train_users).max() <= 20 and dropped["capped_train_examples"] > 0
    if not any(os.path.isfile(os.path.join(path, name)) for name in ("ratings.dat", "ratings.dat.gz")):
        with pytest.raises(DataError, match="ratings.dat: file not found"):
            read_raw("ml-1m", path)


def test_real_ml100k_per_user_time_protocol(shared_data_dir):
    path = real_dir(shared_data_dir, "ml-100k")
    cfg = load_config(cfg_path_100k(), {"data_path": path, "split_protocol": "per_user_time", "split_seed": 0})
    data = build_data(cfg)
    assert len(data.valid) == len(data.test) == data.n_users == 943  # every user is evaluated
    lengths = np.diff(data.user_pos_indptr) + np.diff(data.valid.target_indptr) + np.diff(data.test.target_indptr)
    assert lengths.sum() == data.meta["stats"]["interactions"]  # train + valid + test slices cover every rating
    raw = read_raw("ml-100k", path)
    users, items, _, times, _ = raw["ratings"]
    when = dict(zip(zip(users.tolist(), items.tolist()), times.tolist()))
    raw_user, raw_item = data.extras["raw_user_id"], data.extras["raw_item_id"]
    for row in range(0, 943, 47):  # test targets are never older than the user's known items
        u = raw_user[data.test.users[row]]
        seen_t = [when[(u, raw_item[i - 1])] for i in data.test.seen(row)]
        target_t = [when[(u, raw_item[i - 1])] for i in data.test.targets(row)]
        assert max(seen_t) <= min(target_t)
    assert "per_user_time" in data.meta["protocol"]
    same_split = build_data(load_config(cfg_path_100k(), {"data_path": path, "split_protocol": "per_user_time",
                                                           "split_seed": 0, "seed": 7}))
    assert np.array_equal(same_split.train_pos, data.train_pos)  # the model seed does not move the split


def cfg_path_100k():
    return os.path.join(MODEL_ROOT, "configs", "ml100k.yaml")


def test_ml1m_config_reads_full_file_name(shared_data_dir, tmp_path):
    """configs/ml1m.yaml reads `ratings.dat` (here the shipped partial file under that name, gzipped) without
    overrides other than data_path, in both protocols."""
    path = real_dir(shared_data_dir, "ml-1m")
    partial = os.path.join(path, "ratings.partial-users1-2999.dat.gz")
    if not os.path.isfile(partial):
        pytest.skip("partial ml-1m ratings file not present")
    for name in ("movies.dat", "users.dat"):
        os.symlink(os.path.join(path, name), tmp_path / name)
    os.symlink(partial, tmp_path / "ratings.dat.gz")
    config = os.path.join(MODEL_ROOT, "configs", "ml1m.yaml")
    for protocol in ("users", "per_user_time"):
        data = build_data(load_config(config, {"data_path": str(tmp_path), "split_protocol": protocol}))
        assert data.meta["ratings_file"] == "ratings.dat.gz" and data.meta["dropped"]["raw_ratings"] == 487650
        assert data.n_users == 2999
        if protocol == "per_user_time":
            assert len(data.test) == 2999


# ---------------------------------------------------------------------- hand-made files in the original formats
def synthetic_log(n_users=30, n_items=25, per_user=12, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(1, n_users + 1):
        for i in rng.choice(np.arange(1, n_items + 1), size=per_user, replace=False):
            rows.append((u, int(i), float(rng.integers(1, 11)) / 2, int(rng.integers(9e8, 1e9))))
    return rows


def write_ml10m(folder, rows, n_items=25):
    folder.mkdir(exist_ok=True)
    (folder / "ratings.dat").write_text("".join(f"{u}::{i}::{r:g}::{t}\n" for u, i, r, t in rows))
    genres = ["Action|Comedy", "Drama", "(no genres listed)", "Adventure|Animation|Children|Comedy|Fantasy"]
    (folder / "movies.dat").write_text("".join(
        f"{i}::Movie {i}: Part II ({1960 + i})::{genres[i % 4]}\n" for i in range(1, n_items + 1)))
    return folder


def write_latest(folder, rows, n_items=25):
    folder.mkdir(exist_ok=True)
    (folder / "ratings.csv").write_text("userId,movieId,rating,timestamp\n" + "".join(
        f"{u},{i},{r:.1f},{t}\n" for u, i, r, t in rows))
    (folder / "movies.csv").write_text("movieId,title,genres\n" + "".join(
        f'{i},"Movie, The {i} ({1990 + i})",{"Comedy|Romance" if i % 2 else "Drama"}\n' for i in range(1, n_items + 1)))
    return folder


def test_ml10m_format(tmp_path):
    rows = synthetic_log()
    folder = write_ml10m(tmp_path / "ml-10M100K", rows)
    data = build_data(ml_cfg("ml-10m", folder))
    assert data.user_fields is None and data.model_meta()["user_field_vocab"] == [1]
    assert data.meta["stats"]["interactions"] == len(rows) and data.n_users == 30
    raw = read_raw("ml-10m", str(folder))
    assert raw["genres"] == ["Action", "Adventure", "Animation", "Children", "Comedy", "Drama", "Fantasy"]
    assert raw["items"][1] == ([6], 1961) and raw["items"][2] == ([], 1962)  # no genres listed -> no genre slot
    assert raw["items"][3] == ([2, 3, 4, 5, 7], 1963)
    assert set(np.unique(raw["ratings"][2])) <= {v / 2 for v in range(1, 11)}
    assert data.user_feats(np.array([0, 1])).shape == (2, 1)


def test_ml_latest_small_format(tmp_path):
    rows = synthetic_log(seed=1)
    folder = write_latest(tmp_path / "ml-latest-small", rows)
    data = build_data(ml_cfg("ml-latest-small", folder))
    raw = read_raw("ml-latest-small", str(folder))
    assert raw["items"][1] == ([1, 3], 1991) and raw["items"][2] == ([2], 1992)  # quoted titles with commas
    assert data.meta["stats"]["interactions"] == len(rows) and data.user_fields is None
    # year bucket of 1991 is "1990-1994" -> digitize(1991, edges) + 1 = 7
    assert data.item_fields.values[1, -1] == 7


def test_gz_and_filename_override(tmp_path):
    rows = synthetic_log()
    folder = write_ml10m(tmp_path / "ml", rows)
    with open(folder / "ratings.dat", "rb") as src, gzip.open(folder / "other.dat.gz", "wb") as dst:
        dst.write(src.read())
    plain = read_raw("ml-10m", str(folder))["ratings"]
    zipped = read_raw("ml-10m", str(folder), "other.dat.gz")["ratings"]
    assert all(np.array_equal(a, b) for a, b in zip(plain, zipped))
    os.remove(folder / "ratings.dat")
    with gzip.open(folder / "ratings.dat.gz", "wb") as dst:
        dst.write(b"1::2::3::4\n")
    assert len(read_raw("ml-10m", str(folder))["ratings"][0]) == 1  # ratings.dat.gz found for ratings.dat


def test_drops_are_counted():
    users = np.array([1, 1, 1, 2, 2, 3, 3, 3, 3])
    items = np.array([1, 1, 2, 1, 2, 1, 2, 3, 9])
    ratings = np.array([5, 4, 5, 5, 2, 5, 5, 5, 5], dtype=float)
    times = np.arange(9)
    u, i, t, dropped = filter_interactions(users, items, ratings, times, 4.0, 2)
    assert dropped["below_min_rating"] == 1 and dropped["duplicate_ratings"] == 1
    # after those: user 1 {1,2}, user 2 {1}, user 3 {1,2,3,9}; k-core 2 drops user 2, items 3 and 9
    assert dropped["kcore_users"] == 1 and dropped["kcore_items"] == 2 and dropped["kcore_ratings"] == 3
    assert sorted(zip(u.tolist(), i.tolist())) == [(1, 1), (1, 2), (3, 1), (3, 2)]
    assert t[(u == 1) & (i == 1)][0] == 0  # the earliest duplicate is kept


# ---------------------------------------------------------------------- bad input
@pytest.fixture()
def ml10m_dir(tmp_path):
    return write_ml10m(tmp_path / "ml", synthetic_log())


def replace_line(path, line_no, text):
    lines = path.read_text().splitlines(keepends=True)
    lines[line_no - 1] = text
    path.write_text("".join(lines))


def test_missing_folder_and_files(tmp_path, ml10m_dir):
    with pytest.raises(DataError, match="data folder not found"):
        read_raw("ml-10m", str(tmp_path / "nope"))
    with pytest.raises(DataError, match="data_path is not set"):
        read_raw("ml-10m", None)
    os.remove(ml10m_dir / "movies.dat")
    with pytest.raises(DataError, match=r"movies.dat: file not found"):
        read_raw("ml-10m", str(ml10m_dir))


@pytest.mark.parametrize("line, message", [
    ("5::7::4\n", r"ratings.dat:17: expected 4 fields separated by '::', got 3"),
    ("5::x7::4::978300760\n", r"ratings.dat:17: item id 'x7' is not an integer"),
    ("u5::7::4::978300760\n", r"ratings.dat:17: user id 'u5' is not an integer"),
    ("5::7::four::978300760\n", r"ratings.dat:17: rating 'four' is not a number"),
    ("5::7::4::97830.5\n", r"ratings.dat:17: timestamp '97830.5' is not an integer"),
    ("5::7.5::4::978300760\n", r"ratings.dat:17: item id '7.5' is not an integer"),
    ("\n", r"ratings.dat:17: empty line"),
    ("5::7::4::978300760::1\n", r"ratings.dat:17: expected 4 fields"),
])
def test_malformed_rating_lines(ml10m_dir, line, message):
    replace_line(ml10m_dir / "ratings.dat", 17, line)
    with pytest.raises(DataError, match=message):
        read_raw("ml-10m", str(ml10m_dir))


def test_unknown_ids_name_the_line(ml10m_dir, tmp_path):
    replace_line(ml10m_dir / "ratings.dat", 23, "3::999::4::978300760\n")
    with pytest.raises(DataError, match=r"ratings.dat:23: item id 999 is not in .*movies.dat"):
        read_raw("ml-10m", str(ml10m_dir))
    path = real_or_handmade_100k(tmp_path)
    replace_line(path / "u.data", 4, "944\t1\t5\t881250949\n")
    with pytest.raises(DataError, match=r"u.data:4: user id 944 is not in .*u.user"):
        read_raw("ml-100k", str(path))


def real_or_handmade_100k(tmp_path, n_users=30, n_items=25, per_user=12):
    """A small ml-100k folder in the original format (u.data, u.item, u.user, u.genre, u.occupation)."""
    folder = tmp_path / "ml-100k"
    folder.mkdir()
    genres = ["unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
              "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller",
              "War", "Western"]
    (folder / "u.genre").write_text("".join(f"{g}|{k}\n" for k, g in enumerate(genres)) + "\n")
    (folder / "u.occupation").write_text("administrator\nartist\nother\n")
    items = []
    for i in range(1, n_items + 1):
        flags = ["0"] * 19
        flags[i % 19] = "1"
        date = "" if i == 5 else f"01-Jan-{1950 + i}"
        items.append(f"{i}|Movie {i} ({1950 + i})|{date}||http://x/{i}|" + "|".join(flags) + "\n")
    (folder / "u.item").write_text("".join(items), encoding="latin-1")
    (folder / "u.user").write_text("".join(
        f"{u}|{15 + u}|{'M' if u % 2 else 'F'}|{['administrator', 'artist', 'other'][u % 3]}|1000{u}\n"
        for u in range(1, n_users + 1)))
    (folder / "u.data").write_text("".join(f"{u}\t{i}\t{int(r + 0.5)}\t{t}\n"
                                           for u, i, r, t in synthetic_log(n_users, n_items, per_user)))
    return folder


def test_handmade_ml100k_fields(tmp_path):
    folder = real_or_handmade_100k(tmp_path)
    raw = read_raw("ml-100k", str(folder))
    assert raw["items"][5] == ([6], 1955)  # empty release date -> year from the title
    assert raw["users"][1] == (1, 1, 2)  # M, age 16 -> bucket 1 "<18", artist = 2nd of u.occupation
    data = build_data(ml_cfg("ml-100k", folder))
    assert data.user_fields.field_vocab == [3, 8, 4]


@pytest.mark.parametrize("file_name, line_no, text, message", [
    ("u.user", 3, "3|x|M|other|1\n", r"u.user:3: age 'x' is not an integer"),
    ("u.user", 3, "3|30|Q|other|1\n", r"u.user:3: gender must be M or F"),
    ("u.user", 3, "3|30|M|pilot|1\n", r"u.user:3: occupation 'pilot' is not in"),
    ("u.user", 3, "2|30|M|other|1\n", r"u.user:3: user id 2 appears twice"),
    ("u.item", 2, "2|Bad|line\n", r"u.item:2: expected 24 fields"),
    ("u.item", 2, "2|M|||u|" + "|".join(["2"] * 19) + "\n", r"u.item:2: genre flags must be 0 or 1"),
    ("u.genre", 2, "Action|7\n", r"u.genre:2: expected 'name\|index'"),
])
def test_bad_ml100k_side_files(tmp_path, file_name, line_no, text, message):
    folder = real_or_handmade_100k(tmp_path)
    replace_line(folder / file_name, line_no, text)
    with pytest.raises(DataError, match=message):
        read_raw("ml-100k", str(folder))


def write_ml1m(folder, users="1::F::1::10::48067\n2::M::56::16::70072\n",
               movies="1::A (1999)::Drama\n2::B (2001)::Comedy|Drama\n"):
    folder.mkdir(exist_ok=True)
    (folder / "movies.dat").write_text(movies, encoding="latin-1")
    (folder / "users.dat").write_text(users)
    (folder / "ratings.dat").write_text("1::1::5::978300760\n2::2::3::978300761\n")
    return str(folder)


def test_handmade_ml1m(tmp_path):
    raw = read_raw("ml-1m", write_ml1m(tmp_path / "ml-1m"))
    assert raw["users"][2] == (1, 7, 17) and raw["items"][2] == ([1, 2], 2001)


@pytest.mark.parametrize("files, message", [
    ({"users": "1::F::1::10::48067\n2::M::57::16::70072\n"}, r"users.dat:2: age 57 is not an ML-1M age code"),
    ({"users": "1::F::1::10::48067\n2::M::56::21::70072\n"}, r"users.dat:2: occupation 21 is outside 0..20"),
    ({"users": "1::F::1::10::48067\n"}, r"ratings.dat:2: user id 2 is not in .*users.dat"),
    ({"movies": "1::A (1999)::Drama\n1::B (2001)::Comedy\n"}, r"movies.dat:2: item id 1 appears twice"),
    ({"movies": "1::A (1999)\n"}, r"movies.dat:1: expected 3 fields"),
])
def test_bad_ml1m_users_and_movies(tmp_path, files, message):
    with pytest.raises(DataError, match=message):
        read_raw("ml-1m", write_ml1m(tmp_path / "ml-1m", **files))


def test_bad_latest_small_headers(tmp_path):
    folder = write_latest(tmp_path / "ml", synthetic_log())
    replace_line(folder / "ratings.csv", 1, "user,movie,rating,timestamp\n")
    with pytest.raises(DataError, match=r"ratings.csv:1: expected the header"):
        read_raw("ml-latest-small", str(folder))
    folder = write_latest(tmp_path / "ml2", synthetic_log())
    replace_line(folder / "movies.csv", 3, '2,"Unclosed title,Drama,Extra\n')
    with pytest.raises(DataError, match=r"movies.csv:\d+: expected 3 comma-separated fields"):
        read_raw("ml-latest-small", str(folder))
    folder = write_latest(tmp_path / "ml3", synthetic_log())
    replace_line(folder / "ratings.csv", 5, "1,2,3.5\n")
    with pytest.raises(DataError, match=r"ratings.csv:5: expected 4 fields separated by ','"):
        read_raw("ml-latest-small", str(folder))


def test_empty_inputs(tmp_path, ml10m_dir):
    (ml10m_dir / "ratings.dat").write_text("")
    with pytest.raises(DataError, match="ratings.dat: no ratings"):
        read_raw("ml-10m", str(ml10m_dir))
    folder = write_ml10m(tmp_path / "few", synthetic_log(n_users=3))
    with pytest.raises(DataError, match="split is empty"):
        build_data(ml_cfg("ml-10m", folder, min_interactions=1))
    with pytest.raises(DataError, match="no interactions left after filtering"):
        build_data(ml_cfg("ml-10m", write_ml10m(tmp_path / "strict", synthetic_log()), min_interactions=1000))


def test_fast_and_slow_parsers_agree(tmp_path):
    rows = synthetic_log(seed=3)
    path = tmp_path / "r.dat"
    path.write_text("".join(f"{u}::{i}::{r:g}::{t}\r\n" for u, i, r, t in rows) + "\n\n")  # CRLF, blank tail
    fast = read_ratings(str(path), "::")
    text = path.read_text().rstrip("\r\n") + "\n"
    assert _fast_parse(text, "::") is not None
    slow = _slow_parse(text, "::", str(path), 1)
    assert all(np.array_equal(a, b) for a, b in zip(fast, slow))
    assert fast[2].dtype == np.float64 and fast[4][-1] == len(rows)
