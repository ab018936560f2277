"""conversation: first inbound, first reply and re-engagement stored for the analytics cohort

Revision ID: b9e4d2a7c630
Revises: f2c8a4d6b317
Create Date: 2026-12-02 12:40:00

The three moments are derived from the messages (app.services.conversation_facts keeps them on
every flush); the backfill computes them for every existing conversation with the same SQL.
The cohort index carries them and the conversation's id (which its orders are looked up by), so
a range's cohort is read from the index alone: conversations started on one day lie all over
the table, and fetching 25,000 of them from it cost more than the facts saved.
"""
from alembic import op
import sqlalchemy as sa


revision = 'b9e4d2a7c630'
down_revision = 'f2c8a4d6b317'
branch_labels = None
depends_on = None

INCLUDE = ['channel_id', 'campaign_id', 'lead_score', 'sentiment', 'ad_id']
FACTS = ['first_inbound_at', 'first_reply_at', 'engaged_at']

# The facts of app.services.conversation_facts.fact_values, frozen here (a migration
# must not change with the app's code).
BACKFILL = """
UPDATE conversation SET
  first_inbound_at = (SELECT m.created_at FROM message m
                      WHERE m.conversation_id = conversation.id
                        AND m.direction = 'in'
                      ORDER BY m.created_at LIMIT 1),
  first_reply_at = (SELECT m.created_at FROM message m
                    WHERE m.conversation_id = conversation.id
                      AND m.direction = 'out' AND m.sender IN ('ai', 'agent')
                      AND m.status IN ('sent', 'delivered', 'read')
                      AND m.created_at >= (SELECT f.created_at FROM message f
                                           WHERE f.conversation_id = conversation.id AND f.direction = 'in'
                                           ORDER BY f.created_at LIMIT 1)
                    ORDER BY m.created_at LIMIT 1)
"""
ENGAGED = """
UPDATE conversation SET
  engaged_at = (SELECT m.created_at FROM message m
                WHERE m.conversation_id = conversation.id
                  AND m.direction = 'in' AND m.created_at > conversation.first_reply_at
                ORDER BY m.created_at LIMIT 1)
WHERE first_reply_at IS NOT NULL
"""


def upgrade():
    # Plain ALTER TABLE ADD COLUMN on both databases: a batch rebuild of conversation on SQLite
    # would drop the old table, and ON DELETE CASCADE would take its messages along.
    for name in FACTS:
        op.add_column('conversation', sa.Column(name, sa.DateTime(timezone=True), nullable=True))
    op.execute(BACKFILL)
    op.execute(ENGAGED)
    op.drop_index('ix_conversation_tenant_created', table_name='conversation')
    op.create_index('ix_conversation_tenant_created', 'conversation', ['tenant_id', 'created_at'],
                    unique=False, postgresql_include=INCLUDE + FACTS + ['id'])
    # The cohort's orders (placed since the range began: which conversations ordered, which paid)
    # from the index alone too.
    op.drop_index('ix_orders_tenant_created', table_name='orders')
    op.create_index('ix_orders_tenant_created', 'orders', ['tenant_id', 'created_at'], unique=False,
                    postgresql_include=['conversation_id', 'status'])


def downgrade():
    op.drop_index('ix_orders_tenant_created', table_name='orders')
    op.create_index('ix_orders_tenant_created', 'orders', ['tenant_id', 'created_at'], unique=False)
    op.drop_index('ix_conversation_tenant_created', table_name='conversation')
    op.create_index('ix_conversation_tenant_created', 'conversation', ['tenant_id', 'created_at'],
                    unique=False, postgresql_include=INCLUDE)
    for name in reversed(FACTS):
        op.drop_column('conversation', name)
