"""channel connections: how and by whom a channel was connected, its health, WhatsApp
templates per language, and Meta's data-deletion requests

Revision ID: e5c0a7d3b912
Revises: d4a1b2c3e5f6
Create Date: 2026-12-02 07:05:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'e5c0a7d3b912'
down_revision = 'd4a1b2c3e5f6'
branch_labels = None
depends_on = None

CHANNEL_COLUMNS = [
    ('connected_via', sa.String(length=32)),
    ('connected_meta_user_id', sa.String(length=64)),
    ('page_id', sa.String(length=64)),
    ('waba_id', sa.String(length=64)),
    ('display_name', sa.String(length=160)),
    ('token_valid', sa.Boolean()),
    ('token_checked_at', sa.DateTime(timezone=True)),
    ('token_expires_at', sa.DateTime(timezone=True)),
    ('subscribed', sa.Boolean()),
    ('last_send_error', sa.Text()),
    ('last_send_error_at', sa.DateTime(timezone=True)),
    ('quiet_since', sa.DateTime(timezone=True)),
]


def upgrade():
    with op.batch_alter_table('channel', schema=None) as batch_op:
        for name, type_ in CHANNEL_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
        batch_op.add_column(sa.Column('connected_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_channel_connected_by_id_ab_user'), 'ab_user',
                                    ['connected_by_id'], ['id'], ondelete='SET NULL')
        batch_op.create_index(batch_op.f('ix_channel_connected_meta_user_id'),
                              ['connected_meta_user_id'], unique=False)
    with op.batch_alter_table('template', schema=None) as batch_op:
        batch_op.add_column(sa.Column('variable_count', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('external_id', sa.String(length=64), nullable=True))
        batch_op.drop_constraint('uq_template_tenant_id_platform_name', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_template_tenant_id_platform_name_language'),
                                          ['tenant_id', 'platform', 'name', 'language'])
    op.create_table(
        'data_deletion_request',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('confirmation_code', sa.String(length=32), nullable=False),
        sa.Column('subject_id', sa.String(length=64), nullable=True),
        sa.Column('subject_hash', sa.String(length=64), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('customers', sa.Integer(), nullable=False),
        sa.Column('tenants', sa.Integer(), nullable=False),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_data_deletion_request')),
        sa.UniqueConstraint('confirmation_code', name=op.f('uq_data_deletion_request_confirmation_code')),
    )
    with op.batch_alter_table('data_deletion_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_data_deletion_request_subject_hash'), ['subject_hash'],
                              unique=False)


def downgrade():
    op.drop_table('data_deletion_request')
    with op.batch_alter_table('template', schema=None) as batch_op:
        batch_op.drop_constraint('uq_template_tenant_id_platform_name_language', type_='unique')
        batch_op.create_unique_constraint('uq_template_tenant_id_platform_name',
                                          ['tenant_id', 'platform', 'name'])
        batch_op.drop_column('external_id')
        batch_op.drop_column('variable_count')
    with op.batch_alter_table('channel', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_channel_connected_meta_user_id'))
        batch_op.drop_constraint('fk_channel_connected_by_id_ab_user', type_='foreignkey')
        batch_op.drop_column('connected_by_id')
        for name, _ in reversed(CHANNEL_COLUMNS):
            batch_op.drop_column(name)
