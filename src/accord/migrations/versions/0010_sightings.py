"""sightings: one STIX sighting per indicator matched at this node, its observed-data (with the values that
matched and the warning lists that suppressed them) and each time it was shared into the hub

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 18:58:17.202002
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sightings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stix_id", sa.String(length=80), nullable=False),
        sa.Column("indicator_id", sa.String(length=120), nullable=False),
        sa.Column("where_sighted_ref", sa.String(length=80), nullable=False),
        sa.Column("collection_id", sa.String(length=36), nullable=True),
        sa.Column("share_id", sa.Integer(), nullable=True),
        sa.Column("tlp", sa.String(length=20), nullable=True),
        sa.Column("producer_party_id", sa.Integer(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("suppressed_count", sa.Integer(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("suppressed", sa.Boolean(), nullable=False),
        sa.Column("suppressed_by", sa.JSON(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("modified", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_sightings_incident_id_incidents"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sightings")),
        sa.UniqueConstraint("indicator_id", name=op.f("uq_sightings_indicator_id")),
        sa.UniqueConstraint("stix_id", name=op.f("uq_sightings_stix_id")),
    )
    with op.batch_alter_table("sightings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sightings_collection_id"), ["collection_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sightings_incident_id"), ["incident_id"], unique=False)
        batch_op.create_index("ix_sightings_last_seen_id", ["last_seen", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sightings_suppressed"), ["suppressed"], unique=False)

    op.create_table(
        "sighting_observations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sighting_id", sa.Integer(), nullable=False),
        sa.Column("observed_data_id", sa.String(length=120), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("suppressed", sa.Boolean(), nullable=False),
        sa.Column("suppressed_by", sa.JSON(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["sighting_id"],
            ["sightings.id"],
            name=op.f("fk_sighting_observations_sighting_id_sightings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sighting_observations")),
        sa.UniqueConstraint("sighting_id", "observed_data_id", name=op.f("uq_sighting_observations_sighting_id")),
    )
    with op.batch_alter_table("sighting_observations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sighting_observations_sighting_id"), ["sighting_id"], unique=False)

    op.create_table(
        "sighting_shares",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sighting_id", sa.Integer(), nullable=False),
        sa.Column("shared_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("collection_id", sa.String(length=36), nullable=False),
        sa.Column("status_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("tlp", sa.String(length=20), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("shared_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["sighting_id"], ["sightings.id"], name=op.f("fk_sighting_shares_sighting_id_sightings"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sighting_shares")),
    )
    with op.batch_alter_table("sighting_shares", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sighting_shares_sighting_id"), ["sighting_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sighting_shares", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sighting_shares_sighting_id"))

    op.drop_table("sighting_shares")
    with op.batch_alter_table("sighting_observations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sighting_observations_sighting_id"))

    op.drop_table("sighting_observations")
    with op.batch_alter_table("sightings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sightings_suppressed"))
        batch_op.drop_index("ix_sightings_last_seen_id")
        batch_op.drop_index(batch_op.f("ix_sightings_incident_id"))
        batch_op.drop_index(batch_op.f("ix_sightings_collection_id"))

    op.drop_table("sightings")
