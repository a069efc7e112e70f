"""The controller firmware core, driven directly with a fake board layer."""

from __future__ import annotations

import heapq

from harness.firmware.rigctl_core import RigControllerCore


class Board:
    """A board layer with a hand-advanced microsecond counter."""

    def __init__(self) -> None:
        self.now = 1_000
        self.queue: list[tuple[int, int, object]] = []
        self.lines: list[str] = []
        self.driven: list[tuple[str, bool, int]] = []
        self.core = RigControllerCore(("event", "power"), lambda: self.now, self.schedule, self.drive,
                                      self.lines.append, "BWC-RIG,1.0,SN1")

    def schedule(self, when: int, fn: object) -> None:
        heapq.heappush(self.queue, (when, len(self.lines) + len(self.queue), fn))

    def drive(self, button: str, down: bool) -> None:
        self.driven.append((button, down, self.now))

    def advance(self, to: int) -> None:
        while self.queue and self.queue[0][0] <= to:
            when, _, fn = heapq.heappop(self.queue)
            self.now = when
            fn()
        self.now = to


def test_identity_time_and_buttons() -> None:
    """ID?, TIME? and BUTTONS? answer at once with the board's values."""
    b = Board()
    for line in ("ID?", "TIME?", "buttons?"):
        b.core.feed_line(line)
    assert b.lines == ["ID BWC-RIG,1.0,SN1", "TIME 1000", "BUTTONS event,power"]


def test_scheduled_press_reports_edges_at_the_planned_ticks() -> None:
    """A PRESS AT t drives the solenoid at t and t+duration and timestamps both edges."""
    b = Board()
    b.core.feed_line("PRESS event 150 AT 5000")
    assert b.lines == ["OK 1"]
    b.advance(200_000)
    assert b.driven == [("event", True, 5000), ("event", False, 155_000)]
    assert b.lines[1:] == ["EDGE 1 event DOWN 5000", "EDGE 1 event UP 155000", "DONE 1"]


def test_hold_and_release() -> None:
    """HOLD and RELEASE are separate commands, each with its own sequence number."""
    b = Board()
    b.core.feed_line("HOLD event")
    b.core.feed_line("RELEASE event AT 4001000")
    b.advance(5_000_000)
    assert b.driven == [("event", True, 1000), ("event", False, 4_001_000)]
    assert "DONE 1" in b.lines and "DONE 2" in b.lines


def test_bad_input_is_answered_never_raised() -> None:
    """Unknown verbs, bad numbers, unknown buttons, past times and long lines get ERR lines."""
    b = Board()
    for line in ("FLY", "PRESS event abc", "PRESS nose 100", "PRESS event 100 AT 10", "PRESS event 0",
                 "X" * 500, "PRESS event"):
        b.core.feed_line(line)
    codes = [line.split()[1] for line in b.lines]
    assert codes == ["BADCMD", "BADARG", "NOBUTTON", "PAST", "BADARG", "BADCMD", "BADARG"]
    assert b.queue == []
