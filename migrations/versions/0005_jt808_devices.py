"""JT/T 808 terminals in the registry: the protocol, the terminal id (phone number), the vendor load item.

Revision ID: jt808_devices
Revises: workflow
Create Date: 2026-11-27

``terminal_id`` is stored without leading zeros (so a terminal switched from 2013's 12
BCD digits to 2019's 20 is still itself) and is unique among devices.
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision = "jt808_devices"
down_revision = "workflow"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.add_column(sa.Column("protocol", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch_op.add_column(sa.Column("terminal_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True))
        batch_op.add_column(sa.Column("load_item", JSON, nullable=True))
        batch_op.create_index(batch_op.f("ix_device_terminal_id"), ["terminal_id"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_terminal_id"))
        batch_op.drop_column("load_item")
        batch_op.drop_column("terminal_id")
        batch_op.drop_column("protocol")
