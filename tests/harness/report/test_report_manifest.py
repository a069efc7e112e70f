"""Evidence list and manifest: hashes re-checked, any change or loss reported, sha256sum-compatible."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.report.manifest import evidence_items, evidence_problems, manifest_text, text_sha256


def _items(record_path: Path):
    record = json.loads(record_path.read_text())
    return evidence_items(record, record_path.parent)


def test_intact_evidence_and_a_manifest_that_sha256sum_accepts(run_factory) -> None:
    record_path = run_factory()
    items = _items(record_path)
    assert [i.status for i in items] == ["intact", "intact"]
    text = manifest_text(items, record_path, record_path.parent)
    assert text.splitlines()[-1].endswith("  record.json")
    (record_path.parent / "manifest.sha256").write_text(text)
    if shutil.which("sha256sum") is None:
        pytest.skip("sha256sum is not installed")
    check = subprocess.run(
        ["sha256sum", "-c", "manifest.sha256"], cwd=record_path.parent, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_a_changed_or_missing_clip_is_reported(run_factory) -> None:
    record_path = run_factory()
    clips = sorted((record_path.parent / "evidence").rglob("*.mp4"))
    clips[0].write_bytes(clips[0].read_bytes() + b"x")
    clips[1].unlink()
    items = _items(record_path)
    assert sorted(i.status for i in items) == ["changed", "missing"]
    problems = evidence_problems(items)
    assert len(problems) == 2 and any("is changed" in p for p in problems) and any("is missing" in p for p in problems)


def test_a_moved_run_folder_still_finds_its_evidence(run_factory, tmp_path) -> None:
    record_path = run_factory()
    moved = tmp_path / "archive" / "phase-1"
    shutil.move(str(record_path.parent), moved)
    items = _items(moved / "record.json")
    assert [i.status for i in items] == ["intact", "intact"]
    assert all(i.path is not None and moved in i.path.parents for i in items)


def test_manifest_hash_changes_with_any_recorded_hash(run_factory) -> None:
    record_path = run_factory()
    before = text_sha256(manifest_text(_items(record_path), record_path, record_path.parent))
    record = json.loads(record_path.read_text())
    record["tests"][0]["clips"][0]["sha256"] = "0" * 64
    record_path.write_text(json.dumps(record))
    after = text_sha256(manifest_text(_items(record_path), record_path, record_path.parent))
    assert before != after


def test_camera_storage_is_dropped_only_once_the_evidence_is_verified(run_factory, tmp_path) -> None:
    from harness.report.manifest import drop_camera_storage

    record_path = run_factory()
    record = json.loads(record_path.read_text())
    storage = record_path.parent / "camera-storage"
    (storage / "DCIM").mkdir(parents=True)
    (storage / "DCIM" / "CAM_0001.mp4").write_bytes(b"camera side")
    clip = sorted((record_path.parent / "evidence").rglob("*.mp4"))[0]
    original = clip.read_bytes()
    clip.write_bytes(original + b"x")
    assert "kept" in drop_camera_storage(record, record_path.parent, storage) and storage.is_dir()
    clip.write_bytes(original)
    assert "removed" in drop_camera_storage(record, record_path.parent, storage) and not storage.exists()
