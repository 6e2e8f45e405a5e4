"""The manifest workflow: legs, partial refusal and follow-ups, revisions and versions, webhooks.

Revision ID: workflow
Revises: 0003
Create Date: 2026-11-30

Existing manifests become single-leg primary manifests at version 1.
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision = 'workflow'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('webhook_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('object_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('manifest_no', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('severity', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('fanned_out', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('webhook_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_event_fanned_out'), ['fanned_out'], unique=False)

    op.create_table('webhook',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=True),
    sa.Column('regulator_id', sa.Integer(), nullable=True),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('secret', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('events', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('min_severity', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('region', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('disabled_reason', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('consecutive_failures', sa.Integer(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'], ),
    sa.ForeignKeyConstraint(['regulator_id'], ['regulator.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('webhook', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_enterprise_id'), ['enterprise_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_webhook_regulator_id'), ['regulator_id'], unique=False)

    op.create_table('webhook_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('webhook_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('object_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['webhook_event.id'], ),
    sa.ForeignKeyConstraint(['webhook_id'], ['webhook.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('webhook_id', 'event_id')
    )
    with op.batch_alter_table('webhook_delivery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_delivery_next_attempt_at'), ['next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_webhook_delivery_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_webhook_delivery_webhook_id'), ['webhook_id'], unique=False)

    op.create_table('manifest_leg',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('manifest_id', sa.Integer(), nullable=False),
    sa.Column('leg', sa.Integer(), nullable=False),
    sa.Column('transporter_id', sa.Integer(), nullable=False),
    sa.Column('vehicle_id', sa.Integer(), nullable=False),
    sa.Column('vehicle_plate', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('handed_over_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('handover_site_id', sa.Integer(), nullable=True),
    sa.Column('handover_ticket_no', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.ForeignKeyConstraint(['handover_site_id'], ['site.id'], ),
    sa.ForeignKeyConstraint(['manifest_id'], ['manifest.id'], ),
    sa.ForeignKeyConstraint(['transporter_id'], ['enterprise.id'], ),
    sa.ForeignKeyConstraint(['vehicle_id'], ['vehicle.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('manifest_id', 'leg')
    )
    with op.batch_alter_table('manifest_leg', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_manifest_leg_manifest_id'), ['manifest_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_manifest_leg_transporter_id'), ['transporter_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_manifest_leg_vehicle_id'), ['vehicle_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_manifest_leg_vehicle_plate'), ['vehicle_plate'], unique=False)

    op.create_table('manifest_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('manifest_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False, server_default='1'),
    sa.Column('values', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('replaced_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('replaced_by_revision_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['manifest_id'], ['manifest.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('manifest_id', 'version')
    )
    with op.batch_alter_table('manifest_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_manifest_version_manifest_id'), ['manifest_id'], unique=False)

    op.create_table('revision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('manifest_id', sa.Integer(), nullable=False),
    sa.Column('manifest_no', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('base_version', sa.Integer(), nullable=False),
    sa.Column('changes', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('previous', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('proposed_by', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('applied_version', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['manifest_id'], ['manifest.id'], ),
    sa.ForeignKeyConstraint(['proposed_by'], ['enterprise.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('revision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_revision_manifest_id'), ['manifest_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_revision_manifest_no'), ['manifest_no'], unique=False)
        batch_op.create_index(batch_op.f('ix_revision_status'), ['status'], unique=False)

    op.create_table('revision_approval',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('revision_id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('roles', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('decision', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'], ),
    sa.ForeignKeyConstraint(['revision_id'], ['revision.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('revision_id', 'enterprise_id')
    )
    with op.batch_alter_table('revision_approval', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_revision_approval_enterprise_id'), ['enterprise_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_revision_approval_revision_id'), ['revision_id'], unique=False)

    with op.batch_alter_table('manifest', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refused_kg', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('refusal_reason', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True))
        batch_op.add_column(sa.Column('current_leg', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('parent_manifest_no', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
        batch_op.add_column(sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False,
                                      server_default='primary'))
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
        batch_op.create_index(batch_op.f('ix_manifest_parent_manifest_no'), ['parent_manifest_no'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('manifest', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_manifest_parent_manifest_no'))
        batch_op.drop_column('version')
        batch_op.drop_column('kind')
        batch_op.drop_column('parent_manifest_no')
        batch_op.drop_column('current_leg')
        batch_op.drop_column('refusal_reason')
        batch_op.drop_column('refused_kg')

    with op.batch_alter_table('revision_approval', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_revision_approval_revision_id'))
        batch_op.drop_index(batch_op.f('ix_revision_approval_enterprise_id'))

    op.drop_table('revision_approval')
    with op.batch_alter_table('revision', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_revision_status'))
        batch_op.drop_index(batch_op.f('ix_revision_manifest_no'))
        batch_op.drop_index(batch_op.f('ix_revision_manifest_id'))

    op.drop_table('revision')
    with op.batch_alter_table('manifest_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_manifest_version_manifest_id'))

    op.drop_table('manifest_version')
    with op.batch_alter_table('manifest_leg', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_manifest_leg_vehicle_plate'))
        batch_op.drop_index(batch_op.f('ix_manifest_leg_vehicle_id'))
        batch_op.drop_index(batch_op.f('ix_manifest_leg_transporter_id'))
        batch_op.drop_index(batch_op.f('ix_manifest_leg_manifest_id'))

    op.drop_table('manifest_leg')
    with op.batch_alter_table('webhook_delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_delivery_webhook_id'))
        batch_op.drop_index(batch_op.f('ix_webhook_delivery_status'))
        batch_op.drop_index(batch_op.f('ix_webhook_delivery_next_attempt_at'))

    op.drop_table('webhook_delivery')
    with op.batch_alter_table('webhook', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_regulator_id'))
        batch_op.drop_index(batch_op.f('ix_webhook_enterprise_id'))

    op.drop_table('webhook')
    with op.batch_alter_table('webhook_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_event_fanned_out'))

    op.drop_table('webhook_event')
