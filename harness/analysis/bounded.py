"""Clip analysis that always ends with a verdict: bad files, crashes and hangs become reasons.

A certification campaign meets zero-byte files, half-copied clips and files that make a decoder
spin. :func:`analyse_clip_fully` already turns a damaged file into ``error`` (keeping what could be
read); this wrapper adds what an in-process call cannot promise: a bound on time (the analysis
runs in a child process that is ended when the bound passes), survival of a crash in native
decoding code, and a check that the file did not change while it was read (a clip still being
written).

The child is spawned once and reused for every clip (start-up costs a second or two; spawn, not
fork, because the emulator and the instruments run threads). :func:`prepare` starts it early so
that the start-up overlaps the scenario's own work. Like any spawned process it imports the
caller's main module: a script that runs scenarios keeps its work under
``if __name__ == "__main__":`` (``bwc``, pytest and the benchmarks do).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

from harness.analysis.clip import ClipAnalysis
from harness.core.measurement import Measurement
from harness.plan.profile import TextOverlay

#: time allowed per clip: a floor for start-up and small files, plus a rate far below any bench
#: PC's analysis speed (a 10 Mbit/s 1080p clip analyses at several times real time), so only a
#: hang or a crash ever reaches it, even for a 4-hour segment
BASE_TIMEOUT_S = 120.0
SLOWEST_BYTES_PER_S = 250e3
POLL_S = 0.2  # how often a waiting caller looks whether the child died
VERDICT_REQUIREMENT = "BWC-EVT-01"  # every saved clip can be read

_lock = threading.Lock()
_worker: _Worker | None = None


class _WorkerDied(RuntimeError):
    """The analysis process ended without answering (killed, or crashed in native decoding code)."""


def _serve(conn: multiprocessing.connection.Connection) -> None:
    """Child side: analyse each request until the parent goes away; Ctrl-C is the parent's to handle."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from harness.analysis.findings import analyse_clip_fully  # imported before the first request arrives

    while True:
        try:
            path, args, options = conn.recv()
        except (EOFError, OSError):
            return
        try:
            outcome: ClipAnalysis | str = analyse_clip_fully(path, *args, **options)
        except BaseException as exc:
            outcome = f"{type(exc).__name__}: {exc}"
        try:
            conn.send(outcome)
        except (EOFError, OSError):
            return
        except Exception as exc:  # a result that cannot be pickled: still an answer
            conn.send(f"result could not be returned: {type(exc).__name__}: {exc}")


class _Worker:
    """One spawned analysis process and the pipe to it."""

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child,), name="bwc-clip-analysis", daemon=True)
        self.proc.start()
        child.close()

    def ask(self, request: tuple[str, tuple, dict], timeout_s: float) -> ClipAnalysis | str:
        """Send one request and wait for its answer; TimeoutError or _WorkerDied otherwise."""
        try:
            self.conn.send(request)
        except OSError:  # the child is gone (its end of the pipe closed)
            raise _WorkerDied(self._exit()) from None
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if self.conn.poll(max(0.0, min(POLL_S, left))):
                try:
                    return self.conn.recv()
                except (EOFError, OSError):  # the child ended while answering
                    raise _WorkerDied(self._exit()) from None
            if not self.proc.is_alive():
                raise _WorkerDied(self._exit())
            if left <= 0:
                raise TimeoutError

    def _exit(self) -> str:
        self.proc.join(1.0)
        code = self.proc.exitcode
        if code is not None and code < 0:
            try:
                return f"signal {signal.Signals(-code).name}"
            except ValueError:
                return f"signal {-code}"
        return f"exit code {code}"

    def close(self) -> None:
        self.conn.close()
        if self.proc.is_alive():
            self.proc.terminate()
        self.proc.join(5.0)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()


def _get_worker() -> _Worker:
    global _worker
    if _worker is None or not _worker.proc.is_alive():
        if _worker is not None:
            _worker.close()
        _worker = _Worker()
    return _worker


def _discard_worker() -> None:
    global _worker
    if _worker is not None:
        _worker.close()
        _worker = None


def prepare() -> None:
    """Start the analysis process now, so its start-up overlaps other work (idempotent)."""
    with _lock:
        _get_worker()


def shutdown() -> None:
    """End the analysis process (tests and long-lived callers; it also ends with the interpreter)."""
    with _lock:
        _discard_worker()


def timeout_for(size_bytes: int) -> float:
    """The time bound for a file of this size (see :data:`SLOWEST_BYTES_PER_S`)."""
    return BASE_TIMEOUT_S + size_bytes / SLOWEST_BYTES_PER_S


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def unreadable(path: Path | str, reason: str) -> ClipAnalysis:
    """A record for a clip nothing could be read from, with the reason."""
    error = f"unreadable: {reason}"
    result = ClipAnalysis(path=str(path), error=error)
    result.findings.append(error)
    return result


def analyse_clip_bounded(
    path: Path | str,
    refresh_hz: float = 60.0,
    burned_in: str | TextOverlay | None = None,
    press_at: float | None = None,
    timeout_s: float | None = None,
    **options: Any,
) -> ClipAnalysis:
    """:func:`analyse_clip_fully` in the child process; never raises for a bad clip.

    Returns within ``timeout_s`` (default :func:`timeout_for` the file's size) plus the child's
    start-up; keyword ``options`` (e.g. ``run_id``) go to :func:`analyse_clip_fully` unchanged.
    """
    path = Path(path)
    before = _stat(path)
    if before is None or not path.is_file():
        return unreadable(path, "no such file")
    if before[0] == 0:
        return unreadable(path, "empty file (0 bytes)")
    bound = timeout_for(before[0]) if timeout_s is None else timeout_s
    request = (os.fspath(path), (refresh_hz, burned_in, press_at), options)
    with _lock:  # one clip at a time through the child; concurrent callers queue
        try:
            outcome = _get_worker().ask(request, bound)
        except TimeoutError:
            _discard_worker()  # the child may be stuck in native code: end it, start afresh next time
            return unreadable(path, f"analysis did not finish within {bound:g} s (hung decoder)")
        except _WorkerDied as exc:
            _discard_worker()
            return unreadable(path, f"the analysis process died ({exc}) while decoding this file")
        except BaseException:  # Ctrl-C or SIGTERM in the parent: the child is not left analysing
            _discard_worker()
            raise
    if isinstance(outcome, str):
        return unreadable(path, f"analysis raised {outcome}")
    after = _stat(path)
    if after != before:
        outcome.error = (
            f"still being written: the file changed while it was analysed "
            f"({before[0]} -> {after[0] if after else 'gone'} bytes); "
            + (outcome.error or "result covers only what was there")
        )
        outcome.findings.append(outcome.error)
    return outcome


def clip_verdict(analysis: ClipAnalysis) -> str:
    """One line per clip: ``analysed``, ``partial: N frames analysed; <what was lost>`` or
    ``unreadable: <reason>``."""
    if analysis.error is None:
        return "analysed"
    if analysis.error.startswith("unreadable: "):
        return analysis.error
    if analysis.frames:
        return f"partial: {analysis.frames} frame{'s' if analysis.frames != 1 else ''} analysed; {analysis.error}"
    return f"unreadable: {analysis.error}"


def verdict_measurements(analyses: list[ClipAnalysis]) -> list[Measurement]:
    """A failed measurement for each clip that could not be analysed whole, its verdict as the note.

    Whatever checks a scenario runs, a broken clip fails its test with the reason, and the
    run record (which keeps every measurement) says which file and what was lost.
    """
    out = []
    for analysis in analyses:
        verdict = clip_verdict(analysis)
        if verdict != "analysed":
            name = Path(analysis.path).name
            out.append(
                Measurement(
                    "clip_analysed",
                    0,
                    "clips",
                    1,
                    1,
                    VERDICT_REQUIREMENT,
                    note=f"{name}: {verdict}",
                    dimensions={"clip": name},
                )
            )
    return out
