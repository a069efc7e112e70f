"""The typed run record: one model for the record and its test entries, with a schema version."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.core.measurement import Measurement
from harness.report.record import (
    SCHEMA_VERSION,
    RecordError,
    RunRecord,
    ScenarioEntry,
    merge_worker_records,
    read_record,
)

FIELDS = [
    "schema_version",
    "phase",
    "status",
    "start_utc",
    "end_utc",
    "rig",
    "camera",
    "instruments",
    "faults",
    "catalogue",
    "harness",
    "tests",
]


def _entry(**extra: object) -> ScenarioEntry:
    m = Measurement("preroll_s[event 1]", 120.2, "s", 120.0, None, "BWC-PRE-01").record()
    return ScenarioEntry(
        scenario="preroll",
        title="t",
        requirements=["BWC-PRE-01"],
        verdict="pass",
        measurements=[{**m, **extra}],
        clips=[{"path": "evidence/a.mp4", "sha256": "0" * 64}],
        error=None,
        duration_s=1.5,
        timeline=[],
        artifacts=[],
        notes=[],
    )


def test_the_record_carries_its_schema_version_and_every_field(tmp_path: Path) -> None:
    record = RunRecord(path=tmp_path / "record.json", phase="Phase 1")
    record.add_test(_entry())
    record.add_test(ScenarioEntry(scenario="bad", title="bad.yaml", verdict="error", error="invalid scenario file"))
    data = json.loads((tmp_path / "record.json").read_text())
    assert list(data) == FIELDS and data["schema_version"] == SCHEMA_VERSION
    good, bad = data["tests"]
    assert list(good) == [
        "scenario",
        "title",
        "requirements",
        "verdict",
        "measurements",
        "clips",
        "error",
        "duration_s",
        "timeline",
        "artifacts",
        "notes",
    ]
    assert good["measurements"][0]["value"] == 120.2 and good["measurements"][0]["outcome"] == "pass"
    # a file that could not be loaded: no duration or timeline, but the lists readers expect
    assert bad == {
        "scenario": "bad",
        "title": "bad.yaml",
        "verdict": "error",
        "error": "invalid scenario file",
        "requirements": [],
        "measurements": [],
        "clips": [],
    }
    assert read_record(tmp_path / "record.json") == data


def test_measurement_entries_keep_fields_the_model_does_not_name(tmp_path: Path) -> None:
    """A newer minor version may add fields (e.g. a measurement's dimensions): kept, not dropped."""
    record = RunRecord(path=tmp_path / "record.json", phase="Phase 1")
    record.add_test(_entry(dimensions={"event": 1}))
    data = read_record(tmp_path / "record.json")
    assert data["tests"][0]["measurements"][0]["dimensions"] == {"event": 1}


def test_a_wrong_verdict_is_named(tmp_path: Path) -> None:
    path = tmp_path / "record.json"
    RunRecord(path=path, phase="p").save()
    data = json.loads(path.read_text())
    data["tests"] = [{"scenario": "s", "verdict": "maybe"}]
    path.write_text(json.dumps(data))
    with pytest.raises(RecordError, match=r"tests#1\.verdict: Input should be 'pass', 'fail', 'error' or 'skip'"):
        read_record(path)


def test_worker_records_merge_into_one_typed_record(tmp_path: Path) -> None:
    for worker in ("gw0", "gw1"):
        part = RunRecord(path=tmp_path / "workers" / worker / "record.json", phase="p", rig={"name": f"bench-{worker}"})
        part.add_test(_entry(dimensions={"event": 1}).model_copy(update={"scenario": worker}))
        part.finish()
    merged = merge_worker_records(tmp_path / "workers", tmp_path / "record.json", "p", "complete")
    assert merged is not None
    data = read_record(tmp_path / "record.json")
    assert data["schema_version"] == SCHEMA_VERSION and data["status"] == "complete"
    assert sorted(t["scenario"] for t in data["tests"]) == ["gw0", "gw1"]
    assert set(data["workers"]) == {"gw0", "gw1"}


def test_merged_tests_follow_the_collection_order_not_the_workers(tmp_path: Path) -> None:
    """gw0 ran c and a, gw1 ran b: the merged record lists a, b, c as a run in one process would;
    a test the order does not name (x) comes last."""
    for worker, ids in (("gw0", ["c", "a"]), ("gw1", ["x", "b"])):
        part = RunRecord(path=tmp_path / "workers" / worker / "record.json", phase="p")
        for sid in ids:
            part.add_test(_entry().model_copy(update={"scenario": sid}))
        part.finish()
    merge_worker_records(tmp_path / "workers", tmp_path / "record.json", "p", "complete", ["a", "b", "c"])
    assert [t["scenario"] for t in read_record(tmp_path / "record.json")["tests"]] == ["a", "b", "c", "x"]


def test_a_merge_while_the_run_goes_on_stays_running(tmp_path: Path) -> None:
    part = RunRecord(path=tmp_path / "workers" / "gw0" / "record.json", phase="p")
    part.add_test(_entry())
    merge_worker_records(tmp_path / "workers", tmp_path / "record.json", "p", None)
    data = read_record(tmp_path / "record.json")
    assert data["status"] == "running" and data["end_utc"] is None and len(data["tests"]) == 1
