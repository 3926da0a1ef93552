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
"""VGGSound-AVEL40K annotation reader on files generated here in the released format."""
import numpy as np
import pytest

from src.data.vggsound_avel import (VGGSoundAVELError, read_categories, read_labels_csv, segment_targets,
                                    vggsound_k_shot)

CLASSES = ["playing accordion", "dog barking", "church bell ringing"]
HEADER = "video_id,category,label,split\n"
ROWS = [
    '12,dog barking,"[0, 1, 1, 0, 0, 0, 0, 0, 0, 1]",train',
    '7,playing accordion,"[1, 1, 1, 1, 1, 1, 1, 1, 1, 1]",train',
    '345,dog barking,"[0, 0, 0, 0, 0, 0, 0, 0, 0, 0]",test',
    '99,dog barking,"[1, 0, 0, 0, 0, 0, 0, 0, 0, 0]",train',
    '8,church bell ringing,"[0, 0, 1, 1, 0, 0, 0, 0, 0, 0]",val',
]


def write(tmp_path, rows=ROWS, header=HEADER, classes=CLASSES):
    (tmp_path / "VggsoundAVEL40kCategories.txt").write_text("\n".join(classes) + "\n", encoding="utf-8")
    (tmp_path / "vggsound-avel40k_labels.csv").write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    return tmp_path / "VggsoundAVEL40kCategories.txt", tmp_path / "vggsound-avel40k_labels.csv"


def test_read_split_targets_and_k_shot(tmp_path):
    cats_path, csv_path = write(tmp_path)
    classes = read_categories(cats_path)
    train = read_labels_csv(csv_path, classes, split="train")
    assert [r.video_id for r in train] == ["000012", "000007", "000099"]
    assert len(read_labels_csv(csv_path, classes)) == 5
    target = segment_targets(train[0], classes)
    assert target.shape == (10, 4) and (target.sum(axis=1) == 1).all()
    np.testing.assert_array_equal(target[:, 1], [0, 1, 1, 0, 0, 0, 0, 0, 0, 1])
    np.testing.assert_array_equal(target[:, 3], [1, 0, 0, 1, 1, 1, 1, 1, 1, 0])       # background column last
    assert vggsound_k_shot(train, classes, 1) == [1, 0]
    assert vggsound_k_shot(train, classes, 2) == [1, 0, 2]


@pytest.mark.parametrize("row, message", [
    ('12,cat purring,"[0,0,0,0,0,0,0,0,0,0]",train', r"labels.csv:2: column 'category' 'cat purring' is not one"),
    ('x1,dog barking,"[0,0,0,0,0,0,0,0,0,0]",train', r"labels.csv:2: column 'video_id' must be an integer"),
    ('12,dog barking,"[0,0,1]",train', r"labels.csv:2: column 'label' must list 10 flags"),
    ('12,dog barking,"[0,0,0,0,0,0,0,0,0,2]",train', r"labels.csv:2: column 'label' must list 10 flags"),
    ('12,dog barking,"zero",train', r"labels.csv:2: column 'label' is not a list literal"),
])
def test_bad_rows_name_file_line_and_column(tmp_path, row, message):
    cats_path, csv_path = write(tmp_path, rows=[row])
    with pytest.raises(VGGSoundAVELError, match=message):
        read_labels_csv(csv_path, read_categories(cats_path))


def test_bad_files(tmp_path):
    cats_path, csv_path = write(tmp_path, header="video_id,category,label\n",
                                rows=['12,dog barking,"[0,0,0,0,0,0,0,0,0,0]"'])
    with pytest.raises(VGGSoundAVELError, match=r"header lacks column\(s\) \['split'\]"):
        read_labels_csv(csv_path, CLASSES)
    cats_path, csv_path = write(tmp_path)
    with pytest.raises(VGGSoundAVELError, match="no rows in split 'valid'"):
        read_labels_csv(csv_path, CLASSES, split="valid")
    (tmp_path / "dup.txt").write_text("a\na\n", encoding="utf-8")
    with pytest.raises(VGGSoundAVELError, match="unique"):
        read_categories(tmp_path / "dup.txt")
    with pytest.raises(VGGSoundAVELError, match="not found"):
        read_labels_csv(tmp_path / "missing.csv", CLASSES)
