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
"""Raw MovieLens files (or the synthetic generator) -> processed dataset folder (arrays.npz + meta.json).

python preprocess.py --config_path=configs/ml100k.yaml --data_path=/path/to/ml-100k --processed_path=./data/ml100k
python preprocess.py --config_path=configs/synthetic_s2.yaml --processed_path=./data/synthetic_s2
Any config key can be overridden with --key=value. Prints the dataset statistics and every drop count; for
synthetic data also the oracle metrics and the Eckart-Young rank certificate for two-tower widths d.
"""
import logging
import sys
import time

import numpy as np

from src.config import ConfigError, parse_cli
from src.data.dataset import DataError, build_data
from src.metrics import evaluate_topk, format_table

CERTIFICATE_DIMS = (8, 16, 32, 64, 128)


def describe(data):
    """Human-readable statistics of a RecData (list of lines)."""
    lines = [f"dataset {data.name}: {data.n_users} users, {data.n_items} items, history length {data.history_len}",
             f"  train: {len(data.train_pos)} examples from {len(np.unique(data.train_users))} users"]
    for name in ("valid", "test"):
        split = data.split(name)
        n_targets = np.diff(split.target_indptr)
        n_hist = (split.hist > 0).sum(axis=1)
        lines.append(f"  {name}: {len(split)} users, targets per user mean {n_targets.mean():.1f} "
                     f"(min {n_targets.min()}, max {n_targets.max()}), non-padding history mean {n_hist.mean():.1f}")
    lines.append(f"  item fields {data.item_fields.field_names} vocab {data.item_fields.field_vocab}, "
                 f"{data.item_fields.values.shape[1]} slots")
    if data.user_fields is not None:
        lines.append(f"  user fields {data.user_fields.field_names} vocab {data.user_fields.field_vocab}")
    for key, value in data.meta.get("stats", {}).items():
        lines.append(f"  stat {key}: {value}")
    for key, value in data.meta.get("dropped", {}).items():
        lines.append(f"  count {key}: {value}")
    return lines


def describe_synthetic(data, ks):
    """Oracle metrics and the rank certificate of a SAFI dataset (list of lines)."""
    from src.data.synthetic import oracle_topk, rank_certificate
    lines = [f"  SAFI beta {data.meta['beta']:.4f}, field-impact density {data.meta['field_impact_density']:.3f}, "
             f"utility density {data.meta['utility_density']:.3f}"]
    for name in ("test", "valid"):
        split = data.split(name)
        metrics = evaluate_topk(oracle_topk(data, name, max(ks)), split.target_indptr, split.target_items, ks)
        lines.append(f"  oracle ({name}): recall@50 {metrics.get('recall@50', float('nan')):.4f}")
        lines.extend("    " + row for row in format_table(metrics, ks).splitlines())
    cert = rank_certificate(data, CERTIFICATE_DIMS)
    lines.append(f"  rank certificate: numerical rank(R) = {cert['rank']}, ||R/tau||_F^2 = {cert['energy']:.1f}")
    for d in CERTIFICATE_DIMS:
        verdict = "  (misspecified)" if cert["tail"][d] > 1e-9 else ""
        lines.append(f"    two-tower d={d:<4d} ||S - (R/tau + c1^T)||_F^2 >= {cert['tail'][d]:.2f} "
                     f"({100 * cert['tail_frac'][d]:.2f}% of the energy){verdict}")
    return lines


def main(argv=None):
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        cfg = parse_cli(argv, prog="preprocess.py")
        if not cfg.processed_path:
            raise ConfigError("command line: key 'processed_path' must be set (output folder)")
        start = time.time()
        data = build_data(cfg, reuse_processed=False)
        data.save(cfg.processed_path)
    except (ConfigError, DataError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print("\n".join(describe(data)))
    if cfg.dataset == "synthetic":
        print("\n".join(describe_synthetic(data, tuple(cfg.topk))))
    print(f"saved to {cfg.processed_path} in {time.time() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
