"""Progress for long real-time waits: shown for real time when asked, never for virtual time."""

from __future__ import annotations

import io
import re
import time

import pytest

from harness.core import progress
from harness.core.clock import RealClock, VirtualClock


@pytest.fixture
def out(monkeypatch):
    buf = io.StringIO()
    progress.configure(terminal=None, file=buf)
    yield buf
    progress.configure()


def test_virtual_time_is_never_slowed_or_drawn(out, monkeypatch) -> None:
    """A 12-hour wait in virtual time returns at once, even with progress asked for."""
    monkeypatch.setenv("BWC_PROGRESS", "1")
    clock = VirtualClock()
    t0 = time.perf_counter()
    progress.wait_until(clock, 12 * 3600, "shift")
    assert time.perf_counter() - t0 < 0.05 and clock.now() == 12 * 3600
    assert out.getvalue() == ""


def test_real_time_wait_shows_phase_elapsed_and_remaining_when_asked(out, monkeypatch) -> None:
    """Asked for (BWC_PROGRESS=1) with no terminal: plain lines name the phase, time spent and time left."""
    monkeypatch.setenv("BWC_PROGRESS", "1")
    clock = RealClock()
    try:
        start = clock.now()
        progress.wait_until(clock, start + 1.2, "wait 1.2 s for the buffer")
        assert clock.now() >= start + 1.2
    finally:
        clock.close()
    text = out.getvalue()
    assert re.search(r"^wait 1.2 s for the buffer: 0:00:0[01] elapsed, 0:00:0[01] remaining$", text, re.M)
    assert text.rstrip().endswith("0:00:01 elapsed, 0:00:00 remaining")


def test_not_a_terminal_and_not_asked_stays_quiet(out, monkeypatch) -> None:
    monkeypatch.delenv("BWC_PROGRESS", raising=False)
    progress.configure(terminal=False, file=out)
    clock = RealClock()
    try:
        progress.wait_until(clock, clock.now() + 1.1, "quiet")
    finally:
        clock.close()
    assert out.getvalue() == ""


def test_terminal_draws_a_bar(monkeypatch) -> None:
    """On a terminal the phase gets a live bar with both times."""
    monkeypatch.delenv("BWC_PROGRESS", raising=False)
    buf = io.StringIO()
    progress.configure(terminal=True, file=buf)
    clock = RealClock()
    try:
        with progress.reporter(clock, "collect clips", 1.0) as report:
            assert report is not None
            report(0.5, 1.0, "1 clip(s) ready")
    finally:
        clock.close()
        progress.configure()
    assert (
        "collect clips" in buf.getvalue()
        and "0:00:00 elapsed" in buf.getvalue()
        and "1 clip(s) ready" in buf.getvalue()
    )


@pytest.mark.parametrize("terminal", [False, True])
def test_phase_and_detail_with_brackets_are_shown_as_written(monkeypatch, terminal: bool) -> None:
    """A phase or detail naming a file like 'CAM [red]1[/red] [/].mp4' is text, not rich markup:
    it is neither altered nor a MarkupError in the middle of a wait."""
    monkeypatch.setenv("BWC_PROGRESS", "1")
    buf = io.StringIO()
    progress.configure(terminal=terminal, file=buf)
    clock = RealClock()
    try:
        with progress.reporter(clock, "collect [red]clips[/red] [/]", 1.0) as report:
            assert report is not None
            report(1.0, 1.0, "CAM [red]1[/red] [/].mp4")
    finally:
        clock.close()
        progress.configure()
    text = buf.getvalue()
    assert "collect [red]clips[/red] [/]" in text  # the bar cuts a long line short on a narrow terminal
    if not terminal:
        assert "collect [red]clips[/red] [/]: 0:00:01 elapsed, 0:00:00 remaining - CAM [red]1[/red] [/].mp4\n" in text
