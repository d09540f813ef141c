"""matching jobs: observed data and indicators that arrived in the hub, waiting for the worker to match them

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27 19:10:50.960637
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "match_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("collection_id", sa.String(length=36), nullable=False),
        sa.Column("stix_ids", sa.JSON(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=120), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_match_jobs")),
    )
    with op.batch_alter_table("match_jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_match_jobs_claimed_at"), ["claimed_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_match_jobs_done_at"), ["done_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("match_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_match_jobs_done_at"))
        batch_op.drop_index(batch_op.f("ix_match_jobs_claimed_at"))
    op.drop_table("match_jobs")
