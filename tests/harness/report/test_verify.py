"""``bwc verify-evidence``: a manifest written by the report writer, then the evidence tampered with."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.core.evidence import sha256_file
from harness.report.manifest import MANIFEST_NAME, evidence_items, manifest_text
from harness.report.verify import verify_evidence
from tests.conftest import run_bwc


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """A run folder as a certification leaves it: clips, record.json, and the manifest of them."""
    tests = []
    for scenario in ("stop", "segments"):
        folder = tmp_path / "evidence" / scenario
        folder.mkdir(parents=True)
        clips = []
        for i in range(2):
            clip = folder / f"clip{i}.mp4"
            clip.write_bytes(f"{scenario} clip {i}".encode() * 1000)
            clips.append({"path": str(clip), "sha256": sha256_file(clip)})
        tests.append({"scenario": scenario, "verdict": "pass", "clips": clips, "measurements": []})
    record_path = tmp_path / "record.json"
    record = {"phase": "P", "status": "complete", "tests": tests}
    record_path.write_text(json.dumps(record))
    items = evidence_items(record, tmp_path)
    (tmp_path / MANIFEST_NAME).write_text(manifest_text(items, record_path, tmp_path))
    return tmp_path


def _statuses(folder: Path) -> dict[str, str]:
    return {f.path: f.status for f in verify_evidence(folder)}


def test_untouched_run_is_all_intact(run_dir: Path) -> None:
    statuses = _statuses(run_dir)
    assert len(statuses) == 5 and set(statuses.values()) == {"intact"}
    assert run_bwc("verify-evidence", str(run_dir)).returncode == 0


def test_changed_vanished_and_appeared_files_are_each_named(run_dir: Path) -> None:
    """One byte changed, one clip deleted, one file added: the command names all three and fails."""
    changed = run_dir / "evidence" / "stop" / "clip0.mp4"
    data = bytearray(changed.read_bytes())
    data[500] ^= 0x01
    changed.write_bytes(bytes(data))
    (run_dir / "evidence" / "segments" / "clip1.mp4").unlink()
    (run_dir / "evidence" / "new-scenario").mkdir()
    (run_dir / "evidence" / "new-scenario" / "extra.mp4").write_bytes(b"not measured")
    statuses = _statuses(run_dir)
    assert statuses["evidence/stop/clip0.mp4"] == "changed"
    assert statuses["evidence/segments/clip1.mp4"] == "vanished"
    assert statuses["evidence/new-scenario/extra.mp4"] == "appeared"
    assert statuses["evidence/stop/clip1.mp4"] == statuses["record.json"] == "intact"
    proc = run_bwc("verify-evidence", str(run_dir))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    for line in ("CHANGED evidence/stop/clip0.mp4", "VANISHED evidence/segments/clip1.mp4",
                 "APPEARED evidence/new-scenario/extra.mp4"):
        assert line in proc.stdout
    listed = json.loads(run_bwc("verify-evidence", str(run_dir), "--json").stdout)
    assert listed["ok"] is False and len(listed["files"]) == 6


def test_edited_record_is_changed(run_dir: Path) -> None:
    """The record ties measurements to clips; editing it after the report is caught too."""
    record = run_dir / "record.json"
    record.write_text(record.read_text().replace('"pass"', '"fail"', 1))
    assert _statuses(run_dir)["record.json"] == "changed"


def test_missing_or_malformed_manifest_is_a_clear_error(run_dir: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = run_bwc("verify-evidence", str(empty))
    assert proc.returncode == 2 and "cannot read the evidence manifest" in proc.stdout
    (run_dir / MANIFEST_NAME).write_text("deadbeef  evidence/stop/clip0.mp4\n")
    proc = run_bwc("verify-evidence", str(run_dir))
    assert proc.returncode == 2 and "line 1" in proc.stdout
