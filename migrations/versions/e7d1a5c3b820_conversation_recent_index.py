"""conversation (tenant_id, last_message_at, id): newest conversations per tenant by index

Revision ID: e7d1a5c3b820
Revises: d4a7e0c2b915
Create Date: 2026-12-02 07:50:00

"""
from alembic import op


revision = 'e7d1a5c3b820'
down_revision = 'd4a7e0c2b915'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.create_index('ix_conversation_tenant_last_message',
                              ['tenant_id', 'last_message_at', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.drop_index('ix_conversation_tenant_last_message')
