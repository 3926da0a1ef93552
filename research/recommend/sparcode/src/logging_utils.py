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
"""Logging helpers: a rank-aware logger and a step logger with throughput and ETA."""
import logging
import sys
import time


def get_logger(name="sparcode", rank_id=0, level=logging.INFO):
    """Logger writing to stdout; ranks other than 0 only report warnings and errors."""
    logger = logging.getLogger(f"{name}.rank{rank_id}")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stdout)
        prefix = "" if rank_id == 0 else f"[rank {rank_id}] "
        handler.setFormatter(logging.Formatter(f"%(asctime)s {prefix}%(levelname)s %(message)s", "%H:%M:%S"))
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(level if rank_id == 0 else logging.WARNING)
    return logger


def format_seconds(seconds):
    seconds = int(max(seconds, 0))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:d}:{minutes:02d}:{secs:02d}"


class StepLogger:
    """Logs loss parts, learning rate, samples/s and ETA every `log_every` steps.

    Throughput is measured over the steps since the previous log line, so the first
    line (which includes graph compilation) does not distort later ones.
    """

    def __init__(self, logger, total_steps, global_batch, log_every, start_step=0):
        self.logger = logger
        self.total_steps = total_steps
        self.global_batch = global_batch
        self.log_every = max(int(log_every), 1)
        self.last_step = start_step
        self.last_time = time.time()
        self.recent_rate = None

    def reset_clock(self, step):
        """Restart the throughput window (call after validation so it is not counted as training time)."""
        self.last_step, self.last_time = step, time.time()

    def step(self, step, epoch, losses, lr):
        """`step` is the global 1-based step just finished; `losses` maps name -> float."""
        if step % self.log_every and step != self.total_steps:
            return False
        now = time.time()
        elapsed = max(now - self.last_time, 1e-9)
        steps_done = step - self.last_step
        samples_per_s = steps_done * self.global_batch / elapsed
        self.recent_rate = steps_done / elapsed
        eta = (self.total_steps - step) / max(self.recent_rate, 1e-9)
        parts = " ".join(f"{k}={v:.5f}" for k, v in losses.items())
        self.logger.info("epoch %d step %d/%d %s lr=%.3g samples/s=%.1f eta=%s",
                         epoch, step, self.total_steps, parts, lr, samples_per_s, format_seconds(eta))
        self.last_step, self.last_time = step, now
        return True
