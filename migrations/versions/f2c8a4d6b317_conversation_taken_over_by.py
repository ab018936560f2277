"""conversation: who took over, paused the agent or replied (shown in the conversation API)

Revision ID: f2c8a4d6b317
Revises: f2c6a9d4b718
Create Date: 2026-12-02 12:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'f2c8a4d6b317'
down_revision = 'f2c6a9d4b718'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('taken_over_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(op.f('fk_conversation_taken_over_by_id_ab_user'), 'ab_user',
                                    ['taken_over_by_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('fk_conversation_taken_over_by_id_ab_user'), type_='foreignkey')
        batch_op.drop_column('taken_over_by_id')
