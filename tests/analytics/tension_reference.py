"""The tension events computed row by row with dictionaries: the definitions of :mod:`accord.analytics.tension`
written plainly (its own first implementation), kept as the reference the columnar builder is compared with on
random records (test_tension_reference.py). Not used by the application."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from accord.analytics.dyads import Att, Data
from accord.analytics.tension import (
    ATTRIBUTION_WEIGHTS,
    DEESCALATION_WEIGHTS,
    JOINT_FACTOR,
    RESPONSE_WEIGHTS,
    UNASSESSED_INTENSITY,
    Agreement,
    Event,
    TensionLeftOut,
)

# Rows are read by position (the field order of Inc, Rec, Att and Resp in accord.analytics.dyads).

_MISSING = dt.date.min  # "no attribution seen yet" in Scan.first (None means: seen, but undated)


@dataclass
class Scan:
    """One pass over the attributions: what the operation and the attribution events need."""

    first: dict[tuple[int, str], dt.date | None]  # (incident, attributed state) → first dated attribution
    acts: dict[tuple[Any, ...], list[Any]]  # act key → [date, id, incident, form weight, form, records, group]
    parties: dict[str, set[str]]  # joint group → governments and organisations in it
    undated: int  # state-to-state attributions without a date
    non_state: int  # attributions by an organisation or a company, or naming no state


def scan(attributions: Sequence[Att]) -> Scan:
    """Read every attribution once (see :func:`operation_events` and :func:`attribution_events`)."""
    first: dict[tuple[int, str], dt.date | None] = {}
    acts: dict[tuple[Any, ...], list[Any]] = {}
    parties: dict[str, set[str]] = {}
    undated = non_state = 0
    weights = ATTRIBUTION_WEIGHTS
    for aid, incident_id, by_state, by_org, _company, state, date, group, form in attributions:
        if state is not None:
            seen = (incident_id, state)
            known = first.get(seen, _MISSING)
            if known is _MISSING or (date is not None and (known is None or date < known)):
                first[seen] = date
        if group is not None and (by_state or by_org):
            parties.setdefault(group, set()).add(by_state or f"org:{by_org}")
        if not by_state or not state or by_state == state:
            non_state += not by_state or not state
            continue
        if date is None:
            undated += 1
            continue
        weight = weights.get(form, 1.0)
        key = (by_state, state, group) if group is not None else (by_state, state, form, date)
        act = acts.get(key)
        if act is None:
            acts[key] = [date, aid, incident_id, weight, form, 1, group]
            continue
        act[5] += 1
        if date < act[0] or (date == act[0] and aid < act[1]):
            act[0], act[1], act[2] = date, aid, incident_id
        if weight > act[3] or (weight == act[3] and form < act[4]):
            act[3], act[4] = weight, form
    return Scan(first, acts, parties, undated, non_state)


def operation_events(data: Data, found: Scan | None = None) -> tuple[list[Event], int]:
    """An operation event per incident, attributed state and receiver state (and how many could not be dated)."""
    found = found or scan(data.attributions)
    receivers: dict[int, set[str]] = {}
    for r in data.receivers:
        if r[1]:
            receivers.setdefault(r[0], set()).add(r[1])
    incidents = {i[0]: i for i in data.incidents}
    out: list[Event] = []
    undated = 0
    for (incident_id, state), attributed in found.first.items():
        inc = incidents.get(incident_id)
        targets = receivers.get(incident_id)
        if inc is None or not targets or targets == {state}:
            continue
        public = inc[4] or inc[3]  # disclosure, else start
        when = max(public, attributed) if public and attributed else public or attributed
        if when is None:
            undated += 1
            continue
        weight = float(inc[2] if inc[2] is not None else UNASSESSED_INTENSITY)
        ref = f"incident:{incident_id}"
        for target in targets:
            if target != state:
                out.append(Event("operation", inc[1], state, target, when, weight, incident_id, False, ref))
    return out, undated


def attribution_events(data: Data, found: Scan | None = None) -> tuple[list[Event], int, int]:
    """An attribution event per state's public statement naming another state: one per joint statement (joint
    group), else per form and day — a statement naming several incidents is recorded once per incident. The
    event keeps the act's first record (earliest date, lowest id) and its heaviest form."""
    found = found or scan(data.attributions)
    out = []
    for (by_state, state, *_), (date, aid, incident_id, weight, form, records, group) in found.acts.items():
        joint = group is not None and len(found.parties.get(group, ())) > 1
        weight *= JOINT_FACTOR if joint else 1.0
        ref = f"attribution:{aid}"
        out.append(Event("attribution", form, by_state, state, date, weight, incident_id, joint, ref, records))
    return out, found.undated, found.non_state


class _Act:
    """One measure recorded once per incident it names: its first record (earliest date, lowest id) and how
    many records."""

    __slots__ = ("date", "incident_id", "incidents", "rid")

    def __init__(self, date: dt.date, rid: int, incident_id: int) -> None:
        self.date, self.rid, self.incident_id, self.incidents = date, rid, incident_id, 1

    def add(self, date: dt.date, rid: int, incident_id: int) -> None:
        self.incidents += 1
        if (date, rid) < (self.date, self.rid):
            self.date, self.rid, self.incident_id = date, rid, incident_id


def response_events(data: Data) -> tuple[list[Event], int, int]:
    """A response (or capacity-building, de-escalating) event per state's measure naming another state: one per
    type and day — a measure naming several incidents is recorded once per incident."""
    seen: dict[tuple[str, str, str, dt.date], _Act] = {}
    undated = non_state = 0
    for r in data.responses:
        by_state, against, date, kind_of = r[2], r[4], r[5], r[6]
        if not by_state or not against or by_state == against:
            non_state += not by_state or not against
            continue
        if date is None:
            undated += 1
            continue
        key = (by_state, against, kind_of, date)
        if key in seen:
            seen[key].add(date, r[0], r[1])
        else:
            seen[key] = _Act(date, r[0], r[1])
    out = []
    for (by_state, against, kind_of, _), act in seen.items():
        if kind_of in DEESCALATION_WEIGHTS:
            kind, weight = "de-escalation", -DEESCALATION_WEIGHTS[kind_of]
        else:
            kind, weight = "response", RESPONSE_WEIGHTS.get(kind_of, 1.0)
        ref = f"response:{act.rid}"
        out.append(
            Event(kind, kind_of, by_state, against, act.date, weight, act.incident_id, False, ref, act.incidents)
        )
    return out, undated, non_state


def agreement_events(agreements: Iterable[Agreement]) -> list[Event]:
    weight = -DEESCALATION_WEIGHTS["agreement"]
    return [
        Event("de-escalation", "agreement", g.a, g.b, g.date, weight, ref=f"instrument:{g.code}") for g in agreements
    ]


def events(
    data: Data, agreements: Iterable[Agreement] = ()
) -> tuple[dict[tuple[str, str], list[Event]], TensionLeftOut]:
    """Every pair's events (in no particular order) and what was left out."""
    found = scan(data.attributions)
    ops, undated_ops = operation_events(data, found)
    atts, undated_atts, non_state_atts = attribution_events(data, found)
    resps, undated_resps, non_state_resps = response_events(data)
    by_pair: dict[tuple[str, str], list[Event]] = {}
    for found in (ops, atts, resps, agreement_events(agreements)):
        for e in found:
            a, b = e[2] or "", e[3] or ""
            key = (a, b) if a <= b else (b, a)
            known = by_pair.get(key)
            if known is None:
                by_pair[key] = [e]
            else:
                known.append(e)
    left = TensionLeftOut(undated_ops, undated_atts, undated_resps, non_state_atts, non_state_resps)
    return by_pair, left
