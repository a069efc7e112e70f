"""``bwc db``: the results database (import run folders, list runs, migrate), and the hook that
stores each ``bwc certify`` run in it.

The database is SQLite in the run folder's parent unless ``--db`` (or ``$BWC_DB``) names another,
e.g. ``postgresql://user@host/bwc`` for benches sharing results. A database that cannot be reached
never costs a run: ``bwc certify`` says so in one line and keeps its run folder, which
``bwc db import RUN_DIR`` uploads later (importing a folder twice adds nothing).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pytest
    from sqlalchemy import Engine

    from harness.fleet.db.store import RunLabels


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``db`` verb: ``import``, ``runs`` and ``upgrade``."""
    p = sub.add_parser("db", help="results database: import run folders, list runs, migrate the schema")
    db_sub = p.add_subparsers(dest="db_verb", required=True)
    i = db_sub.add_parser("import", help="store run folders (their record.json) in the database; twice adds nothing")
    i.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run folder (or its record.json)")
    _db_option(i, "default: $BWC_DB, else bwc-results.db in the run folder's parent")
    _label_options(i)
    i.add_argument("--operator", help="who tested the unit (when the record does not say)")
    i.add_argument("--profile", help="camera profile the run used (when the record does not say)")
    i.add_argument(
        "--accept-changed-evidence",
        action="store_true",
        help="store a folder whose files no longer match its evidence manifest, naming them in the run's row "
        "(e.g. a station attempt of an earlier harness version, which rewrote its record after the manifest)",
    )
    i.set_defaults(run=db_import)
    r = db_sub.add_parser("runs", help="list the latest runs stored")
    _db_option(r)
    r.add_argument("--lot", help="only the runs of this lot")
    r.add_argument("--limit", type=int, default=50, help="how many runs (default 50)")
    r.add_argument("--json", action="store_true", help="print the runs as JSON")
    r.set_defaults(run=db_runs)
    u = db_sub.add_parser("upgrade", help="create the database or migrate its schema to this harness's version")
    _db_option(u)
    u.set_defaults(run=db_upgrade)


def _db_option(p: argparse.ArgumentParser, default: str = "default: $BWC_DB, else ./bwc-results.db") -> None:
    p.add_argument("--db", metavar="URL", help=f"database URL, sqlite:///FILE or postgresql://USER@HOST/DB ({default})")


def _label_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lot", help="lot the unit belongs to (for bwc lot decide)")
    p.add_argument("--bench", help="bench (test station) name; default: the rig's name")


def add_certify_options(p: argparse.ArgumentParser) -> None:
    """``bwc certify``'s database options (the run is stored unless --no-db)."""
    g = p.add_argument_group("results database")
    _db_option(g, "default: $BWC_DB, else bwc-results.db in the parent of --out")  # type: ignore[arg-type]
    g.add_argument("--no-db", action="store_true", help="do not store the run in the results database")
    _label_options(g)  # type: ignore[arg-type]


def _fail(verb: str, message: str) -> int:
    print(f"bwc db {verb}: {message}", file=sys.stderr)
    return 2


def db_import(args: argparse.Namespace) -> int:
    """Store each run folder; a bad folder or an unreachable database is one line and exit code 2."""
    from harness.fleet.db.store import DatabaseError, RecordError, RunLabels, connect, default_url, import_run, shown

    labels = RunLabels(lot=args.lot, operator=args.operator, bench=args.bench, profile=args.profile)
    engines: dict[str, Engine] = {}
    code = 0
    for run_dir in args.run_dirs:
        folder = Path(run_dir)
        url = args.db or default_url(folder.parent if folder.name == "record.json" else folder)
        try:
            engine = engines.get(url) or engines.setdefault(url, connect(url))
            stored = import_run(engine, folder, labels, args.accept_changed_evidence)
        except (DatabaseError, RecordError) as exc:
            print(f"bwc db import: {exc}", file=sys.stderr)
            code = 2
            continue
        print(
            f"{folder}: run {stored.run_key} of unit {stored.serial} {stored.action} "
            f"({stored.scenarios} scenario(s), {stored.measurements} measurement(s), {stored.status}, "
            f"verdict {stored.verdict}) in {shown(url)}"
        )
    return code


def db_runs(args: argparse.Namespace) -> int:
    from harness.fleet.db.query import runs
    from harness.fleet.db.store import DatabaseError, connect, default_url

    try:
        rows = runs(connect(args.db or default_url()), args.limit, args.lot)
    except DatabaseError as exc:
        return _fail("runs", str(exc))
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        print(
            f"{r['start_utc'][:19]}  {r['serial']:<16} {r['model']:<28} lot {r['lot'] or '-':<10} "
            f"bench {r['bench'] or '-':<14} {r['verdict']:<11} {r['status']}"
        )
    if not rows:
        print("no runs stored")
    return 0


def db_upgrade(args: argparse.Namespace) -> int:
    from harness.fleet.db.store import DatabaseError, connect, default_url, schema_revision, shown

    url = args.db or default_url()
    try:
        revision = schema_revision(connect(url))
    except DatabaseError as exc:
        return _fail("upgrade", str(exc))
    print(f"{shown(url)}: schema at revision {revision}")
    return 0


class CertifyStore:
    """Stores a ``bwc certify`` run: after each scenario while it runs (so a unit killed mid-run
    shows what it had done, as "running" until the bench's next run marks it interrupted) and once
    its record is closed. The first database failure is one line; the run goes on and its folder
    stays whole for ``bwc db import``."""

    def __init__(self, args: argparse.Namespace, out: Path) -> None:
        from harness.fleet.db.store import RunLabels

        self.out = out
        self.enabled = not getattr(args, "no_db", False)
        self.url: str = getattr(args, "db", None) or ""
        self.labels: RunLabels = RunLabels(
            lot=getattr(args, "lot", None),
            operator=None,  # the person is named by the record (a station run); certify --operator says who answers prompts
            bench=getattr(args, "bench", None),
            profile=getattr(args, "profile", None),
        )
        self._engine: Engine | None = None
        self._failed = False  # no more tries while the run goes on
        self._reported = False  # a failure is said once
        self._stale_checked = False

    @property
    def plugins(self) -> list[object]:
        return [self] if self.enabled else []

    def _connect(self) -> Engine:
        from harness.fleet.db.store import connect, default_url

        if self._engine is None:
            self.url = self.url or default_url(self.out)
            self._engine = connect(self.url)
        return self._engine

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when in ("setup", "teardown"):
            self._store(live=True)

    def _store(self, live: bool) -> bool:
        from harness.fleet.db.store import DatabaseError, import_command, mark_interrupted, shown, store_record

        if live and self._failed:
            return False
        path = self.out / "record.json"
        try:
            record: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))  # replaced whole, never half-written
        except (OSError, ValueError):
            return False  # not written yet (or several workers: stored once merged)
        if live and not (record.get("camera") or {}).get("serial"):
            return False  # the rig is not open yet: the run's key is not known
        try:
            engine = self._connect()
            if not self._stale_checked:
                self._stale_checked = True
                rig = record.get("rig") or {}
                # a real bench runs one unit at a time; emulated rigs of one host may run side by side
                bench = self.labels.bench or (rig.get("name") if rig.get("kind") == "bench" else None)
                if bench:
                    mark_interrupted(engine, bench)
            store_record(engine, record, labels=self.labels, run_dir=self.out, live=live)
        except Exception as exc:  # whatever the database does, the run goes on and its folder is whole
            if not isinstance(exc, DatabaseError):
                exc = DatabaseError(f"database {shown(self.url)}: {type(exc).__name__}: {exc}".splitlines()[0])
            if not self._reported:
                print(
                    f"\n{exc}; the run folder is kept: upload it later with {import_command(self.out, self.url)}",
                    file=sys.stderr,
                )
            self._failed = self._reported = True
            return False
        return True

    def finish(self) -> None:
        """Store the closed record (tried once more if a store failed during the run)."""
        if not self.enabled:
            return
        from harness.fleet.db.store import shown

        self._failed = False
        if self._store(live=False):
            print(f"results database: run stored in {shown(self.url)}")
