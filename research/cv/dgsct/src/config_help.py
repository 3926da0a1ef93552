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
"""`--help` text of train.py / eval.py / export.py: every config key with its type, default and meaning.

The schema is the dataclasses of src/config.py (sections) and the per-task dataclasses of the task registry
(`head`, and any other schema a task declares); the meaning of a key is the comment on its line in the source, so
the help cannot drift from the code.
"""
import dataclasses
import inspect
import typing
import re

_FIELD_LINE = re.compile(r"^\s+(\w+)\s*:[^=#]*(?:=[^#]*)?(?:#\s?(.*))?$")


def _comments(cls):
    """field name -> the comment on its line in the class body ('' when none)."""
    comments = {}
    for klass in cls.__mro__:                    # a subclass's comment first, then its bases' (inherited fields)
        if not dataclasses.is_dataclass(klass):
            continue
        for line in inspect.getsource(klass).splitlines():
            match = _FIELD_LINE.match(line)
            if match:
                comments.setdefault(match.group(1), (match.group(2) or "").strip())
    return comments


def _type_name(kind):
    return kind if isinstance(kind, str) else getattr(kind, "__name__", str(kind))


def _default(field):
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return "(required)"


def schema_lines(cls, prefix="", skip=()):
    """One help line per leaf key of the dataclass `cls`, nested dataclasses flattened as section.key; `skip`: keys
    that are not configuration (head keys the task derives)."""
    lines, comments = [], _comments(cls)
    for field in dataclasses.fields(cls):
        if field.name in skip:
            continue
        default = _default(field)
        if dataclasses.is_dataclass(default):
            lines += schema_lines(type(default), f"{prefix}{field.name}.")
            continue
        if default is None and field.type is typing.Any:    # a section whose schema depends on the task
            lines.append(f"  --{prefix + field.name + '.*':<32} the task's schema, listed per task below")
            continue
        shown = "''" if default == "" else default
        lines.append(f"  --{prefix + field.name:<32} {_type_name(field.type)}, default {shown}"
                     + (f"\n      {comments[field.name]}" if comments.get(field.name) else ""))
    return lines


def config_help():
    """Help text: the generic sections, then the schemas each registered task adds (e.g. its `head` keys)."""
    from .config import Config
    from .tasks import TASKS
    lines = ["config keys (yaml sections of --config_path, or --section.key=value on the command line):"]
    lines += schema_lines(Config)
    for name, task in sorted(TASKS.items()):
        for section, schema in (("head", task.head_schema), ("data.options", task.data_schema)):
            if dataclasses.fields(schema):
                lines.append(f"task {name}: {section} keys ({schema.__name__})")
                lines += schema_lines(schema, f"{section}.", task.derived_head_keys if section == "head" else ())
    return "\n".join(lines)
