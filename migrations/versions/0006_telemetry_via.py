"""Readings that came through a gateway say so: ``via`` on fixes, load readings and weigh tickets,
and the terminal's own words (alarm and status words, mileage, signal, satellites, load state)
as ``attrs`` on fixes.

Revision ID: telemetry_via
Revises: jt808_devices
Create Date: 2026-11-27

On PostgreSQL ``gps_fix`` and ``load_reading`` are partitioned (0003): a column added to the
partitioned table reaches every partition. Both columns are nullable, so adding them rewrites
nothing.
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "telemetry_via"
down_revision = "jt808_devices"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("gps_fix", schema=None) as batch_op:
        batch_op.add_column(sa.Column("via", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch_op.add_column(sa.Column("attrs", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True))
    for table in ("load_reading", "weigh_ticket"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("via", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))


def downgrade() -> None:
    for table in ("weigh_ticket", "load_reading", "gps_fix"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("via")
    with op.batch_alter_table("gps_fix", schema=None) as batch_op:
        batch_op.drop_column("attrs")
