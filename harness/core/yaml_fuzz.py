"""Seeded mutation fuzz of the YAML files a user hands the harness (scenario, rig, camera profile).

Damage nobody thought of, made from the shipped files: byte flips, deleted or doubled lines,
renamed keys, values of the wrong type, deep nesting, huge numbers, bytes that are not UTF-8 and
alias bombs. The contract every loader must keep: a mutated file is either loaded or refused with
a :class:`~harness.core.config.ConfigError` naming the file, never another exception, never a hang.
The same seed makes the same inputs, so a violation can be made again from its seed and iteration.
"""

from __future__ import annotations

import random
import re
import signal
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.core.config import ConfigError

#: kinds of damage, each a function of (text, random) -> damaged text
KINDS = (
    "byte-flip",
    "line-delete",
    "line-duplicate",
    "key-rename",
    "type-swap",
    "deep-nesting",
    "huge-number",
    "non-utf8",
    "alias-bomb",
)
LOADED, REJECTED, VIOLATION = "loaded OK", "rejected with a clear error", "contract violation"
KEY_LINE = re.compile(rb"^(\s*(?:-\s+)?)([A-Za-z_][\w-]*)(\s*:)(.*)$")
SWAPS = (
    b"[]",
    b"{}",
    b'"text"',
    b"123",
    b"-1",
    b"0",
    b".nan",
    b".inf",
    b"-.inf",
    b"null",
    b"true",
    b"off",
    b"[1, 2]",
    b"{a: 1}",
    b'"[red]x[/red]"',
    b"'['",
    b"2026-12-05",
    b"!!binary aGk=",
    b"~",
    b"|\n  block",
)
HUGE = (
    b"1e400",
    b"-1e400",
    b"9" * 400,
    b"9" * 5000,
    b"1" + b"0" * 30,
    b"-" + b"9" * 40,
    b"0x" + b"f" * 100,
    b"1.7976931348623157e308",
    b"4.9e-324",
)


class _Hang(Exception):
    """The time bound of one input ran out."""


@dataclass
class FuzzReport:
    iterations: int = 0
    outcomes: Counter = field(default_factory=Counter)  # outcome -> count
    by_kind: dict[str, Counter] = field(default_factory=dict)  # damage kind -> outcome -> count
    violations: list[str] = field(default_factory=list)  # how to make each one again, and what happened
    slowest_s: float = 0.0
    slowest: str = ""
    seconds: list[float] = field(default_factory=list)


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def _key_lines(lines: list[bytes]) -> list[int]:
    return [i for i, line in enumerate(lines) if KEY_LINE.match(line)]


def _set_value(data: bytes, rng: random.Random, value: bytes) -> bytes:
    """Replace the value of a random ``key: value`` line (or append one if there is none)."""
    lines = _lines(data)
    keyed = _key_lines(lines)
    if not keyed:
        return data + b"\nx: " + value
    i = rng.choice(keyed)
    m = KEY_LINE.match(lines[i])
    assert m is not None
    lines[i] = m.group(1) + m.group(2) + m.group(3) + b" " + value
    return b"\n".join(lines)


def mutate(data: bytes, kind: str, rng: random.Random) -> bytes:
    """``data`` with one piece of damage of ``kind``."""
    lines = _lines(data)
    if kind == "byte-flip":
        out = bytearray(data or b"\0")
        for _ in range(rng.randint(1, 4)):
            out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
        return bytes(out)
    if kind == "line-delete":
        del lines[rng.randrange(len(lines))]
        return b"\n".join(lines)
    if kind == "line-duplicate":
        i = rng.randrange(len(lines))
        lines.insert(i + rng.choice((0, 1)), lines[i])
        return b"\n".join(lines)
    if kind == "key-rename":
        keyed = _key_lines(lines)
        if not keyed:
            return data
        i = rng.choice(keyed)
        m = KEY_LINE.match(lines[i])
        assert m is not None
        other = KEY_LINE.match(lines[rng.choice(keyed)])
        key = rng.choice(
            [
                m.group(2) + b"x",
                m.group(2)[:-1],
                m.group(2).upper(),
                other.group(2) if other else b"k",
                b"[red]" + m.group(2),
                b"on",
                b"1",
            ]
        )
        lines[i] = m.group(1) + key + m.group(3) + m.group(4)
        return b"\n".join(lines)
    if kind == "type-swap":
        return _set_value(data, rng, rng.choice(SWAPS))
    if kind == "deep-nesting":
        depth = rng.choice((10, 31, 33, 100, 1000, 20000))
        if rng.random() < 0.5:
            value = b"[" * depth + b"1" + b"]" * depth
        else:
            value = b"{a: " * depth + b"1" + b"}" * depth
        return _set_value(data, rng, value)
    if kind == "huge-number":
        return _set_value(data, rng, rng.choice(HUGE))
    if kind == "non-utf8":
        at = rng.randrange(len(data) + 1)
        return (
            data[:at]
            + rng.choice((b"\xff", b"\xfe\xff", b"\xc3(", b"\xed\xa0\x80", b"\x80", b"\x00", b"\x07"))
            + data[at:]
        )
    if kind == "alias-bomb":
        bomb = b"&a0 [x, x, x, x, x, x, x, x, x, x]"
        lines.insert(0, b"bomb0: " + bomb)
        for level in range(1, rng.randint(3, 9)):
            refs = b", ".join([b"*a%d" % (level - 1)] * 10)
            lines.insert(level, b"bomb%d: &a%d [%s]" % (level, level, refs))
        return b"\n".join(lines)
    raise ValueError(f"unknown kind of damage {kind!r}")


def _bounded(load: Callable[[Path], object], path: Path, timeout_s: float) -> None:
    """``load(path)``, interrupted by SIGALRM after ``timeout_s`` (main thread only; else unbounded)."""

    def alarm(signum: int, frame: object) -> None:
        raise _Hang()

    try:
        previous = signal.signal(signal.SIGALRM, alarm)
    except ValueError:  # not the main thread: no alarm to be had
        load(path)
        return
    signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        load(path)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def fuzz(
    sources: Sequence[tuple[Path, Callable[[Path], object]]],
    folder: Path,
    iterations: int,
    seed: int,
    timeout_s: float = 5.0,
) -> FuzzReport:
    """Damage the files of ``sources`` (file, its loader) in turn, ``iterations`` times in all, and
    judge each outcome against the contract. Mutated files are written in ``folder``."""
    rng = random.Random(seed)
    report = FuzzReport()
    originals = [(path, path.read_bytes(), load) for path, load in sources]
    folder.mkdir(parents=True, exist_ok=True)
    for iteration in range(iterations):
        source, data, load = originals[iteration % len(originals)]
        kinds = [rng.choice(KINDS) for _ in range(rng.choice((1, 1, 1, 2, 3)))]
        for kind in kinds:
            data = mutate(data, kind, rng)
        target = folder / f"{iteration:05d}-{source.name}"
        target.write_bytes(data)
        what = f"seed {seed} iteration {iteration} ({source.name}: {', '.join(kinds)})"
        start = time.perf_counter()
        problem = None
        try:
            _bounded(load, target, timeout_s)
            outcome = LOADED
        except ConfigError as exc:
            outcome = REJECTED
            if not str(exc).startswith(str(target)) or "\n" in str(exc):
                outcome, problem = VIOLATION, f"error does not name the file in one line: {exc}"
        except _Hang:
            outcome, problem = VIOLATION, f"no answer within {timeout_s:g} s"
        except Exception as exc:  # the contract is broken: keep going, report it
            outcome, problem = VIOLATION, f"{type(exc).__name__}: {str(exc)[:200]}"
        elapsed = time.perf_counter() - start
        target.unlink()
        report.iterations += 1
        report.seconds.append(elapsed)
        report.outcomes[outcome] += 1
        for kind in set(kinds):
            report.by_kind.setdefault(kind, Counter())[outcome] += 1
        if problem is not None:
            report.violations.append(f"{what}: {problem}")
        if elapsed > report.slowest_s:
            report.slowest_s, report.slowest = elapsed, what
    return report
