"""``accord data check``: validate references and provenance of everything stored in the node."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accord.core.errors import Problem
from accord.directory.models import Membership, Organisation, State
from accord.incidents.models import Attribution, Incident, NormFinding, Response, ThreatActor
from accord.norms.models import Commitment, Instrument

_SOURCED = (
    State,
    Organisation,
    Membership,
    Instrument,
    Commitment,
    ThreatActor,
    Incident,
    Attribution,
    Response,
    NormFinding,
)


def _label(obj: Any) -> str:
    key = getattr(obj, "slug", None) or getattr(obj, "code", None) or getattr(obj, "id", None)
    return f"{obj.__tablename__}[{key}]"


def check_data(session: Session, *, today: dt.date | None = None) -> tuple[dict[str, int], list[Problem]]:
    """Every record has a source URL and an as-of date not in the future; cross-record facts agree."""
    today = today or dt.datetime.now(dt.UTC).date()
    problems: list[Problem] = []
    counts: dict[str, int] = {}
    for model in _SOURCED:
        n = 0
        for obj in session.scalars(select(model)):
            n += 1
            if not obj.sources or not all(
                isinstance(u, str) and u.startswith(("http://", "https://")) for u in obj.sources
            ):
                problems.append(Problem(_label(obj), "no valid source URL"))
            if obj.as_of is None:
                problems.append(Problem(_label(obj), "no as-of date"))
            elif obj.as_of > today:
                problems.append(Problem(_label(obj), f"as-of date {obj.as_of} is in the future"))
        counts[model.__tablename__] = n
    for inc in session.scalars(select(Incident)):
        if inc.end_date and inc.start_date and inc.end_date < inc.start_date:
            problems.append(Problem(_label(inc), "ends before it starts"))
    for att in session.scalars(select(Attribution)):
        parties = [p for p in (att.by_state, att.by_organisation, att.by_company) if p]
        if len(parties) != 1:
            problems.append(Problem(_label(att), "must have exactly one attributing party"))
        if att.attributed_state is None and att.attributed_actor_id is None and not att.attributed_unit:
            problems.append(Problem(_label(att), "attributes the incident to nobody"))
    for m in session.scalars(select(Membership)):
        if m.joined and m.left and m.left < m.joined:
            problems.append(Problem(_label(m), "left before joining"))
    un_members = session.scalar(select(func.count()).select_from(State).where(State.un_status == "member")) or 0
    if counts.get("states") and un_members != 193:
        problems.append(Problem("states", f"{un_members} UN member states, expected 193"))
    return counts, problems
