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
"""The task contract: the few hooks every DG-SCT task provides to train.py, eval.py, export.py and infer.py.

A task is one `Task` subclass in one module of this package, registered by one line in `src/tasks/__init__.py`.
A task object is bound to one loaded config: `Task(cfg)`. Its `derived` values come from `prepare(cfg)`, run once
on first use: the values derived from the data or the backbones (the AVQA vocabulary, the head input widths), returned
instead of written into the config. The hooks are argument-free where the config decides everything:

    build_network()                       -> Cell called with the `input_columns`, returning `output_names` in order
    build_loss()                          -> Cell(*outputs, *label columns) -> (total, *loss_names)
    freeze(net)                           -> (trainable, total) after setting requires_grad (default: backbones)
    start_epoch(epoch)                    -> None; before each training epoch (epoch-dependent loss weights)
    build_data(split, batch, training, rank, group_size) -> (mindspore dataset, source); checks data vs config
    build_metric()                        -> object with update(outputs, batch) and result()
    example_inputs(batch) / example_labels(batch) -> valid numpy arrays of one batch (export, benchmarks)
    plot(source, records, out_dir, max_videos) -> PNG paths   (optional; None = eval.py --plot is refused)

`update(outputs, batch)` receives dicts of numpy arrays: network outputs by `output_names`, dataset columns by
`input_columns + label_columns`; it may return per-sample predictions, which `evaluate` keeps for `plot`.
"""
import numpy as np
import mindspore as ms

from ..config import ConfigError

_NOT_PREPARED = object()


class Task:
    """Base of every task; subclasses set the class attributes and implement the hooks."""

    name = ""
    head_schema = None                          # dataclass of the `head:` yaml section
    data_schema = None                          # dataclass of the `data.options:` yaml section
    derived_head_keys = ()                      # head_schema fields `prepare` derives (never set in a yaml)
    compat_flags = ()                           # `compat:` switches the task honours (besides the trainer's)
    input_columns = ("frames", "waves")         # dataset columns fed to the network, in order
    label_columns = ("labels",)                 # dataset columns fed to the loss after the network outputs
    output_names = ()                           # network outputs, in order (the metric reads them by name)
    loss_names = ()                             # loss parts after the total
    select_metric = "accuracy"                  # metric result key that selects the best checkpoint
    resizes_frames = False                      # the network resizes data.image_size frames to the Swin size
    plot = None                                 # optional method (source, records, out_dir, max_videos) -> paths
    plot_max_videos = 0                         # videos eval.py --plot draws by default (0 = all)
    image_backbone = "swin"                     # "swin": data.image_size is checked against model.swin_*

    def __init__(self, cfg):
        self.cfg = cfg
        self._derived = _NOT_PREPARED

    @property
    def derived(self):
        """prepare(cfg), computed on first use (building an example batch or checking a config needs no data)."""
        if self._derived is _NOT_PREPARED:
            self._derived = self.prepare(self.cfg)
        return self._derived

    @classmethod
    def prepare(cls, cfg):
        """Values derived from the data / backbones that the network and the data builders share; no config writes."""
        return None

    def build_network(self):
        raise NotImplementedError(f"task {self.name}: build_network")

    def build_loss(self):
        raise NotImplementedError(f"task {self.name}: build_loss")

    def freeze(self, net):
        """Set requires_grad of the built network as the official training script does; returns (trainable, total).
        Default: the frozen Swin-V2 / HTS-AT backbones of `net.encoder`."""
        from ..dgsct.encoder import freeze_backbones
        return freeze_backbones(net.encoder, self.cfg.model.train_swin_norm, self.cfg.model.train_htsat)

    def start_epoch(self, epoch):
        """Called by the trainer before training epoch `epoch` (0-based); default: nothing."""

    def build_data(self, split, batch_size, training, rank=0, group_size=1):
        raise NotImplementedError(f"task {self.name}: build_data")

    def build_metric(self):
        raise NotImplementedError(f"task {self.name}: build_metric")

    def example_inputs(self, batch):
        """Network inputs of an exported graph: frames [B, T, 3, S, S] and waves [B, T, L] (zeros)."""
        data = self.cfg.data
        frames = np.zeros((batch, data.num_segments, 3, data.image_size, data.image_size), np.float32)
        waves = np.zeros((batch, data.num_segments, data.clip_samples), np.float32)
        return ms.Tensor(frames), ms.Tensor(waves)

    def example_labels(self, batch):
        raise NotImplementedError(f"task {self.name}: example_labels")


class MetricOnNamedOutputs:
    """Base of the task metrics: holds the numeric meter of src/metrics and forwards `result()` to it; subclasses
    implement `update(outputs, batch)` by picking the named arrays the meter needs."""

    def __init__(self, meter):
        self.meter = meter

    def result(self):
        return self.meter.result()


def check_class_count(source, configured, key, where):
    """The data's class list must match the head's class count (else a label/shape error deep in the graph)."""
    if len(source.classes) != configured:
        raise ConfigError(f"{where}: the data has {len(source.classes)} classes but {key} is {configured}")


def example_training_batch(task, batch, rng):
    """Inputs (in `task.input_columns` order) and labels of one training batch of the config's shapes: random
    frames/waves/features, integer inputs kept, mixup weights 1 (no mixing), valid labels. For benchmarks."""
    inputs = [x.asnumpy() for x in task.example_inputs(batch)]
    inputs = [rng.standard_normal(x.shape).astype(x.dtype) * 0.1 if x.dtype == np.float32 else x for x in inputs]
    if "mixup_lambda" in task.input_columns[len(inputs):]:
        # one weight per backbone sample: the waves of a sample ([B, T, L] -> T; a grounding sample's [B, L] -> 1)
        waves = next(x for x, name in zip(inputs, task.input_columns) if name.startswith("wave"))
        inputs.append(np.ones((batch, int(np.prod(waves.shape[1:-1]))), np.float32))
    if len(inputs) != len(task.input_columns):
        raise ValueError(f"task {task.name}: example inputs give {len(inputs)} columns, expected "
                         f"{task.input_columns}")
    return tuple(ms.Tensor(x) for x in inputs), tuple(ms.Tensor(y) for y in task.example_labels(batch))
