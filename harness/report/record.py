"""The run record (``<out>/record.json``): one durable file per run, rewritten after every test.

Rewriting through a temporary file and ``os.replace`` means a run killed at any instant leaves
the record of every test that had finished.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.core.clock import wall_utc
from harness.core.evidence import write_atomic

#: ``MAJOR.MINOR`` of the record.json layout. A reader reads every minor version of its own major
#: (a minor version only adds fields); a new major version means a reader must be updated first.
SCHEMA_VERSION = "1.0"
#: records written before the field existed have the 1.0 layout
LEGACY_SCHEMA_VERSION = "1.0"
_VERSION = re.compile(r"^(\d+)\.(\d+)$")


class _Entry(BaseModel):
    """Record entries keep fields they do not know: a newer minor version may add some."""

    model_config = ConfigDict(extra="allow")


class MeasurementEntry(_Entry):
    """One measurement as recorded (:meth:`harness.core.measurement.Measurement.record`)."""

    name: str
    value: float | int | None
    unit: str
    low: float | int | None
    high: float | int | None
    # pass, fail, info, "not measurable" (the camera model gives no way to measure it) or
    # "inconclusive" (guarded decision rule: value +/- U straddles a limit)
    outcome: str
    requirement: str
    not_measurable: str | None = None  # why not, for a measurement the camera model cannot give


class ClipEntry(_Entry):
    """An evidence clip: where it is and its SHA-256 at ingest."""

    path: str
    sha256: str


class ScenarioEntry(_Entry):
    """The record of one scenario's test: its verdict, measurements, evidence and pictures.

    A scenario file that could not be loaded is an entry too (verdict ``error``, no duration or
    timeline): the record then lists every file of the suite.
    """

    scenario: str
    title: str = ""
    requirements: list[str] = Field(default_factory=list)
    verdict: Literal["pass", "fail", "error", "skip"]
    measurements: list[MeasurementEntry] = Field(default_factory=list)
    clips: list[ClipEntry] = Field(default_factory=list)
    error: str | None = None
    duration_s: float | None = None
    timeline: list[dict[str, Any]] | None = None
    artifacts: list[dict[str, Any]] | None = None
    notes: list[str] | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON object: the fields that were given (a collection error has no timeline)."""
        data = self.model_dump(exclude_unset=True)
        for key in ("requirements", "measurements", "clips", "error"):  # always present, as readers expect
            data.setdefault(key, getattr(self, key))
        return data


class RunRecord(BaseModel):
    """The run record: written after every test, read by ``bwc report``."""

    path: Path = Field(exclude=True)
    schema_version: str = SCHEMA_VERSION
    phase: str
    rig: dict[str, Any] = Field(default_factory=dict)
    camera: dict[str, Any] = Field(default_factory=dict)
    instruments: dict[str, Any] = Field(default_factory=dict)
    # the bench's calibration records (file, present-time source, records, those out of date)
    calibration: dict[str, Any] = Field(default_factory=dict)
    faults: list[str] = Field(default_factory=list)
    # path, SHA-256 and decision rule of the requirement catalogue used
    catalogue: dict[str, Any] = Field(default_factory=dict)
    harness: dict[str, Any] = Field(default_factory=dict)  # harness version that made the run
    tests: list[ScenarioEntry] = Field(default_factory=list)
    start_utc: str = Field(default_factory=lambda: wall_utc().isoformat())
    end_utc: str | None = None
    status: str = "running"
    workers: dict[str, Any] = Field(default_factory=dict)  # pytest-xdist: each worker's rig, camera and status
    #: a test station's attempt: lot, operator, bench, attempt and profile, given when the run starts
    station: dict[str, Any] = Field(default_factory=dict)

    def add_test(self, entry: ScenarioEntry | dict[str, Any]) -> None:
        self.tests.append(entry if isinstance(entry, ScenarioEntry) else ScenarioEntry.model_validate(entry))
        self.save()

    def abort(self, reason: str) -> None:
        """The run stopped because its output cannot be written: say so, keeping every test measured so far.

        Saving may itself fail on a full disk (the previous record then stays whole)."""
        self.end_utc = wall_utc().isoformat()
        self.status = f"aborted: {reason}"
        self.save()

    def finish(self, status: str = "complete") -> None:
        self.end_utc = wall_utc().isoformat()
        self.status = status
        self.save()

    def as_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "phase": self.phase,
            "status": self.status,
            "start_utc": self.start_utc,
            "end_utc": self.end_utc,
            "rig": self.rig,
            "camera": self.camera,
            "instruments": self.instruments,
            **({"calibration": self.calibration} if self.calibration else {}),
            "faults": self.faults,
            "catalogue": self.catalogue,
            "harness": self.harness,
            "tests": [t.as_dict() for t in self.tests],
            **({"workers": self.workers} if self.workers else {}),
            **({"station": self.station} if self.station else {}),
        }

    def save(self) -> None:
        """Rewrite through a temporary file renamed into place (:func:`write_atomic`): a run killed
        at any instant, or a full disk, leaves the record of every test that had finished."""
        write_atomic(self.path, json.dumps(self.as_dict(), indent=2))


class RecordError(ValueError):
    """A run record that cannot be read: the message names the file and what is wrong."""


def load_record(path: Path | str) -> dict:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def schema_version(data: dict[str, Any], path: Path) -> tuple[int, int]:
    """The record's ``(major, minor)``; a version this harness cannot read raises :class:`RecordError`."""
    raw = data.get("schema_version", LEGACY_SCHEMA_VERSION)
    match = _VERSION.match(raw) if isinstance(raw, str) else None
    if match is None:
        raise RecordError(
            f"{path}: schema_version {raw!r} is not MAJOR.MINOR; this harness reads record "
            f"schema {SCHEMA_VERSION.split('.')[0]}.x"
        )
    major, minor = int(match[1]), int(match[2])
    ours = int(SCHEMA_VERSION.split(".")[0])
    if major != ours:
        newer = "a newer harness" if major > ours else "an older harness"
        raise RecordError(
            f"{path}: record schema_version {raw} was written by {newer}; this harness "
            f"(record schema {SCHEMA_VERSION}) reads only {ours}.x"
        )
    return major, minor


def read_record(path: Path | str) -> dict:
    """Load and check a run record for reporting; a bad one raises :class:`RecordError`."""
    path = Path(path)
    try:
        data = load_record(path)
    except OSError as exc:
        raise RecordError(f"{path}: cannot read run record ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise RecordError(f"{path}: not a UTF-8 text file (byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise RecordError(f"{path}: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("tests"), list):
        raise RecordError(f"{path}: not a run record (expected an object with a 'tests' list)")
    schema_version(data, path)
    for i, test in enumerate(data["tests"], 1):
        if not isinstance(test, dict) or "scenario" not in test or "verdict" not in test:
            raise RecordError(f"{path}: tests#{i}: expected an object with 'scenario' and 'verdict'")
        for j, m in enumerate(test.get("measurements") or [], 1):
            missing = [
                k
                for k in ("name", "value", "unit", "low", "high", "outcome", "requirement")
                if not isinstance(m, dict) or k not in m
            ]
            if missing:
                raise RecordError(f"{path}: tests#{i}.measurements#{j}: missing {missing}")
        try:
            ScenarioEntry.model_validate(test)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = "".join(f"#{p + 1}" if isinstance(p, int) else f".{p}" for p in err["loc"])
            raise RecordError(f"{path}: tests#{i}{where}: {err['msg']}") from None
    return data


def merge_worker_records(
    workers_dir: Path, path: Path, phase: str, status: str | None, order: Sequence[str] = ()
) -> RunRecord | None:
    """One run record from the records pytest-xdist workers wrote under ``workers_dir/<id>/``.

    Each scenario ran on exactly one worker, so the tests are simply gathered, in ``order`` (the
    scenario ids as collected: the order a run in one process records them; tests it does not
    name follow, as gathered); the run is complete only if the controller and every worker say
    so. The rigs and instruments of each worker are kept under ``workers``, so a run spread over
    several benches still says which bench did what. None when no worker wrote a record (nothing
    was collected). ``status`` None: the run goes on (merged after each test, so the record holds
    every finished test, as a run in one process rewrites it); the record stays ``running``.
    """
    parts = sorted(workers_dir.glob("*/record.json"))
    if not parts:
        return None
    records = {p.parent.name: load_record(p) for p in parts}
    first = next((r for r in records.values() if r.get("rig")), next(iter(records.values())))
    statuses = [status or "running"] + [r.get("status", "running") for r in records.values()]
    merged = RunRecord(
        path=path,
        phase=phase,
        rig=first.get("rig") or {},
        camera=first.get("camera") or {},
        instruments=first.get("instruments") or {},
        calibration=first.get("calibration") or {},
        faults=first.get("faults") or [],
        catalogue=first.get("catalogue") or {},
        harness=first.get("harness") or {},
        station=first.get("station") or {},
        start_utc=min(r["start_utc"] for r in records.values()),
    )
    tests = [ScenarioEntry.model_validate(t) for r in records.values() for t in r["tests"]]
    rank = {sid: i for i, sid in reversed(list(enumerate(order)))}
    merged.tests = sorted(tests, key=lambda t: rank.get(t.scenario, len(rank)))
    merged.workers = {
        wid: {k: r.get(k) for k in ("rig", "camera", "instruments", "status")} for wid, r in records.items()
    }
    if status is None:
        merged.save()
        return merged
    merged.finish(
        "complete"
        if all(s == "complete" for s in statuses)
        else "interrupted"
        if "interrupted" in statuses
        else "incomplete"
    )
    return merged
