"""Export the node's records in the dataset format (round-trips through ``accord import``) or as CSV."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.directory.models import Membership, Organisation, State
from accord.incidents.models import Attribution, Incident, NormFinding, Response, ThreatActor
from accord.norms.models import Commitment, Instrument, Provision

_SKIP = {"created_at", "updated_at", "version"}


def _row(obj: Any, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    out = {}
    for col in obj.__table__.columns:
        if col.key in _SKIP or col.key in drop:
            continue
        value = getattr(obj, col.key)
        out[col.key] = value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value
    return out


def _group(session: Session, model: Any, key: str, drop: tuple[str, ...]) -> dict[Any, list[dict[str, Any]]]:
    groups: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for obj in session.scalars(select(model).order_by(model.id)):
        groups[getattr(obj, key)].append(_row(obj, drop))
    return groups


def export_bundle(session: Session) -> dict[str, Any]:
    members = _group(session, Membership, "organisation_code", ("id", "organisation_code"))
    provisions = _group(session, Provision, "instrument_code", ("id", "instrument_code"))
    commitments = _group(session, Commitment, "instrument_code", ("id", "instrument_code"))
    actor_ref = {a.id: a.attack_id or a.name for a in session.scalars(select(ThreatActor))}
    prov_ref = {p.id: f"{p.instrument_code}/{p.code}" for p in session.scalars(select(Provision))}
    atts = _group(session, Attribution, "incident_id", ("id", "incident_id"))
    resps = _group(session, Response, "incident_id", ("id", "incident_id"))
    finds = _group(session, NormFinding, "incident_id", ("id", "incident_id"))
    for items in atts.values():
        for a in items:
            aid = a.pop("attributed_actor_id")
            a["attributed_actor"] = actor_ref.get(aid) if aid else None
    for items in finds.values():
        for f in items:
            f["provision"] = prov_ref[f.pop("provision_id")]
    for items in members.values():
        for m in items:
            m["state"] = m.pop("state_code")
    for items in commitments.values():
        for c in items:
            c["state"] = c.pop("state_code")
    incidents = []
    for inc in session.scalars(select(Incident).order_by(Incident.id)):
        row = _row(inc, ("id",))
        row["receivers"] = [{"state": r.state_code, "category": r.category, "sector": r.sector} for r in inc.receivers]
        row["actors"] = [actor_ref[a] for a in inc.actor_ids]
        row["attributions"] = atts.get(inc.id, [])
        row["responses"] = resps.get(inc.id, [])
        row["norm_findings"] = finds.get(inc.id, [])
        incidents.append(row)
    return {
        "format": "accord-dataset/1",
        "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "states": [_row(s) for s in session.scalars(select(State).order_by(State.code))],
        "organisations": [
            _row(o) | {"members": members.get(o.code, [])}
            for o in session.scalars(select(Organisation).order_by(Organisation.code))
        ],
        "instruments": [
            _row(i) | {"provisions": provisions.get(i.code, []), "commitments": commitments.get(i.code, [])}
            for i in session.scalars(select(Instrument).order_by(Instrument.code))
        ],
        "actors": [_row(a, ("id",)) for a in session.scalars(select(ThreatActor).order_by(ThreatActor.id))],
        "incidents": incidents,
    }
