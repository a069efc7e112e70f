"""One scenario run again on the same unit, merged into its run's record (``bwc certify --rerun``).

The attempt runs into a folder of its own inside the run folder (``attempts/<scenario>-<n>/``),
so no evidence file of the run is ever overwritten: its clips, pictures and Allure results keep
their own names there. Merging then rewrites the run's ``record.json`` (atomically):

* the scenario's entry in ``tests`` becomes the new attempt's, with ``attempt`` (its number) and
  ``rerun`` (when, the folder, the reason given, the attempt it replaces and its verdict, and why
  this one counts), its clip and picture paths relative to the run folder;
* the entry it replaces moves, whole, to ``superseded`` (a list the record gains), marked with
  ``attempt``, ``superseded_by`` and ``superseded_utc``: its measurements and evidence stay in the
  record, the evidence manifest and the report, which shows every attempt and which one counts.

The latest attempt on the same unit counts: a failure is never replaced silently, only by a
re-run the record names. As with the records of parallel workers (:func:`merge_worker_records`),
entries are validated as :class:`ScenarioEntry` before they are merged.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from harness.core.clock import wall_utc
from harness.core.evidence import write_atomic
from harness.report.record import RecordError, ScenarioEntry, read_record

ATTEMPTS_DIR = "attempts"
#: why the latest attempt counts, as the record and the report say it
COUNTS_BECAUSE = (
    "the latest attempt on the same unit counts: it was re-run on purpose (bwc certify --rerun) and the "
    "attempts it replaces are kept with their evidence"
)


def attempts_of(record: dict[str, Any], scenario: str) -> int:
    """How many attempts of ``scenario`` the record holds (the counting one and the superseded)."""
    counting = [t for t in record["tests"] if t["scenario"] == scenario]
    superseded = [t for t in record.get("superseded") or [] if t.get("scenario") == scenario]
    return len(counting) + len(superseded)


def attempt_folder(run_dir: Path, scenario: str, number: int) -> Path:
    return run_dir / ATTEMPTS_DIR / f"{scenario}-{number}"


def unit_of(record: dict[str, Any]) -> dict[str, Any]:
    """What names the unit and bench a record was made on: camera vendor, model and serial, rig name."""
    camera = record.get("camera") or {}
    return {
        "vendor": camera.get("vendor"),
        "model": camera.get("model"),
        "serial": camera.get("serial"),
        "rig": (record.get("rig") or {}).get("name"),
    }


def unit_difference(before: dict[str, Any], now: dict[str, Any]) -> str | None:
    """How the unit (or bench) ``now`` differs from ``before`` (None: the same), for one line."""
    differ = [f"{k} {now.get(k)!r} (the run: {before.get(k)!r})" for k in before if before.get(k) != now.get(k)]
    return "; ".join(differ) or None


def _rebased(path: str, attempt_dir: Path, run_dir: Path) -> str:
    """A path the attempt recorded (absolute, or relative to its folder), relative to the run folder."""
    p = Path(path)
    full = p if p.is_absolute() else attempt_dir / p
    return Path(os.path.relpath(full.resolve(), run_dir.resolve())).as_posix()


def merge_rerun(run_record: Path, attempt_record: Path, scenario: str, reason: str | None = None) -> dict[str, Any]:
    """Merge the attempt's entry for ``scenario`` into the run's record; returns the merged record.

    Raises :class:`RecordError` (one line) when either record cannot be read, the run has no such
    scenario, the attempt did not record it, or the attempt was made on another unit or bench.
    """
    run_dir = run_record.parent
    record = read_record(run_record)
    attempt = read_record(attempt_record)
    index = next((i for i, t in enumerate(record["tests"]) if t["scenario"] == scenario), None)
    if index is None:
        raise RecordError(f"{run_record}: no scenario {scenario!r} to re-run")
    found = [t for t in attempt["tests"] if t["scenario"] == scenario]
    if len(found) != 1:
        raise RecordError(f"{attempt_record}: the re-run recorded {len(found)} entries for {scenario!r}, not one")
    moved = unit_difference(unit_of(record), unit_of(attempt))
    if moved is not None:
        raise RecordError(f"{attempt_record}: the re-run was made on another unit: {moved}; not merged")
    attempt_dir = attempt_record.parent
    new = dict(found[0])
    new["clips"] = [{**c, "path": _rebased(c["path"], attempt_dir, run_dir)} for c in new.get("clips") or []]
    if new.get("artifacts"):
        new["artifacts"] = [{**a, "path": _rebased(a["path"], attempt_dir, run_dir)} for a in new["artifacts"]]
    old = dict(record["tests"][index])
    old_number = int(old.get("attempt") or 1)
    number = attempts_of(record, scenario) + 1
    now = wall_utc().isoformat()
    new["attempt"] = number
    new["rerun"] = {
        "utc": attempt.get("start_utc") or now,
        "folder": Path(os.path.relpath(attempt_dir.resolve(), run_dir.resolve())).as_posix(),
        "reason": reason,
        "replaces": {"attempt": old_number, "verdict": old["verdict"]},
        "faults": attempt.get("faults") or [],
        "counts_because": COUNTS_BECAUSE,
    }
    ran = (old.get("rerun") or {}).get("utc") or record.get("start_utc")
    old.update(attempt=old_number, superseded_by=number, superseded_utc=now, ran_utc=ran)
    ScenarioEntry.model_validate(new)  # what a reader of the record expects of an entry
    record["tests"][index] = new
    record["superseded"] = [*(record.get("superseded") or []), old]
    write_atomic(run_record, json.dumps(record, indent=2))
    return record
