"""Loading YAML files into validated models, with errors a user can act on.

Every file a user hands the harness (scenario, camera profile, rig, requirement catalogue) goes
through :func:`load_model`, so a bad file always fails the same way: one :class:`ConfigError`
naming the file, the line or field and what was expected, and nothing else in the run is disturbed.

The reader is stricter than plain YAML where plain YAML hides mistakes or can be made to hang: a
key given twice is an error (YAML would silently keep the last value), and the file's size, its
nesting depth and its node count (aliases counted as often as they are used) are bounded, so a
hostile or broken file is refused with one line instead of a RecursionError or a long stall.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

M = TypeVar("M", bound=BaseModel)

#: largest YAML file read (bytes): the shipped files are a few kB
MAX_BYTES = 1 << 20
#: deepest nesting of mappings and lists: the shipped files go five levels deep
MAX_DEPTH = 32
#: most nodes in a document, each alias counted as the nodes it stands for (no "billion laughs")
MAX_NODES = 100_000
#: longest input shown back in an error message
SHOWN_CHARS = 80


class ConfigError(ValueError):
    """A user-supplied file is malformed; the message names the file and the field."""

    def __init__(self, path: Path | str, problems: list[str]) -> None:
        self.path = Path(path)
        self.problems = problems
        super().__init__(f"{path}: " + "; ".join(problems))


def _field_path(loc: tuple) -> str:
    """'steps#4.wait.seconds': list items are counted from 1, as a person reads the file."""
    text = ""
    for part in loc:
        text += f"#{part + 1}" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def shown(value: object) -> str:
    """``repr(value)``, cut short: an error line stays one readable line whatever the input."""
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


def validation_problems(err: ValidationError) -> list[str]:
    """Turn pydantic errors into 'field: what was expected (got ...)' lines."""
    problems = []
    for e in err.errors():
        got = e.get("input")
        extra = "" if isinstance(got, (dict, list)) else f" (got {shown(got)})"
        problems.append(f"{_field_path(e['loc'])}: {e['msg']}{extra}")
    return problems


class _Refused(yaml.MarkedYAMLError):
    """The file is valid YAML but breaks one of the reader's rules (duplicate key, depth, size)."""


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that tracks where it is (for messages), refuses duplicate keys and bounds depth."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._where: list[str] = []

    def _here(self) -> str:
        where = "".join(self._where).lstrip(".") or "(top level)"
        return where if len(where) <= SHOWN_CHARS else where[: SHOWN_CHARS - 3] + "..."

    def compose_node(self, parent: Node | None, index: object) -> Node | None:
        if isinstance(index, int):
            part = f"#{index + 1}"
        elif isinstance(index, ScalarNode):
            part = f".{index.value[:SHOWN_CHARS]}"
        else:
            part = ""
        self._where.append(part)
        try:
            if len(self._where) > MAX_DEPTH + 1:
                raise _Refused(
                    None,
                    None,
                    f"{self._here()}: nested more than {MAX_DEPTH} levels deep",
                    self.peek_event().start_mark,
                )
            return super().compose_node(parent, index)  # type: ignore[arg-type]  # a key node, despite the stubs
        finally:
            self._where.pop()

    def compose_mapping_node(self, anchor: Any) -> MappingNode:
        node = super().compose_mapping_node(anchor)
        first: dict[object, Node] = {}
        for key, _ in node.value:
            if not isinstance(key, ScalarNode):
                continue
            # compared as the values they become, so 'on' and 'yes' (both true) or 1 and 1.0 clash,
            # exactly where a dict would silently keep the last one
            value = self.construct_object(key, deep=True)
            try:
                seen = first.setdefault(value, key)
            except TypeError:  # not hashable: the constructor names it later
                continue
            if seen is not key:
                raise _Refused(
                    None,
                    None,
                    f"{self._here()}: key {shown(key.value)} given twice (first on line {seen.start_mark.line + 1})",
                    key.start_mark,
                )
        return node

    def construct_yaml_int(self, node: ScalarNode) -> int:
        try:
            return super().construct_yaml_int(node)
        except ValueError:  # more digits than Python converts to an int
            raise ConstructorError(
                None, None, f"integer of {len(node.value)} characters is too large", node.start_mark
            ) from None


_StrictLoader.add_constructor("tag:yaml.org,2002:int", _StrictLoader.construct_yaml_int)


def _expanded_size(node: Node, memo: dict[int, int]) -> int:
    """Nodes in ``node`` with every alias expanded (what a validator would walk); memoised by node."""
    size = memo.get(id(node))
    if size is None:
        memo[id(node)] = 1  # a cycle through an alias counts once, not forever
        if isinstance(node, SequenceNode):
            size = 1 + sum(_expanded_size(n, memo) for n in node.value)
        elif isinstance(node, MappingNode):
            size = 1 + sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
        else:
            size = 1
        memo[id(node)] = size = min(size, MAX_NODES + 1)
    return size


def _read_text(path: Path) -> str:
    """The file as UTF-8 text, refusing what is not a regular file, too large, or not UTF-8."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO must not block the open
    except OSError as exc:
        raise ConfigError(path, [f"cannot read file: {exc.strerror or exc}"]) from exc
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise ConfigError(path, ["a folder, not a file" if stat.S_ISDIR(info.st_mode) else "not a regular file"])
    with os.fdopen(fd, "rb") as f:
        if info.st_size > MAX_BYTES:
            raise ConfigError(path, [f"file too large ({info.st_size} bytes; at most {MAX_BYTES})"])
        try:
            data = f.read(MAX_BYTES + 1)
        except OSError as exc:
            raise ConfigError(path, [f"cannot read file: {exc.strerror or exc}"]) from exc
    if len(data) > MAX_BYTES:
        raise ConfigError(path, [f"file too large (more than {MAX_BYTES} bytes)"])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(path, [f"line {line}: not UTF-8 text (byte {exc.start}: {exc.reason})"]) from None


def read_yaml(path: Path | str) -> object:
    """The data of one YAML document, or a :class:`ConfigError` naming the file and the line."""
    path = Path(path)
    text = _read_text(path)
    try:
        loader = _StrictLoader(text)
    except yaml.reader.ReaderError as exc:  # checked before parsing: a character YAML does not allow
        line = text[: exc.position].count("\n") + 1
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise ConfigError(path, [f"line {line}: character U+{code:04X} is not allowed in YAML"]) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node, {}) > MAX_NODES:
            raise ConfigError(path, [f"more than {MAX_NODES} values (aliases counted each time they are used)"])
        return loader.construct_document(node)
    except _Refused as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(path, [f"{where}{exc.problem}"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(path, [f"{where}not valid YAML ({problem})"]) from None
    except RecursionError:  # bounded above; kept so no input can escape as a traceback
        raise ConfigError(path, [f"nested too deeply (at most {MAX_DEPTH} levels)"]) from None
    finally:
        loader.dispose()


def load_model(path: Path | str, model: type[M], data: object = None) -> M:
    """Validate the YAML file at ``path`` (or already-read ``data``) as ``model``."""
    if data is None:
        data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(path, [f"(top level): expected a mapping of fields, got {type(data).__name__}"])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(path, validation_problems(exc)) from None
    except (TypeError, ArithmeticError, RecursionError) as exc:  # a validator surprised by odd data
        raise ConfigError(
            path, [f"(top level): cannot be read as {model.__name__} ({type(exc).__name__}: {shown(str(exc))[1:-1]})"]
        ) from None
