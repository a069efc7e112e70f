"""The bounded analysis: a child process that always answers, per-clip verdicts and their measurements."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from harness.analysis import bounded
from harness.analysis.bad_clips import CORPUS_TIMES, write_scene_clip
from harness.analysis.bounded import analyse_clip_bounded, clip_verdict, timeout_for, verdict_measurements
from harness.analysis.clip import ClipAnalysis

PER_CLIP_S = 60.0


@pytest.fixture(scope="module")
def good_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = write_scene_clip(tmp_path_factory.mktemp("bounded") / "good.mp4", CORPUS_TIMES)
    yield path
    bounded.shutdown()


def test_good_clip_is_analysed_in_the_child_with_keywords_forwarded(good_clip: Path) -> None:
    """Everything analyse_clip_fully measures comes back; a keyword such as run_id reaches it."""
    a = analyse_clip_bounded(good_clip)
    assert clip_verdict(a) == "analysed"
    assert (a.frames, a.decoded, a.width, a.height) == (60, 60, 320, 240)
    assert len(a.pts_s) == len(a.ref_s) == len(a.brightness) == 60  # the per-frame timeline is not lost
    assert a.first_ref_s == pytest.approx(CORPUS_TIMES[0], abs=1e-3)
    other = analyse_clip_bounded(good_clip, run_id=5)
    assert other.error == "time code from another run: run id 0, expected 5"
    assert clip_verdict(other) == "partial: 60 frames analysed; time code from another run: run id 0, expected 5"


def test_missing_and_empty_files_need_no_child(tmp_path: Path) -> None:
    assert clip_verdict(analyse_clip_bounded(tmp_path / "absent.mp4")) == "unreadable: no such file"
    (tmp_path / "empty.mp4").write_bytes(b"")
    assert clip_verdict(analyse_clip_bounded(tmp_path / "empty.mp4")) == "unreadable: empty file (0 bytes)"


def test_a_hang_becomes_a_verdict_and_the_next_clip_is_analysed(good_clip: Path) -> None:
    """A bound far below the clip's analysis time: the child is ended, the next clip still works."""
    start = time.monotonic()
    stuck = analyse_clip_bounded(good_clip, timeout_s=0.001)
    assert time.monotonic() - start < 10
    assert clip_verdict(stuck) == "unreadable: analysis did not finish within 0.001 s (hung decoder)"
    assert analyse_clip_bounded(good_clip).frames == 60


def test_a_crash_in_the_child_becomes_a_verdict_at_once(good_clip: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The child dies (as on a segfault in native decoding code): the verdict says so without waiting
    for the time bound, and the next clip gets a fresh child."""
    ask = bounded._Worker.ask

    def ask_and_die(self: bounded._Worker, request: tuple, timeout_s: float) -> object:
        os.kill(self.proc.pid, signal.SIGKILL)
        return ask(self, request, timeout_s)

    monkeypatch.setattr(bounded._Worker, "ask", ask_and_die)
    start = time.monotonic()
    dead = analyse_clip_bounded(good_clip, timeout_s=PER_CLIP_S)
    assert time.monotonic() - start < 10
    assert clip_verdict(dead) == "unreadable: the analysis process died (signal SIGKILL) while decoding this file"
    monkeypatch.undo()
    assert analyse_clip_bounded(good_clip).frames == 60


def test_clip_still_being_written_is_named(good_clip: Path, tmp_path: Path) -> None:
    """A writer appends while the analysis reads: the verdict says the file was still changing."""
    data = good_clip.read_bytes()
    target = tmp_path / "growing.mp4"
    target.write_bytes(data[: len(data) // 3])
    stop = threading.Event()

    def grow() -> None:
        with open(target, "ab") as fh:
            for i in range(len(data) // 3, len(data), 512):
                if stop.is_set():
                    return
                fh.write(data[i : i + 512])
                fh.flush()
                time.sleep(0.005)

    writer = threading.Thread(target=grow)
    writer.start()
    try:
        analysis = analyse_clip_bounded(target, timeout_s=PER_CLIP_S)
    finally:
        stop.set()
        writer.join()
    assert analysis.error is not None
    assert "still being written" in analysis.error or clip_verdict(analysis).startswith("unreadable:"), analysis.error


def test_time_bound_grows_with_the_file() -> None:
    """Small files get the floor; a 4-hour 10 Mbit/s segment (18 GB) gets far more than it needs."""
    assert timeout_for(0) == bounded.BASE_TIMEOUT_S
    assert timeout_for(18_000_000_000) > 4 * 3600


def test_each_clip_not_analysed_whole_is_a_failed_measurement_with_its_verdict() -> None:
    whole = ClipAnalysis(path="/evidence/a.mp4", frames=60)
    partial = ClipAnalysis(
        path="/evidence/b.mp4", frames=59, error="decode error at pts 1.000 s: 1 of 60 frames could not be decoded"
    )
    gone = ClipAnalysis(path="/evidence/c.mp4", error="unreadable: empty file (0 bytes)")
    ms = verdict_measurements([whole, partial, gone])
    assert [(m.name, m.value, m.outcome, m.requirement) for m in ms] == [
        ("clip_analysed[b.mp4]", 0, "fail", "BWC-EVT-01"),
        ("clip_analysed[c.mp4]", 0, "fail", "BWC-EVT-01"),
    ]
    assert ms[0].note == (
        "b.mp4: partial: 59 frames analysed; decode error at pts 1.000 s: 1 of 60 frames could not be decoded"
    )
    assert ms[1].note == "c.mp4: unreadable: empty file (0 bytes)"
    assert verdict_measurements([whole]) == []
