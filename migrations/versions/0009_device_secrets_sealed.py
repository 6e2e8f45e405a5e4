"""Device secrets sealed at rest, rotation with a grace period, devices disabled.

Revision ID: device_secrets_sealed
Revises: telemetry_via
Create Date: 2026-11-30

``device.secret`` (plain text) becomes ``device.sealed_secret``: every existing secret is sealed
under ``WASTEFLOW_SECRET_KEY`` (``wasteflow/sealing.py``; on SQLite without it, the key file
beside the database). PostgreSQL holding devices refuses the upgrade without the key, before
changing anything. ``previous_sealed_secret``/``previous_secret_until`` keep a rotated secret
for its grace period; ``disabled_at`` marks a disabled device. Downgrading opens the secrets
again into the plain column.
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

from wasteflow.sealing import is_sealed, sealer_for

revision = "device_secrets_sealed"
down_revision = "telemetry_via"
branch_labels = None
depends_on = None

device = sa.table("device", sa.column("id", sa.String), sa.column("secret", sa.String),
                  sa.column("sealed_secret", sa.String))


def _sealer():
    return sealer_for(op.get_bind().engine.url)


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(device.c.id, device.c.secret)).all()
    sealer = _sealer() if rows else None
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sealed_secret", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True))
        batch_op.add_column(sa.Column("previous_sealed_secret", sqlmodel.sql.sqltypes.AutoString(length=255),
                                      nullable=True))
        batch_op.add_column(sa.Column("previous_secret_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
    for device_id, secret in rows:
        sealed = secret if is_sealed(secret) else sealer.seal(secret, device_id)
        bind.execute(device.update().where(device.c.id == device_id).values(sealed_secret=sealed))
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.alter_column("sealed_secret", existing_type=sqlmodel.sql.sqltypes.AutoString(length=255),
                              nullable=False)
        batch_op.drop_column("secret")


def downgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(device.c.id, device.c.sealed_secret)).all()
    sealer = _sealer() if rows else None
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.add_column(sa.Column("secret", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))
    for device_id, sealed in rows:
        bind.execute(device.update().where(device.c.id == device_id).values(secret=sealer.open(sealed, device_id)))
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.alter_column("secret", existing_type=sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False)
        batch_op.drop_column("disabled_at")
        batch_op.drop_column("previous_secret_until")
        batch_op.drop_column("previous_sealed_secret")
        batch_op.drop_column("sealed_secret")
