"""orders: the money refunded so far (partial refunds count against revenue)

Revision ID: a7c3e9d2f514
Revises: c5d8e1f3a902
Create Date: 2026-12-02 17:20:00

Razorpay refunds an order in parts; what has gone back so far is kept on the order so the
analytics count a still-paid order at its total less its refunds. An order already refunded
had all of its total refunded. The payment-day index carries the column so the revenue
aggregates stay index-only on PostgreSQL.
"""
from alembic import op
import sqlalchemy as sa


revision = 'a7c3e9d2f514'
down_revision = 'c5d8e1f3a902'
branch_labels = None
depends_on = None

PAID_INCLUDE = ['status', 'total_minor', 'closed_by_sender', 'campaign_id', 'conversation_id']


def upgrade():
    with op.batch_alter_table('orders') as batch:
        batch.add_column(sa.Column('refunded_minor', sa.Integer(), nullable=False, server_default='0'))
    op.execute("UPDATE orders SET refunded_minor = total_minor WHERE status = 'refunded'")
    op.drop_index('ix_orders_tenant_paid', table_name='orders')
    op.create_index('ix_orders_tenant_paid', 'orders', ['tenant_id', 'paid_at'], unique=False,
                    postgresql_include=[*PAID_INCLUDE, 'refunded_minor'])


def downgrade():
    op.drop_index('ix_orders_tenant_paid', table_name='orders')
    op.create_index('ix_orders_tenant_paid', 'orders', ['tenant_id', 'paid_at'], unique=False,
                    postgresql_include=PAID_INCLUDE)
    with op.batch_alter_table('orders') as batch:
        batch.drop_column('refunded_minor')
