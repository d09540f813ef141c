"""``accord case``, ``accord ledger``, ``accord policy`` and ``accord worker``: crisis diplomacy from the shell."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from accord.cli.common import _accounts_session, _engine, _fail, _settings, err, out
from accord.core.errors import AccordError

case_app = typer.Typer(help="Crisis cases: open, send messages, acknowledge, close.", no_args_is_help=True)
ledger_app = typer.Typer(help="The signed, hash-chained record of each case.", no_args_is_help=True)
policy_app = typer.Typer(help="Escalation ladders per dyad.", no_args_is_help=True)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _actor() -> str:
    import getpass

    return f"cli:{getpass.getuser()}"


def _node() -> Any:
    from accord.crisis.service import Node, use_node

    node = Node.from_settings(_settings())
    use_node(node)
    return node


@case_app.command("open")
def case_open(
    title: str,
    counterpart: Annotated[str, typer.Option(help="ISO code of the counterpart state")],
    incident: Annotated[int | None, typer.Option(help="id of the incident the case is about")] = None,
    tlp: Annotated[str, typer.Option(help="clear, green, amber, amber+strict or red")] = "amber",
    language: Annotated[str, typer.Option(help="language of the case's messages")] = "en",
) -> None:
    """Open a crisis case with a counterpart state (its ladder comes from the dyad's policy)."""
    from accord.crisis import service

    try:
        with _accounts_session(_settings()) as session:
            case = service.open_case(
                session,
                _node(),
                title=title,
                counterpart_state=counterpart.upper(),
                incident_id=incident,
                tlp=tlp,
                language=language,
                actor=_actor(),
                now=_now(),
            )
            out.print(f"case {case.uid} opened with {case.counterpart_state} (level {case.level})", highlight=False)
    except AccordError as exc:
        _fail(exc)


@case_app.command("list")
def case_list(status: Annotated[str | None, typer.Option(help="open or closed")] = None) -> None:
    """List cases, newest first."""
    from accord.crisis import service

    with _accounts_session(_settings()) as session:
        table = Table("uid", "title", "counterpart", "level", "status", "opened")
        for case in service.list_cases(session, status):
            table.add_row(
                case.uid, case.title, case.counterpart_state, case.level, case.status, case.opened_at.isoformat()
            )
        out.print(table)


@case_app.command("send")
def case_send(
    case: str,
    kind: Annotated[str, typer.Option(help="notification, request-information, request-assistance, …")],
    summary: Annotated[str | None, typer.Option(help="incident summary")] = None,
    action: Annotated[str | None, typer.Option(help="requested action (default: the template's)")] = None,
    body: Annotated[str | None, typer.Option(help="body text (default: the template's)")] = None,
    urgency: Annotated[str, typer.Option(help="routine, priority, immediate or flash")] = "priority",
    reply_to: Annotated[str | None, typer.Option(help="uid of the message this one answers")] = None,
) -> None:
    """Compose a message from its template and send it to the counterpart's contacts at the case's level."""
    from accord.crisis import service

    try:
        with _accounts_session(_settings()) as session:
            msg = service.send_message(
                session,
                _node(),
                service.get_case(session, case),
                kind=kind,
                actor=_actor(),
                now=_now(),
                incident_summary=summary,
                requested_action=action,
                body=body,
                urgency=urgency,
                in_reply_to=reply_to,
            )
            who = ", ".join(f"{r['name']} ({r['channel']})" for r in msg.recipients) or "no contact"
            out.print(f"message {msg.uid} sent to {who}; acknowledge by {msg.ack_due.isoformat()}", highlight=False)
    except AccordError as exc:
        _fail(exc)


@case_app.command("ack")
def case_ack(message: str, by: Annotated[str, typer.Option(help="who acknowledges")] = "") -> None:
    """Acknowledge a received message (or record that a sent one was acknowledged by other means)."""
    from accord.crisis import service

    try:
        with _accounts_session(_settings()) as session:
            msg = service.get_message(session, message)
            done = service.acknowledge(session, _node(), msg, by=by or _actor(), now=_now(), via="cli")
            out.print("acknowledged" if done else "already acknowledged", highlight=False)
    except AccordError as exc:
        _fail(exc)


@case_app.command("show")
def case_show(case: str) -> None:
    """A case's messages with their deadlines and state."""
    from accord.crisis import service

    try:
        with _accounts_session(_settings()) as session:
            c = service.get_case(session, case)
            out.print(f"{c.title} — {c.counterpart_state}, level {c.level}, {c.status}", highlight=False)
            table = Table("sent", "dir", "kind", "level", "ack due", "acknowledged", "reply due", "replied")
            for m in service.messages_of(session, c):
                table.add_row(
                    m.created_at.isoformat(timespec="minutes"),
                    m.direction,
                    m.kind,
                    m.level,
                    m.ack_due.isoformat(timespec="minutes") if m.ack_due else "",
                    m.acknowledged_at.isoformat(timespec="minutes") if m.acknowledged_at else "-",
                    m.reply_due.isoformat(timespec="minutes") if m.reply_due else "",
                    m.replied_at.isoformat(timespec="minutes") if m.replied_at else "-",
                )
            out.print(table)
    except AccordError as exc:
        _fail(exc)


@case_app.command("close")
def case_close(case: str, reason: Annotated[str, typer.Option(help="outcome, for the record")]) -> None:
    """Close a case without a closure message (e.g. settled by other channels)."""
    from accord.crisis import service

    try:
        with _accounts_session(_settings()) as session:
            service.close_case(
                session, _node(), service.get_case(session, case), actor=_actor(), now=_now(), reason=reason
            )
            out.print("closed", highlight=False)
    except AccordError as exc:
        _fail(exc)


@ledger_app.command("verify")
def ledger_verify(case: str) -> None:
    """Check a case's ledger: every hash, chain link and signature. Exit 1 if anything was tampered with."""
    from accord.crisis import ledger, service
    from accord.crisis.node import own_keys

    try:
        with _accounts_session(_settings()) as session:
            result = ledger.verify(session, service.get_case(session, case), own_keys(_settings()))
    except AccordError as exc:
        _fail(exc)
    if result.ok:
        out.print(result.summary(), highlight=False)
        return
    err.print(f"[red]{result.summary()}[/red]", highlight=False)
    raise typer.Exit(1)


@ledger_app.command("export")
def ledger_export(
    case: str,
    output: Annotated[Path, typer.Option("--out", "-o", help="file to write")],
    format: Annotated[str, typer.Option("--format", "-f", help="html, pdf or json")] = "html",
) -> None:
    """Export a case for the archive (timeline, ledger, verification result) as HTML, PDF or JSON."""
    from accord.crisis import export, service

    settings = _settings()
    try:
        with _accounts_session(settings) as session:
            record = export.case_record(session, service.get_case(session, case), settings)
            if format == "html":
                output.write_text(export.to_html(record), encoding="utf-8")
            elif format == "pdf":
                output.write_bytes(export.to_pdf(record))
            elif format == "json":
                output.write_text(json.dumps(record, indent=2, default=str), encoding="utf-8")
            else:
                err.print(f"error: unknown format {format!r} (html, pdf or json)", highlight=False)
                raise typer.Exit(1)
    except AccordError as exc:
        _fail(exc)
    out.print(f"{output}: {record['verification']['summary']}", highlight=False)


@policy_app.command("set")
def policy_set(
    ladder: Annotated[
        str, typer.Argument(help='JSON list, e.g. [{"level":"technical","ack_hours":4,"reply_hours":24}]')
    ],
    state_a: Annotated[str | None, typer.Option("--from", help="origin state (unset: any)")] = None,
    state_b: Annotated[str | None, typer.Option("--to", help="counterpart state (unset: any)")] = None,
) -> None:
    """Set the escalation ladder for a dyad (or the node default when both are unset)."""
    from accord.core.errors import Invalid, Problem
    from accord.crisis import service

    try:
        rungs = json.loads(ladder)
        if not isinstance(rungs, list) or not all(isinstance(r, dict) for r in rungs):
            raise ValueError
    except ValueError:
        _fail(Invalid("the ladder is not a JSON list of rungs", [Problem("ladder", "not valid JSON")]))
    try:
        with _accounts_session(_settings()) as session:
            service.set_policy(
                session, state_a.upper() if state_a else None, state_b.upper() if state_b else None, rungs
            )
    except AccordError as exc:
        _fail(exc)
    out.print("policy saved", highlight=False)


@policy_app.command("list")
def policy_list() -> None:
    """Escalation ladders per dyad."""
    from accord.crisis import service

    with _accounts_session(_settings()) as session:
        table = Table("from", "to", "ladder")
        for p in service.list_policies(session):
            ladder = " → ".join(f"{r['level']} (ack {r['ack_hours']} h, reply {r['reply_hours']} h)" for r in p.ladder)
            table.add_row(p.state_a or "any", p.state_b or "any", ladder)
        out.print(table)


def worker(
    once: Annotated[bool, typer.Option("--once", help="one pass, then exit")] = False,
    until_idle: Annotated[bool, typer.Option("--until-idle", help="loop until nothing is due, then exit")] = False,
    name: Annotated[str | None, typer.Option("--id", help="worker name recorded on what it fires")] = None,
) -> None:
    """Fire due deadlines and deliver the outbox (any number of workers may run; nothing is done twice)."""
    import threading

    from accord.crisis import worker as work
    from accord.db import make_sessionmaker
    from accord.migrate import ensure_current

    settings = _settings()
    engine = _engine(settings)
    try:
        ensure_current(engine)
    except AccordError as exc:
        _fail(exc)
    factory = make_sessionmaker(engine)
    if once or until_idle:
        total = {"timers": 0, "deliveries": 0}
        while True:
            done = work.run_once(factory, settings, worker_id=name)
            total = {k: total[k] + done[k] for k in total}
            if once or not any(done.values()):
                break
        out.print(f"fired {total['timers']} deadline(s), attempted {total['deliveries']} delivery(ies)")
        return
    out.print(f"worker running (every {settings.worker_poll_seconds} s); Ctrl-C stops it")
    stop = threading.Event()
    try:
        work.run_forever(factory, settings, stop, worker_id=name)
    except KeyboardInterrupt:
        stop.set()
