"""Precedents: the past incidents most like a given one, and what attributions and responses followed them.

Similarity of an incident *a* to a candidate *b* is a weighted sum of seven components, each in [0, 1]:

    score = 0.25·type + 0.20·actor + 0.15·sectors + 0.15·intensity + 0.10·categories + 0.10·targets + 0.05·era

    type        1 for the same operation type; 0.5 for the same family (effects: disruption, destruction,
                ransomware, ddos, defacement; intelligence: espionage, data theft); else 0
    actor       1 when they share a threat actor (linked to the incident or named in an attribution); else 0.5
                when they share a suspected state (sponsor of a linked actor, or a state named in an
                attribution); else 0
    sectors     Jaccard index |A ∩ B| / |A ∪ B| of the receivers' sectors (0 when neither records one)
    intensity   1 − |a − b| / 4 on the 1–5 scale; 0 when either is not assessed
    categories  Jaccard index of the receivers' categories (government, military, critical infrastructure …)
    targets     Jaccard index of the receiver states
    era         max(0, 1 − |year a − year b| / 10) of the start years (disclosure year when no start date)

The score lies in [0, 1]; 1 means alike in every respect. Ties are broken by the more recent start, then the
lower id, so the ranking is deterministic. By default only *earlier* incidents are candidates (start date, or
disclosure date, strictly before the incident's own); an incident without any date is compared with all.

What followed a precedent: every attribution recorded for it (who, when, how many days after disclosure,
alone or with whom) and every response. Responses are grouped by category of the EU cyber diplomacy
toolbox: the category recorded on the response (the dataset records one for EU and member-state measures)
or, for other measures, the category of the toolbox measure they correspond to (``TOOLBOX_BY_TYPE``),
marked as mapped. Days are counted from the incident's disclosure date, or from its start date when it has
none (then flagged). Nothing here writes.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from accord.attribution.coalitions import Party
from accord.core.errors import NotFound
from accord.incidents.models import Attribution, Incident, IncidentActor, Response, ThreatActor

WEIGHTS: dict[str, float] = {
    "type": 0.25,
    "actor": 0.20,
    "sectors": 0.15,
    "intensity": 0.15,
    "categories": 0.10,
    "targets": 0.10,
    "era": 0.05,
}
FAMILIES: dict[str, str] = {
    "disruption": "effects",
    "destruction": "effects",
    "ransomware": "effects",
    "ddos": "effects",
    "defacement": "effects",
    "espionage": "intelligence",
    "data_theft": "intelligence",
}
ERA_YEARS = 10
TOOLBOX = ("preventive", "cooperative", "stabilising", "restrictive", "support")
TOOLBOX_LABELS = {
    "preventive": "Preventive measures",
    "cooperative": "Cooperative measures",
    "stabilising": "Stabilising measures",
    "restrictive": "Restrictive measures",
    "support": "Support to lawful responses",
}
# the toolbox category a measure corresponds to when none is recorded (non-EU measures)
TOOLBOX_BY_TYPE = {
    "capacity_building": "preventive",
    "statement": "stabilising",
    "demarche": "stabilising",
    "sanctions": "restrictive",
    "indictment": "support",
    "expulsion": "support",
    "countermeasure": "support",
}
EXAMPLES = 3
MAX_LIMIT = 50


# ---------------------------------------------------------------- similarity (pure)


@dataclass(frozen=True)
class Profile:
    """What similarity looks at in one incident."""

    id: int
    operation_type: str
    intensity: int | None = None
    date: dt.date | None = None  # start date, else disclosure date
    sectors: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    targets: frozenset[str] = frozenset()
    actors: frozenset[int] = frozenset()
    states: frozenset[str] = frozenset()  # suspected states: sponsors of its actors, states named in attributions


@dataclass(frozen=True)
class Match:
    """How alike two incidents are: the score, its components and what they have in common."""

    score: float
    components: dict[str, float]
    sectors: list[str]
    categories: list[str]
    targets: list[str]
    actors: list[int]
    states: list[str]


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    union = a | b
    return len(a & b) / len(union) if union else 0.0


def type_score(a: str, b: str) -> float:
    if a == b:
        return 1.0
    family = FAMILIES.get(a)
    return 0.5 if family is not None and family == FAMILIES.get(b) else 0.0


def intensity_score(a: int | None, b: int | None) -> float:
    return 1 - abs(a - b) / 4 if a is not None and b is not None else 0.0


def era_score(a: dt.date | None, b: dt.date | None) -> float:
    return max(0.0, 1 - abs(a.year - b.year) / ERA_YEARS) if a is not None and b is not None else 0.0


def compare(a: Profile, b: Profile) -> Match:
    """The similarity of ``b`` to ``a`` (symmetric), by the formula of the module docstring."""
    actors = a.actors & b.actors
    states = a.states & b.states
    components = {
        "type": type_score(a.operation_type, b.operation_type),
        "actor": 1.0 if actors else 0.5 if states else 0.0,
        "sectors": jaccard(a.sectors, b.sectors),
        "intensity": intensity_score(a.intensity, b.intensity),
        "categories": jaccard(a.categories, b.categories),
        "targets": jaccard(a.targets, b.targets),
        "era": era_score(a.date, b.date),
    }
    components = {k: round(v, 4) for k, v in components.items()}
    score = round(sum(WEIGHTS[k] * components[k] for k in WEIGHTS), 4)
    return Match(
        score,
        components,
        sorted(a.sectors & b.sectors),
        sorted(a.categories & b.categories),
        sorted(a.targets & b.targets),
        sorted(actors),
        sorted(states),
    )


def rank(
    target: Profile, candidates: Iterable[Profile], limit: int = 10, *, include_later: bool = False
) -> list[tuple[Profile, Match]]:
    """The ``limit`` candidates most similar to ``target`` (never itself), best first; only earlier ones unless
    ``include_later``."""
    found = []
    for c in candidates:
        if c.id == target.id:
            continue
        if not include_later and target.date is not None and (c.date is None or c.date >= target.date):
            continue
        found.append((c, compare(target, c)))
    found.sort(key=lambda pm: (-pm[1].score, -(pm[0].date or dt.date.min).toordinal(), pm[0].id))
    return found[:limit]


# ---------------------------------------------------------------- what followed (shapes)


@dataclass(frozen=True)
class IncidentBrief:
    id: int
    slug: str
    name: str
    operation_type: str
    intensity: int | None
    start_date: dt.date | None
    disclosure_date: dt.date | None
    date_precision: str


@dataclass(frozen=True)
class FollowedAttribution:
    id: int
    by: Party | None
    attributed_state: str | None
    attributed_actor_id: int | None
    date: dt.date | None
    days_after: int | None  # from disclosure (or start, see ``days_from``)
    form: str
    basis: str
    joint_group: str | None
    joint_with: list[Party]  # the other parties of the same joint attribution


@dataclass(frozen=True)
class FollowedResponse:
    id: int
    by: Party | None
    type: str
    toolbox: str  # recorded EU toolbox category, else the one its type corresponds to
    toolbox_recorded: bool
    against_state: str | None
    date: dt.date | None
    days_after: int | None
    description: str | None


@dataclass(frozen=True)
class ActorRef:
    id: int
    name: str


@dataclass(frozen=True)
class Precedent:
    """One similar past incident: how similar and why, and what followed it."""

    incident: IncidentBrief
    score: float
    components: dict[str, float]
    why: list[str]
    shared_sectors: list[str]
    shared_categories: list[str]
    shared_targets: list[str]
    shared_actors: list[ActorRef]
    shared_states: list[str]
    days_from: str  # "disclosure" | "start" | "none": what ``days_after`` counts from
    attributions: list[FollowedAttribution]
    responses: list[FollowedResponse]


@dataclass(frozen=True)
class ResponseExample:
    incident_id: int
    incident: str
    by: Party | None
    type: str
    date: dt.date | None


@dataclass(frozen=True)
class ToolboxGroup:
    """The responses to the precedents in one EU toolbox category."""

    category: str
    label: str
    responses: int
    incidents: int  # precedents with at least one such response
    recorded: int  # category recorded on the response
    mapped: int  # category derived from the response type
    types: dict[str, int]
    median_days: float | None
    examples: list[ResponseExample]


@dataclass(frozen=True)
class Attributor:
    party: Party
    incidents: int  # precedents it attributed


@dataclass(frozen=True)
class Followed:
    """What followed the precedents, taken together."""

    precedents: int
    attributed: int  # precedents publicly attributed by a state or organisation
    attributed_jointly: int  # … in a joint attribution with another party
    median_days_to_attribution: float | None  # disclosure → first attribution by a state or organisation
    attributors: list[Attributor]  # most frequent first
    responded: int
    toolbox: list[ToolboxGroup]
    without_response: list[int]  # ids of precedents with no recorded response


@dataclass(frozen=True)
class PrecedentReport:
    incident: IncidentBrief
    weights: dict[str, float]
    include_later: bool
    precedents: list[Precedent]
    followed: Followed


# ---------------------------------------------------------------- what followed (pure)


def party_of(by_state: str | None, by_organisation: str | None, by_company: str | None = None) -> Party | None:
    if by_state:
        return Party("state", by_state)
    if by_organisation:
        return Party("organisation", by_organisation)
    if by_company:
        return Party("company", by_company)
    return None


def toolbox_of(response_type: str, recorded: str | None) -> tuple[str, bool]:
    """(category, recorded?) of a response: the recorded EU toolbox category, else its type's."""
    if recorded:
        return recorded, True
    return TOOLBOX_BY_TYPE.get(response_type, "support"), False


def reference_date(incident: IncidentBrief) -> tuple[dt.date | None, str]:
    if incident.disclosure_date is not None:
        return incident.disclosure_date, "disclosure"
    if incident.start_date is not None:
        return incident.start_date, "start"
    return None, "none"


def days_between(start: dt.date | None, end: dt.date | None) -> int | None:
    return (end - start).days if start is not None and end is not None else None


def median(values: Sequence[float]) -> float | None:
    return round(float(statistics.median(values)), 1) if values else None


def _examples(rows: list[tuple[Precedent, FollowedResponse]]) -> list[ResponseExample]:
    # the most similar precedents first, each incident once, then by date
    seen: set[int] = set()
    out = []
    for p, r in rows:
        if p.incident.id in seen:
            continue
        seen.add(p.incident.id)
        out.append(ResponseExample(p.incident.id, p.incident.name, r.by, r.type, r.date))
        if len(out) == EXAMPLES:
            break
    return out


def toolbox_groups(precedents: Sequence[Precedent]) -> list[ToolboxGroup]:
    """Responses to the precedents by EU toolbox category, in the toolbox's order; empty categories kept."""
    rows: dict[str, list[tuple[Precedent, FollowedResponse]]] = defaultdict(list)
    for p in precedents:
        for r in sorted(p.responses, key=lambda r: (r.date or dt.date.max, r.id)):
            rows[r.toolbox].append((p, r))
    groups = []
    for category in (*TOOLBOX, *sorted(set(rows) - set(TOOLBOX))):
        found = rows.get(category, [])
        types = Counter(r.type for _, r in found)
        groups.append(
            ToolboxGroup(
                category=category,
                label=TOOLBOX_LABELS.get(category, category),
                responses=len(found),
                incidents=len({p.incident.id for p, _ in found}),
                recorded=sum(r.toolbox_recorded for _, r in found),
                mapped=sum(not r.toolbox_recorded for _, r in found),
                types=dict(sorted(types.items(), key=lambda kv: (-kv[1], kv[0]))),
                median_days=median([r.days_after for _, r in found if r.days_after is not None]),
                examples=_examples(found),
            )
        )
    return groups


def _governmental(attributions: Iterable[FollowedAttribution]) -> list[FollowedAttribution]:
    return [a for a in attributions if a.by is not None and a.by.kind in ("state", "organisation")]


def what_followed(precedents: Sequence[Precedent]) -> Followed:
    """Attributions and responses that followed the precedents, taken together (each precedent counts once)."""
    firsts: list[int] = []
    attributors = Counter[Party]()
    attributed = jointly = 0
    for p in precedents:
        official = _governmental(p.attributions)
        if not official:
            continue
        attributed += 1
        jointly += any(a.joint_with for a in official)
        days = [a.days_after for a in official if a.days_after is not None]
        if days:
            firsts.append(min(days))
        attributors.update({a.by for a in official if a.by is not None})
    top = sorted(attributors.items(), key=lambda kv: (-kv[1], kv[0].sort_key))
    return Followed(
        precedents=len(precedents),
        attributed=attributed,
        attributed_jointly=jointly,
        median_days_to_attribution=median(firsts),
        attributors=[Attributor(party, n) for party, n in top],
        responded=sum(1 for p in precedents if p.responses),
        toolbox=toolbox_groups(precedents),
        without_response=[p.incident.id for p in precedents if not p.responses],
    )


def reasons(target: Profile, candidate: Profile, match: Match, actor_names: dict[int, str]) -> list[str]:
    """Why two incidents are alike, in words, strongest reason first."""
    why = []
    if match.components["type"] == 1:
        why.append(f"same operation type ({target.operation_type.replace('_', ' ')})")
    elif match.components["type"] > 0:
        why.append(f"same family of operations ({FAMILIES[target.operation_type]})")
    if match.actors:
        why.append("same actor: " + ", ".join(actor_names.get(a, f"#{a}") for a in match.actors))
    elif match.states:
        why.append("same suspected state: " + ", ".join(match.states))
    if match.sectors:
        why.append("sectors in common: " + ", ".join(s.replace("_", " ") for s in match.sectors))
    if match.components["intensity"] == 1:
        why.append(f"same intensity ({candidate.intensity} of 5)")
    elif match.components["intensity"] >= 0.75:
        why.append(f"intensity one step apart ({candidate.intensity} vs {target.intensity})")
    if match.categories:
        why.append("target categories in common: " + ", ".join(c.replace("_", " ") for c in match.categories))
    if match.targets:
        why.append("target states in common: " + ", ".join(match.targets))
    if match.components["era"] >= 0.8 and candidate.date is not None and target.date is not None:
        gap = abs(candidate.date.year - target.date.year)
        why.append("began the same year" if gap == 0 else f"began {gap} year{'s' if gap > 1 else ''} apart")
    return why


# ---------------------------------------------------------------- reading the database


def _brief(i: Incident) -> IncidentBrief:
    return IncidentBrief(
        i.id, i.slug, i.name, i.operation_type, i.intensity, i.start_date, i.disclosure_date, i.date_precision
    )


def _profiles(session: Session) -> tuple[dict[int, Profile], dict[int, Incident]]:
    incidents = {i.id: i for i in session.scalars(select(Incident).order_by(Incident.id))}
    with_sponsor = select(ThreatActor.id, ThreatActor.sponsor_state).where(ThreatActor.sponsor_state.is_not(None))
    sponsors: dict[int, str] = {actor_id: state for actor_id, state in session.execute(with_sponsor)}
    actors: dict[int, set[int]] = defaultdict(set)
    states: dict[int, set[str]] = defaultdict(set)
    for incident_id, actor_id in session.execute(select(IncidentActor.incident_id, IncidentActor.actor_id)):
        actors[incident_id].add(actor_id)
    claims = select(Attribution.incident_id, Attribution.attributed_state, Attribution.attributed_actor_id).where(
        or_(Attribution.attributed_state.is_not(None), Attribution.attributed_actor_id.is_not(None))
    )
    for incident_id, state, actor_id in session.execute(claims):
        if state:
            states[incident_id].add(state)
        if actor_id:
            actors[incident_id].add(actor_id)
    profiles = {}
    for i in incidents.values():
        suspected = states[i.id] | {sponsors[a] for a in actors[i.id] if a in sponsors}
        profiles[i.id] = Profile(
            id=i.id,
            operation_type=i.operation_type,
            intensity=i.intensity,
            date=i.start_date or i.disclosure_date,
            sectors=frozenset(r.sector for r in i.receivers if r.sector),
            categories=frozenset(r.category for r in i.receivers),
            targets=frozenset(r.state_code for r in i.receivers if r.state_code),
            actors=frozenset(actors[i.id]),
            states=frozenset(suspected),
        )
    return profiles, incidents


def _partners(session: Session, groups: set[str]) -> dict[str, set[Party]]:
    """joint group → every party that attributed in it."""
    found: dict[str, set[Party]] = defaultdict(set)
    if not groups:
        return found
    a = Attribution
    rows = session.execute(
        select(a.joint_group, a.by_state, a.by_organisation, a.by_company).where(a.joint_group.in_(sorted(groups)))
    )
    for group, state, org, company in rows:
        party = party_of(state, org, company)
        if party is not None:
            found[group].add(party)
    return found


def _followed(
    session: Session, briefs: dict[int, IncidentBrief]
) -> tuple[dict[int, list[FollowedAttribution]], dict[int, list[FollowedResponse]]]:
    ids = sorted(briefs)
    atts = list(
        session.scalars(
            select(Attribution).where(Attribution.incident_id.in_(ids)).order_by(Attribution.date, Attribution.id)
        )
    )
    resps = session.scalars(select(Response).where(Response.incident_id.in_(ids)).order_by(Response.date, Response.id))
    partners = _partners(session, {a.joint_group for a in atts if a.joint_group})
    by_incident: dict[int, list[FollowedAttribution]] = defaultdict(list)
    for a in atts:
        ref, _ = reference_date(briefs[a.incident_id])
        by = party_of(a.by_state, a.by_organisation, a.by_company)
        others = sorted(partners[a.joint_group] - {by}, key=lambda p: p.sort_key) if a.joint_group else []
        by_incident[a.incident_id].append(
            FollowedAttribution(
                id=a.id,
                by=by,
                attributed_state=a.attributed_state,
                attributed_actor_id=a.attributed_actor_id,
                date=a.date,
                days_after=days_between(ref, a.date),
                form=a.form,
                basis=a.basis,
                joint_group=a.joint_group,
                joint_with=others,
            )
        )
    responses: dict[int, list[FollowedResponse]] = defaultdict(list)
    for r in resps:
        ref, _ = reference_date(briefs[r.incident_id])
        category, recorded = toolbox_of(r.type, r.eu_toolbox)
        responses[r.incident_id].append(
            FollowedResponse(
                id=r.id,
                by=party_of(r.by_state, r.by_organisation),
                type=r.type,
                toolbox=category,
                toolbox_recorded=recorded,
                against_state=r.against_state,
                date=r.date,
                days_after=days_between(ref, r.date),
                description=r.description,
            )
        )
    return by_incident, responses


def similar(session: Session, incident_id: int, limit: int = 10, *, include_later: bool = False) -> list[Precedent]:
    """The ``limit`` past incidents most similar to ``incident_id`` (``NotFound`` if there is none), best first,
    each with the score, its components, why, and the attributions and responses that followed it."""
    limit = max(1, min(limit, MAX_LIMIT))
    profiles, incidents = _profiles(session)
    if incident_id not in profiles:
        raise NotFound(f"no incident {incident_id}")
    target = profiles[incident_id]
    ranked = rank(target, profiles.values(), limit, include_later=include_later)
    briefs = {p.id: _brief(incidents[p.id]) for p, _ in ranked}
    attributions, responses = _followed(session, briefs)
    actor_ids = {a for _, m in ranked for a in m.actors}
    names = dict(session.execute(select(ThreatActor.id, ThreatActor.name).where(ThreatActor.id.in_(actor_ids))).all())
    out = []
    for p, m in ranked:
        brief = briefs[p.id]
        out.append(
            Precedent(
                incident=brief,
                score=m.score,
                components=m.components,
                why=reasons(target, p, m, names),
                shared_sectors=m.sectors,
                shared_categories=m.categories,
                shared_targets=m.targets,
                shared_actors=[ActorRef(a, names.get(a, f"#{a}")) for a in m.actors],
                shared_states=m.states,
                days_from=reference_date(brief)[1],
                attributions=attributions.get(p.id, []),
                responses=responses.get(p.id, []),
            )
        )
    return out


def precedent_report(
    session: Session, incident_id: int, limit: int = 10, *, include_later: bool = False
) -> PrecedentReport:
    """:func:`similar`, with the incident itself and what followed the precedents taken together."""
    found = similar(session, incident_id, limit, include_later=include_later)
    incident = session.get(Incident, incident_id)
    assert incident is not None  # similar() raised NotFound otherwise
    return PrecedentReport(_brief(incident), dict(WEIGHTS), include_later, found, what_followed(found))
