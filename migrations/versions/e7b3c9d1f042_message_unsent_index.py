"""message: an index for the sweep's replies still QUEUED (it runs every few seconds)

Revision ID: e7b3c9d1f042
Revises: cea945b5c010
Create Date: 2026-12-02 08:20:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'e7b3c9d1f042'
down_revision = 'cea945b5c010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.create_index('ix_message_unsent', ['status', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_index('ix_message_unsent')
