"""The controller firmware core, driven directly with a fake board layer."""

from __future__ import annotations

import ast
import heapq
import itertools
import py_compile
from pathlib import Path

import harness.firmware
from harness.firmware import rigctl_core
from harness.firmware.rigctl_core import LineAssembler, RigControllerCore, Scheduler, TickExtender, chirp_hz


class Board:
    """A board layer with a hand-advanced microsecond counter."""

    def __init__(self) -> None:
        self.now = 1_000
        self.queue: list[tuple[int, int, object]] = []
        self.lines: list[str] = []
        self.driven: list[tuple[str, bool, int]] = []
        self.core = RigControllerCore(
            ("event", "power"), lambda: self.now, self.schedule, self.drive, self.lines.append, "BWC-RIG,1.0,SN1"
        )

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
    for line in (
        "FLY",
        "PRESS event abc",
        "PRESS nose 100",
        "PRESS event 100 AT 10",
        "PRESS event 0",
        "X" * 500,
        "PRESS event",
    ):
        b.core.feed_line(line)
    codes = [line.split()[1] for line in b.lines]
    assert codes == ["BADCMD", "BADARG", "NOBUTTON", "PAST", "BADARG", "BADCMD", "BADARG"]
    assert b.queue == []


# --------------------------------------------------------------------------- FLASH stimulus, PROTO?, BUSY


class StimBoard(Board):
    """The same board with a flash LED and speaker on the stimulus hook."""

    def __init__(self) -> None:
        super().__init__()
        self.stim: list[tuple[bool, int]] = []
        self.core = RigControllerCore(
            ("event", "power"),
            lambda: self.now,
            self.schedule,
            self.drive,
            self.lines.append,
            "BWC-RIG,1.1,SN1",
            stimulus=lambda on: self.stim.append((on, self.now)),
        )


def test_flash_fires_on_the_same_timebase_as_the_buttons() -> None:
    """FLASH AT t switches the stimulus on at t and off after its duration, reported like edges."""
    b = StimBoard()
    b.core.feed_line("PRESS event 100 AT 10000")
    b.core.feed_line("FLASH 40 AT 10000")
    b.advance(1_000_000)
    assert b.stim == [(True, 10_000), (False, 50_000)]
    assert "EDGE 2 flash ON 10000" in b.lines and "EDGE 2 flash OFF 50000" in b.lines and "DONE 2" in b.lines
    assert ("event", True, 10_000) in b.driven


def test_older_commands_are_unchanged_and_new_ones_are_discoverable() -> None:
    """BWC-RIG/1 replies stay as they were; PROTO? names the protocol."""
    b = StimBoard()
    for line in ("PROTO?", "ID?", "PRESS event 150 AT 5000"):
        b.core.feed_line(line)
    assert b.lines == ["PROTO BWC-RIG/1.1", "ID BWC-RIG,1.1,SN1", "OK 1"]


def test_flash_without_stimulus_hardware_and_bad_flash_arguments() -> None:
    """A controller without the stimulus refuses FLASH; bad durations are BADARG; nothing is scheduled."""
    b = Board()
    for line in ("FLASH 40", "FLASH 0", "FLASH 99999", "FLASH", "FLASH 40 AT 5"):
        b.core.feed_line(line)
    assert [line.split()[1] for line in b.lines] == ["NOSTIM", "BADARG", "BADARG", "BADARG", "NOSTIM"]
    assert b.queue == []


class RelayBoard(Board):
    """A board with a dock relay."""

    def __init__(self) -> None:
        super().__init__()
        self.switched: list[tuple[str, bool, int]] = []
        self.core = RigControllerCore(
            ("event", "power"),
            lambda: self.now,
            self.schedule,
            self.drive,
            self.lines.append,
            "BWC-RIG,1.2,SN1",
            relays=("dock",),
            switch=lambda relay, on: self.switched.append((relay, on, self.now)),
        )


def test_relay_switches_at_its_tick_and_reports_the_edge() -> None:
    """RELAY dock ON AT t switches the relay at t and reports it like a button edge; RELAYS? lists it."""
    b = RelayBoard()
    b.core.feed_line("RELAYS?")
    b.core.feed_line("RELAY dock ON AT 8000")
    b.core.feed_line("relay DOCK off AT 9000")
    assert b.lines == ["RELAYS dock", "OK 1", "OK 2"]
    b.advance(20_000)
    assert b.switched == [("dock", True, 8000), ("dock", False, 9000)]
    assert b.lines[3:] == ["EDGE 1 dock ON 8000", "DONE 1", "EDGE 2 dock OFF 9000", "DONE 2"]


def test_relay_errors_and_a_controller_without_relays() -> None:
    """Unknown relay: NORELAY; bad state or arguments: BADARG; in the past: PAST; none without relays."""
    b = RelayBoard()
    for line in ("RELAY usb ON", "RELAY dock HALF", "RELAY dock", "RELAY dock ON AT 5", "RELAY dock ON AT x"):
        b.core.feed_line(line)
    assert [line.split()[1] for line in b.lines] == ["NORELAY", "BADARG", "BADARG", "PAST", "BADARG"]
    assert b.queue == [] and b.switched == []
    plain = Board()
    plain.core.feed_line("RELAYS?")
    plain.core.feed_line("RELAY dock ON")
    assert plain.lines == ["RELAYS", "ERR NORELAY dock"]


def test_a_relay_cannot_take_a_button_name() -> None:
    try:
        RigControllerCore(("event",), lambda: 0, None, None, None, "X", relays=("event",), switch=lambda r, o: None)
    except ValueError as exc:
        assert "relay event" in str(exc)
    else:
        raise AssertionError("a relay named like a button was accepted")


def test_queue_is_bounded_with_busy() -> None:
    """A host that queues more than the board can hold gets ERR BUSY, and earlier actions still run."""
    b = Board()
    for i in range(40):
        b.core.feed_line(f"PRESS event 1 AT {10_000 + 10_000 * i}")
    assert sum(line.startswith("OK") for line in b.lines) == 32
    assert b.lines[-1].startswith("ERR BUSY")
    b.advance(10_000_000)
    assert b.core.pending == 0 and sum(line.startswith("DONE") for line in b.lines) == 32
    b.core.feed_line("PRESS event 1")
    assert b.lines[-1].startswith("OK")


# --------------------------------------------------------------------------- board-layer helpers


def test_tick_extender_survives_the_hardware_wrap() -> None:
    """MicroPython's ticks_us wraps at 2**30; extended ticks keep counting up across several wraps."""
    period = 1 << 30
    raw = [period - 500]
    ext = TickExtender(lambda: raw[0], period)
    seen = []
    for _ in range(5000):
        raw[0] = (raw[0] + 1_000_003) % period
        seen.append(ext.now())
    assert all(b - a == 1_000_003 for a, b in itertools.pairwise(seen))
    assert seen[-1] > 4 * period


def test_scheduler_runs_in_tick_order_and_fires_on_its_tick() -> None:
    """Actions run in tick order (ties in scheduling order); spinning waits for a near action's tick."""
    now = [0]

    def ticks() -> int:
        now[0] += 7  # the counter moves while the loop spins
        return now[0]

    sched = Scheduler(ticks)
    ran: list[tuple[str, int]] = []
    for name, when in (("c", 3000), ("a", 1000), ("b", 1000), ("d", 90_000)):
        sched.schedule(when, lambda name=name: ran.append((name, now[0])))
    assert sched.next_due() == 1000
    assert sched.run_due(spin_us=5000) == 3
    assert [n for n, _ in ran] == ["a", "b", "c"]
    assert all(t >= when for (_, t), when in zip(ran, (1000, 1000, 3000)))
    assert ran[0][1] - 1000 < 20  # fired within a few counter reads of its tick
    assert sched.next_due() == 90_000 and sched.run_due(spin_us=5000) == 0


def test_line_assembler_splits_strips_and_bounds_lines() -> None:
    """Bytes arrive in any chunking; CR is dropped; an endless line is cut and refused by the core."""
    b = Board()
    lines = LineAssembler(b.core.feed_line)
    for chunk in ("TI", "ME?\r", "\nID", "?\n", "X" * 1000, "\n", "TIME?\n"):
        lines.feed(chunk)
    assert b.lines == ["TIME 1000", "ID BWC-RIG,1.0,SN1", "ERR BADCMD line longer than 120 characters", "TIME 1000"]


def test_chirp_steps_up_and_stops() -> None:
    """The speaker sweep starts at f0, ends at f1 and is silent after its duration."""
    hz = [chirp_hz(t, 1000, 4000, 40_000) for t in range(0, 45_000, 5_000)]
    assert hz[0] == 1000 and hz[7] == 4000 and hz[-1] == 0 and hz[:8] == sorted(hz[:8])


# --------------------------------------------------------------------------- the board layer itself


FIRMWARE = Path(harness.firmware.__file__).parent
MICROPYTHON_MODULES = {"machine", "select", "sys", "time", "micropython", "rigctl_core", "array"}


def test_board_layer_compiles_and_uses_only_micropython_modules(tmp_path: Path) -> None:
    """main.py cannot run off the board; it must at least compile, import only what MicroPython has,
    and import from the core only names the core defines."""
    source = FIRMWARE / "main.py"
    py_compile.compile(str(source), doraise=True, cfile=str(tmp_path / "main.pyc"))
    tree = ast.parse(source.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module)
            if node.module == "rigctl_core":
                for alias in node.names:
                    assert hasattr(rigctl_core, alias.name), alias.name
    assert imported <= MICROPYTHON_MODULES, imported - MICROPYTHON_MODULES


def test_core_stays_plain_python_for_micropython() -> None:
    """The core imports nothing at run time: MicroPython has no typing or dataclasses."""
    tree = ast.parse((FIRMWARE / "rigctl_core.py").read_text())
    assert not [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.JoinedStr)]


def _light_board() -> Board:
    b = Board()
    b.core = RigControllerCore(
        ("event",), lambda: b.now, b.schedule, b.drive, b.lines.append, "BWC-RIG,1.3,SN1", light=True
    )
    return b


def test_light_edges_are_batched_with_deltas_and_flushed_on_query() -> None:
    """LIGHT ON arms the input; edges go out 8 a line as the first tick and deltas; LIGHT? sends
    the rest first; edges before LIGHT ON or after LIGHT OFF are not reported."""
    b = _light_board()
    b.core.light_edge(1, 500)  # not armed yet
    b.core.feed_line("LIGHT ON")
    assert b.lines == ["LIGHT ON"]
    for i in range(10):
        b.core.light_edge((i + 1) % 2, 2000 + 16683 * i)
        b.core.poll()
    assert b.lines[1] == "LIGHTS 1 2000" + " 16683" * 7
    b.core.feed_line("LIGHT?")
    assert b.lines[2:] == [f"LIGHTS 1 {2000 + 16683 * 8} 16683", "LIGHT ON 0"]
    b.core.feed_line("LIGHT OFF")
    b.core.light_edge(1, 400_000)
    b.core.feed_line("LIGHT?")
    assert b.lines[4:] == ["LIGHT OFF", "LIGHT OFF 0"]
    assert all(len(line) < 120 for line in b.lines)


def test_light_edges_that_do_not_alternate_start_a_new_line_and_old_edges_flush() -> None:
    """A missed edge (two of one level) starts a new LIGHTS line; a lone edge goes out after 50 ms."""
    b = _light_board()
    b.core.feed_line("LIGHT ON")
    b.core.light_edge(1, 1000)
    b.core.light_edge(1, 2000)
    b.core.poll()
    assert b.lines == ["LIGHT ON"]
    b.now = 1000 + rigctl_core.LIGHT_FLUSH_US
    b.core.poll()
    assert b.lines[1:] == ["LIGHTS 1 1000", "LIGHTS 1 2000"]


def test_light_buffer_overflow_is_counted_and_a_board_without_photodiode_refuses() -> None:
    b = _light_board()
    b.core.feed_line("LIGHT ON")
    for i in range(rigctl_core.LIGHT_BUFFER + 3):
        b.core.light_edge(i % 2, i)
    b.lines.clear()
    b.core.feed_line("LIGHT?")
    assert b.lines[-1] == "LIGHT ON 3"
    plain = Board()
    for line in ("LIGHT ON", "LIGHT?", "LIGHT MAYBE"):
        plain.core.feed_line(line)
    assert plain.lines == ["ERR NOLIGHT this controller has no photodiode input"] * 3
    b.core.feed_line("LIGHT MAYBE")
    assert b.lines[-1].startswith("ERR BADARG usage: LIGHT ON|OFF")
