"""capacity building: needs declared by states, offers by donors, maturity assessments per state

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27 19:44:58.975460
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "capacity_assessments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state_code", sa.String(length=2), nullable=False),
        sa.Column("framework", sa.String(length=10), nullable=False),
        sa.Column("assessed_on", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("assessor", sa.String(length=300), nullable=True),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("entered_by", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["state_code"], ["states.code"], name=op.f("fk_capacity_assessments_state_code_states"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_capacity_assessments")),
    )
    with op.batch_alter_table("capacity_assessments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_capacity_assessments_state_code"), ["state_code"], unique=False)

    op.create_table(
        "capacity_needs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state_code", sa.String(length=2), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("themes", sa.JSON(), nullable=False),
        sa.Column("pillars", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("declared_on", sa.Date(), nullable=False),
        sa.Column("entered_by", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["state_code"], ["states.code"], name=op.f("fk_capacity_needs_state_code_states"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_capacity_needs")),
    )
    with op.batch_alter_table("capacity_needs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_capacity_needs_state_code"), ["state_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_capacity_needs_status"), ["status"], unique=False)

    op.create_table(
        "capacity_offers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_state", sa.String(length=2), nullable=True),
        sa.Column("provider_organisation", sa.String(length=40), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("themes", sa.JSON(), nullable=False),
        sa.Column("pillars", sa.JSON(), nullable=False),
        sa.Column("beneficiary_scope", sa.String(length=10), nullable=False),
        sa.Column("beneficiary_regions", sa.JSON(), nullable=False),
        sa.Column("beneficiary_states", sa.JSON(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("entered_by", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["provider_organisation"],
            ["organisations.code"],
            name=op.f("fk_capacity_offers_provider_organisation_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["provider_state"],
            ["states.code"],
            name=op.f("fk_capacity_offers_provider_state_states"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_capacity_offers")),
    )
    with op.batch_alter_table("capacity_offers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_capacity_offers_provider_organisation"), ["provider_organisation"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_capacity_offers_provider_state"), ["provider_state"], unique=False)
        batch_op.create_index(batch_op.f("ix_capacity_offers_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("capacity_offers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_capacity_offers_status"))
        batch_op.drop_index(batch_op.f("ix_capacity_offers_provider_state"))
        batch_op.drop_index(batch_op.f("ix_capacity_offers_provider_organisation"))

    op.drop_table("capacity_offers")
    with op.batch_alter_table("capacity_needs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_capacity_needs_status"))
        batch_op.drop_index(batch_op.f("ix_capacity_needs_state_code"))

    op.drop_table("capacity_needs")
    with op.batch_alter_table("capacity_assessments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_capacity_assessments_state_code"))

    op.drop_table("capacity_assessments")
