"""Zones carry a region (api.md): a regulator draws them only within its regions, and they feed
detection only for manifests of that region (issue 12 item 9).

Revision ID: zone_region
Revises: device_secrets_sealed
Create Date: 2026-11-30

Existing zones take their regulator's first region prefix; a zone without a regulator (drawn by
the administrator) keeps an empty region, which covers every region.
"""
import json

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "zone_region"
down_revision = "device_secrets_sealed"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("zone", schema=None) as batch_op:
        batch_op.add_column(sa.Column("region_code", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False,
                                      server_default=""))
        batch_op.create_index(batch_op.f("ix_zone_region_code"), ["region_code"], unique=False)
    conn = op.get_bind()
    regions = {row.id: row.regions for row in conn.execute(sa.text("SELECT id, regions FROM regulator"))}
    for zone in conn.execute(sa.text("SELECT id, regulator_id FROM zone WHERE regulator_id IS NOT NULL")).all():
        prefixes = regions.get(zone.regulator_id) or []
        if isinstance(prefixes, str):
            prefixes = json.loads(prefixes)
        if prefixes:
            conn.execute(sa.text("UPDATE zone SET region_code = :r WHERE id = :i"), {"r": prefixes[0], "i": zone.id})


def downgrade() -> None:
    with op.batch_alter_table("zone", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_zone_region_code"))
        batch_op.drop_column("region_code")
