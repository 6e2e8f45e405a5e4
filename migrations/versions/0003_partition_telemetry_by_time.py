"""On PostgreSQL, telemetry tables partitioned by event time (monthly), with a default partition.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

Partitions ahead of time come from ``wasteflow maintain``; the default partition catches
anything outside them, so an insert never fails for want of a partition. SQLite keeps
plain tables.
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = ("gps_fix", "load_reading")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} RENAME TO {table}_unpartitioned")
        op.execute(f"ALTER INDEX {table}_pkey RENAME TO {table}_unpartitioned_pkey")
        op.execute(f"CREATE TABLE {table} (LIKE {table}_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS) "
                   f"PARTITION BY RANGE (ts)")
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY (device_id, ts, seq)")
        op.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
        op.execute(f"INSERT INTO {table} SELECT * FROM {table}_unpartitioned")
        op.execute(f"DROP TABLE {table}_unpartitioned")
    op.execute("CREATE INDEX ix_gps_fix_received_at ON gps_fix (received_at)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"CREATE TABLE {table}_plain (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
        op.execute(f"INSERT INTO {table}_plain SELECT * FROM {table}")
        op.execute(f"DROP TABLE {table} CASCADE")
        op.execute(f"ALTER TABLE {table}_plain RENAME TO {table}")
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY (device_id, ts, seq)")
    op.execute("CREATE INDEX ix_gps_fix_received_at ON gps_fix (received_at)")
