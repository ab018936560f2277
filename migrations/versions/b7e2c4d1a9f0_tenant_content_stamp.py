"""tenant content stamp: replies cache the tenant's content until it changes

Revision ID: b7e2c4d1a9f0
Revises: 01a74eaa5d7c
Create Date: 2026-11-30 19:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'b7e2c4d1a9f0'
down_revision = '01a74eaa5d7c'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('content_stamp', sa.String(length=32), nullable=False,
                                      server_default='initial'))


def downgrade():
    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.drop_column('content_stamp')
