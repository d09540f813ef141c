"""Alembic environment: runs against the connection that accord.migrate passes in."""

from alembic import context

from accord.models import metadata

config = context.config

# Indexes created by hand-written, PostgreSQL-only migrations (see 0002); autogenerate must keep them.
_MANUAL_INDEXES = ("_trgm", "_desc")


def include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    """Leave alone what hand-written migrations made: PostgreSQL indexes (0002), SQLite FTS tables (0003)."""
    if not reflected or compare_to is not None:
        return True
    if type_ == "index" and str(name).endswith(_MANUAL_INDEXES):
        return False
    return not (type_ == "table" and "_fts" in str(name))


connection = config.attributes.get("connection")

if connection is None:  # pragma: no cover - alembic CLI use
    from accord.config import Settings
    from accord.db import make_engine

    engine = make_engine(config.get_main_option("sqlalchemy.url") or Settings().resolved_database_url())
    with engine.connect() as conn:
        context.configure(
            connection=conn, target_metadata=metadata, render_as_batch=True, include_object=include_object
        )
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(
        connection=connection, target_metadata=metadata, render_as_batch=True, include_object=include_object
    )
    with context.begin_transaction():
        context.run_migrations()
