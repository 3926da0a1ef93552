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
"""Task registry: task name -> its `Task` class (src/tasks/base.py states the contract).

Adding a task (few-shot, ...) = one module in this package defining a `Task` subclass + one entry in `TASKS`;
train.py / eval.py / export.py / infer.py stay generic.
"""
from .ave import AVETask
from .avqa import AVQATask
from .avqa_grounding import AVQAGroundingTask
from .avs import AVSMS3Task, AVSS4Task
from .avvp import AVVPTask
from .base import Task, example_training_batch
from .fewshot import FewShotTask

TASKS = {task.name: task for task in (
    AVETask,
    AVSS4Task,
    AVSMS3Task,
    AVVPTask,
    AVQATask,
    AVQAGroundingTask,
    FewShotTask,
)}


def get_task(name, source="config"):
    """The Task class registered as `name`; `source` names the config in the error."""
    if name not in TASKS:
        raise ValueError(f"{source}: unknown task {name!r} (registered: {sorted(TASKS)})")
    return TASKS[name]


def bind_task(cfg):
    """The task object of a loaded config (its hooks build the network, data, loss and metric of that config)."""
    return get_task(cfg.task)(cfg)


__all__ = ["TASKS", "Task", "bind_task", "example_training_batch", "get_task"]
