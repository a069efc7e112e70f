"""Loading YAML files into validated models, with errors a user can act on.

Every file a user hands the harness (scenario, camera profile, rig) goes through
:func:`load_model`, so a bad file always fails the same way: the file, the field path and what
was expected, and nothing else in the run is disturbed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


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


def validation_problems(err: ValidationError) -> list[str]:
    """Turn pydantic errors into 'field: what was expected (got ...)' lines."""
    problems = []
    for e in err.errors():
        got = e.get("input")
        shown = "" if isinstance(got, (dict, list)) else f" (got {got!r})"
        problems.append(f"{_field_path(e['loc'])}: {e['msg']}{shown}")
    return problems


def read_yaml(path: Path | str) -> object:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(path, [f"cannot read file: {exc.strerror or exc}"]) from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(path, [f"{where}not valid YAML ({problem})"]) from exc


def load_model(path: Path | str, model: type[M], data: object = None) -> M:
    """Validate the YAML file at ``path`` (or already-read ``data``) as ``model``."""
    if data is None:
        data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(path, [f"(top level): expected a mapping of fields, got {type(data).__name__}"])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(path, validation_problems(exc)) from exc
