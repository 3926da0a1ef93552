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
"""SAFI: the "sparse additive field interactions" synthetic generator (our construction; README, Dataset).

Why it separates the models: rank(R) <= F*V, so every two-tower logit matrix of width d with d + 3 < rank(R) is
misspecified (Eckart-Young, `rank_certificate`), while SparCode with K_u >= F tokens and K_c^M >= V codes can
represent R exactly (token f carries x^f, g = h_f, bias = -beta).

Users have F categorical fields x_u (values 0..V-1), items G fields y_i. With tables W_fg ~ N(0, 1/G) [V x V]:
    h_f(v, i) = sum_g W_fg[v, y_i^g]                  (F x V x N_items impacts)
    beta      = the global q-quantile of h            (density of the truth ~ 1 - q)
    R(u, i)   = sum_f max(0, h_f(x_u^f, i) - beta)     (utility, rank <= F*V)
Each user draws n_pos_train + n_pos_test distinct items with probability ~ exp(R/tau) (Gumbel-top-k); they are
shuffled, the first n_pos_train go to train (and form the history, in that random order), the rest to test.

Splits:
- train: one example per (user, train positive); its history is the user's OTHER train positives (leave-one-out,
  so the target is never inside its own history), last L of them, left-padded.
- test: every user; hist = all train positives; targets = the held-out positives; seen = the train positives.
- valid: `n_valid_users` extra users drawn from the same generator (own random stream) that never train;
  hist / targets / seen as for test. The main users, items and test split do not depend on n_valid_users.
Field values are stored +1 in the FieldTables (0 = padding). The generator's tables are kept in RecData.extras
("safi_W", "safi_beta", "safi_user_x", "safi_item_y") so the oracle utility can be recomputed.
"""
import numpy as np

from src.data.dataset import EvalSplit, FieldTable, RecData, csr_from_lists, csr_sorted_unique, left_pad

# Presets (n_valid_users = 10% of users). "tiny" is ours: small enough for CI in a second.
_COMMON = {"n_pos_train": 30, "n_pos_test": 10, "safi_quantile": 0.92, "safi_tau": 0.3}
SAFI_PRESETS = {
    "tiny": dict(_COMMON, n_users=300, n_items=200, n_valid_users=60, n_fields_user=2, n_fields_item=2,
                 field_vocab=8, n_pos_train=12, n_pos_test=4, safi_quantile=0.85),
    "S": dict(_COMMON, n_users=2000, n_items=1000, n_valid_users=200, n_fields_user=3, n_fields_item=3,
              field_vocab=16),
    "S2": dict(_COMMON, n_users=2000, n_items=1000, n_valid_users=200, n_fields_user=3, n_fields_item=3,
               field_vocab=32),
    "I": dict(_COMMON, n_users=3000, n_items=2000, n_valid_users=300, n_fields_user=4, n_fields_item=4,
              field_vocab=32),
    "M": dict(_COMMON, n_users=4000, n_items=4000, n_valid_users=400, n_fields_user=4, n_fields_item=4,
              field_vocab=64),
}
# Independent numpy calibration of the generator (seed 0): oracle Recall@50 on the test split.
REFERENCE_ORACLE_RECALL50 = {"S": 0.561, "S2": 0.570, "I": 0.620, "M": 0.601}

_USER_CHUNK = 1024  # users per chunk when forming N_users x N_items matrices


def safi_params(cfg):
    """Generator parameters from a Config (the loader already filled null keys from the preset)."""
    keys = ("n_users", "n_items", "n_valid_users", "n_fields_user", "n_fields_item", "field_vocab",
            "n_pos_train", "n_pos_test", "safi_quantile", "safi_tau")
    params = {key: cfg[key] for key in keys}
    params["seed"] = cfg.seed
    params["history_len"] = cfg.history_len
    return params


def _streams(seed):
    """Independent random streams, so that e.g. the valid users never shift the main users' draws."""
    names = ("user_x", "item_y", "tables", "gumbel", "shuffle", "valid_x", "valid_gumbel", "valid_shuffle")
    children = np.random.SeedSequence(seed).spawn(len(names))
    return {name: np.random.default_rng(child) for name, child in zip(names, children)}


def safi_impacts(W, item_y):
    """h [F, V, n] = sum_g W[f, g][:, y_i^g] for items with 0-based field values item_y [n, G]."""
    n_fields_user, n_fields_item, vocab, _ = W.shape
    h = np.zeros((n_fields_user, vocab, len(item_y)), dtype=np.float64)
    for g in range(n_fields_item):  # G is small (<= 4); the work inside is vectorised over V x items
        h += W[:, g][:, :, item_y[:, g]]
    return h


def safi_utility(W, beta, user_x, item_y):
    """R [n_users, n_items] = sum_f max(0, h_f(x_u^f, i) - beta) (float32, formed in user chunks)."""
    active = np.maximum(safi_impacts(W, item_y) - beta, 0.0).astype(np.float32)  # [F, V, n_items]
    out = np.zeros((len(user_x), len(item_y)), dtype=np.float32)
    for lo in range(0, len(user_x), _USER_CHUNK):
        x = user_x[lo:lo + _USER_CHUNK]
        for f in range(active.shape[0]):
            out[lo:lo + len(x)] += active[f, x[:, f]]
    return out


def _gumbel_top_k(rng, utility, tau, k):
    """k distinct items per row (0-based) drawn without replacement with probability ~ exp(utility / tau):
    the top k of utility / tau + Gumbel noise (Gumbel-top-k). Their order is not random; the caller shuffles."""
    keys = utility / tau + rng.gumbel(size=utility.shape).astype(np.float32)
    return np.argpartition(-keys, k - 1, axis=1)[:, :k]


def _draw_positives(utility, tau, n_pos, rng_gumbel, rng_shuffle):
    picks = np.empty((len(utility), n_pos), dtype=np.int64)
    for lo in range(0, len(utility), _USER_CHUNK):
        picks[lo:lo + _USER_CHUNK] = _gumbel_top_k(rng_gumbel, utility[lo:lo + _USER_CHUNK], tau, n_pos)
    return rng_shuffle.permuted(picks, axis=1) + 1  # random order; item ids are 1-based


def _eval_split(user_rows, train_items, test_items, history_len):
    n, n_test = test_items.shape
    t_indptr, t_items = csr_from_lists(np.full(n, n_test), test_items.ravel())
    s_indptr, s_items = csr_from_lists(np.full(n, train_items.shape[1]), train_items.ravel())
    return EvalSplit(user_rows.astype(np.int32), left_pad(train_items, history_len),
                     t_indptr, t_items, s_indptr, s_items)


def _leave_one_out_histories(train_items, history_len):
    """For each user and train position j: the other train items in order, last L, left-padded."""
    n_users, n_pos = train_items.shape
    others = np.array([[k for k in range(n_pos) if k != j] for j in range(n_pos)], dtype=np.int64)  # [P, P-1]
    return left_pad(train_items[:, others].reshape(n_users * n_pos, n_pos - 1), history_len)


def generate_safi(cfg_or_params):
    """RecData for the SAFI generator (seeded). Accepts a Config or the dict of safi_params()."""
    p = cfg_or_params if isinstance(cfg_or_params, dict) else safi_params(cfg_or_params)
    n_users, n_items, n_valid = p["n_users"], p["n_items"], p["n_valid_users"]
    F, G, V = p["n_fields_user"], p["n_fields_item"], p["field_vocab"]
    n_pos = p["n_pos_train"] + p["n_pos_test"]
    if n_pos >= n_items:
        raise ValueError(f"n_pos_train + n_pos_test = {n_pos} must be < n_items = {n_items}")
    rng = _streams(p["seed"])
    user_x = rng["user_x"].integers(0, V, size=(n_users, F))
    item_y = rng["item_y"].integers(0, V, size=(n_items, G))
    W = rng["tables"].normal(0.0, np.sqrt(1.0 / G), size=(F, G, V, V))
    beta = float(np.quantile(safi_impacts(W, item_y), p["safi_quantile"]))

    utility = safi_utility(W, beta, user_x, item_y)
    picks = _draw_positives(utility, p["safi_tau"], n_pos, rng["gumbel"], rng["shuffle"])
    n_tr = p["n_pos_train"]
    train_items, test_items = picks[:, :n_tr], picks[:, n_tr:]

    valid_x = rng["valid_x"].integers(0, V, size=(n_valid, F))
    valid_picks = _draw_positives(safi_utility(W, beta, valid_x, item_y), p["safi_tau"], n_pos,
                                  rng["valid_gumbel"], rng["valid_shuffle"])
    all_x = np.concatenate([user_x, valid_x])
    total_users = n_users + n_valid

    L = p["history_len"]
    user_fields = FieldTable((all_x + 1).astype(np.int32), np.arange(F, dtype=np.int32), [V + 1] * F,
                             [f"user_field{f}" for f in range(F)])
    item_values = np.zeros((n_items + 1, G), dtype=np.int32)
    item_values[1:] = item_y + 1
    item_fields = FieldTable(item_values, np.arange(G, dtype=np.int32), [V + 1] * G,
                             [f"item_field{g}" for g in range(G)])

    known = np.concatenate([train_items, valid_picks[:, :n_tr]])  # positives known at training time
    pos_indptr, pos_items = csr_sorted_unique(np.repeat(np.arange(total_users), n_tr), known.ravel(), total_users)
    valid_rows = np.arange(n_users, total_users)
    density = float((utility > 0).mean())
    meta = {
        "generator": "safi", "params": p, "beta": beta, "utility_density": density,
        "field_impact_density": 1.0 - p["safi_quantile"],
        "valid_protocol": "n_valid_users extra users from the same generator; no training rows",
        "train_history": "leave-one-out: the user's other train positives in their random order",
        "dropped": {},
    }
    data = RecData(
        name=f"synthetic-{cfg_name(p)}", n_users=total_users, n_items=n_items,
        item_fields=item_fields, user_fields=user_fields,
        train_users=np.repeat(np.arange(n_users, dtype=np.int32), n_tr),
        train_hist=_leave_one_out_histories(train_items, L),
        train_pos=train_items.reshape(-1).astype(np.int32),
        user_pos_indptr=pos_indptr, user_pos_items=pos_items,
        valid=_eval_split(valid_rows, valid_picks[:, :n_tr], valid_picks[:, n_tr:], L),
        test=_eval_split(np.arange(n_users), train_items, test_items, L),
        meta=meta,
        extras={"safi_W": W.astype(np.float64), "safi_beta": np.array(beta), "safi_user_x": all_x,
                "safi_item_y": item_y})
    data.validate()
    return data


def cfg_name(params):
    return "x".join(str(params[k]) for k in ("n_users", "n_items", "n_fields_user", "field_vocab"))


# ---------------------------------------------------------------------- oracle and certificate
def oracle_topk(data, split_name="test", k=100):
    """Top-k items by the true utility R for the rows of a split, seen items excluded."""
    split = data.split(split_name)
    W, beta = data.extras["safi_W"], float(data.extras["safi_beta"])
    user_x, item_y = data.extras["safi_user_x"], data.extras["safi_item_y"]
    return _topk_excluding(safi_utility(W, beta, user_x[split.users], item_y), split, k)


def _topk_excluding(scores, split, k):
    """Item ids (1-based) of the k best scores [n, n_items] per row, seen items excluded: the models' ranking
    (src/scoring.py, ties by smaller id) on exact float64 utilities."""
    from src.scoring import topk_excluding   # imports MindSpore: only when a reference ranking is asked for
    padded = np.concatenate([np.zeros((len(scores), 1)), scores], axis=1)   # column = item id, 0 = padding
    return topk_excluding(padded, k, split.seen_indptr, split.seen_items, copy=False, dtype=np.float64)[0]


def _user_field_onehot(user_x, vocab):
    n, n_fields = user_x.shape
    P = np.zeros((n, n_fields * vocab))
    P[np.repeat(np.arange(n), n_fields), (user_x + vocab * np.arange(n_fields)).ravel()] = 1.0
    return P


def utility_factors(data, split_name="test"):
    """R = Q @ Mx for the users of a split: Q orthonormal [n, r], Mx [r, n_items], r <= F*V (R = P A, P one-hot)."""
    split = data.split(split_name)
    W, beta = data.extras["safi_W"], float(data.extras["safi_beta"])
    user_x, item_y = data.extras["safi_user_x"][split.users], data.extras["safi_item_y"]
    vocab = W.shape[2]
    A = np.maximum(safi_impacts(W, item_y) - beta, 0.0).reshape(-1, len(item_y))  # [F*V, n_items]
    Q, Rp = np.linalg.qr(_user_field_onehot(user_x, vocab))
    return Q, Rp @ A


def rank_certificate(data, dims=(8, 16, 32, 64, 128), split_name="test"):
    """Eckart-Young tail energy of R/tau for each two-tower width d (see the module doc).

    Every d-dim two-tower logit matrix S satisfies ||S - (R/tau + c 1^T)||_F^2 >= sum_{j > d+3} sigma_j(R/tau)^2.
    Returns {"rank": numerical rank, "energy": ||R/tau||_F^2, "tail": {d: bound}, "tail_frac": {d: bound / energy}}.
    """
    tau = data.meta["params"]["safi_tau"]
    _, Mx = utility_factors(data, split_name)
    sigma = np.linalg.svd(Mx / tau, compute_uv=False)
    energy = float((sigma ** 2).sum())
    rank = int((sigma > sigma[0] * max(Mx.shape) * np.finfo(float).eps).sum()) if len(sigma) else 0
    tail = {int(d): float((sigma[d + 3:] ** 2).sum()) for d in dims}
    return {"rank": rank, "energy": energy, "tail": tail,
            "tail_frac": {d: (v / energy if energy > 0 else 0.0) for d, v in tail.items()}}


def lowrank_topk(data, d, split_name="test", k=100):
    """Top-k of the best rank-d approximation of R (truncated SVD), seen items excluded."""
    Q, Mx = utility_factors(data, split_name)
    U, s, Vt = np.linalg.svd(Mx, full_matrices=False)
    approx = (Q @ (U[:, :d] * s[:d])) @ Vt[:d]
    return _topk_excluding(approx, data.split(split_name), k)


def make_extra_items(cfg, n_items, seed):
    """FieldTable of `n_items` NEW items (no padding row) from the same generator: fields ~ Uniform[V], stored +1.

    They take ids after the existing ones; the trained item tokenizer scores them from features alone.
    """
    p = safi_params(cfg)
    G, V = p["n_fields_item"], p["field_vocab"]
    rng = np.random.default_rng([seed, 104729])
    values = (rng.integers(0, V, size=(n_items, G)) + 1).astype(np.int32)
    return FieldTable(values, np.arange(G, dtype=np.int32), [V + 1] * G, [f"item_field{g}" for g in range(G)])
