"""REST API of alignment and the consensus finder.

    GET /api/v1/analytics/alignment   similarities, blocs, embedding and changes of a forum's states  (read)
    GET /api/v1/analytics/consensus   support for provisions in a forum, holdouts, the persuasion set   (read)

Public read like the rest of the knowledge base. ``?format=csv`` returns one of the tables as CSV (``table=``
chooses which). Definitions — the similarity, blocs, support, thresholds, the covering problem and its two
solvers — are in the docstrings of :mod:`accord.analytics.alignment` and :mod:`accord.analytics.consensus`.
Bad input is a 422 problem+json naming the field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from accord.analytics import alignment as al
from accord.analytics import consensus as cs
from accord.auth.access import read_access
from accord.core.errors import Invalid, Problem
from accord.core.types import country_name
from accord.web.attribution_insights_api import CSV_OK, csv_response
from accord.web.deps import DbSession

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])

Reader = Annotated[Any, Depends(read_access("read"))]
Format = Annotated[Literal["json", "csv"], Query(description="csv: the table named by `table`")]
FIRST, LAST = dt.date(1900, 1, 1), dt.date(2100, 12, 31)
Day = Annotated[dt.date | None, Query(ge=FIRST, le=LAST, description="as of this day (default: everything recorded)")]
ForumParam = Annotated[
    str | None,
    Query(
        max_length=40,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$",
        description="an organisation code (UN, OSCE, EU, …) or `custom` with `states`; default UN, or custom when "
        "`states` is given",
    ),
]
StatesParam = Annotated[
    str | None,
    Query(max_length=2000, pattern=r"^[A-Za-z, ]*$", description="ISO 3166-1 alpha-2 codes, comma-separated"),
]
WHICH = "the table CSV returns (with format=csv)"


def split_codes(text: str | None) -> list[str]:
    return [c.strip().upper() for c in (text or "").replace(" ", ",").split(",") if c.strip()]


def resolve_forum(session: Session, forum: str | None, states: str | None, at: dt.date | None) -> cs.Forum:
    """``forum`` as given; without it, a custom list when ``states`` are given, else the UN."""
    codes = split_codes(states)
    key = forum or (cs.CUSTOM if codes else cs.UN)
    return cs.forum_members(session, key, states=codes, at=at)


def name(code: str) -> str:
    return country_name(code) or code


# ---------------------------------------------------------------- alignment


@dataclass(frozen=True)
class AlignmentOut:
    forum: cs.Forum
    alignment: al.Alignment
    similar: list[al.PairSimilarity] | None  # to ``state``, when asked


def alignment_report(
    session: Session,
    *,
    forum: str | None,
    states: str | None,
    at: dt.date | None,
    since: dt.date | None,
    cut: float,
    state: str | None,
) -> AlignmentOut:
    """The forum's alignment, and ``state``'s similarities when it is one of the forum's states."""
    the_forum = resolve_forum(session, forum, states, at)
    focus = state.strip().upper() if state else None
    if focus and focus not in the_forum.members:
        raise Invalid("state not compared", [Problem("state", f"{focus} is not among the forum's members")])
    found = al.alignment_of(al.load_record(session), the_forum.members, at=at, since=since, cut=cut)
    return AlignmentOut(the_forum, found, al.similar_to(found, focus) if focus else None)


def _profile(b: al.Bloc) -> str:
    return "; ".join(f"{k}: {v}" for k, v in b.profile.items())


def _statuses(p: al.StatePoint) -> str:
    return "; ".join(f"{k}: {v}" for k, v in sorted(p.statuses.items()))


def _alignment_csv(out: AlignmentOut, table: str) -> Response:
    found = out.alignment
    bloc = {p.code: p.bloc for p in found.states}
    if table == "similar":
        if out.similar is None:
            raise Invalid("no state", [Problem("state", "table=similar needs a state")])
        header = ["state", "other", "other_name", "similarity", "shared", "either", "other_bloc"]
        focus = out.similar[0].a if out.similar else ""
        rows: Iterable[list[Any]] = (
            [r.a, r.b, name(r.b), r.similarity, r.shared, r.either, bloc[r.b]] for r in out.similar
        )
        return csv_response(f"alignment-{focus}", header, rows)
    if table == "blocs":
        header = ["bloc", "size", "cohesion", "members", "profile"]
        rows = (
            [
                b.number,
                len(b.members),
                b.cohesion,
                " ".join(b.members),
                "; ".join(f"{k}: {v}" for k, v in b.profile.items()),
            ]
            for b in found.blocs
        )
        return csv_response("alignment-blocs", header, rows)
    if table == "states":
        header = ["state", "name", "bloc", "x", "y", "recorded", "statuses"]
        rows = ([p.code, name(p.code), p.bloc, p.x, p.y, p.recorded, _statuses(p)] for p in found.states)
        return csv_response("alignment-states", header, rows)
    if table == "changes":
        header = ["state_a", "state_b", "before", "after", "change"]
        rows = ([c.a, c.b, c.before, c.after, c.change] for c in found.changes)
        return csv_response("alignment-changes", header, rows)
    if table == "movers":
        header = ["state", "name", "mean_change", "gained", "lost"]
        rows = ([m.code, name(m.code), m.mean_change, m.gained, m.lost] for m in found.movers)
        return csv_response("alignment-movers", header, rows)
    header = ["state_a", "state_b", "similarity", "shared", "either", "bloc_a", "bloc_b"]
    rows = ([r.a, r.b, r.similarity, r.shared, r.either, bloc[r.a], bloc[r.b]] for r in al.pairs(found))
    return csv_response("alignment-pairs", header, rows)


@router.get(
    "/alignment",
    response_model=AlignmentOut,
    summary="Alignment of a forum's states: weighted-Jaccard similarities, blocs, 2-D embedding, changes",
    responses={**CSV_OK, 422: {"description": "unknown forum, state or date out of range"}},
)
def alignment(
    session: DbSession,
    _user: Reader,
    forum: ForumParam = None,
    states: StatesParam = None,
    at: Day = None,
    since: Annotated[dt.date | None, Query(ge=FIRST, le=LAST, description="compare with this day")] = None,
    cut: Annotated[float, Query(ge=0.05, le=1.0, description="distance at which blocs are cut")] = al.DEFAULT_CUT,
    state: Annotated[str | None, Query(pattern=r"^[A-Za-z]{2}$", description="one state's similarities")] = None,
    matrix: Annotated[bool, Query(description="include the full similarity matrix")] = False,
    format: Format = "json",
    table: Annotated[
        Literal["pairs", "states", "blocs", "similar", "changes", "movers"], Query(description=WHICH)
    ] = "pairs",
) -> Any:
    out = alignment_report(session, forum=forum, states=states, at=at, since=since, cut=cut, state=state)
    if format == "csv":
        return _alignment_csv(out, table)
    if not matrix:
        out = AlignmentOut(out.forum, _without_matrix(out.alignment), out.similar)
    return out


def _without_matrix(found: al.Alignment) -> al.Alignment:
    return replace(found, matrix=[], shared=[])


# ---------------------------------------------------------------- consensus


def consensus_report(
    session: Session,
    *,
    forum: str | None,
    states: str | None,
    provisions: str,
    threshold: str,
    at: dt.date | None,
    method: str,
    basis: str,
) -> cs.ConsensusReport:
    codes = split_codes(states)
    key = forum or (cs.CUSTOM if codes else cs.UN)
    refs = [r.strip() for r in provisions.replace(" ", ",").split(",") if r.strip()]
    return cs.consensus(
        session, forum=key, states=codes, provisions=refs, threshold=threshold, at=at, method=method, basis=basis
    )


def _cover_rows(report: cs.ConsensusReport) -> Iterable[list[Any]]:
    for cover in (report.exact, report.greedy):
        if cover is None:
            continue
        for rank, code in enumerate(cover.states, 1):
            distance = next((h.distance for h in report.holdouts if h.code == code), None)
            chosen = cover.method == report.chosen
            yield [cover.method, chosen, cover.optimal, rank, code, name(code), distance, "; ".join(cover.gains[code])]


def _consensus_csv(report: cs.ConsensusReport, table: str) -> Response:
    if table == "holdouts":
        header = ["state", "name", "persuade", "distance", "short", "missing"]
        rows: Iterable[list[Any]] = (
            [h.code, name(h.code), h.persuade, h.distance, "; ".join(h.short), "; ".join(h.missing)]
            for h in report.holdouts
        )
        return csv_response("consensus-holdouts", header, rows)
    if table == "persuasion":
        header = ["method", "chosen", "optimal", "rank", "state", "name", "distance", "helps"]
        return csv_response("consensus-persuasion", header, _cover_rows(report))
    header = ["provision", "instrument", "title", "members", "supporters", "no_recorded_support", "required"]
    header += ["deficit", "passes", "blocking_minority", "blockers", "supporter_codes", "no_record_codes"]
    rows = (
        [
            s.item.ref,
            s.item.instrument,
            s.item.title,
            report.forum.size,
            len(s.supporters),
            len(s.no_record),
            s.required,
            s.deficit,
            s.passes,
            s.blocking_minority,
            " ".join(s.blockers),
            " ".join(s.supporters),
            " ".join(s.no_record),
        ]
        for s in report.items
    )
    return csv_response("consensus-provisions", header, rows)


@router.get(
    "/consensus",
    response_model=cs.ConsensusReport,
    summary="Support for provisions in a forum, who holds out, and the smallest set of states to persuade",
    responses={**CSV_OK, 422: {"description": "unknown forum, state, provision, threshold or method"}},
)
def consensus(
    session: DbSession,
    _user: Reader,
    provisions: Annotated[
        str,
        Query(
            min_length=1,
            max_length=4000,
            pattern=r"^[A-Za-z0-9_.+/*, -]+$",
            description="comma-separated: INSTRUMENT/code, INSTRUMENT/* (every provision) or INSTRUMENT",
            examples=["UNGGE-2015/*,BUDAPEST"],
        ),
    ],
    forum: ForumParam = None,
    states: StatesParam = None,
    threshold: Annotated[Literal["consensus", "two_thirds", "majority"], Query()] = "consensus",
    at: Day = None,
    method: Annotated[
        Literal["auto", "exact", "greedy"], Query(description="auto: both when small enough, else greedy")
    ] = "auto",
    basis: Annotated[Literal["signed", "bound"], Query(description="bound: signatures do not count")] = "signed",
    format: Format = "json",
    table: Annotated[Literal["provisions", "holdouts", "persuasion"], Query(description=WHICH)] = "provisions",
) -> Any:
    report = consensus_report(
        session,
        forum=forum,
        states=states,
        provisions=provisions,
        threshold=threshold,
        at=at,
        method=method,
        basis=basis,
    )
    if format == "csv":
        return _consensus_csv(report, table)
    return report
