"""BWC-EVD-01 check: a clip taken in properly passes; an unhashed, writable, changed or mid-copy-changed clip fails."""

from __future__ import annotations

import os
from pathlib import Path

from harness.analysis.clip import ClipAnalysis
from harness.checks import CheckInput, run_checks
from harness.core.evidence import ingest
from harness.core.paths import CAMERAS_DIR
from harness.core.timeline import Timeline
from harness.plan.profile import CameraProfile


def _inp(clips: list[ClipAnalysis]) -> CheckInput:
    return CheckInput(CameraProfile.load(CAMERAS_DIR / "emulated.yaml"), Timeline([]), clips, len(clips))


def _taken(tmp_path: Path, name: str = "CLIP0001.MP4") -> ClipAnalysis:
    source = tmp_path / "camera" / name
    source.parent.mkdir(exist_ok=True)
    source.write_bytes(os.urandom(4096))
    ev = ingest(source, tmp_path / "evidence")
    return ClipAnalysis(path=str(ev.path), sha256=ev.sha256)


def _outcomes(clips: list[ClipAnalysis]) -> dict[str, str]:
    return {m.name: m.outcome for m in run_checks(["evidence"], _inp(clips))}


def test_clips_taken_in_by_the_harness_pass(tmp_path: Path) -> None:
    outcomes = _outcomes([_taken(tmp_path), _taken(tmp_path, "CLIP0002.MP4")])
    assert set(outcomes.values()) == {"pass"} and len(outcomes) == 4


def test_each_break_of_the_chain_is_caught(tmp_path: Path) -> None:
    unhashed = _taken(tmp_path, "A.MP4")
    unhashed.sha256 = None
    writable = _taken(tmp_path, "B.MP4")
    os.chmod(writable.path, 0o644)
    changed = _taken(tmp_path, "C.MP4")
    os.chmod(changed.path, 0o644)
    Path(changed.path).write_bytes(b"edited")
    os.chmod(changed.path, 0o444)
    mid_copy = _taken(tmp_path, "D.MP4")
    marked = Path(mid_copy.path).with_name("D.changed-during-copy.MP4")
    os.rename(mid_copy.path, marked)
    mid_copy.path = str(marked)
    got = {m.name: m for m in run_checks(["evidence"], _inp([unhashed, writable, changed, mid_copy]))}
    assert got["evidence_not_hashed_at_ingest"].value == 1 and "A.MP4" in got["evidence_not_hashed_at_ingest"].note
    assert got["evidence_writable"].value == 1 and "B.MP4" in got["evidence_writable"].note
    assert got["evidence_changed"].value == 1 and "C.MP4" in got["evidence_changed"].note
    assert got["evidence_changed_during_copy"].value == 1
    assert all(m.outcome == "fail" and m.requirement == "BWC-EVD-01" for m in got.values())
