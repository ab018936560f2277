"""ai promises: what automated replies stated (prices, discounts, delivery, order numbers)

Revision ID: d4e1a7c0b9f2
Revises: e4a7c2b9d310
Create Date: 2026-12-02 06:53:36

"""
from alembic import op
import sqlalchemy as sa


revision = 'd4e1a7c0b9f2'
down_revision = 'e4a7c2b9d310'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('ai_promise',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('price', 'discount', 'delivery', 'order_number', name='promise_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('value', sa.String(length=64), nullable=True),
    sa.Column('value_minor', sa.Integer(), nullable=True),
    sa.Column('catalog_value_minor', sa.Integer(), nullable=True),
    sa.Column('product_id', sa.Integer(), nullable=True),
    sa.Column('matches', sa.Boolean(), nullable=True),
    sa.Column('checked_against', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id'], name=op.f('fk_ai_promise_conversation_id_conversation'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], name=op.f('fk_ai_promise_message_id_message'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_ai_promise_product_id_product'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_ai_promise_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ai_promise'))
    )
    with op.batch_alter_table('ai_promise', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ai_promise_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ai_promise_message_id'), ['message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ai_promise_product_id'), ['product_id'], unique=False)
        batch_op.create_index('ix_ai_promise_tenant_created', ['tenant_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ai_promise_tenant_id'), ['tenant_id'], unique=False)



def downgrade():
    with op.batch_alter_table('ai_promise', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ai_promise_tenant_id'))
        batch_op.drop_index('ix_ai_promise_tenant_created')
        batch_op.drop_index(batch_op.f('ix_ai_promise_product_id'))
        batch_op.drop_index(batch_op.f('ix_ai_promise_message_id'))
        batch_op.drop_index(batch_op.f('ix_ai_promise_conversation_id'))

    op.drop_table('ai_promise')
