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
"""The README's data commands, run as written: AVE preprocess.py on mp4 files in the release format."""
import numpy as np

from readme_commands import model_workdir, readme_line, run_shell
from src.data.transforms import load_wave_segments
from test_preprocess import write_h264_aac_mp4


def test_readme_preprocess_command(tmp_path):
    work = model_workdir(tmp_path)
    videos = work / "AVE_Dataset" / "AVE"
    videos.mkdir(parents=True)
    fps, rate = 5, 16000
    frames = np.full((10 * fps, 48, 64, 3), 90, np.uint8)
    tone = 0.3 * np.sin(2 * np.pi * 500 * np.arange(10 * rate) / rate)
    for video_id in ("vidA", "vidB"):
        write_h264_aac_mp4(videos / f"{video_id}.mp4", frames, fps, tone, rate)
    (work / "data" / "AVE").mkdir(parents=True)
    (work / "data" / "AVE" / "Annotations.txt").write_text(
        "Category&VideoID&Quality&StartTime&EndTime\nChurch bell&vidA&good&0&10\n")      # vidB is not annotated
    line = readme_line("python preprocess.py")
    result = run_shell(line, work)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert len(list((work / "data" / "AVE" / "frames" / "vidA").glob("*.jpg"))) == 10
    assert load_wave_segments(str(work / "data" / "AVE" / "wave" / "vidA.npy"), 10, 32000).shape[0] == 10
    assert not (work / "data" / "AVE" / "frames" / "vidB").exists()
