"""analytics and attribution: referrals, the campaign an ad credits, who closed the sale,
and tenant-first indexes for the aggregates

Revision ID: d4a7e0c2b915
Revises: a5e7c2d9f410
Create Date: 2026-12-02 07:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'd4a7e0c2b915'
down_revision = 'a5e7c2d9f410'
branch_labels = None
depends_on = None

PLATFORMS = ('messenger', 'instagram', 'whatsapp', 'playground')


def upgrade():
    op.create_table(
        'referral',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('conversation_id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.Integer(), nullable=True),
        sa.Column('platform', sa.Enum(*PLATFORMS, name='referral_platform', native_enum=False,
                                      create_constraint=True, length=32), nullable=False),
        sa.Column('source', sa.String(length=32), nullable=True),
        sa.Column('type', sa.String(length=32), nullable=True),
        sa.Column('ad_id', sa.String(length=64), nullable=True),
        sa.Column('ref', sa.String(length=255), nullable=True),
        sa.Column('headline', sa.String(length=255), nullable=True),
        sa.Column('source_url', sa.String(length=500), nullable=True),
        sa.Column('ctwa_clid', sa.String(length=255), nullable=True),
        sa.Column('first_touch', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id'],
                                name=op.f('fk_referral_conversation_id_conversation'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['message_id'], ['message.id'],
                                name=op.f('fk_referral_message_id_message'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'],
                                name=op.f('fk_referral_tenant_id_tenant'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_referral')),
    )
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_message_id'), ['message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_tenant_id'), ['tenant_id'], unique=False)

    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ad_ids', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('ref', sa.String(length=120), nullable=True))

    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('referral_source', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('ad_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('referral_ref', sa.String(length=255), nullable=True))
        batch_op.create_index('ix_conversation_tenant_created', ['tenant_id', 'created_at'], unique=False,
                              postgresql_include=['channel_id', 'campaign_id', 'lead_score', 'sentiment', 'ad_id'])
        batch_op.create_index('ix_conversation_tenant_ad', ['tenant_id', 'ad_id'], unique=False)

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('closed_by_sender', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('closed_by_user_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(op.f('fk_orders_closed_by_user_id_ab_user'), 'ab_user',
                                    ['closed_by_user_id'], ['id'], ondelete='SET NULL')
        batch_op.create_index('ix_orders_tenant_paid', ['tenant_id', 'paid_at'], unique=False,
                              postgresql_include=['status', 'total_minor', 'closed_by_sender', 'campaign_id',
                                                  'conversation_id'])
        batch_op.create_index('ix_orders_tenant_created', ['tenant_id', 'created_at'], unique=False)

    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.create_index('ix_message_tenant_created', ['tenant_id', 'created_at'], unique=False,
                              postgresql_include=['direction', 'sender', 'status', 'conversation_id',
                                                  'channel_id'])
        batch_op.drop_index('ix_message_conversation_created')
        batch_op.create_index('ix_message_conversation_created', ['conversation_id', 'created_at'],
                              unique=False, postgresql_include=['direction', 'sender', 'status', 'tenant_id'])


def downgrade():
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_index('ix_message_conversation_created')
        batch_op.create_index('ix_message_conversation_created', ['conversation_id', 'created_at'], unique=False)
        batch_op.drop_index('ix_message_tenant_created')

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_tenant_created')
        batch_op.drop_index('ix_orders_tenant_paid')
        batch_op.drop_constraint(op.f('fk_orders_closed_by_user_id_ab_user'), type_='foreignkey')
        batch_op.drop_column('closed_by_user_id')
        batch_op.drop_column('closed_by_sender')

    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.drop_index('ix_conversation_tenant_ad')
        batch_op.drop_index('ix_conversation_tenant_created')
        batch_op.drop_column('referral_ref')
        batch_op.drop_column('ad_id')
        batch_op.drop_column('referral_source')

    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.drop_column('ref')
        batch_op.drop_column('ad_ids')

    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_referral_message_id'))
        batch_op.drop_index(batch_op.f('ix_referral_conversation_id'))
    op.drop_table('referral')
