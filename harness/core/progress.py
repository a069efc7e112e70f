"""Progress for long real-time waits: phase, elapsed, remaining.

A real pre-roll test waits minutes and a shift test twelve hours; an engineer at the bench must
see that the run is alive and when it will be done. Progress is drawn only when the clock is a
:class:`~harness.core.clock.RealClock` and stdout is a terminal, or when asked (``BWC_PROGRESS=1``;
``BWC_PROGRESS=0`` silences it). Virtual time is never slowed: with a
:class:`~harness.core.clock.VirtualClock` a wait is one ``sleep_until``.

Under pytest the output is captured; the plugin hands :func:`configure` a way to step around
the capture (``suspend``) and tells whether the real stdout is a terminal.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn

from harness.core.clock import Clock, RealClock

#: how often a wait redraws (seconds of clock time)
REDRAW_S = 0.5
#: without a terminal, one plain line per this many seconds
LINE_EVERY_S = 30.0

Suspend = Callable[[], AbstractContextManager[object]]

_settings: dict[str, object] = {"terminal": None, "suspend": contextlib.nullcontext, "file": None}


def configure(terminal: bool | None = None, suspend: Suspend | None = None, file: TextIO | None = None) -> None:
    """Set where progress goes.

    ``terminal``: whether the output is a terminal (None: ask stdout when drawing); ``suspend``:
    a context manager that steps around output capture; ``file``: write there instead of stdout.
    """
    _settings["terminal"] = terminal
    _settings["suspend"] = suspend or contextlib.nullcontext
    _settings["file"] = file


def _wanted(clock: Clock) -> bool:
    asked = os.environ.get("BWC_PROGRESS", "").strip().lower()
    if asked in ("0", "no", "off", "false"):
        return False
    if not isinstance(clock, RealClock):
        return False
    if asked in ("1", "yes", "on", "true"):
        return True
    terminal = _settings["terminal"]
    return bool(sys.stdout.isatty() if terminal is None else terminal)


def hms(seconds: float) -> str:
    s = max(0, round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class PhaseProgress:
    """One phase's bar (terminal) or periodic line (log), timed on the harness clock."""

    def __init__(self, clock: Clock, phase: str, total_s: float) -> None:
        self.clock = clock
        self.phase = phase
        self.total_s = max(total_s, 1e-9)
        self.start = clock.now()
        self._suspend: Suspend = _settings["suspend"]  # type: ignore[assignment]
        with self._suspend():
            terminal = _settings["terminal"]
            self.console = Console(
                file=_settings["file"] or sys.stdout,  # type: ignore[arg-type]
                force_terminal=terminal if isinstance(terminal, bool) else None,
            )
            self.live = self.console.is_terminal
            self._last_line = -LINE_EVERY_S
            # phase and detail carry scenario and file names: shown as written, never read as markup
            self.bar = Progress(
                TextColumn("{task.description}", markup=False),
                BarColumn(),
                TextColumn("{task.fields[times]}  {task.fields[detail]}", markup=False),
                console=self.console,
                auto_refresh=False,
                transient=False,
                redirect_stdout=False,
                redirect_stderr=False,
                get_time=clock.now,
            )
            self.task = self.bar.add_task(phase, total=self.total_s, times="", detail="")
            if self.live:
                self.bar.start()

    def update(self, detail: str = "", elapsed: float | None = None) -> None:
        elapsed = self.clock.now() - self.start if elapsed is None else elapsed
        times = f"{hms(elapsed)} elapsed, {hms(self.total_s - elapsed)} remaining"
        with self._suspend():
            if self.live:
                self.bar.update(self.task, completed=min(elapsed, self.total_s), times=times, detail=detail)
                self.bar.refresh()
            elif elapsed - self._last_line >= LINE_EVERY_S or elapsed >= self.total_s:
                self._last_line = elapsed
                self.console.print(
                    f"{self.phase}: {times}" + (f" - {detail}" if detail else ""),
                    highlight=False,
                    markup=False,
                    soft_wrap=True,
                )  # one whole line per report in a log

    def close(self) -> None:
        with self._suspend():
            if self.live:
                self.bar.stop()

    def __enter__(self) -> PhaseProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def wait_until(clock: Clock, until: float, phase: str) -> None:
    """``clock.sleep_until(until)``, with progress when it is wanted (see the module docstring)."""
    if not _wanted(clock) or until - clock.now() < 2 * REDRAW_S:
        clock.sleep_until(until)
        return
    with PhaseProgress(clock, phase, until - clock.now()) as bar:
        while (now := clock.now()) < until:
            clock.sleep_until(min(until, now + REDRAW_S))
            bar.update()


@contextlib.contextmanager
def reporter(clock: Clock, phase: str, total_s: float):
    """A ``progress(elapsed, total, detail)`` callback for waits that poll (``None`` when not wanted)."""
    if not _wanted(clock):
        yield None
        return
    with PhaseProgress(clock, phase, total_s) as bar:
        yield lambda elapsed, total, detail: bar.update(detail, elapsed)
