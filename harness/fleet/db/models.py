"""The tables of the results database (SQLAlchemy 2 declarative mapping).

One row per run (a ``bwc certify`` of one unit), per unit (vendor, model, serial), per scenario
result, per measurement and per evidence file, and one per lot registered for sampling. Fields a
newer record adds (uncertainty, calibration) are kept in each row's ``extra`` JSON until a
migration gives them a column, so a newer harness never loses data in an older database.

The schema is created and evolved only by the Alembic migrations in ``migrations/``; a test checks
that they and these classes agree.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    """The results database's tables."""


class Unit(Base):
    """One camera, known by vendor, model and serial; ``lot`` is the lot of its latest run that named one."""

    __tablename__ = "unit"
    __table_args__ = (UniqueConstraint("vendor", "model", "serial", name="uq_unit_identity"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    vendor: Mapped[str] = mapped_column(String(200))
    model: Mapped[str] = mapped_column(String(200))
    serial: Mapped[str] = mapped_column(String(200))
    lot: Mapped[str | None] = mapped_column(String(200), index=True)

    runs: Mapped[list[Run]] = relationship(back_populates="unit")


class Run(Base):
    """One run of the suite on one unit, as its record.json says, plus who ran it where.

    ``run_key`` is derived from the record (start time, rig, run id, unit), so importing the same
    run folder again updates this row instead of adding one. ``verdict`` sums up the scenarios:
    fail (any scenario failed), error, pass, none (nothing ran), or interrupted (the run did not
    finish and nothing failed so far).
    """

    __tablename__ = "run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_key: Mapped[str] = mapped_column(String(64), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    phase: Mapped[str] = mapped_column(String(200))
    profile: Mapped[str | None] = mapped_column(String(200))
    firmware: Mapped[str | None] = mapped_column(String(200))
    rig: Mapped[str | None] = mapped_column(String(200))
    rig_kind: Mapped[str | None] = mapped_column(String(50))
    bench: Mapped[str | None] = mapped_column(String(200), index=True)
    operator: Mapped[str | None] = mapped_column(String(200))
    lot: Mapped[str | None] = mapped_column(String(200), index=True)
    harness_version: Mapped[str | None] = mapped_column(String(100))
    catalogue_sha256: Mapped[str | None] = mapped_column(String(64))
    catalogue_path: Mapped[str | None] = mapped_column(Text)
    calibration: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # instrument -> calibration id, when recorded
    start_utc: Mapped[str] = mapped_column(String(40))
    end_utc: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(200))
    verdict: Mapped[str] = mapped_column(String(20), index=True)
    faults: Mapped[list[Any]] = mapped_column(JSON)
    record_sha256: Mapped[str] = mapped_column(String(64))
    run_dir: Mapped[str | None] = mapped_column(Text)
    host: Mapped[str | None] = mapped_column(String(200))
    stored_utc: Mapped[str] = mapped_column(String(40))
    extra: Mapped[dict[str, Any]] = mapped_column(JSON)  # instruments, xdist workers, fields a newer record adds

    unit: Mapped[Unit] = relationship(back_populates="runs")
    scenarios: Mapped[list[ScenarioResult]] = relationship(
        back_populates="run", cascade="all, delete-orphan", order_by="ScenarioResult.position"
    )


class ScenarioResult(Base):
    """One scenario's test within a run."""

    __tablename__ = "scenario_result"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    scenario: Mapped[str] = mapped_column(String(200), index=True)
    title: Mapped[str] = mapped_column(Text)
    verdict: Mapped[str] = mapped_column(String(20))
    requirements: Mapped[list[Any]] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    duration_s: Mapped[float | None] = mapped_column(Float)
    notes: Mapped[list[Any] | None] = mapped_column(JSON)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON)  # timeline, artifacts, fields a newer record adds

    run: Mapped[Run] = relationship(back_populates="scenarios")
    measurements: Mapped[list[MeasurementRow]] = relationship(
        back_populates="scenario_result", cascade="all, delete-orphan", order_by="MeasurementRow.position"
    )
    evidence: Mapped[list[Evidence]] = relationship(
        back_populates="scenario_result", cascade="all, delete-orphan", order_by="Evidence.position"
    )


class MeasurementRow(Base):
    """One measurement with its limits and outcome (pass, fail, info or "not measurable")."""

    __tablename__ = "measurement"
    __table_args__ = (Index("ix_measurement_requirement_outcome", "requirement", "outcome"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scenario_result_id: Mapped[int] = mapped_column(ForeignKey("scenario_result.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[str | None] = mapped_column(String(200), index=True)  # the name without its dimensions
    value: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(50))
    low: Mapped[float | None] = mapped_column(Float)
    high: Mapped[float | None] = mapped_column(Float)
    outcome: Mapped[str] = mapped_column(String(30))
    requirement: Mapped[str] = mapped_column(String(100))
    not_measurable: Mapped[str | None] = mapped_column(Text)  # why, for an outcome of "not measurable"
    calibration_id: Mapped[str | None] = mapped_column(String(200))  # of the instrument that measured, when recorded
    extra: Mapped[dict[str, Any]] = mapped_column(JSON)  # note, dimensions, kind, uncertainty, ... as recorded

    scenario_result: Mapped[ScenarioResult] = relationship(back_populates="measurements")


class Evidence(Base):
    """An evidence file of a scenario with its SHA-256 taken at ingest."""

    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scenario_result_id: Mapped[int] = mapped_column(ForeignKey("scenario_result.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON)  # origin on the camera, as recorded

    scenario_result: Mapped[ScenarioResult] = relationship(back_populates="evidence")


class Lot(Base):
    """An incoming lot registered for sampling: its size and AQL give the plan (ISO 2859-1).

    Lots of one ``product`` form the series the switching rules follow, in the order registered
    (``id``). ``reduced_approved``: the responsible authority allows reduced inspection from this
    lot on; ``production_steady``: production is at a steady rate (both conditions of clause 9.3.3).
    ``corrective_action``: what the supplier did, for the first lot after inspection was
    discontinued (clause 9.4); inspection resumes with it, on tightened inspection.
    """

    __tablename__ = "lot"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    product: Mapped[str] = mapped_column(String(200), index=True)
    size: Mapped[int] = mapped_column(Integer)
    aql: Mapped[str] = mapped_column(String(20))
    level: Mapped[str] = mapped_column(String(10))
    production_steady: Mapped[bool] = mapped_column(Boolean)
    reduced_approved: Mapped[bool] = mapped_column(Boolean)
    registered_utc: Mapped[str] = mapped_column(String(40))
    #: the supplier's corrective action this lot follows, after inspection was discontinued (clause 9.4)
    corrective_action: Mapped[str | None] = mapped_column(Text)
