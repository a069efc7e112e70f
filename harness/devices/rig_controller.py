"""Rig controller driver: presses the camera's buttons at planned instants over a serial line.

The same code opens ``/dev/ttyACM0`` on a bench and the emulator's pty in CI. Press times come
back as the controller's own microsecond timestamps and are mapped onto the harness clock.

Clock mapping. Each ``TIME?`` exchange brackets the controller's tick between two harness
clock readings: the tick was taken somewhere inside that round trip, so the midpoint is off by
at most half the round trip. A burst of exchanges keeps only its fastest one (queueing delays
on USB and in the OS only ever lengthen a round trip). The kept samples of successive bursts
are fitted with a line: its level is the offset, its slope the controller crystal's drift.
The reported uncertainty is a bound built from the half round trips, not a statistical guess.

Solenoid latency. The controller stamps the instant it energises a solenoid; the button closes
a few milliseconds later (stroke and spring). That calibrated figure, per button or one for
all, is added to a gesture's effective time: the instant the camera acts is the contact.

The driver is shared: the flash schedule of a bench tops up the controller's queue from its own
thread while the runner performs gestures, so every exchange on the line holds a lock.
"""

from __future__ import annotations

import logging
import math
import threading
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Self

import serial

from harness.core.clock import Clock
from harness.plan.profile import Gesture

try:
    from termios import error as _TermiosError  # pyserial lets it through when a port vanishes mid-drain
except ImportError:  # not a POSIX system

    class _TermiosError(Exception):  # type: ignore[no-redef]
        pass


#: What a port that stops working raises (USB unplugged, pty closed).
PORT_ERRORS = (serial.SerialException, OSError, _TermiosError)

log = logging.getLogger(__name__)

#: Samples kept for the drift fit; at one sync per gesture this spans many minutes.
MAX_SAMPLES = 32
#: Samples must span this long before a slope is believed (shorter: drift is noise).
MIN_DRIFT_SPAN_S = 1.0
#: A burst whose fastest round trip is this many times the best seen is congested: not fitted.
CONGESTED_RTT_FACTOR = 4.0


class RigControllerError(RuntimeError):
    """The controller did not answer, or answered something the protocol does not allow."""


@dataclass(frozen=True)
class Edge:
    """One solenoid (or stimulus) edge: down/on or up/off, at harness clock time ``t``."""

    button: str
    down: bool
    t: float
    ticks_us: int


@dataclass(frozen=True)
class LightEdge:
    """One photodiode edge on the display's patch (``level`` 1: light came on), at harness time ``t``."""

    t: float
    level: int
    ticks_us: int


@dataclass(frozen=True)
class GestureResult:
    """What the controller actually did for one gesture, with the instant the camera should act."""

    name: str
    edges: tuple[Edge, ...]
    effective_t: float
    latency_s: float = 0.0  # calibrated solenoid latency included in effective_t (edges are as driven)


@dataclass(frozen=True)
class StimulusResult:
    """One flash-and-beep: on and off on the harness clock, from the controller's own ticks."""

    on_t: float
    off_t: float
    on_ticks_us: int


@dataclass(frozen=True)
class SyncSample:
    """The fastest exchange of one burst: controller seconds at harness time ``t``, within +/- rtt/2."""

    t: float
    ticks_s: float
    rtt_s: float


@dataclass(frozen=True)
class TickMapping:
    """ticks_us / 1e6 = t + offset_s + drift_ppm * 1e-6 * (t - ref_t), for harness time t.

    ``uncertainty_s`` bounds the offset at ``ref_t``; away from it the bound grows by
    ``drift_uncertainty_ppm`` per second (see :meth:`uncertainty_at`).
    """

    offset_s: float
    uncertainty_s: float
    drift_ppm: float = 0.0
    ref_t: float = 0.0
    drift_uncertainty_ppm: float = 0.0

    def to_clock(self, ticks_us: int) -> float:
        k = self.drift_ppm * 1e-6
        return (ticks_us / 1e6 - self.offset_s + k * self.ref_t) / (1.0 + k)

    def to_ticks(self, t: float) -> int:
        k = self.drift_ppm * 1e-6
        return round((t + self.offset_s + k * (t - self.ref_t)) * 1e6)

    def uncertainty_at(self, t: float) -> float:
        return self.uncertainty_s + self.drift_uncertainty_ppm * 1e-6 * abs(t - self.ref_t)


def fit_mapping(samples: list[SyncSample], previous: TickMapping | None = None) -> TickMapping:
    """Offset and drift from min-round-trip samples (weighted least squares on ticks - t).

    With samples spanning less than :data:`MIN_DRIFT_SPAN_S` the slope is unknown: the previous
    mapping's drift is kept (0 at first) and only the offset is taken from the newest sample.
    """
    if not samples:
        raise ValueError("no sync samples")
    best = min(s.rtt_s for s in samples)
    usable = [s for s in samples if s.rtt_s <= CONGESTED_RTT_FACTOR * best + 1e-5] or samples
    last = samples[-1]
    ref_t = last.t
    span = usable[-1].t - usable[0].t if len(usable) > 1 else 0.0
    if span < MIN_DRIFT_SPAN_S:
        drift = previous.drift_ppm if previous else 0.0
        drift_unc = previous.drift_uncertainty_ppm if previous else 0.0
        return TickMapping(last.ticks_s - last.t, last.rtt_s / 2, drift, ref_t, drift_unc)
    # y = ticks_s - t = a + k (t - ref_t); weights favour the tightest brackets
    w = [1.0 / (s.rtt_s / 2 + 1e-6) ** 2 for s in usable]
    xs = [s.t - ref_t for s in usable]
    ys = [s.ticks_s - s.t for s in usable]
    sw = sum(w)
    mx = sum(wi * x for wi, x in zip(w, xs)) / sw
    my = sum(wi * y for wi, y in zip(w, ys)) / sw
    sxx = sum(wi * (x - mx) ** 2 for wi, x in zip(w, xs))
    k = sum(wi * (x - mx) * (y - my) for wi, x, y in zip(w, xs, ys)) / sxx
    a = my - k * mx
    worst_residual = max(abs(y - (a + k * x)) for x, y in zip(xs, ys))
    # Bound: the newest bracket, widened by how far any kept sample strays from the line.
    uncertainty = max(last.rtt_s / 2, worst_residual)
    first, newest = usable[0], usable[-1]
    drift_unc = (first.rtt_s / 2 + newest.rtt_s / 2) / span * 1e6
    return TickMapping(
        offset_s=a, uncertainty_s=uncertainty, drift_ppm=k * 1e6, ref_t=ref_t, drift_uncertainty_ppm=drift_unc
    )


class RigController(ABC):
    """What a scenario needs from the button rig: gestures, the A/V stimulus and the tick mapping.

    A controller without stimulus hardware answers the stimulus methods with
    :class:`RigControllerError` (the rig file then says ``stimulus: false``).
    """

    #: Scheduling margin so an action is never asked for in the controller's past (s).
    LEAD_S: ClassVar[float] = 0.2
    #: The kept sync samples (newest last) behind the present tick mapping.
    samples: deque[SyncSample]

    @abstractmethod
    def identify(self) -> str: ...

    @abstractmethod
    def perform(self, name: str, gesture: Gesture) -> GestureResult:
        """Carry out a gesture now and return its edges on the harness clock."""

    @abstractmethod
    def latency_for(self, button: str) -> float:
        """Calibrated solenoid latency of ``button`` (s): drive edge to button contact."""

    @abstractmethod
    def sync(self, exchanges: int = 8) -> TickMapping:
        """Refresh the mapping of controller ticks onto the harness clock."""

    @abstractmethod
    def flash(self, duration_s: float = 0.1, at_t: float | None = None) -> StimulusResult:
        """Fire the flash-and-beep stimulus (at harness time ``at_t``, default now) and wait for it."""

    @abstractmethod
    def schedule_flash(self, at_t: float, duration_s: float = 0.1) -> int:
        """Queue one flash-and-beep at harness time ``at_t``; returns its sequence number."""

    @abstractmethod
    def collect_flashes(self, seqs: list[int]) -> list[StimulusResult]:
        """Wait for the reports of queued flashes, in the order of ``seqs``."""

    def relays(self) -> list[str]:
        """The controller's relays by name (none on a controller without any)."""
        return []

    def relay(self, name: str, on: bool) -> tuple[Edge, float]:
        """Switch relay ``name`` (the dock's contacts, say) now; returns its edge on the harness
        clock and how well that instant is known (s). A controller without relays refuses."""
        raise RigControllerError(f"rig controller {self.identify()} has no relay {name!r}")

    def light(self, on: bool) -> None:
        """Start (or stop) reporting the photodiode's light edges. A controller without one refuses."""
        raise RigControllerError(f"rig controller {self.identify()} has no photodiode input")

    def light_edges(self) -> list[LightEdge]:
        """The light edges reported since the last call, on the harness clock, oldest first."""
        raise RigControllerError(f"rig controller {self.identify()} has no photodiode input")

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SerialRigController(RigController):
    """Driver for protocol BWC-RIG/1 (see harness/firmware/rigctl_core.py and lab_setup.md)."""

    #: Scheduling margin so the first edge is never in the controller's past. A loaded PC (or a
    #: busy USB hub) can hold a command back for tens of milliseconds; the margin costs no accuracy
    #: (edges are timestamped by the controller), only this much extra time per gesture.
    LEAD_S: ClassVar[float] = 0.2

    def __init__(
        self,
        url: str,
        clock: Clock,
        baudrate: int = 115200,
        timeout_s: float = 2.0,
        press_latency_s: float | Mapping[str, float] = 0.0,
        write_timeout_s: float | None = None,
    ) -> None:
        """``timeout_s`` bounds the wait for one reply line; ``write_timeout_s`` (None: no bound)
        the wait for a command to leave the port."""
        self.url = url
        self.clock = clock
        self.timeout_s = timeout_s
        self.press_latency_s = _check_latency(press_latency_s)
        self._lock = threading.RLock()
        try:
            self._port = serial.serial_for_url(url, baudrate=baudrate, timeout=timeout_s, write_timeout=write_timeout_s)
        except (serial.SerialException, OSError) as exc:
            raise RigControllerError(f"rig controller at {url}: cannot open port ({exc})") from exc
        self._events: list[str] = []
        self._light_lines: list[str] = []  # LIGHTS lines not yet taken by light_edges()
        self._lost: str | None = None  # why the port stopped working (unplugged, I/O error)
        self._unsettled = False  # a failed exchange may have left stray bytes on the line
        self.samples: deque[SyncSample] = deque(maxlen=MAX_SAMPLES)
        self.mapping: TickMapping | None = None
        try:
            self._port.reset_input_buffer()
            self.mapping = self.sync()
        except Exception:
            self.close()
            raise

    # -- line layer -----------------------------------------------------------------------
    def _port_failed(self, what: str, exc: Exception) -> RigControllerError:
        """The port itself failed (cable out, device gone): close it, and fail every later use.

        The port is not reopened behind the user's back: the path may by then belong to another
        device, and pressing a stranger's buttons is worse than stopping.
        """
        self._lost = f"{what} failed ({exc})"
        self.close()
        return RigControllerError(
            f"rig controller at {self.url}: {self._lost}; the port is gone - "
            "reconnect the controller and start the run again"
        )

    def _usable(self, line: str) -> None:
        """Refuse to talk over a lost port; after a failed exchange, start from a clean line."""
        if self._lost is not None:
            raise RigControllerError(
                f"rig controller at {self.url}: cannot send {line!r}, the port was lost earlier ({self._lost})"
            )
        if self._unsettled:
            self._unsettled = False
            self._events.clear()  # lines of an action the failure interrupted are of no use now
            try:
                self._port.reset_input_buffer()
            except PORT_ERRORS as exc:
                raise self._port_failed("clearing the input", exc) from exc

    def _send(self, line: str) -> None:
        self._usable(line)
        try:
            self._port.write((line + "\n").encode("ascii"))
            self._port.flush()
        except PORT_ERRORS as exc:
            raise self._port_failed(f"write of {line!r}", exc) from exc

    def _readline(self, waiting_for: str) -> str:
        """The next line that is not a photodiode report (those are kept for :meth:`light_edges`)."""
        while True:
            line = self._readline_any(waiting_for)
            if not line.startswith("LIGHTS "):
                return line
            self._light_lines.append(line)

    def _readline_any(self, waiting_for: str) -> str:
        try:
            raw = self._port.readline()
        except PORT_ERRORS as exc:
            raise self._port_failed(f"read while waiting for {waiting_for!r}", exc) from exc
        try:
            return self._decode(raw, waiting_for)
        except RigControllerError:
            self._unsettled = True  # a late or partial answer may still arrive
            raise

    def _decode(self, raw: bytes, waiting_for: str) -> str:
        """A whole ASCII line, or an error saying what came instead (nothing, part of a line, noise)."""
        if not raw.endswith(b"\n"):
            raise RigControllerError(
                f"rig controller at {self.url}: no answer to {waiting_for!r} within {self.timeout_s} s"
                + (f" (partial line {raw!r})" if raw else "")
            )
        try:
            return raw.decode("ascii").strip()
        except UnicodeDecodeError:
            raise RigControllerError(
                f"rig controller at {self.url}: garbled line {raw!r} while waiting for {waiting_for!r}"
            ) from None

    def _query(self, line: str, expect: str) -> str:
        """Send a command and return its synchronous reply; asynchronous lines are queued."""
        with self._lock:
            return self._query_locked(line, expect)

    def _query_locked(self, line: str, expect: str) -> str:
        self._send(line)
        while True:
            reply = self._readline(line)
            head = reply.split(" ", 1)[0]
            if head in ("EDGE", "DONE"):
                self._events.append(reply)
            elif head == "ERR":
                raise RigControllerError(f"rig controller at {self.url} refused {line!r}: {reply[4:]}")
            elif head == expect:
                return reply[len(head) :].strip()
            else:
                self._unsettled = True
                raise RigControllerError(
                    f"rig controller at {self.url}: unexpected line {reply!r} in answer to {line!r}"
                )

    # -- time ---------------------------------------------------------------------------
    def ticks(self) -> int:
        value = self._query("TIME?", "TIME")
        try:
            return int(value)
        except ValueError:
            raise RigControllerError(f"rig controller at {self.url}: TIME reply {value!r} is not an integer") from None

    def exchange(self) -> SyncSample:
        """One ``TIME?`` round trip, bracketed by two clock readings."""
        with self._lock:  # the bracket must not include another thread's exchange
            t0 = self.clock.now()
            ticks = self.ticks()
            t1 = self.clock.now()
        return SyncSample(t=(t0 + t1) / 2, ticks_s=ticks / 1e6, rtt_s=t1 - t0)

    def sync(self, exchanges: int = 8) -> TickMapping:
        """Add the fastest of ``exchanges`` round trips to the samples and refit offset and drift."""
        with self._lock:  # one burst and one refit at a time (the flash schedule resyncs too)
            best = min((self.exchange() for _ in range(max(1, exchanges))), key=lambda s: s.rtt_s)
            self.samples.append(best)
            self.mapping = fit_mapping(list(self.samples), self.mapping)
            return self.mapping

    # -- actions ------------------------------------------------------------------------
    def identify(self) -> str:
        return self._query("ID?", "ID")

    def latency_for(self, button: str) -> float:
        """Calibrated solenoid latency of ``button`` (s): drive edge to button contact."""
        if isinstance(self.press_latency_s, float):
            return self.press_latency_s
        return self.press_latency_s.get(button, 0.0)

    def perform(self, name: str, gesture: Gesture) -> GestureResult:
        # Re-sync right before acting: the fit then holds at the gesture, and the drift only
        # matters over the gesture itself (seconds), not over the whole run (hours).
        mapping = self.sync(4)
        start = self.clock.now() + self.LEAD_S
        seqs: list[int] = []
        end = start
        presses = gesture.presses_made()
        for press in presses:
            at = mapping.to_ticks(start + press.at_s)
            ms = max(1, round(press.hold_s * 1000))
            seqs.append(self._seq(self._query(f"PRESS {press.button} {ms} AT {at}", "OK")))
            end = max(end, start + press.at_s + press.hold_s)
        self.clock.sleep_until(end + 0.01)
        edges = self._collect(set(seqs))
        latency = self.latency_for(presses[-1].button)  # the press the camera acts on
        return GestureResult(
            name=name, edges=edges, effective_t=gesture.effective_time(edges) + latency, latency_s=latency
        )

    def relays(self) -> list[str]:
        """``RELAYS?``: the relays the firmware has (firmware before 1.2 knows no relays: none)."""
        try:
            names = self._query("RELAYS?", "RELAYS")
        except RigControllerError as exc:
            if "BADCMD" in str(exc):
                return []
            raise
        return [n for n in names.split(",") if n]

    def relay(self, name: str, on: bool) -> tuple[Edge, float]:
        """Switch relay ``name`` just after now (``RELAY <name> ON|OFF AT <ticks>``) and wait for
        its edge, stamped by the controller; the instant is known to the tick mapping's bound."""
        mapping = self.sync(4)
        at = self.clock.now() + self.LEAD_S
        seq = self._seq(self._query(f"RELAY {name} {'ON' if on else 'OFF'} AT {mapping.to_ticks(at)}", "OK"))
        self.clock.sleep_until(at + 0.01)
        edges = self._collect({seq})
        if len(edges) != 1 or edges[0].down != on:
            raise RigControllerError(f"rig controller at {self.url}: relay {name} reported {len(edges)} edge(s)")
        return edges[0], self._mapping().uncertainty_at(edges[0].t)

    def light(self, on: bool) -> None:
        """``LIGHT ON|OFF`` (protocol BWC-RIG/1.1): report the photodiode's edges, or stop."""
        word = "ON" if on else "OFF"
        try:
            reply = self._query(f"LIGHT {word}", "LIGHT")
        except RigControllerError as exc:
            if "BADCMD" in str(exc) or "NOLIGHT" in str(exc):
                raise RigControllerError(
                    f"rig controller at {self.url} has no photodiode input (firmware before 1.3, or none wired)"
                ) from None
            raise
        if reply != word:
            raise RigControllerError(f"rig controller at {self.url}: LIGHT {word} answered {reply!r}")

    def light_edges(self) -> list[LightEdge]:
        """``LIGHT?`` (the controller sends every edge it holds first), then the edges of the LIGHTS
        lines read since the last call, mapped onto the harness clock."""
        with self._lock:
            reply = self._query_locked("LIGHT?", "LIGHT")
            lines, self._light_lines = self._light_lines, []
            mapping = self._mapping()
        state = reply.split()
        if len(state) == 2 and state[1] != "0":
            log.warning("rig controller at %s lost %s photodiode edge(s) (its buffer was full)", self.url, state[1])
        out: list[LightEdge] = []
        for line in lines:
            try:
                words = line.split()[1:]
                level, ticks = int(words[0]), int(words[1])
                deltas = [int(w) for w in words[2:]]
                if level not in (0, 1) or any(d < 0 for d in deltas):
                    raise ValueError
            except (ValueError, IndexError):
                raise RigControllerError(f"rig controller at {self.url}: malformed light line {line!r}") from None
            for d in [0, *deltas]:
                ticks += d
                out.append(LightEdge(mapping.to_clock(ticks), level, ticks))
                level ^= 1
        return out

    def flash(self, duration_s: float = 0.1, at_t: float | None = None) -> StimulusResult:
        """Fire the flash-and-beep at ``at_t`` (default: now plus the scheduling lead) and wait for it."""
        at = self.clock.now() + self.LEAD_S if at_t is None else at_t
        seq = self.schedule_flash(at, duration_s)
        self.clock.sleep_until(at + duration_s + 0.01)
        return self.collect_flashes([seq])[0]

    def schedule_flash(self, at_t: float, duration_s: float = 0.1) -> int:
        """Queue one flash-and-beep on the controller (it times it); returns its sequence number."""
        ms = max(1, round(duration_s * 1000))
        return self._seq(self._query(f"FLASH {ms} AT {self._mapping().to_ticks(at_t)}", "OK"))

    def collect_flashes(self, seqs: list[int]) -> list[StimulusResult]:
        """Wait for the reports of queued flashes, in the order of ``seqs``."""
        edges = self._collect(set(seqs), keep_seq=True)
        out = []
        for seq in seqs:
            on = [e for q, e in edges if q == seq and e.down]
            off = [e for q, e in edges if q == seq and not e.down]
            if not on or not off:
                raise RigControllerError(f"rig controller at {self.url}: flash {seq} reported no ON/OFF edges")
            out.append(StimulusResult(on_t=on[0].t, off_t=off[0].t, on_ticks_us=on[0].ticks_us))
        return out

    def _mapping(self) -> TickMapping:
        """The present tick mapping (there is one from the first sync in the constructor on)."""
        if self.mapping is None:
            raise RigControllerError(f"rig controller at {self.url}: its clock was never synchronised")
        return self.mapping

    def _seq(self, text: str) -> int:
        try:
            return int(text)
        except ValueError:
            raise RigControllerError(
                f"rig controller at {self.url}: OK reply {text!r} is not a sequence number"
            ) from None

    def _collect(self, seqs: set[int], keep_seq: bool = False) -> tuple:
        """Read EDGE/DONE lines until every one of ``seqs`` is DONE; lines of other actions wait their turn."""
        with self._lock:
            return self._collect_locked(seqs, keep_seq)

    def _collect_locked(self, seqs: set[int], keep_seq: bool) -> tuple:
        pending = set(seqs)
        edges: list[tuple[int, Edge]] = []
        others: list[str] = []
        try:
            while pending:
                line = self._events.pop(0) if self._events else self._readline(f"DONE of {sorted(pending)}")
                parts = line.split()
                try:
                    seq = int(parts[1])
                    if seq not in seqs:
                        others.append(line)
                    elif parts[0] == "EDGE" and len(parts) == 5 and parts[3] in ("DOWN", "UP", "ON", "OFF"):
                        ticks = int(parts[4])
                        edge = Edge(parts[2], parts[3] in ("DOWN", "ON"), self._mapping().to_clock(ticks), ticks)
                        edges.append((seq, edge))
                    elif parts[0] == "DONE" and len(parts) == 2:
                        pending.discard(seq)
                    else:
                        raise ValueError
                except (ValueError, IndexError):
                    self._unsettled = True
                    raise RigControllerError(f"rig controller at {self.url}: malformed event line {line!r}") from None
        finally:
            self._events[:0] = others
        edges.sort(key=lambda qe: qe[1].t)
        if keep_seq:
            return tuple(edges)
        return tuple(e for _, e in edges)

    def close(self) -> None:
        try:
            self._port.close()
        except Exception:  # closing must never mask the error that brought us here
            log.warning("closing rig controller port %s failed", self.url, exc_info=True)


def _check_latency(value: float | Mapping[str, float]) -> float | dict[str, float]:
    """A solenoid latency in seconds (one figure, or per button): finite, 0..0.5 s."""
    figures = value.items() if isinstance(value, Mapping) else [("", value)]
    for button, seconds in figures:
        if not isinstance(seconds, (int, float)) or not math.isfinite(seconds) or not 0.0 <= seconds <= 0.5:
            where = f" of button {button!r}" if button else ""
            raise ValueError(f"solenoid press latency{where} must be 0..0.5 s, got {seconds!r}")
    return {str(b): float(s) for b, s in value.items()} if isinstance(value, Mapping) else float(value)
