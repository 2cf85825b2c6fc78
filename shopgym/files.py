"""Files: writing so that a reader (or a run killed mid-write) never sees a partial file, and reading YAML that
may come from anyone.

:func:`read_yaml` is the one way shopgym reads YAML (scenarios, configs, hyperparameters). It reads regular files
only, at most :data:`MAX_YAML_BYTES`, decodes UTF-8, safe-loads with bounded nesting and bounded alias expansion
(a few hundred bytes of nested aliases otherwise stand for billions of values), and reports every problem as a
one-line :class:`~shopgym.params.ParameterError` that names the file.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.nodes import MappingNode, Node, ScalarNode

from shopgym.params import ParameterError, clip

__all__ = ["MAX_YAML_ALIAS_SIZE", "MAX_YAML_BYTES", "MAX_YAML_DEPTH", "read_yaml", "write_atomic"]

#: Largest YAML file read: configs and scenarios are a few KiB, and PyYAML parses about 10 s per MiB here.
MAX_YAML_BYTES = 256 << 10
#: Deepest nesting of collections in a YAML file.
MAX_YAML_DEPTH = 50
#: What all aliases (``*name``) of a YAML file may stand for together: values plus characters of text.
MAX_YAML_ALIAS_SIZE = 10_000


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder, then rename it into place. The file
    gets the permissions of any new file (0o666 less the umask)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:  # a random name: a clash (a leftover of a killed run) just draws another
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class _BoundedLoader(yaml.SafeLoader):
    """A safe loader that refuses deep nesting and aliases that stand for more than ``MAX_YAML_ALIAS_SIZE``."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._sizes: dict[int, int] = {}  # id(node) → values and characters the node stands for
        self._aliased = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        is_alias = self.check_event(yaml.AliasEvent)
        mark = self.peek_event().start_mark
        if self._depth == MAX_YAML_DEPTH:
            raise ComposerError(None, None, f"nesting deeper than {MAX_YAML_DEPTH} levels", mark)
        self._depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if is_alias:
            if id(node) not in self._sizes:
                raise ComposerError(None, None, "an alias inside the collection it refers to", mark)
            self._aliased += self._sizes[id(node)]
            if self._aliased > MAX_YAML_ALIAS_SIZE:
                raise ComposerError(None, None, f"aliases stand for more than {MAX_YAML_ALIAS_SIZE:,} values", mark)
        elif isinstance(node, ScalarNode):
            self._sizes[id(node)] = 1 + len(node.value)
        else:
            children = [n for pair in node.value for n in pair] if isinstance(node, MappingNode) else node.value
            self._sizes[id(node)] = 1 + sum(self._sizes[id(child)] for child in children)
        return node


def _describe_yaml_error(error: yaml.YAMLError) -> str:
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        return ", ".join(filter(None, [error.context, error.problem])) + at
    if isinstance(error, yaml.reader.ReaderError):
        return f"{error.reason} at character {error.position}"
    return str(error)


def _read_bytes(path: Path, what: str) -> bytes:
    """The bytes of the regular file ``path``, refusing FIFOs, devices and anything over ``MAX_YAML_BYTES``."""

    def check(status: os.stat_result) -> None:
        if not stat.S_ISREG(status.st_mode):
            raise ParameterError(f"{what} {str(path)!r} is not a regular file")
        if status.st_size > MAX_YAML_BYTES:
            limit = f"{MAX_YAML_BYTES >> 10} KiB ({status.st_size:,} bytes)"
            raise ParameterError(f"{what} {str(path)!r} is larger than the limit of {limit}")

    try:
        check(os.stat(path))  # before opening: opening a FIFO waits for a writer
        # Non-blocking, and checked again once open, in case the file was swapped meanwhile.
        with open(path, "rb", opener=lambda name, flags: os.open(name, flags | getattr(os, "O_NONBLOCK", 0))) as file:
            check(os.fstat(file.fileno()))
            data = file.read(MAX_YAML_BYTES + 1)
    except OSError as error:
        raise ParameterError(f"cannot read {what} {str(path)!r}: {error.strerror or error}") from None
    if len(data) > MAX_YAML_BYTES:
        raise ParameterError(f"{what} {str(path)!r} is larger than the limit of {MAX_YAML_BYTES >> 10} KiB")
    return data


def read_yaml(path: str | os.PathLike[str], what: str) -> Any:
    """The YAML document in the file ``path`` (``None`` when empty); ``what`` names the file in errors, e.g.
    ``"config"``. Raises :class:`ParameterError`, with one line, for anything but a readable, small, UTF-8, valid
    YAML file."""
    path = Path(path)
    data = _read_bytes(path, what)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ParameterError(
            f"{what} {str(path)!r} is not UTF-8 text: byte 0x{data[error.start]:02x} at offset {error.start}"
        ) from None
    try:
        return yaml.load(text, Loader=_BoundedLoader)  # a SafeLoader
    except yaml.YAMLError as error:
        problem = _describe_yaml_error(error)
    except (ValueError, OverflowError) as error:  # a scalar YAML accepts but Python cannot hold, e.g. 2024-02-30
        problem = f"{type(error).__name__}: {error}"
    raise ParameterError(f"{what} {str(path)!r} is not valid YAML: {clip(' '.join(problem.split()), 200)}")
