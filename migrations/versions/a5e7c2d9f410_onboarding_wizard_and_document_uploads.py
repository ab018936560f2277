"""onboarding wizard and document uploads: step progress per tenant, files awaiting extraction

Revision ID: a5e7c2d9f410
Revises: e5c0a7d3b912
Create Date: 2026-12-02 06:53:50.701850

"""
from alembic import op
import sqlalchemy as sa



revision = 'a5e7c2d9f410'
down_revision = 'e5c0a7d3b912'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('document_upload',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.Enum('pdf', 'docx', 'txt', 'md', name='document_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('queued', 'processing', 'done', 'failed', name='upload_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('progress', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('data', sa.LargeBinary(), nullable=True),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('progress >= 0 AND progress <= 100', name=op.f('ck_document_upload_progress_percent')),
    sa.ForeignKeyConstraint(['document_id'], ['knowledge_document.id'], name=op.f('fk_document_upload_document_id_knowledge_document'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_document_upload_tenant_id_tenant'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['ab_user.id'], name=op.f('fk_document_upload_uploaded_by_id_ab_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document_upload'))
    )
    with op.batch_alter_table('document_upload', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_document_upload_document_id'), ['document_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_document_upload_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('onboarding_progress',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('profile', sa.Enum('pending', 'done', 'skipped', name='onboarding_profile', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('documents', sa.Enum('pending', 'done', 'skipped', name='onboarding_documents', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('campaign', sa.Enum('pending', 'done', 'skipped', name='onboarding_campaign', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('channel', sa.Enum('pending', 'done', 'skipped', name='onboarding_channel', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_onboarding_progress_campaign_id_campaign'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_onboarding_progress_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_onboarding_progress')),
    sa.UniqueConstraint('tenant_id', name=op.f('uq_onboarding_progress_tenant_id'))
    )
    with op.batch_alter_table('onboarding_progress', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_onboarding_progress_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_onboarding_progress_tenant_id'), ['tenant_id'], unique=False)



def downgrade():
    with op.batch_alter_table('onboarding_progress', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_onboarding_progress_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_onboarding_progress_campaign_id'))

    op.drop_table('onboarding_progress')
    with op.batch_alter_table('document_upload', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_document_upload_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_document_upload_document_id'))

    op.drop_table('document_upload')
