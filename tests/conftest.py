"""One contract suite, two databases: every test that takes ``engine`` runs on SQLite and PostgreSQL.

PostgreSQL: ``ACCORD_TEST_POSTGRES_URL`` (default: this machine's server, user postgres, trust auth).
A fresh database is created per run and dropped afterwards. If the server is unreachable the
PostgreSQL half is skipped — and said so plainly — unless ``ACCORD_REQUIRE_POSTGRES=1`` (CI), which
turns the skip into a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.engine import make_url

from accord.dataset.files import bundled_dataset
from accord.dataset.importer import import_bundle
from accord.db import make_engine, make_sessionmaker, unit_of_work
from accord.migrate import upgrade

from .conftest_helpers import PASSWORD

PG_URL = os.environ.get("ACCORD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REQUIRE_PG = os.environ.get("ACCORD_REQUIRE_POSTGRES") == "1"
_pg_status: dict[str, str] = {}


def _admin_connect() -> Any:
    import psycopg

    url = make_url(PG_URL)
    return psycopg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        dbname=url.database or "postgres",
        autocommit=True,
        connect_timeout=3,
    )


class PgDatabases:
    """Creates fresh PostgreSQL databases for this run and drops them at the end."""

    def __init__(self, admin: Any) -> None:
        self.admin = admin
        self.names: list[str] = []

    def create(self) -> str:
        name = f"accord_test_{uuid.uuid4().hex[:12]}"
        self.admin.execute(f'CREATE DATABASE "{name}"')
        self.names.append(name)
        _pg_status["status"] = f"ran against fresh database(s) {', '.join(self.names)}"
        return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        for name in self.names:
            self.admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.admin.close()


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[PgDatabases]:
    import psycopg

    try:
        admin = _admin_connect()
    except psycopg.OperationalError as exc:
        reason = f"PostgreSQL not reachable at {make_url(PG_URL).render_as_string(hide_password=True)}: {exc}".strip()
        _pg_status["status"] = f"SKIPPED ({reason.splitlines()[0]})"
        if REQUIRE_PG:
            pytest.fail(f"ACCORD_REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(reason)
    dbs = PgDatabases(admin)
    try:
        yield dbs
    finally:
        dbs.drop_all()


def new_database_url(request: pytest.FixtureRequest, backend: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'accord.db'}"
    return request.getfixturevalue("pg_databases").create()


def _load(engine: Engine) -> None:
    upgrade(engine)
    with unit_of_work(make_sessionmaker(engine)) as session:
        import_bundle(session, bundled_dataset())


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A migrated database holding the bundled dataset, on each backend."""
    eng = make_engine(new_database_url(request, request.param, tmp_path_factory))
    _load(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fuzz_app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    engine = make_engine(new_database_url(request, request.param, tmp_path_factory))
    _load(engine)
    from accord.auth import service
    from accord.config import Settings
    from accord.web.app import create_app

    with unit_of_work(make_sessionmaker(engine)) as s:
        service.create_user(s, username="fuzzer", password=PASSWORD, role="admin")
        _token, secret = service.create_token(s, "fuzzer", name="fuzz", scopes=["read", "write"])
    app = create_app(Settings(), engine=engine)
    app.state.test_token = secret  # the fuzzer writes as an administrator, so writes are exercised too
    yield app
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Any]:
    with make_sessionmaker(engine)() as s:
        yield s


ROLES = ("viewer", "analyst", "liaison", "admin")


@pytest.fixture(scope="session")
def accounts(engine: Engine) -> dict[str, str]:
    """One user per role (username = role, password PASSWORD) and a read+write API token for each."""
    from accord.auth import service

    tokens = {}
    with unit_of_work(make_sessionmaker(engine)) as s:
        for role in ROLES:
            if s.scalar(select(service.User.id).where(service.User.username == role)) is None:
                service.create_user(s, username=role, password=PASSWORD, role=role, state_code="EE")
            _token, secret = service.create_token(s, role, name="tests", scopes=["read", "write"])
            tokens[role] = secret
    return tokens


@pytest.fixture(scope="session")
def app(engine: Engine) -> Any:
    from accord.config import Settings
    from accord.web.app import create_app

    return create_app(Settings(), engine=engine)


def _client(app: Any, token: str | None = None) -> Any:
    from fastapi.testclient import TestClient

    client = TestClient(app)
    if token:
        client.headers["Authorization"] = f"Bearer {token}"
    return client


@pytest.fixture(scope="session")
def client(app: Any, accounts: dict[str, str]) -> Any:
    """An API client acting as an administrator (bearer token)."""
    return _client(app, accounts["admin"])


@pytest.fixture(scope="session")
def role_clients(app: Any, accounts: dict[str, str]) -> dict[str, Any]:
    """An API client per role, plus "anonymous"."""
    return {"anonymous": _client(app), **{role: _client(app, token) for role, token in accounts.items()}}


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:8]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    status = _pg_status.get("status", "not requested by the selected tests")
    terminalreporter.write_line(f"PostgreSQL suite: {status}")
