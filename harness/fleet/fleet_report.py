"""The fleet report of a deployment phase (``bwc fleet report --phase P``), from the results database.

Units tested per model, lot and bench; the pass rate with its 95 % Wilson score interval (chosen
over the normal approximation because it stays inside [0, 1] and keeps its coverage for the few
units or the rates near 100 % a lot sample gives); the failures by requirement; the distributions
of key measurements (pre-roll error, A/V offset, runtime, boot time) as plots; the units still to
test in each registered lot (its sampling plan's sample size less the units with a conclusive
result). Written as one self-contained HTML file (plots inline) and, as the certification report
is, the same page as PDF.

A unit's result is its first failure, else its latest pass (:mod:`harness.fleet.db.query`); units
with no conclusive attempt (interrupted, bench error) are counted as "to re-test", never as passed.
"""

from __future__ import annotations

import base64
import io
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from harness.core.clock import wall_utc
from harness.core.evidence import write_atomic
from harness.fleet.acceptance import LotError, decide_lot
from harness.fleet.db.models import Lot, MeasurementRow, Run, Unit
from harness.fleet.db.query import Attempt, UnitResult, _reasons
from harness.fleet.db.store import DatabaseError, error_text, shown
from harness.fleet.sampling import SamplingError
from harness.report.html import environment, fmt, render_pdf

#: z of the two-sided 95 % interval
Z95 = 1.959963984540054


@dataclass(frozen=True)
class KeyQuantity:
    """A measurement whose spread across the fleet is plotted."""

    quantity: str
    title: str
    unit: str
    deviation: bool = False  # plot value minus the middle of its limits (the configured figure)


KEY_QUANTITIES = (
    KeyQuantity("preroll_s", "Pre-roll error (measured minus the middle of its limits)", "s", deviation=True),
    KeyQuantity("av_offset_ms", "A/V offset", "ms"),
    KeyQuantity("runtime_estimate_h", "Runtime estimate from the measured draw", "h"),
    KeyQuantity("shift_runtime_h", "Runtime on a whole shift", "h"),
    KeyQuantity("boot_s", "Boot time (power-on to buffering)", "s"),
)


def wilson(passed: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``passed``/``n`` (n = 0: the whole range)."""
    if n <= 0:
        return 0.0, 1.0
    p = passed / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass
class FleetUnit:
    result: UnitResult
    lot: str | None
    bench: str | None
    run_ids: list[int]
    conclusive_run: int | None = None


@dataclass
class FleetData:
    phase: str
    units: list[FleetUnit]
    failures: dict[str, list[str]]  # requirement -> serials whose conclusive attempt failed it
    values: dict[str, list[tuple[float, str]]]  # quantity -> (value, serial) from conclusive attempts
    lots: list[dict[str, Any]] = field(default_factory=list)


def gather(engine: Engine, phase: str) -> FleetData:
    """Every unit tested in ``phase`` with its attempts, failures and key measurements."""
    try:
        with Session(engine) as session:
            rows = session.execute(
                select(Run, Unit)
                .join(Unit, Run.unit_id == Unit.id)
                .where(Run.phase == phase)
                .order_by(Run.start_utc, Run.id)
            ).all()
            reasons = _reasons(session, [r.id for r, _ in rows if r.verdict in ("fail", "error")])
            units: dict[int, FleetUnit] = {}
            for run, unit in rows:
                fu = units.setdefault(
                    unit.id, FleetUnit(UnitResult(unit.vendor, unit.model, unit.serial, []), None, None, [])
                )
                fu.result.attempts.append(
                    Attempt(
                        run.run_key, run.start_utc, run.status, run.verdict, run.bench, run.operator,
                        reasons.get(run.id, []),
                    )
                )  # fmt: skip
                fu.run_ids.append(run.id)
                fu.lot = run.lot or fu.lot
                fu.bench = run.bench or fu.bench
            for fu in units.values():  # the attempt that decides the unit gives its values and its bench
                decided = fu.result.conclusive
                if decided is not None:
                    fu.conclusive_run = fu.run_ids[fu.result.attempts.index(decided)]
                    fu.bench = decided.bench or fu.bench
            conclusive = {fu.conclusive_run: fu for fu in units.values() if fu.conclusive_run is not None}
            failures: dict[str, set[str]] = defaultdict(set)
            values: dict[str, list[tuple[float, str]]] = defaultdict(list)
            wanted = {k.quantity: k for k in KEY_QUANTITIES}
            if conclusive:
                for m in session.scalars(select(MeasurementRow).where(MeasurementRow.run_id.in_(list(conclusive)))):
                    fu = conclusive[m.run_id]
                    if m.outcome == "fail":
                        failures[m.requirement or "?"].add(fu.result.serial)
                    key = wanted.get(m.quantity or "")
                    if key is not None and m.value is not None and math.isfinite(m.value):
                        value = m.value
                        if key.deviation and m.low is not None and m.high is not None:
                            value -= (m.low + m.high) / 2
                        values[key.quantity].append((value, fu.result.serial))
            tested_lots = {fu.lot for fu in units.values() if fu.lot}
            registered = (
                set(session.scalars(select(Lot.name).where(Lot.name.in_(tested_lots)))) if tested_lots else set()
            )
            # registered lots with no run in any phase yet: their whole sample is still to test
            waiting = set(
                session.scalars(select(Lot.name).where(Lot.name.not_in(select(Run.lot).where(Run.lot.is_not(None)))))
            )
            registered |= waiting
            lot_names = sorted(tested_lots | waiting)
    except SQLAlchemyError as exc:
        raise DatabaseError(f"database {shown(str(engine.url))}: {error_text(exc)}") from exc
    data = FleetData(phase, list(units.values()), {k: sorted(v) for k, v in failures.items()}, dict(values))
    for name in lot_names:
        data.lots.append(_lot_status(engine, name, phase, name in registered, data))
    return data


def _lot_status(engine: Engine, name: str, phase: str, registered: bool, data: FleetData) -> dict[str, Any]:
    tested = [u for u in data.units if u.lot == name]
    row: dict[str, Any] = {
        "lot": name,
        "tested": len(tested),
        "conclusive": sum(1 for u in tested if u.result.verdict is not None),
        "registered": registered,
        "sample": None,
        "still_to_test": None,
        "decision": "lot not registered (bwc lot add): no sampling plan",
    }
    if not registered:
        return row
    try:
        report = decide_lot(engine, name, phase)
    except (LotError, SamplingError, DatabaseError) as exc:
        row["decision"] = str(exc)
        return row
    o = report.outcome
    if o is None:
        row["decision"] = f"no decision: {report.blocked_by}"
        return row
    row["sample"] = o.plan.units
    row["still_to_test"] = o.untested
    row["decision"] = (
        "open" if o.decision is None else "accepted" if o.decision.accepted else "rejected"
    ) + f" (n={o.plan.units}, Ac {o.plan.ac}, Re {o.plan.re}, {o.plan.severity})"
    return row


def _png_uri(fig: Figure) -> str:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def distribution_plot(key: KeyQuantity, values: list[float]) -> str:
    """A histogram of ``values`` as a data: URI (PNG), with the count, mean and range in its title."""
    fig = Figure(figsize=(6.4, 2.6))
    ax = fig.add_subplot(1, 1, 1)
    bins = max(5, min(40, int(math.sqrt(len(values))) * 2))
    ax.hist(values, bins=bins, color="#3b6ea5", edgecolor="white")
    ax.set_xlabel(f"{key.quantity} ({key.unit})")
    ax.set_ylabel("units")
    mean = sum(values) / len(values)
    ax.set_title(f"n={len(values)}, mean {fmt(mean)} {key.unit}, range {fmt(min(values))}..{fmt(max(values))}")
    fig.tight_layout()
    return _png_uri(fig)


def context(data: FleetData) -> dict[str, Any]:
    """What the template shows."""
    decided = [u for u in data.units if u.result.verdict is not None]
    passed = sum(1 for u in decided if u.result.verdict == "pass")
    low, high = wilson(passed, len(decided))

    def table(key: str) -> list[dict[str, Any]]:
        groups: dict[str, list[FleetUnit]] = defaultdict(list)
        for u in data.units:
            label = {
                "model": f"{u.result.vendor} {u.result.model}",
                "lot": u.lot or "(no lot)",
                "bench": u.bench or "(no bench)",
            }[key]
            groups[label].append(u)
        rows = []
        for label, us in sorted(groups.items()):
            v = Counter(u.result.verdict for u in us)
            n = v["pass"] + v["fail"]
            lo, hi = wilson(v["pass"], n)
            rows.append(
                {
                    "label": label,
                    "units": len(us),
                    "passed": v["pass"],
                    "failed": v["fail"],
                    "retest": v[None],
                    "attempts": sum(len(u.result.attempts) for u in us),
                    "rate": None if n == 0 else v["pass"] / n,
                    "low": lo,
                    "high": hi,
                }
            )
        return rows

    plots = []
    for key in KEY_QUANTITIES:
        vals = [v for v, _ in data.values.get(key.quantity, [])]
        if vals:
            plots.append({"key": key, "uri": distribution_plot(key, vals), "n": len(vals)})
    failed_units = [u for u in data.units if u.result.verdict == "fail"]
    retest = [u for u in data.units if u.result.verdict is None]
    return {
        "phase": data.phase,
        "generated": wall_utc().isoformat(timespec="seconds"),
        "units": len(data.units),
        "decided": len(decided),
        "passed": passed,
        "rate": None if not decided else passed / len(decided),
        "low": low,
        "high": high,
        "by_model": table("model"),
        "by_lot": table("lot"),
        "by_bench": table("bench"),
        "failures": sorted(data.failures.items(), key=lambda kv: (-len(kv[1]), kv[0])),
        "failed_units": failed_units,
        "retest": retest,
        "plots": plots,
        "missing_plots": [k for k in KEY_QUANTITIES if not data.values.get(k.quantity)],
        "lots": data.lots,
    }


def _environment() -> Environment:
    return environment("harness.fleet", pct=lambda x: "-" if x is None else f"{100 * x:.1f} %")


def render(data: FleetData) -> str:
    return _environment().get_template("fleet_report.html.j2").render(**context(data))


def write_fleet_report(
    engine: Engine, phase: str, out_dir: Path, pdf: bool = True
) -> tuple[Path, Path | None, str | None]:
    """Write ``fleet-report.html`` (and ``.pdf``) into ``out_dir``: (html, pdf or None, why no PDF)."""
    data = gather(engine, phase)
    html = render(data)
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path = out_dir / "fleet-report.html"
    write_atomic(html_path, html)
    if not pdf:
        return html_path, None, None
    pdf_bytes, note = render_pdf(html, out_dir)
    if pdf_bytes is None:
        return html_path, None, note
    pdf_path = out_dir / "fleet-report.pdf"
    write_atomic(pdf_path, pdf_bytes)
    return html_path, pdf_path, None
