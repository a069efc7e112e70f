"""Display output: the time-code scene on the monitor the camera films, with a present-time log.

The analysis reads display frame ``n`` from the camera's pixels; a check needs the instant
frame ``n`` was on screen, on the harness clock. On an emulated rig that instant is exactly
``n / refresh_hz``. A real display pipeline is late sometimes and skips frames when it falls
behind, so the driver logs, for every frame it shows, when it handed the frame over, and which
frames it never showed. :meth:`PresentLog.to_present` turns the analysis' nominal reference
times into present times with that log (reference time = present time); after each scenario the
runner passes every clip's analysis through it (harness/analysis/present.py).

All times come from the injected :class:`~harness.core.clock.Clock`; nothing here reads wall time.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import logging
import math
import secrets
import subprocess
import sys
import threading
from abc import ABC, abstractmethod
from array import array
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import numpy as np

from harness.core.clock import Clock
from harness.plan.scenario import SceneVariant
from harness.scene.timecode import RUN_ID_MODULUS

log = logging.getLogger(__name__)


class DisplayError(RuntimeError):
    """The display cannot be opened or does not show the scene as asked (size, position)."""


@dataclass(frozen=True)
class PresentUncertainty:
    """How well a display's present log places each frame on the panel, beyond its calibrated
    latency: the standard uncertainty (k=1) the budget's present-time line takes from the presenter."""

    presenter: str
    u_s: float
    note: str


@dataclass(frozen=True)
class DisplayStats:
    """Health of the display pipeline over an interval of the run."""

    shown: int
    dropped: int
    late: int
    max_lag_s: float
    mean_lag_s: float
    due: int = 0  # frames due in the interval; due - shown counts every frame not shown, also at the ends

    @property
    def missing(self) -> int:
        return max(self.dropped, self.due - self.shown)

    def describe(self) -> str:
        return (
            f"{self.shown} of {self.due} frames shown, {self.dropped} dropped by the display pipeline, "
            f"{self.late} late; lag mean {self.mean_lag_s * 1e3:.2f} ms, max {self.max_lag_s * 1e3:.2f} ms"
        )


class PresentLog:
    """Which display frame was on screen when, on the harness clock.

    The base class is the ideal display (emulation): frame ``n`` appears at ``n / refresh_hz``
    and none is ever dropped. :class:`RecordedPresentLog` holds what a real pipeline did.
    """

    ideal = True
    #: the times are measured at the panel (a photodiode), each within a small fraction of a refresh:
    #: the analysis may then fit the time code through them (a software log's are not that exact)
    measured = False
    #: the bench sounds each A/V stimulus at its nominal scene time (the emulated bench's speaker), so
    #: without stimuli fired by the controller the analysis still moves the video instants onto them
    stimuli_at_nominal = False

    def __init__(self, refresh_hz: float, latency_s: float = 0.0) -> None:
        self.refresh_hz = refresh_hz
        self.latency_s = latency_s

    @property
    def period_s(self) -> float:
        return 1.0 / self.refresh_hz

    def present_time(self, n: int) -> float | None:
        """When frame ``n`` appeared (``None``: never shown)."""
        return n / self.refresh_hz + self.latency_s

    def to_present(self, ref_s: float) -> float:
        """A nominal scene time (display frame ``n`` plus a fraction) as a time on the harness clock."""
        return ref_s + self.latency_s

    def to_present_many(self, ref_s: np.ndarray) -> np.ndarray:
        """:meth:`to_present` for many times at once (every frame of a long clip)."""
        return np.asarray(ref_s, dtype=np.float64) + self.latency_s

    def dropped(self, t0: float = -math.inf, t1: float = math.inf) -> list[int]:
        """Frames due in [t0, t1) that the pipeline skipped."""
        return []

    def stats(self, t0: float, t1: float) -> DisplayStats:
        shown = max(0, math.ceil(t1 * self.refresh_hz - 1e-9) - math.ceil(t0 * self.refresh_hz - 1e-9))
        return DisplayStats(shown=shown, dropped=0, late=0, max_lag_s=0.0, mean_lag_s=0.0, due=shown)


class RecordedPresentLog(PresentLog):
    """Present times logged by a real display driver (compact arrays: 12 h at 60 Hz is ~60 MB).

    Per frame: ``n``, ``due`` (``n / refresh_hz``), ``submit`` (handed to the window system) and
    ``present`` (the window system returned; the panel then adds ``latency_s``, calibrated on
    the bench). Frame numbers only increase; a jump over numbers is a drop.
    """

    ideal = False

    def __init__(self, refresh_hz: float, latency_s: float = 0.0) -> None:
        super().__init__(refresh_hz, latency_s)
        self.n = array("q")
        self.submit = array("d")
        self.present = array("d")
        self._lock = threading.Lock()

    def record(self, n: int, submit_t: float, present_t: float) -> None:
        with self._lock:
            if self.n and n <= self.n[-1]:
                raise ValueError(f"display frame {n} logged after frame {self.n[-1]}")
            self.n.append(n)
            self.submit.append(submit_t)
            self.present.append(present_t)

    def __len__(self) -> int:
        return len(self.n)

    def _index(self, n: int) -> int | None:
        i = bisect.bisect_left(self.n, n)
        return i if i < len(self.n) and self.n[i] == n else None

    def present_time(self, n: int) -> float | None:
        i = self._index(n)
        return None if i is None else self.present[i] + self.latency_s

    def to_present(self, ref_s: float) -> float:
        """Nominal time within frame ``n`` -> the same fraction of the interval the screen held ``n``.

        A frame the pipeline dropped was never on screen: its nominal times map onto the frame
        shown before it, which stayed up until the next one was presented. Outside the log the
        display is taken to keep its nominal pace from the nearest logged frame (slope 1).
        """
        with self._lock:
            if not self.n:
                return ref_s + self.latency_s
            n = math.floor(ref_s * self.refresh_hz + 1e-9)
            i = bisect.bisect_right(self.n, n) - 1
            if i < 0:  # before the log: extrapolate from its first frame
                return self.present[0] + (ref_s - self.n[0] / self.refresh_hz) + self.latency_s
            into = (ref_s - self.n[i] / self.refresh_hz) * self.refresh_hz
            start = self.present[i]
            if i + 1 == len(self.n):  # the last logged frame, or after the log: nominal pace
                return start + max(0.0, into) * self.period_s + self.latency_s
            end = self.present[i + 1]
            return start + min(1.0, max(0.0, into)) * (end - start) + self.latency_s

    def to_present_many(self, ref_s: np.ndarray) -> np.ndarray:
        """:meth:`to_present` for many times at once; copies only the part of the log they span."""
        ref = np.asarray(ref_s, dtype=np.float64)
        if ref.size == 0:
            return ref.copy()
        frame = np.floor(ref * self.refresh_hz + 1e-9)
        with self._lock:
            if not self.n:
                return ref + self.latency_s
            lo = max(0, bisect.bisect_right(self.n, int(frame.min())) - 1)
            hi = min(len(self.n), bisect.bisect_right(self.n, int(frame.max())) + 1)
            n = np.array(self.n[lo:hi], dtype=np.int64)
            present = np.array(self.present[lo:hi], dtype=np.float64)
            first_n, first_p = self.n[0], self.present[0]
        i = np.searchsorted(n, frame, side="right") - 1
        before = (i < 0) & (lo == 0)
        i = np.clip(i, 0, n.size - 1)
        into = (ref - n[i] / self.refresh_hz) * self.refresh_hz
        start = present[i]
        has_next = i + 1 < n.size
        end = np.where(has_next, present[np.minimum(i + 1, n.size - 1)], start + self.period_s)
        out = start + np.clip(into, 0.0, 1.0) * (end - start)
        tail = ~has_next & (hi == len(self.n))  # after the log's last frame: nominal pace
        out = np.where(tail, start + np.maximum(into, 0.0) * self.period_s, out)
        out = np.where(before, first_p + (ref - first_n / self.refresh_hz), out)
        return out + self.latency_s

    def dropped(self, t0: float = -math.inf, t1: float = math.inf) -> list[int]:
        lo, hi = self._frame_range(t0, t1)
        with self._lock:
            n = np.frombuffer(self.n, dtype=np.int64).copy() if self.n else np.zeros(0, np.int64)
        jumps = np.flatnonzero(np.diff(n) > 1)
        out: list[int] = []
        for j in jumps:
            a, b = int(n[j]), int(n[j + 1])
            if b > lo and a < hi:
                out.extend(k for k in range(a + 1, b) if lo <= k < hi)
        return out

    def _frame_range(self, t0: float, t1: float) -> tuple[float, float]:
        lo = -math.inf if t0 == -math.inf else math.ceil(t0 * self.refresh_hz - 1e-9)
        hi = math.inf if t1 == math.inf else math.ceil(t1 * self.refresh_hz - 1e-9)
        return lo, hi

    def stats(self, t0: float, t1: float) -> DisplayStats:
        lo, hi = self._frame_range(t0, t1)
        with self._lock:
            n = np.frombuffer(self.n, dtype=np.int64).copy() if self.n else np.zeros(0, np.int64)
            present = np.frombuffer(self.present, dtype=np.float64).copy() if self.present else np.zeros(0)
            sel = (n >= lo) & (n < hi)
            lag = present[sel] - n[sel] / self.refresh_hz
        dropped = len(self.dropped(t0, t1))
        late = int(np.count_nonzero(lag > self.period_s))
        due = int(hi - lo) if math.isfinite(lo) and math.isfinite(hi) else int(sel.sum()) + dropped
        return DisplayStats(
            shown=int(sel.sum()),
            dropped=dropped,
            late=late,
            max_lag_s=float(lag.max()) if lag.size else 0.0,
            mean_lag_s=float(lag.mean()) if lag.size else 0.0,
            due=due,
        )

    def write_csv(self, path: Path, t0: float = -math.inf, t1: float = math.inf) -> int:
        """Write the frames due in [t0, t1) as ``frame,due_s,submit_s,present_s`` (evidence for an audit)."""
        lo, hi = self._frame_range(t0, t1)
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = 0
        with self._lock, open(path, "w", newline="") as fh:
            out = csv.writer(fh)
            out.writerow(["frame", "due_s", "submit_s", "present_s"])
            for n, s, p in zip(self.n, self.submit, self.present):
                if lo <= n < hi:
                    out.writerow([n, f"{n / self.refresh_hz:.6f}", f"{s:.6f}", f"{p + self.latency_s:.6f}"])
                    rows += 1
        return rows


def read_present_log(path: Path, refresh_hz: float) -> RecordedPresentLog:
    """A present log kept as evidence (:meth:`RecordedPresentLog.write_csv`), to re-analyse a clip
    offline against the times its display really showed each frame. Errors name file and line."""
    log_ = RecordedPresentLog(refresh_hz)  # the file's present times already include the latency
    try:
        with open(path, newline="") as fh:
            rows = csv.reader(fh)
            header = next(rows, None)
            if header != ["frame", "due_s", "submit_s", "present_s"]:
                raise ValueError(f"{path}: line 1: expected the header frame,due_s,submit_s,present_s, got {header}")
            for line, row in enumerate(rows, 2):
                try:
                    n, _, submit, present = row
                    log_.record(int(n), float(submit), float(present))
                except ValueError as exc:
                    raise ValueError(f"{path}: line {line}: {exc} ({','.join(row)!r})") from None
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the present log: {exc.strerror}") from None
    return log_


def display_evidence(display: Display | None, folder: Path, t0: float, t1: float) -> DisplayStats | None:
    """Keep a real display's present log for [t0, t1) beside a scenario's clips; warn about drops.

    A frame the display pipeline dropped shows up in a clip like a frame the camera lost; the
    log lets a reviewer tell the two apart. The ideal (emulated) display writes nothing.
    """
    if display is None or display.log.ideal or not isinstance(display.log, RecordedPresentLog):
        return None
    display.log.write_csv(folder / "display_present_log.csv", t0, t1)
    stats = display.log.stats(t0, t1)
    if stats.dropped or stats.late:
        log.warning("display during %s: %s", folder.name, stats.describe())
    return stats


class Display(ABC):
    """What a run needs from the monitor: show the scene from start to stop, and say when what was shown."""

    refresh_hz: float
    log: PresentLog
    #: The run id the scene shows in its time code; None when this display does not show one
    #: (an emulated display: the emulated bench draws its own scene), so the run id is not checked.
    run_id: int | None = None

    @abstractmethod
    def start(self) -> None:
        """Begin showing the scene (returns once the first frame is up)."""

    @abstractmethod
    def stop(self) -> None:
        """Stop showing the scene and release the screen. Never raises."""

    @abstractmethod
    def describe(self) -> str:
        """One line for the run record and ``bwc rig check``."""

    def present_uncertainty(self) -> PresentUncertainty | None:
        """The presenter's own present-time uncertainty (None: an ideal, emulated display)."""
        return None

    def show_scene(self, variant: SceneVariant) -> None:
        """Show the standard scene or a variant of it (the busy scene) from now on. A display that
        draws only the standard scene refuses a variant."""
        if variant != "standard":
            raise DisplayError(f"{self.describe()} cannot show the {variant} scene")

    def close(self) -> None:
        self.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class EmulatedDisplay(Display):
    """The ideal display of an emulated rig: frame ``n`` at ``n / refresh_hz``, nothing dropped.

    The emulated camera films the scene function directly, so there is nothing to draw; this
    object gives the run the same interface (and log) a bench display gives.
    """

    def __init__(
        self,
        clock: Clock,
        refresh_hz: float = 60.0,
        on_scene: Callable[[SceneVariant], None] | None = None,
        late: bool = False,
    ) -> None:
        """``on_scene``: how the emulated bench's scene is switched to a variant; ``late``: the
        camera films a panel that shows each frame late (the realistic presentation model), so a
        software log takes the calibrated display latency into its present times."""
        self.clock = clock
        self.refresh_hz = refresh_hz
        self.late = late
        self.log = PresentLog(refresh_hz)
        self.running = False
        self.on_scene = on_scene

    def show_scene(self, variant: SceneVariant) -> None:
        if self.on_scene is None:
            super().show_scene(variant)
        else:
            self.on_scene(variant)

    def start(self) -> None:
        self.running = True

    def stop(self) -> None:
        self.running = False

    def describe(self) -> str:
        return f"emulated display, {self.refresh_hz:g} Hz (present time = n / refresh)"


@dataclass(frozen=True)
class Monitor:
    """Where a monitor sits on the desktop, in pixels."""

    left: int
    top: int
    width: int
    height: int


def find_monitor(index: int) -> Monitor:
    """Monitor ``index`` (1 = first) as the X server / OS reports it (mss numbering)."""
    import mss

    try:
        with mss.MSS() as screens:
            monitors = screens.monitors
    except Exception as exc:  # no X server, no permission: say which display was tried
        import os

        raise DisplayError(f"cannot reach the desktop (DISPLAY={os.environ.get('DISPLAY')!r}): {exc}") from exc
    if not 1 <= index < len(monitors):
        raise DisplayError(f"monitor {index} does not exist; this desktop has {len(monitors) - 1} monitor(s)")
    m = monitors[index]
    return Monitor(int(m["left"]), int(m["top"]), int(m["width"]), int(m["height"]))


def window_arguments(description: str) -> argparse.ArgumentParser:
    """The command line every window process takes (what :meth:`OpenCVDisplay.start` passes it):
    the monitor's size, refresh and position, the run id and the UTC of scene time 0. A presenter
    adds its own options to it."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--width", type=int, required=True)
    p.add_argument("--height", type=int, required=True)
    p.add_argument("--refresh", type=float, default=60.0)
    p.add_argument("--left", type=int, default=0)
    p.add_argument("--top", type=int, default=0)
    p.add_argument("--run-id", type=int, default=0, help="run id carried in the code's coarse slots")
    p.add_argument("--utc-origin", type=float, default=0.0, help="UTC (Unix seconds) of scene time 0")
    return p


class OpenCVDisplay(Display):
    """The scene full screen on one monitor, in an OpenCV (HighGUI) window of its own process.

    A pacing thread here sleeps on the harness clock until frame ``n`` is due
    (``n / refresh_hz``), tells the window process to show it and stamps the acknowledgement:
    ``submit`` and ``present`` bracket the moment the window system took the frame. When the
    pipeline falls more than a frame behind, the next frame sent is the one due now: the frames
    in between are *dropped by the pipeline*, and logged as such so the analysis never blames
    the camera for them. The scene is rendered at the monitor's own resolution (no scaling).
    """

    #: the window process (``python -m``) and the presenter's name in the record
    window_module = "harness.devices.display_window"
    presenter = "opencv"
    #: why a rig that asked for another presenter shows the scene through this one (None: it asked for it)
    fallback_reason: str | None = None

    def __init__(
        self,
        clock: Clock,
        monitor: Monitor,
        refresh_hz: float = 60.0,
        latency_s: float = 0.0,
        start_timeout_s: float = 20.0,
        run_id: int | None = None,
    ) -> None:
        """``run_id``: shown in the code's coarse slots with the UTC of each frame, so a clip filmed in
        another run is recognised (default: a fresh one per display)."""
        self.clock = clock
        self.monitor = monitor
        self.refresh_hz = refresh_hz
        self.run_id = secrets.randbelow(RUN_ID_MODULUS) if run_id is None else run_id
        self.log: RecordedPresentLog = RecordedPresentLog(refresh_hz, latency_s)
        self.start_timeout_s = start_timeout_s
        self.error: str | None = None
        self.process: subprocess.Popen[str] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._scene: SceneVariant | None = None  # a variant to switch to, told the window with the next frame

    def show_scene(self, variant: SceneVariant) -> None:
        """The window process switches its scene before the next frame it shows."""
        self._scene = variant

    def describe(self) -> str:
        m = self.monitor
        text = f"OpenCV window {m.width}x{m.height} at ({m.left},{m.top}), {self.refresh_hz:g} Hz"
        return text + (f" (fallback: {self.fallback_reason})" if self.fallback_reason else "")

    def present_uncertainty(self) -> PresentUncertainty:
        """The window system takes the frame when ``waitKey`` returns and puts it on the panel at
        a later refresh, through the compositor's queue: up to two refreshes after the stamp,
        rectangular (the calibrated latency takes out the mean)."""
        width = 2.0 / self.refresh_hz
        return PresentUncertainty(
            "opencv", width / math.sqrt(12.0), "OpenCV window, not locked to the refresh: up to two refreshes"
        )

    def _window_args(self) -> list[str]:
        """Arguments the window process takes beyond the common ones."""
        return []

    def _ready(self, words: list[str]) -> None:
        """What the window process said after ``READY w h x y``."""

    def start(self) -> None:
        if self.process is not None:
            return
        m = self.monitor
        cmd = [
            sys.executable,
            "-m",
            self.window_module,
            "--width",
            str(m.width),
            "--height",
            str(m.height),
            "--refresh",
            repr(self.refresh_hz),
            "--left",
            str(m.left),
            "--top",
            str(m.top),
            "--run-id",
            str(self.run_id),
            "--utc-origin",
            repr(self.clock.utc(0.0).timestamp()),
            *self._window_args(),
        ]
        proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1
        )
        self.process = proc
        stdout = proc.stdout
        assert stdout is not None and proc.stdin is not None  # all three streams are pipes
        self._stderr: deque[str] = deque(maxlen=20)  # drained, so Qt's chatter can never fill the pipe
        threading.Thread(target=self._drain, args=(proc.stderr,), daemon=True).start()
        ready: list[str] = []
        reader = threading.Thread(target=lambda: ready.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(self.start_timeout_s)
        line = ready[0].strip() if ready else ""
        if not line.startswith("READY"):
            detail = (
                line[6:]
                if line.startswith("ERROR")
                else (f"no answer within {self.start_timeout_s:g} s" if not ready else "window process exited")
            )
            self.stop()
            errors = [e for e in self._stderr if "QFontDatabase" not in e and "fonts" not in e]
            if errors:
                detail += f" (stderr: {errors[-1]})"
            raise DisplayError(f"display on monitor at ({m.left},{m.top}): {detail}")
        w, h, x, y = (int(v) for v in line.split()[1:5])
        if (w, h, x, y) != (m.width, m.height, m.left, m.top):
            self.stop()
            raise DisplayError(
                f"window shows the scene at {w}x{h}+{x}+{y}, expected {m.width}x{m.height}+{m.left}+{m.top}"
                " (it would be scaled or misplaced: check display scaling and the monitor index)"
            )
        self._ready(line.split()[5:])
        self._thread = threading.Thread(target=self._pace, name="display-pacing", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None
        proc, self.process = self.process, None
        if proc is None:
            return
        try:
            if proc.poll() is None and proc.stdin is not None:
                proc.stdin.write("QUIT\n")
                proc.stdin.flush()
            proc.wait(timeout=5.0)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait(timeout=5.0)
        finally:
            for stream in (proc.stdin, proc.stdout, proc.stderr):
                try:
                    if stream is not None:
                        stream.close()
                except OSError:
                    pass

    def _drain(self, stream: object) -> None:
        try:
            for line in stream:  # type: ignore[attr-defined]
                self._stderr.append(line.rstrip())
        except (OSError, ValueError):
            pass

    def _pace(self) -> None:
        proc = self.process
        assert proc is not None and proc.stdin is not None and proc.stdout is not None  # started by start()
        period = 1.0 / self.refresh_hz
        n = math.floor(self.clock.now() * self.refresh_hz) + 1
        try:
            while not self._stop.is_set():
                self.clock.sleep_until(n * period)
                scene, self._scene = self._scene, None
                if scene is not None:  # no answer: the window renders the variant from the next frame
                    proc.stdin.write(f"SCENE {scene}\n")
                submit = self.clock.now()
                proc.stdin.write(f"SHOW {n}\n")
                proc.stdin.flush()
                reply = proc.stdout.readline()
                present = self.clock.now()
                if reply.strip() != f"SHOWN {n}":
                    raise DisplayError(
                        f"window process answered {reply.strip()!r} to SHOW {n}" if reply else "window process died"
                    )
                self.log.record(n, submit, present)
                # the next frame, unless the pipeline fell behind: then the one due now
                n = max(n + 1, math.floor(self.clock.now() * self.refresh_hz + 1e-9))
        except (OSError, ValueError, DisplayError) as exc:
            if not self._stop.is_set():
                self.error = str(exc)
                log.error("display stopped: %s", exc)
