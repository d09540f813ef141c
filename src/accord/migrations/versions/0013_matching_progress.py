"""matching jobs: how far an indicators job has gone through the stored observations (it resumes after it)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27 22:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("match_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("progress", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("match_jobs", schema=None) as batch_op:
        batch_op.drop_column("progress")
