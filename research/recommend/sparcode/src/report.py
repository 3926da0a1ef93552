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
"""Reporting results: the metrics table on stdout and an atomic JSON file."""
import json

from src.atomic_file import atomic_write


def write_json(path, payload):
    """Atomic JSON write."""
    atomic_write(path, lambda f: json.dump(payload, f, indent=2, sort_keys=True), binary=False)


def report(result, cfg, title):
    """Print the metrics table (+ index statistics) and write the JSON to cfg.metrics_file if set."""
    from src.metrics import format_table
    print(f"{title} ({cfg.eval_split}, {result['n_queries']} queries, {result['retrieval']})")
    print(format_table(result["metrics"], tuple(cfg.topk)))
    if "index" in result:
        print("index:", ", ".join(f"{k}={v}" for k, v in result["index"].items()))
    if cfg.metrics_file:
        write_json(cfg.metrics_file, result)
        print(f"metrics written to {cfg.metrics_file}")
