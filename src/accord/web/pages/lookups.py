"""Names for the ids a page shows (incidents, actors, provisions), read through the ORM identity map."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.incidents.models import Incident, ThreatActor
from accord.norms.models import Provision


def _by_id(session: Session, model: type[Any], ids: Iterable[int | None]) -> dict[int, Any]:
    found = {}
    for i in {i for i in ids if i is not None}:
        obj = session.get(model, i)
        if obj is not None:
            found[i] = obj
    return found


def incidents_by_id(session: Session, ids: Iterable[int | None]) -> dict[int, Incident]:
    return _by_id(session, Incident, ids)


def actors_by_id(session: Session, ids: Iterable[int | None]) -> dict[int, ThreatActor]:
    return _by_id(session, ThreatActor, ids)


def provisions_by_id(session: Session, ids: Iterable[int | None]) -> dict[int, Provision]:
    return _by_id(session, Provision, ids)


def incident_by_ref(session: Session, ref: str) -> Incident | None:
    """An incident by numeric id or by slug (search results link by slug)."""
    if ref.isdecimal() and len(ref) < 10:
        return session.get(Incident, int(ref))
    return session.scalar(select(Incident).where(Incident.slug == ref))
