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
"""Extension points of SparCode: the interaction-network registry and its capabilities, and the model hooks the
entry points use instead of testing the model name."""
import numpy as np
import pytest
from mindspore import nn, ops, Tensor

from src.config import CHOICES
from src.model.factory import MODELS
from src.model.interaction import INTERACTIONS, build_interaction, register_interaction


def test_every_configurable_interaction_is_registered_with_its_capabilities():
    assert sorted(CHOICES["interaction"]) == sorted(INTERACTIONS)
    assert {name: cls.factorised_first_layer for name, cls in INTERACTIONS.items()} == \
        {"mlp": True, "mlp_dot": False, "self_attention": False}
    for name in INTERACTIONS:
        net = build_interaction(name, 8, 2, [16, 12], 0.0, 1, 1)
        assert net.activation_width > 0
        q, v = Tensor(np.ones((3, 2, 8), np.float32)), Tensor(np.ones((1, 5, 2, 8), np.float32))
        assert net(q, v).shape == (3, 2, 5)


def test_factorised_first_layer_parts_equal_the_network():
    """What factorised_first_layer promises the index builder: tail(query_part + item_part) == the network."""
    net = build_interaction("mlp", 8, 2, [16, 12], 0.0, 1, 1)
    net.set_train(False)
    rng = np.random.default_rng(0)
    q = Tensor(rng.standard_normal((4, 8)).astype(np.float32))
    v = Tensor(rng.standard_normal((4, 2, 8)).astype(np.float32))
    parts = net.tail(net.query_part(q) + net.item_part(v)).asnumpy()
    np.testing.assert_allclose(parts, net.pair_scores(q, v).asnumpy(), rtol=1e-5, atol=1e-6)


def test_a_new_interaction_registers_by_name_and_unknown_names_are_refused():
    @register_interaction("test_dot")
    class DotInteraction(nn.Cell):
        factorised_first_layer = False

        def __init__(self, token_dim):
            super().__init__()
            self.activation_width = token_dim

        @classmethod
        def build(cls, token_dim, num_item_tokens, opts):
            return cls(token_dim)

        def construct(self, q, v):
            return (ops.expand_dims(q, 2) * ops.expand_dims(v.mean(-2), 1)).sum(-1)
    try:
        net = build_interaction("test_dot", 4, 2, [8], 0.0, 1, 1)
        q, v = Tensor(np.ones((1, 3, 4), np.float32)), Tensor(np.full((1, 2, 2, 4), 2.0, np.float32))
        np.testing.assert_allclose(net(q, v).asnumpy(), np.full((1, 3, 2), 8.0))
    finally:
        del INTERACTIONS["test_dot"]
    with pytest.raises(ValueError, match="interaction must be one of"):
        build_interaction("test_dot", 4, 2, [8], 0.0, 1, 1)


def test_model_hooks_replace_model_name_tests():
    assert MODELS["sparcode"].serves_from_index and MODELS["sparcode"].exportable
    assert not MODELS["two_tower"].serves_from_index and MODELS["two_tower"].exportable
    assert not MODELS["all_to_all"].serves_from_index and not MODELS["all_to_all"].exportable
