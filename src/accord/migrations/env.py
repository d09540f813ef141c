"""Alembic environment: runs against the connection that accord.migrate passes in."""

from alembic import context

from accord.migrate import include_object
from accord.models import metadata

config = context.config
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
