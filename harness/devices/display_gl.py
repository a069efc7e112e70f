"""The scene through OpenGL, swapped on the monitor's vertical blank, with the swap times as the present log.

:class:`GLDisplay` runs the presenter process (harness/devices/display_gl_window.py): GLFW and
moderngl with swap interval 1, so each frame goes out on a vertical blank and the process stamps
when the swap completed. Unlike the OpenCV window, the frame's time on the panel is then known to
the swap's scheduling jitter instead of "some refresh after the window system took it".

Every swap lands in the display's :class:`~harness.devices.display.RecordedPresentLog`
(``submit``: swap asked, ``present``: swap done). A swap interval above
:data:`MISSED_FACTOR` refresh periods is a *missed refresh*: the panel showed the previous frame
twice; it is kept in :attr:`GLDisplay.missed` and the skipped frame numbers are drops in the log.

:func:`open_screen_display` picks the presenter the rig file asks for and falls back to the
OpenCV window, with the reason logged and in the display's description, where OpenGL cannot open.
"""

from __future__ import annotations

import itertools
import logging
import math
import statistics
import threading
import time

from harness.core.clock import Clock
from harness.devices.display import Display, DisplayError, Monitor, OpenCVDisplay, PresentUncertainty
from harness.plan.scenario import SceneVariant

log = logging.getLogger(__name__)

#: a swap interval above this many refresh periods missed a refresh
MISSED_FACTOR = 1.5
#: the swap stamp's floor: scheduling of the presenter process after the blank (s)
SWAP_STAMP_S = 0.0002


def clock_offset(clock: Clock, tries: int = 5) -> float:
    """``clock.now() - time.monotonic()``, from the tightest of a few brackets: the presenter
    process stamps swaps on ``CLOCK_MONOTONIC`` and adds this to land on the harness clock."""
    best: tuple[float, float] | None = None
    for _ in range(tries):
        m0 = time.monotonic()
        t = clock.now()
        m1 = time.monotonic()
        if best is None or m1 - m0 < best[0]:
            best = (m1 - m0, t - (m0 + m1) / 2)
    assert best is not None
    return best[1]


class GLDisplay(OpenCVDisplay):
    """The scene full screen on one monitor through OpenGL, swapped on the vertical blank.

    The presenter process paces itself by the blanks (or, where the server ignores the swap
    interval, by sleeping until each frame is due: ``vsync`` is False then) and reports every
    swap; a reader thread here records them. Start, stop and the window checks are the OpenCV
    display's (same process protocol for READY, SCENE and QUIT).
    """

    window_module = "harness.devices.display_gl_window"
    presenter = "gl"

    def __init__(
        self,
        clock: Clock,
        monitor: Monitor,
        refresh_hz: float = 60.0,
        latency_s: float = 0.0,
        start_timeout_s: float = 20.0,
        run_id: int | None = None,
    ) -> None:
        super().__init__(clock, monitor, refresh_hz, latency_s, start_timeout_s, run_id)
        self.vsync = False
        self.renderer = ""
        #: missed refreshes: (frame shown late, swap interval in s)
        self.missed: list[tuple[int, float]] = []
        self._write_lock = threading.Lock()

    def describe(self) -> str:
        m = self.monitor
        lock = "swapped on the vertical blank" if self.vsync else "vertical blank not honoured: paced by the clock"
        return f"OpenGL presenter {m.width}x{m.height} at ({m.left},{m.top}), {self.refresh_hz:g} Hz, {lock}" + (
            f" ({self.renderer})" if self.renderer else ""
        )

    def _window_args(self) -> list[str]:
        return ["--clock-offset", repr(clock_offset(self.clock))]

    def _ready(self, words: list[str]) -> None:
        self.vsync = bool(words) and words[0] == "vsync"
        self.renderer = " ".join(words[1:])
        if not self.vsync:
            log.warning("display: %s", self.describe())

    def _send(self, line: str) -> None:
        proc = self.process
        if proc is None or proc.stdin is None:
            return
        with self._write_lock:
            try:
                proc.stdin.write(line + "\n")
                proc.stdin.flush()
            except (OSError, ValueError) as exc:
                self.error = f"presenter process: {exc}"

    def show_scene(self, variant: SceneVariant) -> None:
        """The presenter switches its scene before the next frame it draws."""
        self._send(f"SCENE {variant}")

    def stall(self, seconds: float) -> None:
        """Hold the presenter for ``seconds`` before its next swap (proves missed-refresh detection)."""
        self._send(f"STALL {seconds!r}")

    def _pace(self) -> None:
        """Record every swap the presenter reports (it paces itself)."""
        proc = self.process
        assert proc is not None and proc.stdout is not None  # started by start()
        limit = MISSED_FACTOR / self.refresh_hz
        previous: float | None = None
        try:
            for line in proc.stdout:
                words = line.split()
                if len(words) != 4 or words[0] != "SWAP":
                    raise DisplayError(f"presenter process said {line.strip()[:60]!r}")
                n, submit, present = int(words[1]), float(words[2]), float(words[3])
                self.log.record(n, submit, present)
                if previous is not None and present - previous > limit:
                    self.missed.append((n, present - previous))
                previous = present
                if self._stop.is_set():
                    break
            else:
                if not self._stop.is_set():
                    raise DisplayError("presenter process died")
        except (OSError, ValueError, DisplayError) as exc:
            if not self._stop.is_set():
                self.error = str(exc)
                log.error("display stopped: %s", exc)

    def swap_intervals(self) -> list[float]:
        """Intervals between consecutive swaps so far (s)."""
        with self.log._lock:
            present = list(self.log.present)
        return [b - a for a, b in itertools.pairwise(present)]

    def present_uncertainty(self) -> PresentUncertainty:
        """Locked to the blank: the swap stamps' jitter about the refresh grid (their intervals'
        scatter over sqrt 2, missed refreshes left out), at least :data:`SWAP_STAMP_S`. Paced by
        the clock: the frame waits for the panel's next refresh, up to one period, rectangular."""
        period = 1.0 / self.refresh_hz
        if not self.vsync:
            return PresentUncertainty(
                "gl (paced)", period / math.sqrt(12.0), "OpenGL, vertical blank not honoured: up to one refresh"
            )
        steady = [d for d in self.swap_intervals() if d <= MISSED_FACTOR * period]
        jitter = statistics.pstdev(steady) / math.sqrt(2.0) if len(steady) >= 2 else period / math.sqrt(12.0)
        u = max(jitter, SWAP_STAMP_S)
        return PresentUncertainty(
            "gl (vsync)", u, f"OpenGL swap on the vertical blank: stamp jitter over {len(steady)} swaps"
        )


def open_screen_display(
    clock: Clock,
    monitor: Monitor,
    refresh_hz: float,
    latency_s: float = 0.0,
    presenter: str = "gl",
) -> Display:
    """The scene on ``monitor`` through the rig file's presenter, started. ``gl`` that cannot open
    (no GL 3.3, no GLFW, no display) falls back to the OpenCV window; the reason is logged and
    becomes part of the display's description in the run record."""
    if presenter == "gl":
        gl = GLDisplay(clock, monitor, refresh_hz, latency_s)
        try:
            gl.start()
            return gl
        except (DisplayError, OSError) as exc:
            reason = f"OpenGL presenter did not open: {exc}"
            log.warning(
                "display: %s; showing the scene through the OpenCV window (larger present-time uncertainty)", reason
            )
            fallback = OpenCVDisplay(clock, monitor, refresh_hz, latency_s)
            fallback.fallback_reason = reason
            return fallback
    return OpenCVDisplay(clock, monitor, refresh_hz, latency_s)
