"""What every ``accord`` sub-command shares: consoles, one-line failures, settings, the engine, a session.

Sub-command modules import these from here (not from ``accord.cli.main``), so any of them can be imported
first without a circular import.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console

from accord.config import Settings
from accord.core.errors import AccordError

out = Console()
err = Console(stderr=True)


def _fail(exc: AccordError) -> None:
    """One line per problem, then exit non-zero."""
    err.print(f"[red]error:[/red] {exc.detail}", highlight=False)
    for p in exc.problems:
        err.print(f"  {p}", highlight=False, markup=False)
    raise typer.Exit(1)


def _settings() -> Settings:
    return Settings()


def _engine(settings: Settings) -> Any:
    import accord.models  # noqa: F401  (every table known, so foreign keys resolve)
    from accord.db import make_engine

    if not settings.database_url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return make_engine(settings.resolved_database_url())


def _cli_actor() -> Any:
    import getpass

    from accord.audit.service import Actor

    return Actor(f"cli:{getpass.getuser()}")


@contextmanager
def _accounts_session(settings: Settings) -> Iterator[Any]:
    """One transaction on the node's (migrated) database; the engine is closed afterwards."""
    from accord.db import make_sessionmaker, unit_of_work
    from accord.migrate import ensure_current

    engine = _engine(settings)
    try:
        try:
            ensure_current(engine)
        except AccordError as exc:
            _fail(exc)
        with unit_of_work(make_sessionmaker(engine)) as session:
            yield session
    finally:
        engine.dispose()
