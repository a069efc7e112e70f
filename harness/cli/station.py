"""``bwc station``: test units one after another with the acceptance suite (see harness.fleet.station)."""

from __future__ import annotations

import argparse
import secrets
import sys
from pathlib import Path
from typing import Any

from rich.markup import escape

from harness.cli.common import console, number


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("station", help="test station: run the per-unit acceptance suite on one unit after another")
    p.add_argument("--profile", required=True, help="camera profile (name or file) of the units")
    p.add_argument("--suite", default="acceptance", help="tag of the scenarios forming the suite (default acceptance)")
    p.add_argument("--scenario", action="append", default=[], help="scenario file(s) instead of the tagged suite")
    p.add_argument("--rig", help="bench rig file (the unit's serial is set per unit); default: emulated units")
    p.add_argument("--units", type=number(1, 100_000, integer=True), default=4, help="emulated units (default 4)")
    p.add_argument("--seed", type=number(0, 1_000_000, integer=True), default=1, help="seed of the emulated units")
    p.add_argument(
        "--faulty-share",
        type=number(0, 1),
        default=0.3,
        help="share of emulated units with a fault (default 0.3)",
    )
    p.add_argument("--phase", default="unspecified", help="deployment phase")
    p.add_argument("--lot", help="lot the units belong to")
    p.add_argument("--bench", default="station", help="bench name (default station)")
    p.add_argument("--operator-name", help="who tests (default: the login name; 'auto' for the automatic operator)")
    p.add_argument(
        "--operator",
        choices=("terminal", "auto", "web"),
        help="who answers the prompts: a person at the terminal, on the operator page, or the emulated "
        "rig's automatic operator (default: web with --web, else the terminal when stdin is one, else auto)",
    )
    p.add_argument("--workers", type=number(1, 64, integer=True), default=1, help="benches run in parallel (auto only)")
    p.add_argument("--out", default="station-out", help="folder of the units' run folders (default station-out)")
    p.add_argument("--db", metavar="URL", help="results database (default: $BWC_DB, else bwc-results.db beside --out)")
    p.add_argument("--no-db", action="store_true", help="keep the run folders only")
    p.add_argument("--web", action="store_true", help="serve the operator page")
    p.add_argument("--host", default="127.0.0.1", help="address of the operator page (default 127.0.0.1)")
    p.add_argument("--port", type=number(0, 65535, integer=True), default=8765, help="port (default 8765; 0: any)")
    p.add_argument("--token", help="token the page requires ('auto': a random one); needed beyond 127.0.0.1")
    p.add_argument(
        "--keep-page",
        action="store_true",
        help="keep serving the page after the shift until Ctrl-C (default: stop at the end of the shift)",
    )
    p.set_defaults(run=station)


def station(args: argparse.Namespace) -> int:
    from harness.core.config import ConfigError
    from harness.core.paths import camera_profile_path
    from harness.fleet.acceptance import lot_registered
    from harness.fleet.db.store import DatabaseError, connect, default_url
    from harness.fleet.station import (
        Station,
        StationConfig,
        StationError,
        seeded_units,
        suite_files,
    )
    from harness.fleet.station_web import PageError, PageServer, StationPage, WebOperator
    from harness.plan.profile import CameraProfile

    def fail(message: str) -> int:
        console.print(f"bwc station: {message}", highlight=False, markup=False, soft_wrap=True)
        return 2

    choice = args.operator or ("web" if args.web else "terminal" if sys.stdin.isatty() else "auto")
    if choice == "web" and not args.web:
        return fail("--operator web needs the operator page (--web)")
    if choice == "auto" and args.rig:
        return fail("--operator auto answers only on emulated units; at a bench a person answers")
    if args.workers > 1 and choice != "auto":
        return fail("several benches in one station need the automatic operator (--operator auto)")
    try:
        profile = CameraProfile.load(camera_profile_path(args.profile, None))
        suite = [Path(s).resolve() for s in args.scenario] or suite_files(args.suite, profile)
    except (ConfigError, StationError, OSError) as exc:
        return fail(str(exc))
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    engine = None
    db_url = None if args.no_db else args.db or default_url(out)
    if db_url is not None:
        try:
            engine = connect(db_url)
        except DatabaseError as exc:
            return fail(f"{exc} (--no-db runs without it; bwc db import uploads the run folders later)")
        try:
            unplanned = bool(args.lot) and not lot_registered(engine, args.lot)
        except DatabaseError as exc:
            return fail(str(exc))
        if unplanned:
            console.print(
                escape(
                    f"note: lot {args.lot} is not registered in the results database: its units are kept, but "
                    f"bwc lot decide has no plan for it until bwc lot add {args.lot} --size N --aql A"
                ),
                highlight=False,
            )
    name = args.operator_name or ("auto" if choice == "auto" else _login())
    config = StationConfig(
        profile=args.profile,
        suite=suite,
        out=out,
        phase=args.phase,
        lot=args.lot,
        bench=args.bench,
        operator_name=name,
        db_url=db_url,
        rig_file=Path(args.rig).resolve() if args.rig else None,
        answer="relay" if args.rig else "auto",
        workers=args.workers,
    )
    page = StationPage() if args.web else None
    web_operator = WebOperator(page, name) if page is not None and choice == "web" else None
    operator: Any
    if web_operator is not None:
        operator = web_operator
    elif choice == "terminal":
        from harness.devices.operator import TerminalOperator

        operator = TerminalOperator(name=name)
    else:
        operator = None  # the automatic operator is made below: it needs the station
    try:
        st = Station(config, operator, engine)
    except (ConfigError, OSError) as exc:
        return fail(str(exc))
    st.listeners.append(_terminal_listener)
    server = None
    if page is not None:
        st.listeners.append(page.on_event)
        token = secrets.token_urlsafe(24) if args.token == "auto" else args.token
        try:
            server = PageServer(page, web_operator, args.host, args.port, token)
            server.start()
        except (PageError, OSError) as exc:
            return fail(str(exc))
        console.print(f"operator page: {server.url}", highlight=False, markup=False, soft_wrap=True)
    units = seeded_units(args.units, args.seed, faulty_share=args.faulty_share) if not args.rig else _endless()
    console.print(
        escape(f"suite: {', '.join(st.scenarios)}; units in {out}; lot {args.lot or '-'}, bench {args.bench}"),
        highlight=False,
    )
    try:
        history = st.run(units)
    except KeyboardInterrupt:
        st.stop()
        console.print("station stopped: the unit under test is recorded as interrupted", highlight=False)
        return 130
    finally:
        if server is not None and not args.keep_page:
            if web_operator is not None:
                web_operator.close()
            server.stop()
    if server is not None and args.keep_page:
        console.print("shift over; the page stays up until Ctrl-C", highlight=False)
        try:
            server.thread.join()
        except KeyboardInterrupt:
            server.stop()
    verdicts = st.unit_verdicts()  # a unit that failed once has not passed, whatever its re-test did
    bad = [serial for serial, v in verdicts.items() if v != "pass"]
    console.print(
        f"shift: {len(verdicts)} unit(s), {len(verdicts) - len(bad)} passed, {len(bad)} not passed, "
        f"{len(history)} attempt(s)",
        highlight=False,
    )
    return 0 if not bad else 1


def _endless() -> Any:
    from harness.fleet.station import UnitSlot

    while True:
        yield UnitSlot()


def _login() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:
        return "operator"


def _terminal_listener(event: dict[str, Any]) -> None:
    kind = event.get("type")
    if kind == "unit":
        line = f"[bold]unit {event['index']} {event['serial']}[/bold] attempt {event['attempt']} on {event['bench']}"
        console.print(line, highlight=False)
    elif kind == "scenario":
        colour = "green" if event.get("verdict") == "pass" else "red"
        console.print(
            f"  {escape(str(event.get('scenario')))}: [{colour}]{escape(str(event.get('verdict')).upper())}[/]",
            highlight=False,
        )
    elif kind == "verdict":
        colour = "green" if event["verdict"] == "pass" else "red"
        why = f": {escape(event['reasons'][0])}" if event.get("reasons") else ""
        console.print(
            f"[{colour} bold]{escape(event['serial'])} {event['verdict'].upper()}[/]{why} ({event['duration_s']:.0f} s)",
            highlight=False,
            soft_wrap=True,
        )
    elif kind == "identity":
        console.print(
            escape(f"unit {event['index']}: serial {event['serial'] or '?'} ({event['how']})"), highlight=False
        )
    elif kind == "warning":
        console.print(f"[yellow]{escape(str(event.get('text')))}[/yellow]", highlight=False, soft_wrap=True)
