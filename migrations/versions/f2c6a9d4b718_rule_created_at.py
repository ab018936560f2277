"""automation_rule.created_at: the sweep makes up lost no_reply checks only for quiet spells
that began after their rule existed

Revision ID: f2c6a9d4b718
Revises: e7b3c9d1f042
Create Date: 2026-12-02 12:40:00

"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op


revision = 'f2c6a9d4b718'
down_revision = 'e7b3c9d1f042'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('automation_rule', schema=None) as batch_op:
        batch_op.add_column(sa.Column('created_at', sa.DateTime(timezone=True), nullable=True))
    # Rules made before now date from now: no quiet spell already under way is made up for them.
    rule = sa.table('automation_rule', sa.column('created_at', sa.DateTime(timezone=True)))
    op.execute(rule.update().values(created_at=datetime.now(timezone.utc)))


def downgrade():
    with op.batch_alter_table('automation_rule', schema=None) as batch_op:
        batch_op.drop_column('created_at')
