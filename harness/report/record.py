"""The run record (``<out>/record.json``): one durable file per run, rewritten after every test.

Rewriting through a temporary file and ``os.replace`` means a run killed at any instant leaves
the record of every test that had finished.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from harness.core.clock import wall_utc
from harness.core.evidence import write_atomic


@dataclass
class RunRecord:
    path: Path
    phase: str
    rig: dict = field(default_factory=dict)
    camera: dict = field(default_factory=dict)
    instruments: dict = field(default_factory=dict)
    faults: list[str] = field(default_factory=list)
    catalogue: dict = field(default_factory=dict)  # path and SHA-256 of the requirement catalogue used
    harness: dict = field(default_factory=dict)  # harness version that made the run
    tests: list[dict] = field(default_factory=list)
    start_utc: str = field(default_factory=lambda: wall_utc().isoformat())
    end_utc: str | None = None
    status: str = "running"
    workers: dict = field(default_factory=dict)  # pytest-xdist: each worker's rig, camera and status

    def add_test(self, entry: dict) -> None:
        self.tests.append(entry)
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

    def as_dict(self) -> dict:
        return {
            "phase": self.phase,
            "status": self.status,
            "start_utc": self.start_utc,
            "end_utc": self.end_utc,
            "rig": self.rig,
            "camera": self.camera,
            "instruments": self.instruments,
            "faults": self.faults,
            "catalogue": self.catalogue,
            "harness": self.harness,
            "tests": self.tests,
            **({"workers": self.workers} if self.workers else {}),
        }

    def save(self) -> None:
        write_atomic(self.path, json.dumps(self.as_dict(), indent=2))


class RecordError(ValueError):
    """A run record that cannot be read: the message names the file and what is wrong."""


def load_record(path: Path | str) -> dict:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def read_record(path: Path | str) -> dict:
    """Load and check a run record for reporting; a bad one raises :class:`RecordError`."""
    path = Path(path)
    try:
        data = load_record(path)
    except OSError as exc:
        raise RecordError(f"{path}: cannot read run record ({exc.strerror or exc})") from exc
    except json.JSONDecodeError as exc:
        raise RecordError(f"{path}: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("tests"), list):
        raise RecordError(f"{path}: not a run record (expected an object with a 'tests' list)")
    for i, test in enumerate(data["tests"], 1):
        if not isinstance(test, dict) or "scenario" not in test or "verdict" not in test:
            raise RecordError(f"{path}: tests#{i}: expected an object with 'scenario' and 'verdict'")
        for j, m in enumerate(test.get("measurements") or [], 1):
            missing = [k for k in ("name", "value", "unit", "low", "high", "outcome", "requirement") if k not in m]
            if missing:
                raise RecordError(f"{path}: tests#{i}.measurements#{j}: missing {missing}")
    return data


def merge_worker_records(workers_dir: Path, path: Path, phase: str, status: str) -> RunRecord | None:
    """One run record from the records pytest-xdist workers wrote under ``workers_dir/<id>/``.

    Each scenario ran on exactly one worker, so the tests are simply gathered; the run is complete
    only if the controller and every worker say so. The rigs and instruments of each worker are
    kept under ``workers``, so a run spread over several benches still says which bench did what.
    None when no worker wrote a record (nothing was collected).
    """
    parts = sorted(workers_dir.glob("*/record.json"))
    if not parts:
        return None
    records = {p.parent.name: load_record(p) for p in parts}
    first = next((r for r in records.values() if r.get("rig")), next(iter(records.values())))
    statuses = [status] + [r.get("status", "running") for r in records.values()]
    merged = RunRecord(path=path, phase=phase, rig=first.get("rig") or {}, camera=first.get("camera") or {},
                       instruments=first.get("instruments") or {}, faults=first.get("faults") or [],
                       catalogue=first.get("catalogue") or {}, harness=first.get("harness") or {},
                       start_utc=min(r["start_utc"] for r in records.values()))
    merged.tests = [t for r in records.values() for t in r["tests"]]
    merged.workers = {wid: {k: r.get(k) for k in ("rig", "camera", "instruments", "status")}
                      for wid, r in records.items()}
    merged.finish("complete" if all(s == "complete" for s in statuses) else
                  "interrupted" if "interrupted" in statuses else "incomplete")
    return merged
