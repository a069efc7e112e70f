"""Writing run records into the results database, one transaction per record.

A record is stored whole or not at all: the unit, the run, its scenario results, measurements and
evidence hashes go in inside one transaction, so a process killed or a connection lost part way
leaves the database as it was (the server or SQLite's journal rolls the transaction back). Storing
the same record again finds the run by its key (derived from the record) and replaces its rows, so
``bwc db import`` of a run folder is idempotent and a later, longer record of the same run (a run
stored after each scenario, then at its end) updates the run instead of adding one.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, case, create_engine, delete, event, insert, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from harness.core.clock import wall_utc
from harness.core.measurement import NOT_MEASURABLE
from harness.fleet.db.models import Evidence, MeasurementRow, Run, ScenarioResult, Unit
from harness.report.manifest import MANIFEST_NAME
from harness.report.record import RecordError, read_record
from harness.report.verify import ManifestError, verify_evidence

#: the SQLite file a run folder's parent gets when no ``--db`` is given
DB_FILE_NAME = "bwc-results.db"
#: a database URL in the environment replaces the default (a bench set up once for a shared server)
DB_ENV = "BWC_DB"
MIGRATIONS = Path(__file__).with_name("migrations")
_MIGRATION_LOCK = 0x62776364  # PostgreSQL advisory lock: two benches upgrading at once take turns
_RECORD_FIELDS = frozenset(
    {"schema_version", "phase", "status", "start_utc", "end_utc", "rig", "camera", "instruments", "faults"}
    | {"catalogue", "harness", "tests", "workers"}
)
_SCENARIO_FIELDS = frozenset(
    {"scenario", "title", "requirements", "verdict", "measurements", "clips", "error", "duration_s", "notes"}
)
_MEASUREMENT_FIELDS = frozenset(
    {"name", "value", "unit", "low", "high", "outcome", "requirement", "not_measurable", "quantity", "calibration_id"}
)


class DatabaseError(Exception):
    """The database cannot be reached or written: the message is one line naming it (no password)."""


def default_url(run_dir: Path | None = None) -> str:
    """``$BWC_DB``, else the SQLite file in the run folder's parent (the current folder without one)."""
    env = os.environ.get(DB_ENV, "").strip()
    if env:
        return env
    parent = Path(run_dir).resolve().parent if run_dir is not None else Path.cwd()
    return f"sqlite:///{parent / DB_FILE_NAME}"


def import_command(run_dir: Path, url: str) -> str:
    """The command that uploads ``run_dir`` later into the database at ``url``: ``--db`` is named
    whenever ``bwc db import`` would not find that database by itself (password masked)."""
    command = f"bwc db import {run_dir}"
    return command if url == default_url(run_dir) else f"{command} --db {shown(url)}"


def shown(url: str) -> str:
    """The URL as printed: the password masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def error_text(exc: BaseException) -> str:
    """The first line of a driver error, without SQLAlchemy's background link."""
    orig = getattr(exc, "orig", None)
    text_ = str(orig if orig is not None else exc).strip().splitlines()
    return text_[0] if text_ else type(exc).__name__


def connect(url: str) -> Engine:
    """An engine on ``url`` with the schema migrated to the newest revision.

    SQLite: foreign keys on, a 30 s wait for a lock (benches of one host sharing a file), its folder
    created. PostgreSQL: a 10 s connect timeout, so a lost server is an error, not a hang.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(f"database {url!r}: not a database URL (sqlite:///FILE or postgresql://...)") from None
    backend = parsed.get_backend_name()
    try:
        if backend == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(parsed, connect_args={"timeout": 30}, json_serializer=_json)
            event.listen(engine, "connect", _sqlite_pragmas)
        elif backend == "postgresql":
            if parsed.drivername == "postgresql":
                parsed = parsed.set(drivername="postgresql+psycopg")
            engine = create_engine(
                parsed, connect_args={"connect_timeout": 10}, pool_pre_ping=True, json_serializer=_json
            )
        else:
            raise DatabaseError(f"database {shown(url)}: only sqlite and postgresql are supported, not {backend}")
        migrate(engine)
    except DatabaseError:
        raise
    except (SQLAlchemyError, OSError) as exc:
        raise DatabaseError(f"database {shown(url)}: {error_text(exc)}") from exc
    return engine


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _json(value: Any) -> str:
    """JSON for the ``extra`` columns: a NaN or infinity (which record.json may hold) is null, as
    PostgreSQL's JSON type has no such numbers."""
    try:
        return json.dumps(value, allow_nan=False, default=str)
    except ValueError:
        return json.dumps(_finite(value), default=str)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _alembic_config(connection: Any) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (nothing to do when it is there already)."""
    with engine.connect() as conn:
        cfg = _alembic_config(conn)
        scripts = ScriptDirectory.from_config(cfg)
        head = scripts.get_current_head()
        current = MigrationContext.configure(conn).get_current_revision()
        if current == head:
            return
        if current is not None and current not in {s.revision for s in scripts.walk_revisions()}:
            raise DatabaseError(
                f"database {shown(str(engine.url))}: its schema is at revision {current}, newer than this harness "
                f"knows (up to {head}); update the harness on this bench (benches sharing a database move together)"
            )
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
        command.upgrade(_alembic_config(conn), "head")


def schema_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def run_key(record: dict[str, Any]) -> str:
    """A run's identity from its record: the same run folder always gives the same key."""
    rig = record.get("rig") or {}
    cam = record.get("camera") or {}
    parts = [record.get("start_utc"), rig.get("name"), rig.get("run_id"), cam.get("serial"), record.get("phase")]
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:32]


def summary_verdict(record: dict[str, Any], status: str) -> str:
    """fail if any scenario failed (even in an unfinished run), else interrupted if the run did not
    finish, else error, pass, or none (no scenario applied)."""
    verdicts = [t.get("verdict") for t in record.get("tests") or []]
    if "fail" in verdicts:
        return "fail"
    if status != "complete":
        return "interrupted"
    if "error" in verdicts:
        return "error"
    return "pass" if "pass" in verdicts else "none"


@dataclass(frozen=True)
class Stored:
    """What :func:`store_record` did: ``action`` is added, updated or unchanged."""

    run_key: str
    action: str
    serial: str
    verdict: str
    status: str
    scenarios: int
    measurements: int


@dataclass(frozen=True)
class RunLabels:
    """Who ran the unit where, and for which lot; None keeps what the record (or the database) says."""

    lot: str | None = None
    operator: str | None = None
    bench: str | None = None
    profile: str | None = None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    return None


def _label(record: dict[str, Any], name: str) -> str | None:
    """A label the record may carry at the top or under ``station`` (a station run) or ``camera``."""
    for where in (record, record.get("station") or {}, record.get("camera") or {}):
        value = where.get(name) if isinstance(where, dict) else None
        if value not in (None, ""):
            return str(value)
    return None


def store_record(
    engine: Engine,
    record: dict[str, Any],
    *,
    labels: RunLabels | None = None,
    run_dir: Path | str | None = None,
    live: bool = False,
    evidence_changed: list[str] | None = None,
) -> Stored:
    """Store one run record in one transaction (see the module's description).

    ``live``: the run is still going (stored after each scenario); otherwise a record whose status
    is still "running" comes from a run that died, and is stored as interrupted.
    ``evidence_changed``: the run folder's files that no longer match its manifest, kept with the
    run (``extra.evidence_changed``) when it is stored all the same.
    """
    labels = labels or RunLabels()
    payload = json.dumps(record, sort_keys=True, default=str).encode()
    digest = hashlib.sha256(payload).hexdigest()
    key = run_key(record)
    status = str(record.get("status") or "running")
    if status == "running" and not live:
        status = "interrupted"
    verdict = summary_verdict(record, status)
    cam = record.get("camera") or {}
    rig = record.get("rig") or {}
    serial = str(cam.get("serial") or "unknown")
    tests = record.get("tests") or []
    n_meas = sum(len(t.get("measurements") or []) for t in tests)
    now = wall_utc().isoformat()
    try:
        with Session(engine) as session, session.begin():
            unit = _unit(session, str(cam.get("vendor") or "unknown"), str(cam.get("model") or "unknown"), serial)
            run = session.scalars(select(Run).where(Run.run_key == key)).one_or_none()
            same_labels = run is not None and all(
                getattr(labels, k) in (None, getattr(run, k)) for k in ("lot", "operator", "bench", "profile")
            )
            if run is not None and run.record_sha256 == digest and run.status == status and same_labels:
                return Stored(key, "unchanged", serial, verdict, status, len(tests), n_meas)
            action = "updated" if run is not None else "added"
            if run is None:
                run = Run(run_key=key, unit=unit, faults=[], extra={}, record_sha256=digest, stored_utc=now)
                session.add(run)
            else:
                for table in (MeasurementRow, Evidence, ScenarioResult):
                    session.execute(delete(table).where(table.run_id == run.id))
            catalogue = record.get("catalogue") or {}
            run.unit = unit
            run.phase = str(record.get("phase") or "unspecified")
            run.profile = labels.profile or _label(record, "profile") or run.profile
            run.firmware = cam.get("firmware")
            run.rig = rig.get("name")
            run.rig_kind = rig.get("kind")
            run.bench = labels.bench or _label(record, "bench") or run.bench or rig.get("name")
            run.operator = labels.operator or _label(record, "operator") or run.operator
            run.lot = labels.lot or _label(record, "lot") or run.lot
            run.harness_version = (record.get("harness") or {}).get("version")
            run.catalogue_sha256 = catalogue.get("sha256")
            run.catalogue_path = catalogue.get("path")
            run.calibration = record.get("calibration") or (record.get("instruments") or {}).get("calibration")
            run.start_utc = str(record.get("start_utc") or now)
            run.end_utc = record.get("end_utc")
            run.status = status
            run.verdict = verdict
            run.faults = list(record.get("faults") or [])
            run.record_sha256 = digest
            run.run_dir = str(run_dir) if run_dir is not None else run.run_dir
            run.host = socket.gethostname()
            run.stored_utc = now
            run.extra = {k: v for k, v in record.items() if k not in _RECORD_FIELDS or k in ("instruments", "workers")}
            if evidence_changed:
                run.extra = {**run.extra, "evidence_changed": evidence_changed}
            if run.lot:
                unit.lot = run.lot
            session.flush()
            # the children in bulk (Core): one statement per scenario, then all measurements and evidence
            measurements: list[dict[str, Any]] = []
            evidence: list[dict[str, Any]] = []
            for i, t in enumerate(tests):
                sr_id = session.execute(
                    insert(ScenarioResult)
                    .values(
                        run_id=run.id,
                        position=i,
                        scenario=str(t.get("scenario")),
                        title=str(t.get("title") or ""),
                        verdict=str(t.get("verdict")),
                        requirements=list(t.get("requirements") or []),
                        error=t.get("error"),
                        duration_s=_number(t.get("duration_s")),
                        notes=t.get("notes"),
                        extra={k: v for k, v in t.items() if k not in _SCENARIO_FIELDS},
                    )
                    .returning(ScenarioResult.id)
                ).scalar_one()
                measurements += [_measurement(run.id, sr_id, j, m) for j, m in enumerate(t.get("measurements") or [])]
                evidence += [
                    {
                        "run_id": run.id,
                        "scenario_result_id": sr_id,
                        "position": j,
                        "path": str(c.get("path")),
                        "sha256": str(c.get("sha256")),
                        "extra": {k: v for k, v in c.items() if k not in ("path", "sha256")},
                    }
                    for j, c in enumerate(t.get("clips") or [])
                ]
            if measurements:
                session.execute(insert(MeasurementRow), measurements)
            if evidence:
                session.execute(insert(Evidence), evidence)
    except SQLAlchemyError as exc:
        raise DatabaseError(f"database {shown(str(engine.url))}: {error_text(exc)}") from exc
    return Stored(key, action, serial, verdict, status, len(tests), n_meas)


def _measurement(run_id: int, scenario_result_id: int, position: int, m: dict[str, Any]) -> dict[str, Any]:
    """A measurement row; what the columns do not name stays in ``extra`` (notes, uncertainty, ...)."""
    outcome = str(m.get("outcome"))
    return {
        "run_id": run_id,
        "scenario_result_id": scenario_result_id,
        "position": position,
        "name": str(m.get("name")),
        "quantity": m.get("quantity") or str(m.get("name")).split("[")[0],
        "value": _number(m.get("value")),
        "unit": str(m.get("unit") or ""),
        "low": _number(m.get("low")),
        "high": _number(m.get("high")),
        "outcome": outcome,
        "requirement": str(m.get("requirement") or ""),
        "not_measurable": m.get("not_measurable") or (None if outcome != NOT_MEASURABLE else "not stated"),
        "calibration_id": m.get("calibration_id"),
        "extra": {k: v for k, v in m.items() if k not in _MEASUREMENT_FIELDS},
    }


def _unit(session: Session, vendor: str, model: str, serial: str) -> Unit:
    """The unit row, added if new; two benches adding the same unit at once both end with one row."""
    query = select(Unit).where(Unit.vendor == vendor, Unit.model == model, Unit.serial == serial)
    unit = session.scalars(query).one_or_none()
    if unit is not None:
        return unit
    try:
        with session.begin_nested():
            unit = Unit(vendor=vendor, model=model, serial=serial)
            session.add(unit)
    except IntegrityError:
        unit = session.scalars(query).one()
    return unit


def import_run(
    engine: Engine, run_dir: Path | str, labels: RunLabels | None = None, accept_changed: bool = False
) -> Stored:
    """Store the record.json of a run folder (``bwc db import``); a bad record raises RecordError.

    A folder whose evidence manifest no longer matches its files (a clip or the record changed or
    gone since the run) is refused: the database would otherwise vouch for what the evidence does
    not. ``accept_changed`` stores it all the same, with those files named in the run's row (for a
    folder known to have changed, such as a station attempt of an earlier harness, which rewrote
    its record after the manifest). A folder without a manifest (a run killed before its report) is
    stored as it is."""
    folder = Path(run_dir).resolve()
    path = folder / "record.json" if folder.is_dir() or not folder.name.endswith(".json") else folder
    record = read_record(path)
    if (path.parent / MANIFEST_NAME).is_file():
        try:
            bad = [f for f in verify_evidence(path.parent) if not f.ok]
        except (ManifestError, OSError) as exc:
            raise RecordError(f"{path.parent}: the evidence cannot be checked: {exc}") from None
        if bad and accept_changed:
            changed = [f"{f.status} {f.path}" for f in bad]
            return store_record(engine, record, labels=labels, run_dir=path.parent, evidence_changed=changed)
        if bad:
            raise RecordError(
                f"{path.parent}: {len(bad)} file(s) no longer match the evidence manifest (first: {bad[0].status} "
                f"{bad[0].path}); not imported (bwc verify-evidence lists them; --accept-changed-evidence stores it with them named)"
            )
    return store_record(engine, record, labels=labels, run_dir=path.parent)


def mark_interrupted(engine: Engine, bench: str, host: str | None = None) -> int:
    """Runs still "running" on ``bench`` of this host are over (a bench runs one unit at a time):
    they were killed. Called when a new run starts there; returns how many were marked."""
    host = host or socket.gethostname()
    try:
        with engine.begin() as conn:
            result = conn.execute(
                update(Run)
                .where(Run.bench == bench, Run.host == host, Run.status == "running")
                .values(status="interrupted", verdict=case((Run.verdict == "fail", "fail"), else_="interrupted"))
            )
            return int(result.rowcount or 0)
    except SQLAlchemyError as exc:
        raise DatabaseError(f"database {shown(str(engine.url))}: {error_text(exc)}") from exc


__all__ = ["DatabaseError", "RecordError", "RunLabels", "Stored", "connect", "import_run", "store_record"]
