"""Station mode: a per-unit acceptance suite run on one unit after another (``bwc station``).

The operator connects a unit (a prompt), the station takes its identity from the device, runs the
suite with the certification runner (``bwc certify`` on a rig file naming that unit, in its own
process, so a unit that hangs or crashes costs that unit only), shows PASS or FAIL with the
reason, and asks for the next unit. A unit that did not pass may be re-tested at once; every
attempt is kept, in its own run folder and in the results database.

Each attempt is written to the database twice: a start-of-unit row (status "running") before the
suite starts, so a station killed mid-unit leaves the unit visible and the next start of the same
bench marks it interrupted; then, once the suite has ended, the run record itself (with lot,
operator and bench under ``station``), after which the start-of-unit row is removed. The run
folder stays the source of truth: ``bwc db import`` stores it again if the database was away.

In emulation the units come from a seeded list of healthy and faulty personas
(:func:`seeded_units`): each "connected" unit is the emulated camera with that serial and those
faults, so a simulated shift shows which faulty units the suite rejects and for what.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from harness.core.clock import wall_utc
from harness.core.config import ConfigError
from harness.core.paths import SUITE_DIR, camera_profile_path
from harness.devices.operator import Answer, Operator, Prompt
from harness.devices.operator_relay import prompt_relay
from harness.fleet.db.models import Run
from harness.fleet.db.query import unit_verdict
from harness.fleet.db.store import (
    DatabaseError,
    RunLabels,
    error_text,
    import_command,
    mark_interrupted,
    run_key,
    shown,
    store_record,
    summary_verdict,
)
from harness.plan.profile import CameraProfile
from harness.plan.scenario import Scenario
from harness.report.html import fmt

#: faults the acceptance suite must catch in an emulated unit, with the measurement that shows each
#: (``bwc faults`` gives the proof scenario of every one)
ACCEPTANCE_FAULTS: dict[str, str] = {
    "short-buffer": "preroll_s",
    "drop-at-join": "join_missing_frames",
    "late-stop": "stop_lag_s",
    "unfinalised": "unplayable_files",
    "drop-mid": "missing_frames",
    "slow-boot": "boot_s",
    "buffering-draw": "current_a",
}
SERIAL_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"

Listener = Callable[[dict[str, Any]], None]


class StationError(ValueError):
    """A station that cannot start (no scenario in the suite, a bad profile): one line saying why."""


@dataclass(frozen=True)
class UnitSlot:
    """A unit to be connected: on an emulated station its serial and faults; on a bench nothing
    is known before the device is read (``serial`` None)."""

    serial: str | None = None
    faults: tuple[str, ...] = ()
    seed: int = 1

    @property
    def label(self) -> str:
        return self.serial or "next unit"


def seeded_units(
    count: int, seed: int, prefix: str = "EMU", faulty_share: float = 0.3, faults: Iterable[str] | None = None
) -> list[UnitSlot]:
    """``count`` emulated units, the same for the same seed: about ``faulty_share`` of them carry one
    fault each (drawn from ``faults``, default :data:`ACCEPTANCE_FAULTS`), the others are healthy."""
    rng = random.Random(seed)
    pool = sorted(faults if faults is not None else ACCEPTANCE_FAULTS)
    units = []
    for i in range(count):
        fault = (rng.choice(pool),) if pool and rng.random() < faulty_share else ()
        units.append(UnitSlot(f"{prefix}-{seed:03d}-{i + 1:04d}", fault, seed * 10_000 + i + 1))
    return units


def suite_files(tag: str, profile: CameraProfile, folder: Path = SUITE_DIR) -> list[Path]:
    """The scenario files of ``folder`` tagged ``tag`` that apply to ``profile``, in name order."""
    from harness.report.coverage import scenario_files

    chosen = []
    for path in scenario_files(folder):
        try:
            scenario = Scenario.load(path, profile=profile)
        except ConfigError as exc:
            raise StationError(f"{path}: {'; '.join(exc.problems)}") from None
        if tag in scenario.tags and scenario.not_applicable(profile) is None:
            chosen.append(path)
    if not chosen:
        raise StationError(f"no scenario in {folder} is tagged {tag!r} for camera {profile.model} (tags: [{tag}])")
    return chosen


@dataclass
class AttemptResult:
    """One attempt at one unit, as the station showed it."""

    index: int  # the unit's place in the shift, from 1
    serial: str
    attempt: int  # from 1: a re-test is attempt 2
    bench: str
    verdict: str  # pass, fail, error, interrupted
    reasons: list[str]
    run_dir: str
    run_key: str | None
    start_utc: str
    duration_s: float
    faults: list[str] = field(default_factory=list)
    failed_quantities: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def new_attempt_dir(unit_dir: Path) -> tuple[int, Path]:
    """A new, empty ``attempt-N`` folder of the unit (N one past every attempt already there, from
    any shift): an attempt never lands in, or overwrites, another's folder."""
    unit_dir.mkdir(parents=True, exist_ok=True)
    taken = [int(m.group(1)) for p in unit_dir.iterdir() if (m := re.fullmatch(r"attempt-(\d+)(?:\.log)?", p.name))]
    n = max(taken, default=0) + 1
    while True:
        try:
            (unit_dir / f"attempt-{n}").mkdir()
            return n, unit_dir / f"attempt-{n}"
        except FileExistsError:  # another station on the same folder took it first
            n += 1


class _Supply:
    """The units still to come, handed out one at a time to the benches: a bench's endless supply
    (each slot a unit the operator connects) is read only as far as units are taken."""

    def __init__(self, units: Iterable[UnitSlot]) -> None:
        self._units = enumerate(units, 1)
        self._lock = threading.Lock()

    def take(self) -> tuple[int, UnitSlot] | None:
        with self._lock:
            return next(self._units, None)


@dataclass
class StationConfig:
    """What a station session runs and records."""

    profile: str
    suite: list[Path]
    out: Path
    phase: str = "unspecified"
    lot: str | None = None
    bench: str = "station"
    operator_name: str = "operator"
    db_url: str | None = None  # the database as given (for the upload hint); None: as the engine says
    rig_file: Path | None = None  # a bench rig file; None: emulated units
    answer: str = "auto"  # who answers the suite's own prompts: auto (emulated units) or relay (the station's operator)
    workers: int = 1
    prompt_timeout_s: float = 3600.0


def reasons_of(record: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(why the unit did not pass, one line each; the quantities that failed) from its run record."""
    reasons: list[str] = []
    quantities: list[str] = []
    for t in record.get("tests") or []:
        for m in t.get("measurements") or []:
            if m.get("outcome") == "fail":
                quantities.append(str(m.get("quantity") or str(m.get("name")).split("[")[0]))
                reasons.append(
                    f"{m.get('requirement')} {m.get('name')} = {fmt(m.get('value'))} {m.get('unit') or ''}".rstrip()
                    + f" (limits [{fmt(m.get('low'))}, {fmt(m.get('high'))}]; {t.get('scenario')})"
                )
        if t.get("verdict") == "error":
            reasons.append(f"{t.get('scenario')}: error: {str(t.get('error') or '').splitlines()[0][:200]}")
        elif t.get("verdict") == "fail" and not any(m.get("outcome") == "fail" for m in t.get("measurements") or []):
            reasons.append(f"{t.get('scenario')}: failed: {str(t.get('error') or 'no measurement').splitlines()[0]}")
    return reasons, quantities


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """The suite's process ends when the station's dies (a station killed mid-unit runs nothing on)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class Station:
    """Runs the suite on one unit after another; tells its listeners (terminal, operator page) as it goes."""

    def __init__(self, config: StationConfig, operator: Operator | None, engine: Engine | None = None) -> None:
        """``operator`` None: the emulated units' automatic operator (:func:`auto_operator`)."""
        self.config = config
        self.operator: Operator = operator if operator is not None else auto_operator(self)
        self.engine = engine
        self.listeners: list[Listener] = []
        self.history: list[AttemptResult] = []
        self.current: UnitSlot | None = None  # the unit being connected or tested (the automatic operator's view)
        self._lock = threading.Lock()
        self._prompt_lock = threading.Lock()  # one prompt at a time, whichever bench asks
        self._stop = threading.Event()
        self._procs: set[subprocess.Popen[bytes]] = set()
        self.profile = CameraProfile.load(camera_profile_path(config.profile, None))
        self.scenarios = [Scenario.load(p, profile=self.profile).id for p in config.suite]

    # --- events -------------------------------------------------------------------------------
    def emit(self, event: dict[str, Any]) -> None:
        event = {"utc": wall_utc().isoformat(), **event}
        for listener in list(self.listeners):
            with contextlib.suppress(Exception):  # a listener's failure never stops a unit
                listener(event)

    def ask(self, prompt: Prompt, bench: str) -> Answer:
        with self._prompt_lock:
            self.emit({"type": "prompt", "bench": bench, "text": prompt.text, "expect": prompt.expect})
            answer = self.operator.ask(prompt)
            self.emit(
                {"type": "answer", "bench": bench, "text": prompt.text, "outcome": answer.outcome, "by": answer.by}
            )
            return answer

    def stop(self) -> None:
        """End the shift: no new unit is started, the suite running is ended (its unit shows as interrupted)."""
        self._stop.set()
        for proc in list(self._procs):
            with contextlib.suppress(OSError):
                proc.terminate()

    # --- the shift ----------------------------------------------------------------------------
    def run(self, units: Iterable[UnitSlot]) -> list[AttemptResult]:
        """Test ``units`` (an endless supply on a bench: until the operator says there is none left)."""
        cfg = self.config
        self.emit(
            {
                "type": "shift",
                "bench": cfg.bench,
                "lot": cfg.lot,
                "operator": cfg.operator_name,
                "phase": cfg.phase,
                "profile": f"{self.profile.vendor} {self.profile.model}",
                "scenarios": self.scenarios,
                "workers": cfg.workers,
            }
        )
        supply = _Supply(units)
        benches = [cfg.bench] if cfg.workers <= 1 else [f"{cfg.bench}-{k + 1}" for k in range(cfg.workers)]
        if self.engine is not None:
            for bench in benches:
                mark_interrupted(self.engine, bench)
        threads = [threading.Thread(target=self._bench_loop, args=(b, supply), daemon=True) for b in benches]
        for t in threads:
            t.start()
        for t in threads:
            while t.is_alive():
                t.join(0.2)
        verdicts = self.unit_verdicts()
        passed = sum(1 for v in verdicts.values() if v == "pass")
        self.emit({"type": "end", "units": len(verdicts), "passed": passed, "attempts": len(self.history)})
        return self.history

    def unit_verdicts(self) -> dict[str, str | None]:
        """Each unit's result by the rule the lot decision applies (a failure stands through a passing
        re-test): serial -> pass, fail or None (no conclusive attempt)."""
        attempts: dict[str, list[str]] = {}
        with self._lock:
            for a in self.history:
                attempts.setdefault(a.serial, []).append(a.verdict)
        return {serial: unit_verdict(v) for serial, v in attempts.items()}

    def latest(self) -> list[AttemptResult]:
        """The latest attempt of each unit tested."""
        out: dict[tuple[str, int], AttemptResult] = {}
        for a in self.history:
            out[(a.serial, a.index)] = a
        return list(out.values())

    def _bench_loop(self, bench: str, supply: _Supply) -> None:
        while not self._stop.is_set():
            taken = supply.take()
            if taken is None:
                return
            index, slot = taken
            if not self._one_unit(bench, index, slot):
                self._stop.set()
                return

    def _one_unit(self, bench: str, index: int, slot: UnitSlot) -> bool:
        """Connect, identify and test one unit (re-tests while the operator asks for them);
        False: the operator ended the shift."""
        self.current = slot
        answer = self.ask(
            Prompt(
                f"Connect unit {index} ({slot.label}) to bench {bench}: supply, USB and rig controller; then confirm "
                "(n: no more units, end of shift)",
                "confirm",
                self.config.prompt_timeout_s,
                key="unit_connected",
            ),
            bench,
        )
        if not answer.ok:
            return False
        serial = slot.serial
        if serial is None and self.config.rig_file is not None:
            serial, how = read_identity(self.config.rig_file, self.config.profile)
            self.emit({"type": "identity", "bench": bench, "index": index, "serial": serial, "how": how})
        if serial is None:
            typed = self.ask(
                Prompt(
                    "Type the serial printed on the unit (the device states none the station can read)",
                    "value",
                    self.config.prompt_timeout_s,
                    key="camera_serial",
                    pattern=SERIAL_PATTERN,
                ),
                bench,
            )
            if not typed.ok or not typed.value:
                return False
            serial = typed.value
        while True:
            result = self.test_unit(bench, index, slot, serial)
            if self._stop.is_set() or result.verdict == "pass":
                return not self._stop.is_set()
            why = result.reasons[0] if result.reasons else result.verdict
            again = self.ask(
                Prompt(
                    f"Unit {serial} {result.verdict.upper()}: {why}. Re-test it? (y: test it again, n: next unit)",
                    "confirm",
                    self.config.prompt_timeout_s,
                    key="retest",
                ),
                bench,
            )
            if again.outcome == "aborted":
                return False
            if not again.ok:
                return True

    # --- one attempt --------------------------------------------------------------------------
    def test_unit(self, bench: str, index: int, slot: UnitSlot, serial: str) -> AttemptResult:
        """Run the suite once on the unit ``serial`` and store the attempt (see the module's description)."""
        cfg = self.config
        start = wall_utc().isoformat()
        attempt, run_dir = new_attempt_dir(cfg.out / safe_name(serial))
        self.emit(
            {
                "type": "unit",
                "bench": bench,
                "index": index,
                "serial": serial,
                "attempt": attempt,
                "scenarios": self.scenarios,
                "run_dir": str(run_dir),
            }
        )
        placeholder = self._start_row(bench, serial, attempt, start, run_dir, slot)
        t0 = time.monotonic()
        code, log = self._run_suite(bench, slot, serial, run_dir, attempt)
        duration = time.monotonic() - t0
        record = _read_json(run_dir / "record.json")
        key: str | None = None
        if record is None or not record.get("tests"):
            verdict = "interrupted" if self._stop.is_set() else "error"
            reasons = [f"the suite ended without a result (exit code {code}): {log}"]
            quantities: list[str] = []
            self._close_start_row(placeholder, verdict, reasons[0])
        else:
            status = str(record.get("status") or "running")
            verdict = summary_verdict(record, "complete" if status == "complete" else "interrupted")
            reasons, quantities = reasons_of(record)
            if verdict != "pass" and not reasons:
                reasons = [f"run {status}"]
            key = self._store(record, run_dir, bench, placeholder)
        result = AttemptResult(
            index, serial, attempt, bench, verdict, reasons, str(run_dir), key, start, round(duration, 1),
            list(slot.faults), quantities,
        )  # fmt: skip
        with self._lock:
            self.history.append(result)
        self.emit({"type": "verdict", **result.as_dict()})
        return result

    def _labels(self, bench: str) -> RunLabels:
        return RunLabels(
            lot=self.config.lot, operator=self.config.operator_name, bench=bench, profile=self.config.profile
        )

    def _start_row(
        self, bench: str, serial: str, attempt: int, start: str, run_dir: Path, slot: UnitSlot
    ) -> str | None:
        """The start-of-unit row: the unit shows as running (interrupted, if the station dies) at once."""
        if self.engine is None:
            return None
        record = {
            "phase": self.config.phase,
            "status": "running",
            "start_utc": start,
            "rig": {"name": bench, "kind": "station", "run_id": f"station-{attempt}"},
            "camera": {"vendor": self.profile.vendor, "model": self.profile.model, "serial": serial},
            "faults": list(slot.faults),
            "tests": [],
            "station": {"attempt": attempt, "started": True},
        }
        try:
            return store_record(self.engine, record, labels=self._labels(bench), run_dir=run_dir, live=True).run_key
        except DatabaseError as exc:
            self.emit({"type": "warning", "bench": bench, "text": f"{exc}; the run folder is kept ({run_dir})"})
            return None

    def _close_start_row(self, key: str | None, verdict: str, why: str) -> None:
        if self.engine is None or key is None:
            return
        with contextlib.suppress(SQLAlchemyError), self.engine.begin() as conn:
            conn.execute(
                update(Run).where(Run.run_key == key).values(status=verdict, verdict=verdict, extra={"station": why})
            )

    def _store(self, record: dict[str, Any], run_dir: Path, bench: str, placeholder: str | None) -> str | None:
        """The attempt's record into the database, then its start-of-unit row out (a station killed
        in between leaves both: the row shows interrupted, the record decides the unit)."""
        if self.engine is None:
            return run_key(record)
        try:
            stored = store_record(self.engine, record, labels=self._labels(bench), run_dir=run_dir)
            if placeholder is not None and placeholder != stored.run_key:
                with Session(self.engine) as session, session.begin():
                    run = session.scalars(select(Run).where(Run.run_key == placeholder)).one_or_none()
                    if run is not None:
                        session.delete(run)
            return stored.run_key
        except (DatabaseError, SQLAlchemyError) as exc:
            why = exc if isinstance(exc, DatabaseError) else error_text(exc)
            self.emit(
                {
                    "type": "warning",
                    "bench": bench,
                    "text": f"{why}; upload the run later: "
                    + import_command(
                        run_dir, self.config.db_url or self.engine.url.render_as_string(hide_password=False)
                    ),
                }
            )
            return run_key(record)

    def _rig_file(self, bench: str, slot: UnitSlot, serial: str, run_dir: Path) -> Path:
        """The rig file of this attempt: the bench's own with the unit's serial, or an emulated rig
        whose camera is the unit (its serial and faults)."""
        cfg = self.config
        if cfg.rig_file is not None:
            spec = yaml.safe_load(cfg.rig_file.read_text(encoding="utf-8"))
            spec["rig"]["unit_serial"] = serial
            camera = spec["rig"].get("camera")
            if (
                isinstance(camera, str)
                and not Path(camera).is_absolute()
                and ("/" in camera or camera.endswith(".yaml"))
            ):
                spec["rig"]["camera"] = str((cfg.rig_file.parent / camera).resolve())
        else:
            spec = {
                "rig": {
                    "kind": "emulated",
                    "name": bench,
                    "camera": str(camera_profile_path(cfg.profile, None)),
                    "unit_serial": serial,
                    "faults": list(slot.faults),
                    "seed": slot.seed,
                }
            }
        path = run_dir / "rig.yaml"
        path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
        return path

    def _run_suite(self, bench: str, slot: UnitSlot, serial: str, run_dir: Path, attempt: int) -> tuple[int, str]:
        """``bwc certify`` on this unit in its own process; its progress read from the record it
        rewrites after each scenario. The attempt's labels go into the record from its start, so
        the evidence manifest hashes the record as it stays; the console log is kept beside the run
        folder (``attempt-N.log``), since it is written after the manifest. Returns (exit code, the
        last line of its output)."""
        cfg = self.config
        rig = self._rig_file(bench, slot, serial, run_dir)
        labels = {
            "lot": cfg.lot,
            "operator": cfg.operator_name,
            "bench": bench,
            "attempt": attempt,
            "profile": cfg.profile,
        }
        cmd = [sys.executable, "-m", "harness.cli", "certify", "--rig", str(rig), "--out", str(run_dir)]
        cmd += ["--phase", cfg.phase, "--no-pdf", "--no-db", "--station-info", json.dumps(labels)]
        log_path = run_dir.with_name(f"{run_dir.name}.log")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "160"}
        with contextlib.ExitStack() as stack:
            if cfg.answer == "auto":  # emulated units: the emulated rig answers what its camera shows
                cmd += ["--operator", "auto"]
            else:  # the suite's own prompts (READY, docking, the export) go to the station's operator
                relay = stack.enter_context(prompt_relay(lambda prompt: self.ask(prompt, bench)))
                cmd += ["--operator-socket", str(relay.path)]
            cmd += [str(p) for p in cfg.suite]
            log = stack.enter_context(log_path.open("wb"))
            proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, env=env, stdin=subprocess.DEVNULL,
                preexec_fn=_die_with_parent,
            )  # fmt: skip
            self._procs.add(proc)
            try:
                for event in self._watch(proc, run_dir / "record.json"):
                    self.emit({"bench": bench, "serial": serial, **event})
            finally:
                self._procs.discard(proc)
                if proc.poll() is None:
                    proc.kill()
                proc.wait()
        lines = [ln for ln in log_path.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()]
        return int(proc.returncode or 0), (lines[-1].strip()[:200] if lines else "no output")

    def _watch(self, proc: subprocess.Popen[bytes], record_path: Path) -> Iterator[dict[str, Any]]:
        """Progress events while the suite runs: the scenario under way and each measurement done."""
        done = 0
        total = len(self.scenarios)
        yield {"type": "step", "scenario": self.scenarios[0] if total else None, "done": 0, "total": total}
        while True:
            finished = proc.poll() is not None
            record = _read_json(record_path)
            tests = (record or {}).get("tests") or []
            for t in tests[done:]:
                for m in t.get("measurements") or []:
                    yield {
                        "type": "measurement",
                        "scenario": t.get("scenario"),
                        "name": m.get("name"),
                        "value": m.get("value"),
                        "unit": m.get("unit"),
                        "low": m.get("low"),
                        "high": m.get("high"),
                        "outcome": m.get("outcome"),
                        "requirement": m.get("requirement"),
                    }
                yield {"type": "scenario", "scenario": t.get("scenario"), "verdict": t.get("verdict")}
            if len(tests) > done:
                done = len(tests)
                nxt = self.scenarios[done] if done < total else None
                yield {"type": "step", "scenario": nxt, "done": done, "total": total}
            if finished:
                return
            time.sleep(0.5)


def auto_operator(station: Station) -> Operator:
    """The emulated station's automatic operator: connects the next unit of the list, types its
    serial when asked, and moves on after a failure (no re-test)."""
    from harness.emulator.operator import AutoOperator

    op = AutoOperator(station)
    op.answer_with("retest", lambda st, prompt: "n")
    op.answer_with("camera_serial", lambda st, prompt: st.current.serial if st.current else None)
    return op


def read_identity(rig_file: Path, profile: str) -> tuple[str | None, str]:
    """The serial the device on the bench states (None: it states none, or cannot be read) and
    where it came from or why not; the certification run checks it again when it opens the rig."""
    from harness.rig.kinds import BuildContext, load_rig_spec, rig_kind

    try:
        spec, base = load_rig_spec(rig_file)
        kind = rig_kind(spec)
        camera = CameraProfile.load(camera_profile_path(profile, None))
        clock = kind.run_clock(spec)
        try:
            with kind.build(spec, BuildContext(camera, clock, base)) as parts, parts.clips.open() as clips:
                identity = clips.device_identity()
        finally:
            clock.close()
    except Exception as exc:  # a device not there yet, a rig file error: the operator types the serial
        return None, f"the device could not be read ({type(exc).__name__}: {str(exc)[:200]})"
    if identity is None:
        return None, "the clip source states no serial"
    return identity.serial, f"stated by the {identity.stated_by}"


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def interrupted_units(engine: Engine, bench: str | None = None) -> list[dict[str, Any]]:
    """Start-of-unit rows left by a station that died (status running or interrupted, no scenario)."""
    from harness.fleet.db.models import Unit

    try:
        with Session(engine) as session:
            query = (
                select(Run, Unit)
                .join(Unit, Run.unit_id == Unit.id)
                .where(Run.status.in_(("running", "interrupted")), Run.rig_kind == "station")
            )
            if bench is not None:
                query = query.where(Run.bench == bench)
            return [
                {"serial": u.serial, "bench": r.bench, "status": r.status, "start_utc": r.start_utc, "lot": r.lot}
                for r, u in session.execute(query.order_by(Run.start_utc))
            ]
    except SQLAlchemyError as exc:
        raise DatabaseError(f"database {shown(str(engine.url))}: {error_text(exc)}") from exc


def safe_name(text: str) -> str:
    """A serial as a folder name (nothing a path could climb out with)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)[:64] or "unit"


__all__ = [
    "ACCEPTANCE_FAULTS",
    "AttemptResult",
    "Station",
    "StationConfig",
    "StationError",
    "UnitSlot",
    "auto_operator",
    "interrupted_units",
    "read_identity",
    "reasons_of",
    "seeded_units",
    "suite_files",
]
