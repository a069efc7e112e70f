"""Present times measured with a photodiode: light edges of the display's patch, stamped by the rig controller.

The scene carries a small patch (harness/scene/presentation.py) whose level follows
:func:`~harness.scene.presentation.patch_level` of the frame shown. A photodiode with a
comparator on it feeds the rig controller, which timestamps every light edge in its own
microsecond clock (``LIGHT ON`` / ``LIGHTS`` lines, protocol BWC-RIG/1.1); the driver maps the
ticks onto the harness clock with the controller's clock mapping.

From the edges alone this log rebuilds which frame each refresh showed:

1. **Refresh grid.** Edges fall on refresh starts; the gap between two edges, in refreshes, is
   rounded (the display's own rate only has to be within a few per cent of ``refresh_hz``).
   Refreshes without an edge (the patch kept its level) get their start from their neighbours.
2. **Levels.** Each refresh's patch level is the level of the last edge at or before it.
3. **Frames.** A Viterbi path through the candidate frames of each refresh (due within
   ``max_lag_s`` before it) whose patch level matches, stepping one frame per refresh where
   it can: a repeat (a frame shown twice) or a skip (a frame never shown) each costs one.

The decoding is incremental: frames more than :data:`SETTLE_S` before the newest edge are final
and their edges dropped, except :data:`SETTLE_S` of them kept as the next window's anchor; a
12-hour run costs its edges once, not once per scenario, and holds seconds of edges, not hours.

Frame ``n``'s present time is the start of the first refresh that showed it (plus the
calibrated ``latency_s``: photodiode edge to light at the code rows). Frames never shown are the
log's drops; frames shown more than one refresh, and frames shown later than the run's usual lag
by half a refresh or more, are the other anomalies :meth:`PhotodiodePresentLog.anomalies` names.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from harness.devices.display import DisplayStats, RecordedPresentLog
from harness.devices.rig_controller import LightEdge, RigController
from harness.scene.presentation import patch_level

log = logging.getLogger(__name__)

#: cost of a refresh whose level does not match its frame's patch (a missed or spurious edge)
MISMATCH_COST = 4.0
#: candidate frames per refresh (the display's lag varies over less than this many refreshes)
CANDIDATES = 7


#: cost per refresh a frame's lag strays from the display's usual lag (frame numbers stay anchored)
LAG_COST = 0.5
#: seconds of edges before the newest one whose frames stay provisional, and of final edges kept
#: before the next window (the path's anchor: a slow-pattern mark every second)
SETTLE_S = 3.0
#: cost of a path that renumbers a final frame in the next window's anchor
PIN_COST = 1000.0


def _viterbi(emit: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """The cheapest frame per refresh: ``emit[k, j]`` is candidate ``lo[k] + j``'s own cost; one
    frame per refresh is free, a repeat or a skip costs one, going back is impossible."""
    slots, width = emit.shape
    cost = emit[0].copy()
    back = np.zeros((slots, width), dtype=np.int64)
    shift = np.diff(lo).tolist()
    rows = np.arange(width)
    moves: dict[int, np.ndarray] = {}
    for k in range(1, slots):
        move = moves.get(shift[k - 1])
        if move is None:  # [to, from]
            step = shift[k - 1] + rows[:, None] - rows[None, :]
            move = np.where(step < 0, np.inf, np.abs(step - 1).astype(np.float64))
            moves[shift[k - 1]] = move
        total = move + cost[None, :]
        best = np.argmin(total, axis=1)
        back[k] = best
        cost = total[rows, best] + emit[k]
    path = np.empty(slots, dtype=np.int64)
    j = int(np.argmin(cost))
    for k in range(slots - 1, -1, -1):
        path[k] = lo[k] + j
        j = int(back[k, j])
    return path


class PhotodiodePresentLog(RecordedPresentLog):
    """A :class:`RecordedPresentLog` whose frames come from photodiode edges (read on demand).

    ``edges``: a source of new edges (each call returns those not yet returned, oldest first),
    normally :meth:`RigController.light_edges`. ``min_lag_s``: the earliest a frame can reach the
    panel after it is due (the candidates span :data:`CANDIDATES` refreshes from there).
    """

    ideal = False
    measured = True

    def __init__(
        self,
        refresh_hz: float,
        edges: Callable[[], list[LightEdge]],
        latency_s: float = 0.0,
        min_lag_s: float | None = None,
    ) -> None:
        super().__init__(refresh_hz, latency_s)
        self._source = edges
        self._edges: list[LightEdge] = []  # the anchor's edges and those not final yet
        self._decoded = 0  # edges behind the present arrays
        self._final = 0  # frames at the head of the arrays that no later edge changes
        self._final_repeats: list[int] = []
        self._final_late: list[int] = []
        self._updating = threading.Lock()
        self.min_lag_s = -0.5 / refresh_hz if min_lag_s is None else min_lag_s
        self.repeats: list[int] = []  # frames shown for more than one refresh
        self.late: list[int] = []
        #: what the display's own pacing logs (a bench window keeps logging): kept apart, unused for times
        self.software = RecordedPresentLog(refresh_hz)

    @property
    def held_edges(self) -> int:
        """Edges kept in memory: the anchor's and those not final yet (bounded on a run of any length)."""
        return len(self._edges)

    def record(self, n: int, submit_t: float, present_t: float) -> None:
        """The display's software log goes to :attr:`software`; the present times are the edges'."""
        self.software.record(n, submit_t, present_t)

    # -- decoding ---------------------------------------------------------------------------
    def update(self) -> None:
        """Take the controller's new edges and decode them (cheap when nothing is new)."""
        with self._updating:  # the keeper thread of :meth:`kept_up` and the analysis may both ask
            self._update()

    def _update(self) -> None:
        try:
            new = self._source()
        except Exception as exc:  # the log must not take a run down; the caller sees stale times
            log.warning("photodiode edges unavailable: %s", exc)
            new = []
        self._edges.extend(new)
        if len(self._edges) == self._decoded:
            return
        self._edges.sort(key=lambda e: e.t)
        self._decode()
        self._decoded = len(self._edges)

    def _decode(self) -> None:
        """Decode the window of edges; frames after the final ones replace the provisional tail."""
        period = 1.0 / self.refresh_hz
        t = np.array([e.t for e in self._edges], dtype=np.float64)
        level = np.array([e.level for e in self._edges], dtype=np.int64)
        if t.size < 2:
            return
        # 1. refresh index of each edge, from the gaps
        steps = np.maximum(1, np.rint(np.diff(t) / period).astype(np.int64))
        k_edge = np.concatenate([[0], np.cumsum(steps)])
        slots = np.arange(int(k_edge[-1]) + 1)
        starts = np.interp(slots, k_edge, t)
        # 2. level of each refresh
        which = np.searchsorted(k_edge, slots, side="right") - 1
        levels = level[which]
        # 3. frames: Viterbi over CANDIDATES frames per refresh, twice: the first path's median lag
        # is the display's usual lag, and the second path pays for straying from it
        lo = np.ceil((starts - self.min_lag_s) / period - (CANDIDATES - 1) - 1e-9).astype(np.int64)
        cand = lo[:, None] + np.arange(CANDIDATES)[None, :]
        emit = np.where(np.asarray(patch_level(cand)) == levels[:, None], 0.0, MISMATCH_COST)
        if self._final:  # the anchor's refreshes show the frames already final: the path must agree
            head = max(0, self._final - int(4 * SETTLE_S * self.refresh_hz))  # the anchor's frames and a margin
            with self._lock:
                final_n = np.array(self.n[head : self._final], dtype=np.int64)
                final_at = np.array(self.present[head : self._final], dtype=np.float64)
            idx = np.searchsorted(final_at, starts + period / 2, side="right") - 1
            pinned = (idx >= 0) & (starts <= final_at[-1] + period / 2)
            known = final_n[np.maximum(idx, 0)]
            emit[pinned] += np.where(cand[pinned] == known[pinned, None], 0.0, PIN_COST)
        path = _viterbi(emit, lo)
        lag = (starts[:, None] - cand * period) / period  # in refreshes
        usual = float(np.median(starts - path * period)) / period
        path = _viterbi(emit + LAG_COST * np.abs(np.rint(lag - usual)), lo)
        frames = path
        first = np.concatenate([[True], frames[1:] != frames[:-1]])
        held = np.diff(np.flatnonzero(np.concatenate([first, [True]])))
        shown, at = frames[first], starts[first]
        lag = at - shown * period
        usual = float(np.median(lag)) if lag.size else 0.0
        late = lag > usual + period / 2
        # the window repeats the anchor's frames, already final: only later ones are new
        new = shown > self.n[self._final - 1] if self._final else np.ones(shown.size, dtype=bool)
        # a frame is final once SETTLE_S of edges follow it (its hold time is then known too)
        final = new & (at < t[-1] - SETTLE_S)
        with self._lock:  # the tail is replaced, the final head kept (RecordedPresentLog.record is the software's)
            for arr, values in ((self.n, shown), (self.submit, at), (self.present, at)):
                del arr[self._final :]
                arr.extend(values[new].tolist())
        self._final_repeats += shown[final & (held > 1)].tolist()
        self._final_late += shown[final & late].tolist()
        tail = new & ~final
        self.repeats = self._final_repeats + shown[tail & (held > 1)].tolist()
        self.late = self._final_late + shown[tail & late].tolist()
        self._final += int(final.sum())
        if final.any():  # keep SETTLE_S of final edges before the first provisional frame as the anchor
            keep_from = float(at[final][-1]) - SETTLE_S
            cut = int(np.searchsorted(t, keep_from, side="left"))
            del self._edges[:cut]

    @contextlib.contextmanager
    def kept_up(self, every_s: float) -> Iterator[None]:
        """Decode the new edges every ``every_s`` seconds on a thread while the block runs: a long
        real-time wait then holds seconds of edges (in the controller driver and here), not hours."""
        stop = threading.Event()

        def keep() -> None:
            while not stop.wait(every_s):
                self.update()

        thread = threading.Thread(target=keep, name="photodiode-log", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    # -- the PresentLog interface, on fresh edges ----------------------------------------------
    def present_time(self, n: int) -> float | None:
        self.update()
        return super().present_time(n)

    def to_present(self, ref_s: float) -> float:
        self.update()
        return super().to_present(ref_s)

    def to_present_many(self, ref_s: np.ndarray) -> np.ndarray:
        self.update()
        return super().to_present_many(ref_s)

    def dropped(self, t0: float = -math.inf, t1: float = math.inf) -> list[int]:
        self.update()
        return super().dropped(t0, t1)

    def write_csv(self, path: Path, t0: float = -math.inf, t1: float = math.inf) -> int:
        self.update()
        return super().write_csv(path, t0, t1)

    def stats(self, t0: float, t1: float) -> DisplayStats:
        """As the software log's, with late counted against the run's usual lag (a constant
        compositor and refresh-phase delay is the display's, not lateness)."""
        self.update()
        base = super().stats(t0, t1)
        lo, hi = self._frame_range(t0, t1)
        late = sum(1 for n in self.late if lo <= n < hi)
        return DisplayStats(base.shown, base.dropped, late, base.max_lag_s, base.mean_lag_s, base.due)

    def anomalies(self, t0: float = -math.inf, t1: float = math.inf) -> list[str]:
        """Findings for frames due in [t0, t1) the display showed late or more than one refresh
        (drops are the log's :meth:`dropped`)."""
        self.update()
        lo, hi = self._frame_range(t0, t1)
        out = []
        for what, frames in (("late", self.late), ("for more than one refresh", self.repeats)):
            inside = [n for n in frames if lo <= n < hi]
            if inside:
                shown = ", ".join(str(n) for n in inside[:5]) + (", ..." if len(inside) > 5 else "")
                out.append(
                    f"the photodiode saw {len(inside)} display frame(s) shown {what} while this clip was filmed "
                    f"({shown}): present times are measured, not the camera's fault"
                )
        return out


def use_photodiode(display_log_owner: object, controller: RigController, latency_s: float) -> PhotodiodePresentLog:
    """Arm the controller's photodiode input and make the display's present log the measured one.

    ``display_log_owner`` is the rig's :class:`~harness.devices.display.Display` (its ``log`` is
    replaced). Raises :class:`~harness.devices.rig_controller.RigControllerError` when the
    controller has no photodiode input.
    """
    refresh_hz = display_log_owner.refresh_hz  # type: ignore[attr-defined]
    controller.light(True)
    present = PhotodiodePresentLog(refresh_hz, controller.light_edges, latency_s)
    display_log_owner.log = present  # type: ignore[attr-defined]
    return present
