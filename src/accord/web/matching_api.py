"""Observations over HTTP: ``POST /api/v1/match`` matches what a sensor saw against the node's active indicators
and records the matches as sightings.

Thin: read the body, call ``accord.matching.inputs`` and ``accord.matching.service``, serialise. The body is a
STIX 2.1 bundle (or a JSON array of bundles), JSONL or CSV observables, or a Zeek ``conn.log`` / ``dns.log``
(``kind`` or detected). Matching against indicators reveals them, so it needs ``kb:write`` (analyst, admin);
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
    return JSONResponse(await run_in_threadpool(run_match, session, user, text, kind, dry_run))


def run_match(session: Any, user: Any, text: str, kind: str, dry_run: bool) -> dict[str, Any]:
    from accord.matching.inputs import ImportStats, iter_observations

    stats = ImportStats()
    observations = list(iter_observations(text.splitlines(keepends=True), kind, stats=stats))
    collected: list[Any] = []
    wl = service.default_warning_lists()
    report = service.match_and_record(
        session, [observations], matcher=service.node_matcher(session), actor=Actor.of(user), warning_lists=wl,
        record=not dry_run, collect=collected,
    )  # fmt: skip
    if dry_run:
        session.rollback()
    else:
        session.commit()
    views = sightings_service.indicator_views(session, report.by_indicator, user=user)
    visible = {i: n for i, n in report.by_indicator.items() if views.get(i) is not None and views[i].visible}
    suppressed = service.suppressed_by(collected, wl)
    return {
        "observations": report.observations,
        "skipped_lines": stats.skipped,
        "matches": report.matches,
        "suppressed_by": suppressed,
        "recorded": not dry_run,
        "sightings_created": 0 if dry_run else report.sightings_new,
        "sightings_updated": 0 if dry_run else report.sightings_updated,
        "by_indicator": [
            {"indicator_id": i, "name": views[i].name, "matches": n}
            for i, n in sorted(visible.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "not_shown": len(report.by_indicator) - len(visible),  # matched indicators the caller may not see
    }
