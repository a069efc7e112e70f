"""Results database, first schema: unit, run, scenario results, measurements, evidence hashes, lots.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("product", sa.String(length=200), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("aql", sa.String(length=20), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("production_steady", sa.Boolean(), nullable=False),
        sa.Column("reduced_approved", sa.Boolean(), nullable=False),
        sa.Column("registered_utc", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    with op.batch_alter_table("lot", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lot_product"), ["product"], unique=False)

    op.create_table(
        "unit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vendor", sa.String(length=200), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("serial", sa.String(length=200), nullable=False),
        sa.Column("lot", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("vendor", "model", "serial", name="uq_unit_identity"),
    )
    with op.batch_alter_table("unit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_unit_lot"), ["lot"], unique=False)

    op.create_table(
        "run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_key", sa.String(length=64), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("phase", sa.String(length=200), nullable=False),
        sa.Column("profile", sa.String(length=200), nullable=True),
        sa.Column("firmware", sa.String(length=200), nullable=True),
        sa.Column("rig", sa.String(length=200), nullable=True),
        sa.Column("rig_kind", sa.String(length=50), nullable=True),
        sa.Column("bench", sa.String(length=200), nullable=True),
        sa.Column("operator", sa.String(length=200), nullable=True),
        sa.Column("lot", sa.String(length=200), nullable=True),
        sa.Column("harness_version", sa.String(length=100), nullable=True),
        sa.Column("catalogue_sha256", sa.String(length=64), nullable=True),
        sa.Column("catalogue_path", sa.Text(), nullable=True),
        sa.Column("calibration", sa.JSON(), nullable=True),
        sa.Column("start_utc", sa.String(length=40), nullable=False),
        sa.Column("end_utc", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=200), nullable=False),
        sa.Column("verdict", sa.String(length=20), nullable=False),
        sa.Column("faults", sa.JSON(), nullable=False),
        sa.Column("record_sha256", sa.String(length=64), nullable=False),
        sa.Column("run_dir", sa.Text(), nullable=True),
        sa.Column("host", sa.String(length=200), nullable=True),
        sa.Column("stored_utc", sa.String(length=40), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["unit.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_key"),
    )
    with op.batch_alter_table("run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_run_bench"), ["bench"], unique=False)
        batch_op.create_index(batch_op.f("ix_run_lot"), ["lot"], unique=False)
        batch_op.create_index(batch_op.f("ix_run_unit_id"), ["unit_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_run_verdict"), ["verdict"], unique=False)

    op.create_table(
        "scenario_result",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("scenario", sa.String(length=200), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("verdict", sa.String(length=20), nullable=False),
        sa.Column("requirements", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("notes", sa.JSON(), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("scenario_result", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scenario_result_run_id"), ["run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_scenario_result_scenario"), ["scenario"], unique=False)

    op.create_table(
        "evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scenario_result_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["scenario_result_id"], ["scenario_result.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evidence_run_id"), ["run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_evidence_scenario_result_id"), ["scenario_result_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_evidence_sha256"), ["sha256"], unique=False)

    op.create_table(
        "measurement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scenario_result_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("quantity", sa.String(length=200), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("unit", sa.String(length=50), nullable=False),
        sa.Column("low", sa.Float(), nullable=True),
        sa.Column("high", sa.Float(), nullable=True),
        sa.Column("outcome", sa.String(length=30), nullable=False),
        sa.Column("requirement", sa.String(length=100), nullable=False),
        sa.Column("not_measurable", sa.Text(), nullable=True),
        sa.Column("calibration_id", sa.String(length=200), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["scenario_result_id"], ["scenario_result.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("measurement", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_measurement_quantity"), ["quantity"], unique=False)
        batch_op.create_index("ix_measurement_requirement_outcome", ["requirement", "outcome"], unique=False)
        batch_op.create_index(batch_op.f("ix_measurement_run_id"), ["run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_measurement_scenario_result_id"), ["scenario_result_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("measurement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_measurement_scenario_result_id"))
        batch_op.drop_index(batch_op.f("ix_measurement_run_id"))
        batch_op.drop_index("ix_measurement_requirement_outcome")
        batch_op.drop_index(batch_op.f("ix_measurement_quantity"))

    op.drop_table("measurement")
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_sha256"))
        batch_op.drop_index(batch_op.f("ix_evidence_scenario_result_id"))
        batch_op.drop_index(batch_op.f("ix_evidence_run_id"))

    op.drop_table("evidence")
    with op.batch_alter_table("scenario_result", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scenario_result_scenario"))
        batch_op.drop_index(batch_op.f("ix_scenario_result_run_id"))

    op.drop_table("scenario_result")
    with op.batch_alter_table("run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_run_verdict"))
        batch_op.drop_index(batch_op.f("ix_run_unit_id"))
        batch_op.drop_index(batch_op.f("ix_run_lot"))
        batch_op.drop_index(batch_op.f("ix_run_bench"))

    op.drop_table("run")
    with op.batch_alter_table("unit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unit_lot"))

    op.drop_table("unit")
    with op.batch_alter_table("lot", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lot_product"))

    op.drop_table("lot")
