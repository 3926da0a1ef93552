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
"""The text side of a LAION-CLAP checkpoint as a `convert_weights.py map` kind (`clap_text`): the rules, buffers and
target of src/convert/clap_table.py, with the audio side reported as ignored."""
from .clap_table import AUDIO_SIDE, TEXT_BUFFERS, TEXT_RULES, build_text_target

RULES = TEXT_RULES
BUFFERS = TEXT_BUFFERS
IGNORE = AUDIO_SIDE          # the checkpoint's other half (convert_weights.py adds these to --ignore)


def build_target(source=None, config=None):
    """CLAPTextEncoder: ``config`` ``base`` (default, roberta-base) or ``tiny``."""
    return build_text_target(source, config)
