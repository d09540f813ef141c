"""Drop the (collection, is_latest, date_added) index: it competed with the id index for id lookups and
made SQLite's plan depend on statistics; full reads use (collection, date_added).

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stix_objects", schema=None) as batch_op:
        batch_op.drop_index("ix_stix_coll_latest_added")


def downgrade() -> None:
    with op.batch_alter_table("stix_objects", schema=None) as batch_op:
        batch_op.create_index("ix_stix_coll_latest_added", ["collection_id", "is_latest", "date_added"], unique=False)
