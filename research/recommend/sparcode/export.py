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
"""Export the serving side of a trained model as MindIR (plus, for SparCode, its index and config).

    python export.py --ckpt_path=./checkpoints [--ckpt_file=...] --file_name=export/sparcode --file_format=MINDIR

Files written for --file_name=<prefix> (the folder of <prefix> is created):
    <prefix>_query.mindir   SparCode: (user_feats int32 [B, S], hist int32 [B, L]) -> K_u flat code ids int32 [B, K_u]
                            two-tower: the same inputs -> query vector float32 [B, d]
    <prefix>_g.mindir       SparCode: (zhat float32 [C, d_t], item_tokens float32 [N, K_i, d_t]) -> index weights
                            ReLU(g([zhat; v]) + b) float32 [C, N] (what the index stores; computes codes it lacks)
    <prefix>_item.mindir    (item_ids int32 [N], item_field_values int32 [N, S_i]) -> item tokens [N, K_i, d_t]
                            (two-tower: K_i = 1, the item vectors)
    <prefix>_index.npz      SparCode: copy of the inverted index built from exactly this checkpoint (rebuilt if the
                            saved one is from other weights)
    <prefix>_config.yaml    the run's config
    <prefix>_export.json    file list, shapes, checkpoint, `model_digest` (sha256 of the checkpoint's parameters,
                            also stored in the index) and the sha256 of every file above
The batch dimension (B, C, N) of every MindIR is dynamic. infer.py serves from these files only and refuses files
that are not the ones written together here (other digest or checksum). Every file is written atomically.
"""
import os
import sys

import mindspore as ms
from mindspore import nn, ops, Tensor

from src.atomic_file import atomic_copy, atomic_output_path, file_sha256
from src.checkpoint import parameter_digest
from src.context import set_context
from src.data.dataset import build_data
from src.index_build import load_or_build_index
from src.model.factory import MODELS
from src.report import write_json
from src.run_files import export_paths, load_run_config, load_trained_model, resolve_checkpoint


class QueryCodeNet(nn.Cell):
    """Query side of SparCode: features -> K_u code ids (tokenizer + nearest codewords)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def construct(self, user_feats, hist):
        return self.model.code_ids(user_feats, hist)


class QueryVectorNet(nn.Cell):
    """Query tower of the two-tower model."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def construct(self, user_feats, hist):
        return self.model.query_vectors(user_feats, hist)


class IndexWeightNet(nn.Cell):
    """The interaction g with sparsity control: index weight of every (quantized token, item) pair."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def construct(self, zhat, item_tokens):
        raw = self.model.interaction(ops.expand_dims(zhat, 0), ops.expand_dims(item_tokens, 0))[0]   # [C, N]
        return ops.relu(raw + self.model.score_bias)


class ItemTokenNet(nn.Cell):
    """Item tokenizer from ids and side features (items unseen in training get features only)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def construct(self, item_ids, item_field_values):
        return self.model.item_tokens_from_features(item_ids, item_field_values)


def export_mindir(net, inputs, path):
    """ms.export to `path` (ends with .mindir) atomically: a kill never leaves a truncated graph behind."""
    with atomic_output_path(path) as tmp:
        ms.export(net, *inputs, file_name=tmp[:-len(".mindir")], file_format="MINDIR")


def export_model(cfg, ckpt_file, prefix):
    if cfg.file_format != "MINDIR":
        raise ValueError(f"config key file_format: only MINDIR can be exported on {cfg.device_target}")
    if not MODELS[cfg.model].exportable:
        raise ValueError(f"the {cfg.model} model has no index and no separable query side; nothing to serve")
    data = build_data(cfg)
    model = load_trained_model(cfg, data, ckpt_file)
    paths = export_paths(prefix)
    os.makedirs(os.path.dirname(os.path.abspath(prefix)), exist_ok=True)
    n_user_slots = data.user_feats(data.test.users[:1]).shape[1]
    n_item_slots = data.item_fields.values.shape[1]
    user_feats = Tensor(shape=[None, n_user_slots], dtype=ms.int32)
    hist = Tensor(shape=[None, data.history_len], dtype=ms.int32)
    item_ids = Tensor(shape=[None], dtype=ms.int32)
    item_values = Tensor(shape=[None, n_item_slots], dtype=ms.int32)
    # digest and index first: wrapping the model in the export cells below prefixes its parameter names
    digest = parameter_digest(model)
    files = {"query": paths["query"], "item": paths["item"]}
    if model.serves_from_index:
        _, index_path, _ = load_or_build_index(model, data, cfg)     # the index of exactly these weights
        atomic_copy(index_path, paths["index"])
        files.update(g=paths["g"], index=paths["index"])
    query_net = QueryCodeNet(model) if model.serves_from_index else QueryVectorNet(model)
    export_mindir(query_net, (user_feats, hist), paths["query"])
    export_mindir(ItemTokenNet(model), (item_ids, item_values), paths["item"])
    if model.serves_from_index:
        zhat = Tensor(shape=[None, int(cfg.token_dim)], dtype=ms.float32)
        tokens = Tensor(shape=[None, int(cfg.num_item_tokens), int(cfg.token_dim)], dtype=ms.float32)
        export_mindir(IndexWeightNet(model), (zhat, tokens), paths["g"])
    cfg.save(paths["config"])
    files["config"] = paths["config"]
    write_json(paths["export"], {
        "model": cfg.model, "checkpoint": os.path.abspath(ckpt_file), "files": files,
        "user_feat_slots": int(n_user_slots), "history_len": int(data.history_len),
        "item_field_slots": int(n_item_slots), "n_items": int(data.n_items),
        "score_bias": model.get_score_bias() if hasattr(model, "get_score_bias") else None,
        "model_digest": digest, "sha256": {name: file_sha256(path) for name, path in files.items()},
    })
    files["export"] = paths["export"]
    return files


def main(argv=None):
    cfg = load_run_config(sys.argv[1:] if argv is None else argv, prog="export.py")
    set_context(cfg)
    ckpt_file = resolve_checkpoint(cfg)
    prefix = cfg.file_name
    files = export_model(cfg, ckpt_file, prefix)
    for name, path in files.items():
        print(f"{name:>7}: {path} ({os.path.getsize(path)} bytes)")
    return files


if __name__ == "__main__":
    main()
