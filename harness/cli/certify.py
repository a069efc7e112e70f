"""``bwc certify``: run the certification suite on a rig and print a verdict per scenario."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table

from harness.cli.common import console, num, number
from harness.cli.db import CertifyStore, add_certify_options
from harness.cli.places import add_arguments as add_place_arguments
from harness.cli.places import certify_on_places, wants_places
from harness.cli.report import write_report
from harness.core.measurement import INCONCLUSIVE, NOT_MEASURABLE
from harness.core.paths import SUITE_DIR
from harness.core.progress import hms

if TYPE_CHECKING:
    from harness.plan.profile import CameraProfile
    from harness.plan.scenario import Scenario


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``certify`` verb and its options."""
    p = sub.add_parser("certify", help="run the certification suite on a rig (default: the emulated camera)")
    p.add_argument(
        "--rig",
        action="append",
        default=[],
        help="rig file; default: the built-in emulated camera (several benches: repeat, with --workers)",
    )
    p.add_argument("--phase", default="unspecified", help="deployment phase this run certifies")
    p.add_argument("--out", default="out", help="output folder (Allure results, evidence, record.json)")
    p.add_argument("--profile", help="camera profile (name or file) for the emulated rig")
    p.add_argument("--fault", action="append", default=[], help="switch on an emulated fault (repeatable)")
    p.add_argument("--no-pdf", action="store_true", help="write the certification report as HTML only")
    p.add_argument(
        "--keep-camera-storage",
        action="store_true",
        help="keep the emulated camera's storage under --out (default: removed once the evidence is verified)",
    )
    p.add_argument(
        "--requirements",
        metavar="FILE",
        help="the agency's own requirement catalogue: its limits decide the verdicts (default: the built-in catalogue)",
    )
    p.add_argument(
        "--workers",
        type=number(0, 256, integer=True),
        default=None,
        metavar="N",
        help="run scenarios on N pytest-xdist workers, each with its own emulated rig "
        "(or one per --rig bench); 0: one process. Default: the built-in emulated camera (no --rig, "
        "no --profile) runs one worker per CPU core, at most one per scenario; any other rig one process",
    )
    p.add_argument(
        "--operator",
        choices=("terminal", "auto"),
        default=None,
        help="who answers the scenarios' operator prompts: a person at the terminal, or 'auto' (the "
        "emulated rig answers what its camera shows; CI). Default: auto on an emulated rig, the "
        "terminal on a bench",
    )
    p.add_argument(
        "--operator-socket",
        metavar="PATH",
        help="answer prompts through a test station's prompt socket (bwc station passes it to each unit's run)",
    )
    p.add_argument(
        "--station-info",
        metavar="JSON",
        help="a test station's attempt (lot, operator, bench, attempt, profile) for the run record (bwc station "
        "passes it, so the record holds it before its hash is taken)",
    )
    p.add_argument(
        "--list",
        action="store_true",
        help="list the scenarios with their expected bench duration for the camera profile, and run nothing",
    )
    p.add_argument(
        "--rerun",
        metavar="SCENARIO",
        help="run this one scenario again on the same unit and merge it into the run of --into "
        "(the earlier attempt stays in the record and the report, marked superseded)",
    )
    p.add_argument("--into", metavar="RUN_DIR", help="with --rerun: the run folder (its record.json) to merge into")
    p.add_argument("--reason", help="with --rerun: why the scenario is run again (recorded and reported)")
    p.add_argument(
        "--decision-rule",
        choices=("simple", "guarded"),
        help="simple acceptance, or guarded acceptance (ILAC-G8, guard band w = U: a value whose interval "
        "straddles a limit is inconclusive); default: the requirement catalogue's decision_rule",
    )
    p.add_argument("scenarios", nargs="*", help="scenario files (default: the built-in suite)")
    add_certify_options(p)
    add_place_arguments(p)
    p.set_defaults(run=certify)


def planned(args: argparse.Namespace) -> tuple[CameraProfile, list[tuple[Path, Scenario | None, str]]]:
    """The camera profile of the run (``--profile``, else the first rig file's camera, else the
    emulated camera) and, per scenario file, the scenario and its expected bench duration (or why
    it does not apply, or why it cannot be read)."""
    from harness.core.config import ConfigError
    from harness.core.paths import camera_profile_path
    from harness.execution.runner import CLIP_WAIT_S, SETTLE_S
    from harness.plan.profile import CameraProfile
    from harness.plan.scenario import Scenario
    from harness.report.coverage import scenario_files
    from harness.rig.kinds import load_rig_spec

    spec, base = load_rig_spec(args.rig[0] if args.rig else None)
    profile = CameraProfile.load(camera_profile_path(args.profile or spec.camera, None if args.profile else base))
    files = [Path(f) for f in args.scenarios] or scenario_files(SUITE_DIR)
    rows: list[tuple[Path, Scenario | None, str]] = []
    for path in files:
        if path.is_dir():
            files += scenario_files(path)
            continue
        try:
            scenario = Scenario.load(path, profile=profile)
        except ConfigError as exc:
            rows.append((path, None, f"cannot be read: {'; '.join(exc.problems)}"))
            continue
        why = scenario.not_applicable(profile)
        if why is not None:
            rows.append((path, scenario, f"not applicable: {why}"))
        else:
            rows.append((path, scenario, hms(scenario.expected_duration_s(profile, SETTLE_S, CLIP_WAIT_S))))
    return profile, rows


def list_scenarios(args: argparse.Namespace) -> int:
    """``bwc certify --list``: each scenario and its expected bench duration for the profile."""
    from harness.core.config import ConfigError

    try:
        profile, rows = planned(args)
    except (ConfigError, ValueError) as exc:
        console.print(f"[red]{escape(str(exc))}[/red]", highlight=False, soft_wrap=True)
        return 2
    table = Table(title=escape(f"scenarios for {profile.vendor} {profile.model} (expected bench duration)"))
    for col in ("scenario", "file", "title", "expected duration"):
        table.add_column(col)
    for path, scenario, duration in rows:
        table.add_row(
            escape(scenario.id if scenario else "?"),
            escape(path.name),
            escape(scenario.title if scenario else ""),
            escape(duration),
        )
    console.print(table)
    console.print(escape(expected_total(rows)), highlight=False)
    return 0


def expected_total(rows: list[tuple[Path, Scenario | None, str]]) -> str:
    """One line: the sum of the scenarios' expected durations, clips' analysis not counted."""
    total = 0.0
    counted = 0
    for _, _, duration in rows:
        if duration[:1].isdigit():
            h, m, sec = (int(v) for v in duration.split(":"))
            total += 3600 * h + 60 * m + sec
            counted += 1
    return (
        f"expected bench duration: {hms(total)} for {counted} scenario(s) (real time on a bench; waits for a "
        "shutdown counted at their longest; clip analysis extra)"
    )


def certify(args: argparse.Namespace) -> int:
    """The run on the rig, or on labgrid places held for it (--place, --reserve)."""
    if wants_places(args) and not args.list:
        return certify_on_places(args, _certify)
    return _certify(args)


def _certify(args: argparse.Namespace) -> int:
    import pytest

    from harness.core.config import ConfigError
    from harness.plan.requirements import Catalogue
    from harness.report.record import load_record

    if args.list:
        return list_scenarios(args)
    if getattr(args, "rerun", None):
        from harness.cli.rerun import rerun

        return rerun(args, certify, planned, print_verdicts)
    out = Path(args.out).resolve()
    problem = _unwritable(out)
    if problem is not None:
        console.print(f"--out {out}: {problem}", highlight=False, markup=False, soft_wrap=True)
        return 2
    if args.requirements:
        try:
            Catalogue.load(args.requirements)
        except ConfigError as exc:
            console.print(f"[red]requirement catalogue {escape(str(exc))}[/red]", highlight=False, soft_wrap=True)
            return 2
    if args.workers is None:
        args.workers = default_workers(args)
        if args.workers:
            console.print(f"{args.workers} workers, one per CPU core (--workers 0: one process)", highlight=False)
    operator, problem = _operator_choice(args)
    if problem is not None:
        console.print(problem, highlight=False, markup=False, soft_wrap=True)
        return 2
    targets = args.scenarios or [str(SUITE_DIR)]
    pytest_args = [
        *targets,
        "--bwc-certify",  # the plugin collects scenarios and keeps the record only when asked
        "-p",
        "no:cacheprovider",
        "-p",
        "no:labgrid",  # labgrid's own pytest plugin (the labgrid extra) is not how the harness uses places
        "-W",  # the places were acquired (labgrid imported) before pytest started: nothing to rewrite
        "ignore:Module already imported so cannot be rewritten; labgrid:pytest.PytestAssertRewriteWarning",
        "--rootdir",
        str(SUITE_DIR.parent if not args.scenarios else Path.cwd()),
        "-o",
        "testpaths=",
        "--continue-on-collection-errors",
        "-q",
        "--alluredir",
        str(out / "allure-results"),
        "--clean-alluredir",
        "--bwc-out",
        str(out),
        "--phase",
        args.phase,
    ]
    for rig in args.rig:
        pytest_args += ["--rig", rig]
    if args.profile:
        pytest_args += ["--camera-profile", args.profile]
    for fault in args.fault:
        pytest_args += ["--fault", fault]
    if operator is not None:
        pytest_args += ["--operator", operator]
    if args.operator_socket is not None:
        pytest_args += ["--operator-socket", args.operator_socket]
    if args.station_info is not None:
        pytest_args += ["--station-info", args.station_info]
    if args.requirements:
        pytest_args += ["--requirements", str(Path(args.requirements).resolve())]
    if args.decision_rule:
        pytest_args += ["--decision-rule", args.decision_rule]
    if args.workers > 0:
        pytest_args += ["-n", str(args.workers), "--dist", "load"]
    if args.keep_camera_storage:
        pytest_args.append("--keep-camera-storage")
    record_path = out / "record.json"
    if record_path.exists():
        record_path.unlink()
    _announce_duration(args)
    db = CertifyStore(args, out)
    code = pytest.main(pytest_args, plugins=db.plugins)
    if not record_path.exists():
        console.print(f"[red]no run record was written (pytest exit code {int(code)})[/red]")
        return int(code) or 2
    record = load_record(record_path)
    db.finish()  # the run folder stays the source of truth; a database failure is one line
    if str(record.get("status", "")).startswith("aborted"):
        console.print(
            f"run {record['status']} ({len(record['tests'])} scenario(s) recorded in {record_path})",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        return 2
    if getattr(args, "attempt", False):  # a re-run's attempt: merged into its run, reported there
        return 0 if record["tests"] and all(t["verdict"] in ("pass", "skip") for t in record["tests"]) else 1
    print_verdicts(record)
    console.print(escape(f"run record: {record_path}\nAllure results: {out / 'allure-results'}"), highlight=False)
    write_report(record_path, None, None, not args.no_pdf)
    verdicts = [t["verdict"] for t in record["tests"]]
    # a scenario skipped as not applicable to the camera (a split test on a camera that never
    # splits) is no failure; at least one must have passed
    return 0 if "pass" in verdicts and all(v in ("pass", "skip") for v in verdicts) else 1


def default_workers(args: argparse.Namespace) -> int:
    """pytest-xdist workers for a run that gave no ``--workers``: one per CPU core (at most one per
    scenario to run) on the built-in emulated camera, whose clips cost CPU, not bench time; one
    process (0) for any other rig, a single scenario, or operator prompts answered at the terminal
    (``--operator terminal``).

    Each worker has its own emulated rig and the controller merges their records in scenario
    order, so the evidence, the record and the report are those of a run in one process; on a
    2-core machine two workers finish the built-in suite in about 60 % of the wall time of one
    process for 4 % more CPU (``benchmarks/bench_suite.py`` against ``--workers 0``).
    """
    import os

    if args.rig or args.profile or getattr(args, "place", None) or getattr(args, "reserve", None):
        return 0
    try:
        _, rows = planned(args)
    except Exception:  # the run itself reports a bad scenario or profile, with its reason
        return 0
    runnable = [s for _, s, duration in rows if s is not None and duration[:1].isdigit()]
    terminal = args.operator == "terminal"  # on the emulated rig the rig itself answers unless told otherwise
    if terminal and any(step.prompt is not None for s in runnable for step in s.steps):
        return 0
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    workers = min(cores, len(runnable))
    return workers if workers > 1 else 0


def _operator_choice(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """Who answers operator prompts (``--operator``; else the emulated rig itself, or the terminal
    at a bench) and,
    when the scenarios ask the operator and nobody could answer, why not (one line, before the run)."""
    import sys

    from harness.rig.kinds import load_rig_spec
    from harness.rig.operators import asks_operator, operator_problem

    if args.operator_socket is not None:  # a station's operator answers
        return args.operator, None
    tty = sys.stdin.isatty()
    try:
        _, rows = planned(args)
        specs = [load_rig_spec(r)[0] for r in args.rig or [None]]
    except Exception:  # the run itself reports a bad rig file or profile, with its reason
        return args.operator, None
    emulated = all(spec.kind == "emulated" for spec in specs)
    choice = args.operator or ("terminal" if tty and not emulated else None)
    prompting = [
        f"{s.id} ({why})"
        for _, s, _ in rows
        if s is not None and (why := next(filter(None, (asks_operator(spec, s) for spec in specs)), None))
    ]
    if not prompting:
        return choice, None
    if choice == "terminal" and args.workers > 0:
        return choice, (
            f"scenario(s) {', '.join(prompting)} ask the operator: answering at the terminal needs one process "
            "(drop --workers, or use --operator auto on an emulated rig)"
        )
    problem = operator_problem(choice, emulated, tty)
    return choice, None if problem is None else f"scenario(s) {', '.join(prompting)} ask the operator: {problem}"


def _announce_duration(args: argparse.Namespace) -> None:
    """Before the run starts: how long it will take on a bench (real time; a 4-hour split is 4 hours)."""
    try:
        profile, rows = planned(args)
    except Exception:  # the run itself reports a bad rig file or profile, with its reason
        return
    console.print(escape(f"{profile.vendor} {profile.model}: {expected_total(rows)}"), highlight=False)


def _unwritable(out: Path) -> str | None:
    """Why the output folder cannot take a run (None: it can), found before anything starts."""
    import tempfile

    if out.exists() and not out.is_dir():
        return "is a file, not a folder"
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        return f"cannot be written ({exc.strerror or exc})"
    return None


def print_verdicts(record: dict) -> None:
    cam = record.get("camera") or {}
    title = f"{cam.get('vendor', '?')} {cam.get('model', '?')} fw {cam.get('firmware', '?')} - phase {record['phase']}"
    if record.get("faults"):
        title += f" - faults: {', '.join(record['faults'])}"
    table = Table(title=escape(title))
    for col in ("scenario", "requirements", "verdict", "key measurements"):
        table.add_column(col)
    colours = {"pass": "green", "fail": "red", "error": "magenta", "skip": "yellow"}
    gaps_in_run = unsure_in_run = 0
    for t in record["tests"]:
        gaps = [m for m in t["measurements"] if m["outcome"] == NOT_MEASURABLE]
        gaps_in_run += len(gaps)
        shown = [m for m in t["measurements"] if m["outcome"] == "fail"] or [
            m for m in t["measurements"] if not m["name"].startswith("events_saved") and m["outcome"] != NOT_MEASURABLE
        ][:3]
        unsure = [m for m in t["measurements"] if m["outcome"] == INCONCLUSIVE]
        unsure_in_run += len(unsure)
        shown += [m for m in unsure if m not in shown]
        lines = [
            f"{m['name']} = {num(m['value'])}"
            + (f" +/- {num(m['uncertainty'])}" if m.get("uncertainty") is not None else "")
            + f" {m['unit']} [{num(m['low'])}, {num(m['high'])}]"
            + (" INCONCLUSIVE" if m["outcome"] == INCONCLUSIVE else "")
            for m in shown
        ]
        lines += [f"{m['name']}: not measurable on this model ({m.get('not_measurable') or '?'})" for m in gaps]
        text = "\n".join(escape(line) for line in lines)
        if t.get("error"):
            text = (text + "\n" if text else "") + escape(t["error"].splitlines()[0][:200])
        v = t["verdict"]
        table.add_row(
            escape(str(t["scenario"])),
            escape(", ".join(t["requirements"])),
            f"[{colours.get(v, 'white')}]{escape(str(v).upper())}[/]"
            + (f"\n({len(gaps)} not measurable)" if gaps else ""),
            text,
        )
    console.print(table)
    rule = (record.get("catalogue") or {}).get("decision_rule") or "simple"
    console.print(
        f"decision rule: {rule} acceptance; values shown +/- their expanded uncertainty U (k=2)", highlight=False
    )
    if unsure_in_run:
        console.print(
            f"[yellow]{unsure_in_run} measurement(s) inconclusive: value +/- U straddles a limit (guarded rule), "
            "never a pass; listed in the report[/yellow]",
            highlight=False,
        )
    if gaps_in_run:
        console.print(
            f"[yellow]{gaps_in_run} measurement(s) not measurable on this model: neither passed nor failed, "
            "listed in the report[/yellow]",
            highlight=False,
        )
