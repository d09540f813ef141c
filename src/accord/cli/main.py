"""``accord``: set up, run, fill and check a node from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from accord.cli.common import _accounts_session, _cli_actor, _engine, _fail, _settings, err, out
from accord.config import Settings
from accord.core.errors import AccordError, Invalid

app = typer.Typer(
    help="Accord: an open-source platform for cyber diplomacy.", no_args_is_help=True, pretty_exceptions_enable=False
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
data_app = typer.Typer(help="The node's data.", no_args_is_help=True)
config_app = typer.Typer(help="Configuration.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(data_app, name="data")
app.add_typer(config_app, name="config")
user_app = typer.Typer(help="Accounts of this node.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens for scripts.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")


def _import(engine: Any, bundle: dict[str, Any], label: str) -> dict[str, int]:
    from accord.bulk import refresh_statistics
    from accord.dataset.importer import bundle_size, import_bundle
    from accord.db import make_sessionmaker, unit_of_work

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=False) as bar:
        task = bar.add_task(label, total=bundle_size(bundle))
        with unit_of_work(make_sessionmaker(engine)) as session:
            report = import_bundle(session, bundle, progress=lambda n: bar.advance(task, n))
    refresh_statistics(engine)
    return report.counts


def _print_counts(counts: dict[str, int]) -> None:
    out.print(", ".join(f"{n} {k}" for k, n in counts.items() if n), highlight=False)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the database schema to the current revision."""
    from accord.migrate import head_revision, upgrade

    settings = _settings()
    engine = _engine(settings)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    out.print(f"database at revision {head_revision()}", highlight=False)


DEMO_ACCOUNTS = (  # (username, role, state, organisation, affiliation) — demo mode only
    ("analyst-ee", "analyst", "EE", None, "Ministry of Foreign Affairs, cyber policy unit"),
    ("liaison-fr", "liaison", "FR", None, "National CERT liaison office"),
    ("viewer-un", "viewer", None, "UN", "Secretariat, Office for Disarmament Affairs"),
)


DEMO_CONTACT_STATES = ("DE", "FI", "FR", "LV", "PL", "SE")


def _demo_contacts(session: Any) -> None:
    """Fictional points of contact (example.org addresses, marked "demo") so the crisis room and the
    reachability checks have someone to write to. Never part of the bundled dataset of public facts."""
    from accord.directory.models import PointOfContact

    for code in DEMO_CONTACT_STATES:
        for role in ("technical", "diplomatic", "political", "24-7"):
            session.add(
                PointOfContact(
                    state_code=code,
                    role=role,
                    name=f"Demo {role} desk ({code})",
                    title="fictional contact for the demo",
                    channels=[{"kind": "email", "value": f"{role.replace('-', '')}.{code.lower()}@example.org"}],
                    languages=["en"],
                )
            )


def _first_admin(settings: Settings, *, demo: bool) -> None:
    """Create the first administrator (and, in demo mode, a few demo accounts); print passwords once."""
    from accord.auth import service as accounts

    with _accounts_session(settings) as session:
        if accounts.any_users(session):
            return
        created = []
        password = accounts.generate_password()
        accounts.create_user(
            session,
            username="admin",
            password=password,
            role="admin",
            display_name="Node administrator",
            must_change_password=True,
            actor=_cli_actor(),
        )
        created.append(("admin", "admin", password))
        for username, role, state, org, affiliation in DEMO_ACCOUNTS if demo else ():
            pw = accounts.generate_password()
            accounts.create_user(
                session,
                username=username,
                password=pw,
                role=role,
                state_code=state,
                organisation_code=org,
                affiliation=affiliation,
                actor=_cli_actor(),
            )
            created.append((username, role, pw))
        if demo:
            _demo_contacts(session)
    table = Table("username", "role", "one-time password", title="Accounts created (shown only now)")
    for row in created:
        table.add_row(*row)
    out.print(table)


def _init(settings: Settings) -> None:
    from sqlalchemy import func, select

    from accord.dataset.files import bundled_dataset
    from accord.db import make_sessionmaker
    from accord.directory.models import State
    from accord.migrate import upgrade

    engine = _engine(settings)
    try:
        upgrade(engine)
        with make_sessionmaker(engine)() as session:
            existing = session.scalar(select(func.count()).select_from(State)) or 0
        if existing:
            out.print(f"node already initialised ({existing} states); bundled dataset not reloaded", highlight=False)
            return
        try:
            counts = _import(engine, bundled_dataset(), "loading bundled dataset")
        except AccordError as exc:
            _fail(exc)
    finally:
        engine.dispose()
    _print_counts(counts)


@app.command()
def init() -> None:
    """Create the database (migrations), load the bundled public dataset, create the first administrator."""
    settings = _settings()
    _init(settings)
    _first_admin(settings, demo=False)


def _serve(settings: Settings, host: str | None, port: int | None, worker: bool = True) -> None:
    import uvicorn

    from accord.web.app import create_app

    try:
        application = create_app(settings, engine=_engine(settings))
    except AccordError as exc:
        _fail(exc)
    host, port = host or settings.host, port or settings.port
    out.print(f"Accord is serving at [bold]http://{host}:{port}/[/bold]  (API: /api/v1, OpenAPI: /api/v1/openapi.json)")
    if worker:  # deadlines and deliveries in a background thread; `accord worker` processes may run as well
        from accord.crisis.worker import start_thread

        start_thread(application.state.sessions, settings)
    uvicorn.run(application, host=host, port=port, log_level="info")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="bind address")] = None,
    port: Annotated[int | None, typer.Option(help="port")] = None,
    worker: Annotated[bool, typer.Option(help="also run the background worker (deadlines, deliveries)")] = True,
) -> None:
    """Serve the API (refuses to start on an unmigrated database)."""
    _serve(_settings(), host, port, worker)


@app.command()
def demo(
    host: Annotated[str | None, typer.Option(help="bind address")] = None,
    port: Annotated[int | None, typer.Option(help="port")] = None,
) -> None:
    """Initialise with the bundled data (if needed), then serve."""
    settings = _settings()
    _init(settings)
    _first_admin(settings, demo=True)
    _serve(settings, host, port)


@app.command("import")
def import_(file: Annotated[Path, typer.Argument(help="JSON bundle, JSONL or CSV of incidents")]) -> None:
    """Import records from a file, all or nothing."""
    from accord.dataset.files import read_file
    from accord.migrate import ensure_current

    settings = _settings()
    engine = _engine(settings)
    try:
        ensure_current(engine)
        bundle = read_file(file)
        counts = _import(engine, bundle, f"importing {file.name}")
    except AccordError as exc:
        _fail(exc)
    _print_counts(counts)


@app.command()
def export(
    output: Annotated[Path, typer.Option("--out", "-o", help="file (json) or directory (csv); - for stdout")] = Path(
        "-"
    ),
    format: Annotated[
        str, typer.Option("--format", "-f", help="json (dataset bundle) or csv (one file per table)")
    ] = "json",
) -> None:
    """Export the node's records as a JSON bundle (re-importable) or CSV files."""
    from accord.db import make_sessionmaker
    from accord.migrate import ensure_current

    settings = _settings()
    engine = _engine(settings)
    try:
        ensure_current(engine)
        if format not in ("json", "csv"):
            raise Invalid("unknown format", [])
    except AccordError as exc:
        _fail(exc)
    with make_sessionmaker(engine)() as session:
        if format == "json":
            from accord.dataset.exporter import export_bundle

            text = json.dumps(export_bundle(session), ensure_ascii=False, indent=1)
            if str(output) == "-":
                typer.echo(text)
            else:
                output.write_text(text, encoding="utf-8")
                err.print(f"wrote {output}", highlight=False)
            return
        from accord.core.records import iter_records
        from accord.web.api import RESOURCES
        from accord.web.crud import export_rows

        if str(output) == "-":
            err.print("error: CSV export needs --out DIRECTORY")
            raise typer.Exit(1)
        output.mkdir(parents=True, exist_ok=True)
        for res in RESOURCES:
            path = output / f"{res.name}.csv"
            path.write_text("".join(export_rows(res, iter_records(session, res), "csv")), encoding="utf-8")
        err.print(f"wrote {len(RESOURCES)} CSV files to {output}", highlight=False)


@data_app.command("check")
def data_check() -> None:
    """Validate references, sources and as-of dates of every stored record."""
    from accord.dataset.checks import check_data
    from accord.db import make_sessionmaker
    from accord.migrate import ensure_current

    settings = _settings()
    engine = _engine(settings)
    try:
        ensure_current(engine)
    except AccordError as exc:
        _fail(exc)
    with make_sessionmaker(engine)() as session:
        counts, problems = check_data(session)
    table = Table("table", "records")
    for name, n in counts.items():
        table.add_row(name, str(n))
    out.print(table)
    if problems:
        for p in problems:
            err.print(str(p), highlight=False, markup=False)
        err.print(f"[red]{len(problems)} problem(s)[/red]")
        raise typer.Exit(1)
    out.print("data check passed")


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="login name (lower case)")],
    role: Annotated[str, typer.Option(help="viewer, analyst, liaison or admin")] = "viewer",
    state: Annotated[str | None, typer.Option(help="ISO code of the user's state")] = None,
    organisation: Annotated[str | None, typer.Option(help="code of the user's international organisation")] = None,
    affiliation: Annotated[str | None, typer.Option(help="agency or office")] = None,
    display_name: Annotated[str | None, typer.Option(help="full name")] = None,
) -> None:
    """Add a user; prints a one-time password (to be changed at first sign-in)."""
    from accord.auth import service as accounts

    password = accounts.generate_password()
    try:
        with _accounts_session(_settings()) as session:
            accounts.create_user(
                session,
                username=username,
                password=password,
                role=role,
                state_code=state,
                organisation_code=organisation,
                affiliation=affiliation,
                display_name=display_name,
                must_change_password=True,
                actor=_cli_actor(),
            )
    except AccordError as exc:
        _fail(exc)
    out.print(f"user {username} ({role}) created; one-time password: {password}", highlight=False)


@user_app.command("list")
def user_list() -> None:
    """List the users of this node."""
    from accord.auth import service as accounts

    table = Table("username", "name", "role", "affiliation", "active", "last sign-in")
    with _accounts_session(_settings()) as session:
        for u in accounts.list_users(session):
            where = " ".join(x for x in (u.affiliation, u.state_code, u.organisation_code) if x)
            table.add_row(
                u.username,
                u.display_name,
                u.role,
                where,
                "yes" if u.active else "no",
                u.last_login.isoformat(timespec="minutes") if u.last_login else "never",
            )
    out.print(table)


@user_app.command("disable")
def user_disable(username: str) -> None:
    """Disable a user: their sessions end and their tokens stop working."""
    from accord.auth import service as accounts

    try:
        with _accounts_session(_settings()) as session:
            accounts.set_active(session, username, False, actor=_cli_actor())
    except AccordError as exc:
        _fail(exc)
    out.print(f"user {username} disabled", highlight=False)


@token_app.command("create")
def token_create(
    username: str,
    name: Annotated[str, typer.Option(help="what the token is for")] = "script",
    scope: Annotated[list[str] | None, typer.Option(help="read and/or write (repeat the option)")] = None,
    days: Annotated[int, typer.Option(help="lifetime in days (0 = no expiry)")] = 90,
) -> None:
    """Create an API token for a user; the secret is printed once and stored only as a hash."""
    from accord.auth import service as accounts

    try:
        with _accounts_session(_settings()) as session:
            token, secret = accounts.create_token(
                session, username, name=name, scopes=scope or ["read"], days=days or None, actor=_cli_actor()
            )
            token_id = token.id
    except AccordError as exc:
        _fail(exc)
    out.print(f"token {token_id} for {username}: {secret}", highlight=False)
    err.print("store it now: it is not shown again")


@token_app.command("revoke")
def token_revoke(token_id: int) -> None:
    """Revoke an API token by its id."""
    from accord.auth import service as accounts

    try:
        with _accounts_session(_settings()) as session:
            accounts.revoke_token(session, token_id, actor=_cli_actor())
    except AccordError as exc:
        _fail(exc)
    out.print(f"token {token_id} revoked", highlight=False)


@token_app.command("list")
def token_list() -> None:
    """List API tokens (never their secrets)."""
    from accord.auth import service as accounts

    table = Table("id", "user", "name", "prefix", "scopes", "expires", "status")
    with _accounts_session(_settings()) as session:
        for t in accounts.list_tokens(session):
            table.add_row(
                str(t.id),
                t.user.username,
                t.name,
                t.prefix + "…",
                ",".join(t.scopes),
                t.expires_at.date().isoformat() if t.expires_at else "never",
                "revoked" if t.revoked_at else "valid",
            )
    out.print(table)


@app.command()
def identity() -> None:
    """Show this node's Ed25519 identity (created on first use): key fingerprint and public key."""
    from accord.crisis.identity import load_or_create, public_pem

    node = load_or_create(_settings().data_dir / "node.ed25519.pem")
    typer.echo(f"key id (SHA-256 of the public key): {node.key_id}")
    typer.echo(public_pem(node.public_key))


@config_app.command("check")
def config_check() -> None:
    """Validate the configuration from the environment without starting anything."""
    from pydantic import ValidationError

    try:
        settings = Settings()
    except ValidationError as exc:
        for e in exc.errors():
            err.print(f"ACCORD_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}", highlight=False)
        raise typer.Exit(1) from None
    for name in Settings.model_fields:
        out.print(f"ACCORD_{name.upper()}={getattr(settings, name)}", highlight=False)


def _register_sharing() -> None:
    from accord.cli import sharing

    app.add_typer(sharing.party_app, name="party")
    app.add_typer(sharing.community_app, name="community")
    app.add_typer(sharing.collection_app, name="collection")
    app.add_typer(sharing.misp_app, name="misp")
    from accord.cli import federation

    app.add_typer(federation.peer_app, name="peer")


_register_sharing()


def _register_crisis() -> None:
    from accord.cli import crisis

    app.add_typer(crisis.case_app, name="case")
    app.add_typer(crisis.ledger_app, name="ledger")
    app.add_typer(crisis.policy_app, name="policy")
    app.command("worker")(crisis.worker)
    from accord.cli import ping

    app.add_typer(ping.ping_app, name="ping")


_register_crisis()


def _register_attribution() -> None:
    from accord.cli import attribution

    app.add_typer(attribution.attribution_app, name="attribution")


_register_attribution()


def _register_matching() -> None:
    from accord.cli import matching

    app.command("match")(matching.match)


_register_matching()


if __name__ == "__main__":
    app()
