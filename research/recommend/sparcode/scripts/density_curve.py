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
"""Recall@50 / NDCG@50 of a trained SparCode model THROUGH ITS INDEX against the index density.

For every target density d the score bias b <= 0 is set so that a fraction d of the (code, item) pairs of the
index (the codes used by train + valid + test queries, every item) has s + b > 0 (exact quantile over all those
pairs), the index is rebuilt with that b and the split is ranked through it. The bias changes the scores
(y = sum_k ReLU(s_k + b)), not only the posting lists. A density above the one of b = 0 cannot be reached (b must be
<= 0); such a point is evaluated at b = 0 and its measured density is reported.

With --rule=query_weighted the model keeps its trained b and the full index is pruned instead: for each density
the pairs with the largest (n_c + 1)^alpha * w stay, n_c = uses of code c by the training queries (the pruning of
config key index_density, src/index_prune.py; --alpha = index_prune_alpha).

    python scripts/density_curve.py --ckpt_path=./checkpoints --out=./results/density [--eval_split=test]
        [--densities=1.0,0.2,0.1,0.05,0.02,0.01] [--reference="two-tower d=64:0.27"]
        [--rule=bias|query_weighted] [--alpha=0.5]

Writes <out>.md (table), <out>.json and <out>.png (drawn with Pillow).
"""
import argparse
import json
import os
import sys
import time
import warnings

import numpy as np

MODEL_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if MODEL_DIR not in sys.path:
    sys.path.insert(0, MODEL_DIR)

DENSITIES = (1.0, 0.2, 0.1, 0.05, 0.02, 0.01)
CODE_CHUNK = 64  # codes scored per call when the bias is calibrated (64 x n_items x h1 floats)


def raw_scores(model, codes, items):
    """g before bias for every (code, item) pair [n_codes, n_items] (float32), in chunks of codes."""
    return np.concatenate([model.raw_token_scores_for_codes(codes[i:i + CODE_CHUNK].astype(np.int32), items).asnumpy()
                           for i in range(0, len(codes), CODE_CHUNK)])


def lower_density_index(index, target):
    """The index of the same model at a larger |b| (density `target`), derived from a saved index without scoring g
    again: the index at bias b0 stores s + b0 for every pair with s + b0 > 0, so for a target below its density
    every pair that stays has its exact s stored. b is the exact (1 - target) quantile of s over all
    (code, item) pairs, as bias_for_density computes it; pairs not stored are all below it."""
    from src.index import SparseCodeIndex
    if index.meta.get("pruning"):
        raise ValueError("the saved index is pruned (config key index_density): --from_index needs the full index; "
                         "run without --from_index")
    b0 = float(index.meta.get("score_bias") or 0.0)
    n_rows, n_items = len(index.codes), int(index.meta.get("n_indexed_items", len(index.items)))
    n_pairs, nnz = n_rows * n_items, len(index.scores)
    position = (1.0 - target) * (n_pairs - 1)        # np.quantile's linear interpolation over all pairs
    low = int(np.floor(position)) - (n_pairs - nnz)
    if low < 0:
        raise ValueError(f"target density {target} is not below the saved index's density {nnz / n_pairs:.4f}: "
                         "use the full path (without --from_index)")
    stored = np.sort(index.scores.astype(np.float64))
    high = min(low + 1, nnz - 1)
    quantile = stored[low] + (position - np.floor(position)) * (stored[high] - stored[low]) - b0
    bias = -float(quantile)
    shifted = index.scores.astype(np.float64) - b0 + bias
    keep = shifted > 0
    rows = np.repeat(np.arange(n_rows), np.diff(index.indptr))[keep]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n_rows))])
    meta = dict(index.meta, score_bias=bias, derived_from_score_bias=b0)
    return SparseCodeIndex(index.codes, indptr, index.item_ids[keep], shifted[keep].astype(np.float32), index.items,
                           index.codebooks, meta), bias


def density_curve_from_index(cfg, densities, split_name):
    """density_curve() for targets below the density of the run's saved index (<ckpt_path>/index.npz, built from
    these weights): no g evaluation, minutes less on ML-1M."""
    from src.data.dataset import build_data
    from src.evaluation import query_code_ids, split_inputs
    from src.index_build import load_or_build_index
    from src.run_files import load_trained_model, resolve_checkpoint
    data = build_data(cfg)
    model = load_trained_model(cfg, data, resolve_checkpoint(cfg))
    saved, _, _ = load_or_build_index(model, data, cfg)
    feats, hist, split = split_inputs(data, split_name)
    query_codes = query_code_ids(model.code_ids, feats, hist, int(cfg.eval_batch_size))
    rows = []
    for target in densities:
        start = time.time()
        index, b = lower_density_index(saved, target)
        build_s = time.time() - start
        rows.append(curve_row(index, target, b, build_s, query_codes, split, cfg.topk, " (from the saved index)"))
    return rows


def density_curve_query_weighted(cfg, densities, split_name, alpha):
    """density_curve() with query-weighted pruning of the model's full index (at its trained b) for each density.
    The saved index is used when it is the full index of these weights, else the full index is built in memory
    (the saved file is left as it is)."""
    from src.checkpoint import parameter_digest
    from src.data.dataset import build_data
    from src.evaluation import query_code_ids, split_inputs
    from src.index import SparseCodeIndex
    from src.index_build import build_index, train_query_codes
    from src.index_prune import code_query_counts, prune_index
    from src.run_files import default_index_path, load_trained_model, resolve_checkpoint
    if cfg.model != "sparcode":
        raise SystemExit(f"config key model: the density curve needs a sparcode run, got {cfg.model!r}")
    data = build_data(cfg)
    model = load_trained_model(cfg, data, resolve_checkpoint(cfg))
    full, path = None, default_index_path(cfg)
    if os.path.isfile(path):
        saved = SparseCodeIndex.load(path)
        if saved.meta.get("model_digest") == parameter_digest(model) and not saved.meta.get("pruning"):
            full = saved
    start = time.time()
    if full is None:
        full = build_index(model, data, cfg, progress=False, prune=False)
    batch = int(cfg.eval_batch_size)
    counts = code_query_counts(full.codes, train_query_codes(model, data, batch))
    full_s = time.time() - start
    feats, hist, split = split_inputs(data, split_name)
    query_codes = query_code_ids(model.code_ids, feats, hist, batch)
    b, rows = model.get_score_bias(), []
    for target in densities:
        start = time.time()
        index = prune_index(full, target, counts, alpha)
        row = curve_row(index, target, b, full_s + time.time() - start, query_codes, split, cfg.topk,
                        f" (query-weighted, alpha {alpha})")
        row.update(rule="query_weighted", alpha=alpha, threshold=index.meta["pruning"]["threshold"])
        rows.append(row)
    return rows


def curve_row(index, target, b, build_s, query_codes, split, topk, note=""):
    """Rank the split's users through `index` and return (and print) one row of the curve."""
    from src.evaluation import index_rank, metrics_for
    ranked = index_rank(index, query_codes, split.seen_indptr, split.seen_items, max(topk))
    metrics = metrics_for(ranked, split, topk)
    stats = index.stats()
    print(f"target {target}: b={b:.4f} density {stats['density']:.4f} recall@50 {metrics['recall@50']:.4f} "
          f"ndcg@50 {metrics['ndcg@50']:.4f}{note}", flush=True)
    return {"target_density": target, "score_bias": b, "density": stats["density"], "nnz": stats["nnz"],
            "codes": stats["codes"], "mean_posting_length": stats["mean_posting_length"],
            "build_seconds": round(build_s, 1), "recall@20": metrics["recall@20"],
            "recall@50": metrics["recall@50"], "ndcg@50": metrics["ndcg@50"], "users": len(split)}


def density_curve(cfg, densities, split_name):
    """[{target_density, score_bias, density, nnz, recall@50, ndcg@50, ...}] for a trained SparCode run."""
    from src.data.dataset import build_data
    from src.evaluation import query_code_ids, split_inputs
    from src.index_build import used_codes
    from src.run_files import load_trained_model, resolve_checkpoint
    from src.index import SparseCodeIndex
    from src.model.sparcode import bias_for_density
    if cfg.model != "sparcode":
        raise SystemExit(f"config key model: the density curve needs a sparcode run, got {cfg.model!r}")
    data = build_data(cfg)
    model = load_trained_model(cfg, data, resolve_checkpoint(cfg))
    codes = used_codes(model, data, int(cfg.eval_batch_size))
    items = np.arange(1, data.n_items + 1, dtype=np.int32)
    raw = raw_scores(model, codes, items)
    feats, hist, split = split_inputs(data, split_name)
    query_codes = query_code_ids(model.code_ids, feats, hist, int(cfg.eval_batch_size))
    rows = []
    for target in densities:
        b = bias_for_density(raw, target)
        if target >= 1.0:  # every pair kept needs s + b > 0 also at the minimum
            b = min(0.0, -float(raw.min()) + 1e-6)
        model.set_score_bias(b)
        start = time.time()
        index = SparseCodeIndex.build(model, cfg, items, codes, progress=False)
        build_s = time.time() - start
        rows.append(curve_row(index, target, b, build_s, query_codes, split, cfg.topk))
    return rows


def markdown(rows, title):
    lines = [f"{title}", "", "| target density | score bias b | index density | mean posting length | Recall@20 | "
             "Recall@50 | NDCG@50 |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['target_density']} | {r['score_bias']:.4f} | {r['density']:.4f} | "
                     f"{r['mean_posting_length']:.1f} | {r['recall@20']:.4f} | {r['recall@50']:.4f} | "
                     f"{r['ndcg@50']:.4f} |")
    return "\n".join(lines) + "\n"


def draw_png(rows, path, title, references=()):
    """Recall@50 and NDCG@50 against density (log x axis) with Pillow; references = [(label, value)] lines."""
    from PIL import Image, ImageDraw, ImageFont
    width, height, left, right, top, bottom = 760, 480, 70, 20, 40, 60
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    dens = np.array([max(r["density"], 1e-4) for r in rows])
    series = {"Recall@50": ([r["recall@50"] for r in rows], (31, 119, 180)),
              "NDCG@50": ([r["ndcg@50"] for r in rows], (214, 39, 40))}
    values = [v for vals, _ in series.values() for v in vals] + [v for _, v in references]
    y_lo, y_hi = 0.0, max(values) * 1.15 if values else 1.0
    x_lo, x_hi = np.log10(min(dens.min(), 0.01) * 0.8), np.log10(1.25)

    def xy(d, v):
        x = left + (np.log10(d) - x_lo) / (x_hi - x_lo) * (width - left - right)
        y = height - bottom - (v - y_lo) / (y_hi - y_lo) * (height - top - bottom)
        return float(x), float(y)

    draw.rectangle([left, top, width - right, height - bottom], outline="black")
    for tick in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0):
        x, _ = xy(tick, 0)
        draw.line([x, height - bottom, x, height - bottom + 5], fill="black")
        draw.text((x - 10, height - bottom + 8), f"{tick:g}", fill="black", font=font)
    for i in range(6):
        v = y_lo + (y_hi - y_lo) * i / 5
        _, y = xy(1, v)
        draw.line([left - 5, y, left, y], fill="black")
        draw.line([left, y, width - right, y], fill=(225, 225, 225))
        draw.text((left - 40, y - 6), f"{v:.2f}", fill="black", font=font)
    for label, value in references:
        _, y = xy(1, value)
        for x0 in range(left, width - right, 12):
            draw.line([x0, y, min(x0 + 6, width - right), y], fill=(90, 90, 90))
        draw.text((left + 6, y - 14), f"{label} ({value:.3f})", fill=(90, 90, 90), font=font)
    for i, (name, (vals, color)) in enumerate(series.items()):
        points = [xy(d, v) for d, v in zip(dens, vals)]
        draw.line(points, fill=color, width=2)
        for x, y in points:
            draw.ellipse([x - 4, y - 4, x + 4, y + 4], fill=color)
        draw.text((width - right - 120, top + 10 + 16 * i), name, fill=color, font=font)
    draw.text((left, 12), title, fill="black", font=font)
    draw.text(((width - 150) // 2, height - 25), "index density (log scale)", fill="black", font=font)
    img.save(path)


def parse_reference(text):
    label, _, value = text.rpartition(":")
    if not label:
        raise argparse.ArgumentTypeError(f"--reference expects 'label:value', got {text!r}")
    try:
        return label, float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--reference: {value!r} is not a number") from None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--ckpt_path", help="a finished SparCode training run (config.yaml + best.ckpt)")
    parser.add_argument("--ckpt_dir", help="deprecated name of --ckpt_path (removed in the next release)")
    parser.add_argument("--out", required=True, help="output prefix: <out>.md, <out>.json, <out>.png")
    parser.add_argument("--eval_split", default="test", choices=("test", "valid"))
    parser.add_argument("--densities", default=",".join(str(d) for d in DENSITIES))
    parser.add_argument("--reference", action="append", type=parse_reference, default=[],
                        help="'label:value' drawn as a horizontal line (e.g. the two-tower Recall@50)")
    parser.add_argument("--from_index", action="store_true", help="derive every point from the run's saved index "
                        "(exact, no g evaluation; only densities below that index's)")
    parser.add_argument("--rule", default="bias", choices=("bias", "query_weighted"),
                        help="bias: one global score bias b per density (the paper's control); query_weighted: "
                        "prune the full index by (n_c + 1)^alpha * w (config key index_density)")
    parser.add_argument("--alpha", type=float, default=0.5, help="alpha of --rule=query_weighted (>= 0)")
    parser.add_argument("--threads", type=int, default=0, help="MindSpore kernel threads (0 = its default)")
    args = parser.parse_args(argv)
    if args.ckpt_dir:
        if args.ckpt_path:
            parser.error("--ckpt_dir (deprecated) and --ckpt_path are both set; keep only --ckpt_path")
        warnings.warn("--ckpt_dir is deprecated and will be removed in the next release; use --ckpt_path",
                      FutureWarning, stacklevel=2)
        args.ckpt_path = args.ckpt_dir
    if not args.ckpt_path:
        parser.error("--ckpt_path is required (the folder of a finished SparCode training run)")
    try:
        densities = [float(d) for d in args.densities.split(",") if d.strip()]
    except ValueError:
        parser.error(f"--densities: expected comma-separated numbers, got {args.densities!r}")
    if not densities or any(not 0.0 < d <= 1.0 for d in densities):
        parser.error(f"--densities: every density must be in (0, 1], got {args.densities!r}")
    if not args.alpha >= 0.0:
        parser.error(f"--alpha: must be >= 0, got {args.alpha}")
    if args.rule == "query_weighted" and args.from_index:
        parser.error("--from_index derives the points by a larger score bias: it applies to --rule=bias only")
    from src.context import set_context
    from src.run_files import load_run_config
    cfg = load_run_config([f"--ckpt_path={args.ckpt_path}", f"--eval_split={args.eval_split}"])
    set_context(cfg)
    if args.threads > 0:
        import mindspore as ms  # pylint: disable=import-outside-toplevel
        ms.device_context.cpu.op_tuning.threads_num(args.threads)
    if args.rule == "query_weighted":
        rows = density_curve_query_weighted(cfg, densities, args.eval_split, args.alpha)
    else:
        rows = (density_curve_from_index if args.from_index else density_curve)(cfg, densities, args.eval_split)
    how = f", query-weighted pruning alpha {args.alpha:g}" if args.rule == "query_weighted" else ""
    title = (f"SparCode on {cfg.dataset} ({cfg.split_protocol} split, {args.eval_split}, {rows[0]['users']} users"
             f"{how}): quality vs index density")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out + ".json", "w", encoding="utf-8") as f:
        json.dump({"ckpt_path": os.path.abspath(args.ckpt_path), "split": args.eval_split, "rule": args.rule,
                   "rows": rows}, f, indent=1)
    with open(args.out + ".md", "w", encoding="utf-8") as f:
        f.write(markdown(rows, title))
    draw_png(rows, args.out + ".png", title, args.reference)
    print(markdown(rows, title))
    return 0


if __name__ == "__main__":
    sys.exit(main())
