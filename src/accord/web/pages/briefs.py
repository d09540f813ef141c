"""Briefing reports: ``/briefs`` (choose), ``/briefs/states/{code}`` and ``/briefs/states/{code}.pdf`` (the
country brief), ``/briefs/forums?forum=…&provisions=…`` and ``/briefs/forums.pdf?…`` (the forum brief).

What a brief holds and where its figures come from: :mod:`accord.analytics.briefs`. Pages follow the node's
public-read rule; a brief shows points of contact and open crisis cases only to readers whose role may see them
(the same rule as the state page and the crisis room), so two readers may get different briefs.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from accord.analytics import briefs
from accord.core.errors import Invalid, NotFound
from accord.web.deps import DbSession
from accord.web.pages.capacity import history_chart
from accord.web.pages.common import organisations, provision_choices, render, state_names, user_of
from accord.web.templating import query

router = APIRouter()
_CODE = re.compile(r"^[A-Za-z]{2}$")
THRESHOLDS = {"consensus": "every member", "two_thirds": "two thirds", "majority": "a majority"}


def _code(code: str) -> str:
    if not _CODE.match(code):
        raise NotFound(f"no state with code {code!r}")
    return code.upper()


def _pdf(content: bytes, name: str) -> Response:
    headers = {"Content-Disposition": f'inline; filename="{name}.pdf"', "Cache-Control": "no-store"}
    return Response(content, media_type="application/pdf", headers=headers)


# ---------------------------------------------------------------- choosing


@router.get("/briefs", response_class=HTMLResponse, include_in_schema=False)
def briefs_index(request: Request, session: DbSession) -> Response:
    code = (request.query_params.get("state") or "").strip()
    if code:
        return RedirectResponse(f"/briefs/states/{_code(code)}", status_code=303)
    return forum_form(request, session, {}, [], 200, index=True)


def forum_form(
    request: Request, session: Session, values: dict[str, Any], problems: list[Any], status: int, index: bool = False
) -> Response:
    return render(
        request,
        "briefs/forum_form.html",
        {
            "index": index,
            "values": values,
            "problems": problems,
            "errors": {p.field: p.reason for p in problems},
            "forums": organisations(session),
            "instruments": [i for i in provision_choices(session, ". ") if i["provisions"]],
            "thresholds": THRESHOLDS,
            "states": sorted(state_names(session).items(), key=lambda kv: kv[1]),
        },
        status,
    )


# ---------------------------------------------------------------- country brief


def _country(request: Request, session: Session, code: str) -> dict[str, Any]:
    return briefs.country_brief(session, _code(code), reader=briefs.Reader.of(user_of(request)))


@router.get("/briefs/states/{code}.pdf", include_in_schema=False)
def country_brief_pdf(request: Request, session: DbSession, code: str) -> Response:
    brief = _country(request, session, code)
    return _pdf(briefs.country_pdf(brief), f"brief-{brief['state']['code']}")


@router.get("/briefs/states/{code}", response_class=HTMLResponse, include_in_schema=False)
def country_brief(request: Request, session: DbSession, code: str) -> Response:
    brief = _country(request, session, code)
    maturity = brief["capacity"]["maturity"]
    return render(
        request,
        "briefs/country.html",
        {
            "b": brief,
            "p": brief["profile"],
            "s": brief["state"],
            "charts": {h.key: history_chart(h) for h in maturity},
            "names": state_names(session),
        },
    )


# ---------------------------------------------------------------- forum brief


def _forum_params(request: Request) -> dict[str, Any]:
    provisions = [p for raw in request.query_params.getlist("provisions") for p in raw.split(",") if p.strip()]
    threshold = request.query_params.get("threshold") or "consensus"
    return {
        "forum": (request.query_params.get("forum") or "").strip()[:40],
        "provisions": [p.strip()[:80] for p in provisions[:200]],
        "threshold": threshold if threshold in THRESHOLDS else "consensus",
    }


def _forum(session: Session, values: dict[str, Any]) -> dict[str, Any]:
    return briefs.forum_brief(
        session, forum=values["forum"], provisions=values["provisions"], threshold=values["threshold"]
    )


@router.get("/briefs/forums.pdf", include_in_schema=False)
def forum_brief_pdf(request: Request, session: DbSession) -> Response:
    brief = _forum(session, _forum_params(request))
    return _pdf(briefs.forum_pdf(brief), f"forum-brief-{brief['forum']['code']}")


@router.get("/briefs/forums", response_class=HTMLResponse, include_in_schema=False)
def forum_brief(request: Request, session: DbSession) -> Response:
    values = _forum_params(request)
    if (not values["forum"] and not values["provisions"]) or request.query_params.get("edit"):
        return forum_form(request, session, values, [], 200)
    try:
        brief = _forum(session, values)
    except Invalid as exc:
        session.rollback()
        return forum_form(request, session, values, exc.problems, 422)
    params = {"forum": values["forum"], "provisions": ",".join(values["provisions"]), "threshold": values["threshold"]}
    return render(
        request,
        "briefs/forum.html",
        {
            "b": brief,
            "values": values,
            "pdf_url": "/briefs/forums.pdf?" + query(params),
            "change_url": "/briefs/forums?" + query(params, edit="1"),
            "names": state_names(session),
            "thresholds": THRESHOLDS,
        },
    )
