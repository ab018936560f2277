"""workflows: triggers and actions of the rules engine, rule steps, rule runs, follow-ups

first_message rules become new_conversation rules (same meaning, the issue's name).

Revision ID: cea945b5c010
Revises: d4e1a7c0b9f2
Create Date: 2026-12-02 06:54:36.646245

"""
from alembic import op
import sqlalchemy as sa

OLD_TRIGGERS = ('keyword', 'first_message', 'outside_hours')
NEW_TRIGGERS = ('keyword', 'new_conversation', 'order_intent', 'no_reply', 'order_paid',
                'order_shipped', 'outside_hours')
OLD_ACTIONS = ('reply', 'handoff', 'tag', 'opt_out')
NEW_ACTIONS = ('reply', 'ai_reply', 'send_catalog', 'tag', 'assign', 'create_order', 'follow_up',
               'handoff', 'opt_out')


def _in(column: str, values: tuple) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _swap_checks(triggers: tuple, actions: tuple, renames: dict) -> None:
    """Replace the CHECKs of automation_rule's trigger/action columns, renaming values between."""
    with op.batch_alter_table('automation_rule', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_automation_rule_rule_trigger'), type_='check')
        batch_op.drop_constraint(op.f('ck_automation_rule_rule_action'), type_='check')
    for old, new in renames.items():
        op.execute(f"UPDATE automation_rule SET \"trigger\" = '{new}' WHERE \"trigger\" = '{old}'")
    with op.batch_alter_table('automation_rule', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_automation_rule_rule_trigger'), _in('"trigger"', triggers))
        batch_op.create_check_constraint(op.f('ck_automation_rule_rule_action'), _in('action', actions))


# revision identifiers, used by Alembic.
revision = 'cea945b5c010'
down_revision = 'd4e1a7c0b9f2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('rule_step',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('action', sa.Enum('reply', 'ai_reply', 'send_catalog', 'tag', 'assign', 'create_order', 'follow_up', 'handoff', 'opt_out', name='step_action', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('response', sa.Text(), nullable=True),
    sa.Column('template_id', sa.Integer(), nullable=True),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('category_id', sa.Integer(), nullable=True),
    sa.Column('delay_hours', sa.Float(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['assignee_id'], ['ab_user.id'], name=op.f('fk_rule_step_assignee_id_ab_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['category_id'], ['category.id'], name=op.f('fk_rule_step_category_id_category'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['rule_id'], ['automation_rule.id'], name=op.f('fk_rule_step_rule_id_automation_rule'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['template_id'], ['template.id'], name=op.f('fk_rule_step_template_id_template'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_rule_step_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rule_step'))
    )
    with op.batch_alter_table('rule_step', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rule_step_category_id'), ['category_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rule_step_rule_id'), ['rule_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rule_step_template_id'), ['template_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rule_step_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('follow_up',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=True),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('template_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('scheduled', 'sent', 'dropped', name='follow_up_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('basis_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id'], name=op.f('fk_follow_up_conversation_id_conversation'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], name=op.f('fk_follow_up_message_id_message'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_follow_up_order_id_orders'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['rule_id'], ['automation_rule.id'], name=op.f('fk_follow_up_rule_id_automation_rule'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['template_id'], ['template.id'], name=op.f('fk_follow_up_template_id_template'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_follow_up_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follow_up'))
    )
    with op.batch_alter_table('follow_up', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_follow_up_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index('ix_follow_up_due', ['status', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_follow_up_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_follow_up_rule_id'), ['rule_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_follow_up_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('rule_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=True),
    sa.Column('rule_name', sa.String(length=120), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('trigger', sa.String(length=32), nullable=False),
    sa.Column('event', sa.String(length=64), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('actions', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id'], name=op.f('fk_rule_run_conversation_id_conversation'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], name=op.f('fk_rule_run_message_id_message'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_rule_run_order_id_orders'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['rule_id'], ['automation_rule.id'], name=op.f('fk_rule_run_rule_id_automation_rule'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_rule_run_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rule_run')),
    sa.UniqueConstraint('rule_id', 'conversation_id', 'event', name=op.f('uq_rule_run_rule_id_conversation_id_event'))
    )
    with op.batch_alter_table('rule_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rule_run_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rule_run_rule_id'), ['rule_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rule_run_tenant_id'), ['tenant_id'], unique=False)

    with op.batch_alter_table('automation_rule', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assignee_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('category_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('delay_hours', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('platform', sa.Enum('messenger', 'instagram', 'whatsapp', 'all', name='rule_platform', native_enum=False, create_constraint=True, length=32), nullable=True))
        batch_op.add_column(sa.Column('campaign_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('customer_tag', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('hours', sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f('ix_automation_rule_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_automation_rule_category_id'), ['category_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_automation_rule_category_id_category'), 'category', ['category_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_automation_rule_campaign_id_campaign'), 'campaign', ['campaign_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_automation_rule_assignee_id_ab_user'), 'ab_user', ['assignee_id'], ['id'], ondelete='SET NULL')

    _swap_checks(NEW_TRIGGERS, NEW_ACTIONS, {'first_message': 'new_conversation'})


def downgrade():
    # Rules whose trigger or action the old schema can't express are removed with it.
    kept = _in('"trigger"', OLD_TRIGGERS + ('new_conversation',))
    op.execute(f"DELETE FROM automation_rule WHERE NOT ({_in('action', OLD_ACTIONS)}) OR NOT ({kept})")
    _swap_checks(OLD_TRIGGERS, OLD_ACTIONS, {'new_conversation': 'first_message'})
    with op.batch_alter_table('automation_rule', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_automation_rule_assignee_id_ab_user'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_automation_rule_campaign_id_campaign'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_automation_rule_category_id_category'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_automation_rule_category_id'))
        batch_op.drop_index(batch_op.f('ix_automation_rule_campaign_id'))
        batch_op.drop_column('hours')
        batch_op.drop_column('customer_tag')
        batch_op.drop_column('campaign_id')
        batch_op.drop_constraint(op.f('ck_automation_rule_rule_platform'), type_='check')
        batch_op.drop_column('platform')
        batch_op.drop_column('delay_hours')
        batch_op.drop_column('category_id')
        batch_op.drop_column('assignee_id')

    with op.batch_alter_table('rule_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rule_run_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_rule_run_rule_id'))
        batch_op.drop_index(batch_op.f('ix_rule_run_conversation_id'))

    op.drop_table('rule_run')
    with op.batch_alter_table('follow_up', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_follow_up_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_follow_up_rule_id'))
        batch_op.drop_index(batch_op.f('ix_follow_up_order_id'))
        batch_op.drop_index('ix_follow_up_due')
        batch_op.drop_index(batch_op.f('ix_follow_up_conversation_id'))

    op.drop_table('follow_up')
    with op.batch_alter_table('rule_step', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rule_step_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_rule_step_template_id'))
        batch_op.drop_index(batch_op.f('ix_rule_step_rule_id'))
        batch_op.drop_index(batch_op.f('ix_rule_step_category_id'))

    op.drop_table('rule_step')
