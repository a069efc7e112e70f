"""``bwc fleet report``: the acceptance results of a deployment phase, from the results database."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("fleet", help="fleet acceptance: the report of a deployment phase from the results database")
    fleet_sub = p.add_subparsers(dest="fleet_verb", required=True)
    r = fleet_sub.add_parser("report", help="units per model, lot and bench, pass rate, failures, distributions")
    r.add_argument("--phase", required=True, help="deployment phase (as the runs recorded it)")
    r.add_argument("--db", metavar="URL", help="database URL (default: $BWC_DB, else ./bwc-results.db)")
    r.add_argument("--out", default=".", help="folder for fleet-report.html and .pdf (default: here)")
    r.add_argument("--no-pdf", action="store_true", help="write the HTML only")
    r.set_defaults(run=fleet_report)


def fleet_report(args: argparse.Namespace) -> int:
    from harness.fleet.db.store import DatabaseError, connect, default_url
    from harness.fleet.fleet_report import write_fleet_report

    try:
        engine = connect(args.db or default_url())
        html, pdf, note = write_fleet_report(engine, args.phase, Path(args.out).resolve(), pdf=not args.no_pdf)
    except (DatabaseError, OSError) as exc:
        print(f"bwc fleet report: {exc}", file=sys.stderr)
        return 2
    print(f"fleet report: {html}" + (f"\nPDF: {pdf}" if pdf else ""))
    if note:
        print(note, file=sys.stderr)
    return 0
