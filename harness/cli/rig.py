"""``bwc rig check``: probe each part of the bench a rig file describes."""

from __future__ import annotations

import argparse

from rich.markup import escape
from rich.table import Table

from harness.cli.common import console


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``rig`` verb and its ``check`` sub-verb."""
    p = sub.add_parser("rig", help="the bench described by a rig file")
    rig_sub = p.add_subparsers(dest="rig_verb", required=True)
    r = rig_sub.add_parser("check", help="probe each part of a rig (serial, instrument, display, storage)")
    r.add_argument("rig_file", metavar="RIG.yaml")
    r.set_defaults(run=rig_check)


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
