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
"""Train SparCode / two-tower / all-to-all.

    python train.py --config_path=configs/synthetic_s2.yaml [--key=value ...] [--resume]
    msrun --worker_num=2 --local_worker_num=2 --master_port=8118 --log_dir=./log --join=True \
        train.py --config_path=configs/synthetic_s2.yaml

Writes to ckpt_path: per-epoch checkpoints (model + optimizer + EMA buffers + score bias + loop state), best.ckpt
(best valid Recall@50), config.yaml, train_history.json and, for SparCode, the inverted index (index_path, default
<ckpt_path>/index.npz) built from the best checkpoint over the codes used by the train + valid + test users.
"""
import os
import sys
import time

import numpy as np
import mindspore as ms

from src.checkpoint import parameter_digest, warm_start_from
from src.config import parse_cli
from src.context import set_context
from src.data.dataset import build_data
from src.evaluation import make_validation_fn
from src.index_build import build_and_save_index
from src.logging_utils import format_seconds, get_logger
from src.model.factory import build_model
from src.trainer import Trainer, init_distributed


def cli_args(argv):
    """Accept a bare `--resume` flag as `--resume=true`."""
    return ["--resume=true" if arg == "--resume" else arg for arg in argv]


def main(argv=None):
    cfg = parse_cli(cli_args(sys.argv[1:] if argv is None else argv))
    set_context(cfg)
    rank_id, rank_size = init_distributed()          # side effects only after this line (msrun scheduler)
    ms.set_seed(int(cfg.seed))
    logger = get_logger(rank_id=rank_id)
    start = time.time()
    data = build_data(cfg)
    model = build_model(cfg, data.model_meta())
    if rank_id == 0:
        os.makedirs(cfg.ckpt_path, exist_ok=True)
        cfg.save(os.path.join(cfg.ckpt_path, "config.yaml"))
    logger.info("%s on %s: %d users, %d items, %d train examples, %d rank(s), %d trainable parameters",
                cfg.model, data.name, data.n_users, data.n_items, len(data.train_pos), rank_size,
                sum(int(np.prod(p.shape)) for p in model.trainable_params()))
    if cfg.init_ckpt and not cfg.resume:
        loaded, skipped = warm_start_from(cfg.init_ckpt, model)
        logger.info("warm start from %s: %d parameters loaded (%s), %d kept at their init (%s)", cfg.init_ckpt,
                    len(loaded), ", ".join(loaded), len(skipped), ", ".join(skipped))
    trainer = Trainer(cfg, data, model, evaluate_fn=make_validation_fn(cfg, data), rank_id=rank_id,
                      rank_size=rank_size, logger=logger)
    state = trainer.fit(resume=bool(cfg.resume))
    if rank_size > 1:   # every rank reports, so a launcher/test can check that the replicas did not drift apart
        print(f"rank {rank_id}/{rank_size} final parameter digest {parameter_digest(model)}", flush=True)
    if rank_id == 0:
        best = trainer.load_best()
        logger.info("best epoch %d (valid %s %.4f), weights from %s", state["best_epoch"], cfg.early_stop_metric,
                    state["best_metric"], best)
        if model.serves_from_index:
            build_and_save_index(model, data, cfg, logger)
        logger.info("total wall time %s", format_seconds(time.time() - start))
    return state


if __name__ == "__main__":
    main()
