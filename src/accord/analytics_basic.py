"""Small aggregates for the dashboard: attributions per year and the most frequent dyads.

A stop-gap until the ``analytics`` capability exists; both functions read, never write.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import extract, func, select
from sqlalchemy.orm import Session

from accord.incidents.models import Attribution


def attributions_per_year(session: Session) -> list[tuple[int, int]]:
    """(year, number of public attributions dated that year), oldest first, years without any included as 0;
    undated attributions are left out."""
    year = extract("year", Attribution.date)
    rows = session.execute(
        select(year, func.count()).where(Attribution.date.is_not(None)).group_by(year).order_by(year)
    )
    counts = {int(y): int(n) for y, n in rows}
    if not counts:
        return []
    return [(y, counts.get(y, 0)) for y in range(min(counts), max(counts) + 1)]


def top_pairs(session: Session, limit: int = 10) -> list[dict[str, Any]]:
    """Most frequent attributing state → attributed state pairs, counted in distinct incidents."""
    n = func.count(func.distinct(Attribution.incident_id))
    rows = session.execute(
        select(Attribution.by_state, Attribution.attributed_state, n)
        .where(Attribution.by_state.is_not(None), Attribution.attributed_state.is_not(None))
        .group_by(Attribution.by_state, Attribution.attributed_state)
        .order_by(n.desc(), Attribution.by_state, Attribution.attributed_state)
        .limit(limit)
    )
    return [{"by": by, "against": against, "incidents": int(count)} for by, against, count in rows]
