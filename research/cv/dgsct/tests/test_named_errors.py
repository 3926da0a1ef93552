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
"""Bad inputs and faults give named errors: zero batch / epochs, input sizes the backbones were not built for,
an unreadable frame inside the data pipeline, a failed checkpoint write, a diverging last update."""
from pathlib import Path

import numpy as np
import pytest
import mindspore as ms
from mindspore import nn

import eval as eval_script
from src.checkpoint import TrainProgress, save_training_checkpoint
from src.config import ConfigError, TrainConfig, load_config
from src.data.ave import build_ave_dataset
from src.data.synthetic import generate
from src.data.transforms import DataError
from src.trainer import GradNet, Trainer, check_finite_parameters, named_data_errors

TINY = Path(__file__).resolve().parents[1] / "configs" / "tiny" / "ave.yaml"


@pytest.mark.parametrize("override, message", [
    ("--train.batch_size=0", "key 'train.batch_size' must be >= 1, got 0"),
    ("--eval.batch_size=0", "key 'eval.batch_size' must be >= 1"),
    ("--export.batch_size=-1", "key 'export.batch_size' must be >= 1"),
    ("--train.epochs=0", "key 'train.epochs' must be >= 1, got 0"),
    ("--data.image_size=64", "key 'data.image_size' is 64 but the swin backbone is built for img_size=32"),
    ("--data.clip_samples=8000", "key 'data.clip_samples' is 8000 but the htsat backbone is built for"),
])
def test_config_values_are_named(override, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_config(TINY, [override])


def test_avs_frames_may_differ_from_the_swin_size():
    cfg = load_config(TINY.parent / "avs_s4.yaml", ["--data.image_size=64"])     # AVS resizes frames itself
    assert cfg.data.image_size == 64


def test_a_corrupt_frame_is_named_not_buried_in_the_pipeline_trace(tmp_path):
    generate(tmp_path, num_videos=6, num_classes=2, rate=8000, frames_per_video=10, frame_size=32)
    cfg = load_config(TINY, [f"--data.root={tmp_path}", "--data.num_workers=2"])
    dataset, source = build_ave_dataset(cfg.data, "train", 2, False)
    bad = tmp_path / "frames" / source.records[1].video_id / "00000005.jpg"
    bad.write_bytes(b"not a jpeg")
    with pytest.raises(DataError, match=rf"{bad}: cannot decode frame") as info:
        for _ in named_data_errors(dataset.create_tuple_iterator(num_epochs=1)):
            pass
    assert "C++" not in str(info.value) and "Traceback" not in str(info.value)


def test_failed_checkpoint_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    def half_written(entries, path, **kwargs):
        Path(path).write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ms, "save_checkpoint", half_written)
    cfg = load_config(TINY)
    with pytest.raises(OSError, match="No space left"):
        save_training_checkpoint(tmp_path / "last.ckpt", nn.Dense(2, 1), None, cfg, TrainProgress(1, 1))
    assert list(tmp_path.iterdir()) == []


class _SquareLoss(nn.Cell):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def construct(self, x):
        loss = (self.net(x) ** 2).mean()
        return loss, loss


def test_a_diverging_last_update_is_refused(pynative):
    import mindspore.dataset as ds
    net = nn.Dense(3, 1)
    optimizer = nn.Adam(net.trainable_params(), learning_rate=1e30)
    trainer = Trainer(GradNet(_SquareLoss(net), optimizer.parameters), optimizer,
                      TrainConfig(epochs=1, lr=1e30, accum_itr=1, log_every=0), ("part",), log=lambda *a: None)
    data = ds.NumpySlicesDataset({"x": np.ones((2, 3), np.float32)}, shuffle=False).batch(2)
    with pytest.raises(FloatingPointError, match="after the last update .*diverged"):
        trainer.train_epoch(data, 0, 1, 2)        # one batch: its loss was finite before the (only) update


def test_non_finite_weights_are_never_saved():
    net = nn.Dense(2, 1)
    net.bias.set_data(ms.Tensor([np.inf], ms.float32))
    with pytest.raises(FloatingPointError, match="parameter bias has non-finite values"):
        check_finite_parameters(net, "epoch 3")


def test_plot_is_refused_for_tasks_without_figures():
    with pytest.raises(SystemExit, match=r"--plot is available for the tasks \['ave', 'avs_ms3', 'avs_s4'\], not for task 'avvp'"):
        eval_script.main([f"--config_path={TINY.parent / 'avvp.yaml'}", "--ckpt_file=x.ckpt", "--plot=plots"])
