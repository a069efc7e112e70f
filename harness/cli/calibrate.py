"""``bwc calibrate display|press|av --rig RIG``: measure the bench's time corrections and add them,
dated, to the calibration file the rig file points to (harness/rig/calibrate.py)."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from harness.cli.common import console, number


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "calibrate",
        help="calibrate the bench (display latency, solenoid press latency, speaker distance and acoustic "
        "delay) into the rig's calibration file",
    )
    p.add_argument("procedure", choices=("display", "press", "av"), help="what to calibrate")
    p.add_argument("--rig", required=True, metavar="RIG.yaml", help="rig file; its `calibration` file is written")
    p.add_argument(
        "--operator",
        choices=("terminal", "auto"),
        default=None,
        help="who answers the prompts: a person at the terminal, or 'auto' on an emulated rig. Default: "
        "the terminal when stdin is one, else auto on an emulated rig",
    )
    p.add_argument("--by", default=None, help="who made the calibration (default: whoever answers the prompts)")
    p.add_argument("--seconds", type=number(0.5, 60), default=2.0, help="display: how long to measure (s)")
    p.add_argument("--presses", type=number(2, 50, integer=True), default=5, help="press: presses per button")
    p.set_defaults(run=calibrate)


def _fail(procedure: str, message: str) -> int:
    console.print(f"bwc calibrate {procedure}: {message}", markup=False, highlight=False, soft_wrap=True)
    return 1


def calibrate(args: argparse.Namespace) -> int:
    from harness.core.config import ConfigError
    from harness.core.paths import RIGS_DIR
    from harness.devices.display import DisplayError
    from harness.devices.rig_controller import RigControllerError
    from harness.rig.calibrate import CalibrationError, run_calibration, write_records
    from harness.rig.factory import calibration_path, open_rig
    from harness.rig.kinds import load_rig_spec
    from harness.rig.operators import choose_operator, operator_problem

    procedure = args.procedure
    try:
        spec, base = load_rig_spec(args.rig)
        path = calibration_path(spec, base)
        if path is None:
            return _fail(procedure, f"{args.rig}: the rig file names no calibration file (rig.{spec.kind}.calibration)")
        if path.resolve().is_relative_to(RIGS_DIR.resolve()):
            return _fail(
                procedure,
                f"{args.rig}: the calibration file {path.name} is the harness's own (scenarios/rigs); copy the rig "
                f"file and its calibration file to a folder of the lab's and calibrate that copy",
            )
        if not path.is_file():
            return _fail(procedure, f"rig.{spec.kind}.calibration: no calibration file {path}")
        problem = operator_problem(args.operator, spec.kind == "emulated", sys.stdin.isatty())
        if problem is not None:
            return _fail(procedure, problem)
        with (
            tempfile.TemporaryDirectory(prefix="bwc-calibrate-") as work,
            open_rig(spec, base, workdir=Path(work)) as rig,
        ):
            operator = choose_operator(args.operator, rig.emulator)
            found = run_calibration(
                procedure, rig, operator, by=args.by, seconds=args.seconds, presses=int(args.presses)
            )
        write_records(path, found.records)
    except (ConfigError, ValueError, CalibrationError, RigControllerError, DisplayError, OSError) as exc:
        return _fail(procedure, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    for line in found.lines:
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    console.print(
        f"written to {path}: {', '.join(found.records)} (earlier entries kept in its history)",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    return 0
