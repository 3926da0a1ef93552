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
"""Every file or folder DG-SCT writes goes through here: built under a temporary name beside its destination, then
moved into place with one os.replace. A reader never sees half a checkpoint, a failed write (disk full, an
exception, Ctrl-C) leaves the previous file untouched and removes the temporary one.

Temporary names are `.tmp-<pid>.<destination name>`: the extension stays last because ms.save_checkpoint and np.save
append theirs to names that do not end with it. No MindSpore import: the data code uses it too.
"""
import contextlib
import os
import shutil


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        os.remove(path)


@contextlib.contextmanager
def atomic_output(path):
    """Yield a temporary name next to `path` (a file, or a folder the block creates); if the block succeeds it
    replaces `path` (an existing folder at `path` is removed first), otherwise it is deleted."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".tmp-{os.getpid()}.{os.path.basename(path)}")
    _remove(tmp)                                 # left by a killed run of the same pid
    try:
        yield tmp
        if os.path.isdir(tmp) and os.path.isdir(path):
            shutil.rmtree(path)                  # os.replace cannot overwrite a non-empty folder
        os.replace(tmp, path)
    finally:
        _remove(tmp)


def write_text(path, text):
    """Write a UTF-8 text file atomically; returns `path`."""
    with atomic_output(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
    return path
