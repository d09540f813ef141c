"""Migrations and models agree, on each backend; the schema check refuses an old database."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from accord.core.errors import NotMigrated
from accord.db import make_engine
from accord.migrate import ensure_current, head_revision, include_object, upgrade
from accord.models import metadata


def test_migrated_schema_matches_models(engine):
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_object": include_object})
        assert compare_metadata(ctx, metadata) == []


def test_unmigrated_database_is_refused(tmp_path):
    eng = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with pytest.raises(NotMigrated, match="accord db upgrade"):
        ensure_current(eng)
    upgrade(eng, "0001")
    with pytest.raises(NotMigrated, match=f"code needs {head_revision()}"):
        ensure_current(eng)
    upgrade(eng)
    ensure_current(eng)
