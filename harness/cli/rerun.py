"""``bwc certify --rerun SCENARIO --into RUN_DIR``: run one scenario of a run again on the same
unit and merge the attempt into the run's record, report and evidence manifest.

The unit is checked twice: before the run (the rig file's and camera profile's camera and bench
against the run's record) and after it (what the attempt recorded, the device's own identity
included), each time refused with one line. The attempt runs into ``RUN_DIR/attempts/<id>-<n>/``
(new names for every file), is judged against the catalogue the run was judged against, and is
merged by :func:`harness.report.rerun.merge_rerun`; the report is then rebuilt, its manifest
written atomically. Allure results of the attempt join the run's (new file names; Allure shows
them as retries).
"""

from __future__ import annotations

import argparse
import copy
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.cli.common import console


def _say(text: str) -> None:
    console.print(text, highlight=False, markup=False, soft_wrap=True)


#: ``bwc certify``'s own steps, handed in by it: run (a Namespace -> exit code), plan (-> profile and
#: scenario rows), show (a record's verdict table)
Run = Callable[[argparse.Namespace], int]


def rerun(
    args: argparse.Namespace, certify: Run, planned: Callable[..., Any], print_verdicts: Callable[[dict], None]
) -> int:
    """Run ``args.rerun`` again into ``args.into`` with ``certify``; 0 when the new attempt passed."""
    from harness.cli.report import write_report
    from harness.core.config import ConfigError
    from harness.core.paths import camera_profile_path
    from harness.plan.profile import CameraProfile
    from harness.report.record import RecordError, read_record
    from harness.report.rerun import (
        ATTEMPTS_DIR,
        attempt_folder,
        attempts_of,
        merge_rerun,
        unit_difference,
        unit_of,
    )
    from harness.rig.kinds import load_rig_spec

    where = f"--rerun {args.rerun} --into {args.into}"
    if args.into is None:
        _say(f"--rerun {args.rerun}: name the run to merge into with --into RUN_DIR")
        return 2
    if (args.workers or 0) > 0 or len(args.rig) > 1:
        _say(f"{where}: one scenario on one bench: drop --workers and give at most one --rig")
        return 2
    run_dir = Path(args.into).resolve()
    record_path = run_dir / "record.json"
    try:
        record = read_record(record_path)
    except RecordError as exc:
        _say(f"{where}: {exc}")
        return 2
    if not any(t["scenario"] == args.rerun for t in record["tests"]):
        known = ", ".join(sorted({t["scenario"] for t in record["tests"]})) or "none"
        _say(f"{where}: the run has no scenario {args.rerun!r} (its scenarios: {known})")
        return 2
    try:
        spec, base = load_rig_spec(args.rig[0] if args.rig else None)
        profile = CameraProfile.load(camera_profile_path(args.profile or spec.camera, None if args.profile else base))
        _, rows = planned(args)
    except (ConfigError, ValueError, OSError) as exc:
        _say(f"{where}: {exc}")
        return 2
    here = {"vendor": profile.vendor, "model": profile.model, "serial": spec.unit_serial or profile.serial}
    moved = unit_difference(unit_of(record), {**here, "rig": spec.name})
    if moved is not None:
        _say(f"{where}: not the unit that run certified: {moved}; re-run it on the same unit and bench")
        return 2
    files = [path for path, scenario, _ in rows if scenario is not None and scenario.id == args.rerun]
    if len(files) != 1:
        _say(
            f"{where}: {len(files) or 'no'} scenario file(s) with id {args.rerun!r} "
            f"{'among the files given' if args.scenarios else 'in the built-in suite'}; name its file"
        )
        return 2
    number = attempts_of(record, args.rerun) + 1
    attempt_dir = attempt_folder(run_dir, args.rerun, number)
    if attempt_dir.exists():
        _say(f"{where}: {attempt_dir} exists already (an attempt that was not merged); move it away first")
        return 2
    attempt = copy.copy(args)
    attempt.rerun, attempt.into, attempt.attempt, attempt.workers = None, None, True, 0  # one scenario, one process
    attempt.out, attempt.scenarios, attempt.list = str(attempt_dir), [str(files[0])], False
    attempt.phase = record["phase"]
    recorded_catalogue = (record.get("catalogue") or {}).get("path")
    if not args.requirements and recorded_catalogue and Path(recorded_catalogue).is_file():
        attempt.requirements = recorded_catalogue  # judged by the limits the run was judged by
    _say(f"{args.rerun}: attempt {number}, into {attempt_dir}")
    code = certify(attempt)
    attempt_record = attempt_dir / "record.json"
    if not attempt_record.exists():
        _say(f"{where}: the attempt wrote no record (exit code {code}); nothing merged")
        return code or 2
    try:
        done = read_record(attempt_record)
        if (done.get("catalogue") or {}).get("sha256") != (record.get("catalogue") or {}).get("sha256"):
            raise RecordError(
                f"{attempt_record}: judged against another requirement catalogue than the run "
                f"({(done.get('catalogue') or {}).get('path')}); not merged"
            )
        merged = merge_rerun(record_path, attempt_record, args.rerun, args.reason)
    except RecordError as exc:
        _say(f"{where}: {exc} (the attempt stays in {attempt_dir})")
        return 2
    _join_allure(attempt_dir / "allure-results", run_dir / "allure-results")
    entry = next(t for t in merged["tests"] if t["scenario"] == args.rerun)
    print_verdicts({**merged, "faults": entry["rerun"]["faults"], "tests": [entry]})
    earlier = [s for s in merged.get("superseded") or [] if s["scenario"] == args.rerun]
    kept = ", ".join(f"attempt {s['attempt']} {s['verdict'].upper()}" for s in earlier)
    _say(f"{args.rerun}: attempt {number} {entry['verdict'].upper()} counts; kept as superseded: {kept}")
    _say(f"run record: {record_path} ({ATTEMPTS_DIR}/{attempt_dir.name} holds the attempt's files)")
    write_report(record_path, None, None, not args.no_pdf)
    return 0 if entry["verdict"] in ("pass", "skip") else 1


def _join_allure(attempt: Path, run: Path) -> None:
    """The attempt's Allure results beside the run's (new names only; environment files stay the run's)."""
    if not attempt.is_dir() or not run.is_dir():
        return
    for path in attempt.iterdir():
        if path.name in ("environment.properties", "categories.json", "executor.json") or not path.is_file():
            continue
        target = run / path.name
        if not target.exists():
            shutil.copy2(path, target)
