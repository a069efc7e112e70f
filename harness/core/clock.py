"""One injected notion of time for the harness and the emulators.

Every timestamp in the harness is seconds on a :class:`Clock` (``now()``), counted from the
clock's epoch. ``RealClock`` follows the monotonic clock; ``VirtualClock`` jumps from one
scheduled event to the next, so a 12-hour shift on an emulated rig costs only the work done
at its events. No other module reads wall time; UTC comes from :meth:`Clock.utc`.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta


def wall_utc() -> datetime:
    """The wall-clock UTC instant: the only wall-time read in the project (run records, RealClock)."""
    return datetime.now(UTC)


@dataclass(order=True)
class Timer:
    """A callback due at ``when`` (clock seconds). Cancel it with :meth:`cancel`."""

    when: float
    seq: int
    callback: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class Clock(ABC):
    """Seconds since the clock's epoch, plus scheduling on the same time base."""

    def __init__(self, utc_epoch: datetime) -> None:
        if utc_epoch.tzinfo is None:
            raise ValueError("utc_epoch must be timezone-aware")
        self.utc_epoch = utc_epoch

    @abstractmethod
    def now(self) -> float:
        """Seconds since the epoch on this clock."""

    @abstractmethod
    def sleep_until(self, when: float) -> None:
        """Block until ``now() >= when``; due timers run meanwhile."""

    @abstractmethod
    def call_at(self, when: float, callback: Callable[[], None]) -> Timer:
        """Run ``callback`` once at clock time ``when`` (at once if already past)."""

    def sleep(self, seconds: float) -> None:
        self.sleep_until(self.now() + seconds)

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        return self.call_at(self.now() + delay, callback)

    def utc(self, t: float | None = None) -> datetime:
        """UTC of clock time ``t`` (default: now)."""
        return self.utc_epoch + timedelta(seconds=self.now() if t is None else t)

    def close(self) -> None:  # noqa: B027 (a clock with no machinery has nothing to stop)
        """Stop any background machinery; pending timers are dropped."""


class VirtualClock(Clock):
    """Simulated time: ``sleep_until`` runs due timers in order and jumps between them.

    Timers run in the thread that advances time. Other threads (serial and SCPI servers of
    an emulated rig) may read ``now()`` and schedule timers at any moment; time only moves
    when the harness sleeps, so a device's reply is always stamped at the instant the harness
    asked for it.
    """

    def __init__(self, start: float = 0.0, utc_epoch: datetime | None = None) -> None:
        super().__init__(utc_epoch or datetime(2026, 1, 1, tzinfo=UTC))
        self._now = start
        self._heap: list[Timer] = []
        self._seq = itertools.count()
        self._lock = threading.RLock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def call_at(self, when: float, callback: Callable[[], None]) -> Timer:
        with self._lock:
            timer = Timer(max(when, self._now), next(self._seq), callback)
            heapq.heappush(self._heap, timer)
            return timer

    def sleep_until(self, when: float) -> None:
        while True:
            with self._lock:
                if not self._heap or self._heap[0].when > when:
                    self._now = max(self._now, when)
                    return
                timer = heapq.heappop(self._heap)
                self._now = max(self._now, timer.when)
            if not timer.cancelled:
                timer.callback()

    def pending(self) -> int:
        """Number of live timers (for tests and diagnostics)."""
        with self._lock:
            return sum(not t.cancelled for t in self._heap)


class RealClock(Clock):
    """Wall-clock time from ``time.monotonic``; timers run on one background thread."""

    def __init__(self) -> None:
        super().__init__(wall_utc())
        self._t0 = time.monotonic()
        self._heap: list[Timer] = []
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="RealClock-timers", daemon=True)
        self._thread.start()

    def now(self) -> float:
        return time.monotonic() - self._t0

    def sleep_until(self, when: float) -> None:
        while (remaining := when - self.now()) > 0:
            time.sleep(min(remaining, 0.5))

    def call_at(self, when: float, callback: Callable[[], None]) -> Timer:
        with self._cv:
            timer = Timer(when, next(self._seq), callback)
            heapq.heappush(self._heap, timer)
            self._cv.notify()
            return timer

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._closed and (not self._heap or self._heap[0].when > self.now()):
                    timeout = self._heap[0].when - self.now() if self._heap else None
                    self._cv.wait(timeout)
                if self._closed:
                    return
                timer = heapq.heappop(self._heap)
            if not timer.cancelled:
                timer.callback()

    def close(self) -> None:
        with self._cv:
            self._closed = True
            self._cv.notify()
