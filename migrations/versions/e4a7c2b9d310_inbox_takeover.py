"""inbox: the agent steps back when a person speaks, disclosure, notes and canned replies

Revision ID: e4a7c2b9d310
Revises: e7d1a5c3b820
Create Date: 2026-12-02 07:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'e4a7c2b9d310'
down_revision = 'e7d1a5c3b820'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('human_pause_minutes', sa.Integer(), nullable=False,
                                      server_default='30'))
        # A plain-string default: an SQL expression here would make SQLite's batch mode rebuild
        # the tenant table, and dropping the old one cascades to every tenant row.
        batch_op.add_column(sa.Column('ai_disclosure', sa.Boolean(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('ai_disclosure_text', sa.Text(), nullable=True))
    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('paused_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('taken_over_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('takeover_seq', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('last_staff_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('agent_last_seen_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        'conversation_note',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('conversation_id', sa.Integer(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=True),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['author_id'], ['ab_user.id'],
                                name=op.f('fk_conversation_note_author_id_ab_user'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id'],
                                name=op.f('fk_conversation_note_conversation_id_conversation'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'],
                                name=op.f('fk_conversation_note_tenant_id_tenant'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_conversation_note')),
    )
    with op.batch_alter_table('conversation_note', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conversation_note_conversation_id'), ['conversation_id'])
        batch_op.create_index(batch_op.f('ix_conversation_note_tenant_id'), ['tenant_id'])
    op.create_table(
        'canned_reply',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('shortcut', sa.String(length=64), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'],
                                name=op.f('fk_canned_reply_tenant_id_tenant'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_canned_reply')),
        sa.UniqueConstraint('tenant_id', 'shortcut', name=op.f('uq_canned_reply_tenant_id_shortcut')),
    )
    with op.batch_alter_table('canned_reply', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_canned_reply_tenant_id'), ['tenant_id'])


def downgrade():
    with op.batch_alter_table('canned_reply', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_canned_reply_tenant_id'))
    op.drop_table('canned_reply')
    with op.batch_alter_table('conversation_note', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversation_note_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_conversation_note_conversation_id'))
    op.drop_table('conversation_note')
    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.drop_column('agent_last_seen_at')
        batch_op.drop_column('last_staff_at')
        batch_op.drop_column('takeover_seq')
        batch_op.drop_column('taken_over_at')
        batch_op.drop_column('paused_until')
    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.drop_column('ai_disclosure_text')
        batch_op.drop_column('ai_disclosure')
        batch_op.drop_column('human_pause_minutes')
