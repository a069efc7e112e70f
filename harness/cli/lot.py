"""``bwc lot plan``: the sampling plan of an incoming lot."""

from __future__ import annotations

import argparse
import json
import sys


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``lot`` verb and its ``plan`` sub-verb."""
    p = sub.add_parser("lot", help="incoming lots: sampling plans of ISO 2859-1 / ANSI/ASQ Z1.4")
    lot_sub = p.add_subparsers(dest="lot_verb", required=True)
    r = lot_sub.add_parser("plan", help="how many units of a lot to test, and how many may fail (single sampling)")
    r.add_argument("--size", required=True, help="lot size (units)")
    r.add_argument("--aql", required=True, help="acceptance quality limit, one of the standard's values (e.g. 1.0)")
    r.add_argument("--level", default="II", help="inspection level: I, II, III, S-1..S-4 (default II)")
    r.add_argument("--severity", default="normal", help="normal, tightened or reduced (default normal)")
    r.add_argument("--json", action="store_true", help="print the plan as JSON")
    r.set_defaults(run=lot_plan)


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
