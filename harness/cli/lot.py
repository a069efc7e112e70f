"""``bwc lot plan``: the sampling plan of an incoming lot; ``bwc lot add`` and ``bwc lot decide``:
register a lot in the results database and accept or reject it from its units' results."""

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
    a = lot_sub.add_parser("add", help="register a lot in the results database: its size and AQL give its plan")
    a.add_argument("name", metavar="LOT", help="lot number, as given to bwc certify --lot")
    a.add_argument("--size", required=True, help="lot size (units)")
    a.add_argument("--aql", required=True, help="acceptance quality limit, one of the standard's values (e.g. 1.0)")
    a.add_argument("--level", default="II", help="inspection level: I, II, III, S-1..S-4 (default II)")
    a.add_argument(
        "--product",
        default="",
        help="the product (supplier and model) whose series of lots the switching rules follow (default: one series)",
    )
    a.add_argument(
        "--reduced-approved",
        action="store_true",
        help="the responsible authority allows reduced inspection from this lot on (ISO 2859-1 9.3.3)",
    )
    a.add_argument(
        "--irregular-production",
        action="store_true",
        help="production of this lot was not at a steady rate (no reduced inspection; reduced returns to normal)",
    )
    a.add_argument(
        "--after-corrective-action",
        metavar="NOTE",
        help="the first lot after inspection was discontinued: what the supplier did to correct the quality "
        "(ISO 2859-1 9.4); inspection resumes with this lot, on tightened inspection",
    )
    _db_option(a)
    a.set_defaults(run=lot_add)
    d = lot_sub.add_parser(
        "decide", help="accept or reject a lot from its units in the results database, with the switching rules"
    )
    d.add_argument("name", metavar="LOT", help="lot number (registered with bwc lot add)")
    d.add_argument("--phase", help="count only the runs of this phase")
    d.add_argument("--json", action="store_true", help="print the decision as JSON")
    _db_option(d)
    d.set_defaults(run=lot_decide)


def _db_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", metavar="URL", help="results database URL (default: $BWC_DB, else ./bwc-results.db)")


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


def lot_add(args: argparse.Namespace) -> int:
    """Register a lot; registering it again with the same numbers is no change."""
    from harness.fleet.acceptance import LotError, LotInfo, register_lot
    from harness.fleet.db.store import DatabaseError, connect, default_url

    if not args.size.strip().isdigit() or int(args.size) < 1:
        print(f"bwc lot add: --size {args.size!r}: expected a positive whole number of units", file=sys.stderr)
        return 2
    lot = LotInfo(
        args.name,
        args.product,
        int(args.size),
        args.aql,
        args.level,
        not args.irregular_production,
        args.reduced_approved,
        args.after_corrective_action,
    )
    try:
        action = register_lot(connect(args.db or default_url()), lot)
    except (LotError, DatabaseError) as exc:
        print(f"bwc lot add: {exc}", file=sys.stderr)
        return 2
    print(f"lot {lot.name}: {action}")
    return 0


def lot_decide(args: argparse.Namespace) -> int:
    """Print the decision: exit 0 accepted, 1 not accepted (or inspection discontinued), 3 still open."""
    from harness.fleet.acceptance import LotError, decide_lot, report_dict, report_lines
    from harness.fleet.db.store import DatabaseError, connect, default_url

    try:
        report = decide_lot(connect(args.db or default_url()), args.name, args.phase)
    except (LotError, DatabaseError) as exc:
        print(f"bwc lot decide: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report_dict(report), indent=2))
    else:
        print("\n".join(report_lines(report)))
    o = report.outcome
    if report.blocked_by is not None or o is None or o.decision is None:
        return 1 if o is None else 3
    return 0 if o.decision.accepted else 1
