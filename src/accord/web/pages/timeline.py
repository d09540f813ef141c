"""Timelines: dated events gathered from a state profile or an incident, in date order."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from accord.web.templating import label, state_label


@dataclass(frozen=True)
class Event:
    date: dt.date
    kind: str  # css hook: incident | attribution | response | commitment | membership | finding
    text: str
    href: str | None = None


def _d(value: Any) -> dt.date | None:
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    return value


def ordered(events: list[Event | None]) -> list[Event]:
    return sorted((e for e in events if e is not None), key=lambda e: e.date)


def _event(date: Any, kind: str, text: str, href: str | None = None) -> Event | None:
    day = _d(date)
    return Event(day, kind, text, href) if day else None


def by_whom(rec: Any, names: dict[str, str]) -> str:
    """Who made an attribution, response or finding: a state, an organisation or a company."""
    get = rec.get if isinstance(rec, dict) else lambda k: getattr(rec, k, None)
    state = get("by_state") or get("claimed_by_state")
    if state:
        return state_label(state, names)
    return get("by_organisation") or get("claimed_by_organisation") or get("by_company") or "unknown"


def state_timeline(profile: dict[str, Any], incidents: dict[int, Any], names: dict[str, str]) -> list[Event]:
    def inc(i: int) -> str:
        return incidents[i].name if i in incidents else f"incident {i}"

    ev: list[Event | None] = []
    for m in profile["memberships"]:
        ev.append(_event(m["joined"], "membership", f"Joined {m['organisation_name']}"))
        ev.append(_event(m["left"], "membership", f"Left {m['organisation_name']}"))
    for c in profile["commitments"]:
        ev.append(
            _event(
                c["date"],
                "commitment",
                f"{label(c['status']).capitalize()} {c['instrument_name']}",
                f"/instruments/{c['instrument_code']}",
            )
        )
    for i in profile["incidents_suffered"]:
        ev.append(_event(i["start_date"], "incident", f"Targeted by {i['name']}", f"/incidents/{i['id']}"))
    for i in profile["incidents_attributed_to"]:
        ev.append(_event(i["start_date"], "incident", f"Held responsible for {i['name']}", f"/incidents/{i['id']}"))
    for a in profile["attributions_made"]:
        who = state_label(a["attributed_state"], names) or "an actor"
        ev.append(
            _event(
                a["date"],
                "attribution",
                f"Attributed {inc(a['incident_id'])} to {who}",
                f"/incidents/{a['incident_id']}",
            )
        )
    for r in profile["responses_taken"]:
        ev.append(
            _event(
                r["date"],
                "response",
                f"{label(r['type']).capitalize()} over {inc(r['incident_id'])}",
                f"/incidents/{r['incident_id']}",
            )
        )
    for r in profile["responses_received"]:
        ev.append(
            _event(
                r["date"],
                "response",
                f"{label(r['type']).capitalize()} by {by_whom(r, names)} over {inc(r['incident_id'])}",
                f"/incidents/{r['incident_id']}",
            )
        )
    return ordered(ev)


def incident_timeline(
    incident: Any, attributions: list[Any], responses: list[Any], findings: list[Any], names: dict[str, str]
) -> list[Event]:
    ev: list[Event | None] = [
        _event(incident.start_date, "incident", "Operation begins"),
        _event(incident.disclosure_date, "incident", "Publicly disclosed"),
        _event(incident.end_date, "incident", "Operation ends"),
    ]
    for a in attributions:
        target = state_label(a.attributed_state, names) or a.attributed_unit or "an actor"
        ev.append(_event(a.date, "attribution", f"{by_whom(a, names)} attributes it to {target} ({label(a.form)})"))
    for r in responses:
        against = f" against {state_label(r.against_state, names)}" if r.against_state else ""
        ev.append(_event(r.date, "response", f"{label(r.type).capitalize()} by {by_whom(r, names)}{against}"))
    for f in findings:
        ev.append(_event(f.date, "finding", f"{by_whom(f, names)} finds a breach of a norm"))
    return ordered(ev)
