"""Fixes indexed by position, then time: dump-site forensics reads the fixes in a bounding box
around the dump (latitude band, longitude range, period) without scanning a month of telemetry.

Revision ID: fix_position_index
Revises: ledger_content_digest
Create Date: 2026-11-30

On PostgreSQL ``gps_fix`` is partitioned (0003): an index created on the partitioned table is
created on every partition, present and future. A B-tree on (lat, lon, ts) serves both databases;
the exact distance is checked after the prefilter.
"""
from alembic import op

revision = "fix_position_index"
down_revision = "ledger_content_digest"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_gps_fix_position", "gps_fix", ["lat", "lon", "ts"])


def downgrade() -> None:
    op.drop_index("ix_gps_fix_position", table_name="gps_fix")
