"""Rig controller driver: presses the camera's buttons at planned instants over a serial line.

The same code opens ``/dev/ttyACM0`` on a bench and the emulator's pty in CI. Press times come
back as the controller's own microsecond timestamps and are mapped onto the harness clock with
an offset estimated from ``TIME?`` round trips (the minimum-round-trip sample wins).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass

import serial

from harness.clock import Clock
from harness.profile import Gesture

log = logging.getLogger(__name__)


class RigControllerError(RuntimeError):
    """The controller did not answer, or answered something the protocol does not allow."""


@dataclass(frozen=True)
class Edge:
    """One solenoid edge: button, down or up, at harness clock time ``t``."""

    button: str
    down: bool
    t: float
    ticks_us: int


@dataclass(frozen=True)
class GestureResult:
    """What the controller actually did for one gesture, with the instant the camera should act."""

    name: str
    edges: tuple[Edge, ...]
    effective_t: float


@dataclass(frozen=True)
class TickMapping:
    """harness time = (ticks_us / 1e6) - offset_s, known to +/- uncertainty_s."""

    offset_s: float
    uncertainty_s: float

    def to_clock(self, ticks_us: int) -> float:
        return ticks_us / 1e6 - self.offset_s

    def to_ticks(self, t: float) -> int:
        return round((t + self.offset_s) * 1e6)


class RigController(ABC):
    """What a scenario needs from the button rig."""

    @abstractmethod
    def identify(self) -> str: ...

    @abstractmethod
    def perform(self, name: str, gesture: Gesture) -> GestureResult:
        """Carry out a gesture now and return its edges on the harness clock."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> "RigController":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SerialRigController(RigController):
    """Driver for protocol BWC-RIG/1 (see harness/firmware/rigctl_core.py and lab_setup.md)."""

    LEAD_S = 0.05  # scheduling margin so the first edge is never in the controller's past

    def __init__(self, url: str, clock: Clock, baudrate: int = 115200, timeout_s: float = 2.0) -> None:
        self.url = url
        self.clock = clock
        self.timeout_s = timeout_s
        try:
            self._port = serial.serial_for_url(url, baudrate=baudrate, timeout=timeout_s)
        except (serial.SerialException, OSError) as exc:
            raise RigControllerError(f"rig controller at {url}: cannot open port ({exc})") from exc
        self._events: list[str] = []
        self._port.reset_input_buffer()
        self.mapping = self.sync()

    # -- line layer -----------------------------------------------------------------------
    def _send(self, line: str) -> None:
        try:
            self._port.write((line + "\n").encode("ascii"))
            self._port.flush()
        except (serial.SerialException, OSError) as exc:
            raise RigControllerError(f"rig controller at {self.url}: write of {line!r} failed ({exc})") from exc

    def _readline(self, waiting_for: str) -> str:
        try:
            raw = self._port.readline()
        except (serial.SerialException, OSError) as exc:
            raise RigControllerError(f"rig controller at {self.url}: read failed ({exc})") from exc
        if not raw.endswith(b"\n"):
            raise RigControllerError(
                f"rig controller at {self.url}: no answer to {waiting_for!r} within {self.timeout_s} s"
                + (f" (partial line {raw!r})" if raw else "")
            )
        try:
            return raw.decode("ascii").strip()
        except UnicodeDecodeError:
            raise RigControllerError(f"rig controller at {self.url}: garbled line {raw!r} while waiting for {waiting_for!r}")

    def _query(self, line: str, expect: str) -> str:
        """Send a command and return its synchronous reply; asynchronous lines are queued."""
        self._send(line)
        while True:
            reply = self._readline(line)
            head = reply.split(" ", 1)[0]
            if head in ("EDGE", "DONE"):
                self._events.append(reply)
            elif head == "ERR":
                raise RigControllerError(f"rig controller at {self.url} refused {line!r}: {reply[4:]}")
            elif head == expect:
                return reply[len(head):].strip()
            else:
                raise RigControllerError(
                    f"rig controller at {self.url}: unexpected line {reply!r} in answer to {line!r}"
                )

    # -- time ---------------------------------------------------------------------------
    def ticks(self) -> int:
        value = self._query("TIME?", "TIME")
        try:
            return int(value)
        except ValueError:
            raise RigControllerError(f"rig controller at {self.url}: TIME reply {value!r} is not an integer")

    def sync(self, exchanges: int = 8) -> TickMapping:
        """Estimate the tick offset from ``exchanges`` round trips, keeping the fastest."""
        best: tuple[float, float] | None = None
        for _ in range(exchanges):
            t0 = self.clock.now()
            ticks = self.ticks()
            t1 = self.clock.now()
            rtt = t1 - t0
            offset = ticks / 1e6 - (t0 + t1) / 2
            if best is None or rtt < best[0]:
                best = (rtt, offset)
        assert best is not None
        return TickMapping(offset_s=best[1], uncertainty_s=best[0] / 2)

    # -- actions ------------------------------------------------------------------------
    def identify(self) -> str:
        return self._query("ID?", "ID")

    def perform(self, name: str, gesture: Gesture) -> GestureResult:
        # Re-estimate the offset right before acting, so the controller crystal's drift only
        # accumulates over the gesture itself (seconds), not over the whole run (hours).
        self.mapping = self.sync(4)
        start = self.clock.now() + self.LEAD_S
        seqs: list[int] = []
        end = start
        for i, (offset_s, duration_s) in enumerate(gesture.schedule()):
            at = self.mapping.to_ticks(start + offset_s)
            ms = max(1, round(duration_s * 1000))
            seqs.append(int(self._query(f"PRESS {gesture.button} {ms} AT {at}", "OK")))
            end = max(end, start + offset_s + duration_s)
        self.clock.sleep_until(end + 0.01)
        edges = self._collect(set(seqs))
        return GestureResult(name=name, edges=edges, effective_t=gesture.effective_time(edges))

    def _collect(self, seqs: set[int]) -> tuple[Edge, ...]:
        pending = set(seqs)
        edges: list[Edge] = []
        while pending:
            line = self._events.pop(0) if self._events else self._readline(f"DONE of {sorted(pending)}")
            parts = line.split()
            try:
                if parts[0] == "EDGE" and len(parts) == 5 and parts[3] in ("DOWN", "UP"):
                    ticks = int(parts[4])
                    edges.append(Edge(parts[2], parts[3] == "DOWN", self.mapping.to_clock(ticks), ticks))
                elif parts[0] == "DONE" and len(parts) == 2:
                    pending.discard(int(parts[1]))
                else:
                    raise ValueError
            except (ValueError, IndexError):
                raise RigControllerError(f"rig controller at {self.url}: malformed event line {line!r}") from None
        return tuple(sorted(edges, key=lambda e: e.t))

    def close(self) -> None:
        try:
            self._port.close()
        except Exception:  # closing must never mask the error that brought us here
            log.warning("closing rig controller port %s failed", self.url, exc_info=True)
