"""segments and broadcasts: saved customer filters, WhatsApp broadcasts and their recipients

Revision ID: d4a1b2c3e5f6
Revises: c3d9a1f7e205
Create Date: 2026-12-02 06:53:44.752378

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd4a1b2c3e5f6'
down_revision = 'c3d9a1f7e205'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('segment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('filters', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_segment_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_segment')),
    sa.UniqueConstraint('tenant_id', 'name', name=op.f('uq_segment_tenant_id_name'))
    )
    with op.batch_alter_table('segment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_segment_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('broadcast',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('segment_id', sa.Integer(), nullable=True),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=True),
    sa.Column('variables', sa.JSON(), nullable=False),
    sa.Column('per_second', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('sending', 'done', 'cancelled', name='broadcast_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['channel_id'], ['channel.id'], name=op.f('fk_broadcast_channel_id_channel'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['ab_user.id'], name=op.f('fk_broadcast_created_by_id_ab_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['segment_id'], ['segment.id'], name=op.f('fk_broadcast_segment_id_segment'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['template_id'], ['template.id'], name=op.f('fk_broadcast_template_id_template'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_broadcast_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_broadcast'))
    )
    with op.batch_alter_table('broadcast', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_broadcast_channel_id'), ['channel_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_broadcast_segment_id'), ['segment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_broadcast_template_id'), ['template_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_broadcast_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('broadcast_recipient',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('broadcast_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('pending', 'queued', 'skipped', name='recipient_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['broadcast_id'], ['broadcast.id'], name=op.f('fk_broadcast_recipient_broadcast_id_broadcast'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_broadcast_recipient_customer_id_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], name=op.f('fk_broadcast_recipient_message_id_message'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_broadcast_recipient_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_broadcast_recipient')),
    sa.UniqueConstraint('broadcast_id', 'customer_id', name=op.f('uq_broadcast_recipient_broadcast_id_customer_id'))
    )
    with op.batch_alter_table('broadcast_recipient', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_broadcast_recipient_broadcast_id'), ['broadcast_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_broadcast_recipient_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_broadcast_recipient_tenant_id'), ['tenant_id'], unique=False)



def downgrade():
    with op.batch_alter_table('broadcast_recipient', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_broadcast_recipient_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_broadcast_recipient_customer_id'))
        batch_op.drop_index(batch_op.f('ix_broadcast_recipient_broadcast_id'))

    op.drop_table('broadcast_recipient')
    with op.batch_alter_table('broadcast', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_broadcast_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_broadcast_template_id'))
        batch_op.drop_index(batch_op.f('ix_broadcast_segment_id'))
        batch_op.drop_index(batch_op.f('ix_broadcast_channel_id'))

    op.drop_table('broadcast')
    with op.batch_alter_table('segment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_segment_tenant_id'))

    op.drop_table('segment')
