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
"""The one way SparCode writes files: into a temporary file in the destination folder, then os.replace.

A reader never sees a partial file and a failed write leaves the previous file in place. Temporary files are
named `.tmp-<pid>-<n>-<file name>` (the extension stays last: MindSpore appends `.ckpt` / `.mindir` to names
without it), so files orphaned by a killed process can be recognised and removed at the next start
(`remove_orphaned_temp_files`) without touching the files of a process that is still writing.
`file_sha256` fingerprints files (raw data, exported graphs). No MindSpore import: the data code uses it too.
"""
import contextlib
import hashlib
import itertools
import os
import re
import shutil

TEMP_PREFIX = ".tmp-"
_TEMP_NAME = re.compile(r"^\.tmp-(?P<pid>\d+)-")
_counter = itertools.count()


@contextlib.contextmanager
def atomic_output_path(path):
    """Yield a temporary path next to `path` for a writer that needs a file name (ms.save_checkpoint, ms.export);
    when the block succeeds the temporary file replaces `path`, on any error (or interrupt) it is removed."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, f"{TEMP_PREFIX}{os.getpid()}-{next(_counter)}-{os.path.basename(path)}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def atomic_write(path, write, binary=True):
    """Write `path` through `write(file)` (a file object opened for bytes or UTF-8 text) atomically."""
    with atomic_output_path(path) as tmp:
        with open(tmp, "wb") if binary else open(tmp, "w", encoding="utf-8") as f:
            write(f)
    return path


def atomic_copy(src, dst):
    """Copy the file `src` to `dst` atomically."""
    with atomic_output_path(dst) as tmp:
        shutil.copyfile(src, tmp)
    return dst


def file_sha256(path):
    """sha256 hex digest of a file's bytes (read in 4 MB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def _process_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def remove_orphaned_temp_files(directory):
    """Delete the temporary files left in `directory` by killed processes; returns their names.

    A file is an orphan when the process that named it is gone, or is this process (which is not writing
    anything when it calls this at start-up)."""
    if not directory or not os.path.isdir(directory):
        return []
    removed = []
    for name in sorted(os.listdir(directory)):
        match = _TEMP_NAME.match(name)
        if not match:
            continue
        pid = int(match.group("pid"))
        if pid != os.getpid() and _process_alive(pid):
            continue
        try:
            os.remove(os.path.join(directory, name))
        except FileNotFoundError:  # removed concurrently
            continue
        removed.append(name)
    return removed
