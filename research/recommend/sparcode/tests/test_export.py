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
"""export.py -> MindIR -> nn.GraphCell gives the model's outputs, and infer.py reproduces eval.py's metrics."""
import json

import numpy as np
import mindspore as ms
import pytest
from mindspore import nn, Tensor

import eval as eval_entry
import export as export_entry
import infer as infer_entry
from src.config import ConfigError, load_config
from src.data.dataset import build_data
from src.evaluation import split_inputs
from src.run_files import load_trained_model


def _graph(path):
    return nn.GraphCell(ms.load(path))


@pytest.fixture(scope="module")
def sparcode_export(tiny_sparcode_run, tmp_path_factory):
    prefix = str(tmp_path_factory.mktemp("export") / "sparcode")
    files = export_entry.main([f"--ckpt_path={tiny_sparcode_run['ckpt_dir']}", f"--file_name={prefix}"])
    return prefix, files


def test_exported_graphs_reproduce_the_model(tiny_sparcode_run, sparcode_export):
    prefix, files = sparcode_export
    assert set(files) == {"query", "item", "g", "index", "config", "export"}
    cfg = load_config(files["config"])
    data = build_data(cfg)
    model = load_trained_model(cfg, data, f"{tiny_sparcode_run['ckpt_dir']}/best.ckpt")
    feats, hist, _ = split_inputs(data, "test")
    for batch in (1, 7, len(feats)):                     # dynamic batch dimension
        codes = _graph(files["query"])(Tensor(feats[:batch]), Tensor(hist[:batch])).asnumpy()
        np.testing.assert_array_equal(codes, model.code_ids(Tensor(feats[:batch]), Tensor(hist[:batch])).asnumpy())
    item_ids = np.arange(1, data.n_items + 1, dtype=np.int32)
    tokens = _graph(files["item"])(Tensor(item_ids), Tensor(data.item_fields.values[1:])).asnumpy()
    np.testing.assert_array_equal(tokens, model.item_tokens(Tensor(item_ids)).asnumpy())
    code_ids = np.unique(codes)[:5].astype(np.int32)
    zhat = model.quantizer.lookup(model.decode_code_ids(code_ids)).asnumpy()
    weights = _graph(files["g"])(Tensor(zhat), Tensor(tokens)).asnumpy()
    expected = model.token_scores_for_codes(code_ids, item_ids).asnumpy()
    np.testing.assert_allclose(weights, expected, rtol=0, atol=1e-6)


def test_infer_reproduces_eval_metrics_exactly(tiny_sparcode_run, sparcode_export, tmp_path):
    prefix, _ = sparcode_export
    evaluated = eval_entry.main([f"--ckpt_path={tiny_sparcode_run['ckpt_dir']}",
                                 f"--metrics_file={tmp_path / 'eval.json'}"])
    served = infer_entry.main([f"--file_name={prefix}", f"--metrics_file={tmp_path / 'infer.json'}"])
    assert served["metrics"] == evaluated["metrics"]
    assert served["codes_added_on_the_fly"] == 0
    with open(tmp_path / "infer.json", encoding="utf-8") as f:
        assert json.load(f)["metrics"] == evaluated["metrics"]


def test_two_tower_export_and_infer(tiny_two_tower_run, tmp_path):
    prefix = str(tmp_path / "two_tower")
    files = export_entry.main([f"--ckpt_path={tiny_two_tower_run['ckpt_dir']}", f"--file_name={prefix}"])
    assert "index" not in files and "g" not in files
    evaluated = eval_entry.main([f"--ckpt_path={tiny_two_tower_run['ckpt_dir']}"])
    served = infer_entry.main([f"--file_name={prefix}"])
    assert served["metrics"] == evaluated["metrics"]


def test_infer_without_export_names_the_missing_file(tmp_path):
    with pytest.raises((ConfigError, FileNotFoundError), match="not found"):
        infer_entry.main([f"--file_name={tmp_path / 'nothing'}"])
