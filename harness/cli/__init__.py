"""The ``bwc`` command: certify, report, requirements, analyze, scene render, emulate, faults.

Each verb (or group of close verbs) lives in its own module with an ``add_parser`` that adds its
options; the verb modules import their heavy parts inside the verb functions, so ``bwc --help``
stays quick."""

from __future__ import annotations

import argparse

from harness.cli import analyze, calibrate, certify, db, emulate, fleet, lot, report, rig, scene, station


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the verb; what the verb returns is the exit code (argparse's own
    errors exit with 2)."""
    parser = argparse.ArgumentParser(prog="bwc", description="Body-worn camera certification harness.")
    sub = parser.add_subparsers(dest="verb", required=True)
    for verb in (
        certify,
        station,
        report,
        analyze,
        scene,
        emulate,
        rig,
        calibrate,
        lot,
        db,
        fleet,
    ):  # the order ``bwc --help`` lists them
        verb.add_parser(sub)

    args = parser.parse_args(argv)
    return args.run(args)
