"""webhook deliveries: outcome and attempts

A delivery that can't be parsed is stored as unprocessable, one that keeps failing is parked
after a bounded number of attempts; the sweep re-queues neither.

Revision ID: c3d9e1f27a10
Revises: b7e2c4d1a9f0
Create Date: 2026-12-02 05:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'c3d9e1f27a10'
down_revision = 'b7e2c4d1a9f0'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('webhook_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=16), nullable=False,
                                      server_default='pending'))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
    # Deliveries already processed before outcomes were recorded.
    op.execute("UPDATE webhook_event SET status = 'processed' WHERE processed_at IS NOT NULL")
    with op.batch_alter_table('payment_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))


def downgrade():
    with op.batch_alter_table('payment_event', schema=None) as batch_op:
        batch_op.drop_column('attempts')
    with op.batch_alter_table('webhook_event', schema=None) as batch_op:
        batch_op.drop_column('attempts')
        batch_op.drop_column('status')
