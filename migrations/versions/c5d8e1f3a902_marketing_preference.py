"""customer: marketing messages stopped in WhatsApp's settings; conversation: pauses by their end

Revision ID: c5d8e1f3a902
Revises: b9e4d2a7c630
Create Date: 2026-12-02 14:00:00

WhatsApp's user_preferences webhook says a customer stopped (or resumed) marketing messages
from the business; broadcasts of marketing templates skip them. It is not an opt-out of the
chat (the AI still answers them), hence a flag of its own. The index on paused_until serves
the sweep, which makes up the job at a pause's end that a lost queue dropped.
"""
from alembic import op
import sqlalchemy as sa


revision = 'c5d8e1f3a902'
down_revision = 'b9e4d2a7c630'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('customer') as batch:
        batch.add_column(sa.Column('marketing_opted_out', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column('marketing_pref_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_conversation_paused_until', 'conversation', ['paused_until'])


def downgrade():
    op.drop_index('ix_conversation_paused_until', table_name='conversation')
    with op.batch_alter_table('customer') as batch:
        batch.drop_column('marketing_pref_at')
        batch.drop_column('marketing_opted_out')
