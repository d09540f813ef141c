"""Schema migrations (Alembic), driven from code: upgrade, and the check that refuses an old schema."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from accord.core.errors import NotMigrated

_HERE = Path(__file__).parent / "migrations"

# Indexes created by hand-written, PostgreSQL-only migrations (see 0002); autogenerate must keep them.
_MANUAL_INDEXES = ("_trgm", "_desc")


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Leave alone what hand-written migrations made: PostgreSQL indexes (0002), SQLite FTS tables (0003)."""
    if not reflected or compare_to is not None:
        return True
    if type_ == "index" and str(name).endswith(_MANUAL_INDEXES):
        return False
    return not (type_ == "table" and "_fts" in str(name))


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE))
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def ensure_current(engine: Engine) -> None:
    """Raise NotMigrated unless the database schema is at the code's head revision."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        state = "has no Accord schema" if current is None else f"is at revision {current}, code needs {head}"
        raise NotMigrated(f"database {state}; run `accord db upgrade` (or `accord init`) first")
