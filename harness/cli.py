"""The ``bwc`` command: certify, analyze, scene render, emulate, faults."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from harness.paths import SUITE_DIR

console = Console(width=None if sys.stdout.isatty() else 160)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bwc", description="Body-worn camera certification harness.")
    sub = parser.add_subparsers(dest="verb", required=True)

    p = sub.add_parser("certify", help="run the certification suite on a rig (default: the emulated camera)")
    p.add_argument("--rig", help="rig file; default: the built-in emulated camera")
    p.add_argument("--phase", default="unspecified", help="deployment phase this run certifies")
    p.add_argument("--out", default="out", help="output folder (Allure results, evidence, record.json)")
    p.add_argument("--profile", help="camera profile (name or file) for the emulated rig")
    p.add_argument("--fault", action="append", default=[], help="switch on an emulated fault (repeatable)")
    p.add_argument("scenarios", nargs="*", help="scenario files (default: the built-in suite)")
    p.set_defaults(run=certify)

    p = sub.add_parser("analyze", help="analyse clips without a rig")
    p.add_argument("clips", nargs="+", metavar="CLIP")
    p.add_argument("--press-at", type=float, help="activation time, seconds of scene reference time")
    p.add_argument("--refresh", type=float, default=60.0, help="display refresh of the filmed scene (Hz)")
    p.add_argument("--json", action="store_true", help="print the analysis record as JSON")
    p.set_defaults(run=analyze)

    p = sub.add_parser("scene", help="the scene the display shows")
    scene_sub = p.add_subparsers(dest="scene_verb", required=True)
    r = scene_sub.add_parser("render", help="render the ideal scene to a video file or PNG folder")
    r.add_argument("--fps", type=float, required=True, help="frames per second of the output")
    r.add_argument("--start", type=float, default=0.0, help="scene time of the first frame (s)")
    r.add_argument("--duration", type=float, required=True, help="seconds to render")
    r.add_argument("--out", required=True, help="FILE.mp4 (lossless H.264) or a folder for PNG frames")
    r.add_argument("--width", type=int, default=1920)
    r.add_argument("--height", type=int, default=1080)
    r.add_argument("--refresh", type=float, default=60.0, help="display refresh the time code counts (Hz)")
    r.set_defaults(run=scene_render)

    p = sub.add_parser("emulate", help="start an emulated rig in real time and print where its parts are")
    p.add_argument("--profile", default="emulated", help="camera profile (name or file)")
    p.add_argument("--fault", action="append", default=[], help="switch on an emulated fault (repeatable)")
    p.add_argument("--storage", help="folder for the camera's storage (default: a temporary folder)")
    p.add_argument("--duration", type=float, help="stop after this many seconds (default: until Ctrl-C)")
    p.set_defaults(run=emulate)

    p = sub.add_parser("faults", help="list the emulated camera's faults and what each breaks")
    p.set_defaults(run=faults)

    args = parser.parse_args(argv)
    return args.run(args)


def certify(args: argparse.Namespace) -> int:
    import pytest

    from harness.report.record import load_record

    out = Path(args.out).resolve()
    targets = args.scenarios or [str(SUITE_DIR)]
    pytest_args = [
        *targets,
        "-p", "no:cacheprovider",
        "--rootdir", str(SUITE_DIR.parent if not args.scenarios else Path.cwd()),
        "-o", "testpaths=",
        "--continue-on-collection-errors",
        "-q",
        "--alluredir", str(out / "allure-results"),
        "--clean-alluredir",
        "--bwc-out", str(out),
        "--phase", args.phase,
    ]
    if args.rig:
        pytest_args += ["--rig", args.rig]
    if args.profile:
        pytest_args += ["--camera-profile", args.profile]
    for fault in args.fault:
        pytest_args += ["--fault", fault]
    record_path = out / "record.json"
    if record_path.exists():
        record_path.unlink()
    code = pytest.main(pytest_args)
    if not record_path.exists():
        console.print(f"[red]no run record was written (pytest exit code {int(code)})[/red]")
        return int(code) or 2
    record = load_record(record_path)
    print_verdicts(record)
    console.print(f"run record: {record_path}\nAllure results: {out / 'allure-results'}")
    verdicts = [t["verdict"] for t in record["tests"]]
    return 0 if verdicts and all(v == "pass" for v in verdicts) else 1


def print_verdicts(record: dict) -> None:
    cam = record.get("camera") or {}
    title = f"{cam.get('vendor', '?')} {cam.get('model', '?')} fw {cam.get('firmware', '?')} - phase {record['phase']}"
    if record.get("faults"):
        title += f" - faults: {', '.join(record['faults'])}"
    table = Table(title=title)
    for col in ("scenario", "requirements", "verdict", "key measurements"):
        table.add_column(col)
    colours = {"pass": "green", "fail": "red", "error": "magenta", "skip": "yellow"}
    for t in record["tests"]:
        shown = [m for m in t["measurements"] if m["outcome"] == "fail"] or [
            m for m in t["measurements"] if m["name"].startswith("preroll")
        ]
        text = "\n".join(f"{m['name']} = {_num(m['value'])} {m['unit']} [{_num(m['low'])}, {_num(m['high'])}]"
                         for m in shown)
        if t.get("error"):
            text = (text + "\n" if text else "") + t["error"].splitlines()[0][:200]
        v = t["verdict"]
        table.add_row(t["scenario"], ", ".join(t["requirements"]), f"[{colours.get(v, 'white')}]{v.upper()}[/]", text)
    console.print(table)


def _num(x: object) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.4f}".rstrip("0").rstrip(".")
    return str(x)


def analyze(args: argparse.Namespace) -> int:
    from harness.analysis.clip import analyze_clip

    results = [analyze_clip(c, args.refresh, args.press_at) for c in args.clips]
    if args.json:
        print(json.dumps({"clips": [r.model_dump() for r in results]}, indent=2))
    else:
        table = Table(title="clip analysis")
        for col in ("clip", "frames", "decoded", "blended", "first ref s", "last ref s", "gaps", "dups", "pre-roll s", "error"):
            table.add_column(col)
        for r in results:
            table.add_row(Path(r.path).name, _num(r.frames), _num(r.decoded), _num(r.blended), _num(r.first_ref_s),
                          _num(r.last_ref_s), str(r.missing_frames), str(r.duplicated_frames), _num(r.preroll_s),
                          r.error or "")
        console.print(table)
    return 0 if all(r.error is None for r in results) else 1


def scene_render(args: argparse.Namespace) -> int:
    from harness.scene_render import render_scene

    count = render_scene(Path(args.out), args.fps, args.start, args.duration, args.width, args.height, args.refresh)
    console.print(f"wrote {count} frames to {args.out}")
    return 0


def emulate(args: argparse.Namespace) -> int:
    from harness.clock import RealClock
    from harness.emulator.rig import EmulatedRig
    from harness.paths import camera_profile_path
    from harness.profile import CameraProfile

    clock = RealClock()
    profile = CameraProfile.load(camera_profile_path(args.profile, Path.cwd()))
    storage = Path(args.storage).resolve() if args.storage else None
    with EmulatedRig(profile, clock, storage, tuple(args.fault)) as rig:
        console.print(f"emulated camera: {profile.vendor} {profile.model} (serial {profile.serial})")
        console.print(f"serial port (rig controller, BWC-RIG/1): {rig.serial_url}")
        console.print(f"VISA resource (power supply): {rig.visa_resource}")
        console.print(f"camera storage: {rig.clip_folder}")
        console.print("power the camera with ':OUTP ON' on the VISA resource; press with 'PRESS event 150' on the port.")
        console.print("Ctrl-C stops the rig.", highlight=False)
        try:
            clock.sleep(args.duration if args.duration is not None else float("inf"))
        except KeyboardInterrupt:
            pass
    clock.close()
    return 0


def faults(args: argparse.Namespace) -> int:
    from harness.emulator.faults import FAULTS

    table = Table(title="emulated camera faults")
    for col in ("fault", "what it breaks", "caught by check"):
        table.add_column(col)
    for f in FAULTS.values():
        table.add_row(f.name, f.breaks, f.caught_by)
    console.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
