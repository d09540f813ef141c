"""Observations over HTTP: ``POST /api/v1/match`` matches what a sensor saw against the node's active indicators
and records the matches as sightings.

Thin: read the body, call ``accord.matching.service.match_inputs``, commit (a dry run rolls back), serialise.
The body is a STIX 2.1 bundle (or a JSON array of bundles), JSONL or CSV observables, or a Zeek ``conn.log`` /
``dns.log`` (``kind`` or detected). Matching against indicators reveals them, so it needs ``kb:write`` (analyst, admin);
the answer names only the indicators the caller may see under the hub's TLP rules. A bad line refuses the
whole body (problem+json naming the line) and nothing is recorded.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from accord.audit.service import Actor
from accord.auth.access import write_access
from accord.core.errors import AccordError, Invalid, Problem
from accord.matching import service
from accord.matching import sightings as sightings_service
from accord.web.deps import DbSession
from accord.web.security import verify_csrf

router = APIRouter(tags=["matching"])
MAX_BYTES = 20 * 2**20
Writer = Annotated[Any, Depends(write_access("kb:write", verify_csrf))]


class TooLarge(AccordError):
    status = 413
    title = "Payload too large"
    slug = "payload-too-large"


@router.post(
    "/api/v1/match",
    summary="Match observations against the node's indicators and record sightings",
    responses={
        413: {"description": f"body larger than {MAX_BYTES // 2**20} MiB"},
        422: {"description": "a bad line or object (problem+json naming it); nothing recorded"},
    },
)
async def post_match(
    request: Request,
    session: DbSession,
    user: Writer,
    kind: Annotated[Literal["auto", "bundle", "jsonl", "csv", "zeek"], Query(description="input format")] = "auto",
    dry_run: Annotated[bool, Query(description="match and report, record no sighting")] = False,
) -> JSONResponse:
    raw = await request.body()
    if len(raw) > MAX_BYTES:
        raise TooLarge(f"at most {MAX_BYTES // 2**20} MiB per request", [Problem("body", f"{len(raw)} bytes")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Invalid("the body is not UTF-8 text", [Problem("body", str(exc))]) from exc
    if not text.strip():
        raise Invalid("nothing to match", [Problem("body", "empty")])
    return JSONResponse(await run_in_threadpool(_match, session, user, text, kind, dry_run))


def _match(session: Any, user: Any, text: str, kind: str, dry_run: bool) -> dict[str, Any]:
    run = service.match_inputs(
        session, [text.splitlines(keepends=True)], kind=kind, actor=Actor.of(user), record=not dry_run
    )
    if dry_run:
        session.rollback()
    else:
        session.commit()
    return _answer(session, run, user)


def _answer(session: Any, run: service.MatchRun, user: Any) -> dict[str, Any]:
    """The run as JSON, naming only the matched indicators ``user`` may see in the hub (the others are counted)."""
    views = sightings_service.indicator_views(session, run.report.by_indicator, user=user)
    visible = [(i, n) for i, n in run.by_indicator() if views.get(i) is not None and views[i].visible]
    return {
        "observations": run.report.observations,
        "skipped_lines": run.skipped_lines,
        "matches": run.report.matches,
        "suppressed_by": run.suppressed_by,
        "recorded": run.recorded,
        "sightings_created": run.sightings_created,
        "sightings_updated": run.sightings_updated,
        "by_indicator": [{"indicator_id": i, "name": views[i].name, "matches": n} for i, n in visible],
        "not_shown": len(run.report.by_indicator) - len(visible),  # matched indicators the caller may not see
    }
