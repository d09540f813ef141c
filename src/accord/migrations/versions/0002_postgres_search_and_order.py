"""PostgreSQL: trigram indexes for substring search, and an index for newest-first incident lists.

On SQLite nothing changes: its B-tree on (start_date, id) already serves the newest-first order
(SQLite sorts NULLs first ascending, hence last descending), and its text search scans.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TRGM = (
    ("ix_incidents_name_trgm", "incidents", "name"),
    ("ix_incidents_description_trgm", "incidents", "description"),
    ("ix_incidents_aliases_trgm", "incidents", "(CAST(aliases AS TEXT))"),
    ("ix_threat_actors_name_trgm", "threat_actors", "name"),
    ("ix_threat_actors_aliases_trgm", "threat_actors", "(CAST(aliases AS TEXT))"),
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, expr in _TRGM:
        op.execute(f"CREATE INDEX {name} ON {table} USING gin ({expr} gin_trgm_ops)")
    op.execute("CREATE INDEX ix_incidents_start_desc ON incidents (start_date DESC NULLS LAST, id DESC)")
    op.execute("CREATE INDEX ix_attributions_date_desc ON attributions (date DESC NULLS LAST, id DESC)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, _table, _expr in _TRGM:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    op.execute("DROP INDEX IF EXISTS ix_incidents_start_desc")
    op.execute("DROP INDEX IF EXISTS ix_attributions_date_desc")
