"""``accord party|community|collection|misp``: set up sharing and move MISP events in and out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import select

from accord.cli.common import _accounts_session, _cli_actor, _fail, _settings, err, out
from accord.core.errors import AccordError, Invalid, NotFound, Problem

party_app = typer.Typer(
    help="Organisations that share (a state agency, an IO office, a peer node).", no_args_is_help=True
)
community_app = typer.Typer(help="Sharing communities and their members.", no_args_is_help=True)
collection_app = typer.Typer(help="TAXII collections.", no_args_is_help=True)
misp_app = typer.Typer(help="MISP events in and out (through misp-stix).", no_args_is_help=True)


def _party(session: Any, key: str) -> Any:
    from accord.auth.models import Party

    party = session.scalar(select(Party).where(Party.key == key))
    if party is None:
        raise NotFound(f"no party {key!r}")
    return party


def _community(session: Any, name: str) -> Any:
    from accord.sharing.models import Community

    found = session.scalar(select(Community).where(Community.name == name))
    if found is None:
        raise NotFound(f"no community {name!r}")
    return found


@party_app.command("add")
def party_add(
    key: str,
    name: Annotated[str, typer.Option(help="full name")],
    state: Annotated[str | None, typer.Option(help="ISO code")] = None,
    organisation: Annotated[str | None, typer.Option(help="organisation code")] = None,
) -> None:
    """Add a party (an organisation users belong to)."""
    from accord.sharing import service

    try:
        with _accounts_session(_settings()) as session:
            service.create_party(
                session, key=key, name=name, state_code=state, organisation_code=organisation, actor=_cli_actor()
            )
    except AccordError as exc:
        _fail(exc)
    out.print(f"party {key} added", highlight=False)


@party_app.command("assign")
def party_assign(username: str, key: str) -> None:
    """Make a user a member of a party."""
    from accord.auth import service as accounts

    try:
        with _accounts_session(_settings()) as session:
            user = accounts.get_user(session, username)
            user.party_id = _party(session, key).id
            from accord.audit import service as audit

            audit.record(session, _cli_actor(), "assign-party", "users", username, None, {"party": key})
    except AccordError as exc:
        _fail(exc)
    out.print(f"{username} now belongs to {key}", highlight=False)


@party_app.command("client")
def party_client(key: str, client: str) -> None:
    """Declare CLIENT a client of party KEY (TLP:AMBER may reach it)."""
    from accord.sharing import service

    try:
        with _accounts_session(_settings()) as session:
            service.declare_client(session, _party(session, key).id, _party(session, client).id, actor=_cli_actor())
    except AccordError as exc:
        _fail(exc)
    out.print(f"{client} declared a client of {key}", highlight=False)


@community_app.command("add")
def community_add(name: str, description: Annotated[str | None, typer.Option()] = None) -> None:
    """Add a sharing community."""
    from accord.sharing import service

    try:
        with _accounts_session(_settings()) as session:
            service.create_community(session, name=name, description=description, actor=_cli_actor())
    except AccordError as exc:
        _fail(exc)
    out.print(f"community {name!r} added", highlight=False)


@community_app.command("member")
def community_member(
    community: str,
    party: str,
    read: Annotated[bool, typer.Option("--read/--no-read")] = True,
    write: Annotated[bool, typer.Option("--write/--no-write")] = False,
) -> None:
    """Add a party to a community (or change its rights)."""
    from accord.sharing import service

    try:
        with _accounts_session(_settings()) as session:
            service.set_member(
                session,
                _community(session, community).id,
                _party(session, party).id,
                can_read=read,
                can_write=write,
                actor=_cli_actor(),
            )
    except AccordError as exc:
        _fail(exc)
    out.print(f"{party} in {community!r}: read={read} write={write}", highlight=False)


@collection_app.command("add")
def collection_add(
    title: str,
    community: Annotated[str, typer.Option(help="community name")],
    alias: Annotated[str | None, typer.Option()] = None,
    description: Annotated[str | None, typer.Option()] = None,
    collection_id: Annotated[str | None, typer.Option("--id", help="UUID (default: new)")] = None,
) -> None:
    """Add a TAXII collection to a community; prints its id."""
    from accord.sharing import service

    try:
        with _accounts_session(_settings()) as session:
            coll = service.create_collection(
                session,
                community_id=_community(session, community).id,
                title=title,
                alias=alias,
                description=description,
                collection_id=collection_id,
                actor=_cli_actor(),
            )
            cid = coll.id
    except AccordError as exc:
        _fail(exc)
    out.print(cid, highlight=False)


@collection_app.command("list")
def collection_list() -> None:
    """List collections with their community and object counts."""
    from sqlalchemy import func

    from accord.sharing import service
    from accord.sharing.models import Community, StixObject

    table = Table("id", "title", "alias", "community", "objects")
    with _accounts_session(_settings()) as session:
        for c in service.list_collections(session):
            n = session.scalar(select(func.count()).select_from(StixObject).where(StixObject.collection_id == c.id))
            table.add_row(c.id, c.title, c.alias or "", session.get(Community, c.community_id).name, str(n))
    out.print(table)


@misp_app.command("import")
def misp_import(
    file: Path,
    collection: Annotated[str, typer.Option(help="collection id or alias")],
    user: Annotated[str, typer.Option(help="the account the share is made as")],
) -> None:
    """Import a MISP event (JSON) into a collection as STIX 2.1, all or nothing."""
    from accord.audit.service import Actor
    from accord.auth import service as accounts
    from accord.sharing import misp, service

    try:
        event = json.loads(file.read_text(encoding="utf-8"))
        objects = misp.misp_event_to_stix(event)
    except (OSError, ValueError) as exc:
        _fail(Invalid("cannot convert the MISP event", [Problem(str(file), str(exc).splitlines()[0])]))
    try:
        with _accounts_session(_settings()) as session:
            account = accounts.get_user(session, user)
            coll = service.get_collection(session, collection)
            result = service.ingest(
                session,
                coll,
                objects,
                actor=Actor.of(account),
                producer_party_id=account.party_id,
                provenance=f"misp:{file.name}",
                unmarked=_settings().sharing_unmarked_tlp,
                user_id=account.id,
            )
            if result.failures:
                raise Invalid(
                    "some objects were refused; nothing was imported",
                    [Problem(f["id"] or "object", f["message"]) for f in result.failures],
                )
    except AccordError as exc:
        _fail(exc)
    out.print(f"{len(result.successes)} STIX objects imported into {collection}", highlight=False)


@misp_app.command("export")
def misp_export(
    collection: Annotated[str, typer.Option(help="collection id or alias")],
    user: Annotated[str, typer.Option(help="export what this account may see")],
    output: Annotated[Path, typer.Option("--out", "-o")] = Path("-"),
) -> None:
    """Export a collection's latest objects (as far as TLP lets USER see them) as MISP events."""
    from accord.auth import service as accounts
    from accord.sharing import misp, service

    with _accounts_session(_settings()) as session:
        try:
            account = accounts.get_user(session, user)
            coll = service.get_collection(session, collection)
        except AccordError as exc:
            _fail(exc)
        objects = service.visible_latest(session, coll, service.reader(session, account, coll))
    try:
        events = misp.stix_to_misp_events(objects, strict=False)
    except ValueError as exc:
        err.print(f"error: {exc}", highlight=False)
        raise typer.Exit(1) from None
    text = json.dumps(events, ensure_ascii=False, indent=1)
    if str(output) == "-":
        typer.echo(text)
    else:
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote {len(events)} event(s) to {output}", highlight=False)
