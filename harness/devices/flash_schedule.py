"""The A/V stimulus on a bench: the rig controller fires the schedule's flash-and-chirp.

The stimulus schedule (harness/stimulus.py) is a pure function of scene time; the display
draws its flash strip from it. On a bench the speaker (and the flash LED) hang on the rig
controller, which fires ``FLASH`` commands on its own microsecond timebase. While a scenario
runs, :class:`FlashSchedule` keeps the controller's queue a few events ahead: each event at
nominal scene time ``e`` is sent as ``FLASH <ms> AT <ticks>`` for the harness time the display
is expected to show it (``e`` plus the display's calibrated latency), mapped to controller
ticks. Every fired flash comes back with its controller timestamp on the harness clock; the
analysis then measures audio against the instant the speaker really fired
(harness/analysis/present.py), so a late command or a late frame cannot pass for an A/V error.

Why a refill loop rather than the whole scenario at once: the controller holds at most 64
timed actions, and a shift lasts twelve hours. With a virtual clock the refills are timers on
that clock (they run while the harness sleeps); with a real clock they run on a thread of their
own, so a slow serial line never holds up the clock's other timers.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Protocol

from harness.core.clock import Clock, Timer, VirtualClock
from harness.core.timeline import Action, FlashFired, Timeline
from harness.devices.display import Display
from harness.devices.rig_controller import MIN_DRIFT_SPAN_S, RigController, RigControllerError
from harness.scene.stimulus import FLASH_S, event_times

log = logging.getLogger(__name__)

#: how far ahead flashes are queued on the controller (at most 2 events: 4 of its 64 timed actions);
#: also how long flashes may go on firing after a scenario's last step
HORIZON_S = 4.0
#: how often the queue is topped up and finished flashes are read back (a refill up to
#: HORIZON_S - REFILL_S late still queues every event in time)
REFILL_S = 1.0
#: the tick mapping is refreshed when its newest sample is older than this, so a long wait between
#: gestures does not let the controller crystal's drift move the flashes
RESYNC_S = 5.0
#: a flash is read back this long after it ended (its report lines are surely in by then)
REPORT_MARGIN_S = 0.3


class StimulusRig(Protocol):
    """What the schedule reads of a rig (harness/rig's ``Rig``): whether and through what it fires."""

    @property
    def controller(self) -> RigController: ...
    @property
    def stimulus(self) -> bool: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def refresh_hz(self) -> float: ...
    @property
    def display(self) -> Display | None: ...


@dataclass(frozen=True)
class FiredFlash:
    """One stimulus of the schedule as the controller fired it (times on the harness clock)."""

    event_s: float  # nominal scene time of the schedule's event
    planned_t: float  # when it was asked for
    on_t: float  # when the controller switched flash and speaker on (its own timestamp)
    off_t: float


@dataclass
class FlashSchedule:
    """Fires the stimulus schedule on the rig controller between :meth:`start` and :meth:`stop`.

    ``lead_s`` is added to each event's nominal time: the display's calibrated latency, so the
    speaker sounds when the flash strip lights up. An inert schedule (``controller`` None)
    fires nothing; the runner uses one for rigs whose camera gets its stimulus elsewhere.
    """

    controller: RigController | None
    clock: Clock
    refresh_hz: float = 60.0
    lead_s: float = 0.0
    horizon_s: float = HORIZON_S
    refill_s: float = REFILL_S
    fired: list[FiredFlash] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    skipped: list[float] = field(default_factory=list)  # events due before a late refill could queue them

    def __post_init__(self) -> None:
        self._queued: dict[int, tuple[float, float]] = {}  # seq -> (event_s, planned_t)
        self._next_from = -1.0  # events before this scene time were already considered
        self._lock = threading.Lock()
        self._running = False
        self._timer: Timer | None = None
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()

    @classmethod
    def for_rig(cls, rig: StimulusRig) -> FlashSchedule:
        """The rig's schedule: live when its controller fires the stimulus, inert otherwise."""
        controller = rig.controller if rig.stimulus else None
        display = rig.display
        lead = display.log.latency_s if display is not None else 0.0
        return cls(controller, rig.clock, rig.refresh_hz, lead)

    @property
    def live(self) -> bool:
        return self.controller is not None

    # -- running -------------------------------------------------------------------------
    def start(self) -> None:
        if not self.live or self._running:
            return
        self._running = True
        self._next_from = self.clock.now() + self.controller.LEAD_S - self.lead_s  # type: ignore[union-attr]
        self._refill()
        if isinstance(self.clock, VirtualClock):
            self._timer = self.clock.call_later(self.refill_s, self._tick)
        else:
            self._wake.clear()
            self._thread = threading.Thread(target=self._loop, name="flash-schedule", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Queue no more flashes (those already queued still fire; :meth:`finish` reads them)."""
        self._running = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10.0)
            self._thread = None

    def finish(self, timeline: Timeline | None = None) -> list[tuple[float, float]] | None:
        """Stop, wait for the queued flashes, and return every fired one as (event time, on time).

        ``None`` for an inert schedule (nothing was fired, the analysis keeps the camera's own
        stimuli). Each fired flash is added to ``timeline`` as a ``stimulus`` action.
        """
        if not self.live:
            return None
        self.stop()
        with self._lock:
            if self._queued:
                last = max(planned for _, planned in self._queued.values())
                self.clock.sleep_until(last + FLASH_S + REPORT_MARGIN_S)
            self._read_back(everything=True)
        if timeline is not None:
            _merge(
                timeline,
                [Action(f.on_t, "stimulus", "flash", FlashFired(f.event_s, f.off_t, f.planned_t)) for f in self.fired],
            )
        return [(f.event_s, f.on_t) for f in self.fired]

    def __enter__(self) -> FlashSchedule:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- refills -------------------------------------------------------------------------
    def _tick(self) -> None:
        if not self._running:
            return
        self._refill()
        if self._running:
            self._timer = self.clock.call_later(self.refill_s, self._tick)

    def _loop(self) -> None:
        while not self._wake.wait(self.refill_s):
            self._refill()

    def _refill(self) -> None:
        """Read back finished flashes, then queue the events of the next ``horizon_s``."""
        assert self.controller is not None
        with self._lock:
            if not self._running:
                return
            try:
                self._resync_if_stale()
                self._read_back(everything=False)
                now = self.clock.now()
                earliest = now + self.controller.LEAD_S
                until = now + self.horizon_s
                for e in event_times(self._next_from, until - self.lead_s, self.refresh_hz):
                    planned = e + self.lead_s
                    if planned < earliest:  # a refill came late (loaded PC): this one cannot be told in time
                        self.skipped.append(e)
                        continue
                    seq = self.controller.schedule_flash(planned, FLASH_S)
                    self._queued[seq] = (e, planned)
                self._next_from = max(self._next_from, until - self.lead_s)
            except Exception as exc:
                # A refusal (queue full, an instant already past) costs one refill: the A/V check
                # reports the stimuli that are missing. No stimulus hardware, or a controller that
                # stopped answering properly: stop asking (a gesture will report the controller).
                self.errors.append(str(exc))
                log.warning("flash schedule: %s", exc)
                refused = isinstance(exc, RigControllerError) and " refused " in str(exc)
                if not refused or "NOSTIM" in str(exc):
                    self._running = False
                    self._wake.set()

    def _resync_if_stale(self) -> None:
        """Refresh the tick mapping when it is old, or while it does not know the drift yet."""
        assert self.controller is not None
        samples = self.controller.samples
        age = self.clock.now() - samples[-1].t if samples else float("inf")
        drift_unknown = not samples or samples[-1].t - samples[0].t < MIN_DRIFT_SPAN_S
        if age > RESYNC_S or (drift_unknown and age > MIN_DRIFT_SPAN_S):
            self.controller.sync(4)

    def _read_back(self, everything: bool) -> None:
        """Collect the reports of queued flashes that are over (or of all of them)."""
        assert self.controller is not None
        horizon = self.clock.now() - FLASH_S - REPORT_MARGIN_S
        done = [seq for seq, (_, planned) in self._queued.items() if everything or planned <= horizon]
        if not done:
            return
        try:
            results = self.controller.collect_flashes(done)
        except RigControllerError as exc:  # reports lost: those flashes count as not fired
            self.errors.append(str(exc))
            log.warning("flash schedule: %s", exc)
            results = []
        for seq, result in zip(done, results):
            event_s, planned = self._queued[seq]
            self.fired.append(FiredFlash(event_s, planned, result.on_t, result.off_t))
        for seq in done:
            self._queued.pop(seq, None)
        self.fired.sort(key=lambda f: f.event_s)


def _merge(timeline: Timeline, flashes: list[Action]) -> None:
    """Put the flashes among the steps' actions in time order, leaving the steps' own order alone."""
    merged: list[Action] = []
    i = 0
    for action in timeline.actions:
        while i < len(flashes) and flashes[i].t <= action.t:
            merged.append(flashes[i])
            i += 1
        merged.append(action)
    timeline.actions[:] = merged + flashes[i:]
