"""``accord ping``: reachability checks of the points-of-contact directory from the command line.

    accord ping campaign add NAME [--scope all|region|organisation|state --value V] [--role R]
                                  [--window-hours H] [--reminder H ...] [--repeat-days D]
    accord ping campaign list
    accord ping run CAMPAIGN_ID
    accord ping report RUN_ID [--json]

A run only enqueues its checks and schedules its reminders; the worker (``accord serve`` or ``accord
worker``) delivers them and fires the timers.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from accord.cli.common import _accounts_session, _cli_actor, _fail, _settings, out
from accord.core.errors import AccordError

ping_app = typer.Typer(help="Reachability checks (ping tests) of points of contact.", no_args_is_help=True)
campaign_app = typer.Typer(help="Reachability campaigns.", no_args_is_help=True)
ping_app.add_typer(campaign_app, name="campaign")


def _pct(rate: float | None) -> str:
    return "" if rate is None else f"{rate * 100:.0f} %"


@campaign_app.command("add")
def campaign_add(
    name: str,
    scope: Annotated[str, typer.Option(help="all, region, organisation (its current members) or state")] = "all",
    value: Annotated[str | None, typer.Option(help="the M49 region, organisation code or state code")] = None,
    role: Annotated[str | None, typer.Option(help="only contacts of this role (technical, diplomatic, …)")] = None,
    window_hours: Annotated[int, typer.Option(help="hours contacts have to acknowledge")] = 72,
    reminder: Annotated[list[int] | None, typer.Option(help="remind after H hours (repeatable)")] = None,
    repeat_days: Annotated[int | None, typer.Option(help="run again every D days")] = None,
) -> None:
    """Create a reachability campaign; prints its id."""
    from accord.crisis import ping

    try:
        with _accounts_session(_settings()) as session:
            campaign = ping.create_campaign(
                session,
                name=name,
                scope=scope,
                scope_value=value,
                role=role,
                window_hours=window_hours,
                reminder_hours=reminder or [],
                repeat_days=repeat_days,
                actor=_cli_actor(),
            )
            campaign_id = campaign.id
    except AccordError as exc:
        _fail(exc)
    out.print(str(campaign_id), highlight=False)


@campaign_app.command("list")
def campaign_list() -> None:
    """List campaigns with their latest run's response rate and median acknowledgement time."""
    from accord.crisis import ping

    table = Table("id", "name", "checks", "window", "repeats", "latest run", "sent", "rate", "median")
    with _accounts_session(_settings()) as session:
        campaigns = ping.list_campaigns(session)
        latest = ping.latest_runs(session, (c.id for c in campaigns))
        for c in campaigns:
            run, f = latest.get(c.id, (None, None))
            table.add_row(
                str(c.id),
                c.name,
                ping.describe_scope(c),
                f"{c.window_hours} h",
                (f"every {c.repeat_days} d" + ("" if c.active else " (stopped)")) if c.repeat_days else "no",
                f"{run.id} ({ping.utc(run.started_at):%Y-%m-%d %H:%M})" if run else "never",
                str(f.sent) if f else "",
                _pct(f.rate) if f else "",
                f.median if f else "",
            )
    out.print(table)


@ping_app.command("run")
def run(campaign_id: int) -> None:
    """Run a campaign now: one check per current point of contact in scope; prints the run id."""
    from accord.crisis import ping
    from accord.crisis.service import Node
    from accord.db import utcnow

    settings = _settings()
    try:
        with _accounts_session(settings) as session:
            started = ping.start_run(
                session, Node.from_settings(settings), campaign_id, now=utcnow(), actor=_cli_actor()
            )
            run_id, sent = started.id, ping.run_figures(session, started.id).sent
    except AccordError as exc:
        _fail(exc)
    out.print(f"run {run_id}: {sent} check{'' if sent == 1 else 's'} sent", highlight=False)


@ping_app.command("report")
def report(
    run_id: int, as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False
) -> None:
    """Show a run's report: response rate and median time, in total and by region, role and state."""
    from accord.crisis import ping
    from accord.db import utcnow

    try:
        with _accounts_session(_settings()) as session:
            result = ping.run_report(session, run_id)
            if as_json:
                typer.echo(json.dumps(result.as_dict(utcnow()), indent=2, ensure_ascii=False))
                return
            t = result.report.totals
            out.print(
                f"{result.campaign.name} — run {result.run.id}, {ping.run_status(result.run, utcnow())}: "
                f"{t.acknowledged} of {t.sent} acknowledged ({_pct(t.rate) or '-'}), median {t.median or '-'}",
                highlight=False,
            )
            for title, groups in (
                ("region", result.report.by_region),
                ("role", result.report.by_role),
                ("state", result.report.by_state),
            ):
                table = Table(title, "sent", "acknowledged", "rate", "median", title=f"by {title}")
                for g in groups:
                    f = g.figures
                    table.add_row(g.label, str(f.sent), str(f.acknowledged), _pct(f.rate), f.median)
                out.print(table)
    except AccordError as exc:
        _fail(exc)
