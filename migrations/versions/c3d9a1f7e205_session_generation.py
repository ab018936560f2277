"""session generation: logging out or changing the password ends the user's other sessions

Revision ID: c3d9a1f7e205
Revises: c3d8e1f2a4b6
Create Date: 2026-12-02 04:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'c3d9a1f7e205'
down_revision = 'c3d8e1f2a4b6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'session_generation',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('generation', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id'),
    )


def downgrade():
    op.drop_table('session_generation')
