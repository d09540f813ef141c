"""``accord peer``: register peer nodes, link collections, sync them (once, or in a loop).

The loop is a stop-gap scheduler: the design wants federation sync as jobs on a task queue (huey or
procrastinate) so that jobs survive restarts and two workers never run one link twice — the checkpoint
compare-and-set already makes a second worker harmless.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.table import Table

from accord.cli.common import _accounts_session, _cli_actor, _engine, _fail, _settings, err, out
from accord.core.errors import AccordError

peer_app = typer.Typer(help="Peer nodes: federation of TAXII collections.", no_args_is_help=True)


@peer_app.command("add")
def peer_add(
    name: str,
    url: Annotated[str, typer.Option(help="base URL of the peer node, e.g. https://node.example.org")],
    token: Annotated[
        str,
        typer.Option(
            help="API token this node presents to the peer (or env ACCORD_PEER_TOKEN)", envvar="ACCORD_PEER_TOKEN"
        ),
    ],
    public_key: Annotated[str | None, typer.Option(help="the peer's Ed25519 public key (PEM or base64)")] = None,
    api_root: Annotated[str, typer.Option(help="TAXII API root, relative to the URL")] = "taxii2/accord/",
    state: Annotated[str | None, typer.Option(help="ISO code of the state the peer node speaks for")] = None,
) -> None:
    """Register a peer node (its party, peer-NAME, is created if needed)."""
    from accord.sharing import federation

    try:
        with _accounts_session(_settings()) as session:
            federation.add_peer(
                session,
                name=name,
                base_url=url,
                token=token,
                public_key=public_key,
                api_root=api_root,
                state_code=state.upper() if state else None,
                actor=_cli_actor(),
            )
    except AccordError as exc:
        _fail(exc)
    out.print(f"peer {name} added ({url})", highlight=False)


@peer_app.command("link")
def peer_link(
    name: str,
    local_collection: Annotated[str, typer.Option(help="local collection id or alias")],
    remote_collection: Annotated[str, typer.Option(help="the peer's collection id")],
    direction: Annotated[str, typer.Option(help="pull (peer -> here) or push (here -> peer)")] = "pull",
) -> None:
    """Link a local collection to a peer's collection; prints the link id."""
    from accord.sharing import federation

    try:
        with _accounts_session(_settings()) as session:
            link = federation.add_link(
                session,
                peer=name,
                local_collection=local_collection,
                remote_collection=remote_collection,
                direction=direction,
                actor=_cli_actor(),
            )
            link_id = link.id
    except AccordError as exc:
        _fail(exc)
    out.print(str(link_id), highlight=False)


def _ago(seconds: float | None) -> str:
    return "never" if seconds is None else f"{seconds:.0f}s"


@peer_app.command("list")
def peer_list() -> None:
    """Peers and their links: last sync, lag, errors (never tokens)."""
    from accord.sharing import federation

    with _accounts_session(_settings()) as session:
        peers = federation.list_peers(session)
        table = Table(
            "peer", "url", "public key", "link", "direction", "local", "remote", "lag", "failures", "last error"
        )
        statuses = {s.link_id: s for s in federation.status(session)}
        for p in peers:
            rows = [statuses[link.id] for link in federation.links(session, p.name)]
            key = "yes" if p.public_key else "no"
            if not rows:
                table.add_row(p.name, p.base_url, key, "", "", "", "", "", "", "")
            for s in rows:
                table.add_row(
                    p.name,
                    p.base_url,
                    key,
                    str(s.link_id),
                    s.direction,
                    s.local_collection,
                    s.remote_collection,
                    _ago(s.lag_seconds),
                    str(s.failures),
                    (s.last_error or "")[:80],
                )
    out.print(table)


def _options(page_size: int, retries: int, timeout: float, backoff: float) -> Any:
    from accord.sharing import federation

    return federation.SyncOptions(
        page_size=page_size,
        retry=federation.Retry(tries=retries),
        backoff=federation.Backoff(base=backoff),
        timeout=timeout,
    )


def _run_once(sessions: Any, name: str | None, force: bool, options: Any) -> bool:
    from accord.sharing import federation

    ok = True
    for r in federation.sync(sessions, peer=name, force=force, options=options):
        if r.skipped:
            out.print(f"{r.peer} link {r.link_id} ({r.direction}): in back-off, skipped", highlight=False)
            continue
        line = (
            f"{r.peer} link {r.link_id} ({r.direction}): {r.objects} version(s), {r.duplicates} duplicate(s), "
            f"{r.held_back} held back by TLP, {r.refused} refused, {r.deleted} deleted, {r.pages} page(s)"
        )
        out.print(line, highlight=False)
        if r.error:
            ok = False
            err.print(f"[red]error:[/red] {r.peer} link {r.link_id}: {r.error}", highlight=False, markup=True)
    return ok


@peer_app.command("sync")
def peer_sync(
    name: Annotated[str | None, typer.Argument(help="only this peer (default: all)")] = None,
    loop: Annotated[bool, typer.Option(help="keep syncing every --interval seconds, honouring back-off")] = False,
    interval: Annotated[float, typer.Option(help="seconds between rounds with --loop")] = 30.0,
    page_size: Annotated[int, typer.Option(help="objects per request")] = 500,
    retries: Annotated[int, typer.Option(help="tries per request before the attempt fails")] = 3,
    timeout: Annotated[float, typer.Option(help="HTTP timeout (seconds)")] = 10.0,
    backoff: Annotated[float, typer.Option(help="first back-off after a failed attempt (seconds); doubles")] = 30.0,
) -> None:
    """Sync linked collections with peers: pull, push, revocations, deletions; resumes from checkpoints."""
    from accord.db import make_sessionmaker
    from accord.migrate import ensure_current

    settings = _settings()
    engine = _engine(settings)
    try:
        ensure_current(engine)
    except AccordError as exc:
        _fail(exc)
    sessions = make_sessionmaker(engine)
    options = _options(page_size, retries, timeout, backoff)
    try:
        if not loop:  # a manual run ignores back-off
            if not _run_once(sessions, name, True, options):
                raise typer.Exit(1)
            return
        while True:
            _run_once(sessions, name, False, options)
            time.sleep(interval)
    except AccordError as exc:
        _fail(exc)
    except KeyboardInterrupt:
        err.print("stopped")
    finally:
        engine.dispose()


if __name__ == "__main__":  # python -m accord.cli.federation …, before the command is registered in main
    peer_app()
