"""Clip analysis that always ends with a verdict: bad files, crashes and hangs become reasons.

A certification campaign meets zero-byte files, half-copied clips and files that make a decoder
spin. :func:`analyse_clip_fully` already turns most of them into ``error``; this wrapper adds what
an in-process call cannot promise: a bound on time (the analysis runs in a child process that is
terminated when the bound passes), survival of a crash in native decoding code, and a check that
the file did not change while it was read (a clip still being written).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.pool
import os
import threading
from pathlib import Path

from harness.analysis.clip import ClipAnalysis
from harness.analysis.findings import analyse_clip_fully

DEFAULT_TIMEOUT_S = 600.0  # generous for a long 1080p clip on a slow bench PC; a hang still ends

_lock = threading.Lock()
_pool: multiprocessing.pool.Pool | None = None


def _get_pool() -> multiprocessing.pool.Pool:
    """One spawned worker, reused across clips (spawn: safe beside the emulator's threads)."""
    global _pool
    if _pool is None:
        _pool = multiprocessing.get_context("spawn").Pool(1)
    return _pool


def _discard_pool() -> None:
    global _pool
    if _pool is not None:
        _pool.terminate()
        _pool.join()
        _pool = None


def _analyse(path: str, refresh_hz: float, burned_in: str | None, press_at: float | None) -> ClipAnalysis | str:
    """Child side: the analysis, or the text of the exception it raised (always picklable)."""
    try:
        return analyse_clip_fully(path, refresh_hz, burned_in, press_at)
    except BaseException as exc:  # noqa: BLE001 - the parent turns every failure into a verdict
        return f"{type(exc).__name__}: {exc}"


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def unreadable(path: Path | str, reason: str) -> ClipAnalysis:
    result = ClipAnalysis(path=str(path), error=f"unreadable: {reason}")
    result.findings.append(result.error)
    return result


def analyse_clip_bounded(
    path: Path | str,
    refresh_hz: float = 60.0,
    burned_in: str | None = None,
    press_at: float | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> ClipAnalysis:
    """:func:`analyse_clip_fully` in a child process; never raises, returns within ``timeout_s`` (+ start-up)."""
    path = Path(path)
    before = _stat(path)
    if before is None or not path.is_file():
        return unreadable(path, "no such file")
    if before[0] == 0:
        return unreadable(path, "empty file (0 bytes)")
    with _lock:  # one clip at a time through the worker; concurrent callers queue
        pending = _get_pool().apply_async(_analyse, (os.fspath(path), refresh_hz, burned_in, press_at))
        try:
            outcome = pending.get(timeout_s)
        except multiprocessing.TimeoutError:
            _discard_pool()  # the worker may be stuck in native code: end it, start afresh next time
            return unreadable(path, f"analysis did not finish within {timeout_s:g} s (hung or crashed decoder)")
        except Exception as exc:  # e.g. a result that could not be sent back
            _discard_pool()
            return unreadable(path, f"analysis failed: {type(exc).__name__}: {exc}")
    if isinstance(outcome, str):
        return unreadable(path, f"analysis raised {outcome}")
    after = _stat(path)
    if after != before:
        outcome.error = (f"still being written: the file changed while it was analysed "
                         f"({before[0]} -> {after[0] if after else 'gone'} bytes); "
                         + (outcome.error or "result covers only what was there"))
        outcome.findings.append(outcome.error)
    return outcome


def clip_verdict(analysis: ClipAnalysis) -> str:
    """One line per clip: ``analysed``, ``partial: <what was lost>`` or ``unreadable: <reason>``."""
    if analysis.error is None:
        return "analysed"
    if analysis.error.startswith("unreadable: "):
        return analysis.error
    if analysis.frames:
        return f"partial: {analysis.frames} frame(s) analysed; {analysis.error}"
    return f"unreadable: {analysis.error}"


def shutdown() -> None:
    """End the worker process (tests and long-lived callers; it also ends with the interpreter)."""
    with _lock:
        _discard_pool()
