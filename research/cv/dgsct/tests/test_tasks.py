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
"""The task contract (src/tasks/base.py): every registered task implements the hooks, declares its schemas, and names
its network outputs in the order its loss takes them (the metric reads outputs by these names)."""
import inspect
from pathlib import Path

import pytest

from src.config import load_config
from src.tasks import TASKS, Task, bind_task, get_task

MODEL_DIR = Path(__file__).resolve().parents[1]
HOOKS = ("build_network", "build_loss", "build_data", "build_metric", "example_labels")


@pytest.mark.parametrize("name", sorted(TASKS))
def test_every_task_implements_the_contract(name):
    task_cls = get_task(name)
    assert issubclass(task_cls, Task) and task_cls.name == name
    assert all(getattr(task_cls, hook) is not getattr(Task, hook) for hook in HOOKS), name
    assert task_cls.head_schema is not None and task_cls.data_schema is not None
    assert task_cls.output_names and task_cls.loss_names and task_cls.input_columns and task_cls.label_columns


def tiny_config(name):
    """configs/tiny/<task>.yaml, or the first tiny config of the task (the few-shot task: fewshot_ave.yaml)."""
    path = MODEL_DIR / "configs" / "tiny" / f"{name}.yaml"
    if path.is_file():
        return path
    for path in sorted((MODEL_DIR / "configs" / "tiny").glob("*.yaml")):
        if load_config(path).task == name:
            return path
    raise AssertionError(f"no tiny config of task {name!r}")


@pytest.mark.parametrize("name", sorted(TASKS))
def test_output_names_follow_the_loss_signature(name):
    """The loss Cell is called with (*outputs, *labels): its leading parameters are the named outputs."""
    task = bind_task(load_config(tiny_config(name)))
    params = [p.name for p in inspect.signature(task.build_loss().construct).parameters.values()
              if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert params[:len(task.output_names)] == list(task.output_names)


def test_unknown_task_names_the_registered_ones():
    with pytest.raises(ValueError, match=r"x\.yaml: unknown task 'zeroshot' \(registered: \['ave', "):
        get_task("zeroshot", "x.yaml")
