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
"""Device and execution mode of an entry point (train.py, eval.py, export.py, infer.py, benchmarks)."""
import mindspore as ms


def set_context(cfg):
    """Device and execution mode from the config (GRAPH_MODE by default)."""
    try:
        ms.set_device(cfg.device_target)
    except RuntimeError:
        # The runtime is already running (e.g. several entry points called in one process): fine if it runs on
        # the requested device, an error otherwise.
        if ms.get_context("device_target") != cfg.device_target:
            raise
    ms.set_context(mode=ms.GRAPH_MODE if cfg.mode == "GRAPH" else ms.PYNATIVE_MODE)
