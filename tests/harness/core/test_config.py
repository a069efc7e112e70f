"""The one YAML reader: duplicate keys, depth, size and odd bytes are refused with one line that
names the file and the line or field, and every kind of user file goes through it."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.core import config
from harness.core.config import ConfigError, read_yaml
from harness.core.paths import CAMERAS_DIR, CATALOGUE, RIGS_DIR, SUITE_DIR
from harness.plan.profile import CameraProfile
from harness.plan.requirements import Catalogue
from harness.plan.scenario import Scenario
from harness.rig.kinds import load_rig_spec


def _refused(path: Path) -> str:
    """The one-line message a bad file gets; it must start with the file's name."""
    with pytest.raises(ConfigError) as info:
        read_yaml(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "\n" not in message, message
    return message


def _write(tmp_path: Path, text: str | bytes, name: str = "bad.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def test_a_duplicate_key_is_an_error_naming_line_field_and_key(tmp_path: Path) -> None:
    """YAML alone keeps the last of two equal keys without a word; a test plan must not."""
    path = _write(tmp_path, "steps:\n  - wait:\n      seconds: 5\n      seconds: 50\n")
    assert _refused(path) == f"{path}: line 4, column 7: steps#1.wait: key 'seconds' given twice (first on line 3)"


def test_keys_that_become_the_same_value_are_duplicates(tmp_path: Path) -> None:
    """'on' and 'yes' are both true to YAML: a dict would merge them silently."""
    path = _write(tmp_path, "draw_a:\n  on: 1\n  yes: 2\n")
    assert "draw_a: key 'yes' given twice (first on line 2)" in _refused(path)


@pytest.mark.parametrize(
    "text",
    [
        "a: " + "[" * 5000 + "1" + "]" * 5000,
        "a: " + "[" * 5000,
        "a:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 300)) + "  " * 300 + "1\n",
    ],
)
def test_deep_nesting_is_one_clear_line_not_a_recursion_error(tmp_path: Path, text: str) -> None:
    message = _refused(_write(tmp_path, text))
    assert f"nested more than {config.MAX_DEPTH} levels deep" in message and "line " in message


def test_an_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    """Aliases are counted as the values they stand for: a billion-laughs file is not walked."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{k}: &a{k} [{', '.join([f'*a{k - 1}'] * 10)}]" for k in range(1, 10)]
    start = time.perf_counter()
    assert f"more than {config.MAX_NODES} values" in _refused(_write(tmp_path, "\n".join(lines)))
    assert time.perf_counter() - start < 2


def test_a_file_too_large_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "a: 1\n" + "#" * (config.MAX_BYTES + 10))
    assert "file too large" in _refused(path)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"id: x\ntitle: \xff\xfe\n", "line 2: not UTF-8 text"),
        (b"id: x\ntitle: a\x07b\n", "line 2: character U+0007 is not allowed in YAML"),
        (b"a: " + b"9" * 5000 + b"\n", "line 1, column 4: not valid YAML (integer of 5000 characters is too large)"),
    ],
)
def test_bytes_and_numbers_yaml_cannot_take_name_the_line(tmp_path: Path, data: bytes, expected: str) -> None:
    assert expected in _refused(_write(tmp_path, data))


def test_a_fifo_or_folder_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    answers: list[str] = []
    reader = threading.Thread(target=lambda: answers.append(_refused(fifo)), daemon=True)
    reader.start()
    reader.join(10)
    assert not reader.is_alive(), "reading a FIFO blocked"
    assert answers and answers[0].endswith("not a regular file")
    assert _refused(tmp_path).endswith("a folder, not a file")


def _scenario(path: Path) -> object:
    return Scenario.load(path)


LOADERS: dict[str, tuple[Path, Callable[[Path], object]]] = {
    "scenario": (SUITE_DIR / "stop.yaml", _scenario),
    "profile": (CAMERAS_DIR / "emulated.yaml", CameraProfile.load),
    "rig": (RIGS_DIR / "emulated.yaml", load_rig_spec),
    "catalogue": (CATALOGUE, Catalogue.load),
}


@pytest.mark.parametrize("kind", sorted(LOADERS))
def test_every_kind_of_user_file_goes_through_the_strict_reader(tmp_path: Path, kind: str) -> None:
    """A duplicated line of each shipped file is refused naming the file, the line and the key."""
    shipped, load = LOADERS[kind]
    load(shipped)  # the shipped file itself loads
    lines = shipped.read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if line and not line[0].isspace() and not line.startswith("#"))
    path = _write(tmp_path, "\n".join([*lines[: index + 1], *lines[index:]]) + "\n", f"{kind}.yaml")
    with pytest.raises(ConfigError) as info:
        load(path)
    assert str(info.value).startswith(f"{path}: line {index + 2}, column 1: (top level): key ")
    assert "given twice" in str(info.value)
