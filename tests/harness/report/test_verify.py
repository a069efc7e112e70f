"""``bwc verify-evidence``: a manifest written by the report writer, then the evidence tampered with."""

from __future__ import annotations

import json
import os
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
    for line in (
        "CHANGED evidence/stop/clip0.mp4",
        "VANISHED evidence/segments/clip1.mp4",
        "APPEARED evidence/new-scenario/extra.mp4",
    ):
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
    proc = run_bwc("verify-evidence", str(run_dir))  # a damaged manifest is a finding, not an error
    assert proc.returncode == 1 and "MALFORMED manifest.sha256:1" in proc.stdout


def _findings(folder: Path) -> dict[str, str]:
    return {f.path: f.status for f in verify_evidence(folder) if not f.ok}


def test_a_dangling_link_and_a_non_utf8_manifest_are_findings_not_tracebacks(run_dir: Path) -> None:
    (run_dir / "evidence" / "stop" / "dangling.mp4").symlink_to(run_dir / "nowhere.mp4")
    manifest = run_dir / MANIFEST_NAME
    manifest.write_bytes(manifest.read_bytes() + b"\xff\xfe not utf-8\n")
    found = _findings(run_dir)
    assert found["evidence/stop/dangling.mp4"] == "link"
    assert found[f"{MANIFEST_NAME}:6"] == "malformed"
    proc = run_bwc("verify-evidence", str(run_dir))
    assert proc.returncode == 1 and "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr


def test_a_fifo_is_never_opened(run_dir: Path) -> None:
    """A FIFO used to hang the command: it is named, not read (the test would block here otherwise)."""
    fifo = run_dir / "evidence" / "stop" / "clip1.mp4"
    fifo.unlink()
    os.mkfifo(fifo)
    os.mkfifo(run_dir / "evidence" / "pipe")
    proc = run_bwc("verify-evidence", str(run_dir), timeout=60)
    assert proc.returncode == 1
    assert "SPECIAL evidence/stop/clip1.mp4" in proc.stdout and "SPECIAL evidence/pipe" in proc.stdout


def test_a_manifest_line_never_walks_out_of_the_run(run_dir: Path) -> None:
    manifest = run_dir / MANIFEST_NAME
    manifest.write_text(manifest.read_text() + f"{'0' * 64}  ../../etc/hostname\n{'0' * 64}  /etc/hostname\n")
    found = _findings(run_dir)
    assert found["../../etc/hostname"] == "outside" and found["/etc/hostname"] == "outside"


def test_an_evidence_clip_replaced_by_a_link_to_a_copy_is_not_intact(run_dir: Path, tmp_path_factory) -> None:
    clip = run_dir / "evidence" / "stop" / "clip0.mp4"
    copy = tmp_path_factory.mktemp("elsewhere") / "clip0.mp4"
    copy.write_bytes(clip.read_bytes())  # same bytes, same hash: only the link gives it away
    clip.unlink()
    clip.symlink_to(copy)
    assert _findings(run_dir) == {"evidence/stop/clip0.mp4": "link"}
    (run_dir / "evidence" / "segments").rename(run_dir / "segments-real")
    (run_dir / "evidence" / "segments").symlink_to(run_dir / "segments-real", target_is_directory=True)
    found = _findings(run_dir)
    assert found["evidence/segments/clip0.mp4"] == "link" and found["evidence/segments"] == "link"


def _reported_run(run_factory) -> Path:  # type: ignore[no-untyped-def]
    from harness.report.html import build_report

    record_path = run_factory()
    folder = record_path.parent
    (folder / "evidence" / "preroll-full-buffer" / "display_present_log.csv").write_text("t,frame\n0,1\n")
    pictures = folder / "evidence" / "stop" / "clip1-timeline.png"
    pictures.write_bytes(b"\x89PNG not really")
    (folder / "allure-results").mkdir()
    (folder / "allure-results" / "x-result.json").write_text("{}")
    build_report(record_path, pdf=False)
    return folder


def test_the_whole_run_is_covered(run_factory) -> None:  # type: ignore[no-untyped-def]
    """report.html edited PASS->FAIL, an edited picture, a new top-level file, a *.tmp file and an
    edited display present log: each is named (they all used to pass as 'no problem')."""
    folder = _reported_run(run_factory)
    assert _findings(folder) == {}
    assert run_bwc("verify-evidence", str(folder)).returncode == 0
    html = folder / "report.html"
    html.write_text(html.read_text().replace("PASS", "FAIL", 1))
    (folder / "evidence" / "stop" / "clip1-timeline.png").write_bytes(b"\x89PNG edited")
    (folder / "notes.txt").write_text("new")
    (folder / "evidence" / "stop" / "CAM_0001.mp4.tmp").write_text("left over")
    (folder / "evidence" / "preroll-full-buffer" / "display_present_log.csv").write_text("t,frame\n0,2\n")
    (folder / "allure-results" / "x-result.json").write_text('{"status": "passed"}')
    found = _findings(folder)
    assert found == {
        "report.html": "changed",
        "evidence/stop/clip1-timeline.png": "changed",
        "notes.txt": "appeared",
        "evidence/stop/CAM_0001.mp4.tmp": "appeared",
        "evidence/preroll-full-buffer/display_present_log.csv": "changed",
        "allure-results/x-result.json": "changed",
    }, found
    assert run_bwc("verify-evidence", str(folder)).returncode == 1


def test_the_evidence_map_ties_camera_paths_to_evidence_files(run_factory) -> None:  # type: ignore[no-untyped-def]
    record_path = run_factory()
    record = json.loads(record_path.read_text())
    record["tests"][0]["clips"][0]["camera_path"] = "DCIM/100MEDIA/CAM_0001.mp4"
    record_path.write_text(json.dumps(record))
    from harness.report.html import build_report

    build_report(record_path, pdf=False)
    rows = json.loads((record_path.parent / "evidence-map.json").read_text())["clips"]
    first = next(r for r in rows if r["camera_path"])
    assert first["camera_path"] == "DCIM/100MEDIA/CAM_0001.mp4"
    assert first["evidence"].startswith("evidence/") and first["sha256"] == record["tests"][0]["clips"][0]["sha256"]
    assert "evidence-map.json" in (record_path.parent / MANIFEST_NAME).read_text()


def test_a_report_that_fails_half_way_leaves_the_previous_files_whole(run_factory, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A failure while the report is made keeps report.html and manifest.sha256 as they were."""
    from harness.report import html as html_module

    folder = _reported_run(run_factory)
    before = {name: (folder / name).read_bytes() for name in ("report.html", MANIFEST_NAME)}

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError(28, "No space left on device")

    record = folder / "record.json"
    record.write_text(record.read_text().replace('"complete"', '"interrupted"', 1))  # a new manifest would differ
    monkeypatch.setattr(html_module, "render_html", broken)
    with pytest.raises(OSError):
        html_module.build_report(folder / "record.json", pdf=False)
    assert {name: (folder / name).read_bytes() for name in before} == before
    assert not [p for p in folder.rglob("*.tmp")]
