"""order refund requests: staff ask for a refund, an owner executes it

Revision ID: c3d8e1f2a4b6
Revises: c3d9e1f27a10
Create Date: 2026-12-02 05:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'c3d8e1f2a4b6'
down_revision = 'c3d9e1f27a10'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refund_requested_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('refund_requested_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('refund_request_reason', sa.Text(), nullable=True))
        batch_op.create_foreign_key(op.f('fk_orders_refund_requested_by_id_ab_user'), 'ab_user',
                                    ['refund_requested_by_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('fk_orders_refund_requested_by_id_ab_user'), type_='foreignkey')
        batch_op.drop_column('refund_request_reason')
        batch_op.drop_column('refund_requested_by_id')
        batch_op.drop_column('refund_requested_at')
