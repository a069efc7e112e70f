"""The ``bwc`` command: certify, report, requirements, analyze, scene render, emulate, faults."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.core.paths import SUITE_DIR

console = Console(width=None if sys.stdout.isatty() else 160)


def number(
    low: float | None = None, high: float | None = None, *, above: bool = False, integer: bool = False
) -> Callable[[str], float]:
    """An argparse ``type`` for a finite number within ``[low, high]`` (``above``: strictly above
    ``low``): a bad figure is one argparse error line and exit code 2, never a division by zero,
    a NaN in the record or a traceback further on."""
    kind = "a whole number" if integer else "a finite number"
    bounds = [f"> {low:g}" if above else f">= {low:g}"] if low is not None else []
    bounds += [f"<= {high:g}"] if high is not None else []
    wanted = kind + (f" {' and '.join(bounds)}" if bounds else "")

    def parse(text: str) -> float:
        try:
            value: float = int(text) if integer else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}") from None
        if (
            not math.isfinite(value)
            or (low is not None and (value <= low if above else value < low))
            or (high is not None and value > high)
        ):
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}")
        return value

    parse.__name__ = kind  # what argparse names when it reports the type
    return parse


FINITE = number()
POSITIVE = number(0, above=True)
REFRESH = number(0, 1000, above=True)  # Hz: a display refreshes at most this fast


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bwc", description="Body-worn camera certification harness.")
    sub = parser.add_subparsers(dest="verb", required=True)

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
        default=0,
        metavar="N",
        help="run scenarios on N pytest-xdist workers, each with its own emulated rig "
        "(or one per --rig bench); default: one process",
    )
    p.add_argument("scenarios", nargs="*", help="scenario files (default: the built-in suite)")
    p.set_defaults(run=certify)

    p = sub.add_parser("report", help="write the certification report (HTML, evidence manifest, PDF) from a run record")
    p.add_argument("--record", default="out/record.json", help="run record (default: out/record.json)")
    p.add_argument("--compare", metavar="OLD_RECORD", help="an earlier run record: show what changed since")
    p.add_argument("--out", help="folder for the report (default: the record's folder)")
    p.add_argument("--no-pdf", action="store_true", help="write HTML only")
    p.add_argument(
        "--requirements",
        metavar="FILE",
        help="requirement catalogue to report against (default: the one the record names, if present)",
    )
    p.set_defaults(run=report)

    p = sub.add_parser("verify-evidence", help="re-hash a run's evidence against its manifest; name what changed")
    p.add_argument("folder", metavar="DIR", help="folder holding manifest.sha256 (or the manifest file)")
    p.add_argument("--json", action="store_true", help="print every file and its status as JSON")
    p.set_defaults(run=verify_evidence)

    p = sub.add_parser("requirements", help="requirement coverage: each requirement and the scenarios that prove it")
    p.add_argument("--scenarios", help="folder of scenario files (default: the built-in suite)")
    p.add_argument("--json", action="store_true", help="print the coverage as JSON")
    p.set_defaults(run=requirements)

    p = sub.add_parser("analyze", help="analyse clips without a rig")
    p.add_argument("clips", nargs="+", metavar="CLIP")
    p.add_argument("--press-at", type=FINITE, help="activation time, seconds of scene reference time")
    p.add_argument("--refresh", type=REFRESH, default=60.0, help="display refresh of the filmed scene (Hz)")
    p.add_argument("--json", action="store_true", help="print the analysis record as JSON")
    p.add_argument("--burned-in", choices=["bits"], help="also read the camera's burned-in timestamp with this reader")
    p.add_argument(
        "--present-log",
        metavar="CSV",
        help="a bench display's display_present_log.csv (run evidence): reference time = the time each "
        "frame was really shown, on the harness clock (--press-at then on that clock too)",
    )
    p.add_argument(
        "--timeout", type=POSITIVE, help="time bound per clip in seconds (default: grows with the file size)"
    )
    p.set_defaults(run=analyze)

    p = sub.add_parser("scene", help="the scene the display shows")
    scene_sub = p.add_subparsers(dest="scene_verb", required=True)
    r = scene_sub.add_parser("render", help="render the ideal scene to a video file or PNG folder")
    r.add_argument("--fps", type=number(0, 1000, above=True), required=True, help="frames per second of the output")
    r.add_argument("--start", type=FINITE, default=0.0, help="scene time of the first frame (s)")
    r.add_argument("--duration", type=POSITIVE, required=True, help="seconds to render")
    r.add_argument("--out", required=True, help="FILE.mp4 (lossless H.264) or a folder for PNG frames")
    r.add_argument("--width", type=number(16, 8192, integer=True), default=1920)
    r.add_argument("--height", type=number(16, 8192, integer=True), default=1080)
    r.add_argument("--refresh", type=REFRESH, default=60.0, help="display refresh the time code counts (Hz)")
    r.add_argument("--codec", choices=["h264", "hevc", "mjpeg"], default="h264", help="video encoder (default h264)")
    r.add_argument(
        "--quality",
        choices=["lossless", "high"],
        default="lossless",
        help="lossless (default) or high quality (wider player support)",
    )
    r.add_argument(
        "--run-id",
        type=number(0, 65535, integer=True),
        default=0,
        help="run id carried in the code's coarse slots (0-65535)",
    )
    r.add_argument(
        "--utc-origin",
        type=number(0),
        default=0.0,
        help="UTC (Unix seconds) of scene time 0, carried in the coarse slots",
    )
    r.set_defaults(run=scene_render)

    p = sub.add_parser("emulate", help="start an emulated rig in real time and print where its parts are")
    p.add_argument("--profile", default="emulated", help="camera profile (name or file)")
    p.add_argument("--fault", action="append", default=[], help="switch on an emulated fault (repeatable)")
    p.add_argument("--storage", help="folder for the camera's storage (default: a temporary folder)")
    p.add_argument("--duration", type=POSITIVE, help="stop after this many seconds (default: until Ctrl-C)")
    p.set_defaults(run=emulate)

    p = sub.add_parser("faults", help="list the emulated camera's faults and what each breaks")
    p.add_argument(
        "--matrix",
        action="store_true",
        help="run each fault on its scenario and the healthy camera on every scenario; print the matrix",
    )
    p.set_defaults(run=faults)

    p = sub.add_parser("rig", help="the bench described by a rig file")
    rig_sub = p.add_subparsers(dest="rig_verb", required=True)
    r = rig_sub.add_parser("check", help="probe each part of a rig (serial, instrument, display, storage)")
    r.add_argument("rig_file", metavar="RIG.yaml")
    r.set_defaults(run=rig_check)

    p = sub.add_parser("lot", help="incoming lots: sampling plans of ISO 2859-1 / ANSI/ASQ Z1.4")
    lot_sub = p.add_subparsers(dest="lot_verb", required=True)
    r = lot_sub.add_parser("plan", help="how many units of a lot to test, and how many may fail (single sampling)")
    r.add_argument("--size", required=True, help="lot size (units)")
    r.add_argument("--aql", required=True, help="acceptance quality limit, one of the standard's values (e.g. 1.0)")
    r.add_argument("--level", default="II", help="inspection level: I, II, III, S-1..S-4 (default II)")
    r.add_argument("--severity", default="normal", help="normal, tightened or reduced (default normal)")
    r.add_argument("--json", action="store_true", help="print the plan as JSON")
    r.set_defaults(run=lot_plan)

    args = parser.parse_args(argv)
    return args.run(args)


def certify(args: argparse.Namespace) -> int:
    import pytest

    from harness.core.config import ConfigError
    from harness.plan.requirements import Catalogue
    from harness.report.record import load_record

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
    targets = args.scenarios or [str(SUITE_DIR)]
    pytest_args = [
        *targets,
        "--bwc-certify",  # the plugin collects scenarios and keeps the record only when asked
        "-p",
        "no:cacheprovider",
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
    if args.requirements:
        pytest_args += ["--requirements", str(Path(args.requirements).resolve())]
    if args.workers > 0:
        pytest_args += ["-n", str(args.workers), "--dist", "load"]
    if args.keep_camera_storage:
        pytest_args.append("--keep-camera-storage")
    record_path = out / "record.json"
    if record_path.exists():
        record_path.unlink()
    code = pytest.main(pytest_args)
    if not record_path.exists():
        console.print(f"[red]no run record was written (pytest exit code {int(code)})[/red]")
        return int(code) or 2
    record = load_record(record_path)
    if str(record.get("status", "")).startswith("aborted"):
        console.print(
            f"run {record['status']} ({len(record['tests'])} scenario(s) recorded in {record_path})",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        return 2
    print_verdicts(record)
    console.print(escape(f"run record: {record_path}\nAllure results: {out / 'allure-results'}"), highlight=False)
    write_report(record_path, None, None, not args.no_pdf)
    verdicts = [t["verdict"] for t in record["tests"]]
    return 0 if verdicts and all(v == "pass" for v in verdicts) else 1


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
    for t in record["tests"]:
        shown = [m for m in t["measurements"] if m["outcome"] == "fail"] or [
            m for m in t["measurements"] if not m["name"].startswith("events_saved")
        ][:3]
        text = "\n".join(
            escape(f"{m['name']} = {_num(m['value'])} {m['unit']} [{_num(m['low'])}, {_num(m['high'])}]") for m in shown
        )
        if t.get("error"):
            text = (text + "\n" if text else "") + escape(t["error"].splitlines()[0][:200])
        v = t["verdict"]
        table.add_row(
            escape(str(t["scenario"])),
            escape(", ".join(t["requirements"])),
            f"[{colours.get(v, 'white')}]{escape(str(v).upper())}[/]",
            text,
        )
    console.print(table)


def _num(x: object) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.4f}".rstrip("0").rstrip(".")
    return str(x)


def write_report(
    record_path: Path, out: Path | None, compare_with: Path | None, pdf: bool, catalogue: Path | None = None
) -> int:
    """Build the certification report and say where it is; a bad record is a clear error, not a trace."""
    from harness.report.html import build_report
    from harness.report.record import RecordError

    try:
        files = build_report(record_path, out, compare_with, catalogue_path=catalogue, pdf=pdf)
    except (RecordError, OSError, ValueError) as exc:  # ValueError: e.g. a catalogue that does not validate
        # one line however long the path: soft_wrap keeps rich from breaking it at the console width
        console.print(f"[red]no certification report: {escape(str(exc))}[/red]", highlight=False, soft_wrap=True)
        return 2
    colour = {"pass": "green", "fail": "red"}.get(files.verdict.word, "yellow")
    console.print(
        f"certification report: {escape(str(files.html))} "
        f"(summary verdict [{colour}]{escape(files.verdict.word.upper())}[/])",
        highlight=False,
    )
    console.print(escape(f"evidence manifest: {files.manifest} (SHA-256 {files.manifest_sha256})"), highlight=False)
    if files.pdf is not None:
        console.print(escape(f"PDF: {files.pdf}"), highlight=False)
    elif files.pdf_note and pdf:
        console.print(escape(files.pdf_note), highlight=False)
    if files.comparison is not None:
        print_comparison(files.comparison)
    return 0


def report(args: argparse.Namespace) -> int:
    return write_report(
        Path(args.record),
        Path(args.out) if args.out else None,
        Path(args.compare) if args.compare else None,
        not args.no_pdf,
        Path(args.requirements) if args.requirements else None,
    )


def print_comparison(comparison: object) -> None:
    from harness.report.compare import Comparison

    assert isinstance(comparison, Comparison)
    console.print(escape(f"changes since {comparison.old_label}:"), highlight=False)
    if comparison.quiet:
        console.print("  nothing changed")
        return
    for rid, before, now in comparison.requirements:
        console.print(escape(f"  requirement {rid}: {before} -> {now}"), highlight=False)
    for scenario, was, verdict in comparison.verdicts:
        console.print(escape(f"  scenario {scenario}: {was or 'absent'} -> {verdict or 'absent'}"), highlight=False)
    table = Table(title="measurements")
    for col in ("change", "scenario", "measurement", "before", "now", "limits"):
        table.add_column(col)
    for kind, items in (
        ("NEW FAILURE", comparison.new_failures),
        ("fixed", comparison.fixed),
        ("moved", comparison.moved),
    ):
        for c in items:
            table.add_row(
                kind,
                escape(c.scenario),
                escape(c.name),
                escape(f"{_num(c.old)} {c.unit} {c.old_outcome or ''}".strip()),
                escape(f"{_num(c.new)} {c.unit} {c.new_outcome or ''}".strip()),
                escape(f"[{_num(c.low)}, {_num(c.high)}]"),
            )
    if table.row_count:
        console.print(table)
    if comparison.appeared or comparison.gone:
        console.print(
            f"  {len(comparison.appeared)} measurement(s) new, {len(comparison.gone)} no longer made "
            "(listed in the report)",
            highlight=False,
        )


def verify_evidence(args: argparse.Namespace) -> int:
    """0: every file intact and nothing new; 1: any finding (changed, vanished, appeared, a link, a FIFO or
    device, a name leading out of the run, a damaged manifest line); 2: no manifest at all."""
    from harness.report.verify import ManifestError
    from harness.report.verify import verify_evidence as verify

    try:
        findings = verify(Path(args.folder))
    except ManifestError as exc:
        console.print(f"[red]{escape(str(exc))}[/red]", highlight=False)
        return 2
    problems = [f for f in findings if not f.ok]
    if args.json:
        print(json.dumps({"ok": not problems, "files": [f.__dict__ for f in findings]}, indent=2))
    else:
        for f in problems:  # whole lines: easy to read in a log, easy to search
            console.print(
                f"{f.status.upper()} {f.path}" + (f" ({f.detail})" if f.detail else ""),
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
        intact = len(findings) - len(problems)
        console.print(
            f"{intact} file(s) intact, " + (f"{len(problems)} problem(s)" if problems else "no problem"),
            highlight=False,
        )
    return 1 if problems else 0


def requirements(args: argparse.Namespace) -> int:
    from harness.core.paths import CATALOGUE
    from harness.plan.requirements import Catalogue
    from harness.report.coverage import suite_coverage

    catalogue = Catalogue.load(CATALOGUE)
    folder = Path(args.scenarios) if args.scenarios else SUITE_DIR
    if not folder.is_dir():
        console.print(f"[red]{escape(str(folder))}: not a folder of scenario files[/red]", highlight=False)
        return 2
    cov = suite_coverage(folder, catalogue)
    if args.json:
        print(
            json.dumps(
                {
                    "requirements": [
                        {"id": r.id, "group": r.group, "level": r.level, "scenarios": cov.by_requirement[r.id]}
                        for r in catalogue.requirements
                    ],
                    "uncovered": cov.uncovered,
                    "unknown": cov.unknown,
                    "errors": cov.errors,
                },
                indent=2,
            )
        )
    else:
        table = Table(title=escape(f"requirement coverage of {folder}"))
        for col in ("requirement", "group", "scenarios"):
            table.add_column(col)
        for r in catalogue.requirements:
            names = cov.by_requirement[r.id]
            table.add_row(
                escape(r.id + (" (target)" if r.level == "target" else "")),
                escape(r.group),
                escape("\n".join(names)) if names else "[yellow]not covered[/]",
            )
        console.print(table)
        covered = len(catalogue.requirements) - len(cov.uncovered)
        console.print(
            escape(
                f"{covered} of {len(catalogue.requirements)} requirements covered"
                + (f"; not covered: {', '.join(cov.uncovered)}" if cov.uncovered else "")
            ),
            highlight=False,
        )
        for name, ids in cov.unknown.items():
            console.print(
                f"[red]{escape(f'{name}: unknown requirement id(s) {ids}; see {CATALOGUE}')}[/red]", highlight=False
            )
        for name, problem in cov.errors.items():
            console.print(f"[red]{escape(f'{name}: cannot be read: {problem}')}[/red]", highlight=False)
    return 0 if cov.ok else 1


def analyze(args: argparse.Namespace) -> int:
    from harness.analysis.bounded import analyse_clip_bounded, clip_verdict

    # each clip in a child process with a time bound: a broken one gets its verdict, the next is analysed
    results = [
        analyse_clip_bounded(c, args.refresh, args.burned_in, args.press_at, timeout_s=args.timeout) for c in args.clips
    ]
    if args.present_log:
        from harness.analysis.present import at_present_times
        from harness.devices.display import read_present_log

        try:
            shown = read_present_log(Path(args.present_log), args.refresh)
        except ValueError as exc:
            console.print(f"[red]{escape(str(exc))}[/red]")
            return 2
        at_present_times(results, shown, None, args.refresh)
    if args.json:
        print(json.dumps({"clips": [{**r.model_dump(), "verdict": clip_verdict(r)} for r in results]}, indent=2))
    else:
        table = Table(title="clip analysis")
        for col in (
            "clip",
            "frames",
            "decoded",
            "blended",
            "first ref s",
            "last ref s",
            "gaps",
            "dups",
            "pre-roll s",
            "verdict",
        ):
            table.add_column(col)
        for r in results:
            table.add_row(
                escape(Path(r.path).name),
                _num(r.frames),
                _num(r.decoded),
                _num(r.blended),
                _num(r.first_ref_s),
                _num(r.last_ref_s),
                str(r.missing_frames),
                str(r.duplicated_frames),
                _num(r.preroll_s),
                escape(clip_verdict(r)),
            )
        console.print(table)
    return 0 if all(r.error is None for r in results) else 1


def scene_render(args: argparse.Namespace) -> int:
    from harness.scene.movie import render_scene

    count = render_scene(
        Path(args.out),
        args.fps,
        args.start,
        args.duration,
        args.width,
        args.height,
        args.refresh,
        run_id=args.run_id,
        utc_origin=args.utc_origin,
        codec=args.codec,
        quality=args.quality,
    )
    console.print(escape(f"wrote {count} frames to {args.out}"), highlight=False)
    return 0


def emulate(args: argparse.Namespace) -> int:
    from harness.core.clock import RealClock
    from harness.core.paths import camera_profile_path
    from harness.emulator.rig import EmulatedRig
    from harness.plan.profile import CameraProfile

    clock = RealClock()
    profile = CameraProfile.load(camera_profile_path(args.profile, Path.cwd()))
    storage = Path(args.storage).resolve() if args.storage else None
    try:
        with _stop_on_signals(), EmulatedRig(profile, clock, storage, tuple(args.fault)) as rig:
            console.print(escape(f"emulated camera: {profile.vendor} {profile.model} (serial {profile.serial})"))
            console.print(escape(f"serial port (rig controller, BWC-RIG/1): {rig.serial_url}"))
            console.print(escape(f"VISA resource (power supply): {rig.visa_resource}"))
            console.print(escape(f"camera storage: {rig.clip_folder}"))
            console.print(f"run id in the time code: {rig.run_id}")
            console.print(
                "power the camera with ':OUTP ON' on the VISA resource; press with 'PRESS event 150' on the port."
            )
            console.print(
                "as a battery (2281S battery-simulator subset): ':ENTR:FUNC SIM;:BATT:MOD:RCL 1;:BATT:SIM:SOC 50;"
                ":BATT:OUTP ON', then ':BATT:SIM:TVOL?', ':BATT:SIM:CURR?', ':BATT:SIM:SOC?'.",
                highlight=False,
            )
            console.print("Ctrl-C (or SIGTERM, SIGHUP) stops the rig.", highlight=False)
            clock.sleep(args.duration if args.duration is not None else float("inf"))
    except KeyboardInterrupt:
        pass
    clock.close()
    return 0


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP stop like Ctrl-C, so the ``with`` blocks around still clean up
    (the emulated camera's temporary storage is removed, its ports closed)."""

    def _interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    wanted = [getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)]
    previous = {sig: signal.signal(sig, _interrupt) for sig in wanted}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def rig_check(args: argparse.Namespace) -> int:
    from harness.rig.check import check_rig

    name, rows = check_rig(args.rig_file)
    table = Table(title=escape(f"rig check: {name} ({args.rig_file})"))
    for col in ("part", "where", "status", "detail"):
        table.add_column(col, overflow="fold")
    colours = {"ok": "green", "warn": "yellow", "fail": "red"}
    for row in rows:
        table.add_row(
            escape(row.part), escape(row.target), f"[{colours[row.status]}]{row.status.upper()}[/]", escape(row.detail)
        )
    console.print(table)
    for row in rows:  # problems again as whole lines: easy to read in a log, easy to search
        if row.status != "ok":
            console.print(
                f"{row.status.upper()} {row.part} ({row.target}): {row.detail}",
                soft_wrap=True,
                highlight=False,
                markup=False,
            )
    return 1 if any(row.status == "fail" for row in rows) else 0


def faults(args: argparse.Namespace) -> int:
    from harness.emulator.device_faults import DEVICE_FAULTS
    from harness.emulator.faults import FAULTS

    if args.matrix:
        return fault_matrix()
    table = Table(title="emulated camera faults")
    for col in ("fault", "what it breaks", "caught by check", "proof (scenario: measurement = expected)"):
        table.add_column(col)
    for f in FAULTS.values():
        p = f.proof
        table.add_row(
            escape(f.name),
            escape(f.breaks),
            escape(f.caught_by),
            escape(f"{p.scenario}: {p.measurement} = {_num(p.expected)}"),
        )
    console.print(table)
    devices = Table(title="emulated device faults (each strikes once: the test it hits fails naming the device)")
    for col in ("fault", "device", "what it does"):
        devices.add_column(col)
    for d in DEVICE_FAULTS.values():
        devices.add_row(escape(d.name), escape(d.device), escape(d.does))
    console.print(devices)
    return 0


def fault_matrix() -> int:
    """Healthy camera on every scenario, then every fault on its scenario: the tester, tested."""
    from harness.emulator.faults import FAULTS
    from harness.execution.matrix import healthy, prove

    failures = healthy()
    table = Table(title="fault matrix (emulated camera)")
    for col in ("fault", "scenario", "check", "measurement", "expected", "measured", "verdict", "caught"):
        table.add_column(col)
    clean = all(not f for f in failures.values())
    table.add_row(
        "(healthy)",
        f"{len(failures)} scenarios",
        "all",
        "every measurement",
        "pass",
        "pass" if clean else escape("; ".join(x for f in failures.values() for x in f)[:200]),
        "PASS" if clean else "FAIL",
        "no false alarm" if clean else "[red]FALSE ALARM[/]",
    )
    caught_all = clean
    for name, fault in FAULTS.items():
        r = prove(name)
        caught_all &= r.caught
        table.add_row(
            name,
            r.scenario,
            fault.caught_by,
            escape(r.measurement),
            f"{_num(r.expected)} +/- {_num(r.tolerance)}",
            _num(r.measured),
            r.outcome.upper(),
            "yes" if r.caught else "[red]NO[/]",
        )
    console.print(table)
    return 0 if caught_all else 1


def lot_plan(args: argparse.Namespace) -> int:
    """Print the sampling plan for one lot; bad numbers are one line on stderr and exit code 2."""
    from harness.fleet.sampling import SEVERITIES, SamplingError, standard_tables

    def bad(message: str) -> int:
        print(f"bwc lot plan: {message}", file=sys.stderr)
        return 2

    if not args.size.strip().isdigit() or int(args.size) < 1:
        return bad(f"--size {args.size!r}: expected a positive whole number of units")
    if args.severity not in SEVERITIES:
        return bad(f"--severity {args.severity!r}: expected one of {', '.join(SEVERITIES)}")
    try:
        plan = standard_tables().plan(int(args.size), args.aql, args.level.strip().upper(), args.severity)
    except SamplingError as exc:
        return bad(str(exc))
    if args.json:
        print(json.dumps(plan.as_dict(), indent=2))
        return 0
    via = (
        ""
        if plan.code_letter == plan.table_letter
        else f" (Table I gives {plan.table_letter}; arrow to {plan.code_letter})"
    )
    units = f"{plan.units} units (100 % inspection)" if plan.hundred_percent else f"{plan.units} units"
    accept = "no nonconforming unit" if plan.ac == 0 else f"{plan.ac} or fewer nonconforming"
    print(
        f"lot {plan.lot_size}, AQL {plan.aql}, level {plan.level}, {plan.severity}: code letter {plan.code_letter}{via}, "
        f"test {units}; accept with {accept} (Ac {plan.ac}), reject with {plan.re} or more (Re {plan.re})"
    )
    if plan.ac + 1 < plan.re:
        print(f"between {plan.ac} and {plan.re}: accept the lot, but return to normal inspection")
    for note in plan.unverified:
        print(f"note: table cell not verified against the printed standard: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
