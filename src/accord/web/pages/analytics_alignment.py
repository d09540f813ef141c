"""Alignment and consensus pages: ``/analytics/alignment`` (a forum's states compared: one state's similarities
as a sortable table, blocs as a chart and a table, change over time) and ``/analytics/consensus`` (support for a
package of provisions in a forum, holdouts and blockers, the persuasion set found exactly and greedily).

Public read like the other knowledge-base pages; GET forms, so every view has an address. A bad field is
reported next to it and ignored — the rest is still shown. The figures come from
:mod:`accord.analytics.alignment` and :mod:`accord.analytics.consensus` through the same functions as the REST
API; charts are drawn by /static/js/analytics_alignment.js from a JSON block.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from accord.analytics import alignment as al
from accord.analytics import consensus as cs
from accord.core.errors import Invalid, Problem
from accord.web import analytics_alignment_api as api
from accord.web.deps import DbSession
from accord.web.pages.common import organisations, provision_choices, render, state_names
from accord.web.templating import query

router = APIRouter()
SECTION = [  # the analytics pages (dyads, trends and tension: accord.web.pages.analytics_dyads)
    ("/analytics/dyads", "Dyads"),
    ("/analytics/trends", "Trends"),
    ("/analytics/tension", "Tension"),
    ("/analytics/alignment", "Alignment and blocs"),
    ("/analytics/consensus", "Consensus finder"),
]
SORTS = {"similarity": "Similarity", "name": "State", "shared": "Shared", "bloc": "Bloc"}
PARTNERS = 5  # partners drawn on the over-time chart
FIRST_YEAR = 2001  # the Budapest Convention opened for signature in November 2001: nothing to compare before
TABLE_CHANGES = 20
SINCE_YEARS = 5
EXAMPLES = [
    ("The Budapest Convention and the Paris Call in the OSCE, two-thirds", "OSCE", "BUDAPEST,PARIS-CALL", "two_thirds"),
    ("Both Budapest protocols in the EU, by consensus", "EU", "BUDAPEST-P1,BUDAPEST-P2", "consensus"),
    ("The UN cybercrime convention at the UN, simple majority", "UN", "UN-CYBERCRIME", "majority"),
    ("The Paris Call's nine principles among the G20, two-thirds", "G20", "PARIS-CALL/*", "two_thirds"),
]


# ---------------------------------------------------------------- reading the form


@dataclass
class Form:
    """The query string as typed (``raw``), the values understood, and what was wrong with the rest."""

    raw: dict[str, str]
    problems: list[Problem] = field(default_factory=list)

    def text(self, name: str, limit: int = 200) -> str:
        value = (self.raw.get(name) or "").strip()[:limit]
        self.raw[name] = value
        return value

    def date(self, name: str) -> dt.date | None:
        text = self.text(name, 10)
        if not text:
            return None
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            day = None
        if day is None or not api.FIRST <= day <= api.LAST:
            self.problems.append(Problem(name, "give a date between 1900-01-01 and 2100-12-31 (YYYY-MM-DD)"))
            return None
        return day

    def choice(self, name: str, options: Sequence[str], default: str) -> str:
        value = self.text(name, 40)
        if value and value not in options:
            self.problems.append(Problem(name, f"one of {', '.join(options)}"))
        return value if value in options else default

    def invalid(self, exc: Invalid) -> None:
        self.problems.extend(exc.problems or [Problem("form", exc.detail)])

    def wrong(self, name: str) -> str | None:
        return next((p.reason for p in self.problems if p.field == name), None)


def forums(session: Session) -> list[tuple[str, str]]:
    """(code, name) of every organisation, the UN first, then ``custom``."""
    ordered = sorted(organisations(session), key=lambda r: (r[0] != cs.UN, r[0]))
    return [(code, f"{code} — {name}") for code, name in ordered] + [(cs.CUSTOM, "Custom list of states")]


def _forum(session: Session, form: Form, at: dt.date | None) -> cs.Forum:
    """The forum asked for; on a bad forum or state list, the problem is reported and the UN used instead."""
    forum, states = form.text("forum", 40), form.text("states", 2000)
    try:
        return api.resolve_forum(session, forum or None, states or None, at)
    except Invalid as exc:
        form.invalid(exc)
        return cs.forum_members(session, cs.UN, at=at)


# ---------------------------------------------------------------- alignment


def bloc_chart(found: al.Alignment, names: dict[str, str]) -> list[dict[str, Any]]:
    """One dataset per bloc; states at the same point (identical commitments) share one bubble."""
    points: dict[tuple[int, float, float], list[str]] = defaultdict(list)
    for p in found.states:
        points[(p.bloc, p.x, p.y)].append(p.code)
    out: dict[int, dict[str, Any]] = {}
    for (bloc, x, y), codes in sorted(points.items()):
        entry = out.setdefault(bloc, {"bloc": bloc, "size": 0, "points": []})
        entry["size"] += len(codes)
        entry["points"].append({"x": x, "y": y, "n": len(codes), "names": [names.get(c, c) for c in codes]})
    return [out[b] for b in sorted(out)]


def feature_labels(record: al.Record, features: Sequence[str]) -> dict[str, str]:
    """Instrument short names; ``invoked:X/p`` → ``invoked X/p``."""
    prefix = al.POSITION_PREFIX
    return {f: f"invoked {f.removeprefix(prefix)}" if f.startswith(prefix) else record.instruments[f] for f in features}


def year_dates(at: dt.date | None) -> list[tuple[str, dt.date]]:
    """End of every year from 2001 to ``at``'s year (or this year), the last point ``at`` itself."""
    last = at or dt.date.today()
    days = [(str(y), dt.date(y, 12, 31)) for y in range(FIRST_YEAR, last.year)]
    return [*days, (str(last.year) if at is None else last.isoformat(), last)]


def time_chart(
    record: al.Record, focus: str, similar: list[al.PairSimilarity], at: dt.date | None, names: dict[str, str]
) -> dict[str, Any]:
    """``focus``'s similarity to its closest partners, year by year."""
    partners = [r.b for r in similar if r.similarity][:PARTNERS]
    dates = year_dates(at)
    series = al.over_time(record, focus, partners, [d for _, d in dates])
    return {
        "labels": [label for label, _ in dates],
        "series": [{"label": names.get(p, p), "values": series[p]} for p in partners],
    }


def sort_rows(
    rows: list[al.PairSimilarity], key: str, descending: bool, bloc: dict[str, int], names: dict[str, str]
) -> list[al.PairSimilarity]:
    """The similarity table in the order asked; ties: most similar first, then by name."""

    def name(r: al.PairSimilarity) -> str:
        return names.get(r.b, r.b)

    if key == "name":
        return sorted(rows, key=name, reverse=descending)
    primary = {
        "similarity": lambda r: r.similarity if r.similarity is not None else -1.0,
        "shared": lambda r: r.shared,
        "bloc": lambda r: bloc[r.b],
    }[key]
    sign = -1 if descending else 1
    return sorted(rows, key=lambda r: (sign * primary(r), -(r.similarity or 0.0), name(r)))


def _sort_links(params: dict[str, str], key: str, descending: bool) -> dict[str, dict[str, Any]]:
    """Per column: the address that sorts by it (again: the other way round) and its aria-sort value."""
    out = {}
    for column in SORTS:
        natural = column in ("name", "bloc")  # ascending first; numbers descending first
        current = column == key
        next_desc = (not descending) if current else not natural
        out[column] = {
            "href": "/analytics/alignment?"
            + query(params, sort=column, dir="desc" if next_desc else "asc")
            + "#h-similar",
            "aria": ("descending" if descending else "ascending") if current else None,
        }
    return out


@router.get("/analytics/alignment", response_class=HTMLResponse, include_in_schema=False)
def alignment_page(request: Request, session: DbSession) -> HTMLResponse:
    form = Form(dict(request.query_params))
    at = form.date("at")
    since = form.date("since")
    the_forum = _forum(session, form, at)
    cut = _cut(form)
    if since is None and not form.wrong("since"):
        since = _years_before(at or dt.date.today(), SINCE_YEARS)
    record = al.load_record(session)
    found = al.alignment_of(record, the_forum.members, at=at, since=since, cut=cut)
    names = state_names(session)
    focus = _focus(form, the_forum)
    params = _params(form, the_forum, at, since, cut, focus)
    context = {
        "form": form,
        "forum": the_forum,
        "forums": forums(session),
        "found": found,
        "names": names,
        "focus": focus,
        "since": since,
        "section": SECTION,
        "api": _alignment_links(params),
        "blocs_shown": [b for b in found.blocs if len(b.members) > 1],
        "singletons": [b.members[0] for b in found.blocs if len(b.members) == 1],
        "chart": {"blocs": bloc_chart(found, names)},
        "changes": found.changes[:TABLE_CHANGES],
        "movers": found.movers[:TABLE_CHANGES],
        "sorts": SORTS,
        "members_by_name": sorted(the_forum.members, key=lambda c: names.get(c, c)),
        "bloc_members": {b.number: sorted(b.members, key=lambda c: names.get(c, c)) for b in found.blocs},
        "labels": feature_labels(record, found.features),
    }
    if focus:
        context.update(_focus_context(form, record, found, focus, at, names, params))
        context["chart"]["time"] = context["time"]
    return render(request, "analytics/alignment.html", context)


def _cut(form: Form) -> float:
    text = form.text("cut", 10)
    if not text:
        return al.DEFAULT_CUT
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.05 <= value <= 1.0:
        form.problems.append(Problem("cut", "give a distance between 0.05 and 1"))
        return al.DEFAULT_CUT
    return value


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _focus(form: Form, forum: cs.Forum) -> str | None:
    code = form.text("state", 2).upper()
    if code and code not in forum.members:
        form.problems.append(Problem("state", f"{code} is not among the forum's members"))
        return None
    return code or None


def _params(
    form: Form, forum: cs.Forum, at: dt.date | None, since: dt.date | None, cut: float, focus: str | None
) -> dict[str, str]:
    params = {"forum": forum.key, "states": " ".join(forum.members) if forum.key == cs.CUSTOM else ""}
    params |= {"at": at.isoformat() if at else "", "since": since.isoformat() if since else ""}
    return params | {"cut": "" if cut == al.DEFAULT_CUT else f"{cut:g}", "state": focus or ""}


def _alignment_links(params: dict[str, str]) -> dict[str, str]:
    base = "/api/v1/analytics/alignment?"
    tables = ("pairs", "states", "blocs", "changes", "movers", "similar")
    links = {t: base + query(params, format="csv", table=t) for t in tables}
    return links | {"json": base + query(params)}


def _focus_context(
    form: Form,
    record: al.Record,
    found: al.Alignment,
    focus: str,
    at: dt.date | None,
    names: dict[str, str],
    params: dict[str, str],
) -> dict[str, Any]:
    key = form.choice("sort", list(SORTS), "similarity")
    descending = form.choice("dir", ["asc", "desc"], "asc" if key in ("name", "bloc") else "desc") == "desc"
    similar = al.similar_to(found, focus)
    bloc = {p.code: p.bloc for p in found.states}
    point = next(p for p in found.states if p.code == focus)
    return {
        "similar": sort_rows(similar, key, descending, bloc, names),
        "closest": similar[:PARTNERS],
        "sort": key,
        "descending": descending,
        "sort_links": _sort_links({k: v for k, v in params.items() if k not in ("sort", "dir")}, key, descending),
        "bloc_of": bloc,
        "point": point,
        "time": time_chart(record, focus, similar, at, names),
    }


# ---------------------------------------------------------------- consensus


def consensus_chart(report: cs.ConsensusReport) -> dict[str, Any]:
    """Per provision: supporters, the supporters still needed, and the other members without recorded support."""
    return {
        "labels": [s.item.ref for s in report.items],
        "supporters": [len(s.supporters) for s in report.items],
        "needed": [s.deficit for s in report.items],
        "rest": [len(s.no_record) - s.deficit for s in report.items],
        "required": report.required,
    }


def _package(request: Request, form: Form) -> list[str]:
    """The provisions picked (repeated ``provisions`` fields, or one comma-separated field)."""
    refs: list[str] = []
    for value in request.query_params.getlist("provisions")[:200]:
        refs += [r.strip() for r in value.replace(" ", ",").split(",") if r.strip()]
    refs = list(dict.fromkeys(r[:120] for r in refs))
    form.raw["provisions"] = ",".join(refs)
    return refs


@router.get("/analytics/consensus", response_class=HTMLResponse, include_in_schema=False)
def consensus_page(request: Request, session: DbSession) -> HTMLResponse:
    form = Form(dict(request.query_params))
    at = form.date("at")
    refs = _package(request, form)
    threshold = form.choice("threshold", list(cs.THRESHOLDS), "consensus")
    method = form.choice("method", list(cs.METHODS), "auto")
    basis = form.choice("basis", list(cs.SUPPORT), "signed")
    the_forum = _forum(session, form, at)
    report = None
    if refs:
        try:
            report = cs.consensus(
                session,
                forum=the_forum.key,
                states=the_forum.members if the_forum.key == cs.CUSTOM else (),
                provisions=refs,
                threshold=threshold,
                at=at,
                method=method,
                basis=basis,
            )
        except Invalid as exc:
            form.invalid(exc)
    params = {
        "forum": the_forum.key,
        "states": " ".join(the_forum.members) if the_forum.key == cs.CUSTOM else "",
        "provisions": ",".join(refs),
        "threshold": threshold,
        "at": at.isoformat() if at else "",
        "method": method,
        "basis": basis,
    }
    return render(
        request,
        "analytics/consensus.html",
        {
            "form": form,
            "forum": the_forum,
            "forums": forums(session),
            "refs": set(refs),
            "options": provision_choices(session),
            "threshold": threshold,
            "method": method,
            "basis": basis,
            "thresholds": cs.THRESHOLDS,
            "report": report,
            "names": state_names(session),
            "section": SECTION,
            "chart": consensus_chart(report) if report else None,
            "examples": [
                (text, "/analytics/consensus?" + query({"forum": f, "provisions": p, "threshold": t}))
                for text, f, p, t in EXAMPLES
            ],
            "api": {
                t: "/api/v1/analytics/consensus?" + query(params, format="csv", table=t)
                for t in ("provisions", "holdouts", "persuasion")
            }
            | {"json": "/api/v1/analytics/consensus?" + query(params)},
        },
    )
