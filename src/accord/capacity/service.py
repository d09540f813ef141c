"""Capacity building: needs, offers, their matching, and maturity assessments with their history.

Functions take a session and plain values and never commit; every change is written to the audit log in the
same transaction. Bad input raises :class:`~accord.core.errors.Invalid` (422) — or ``ReferenceNotFound`` for
unknown states, organisations and regions — naming each field, before anything is written.

**Matching.** A need and an offer match when both are open, the offer has not ended, the needing state may
benefit (the offer is open to any state, to the state's UN M49 region or sub-region, or names the state), the
donor is not the needing state itself, and they share at least one GFCE theme or GCI pillar. Their score:

    coverage  = (0.6·|Tn ∩ To| / |Tn| + 0.4·|Pn ∩ Po| / |Pn|) / (0.6·[Tn ≠ ∅] + 0.4·[Pn ≠ ∅])
    targeting = 1.0 if the offer names the state, 0.9 if it names its region or sub-region, 0.8 if open to any
    score     = 100 · coverage · targeting          (0–100, one decimal)

where Tn, Pn are the need's themes and pillars and To, Po the offer's: the share of what the need asks for that
the offer covers, themes weighing more than pillars (a theme says what the work is; a pillar is coarse), and an
offer aimed at the state ahead of one open to all (its donor already chose that state). Matches are ranked by
score, then the older need first. Each match says why: the shared and the missing themes and pillars, and why
the state is eligible.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.audit import service as audit
from accord.audit.service import SYSTEM, Actor
from accord.capacity import schemas as s
from accord.capacity.models import (
    FRAMEWORKS,
    GCI_PILLARS,
    GCI_SOURCE,
    GFCE_SOURCE,
    GFCE_THEMES,
    CapacityNeed,
    CapacityOffer,
    MaturityAssessment,
)
from accord.core import records
from accord.core.errors import Duplicate, Invalid, NotFound, Problem, ReferenceNotFound
from accord.core.records import problems_from_validation
from accord.directory.models import Organisation, State

M = TypeVar("M", bound=BaseModel)
THEME_WEIGHT, PILLAR_WEIGHT = 0.6, 0.4
TARGETING = {"states": 1.0, "regions": 0.9, "any": 0.8}
NEEDS, OFFERS, ASSESSMENTS = "capacity_needs", "capacity_offers", "capacity_assessments"

etag = records.etag


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


# ---------------------------------------------------------------- serialising


def need_json(n: CapacityNeed) -> dict[str, Any]:
    return s.NeedOut.model_validate(n).model_dump(mode="json")


def offer_json(o: CapacityOffer) -> dict[str, Any]:
    return {**s.OfferOut.model_validate(o).model_dump(mode="json"), "provider": provider_of(o)}


def assessment_json(a: MaturityAssessment) -> dict[str, Any]:
    framework = FRAMEWORKS[a.framework]
    return {**s.AssessmentOut.model_validate(a).model_dump(mode="json"), "framework_name": framework.name}


def provider_of(o: CapacityOffer) -> str:
    return o.provider_state or o.provider_organisation or ""


def taxonomies() -> dict[str, Any]:
    """The vocabularies records are tagged with and the maturity frameworks, with their sources and scales."""
    return {
        "themes": {"source": GFCE_SOURCE, "values": GFCE_THEMES},
        "pillars": {"source": GCI_SOURCE, "values": GCI_PILLARS},
        "frameworks": {
            k: {"name": f.name, "parts": f.parts, "low": f.low, "high": f.high, "unit": f.unit, "source": f.source}
            for k, f in FRAMEWORKS.items()
        },
        "matching": {"theme_weight": THEME_WEIGHT, "pillar_weight": PILLAR_WEIGHT, "targeting": TARGETING},
    }


# ---------------------------------------------------------------- validation


def _parse(schema: type[M], values: dict[str, Any], prefix: Sequence[str] = ()) -> M:
    try:
        return schema.model_validate(values)
    except ValidationError as exc:
        problems = problems_from_validation(exc, prefix)
        raise Invalid(f"{len(problems)} problem(s) in the input", problems) from exc


def _provenance(data: dict[str, Any], now: dt.date) -> list[Problem]:
    """A public fact needs its as-of date; a node-local record has neither sources nor as-of date."""
    problems = []
    if data.get("sources") and data.get("as_of") is None:
        problems.append(Problem("as_of", "a record with sources needs the date they were checked (as_of)"))
    if not data.get("sources") and data.get("as_of") is not None:
        problems.append(Problem("sources", "an as-of date needs the sources it refers to"))
    if data.get("as_of") and data["as_of"] > now:
        problems.append(Problem("as_of", f"{data['as_of']} is in the future"))
    return problems


def _not_future(data: dict[str, Any], name: str, now: dt.date) -> list[Problem]:
    value = data.get(name)
    return [Problem(name, f"{value} is in the future")] if value and value > now else []


def _tagged(data: dict[str, Any]) -> list[Problem]:
    if data.get("themes") or data.get("pillars"):
        return []
    why = "give at least one GFCE theme or GCI pillar (without them nothing can match)"
    return [Problem("themes", why), Problem("pillars", why)]


def _state_problem(session: Session, name: str, code: str | None) -> list[Problem]:
    if code and session.get(State, code) is None:
        return [Problem(name, f"no state {code!r} in the directory")]
    return []


def region_names(session: Session) -> dict[str, str]:
    """Lower-cased UN M49 region and sub-region names of the directory's states -> their spelling."""
    rows = session.execute(select(State.m49_region, State.m49_subregion).distinct())
    return {n.lower(): n for pair in rows for n in pair if n}


def _raise(problems: list[Problem], unknown: list[Problem], prefix: Sequence[str], what: str) -> None:
    """Invalid for malformed fields; ReferenceNotFound when every problem is an unknown record."""
    lead = ".".join(prefix)

    def placed(ps: list[Problem]) -> list[Problem]:
        return [Problem(f"{lead}.{p.field}" if lead else p.field, p.reason) for p in ps]

    if problems:
        raise Invalid(f"the {what} is not valid", placed(problems + unknown))
    if unknown:
        raise ReferenceNotFound(f"the {what} names records that do not exist", placed(unknown))


def check_need(session: Session, data: dict[str, Any], prefix: Sequence[str] = (), now: dt.date | None = None) -> None:
    now = now or today()
    problems = _tagged(data) + _provenance(data, now) + _not_future(data, "declared_on", now)
    _raise(problems, _state_problem(session, "state_code", data["state_code"]), prefix, "need")


def _beneficiary_problems(session: Session, data: dict[str, Any]) -> tuple[list[Problem], list[Problem]]:
    """(inconsistent scope, unknown regions or states); regions come back in the directory's spelling."""
    scope, regions, states = data["beneficiary_scope"], data["beneficiary_regions"], data["beneficiary_states"]
    problems: list[Problem] = []
    if scope == "regions" and not regions:
        problems.append(Problem("beneficiary_regions", "name at least one region when the offer is for regions"))
    if scope == "states" and not states:
        problems.append(Problem("beneficiary_states", "name at least one state when the offer is for states"))
    if scope != "regions" and regions:
        why = f"regions are only given when the scope is regions, not {scope}"
        problems.append(Problem("beneficiary_regions", why))
    if scope != "states" and states:
        why = f"states are only given when the scope is states, not {scope}"
        problems.append(Problem("beneficiary_states", why))
    known = region_names(session) if regions else {}
    unknown = [
        Problem(f"beneficiary_regions.{i}", f"{r!r} is not a UN M49 region or sub-region of the directory")
        for i, r in enumerate(regions)
        if r.lower() not in known
    ]
    data["beneficiary_regions"] = list(dict.fromkeys(known.get(r.lower(), r) for r in regions))
    data["beneficiary_states"] = list(dict.fromkeys(states))
    for i, code in enumerate(data["beneficiary_states"]):
        unknown += _state_problem(session, f"beneficiary_states.{i}", code)
    return problems, unknown


def check_offer(session: Session, data: dict[str, Any], prefix: Sequence[str] = (), now: dt.date | None = None) -> None:
    now = now or today()
    problems = _tagged(data) + _provenance(data, now)
    if (data.get("provider_state") is None) == (data.get("provider_organisation") is None):
        why = "give exactly one provider: a state or an organisation"
        problems += [Problem("provider_state", why), Problem("provider_organisation", why)]
    if data.get("starts_on") and data.get("ends_on") and data["ends_on"] < data["starts_on"]:
        problems.append(Problem("ends_on", f"ends_on ({data['ends_on']}) is before starts_on ({data['starts_on']})"))
    scope_problems, unknown = _beneficiary_problems(session, data)
    unknown += _state_problem(session, "provider_state", data.get("provider_state"))
    org = data["provider_organisation"] = (data.get("provider_organisation") or "").upper() or None
    if org and session.get(Organisation, org) is None:
        unknown.append(Problem("provider_organisation", f"no organisation {org!r} in the directory"))
    _raise(problems + scope_problems, unknown, prefix, "offer")


def _score_problems(framework: str, scores: dict[str, float]) -> list[Problem]:
    f = FRAMEWORKS[framework]
    problems = [
        Problem(f"scores.{k}", f"not a part of {f.name}; expected one of {', '.join(f.parts)}")
        for k in scores
        if k not in f.parts
    ]
    missing = [k for k in f.parts if k not in scores]
    problems += [Problem(f"scores.{k}", f"missing: {f.name} needs a score for each part") for k in missing]
    for k, v in scores.items():
        if k in f.parts and not (math.isfinite(v) and f.low <= v <= f.high):
            problems.append(Problem(f"scores.{k}", f"{v} is outside the scale of {f.name} ({f.low:g}–{f.high:g})"))
    return problems


def check_assessment(
    session: Session, data: dict[str, Any], prefix: Sequence[str] = (), now: dt.date | None = None
) -> None:
    now = now or today()
    problems = _provenance(data, now) + _not_future(data, "assessed_on", now)
    problems += _score_problems(data["framework"], data["scores"])
    _raise(problems, _state_problem(session, "state_code", data["state_code"]), prefix, "assessment")
    same = select(MaturityAssessment.id).where(
        MaturityAssessment.state_code == data["state_code"],
        MaturityAssessment.framework == data["framework"],
        MaturityAssessment.assessed_on == data["assessed_on"],
        MaturityAssessment.kind == data["kind"],
    )
    if session.scalar(same.limit(1)) is not None:
        lead = ".".join(prefix) + "." if prefix else ""
        why = "this state already has an assessment of this kind on this framework and date"
        raise Duplicate("duplicate assessment", [Problem(f"{lead}assessed_on", why)])


# ---------------------------------------------------------------- needs


def get_need(session: Session, need_id: int) -> CapacityNeed:
    need = session.get(CapacityNeed, need_id)
    if need is None:
        raise NotFound(f"no capacity need with id {need_id}")
    return need


def _create(session: Session, row: Any, table: str, actor: Actor, to_json: Any) -> Any:
    session.add(row)
    session.flush()
    audit.record(session, actor, "create", table, row.id, None, to_json(row))
    return row


def create_need(session: Session, *, actor: Actor = SYSTEM, **values: Any) -> CapacityNeed:
    """Record a need: state_code, title, themes and/or pillars, declared_on; optionally description, status,
    sources and as_of (a public fact) — without sources, a record of this node entered by ``actor``."""
    data = _parse(s.NeedCreate, values).model_dump()
    check_need(session, data)
    return _create(session, CapacityNeed(entered_by=actor.name, **data), NEEDS, actor, need_json)


def _update(session: Session, row: Any, create: Any, update: Any, changes: dict[str, Any], check: Any) -> dict:
    patch = _parse(update, changes).model_dump(exclude_unset=True)
    current = {f: getattr(row, f) for f in create.model_fields}
    data = _parse(create, {**current, **patch}).model_dump()
    check(session, data)
    return data


def update_need(
    session: Session, need_id: int, *, if_match: str | None, actor: Actor = SYSTEM, **changes: Any
) -> CapacityNeed:
    """Change some fields of a need (``If-Match`` required): typically its status, open → met or withdrawn."""
    need = get_need(session, need_id)
    records.check_etag(need, if_match)
    data = _update(session, need, s.NeedCreate, s.NeedUpdate, changes, check_need)
    return _apply(session, need, data, NEEDS, actor, need_json)


def _apply(session: Session, row: Any, data: dict[str, Any], table: str, actor: Actor, to_json: Any) -> Any:
    before = to_json(row)
    for name, value in data.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
    session.flush()
    audit.record(session, actor, "update", table, row.id, before, to_json(row))
    return row


def _delete(session: Session, row: Any, if_match: str | None, table: str, actor: Actor, to_json: Any) -> None:
    records.check_etag(row, if_match, required=False)
    before, key = to_json(row), row.id
    session.delete(row)
    session.flush()
    audit.record(session, actor, "delete", table, key, before, None)


def delete_need(session: Session, need_id: int, *, if_match: str | None = None, actor: Actor = SYSTEM) -> None:
    _delete(session, get_need(session, need_id), if_match, NEEDS, actor, need_json)


@dataclass(frozen=True)
class Filters:
    """What the lists of needs and offers can be narrowed by (all optional, combined with AND).

    ``state``: the needing state (needs) or a state the offer may benefit (offers); ``provider``: the donor's
    state or organisation code (offers); ``region``: UN M49 region or sub-region of the needing state (needs)
    or of the states an offer may benefit; ``q``: text in the title or description."""

    state: str | None = None
    provider: str | None = None
    theme: str | None = None
    pillar: str | None = None
    status: str | None = None
    region: str | None = None
    q: str | None = None


def _text_hit(row: Any, q: str | None) -> bool:
    return not q or q.lower() in f"{row.title}\n{row.description or ''}".lower()


def _tag_hit(row: Any, f: Filters) -> bool:
    return (not f.theme or f.theme in row.themes) and (not f.pillar or f.pillar in row.pillars)


def list_needs(session: Session, f: Filters = Filters()) -> list[CapacityNeed]:
    """Needs, newest declaration first. Tags and text are filtered here, not in SQL: lists stay in the hundreds."""
    stmt = select(CapacityNeed)
    if f.state:
        stmt = stmt.where(CapacityNeed.state_code == f.state.upper())
    if f.status:
        stmt = stmt.where(CapacityNeed.status == f.status)
    if f.region:
        sub = select(State.code).where((State.m49_region == f.region) | (State.m49_subregion == f.region))
        stmt = stmt.where(CapacityNeed.state_code.in_(sub))
    rows = session.scalars(stmt.order_by(CapacityNeed.declared_on.desc(), CapacityNeed.id.desc()))
    return [n for n in rows if _tag_hit(n, f) and _text_hit(n, f.q)]


# ---------------------------------------------------------------- offers


def get_offer(session: Session, offer_id: int) -> CapacityOffer:
    offer = session.get(CapacityOffer, offer_id)
    if offer is None:
        raise NotFound(f"no capacity offer with id {offer_id}")
    return offer


def create_offer(session: Session, *, actor: Actor = SYSTEM, **values: Any) -> CapacityOffer:
    """Record an offer: provider_state or provider_organisation, title, themes and/or pillars, beneficiaries
    (scope any / regions / states), optionally a period, description, status, sources and as_of."""
    data = _parse(s.OfferCreate, values).model_dump()
    check_offer(session, data)
    return _create(session, CapacityOffer(entered_by=actor.name, **data), OFFERS, actor, offer_json)


def update_offer(
    session: Session, offer_id: int, *, if_match: str | None, actor: Actor = SYSTEM, **changes: Any
) -> CapacityOffer:
    """Change some fields of an offer (``If-Match`` required)."""
    offer = get_offer(session, offer_id)
    records.check_etag(offer, if_match)
    data = _update(session, offer, s.OfferCreate, s.OfferUpdate, changes, check_offer)
    return _apply(session, offer, data, OFFERS, actor, offer_json)


def delete_offer(session: Session, offer_id: int, *, if_match: str | None = None, actor: Actor = SYSTEM) -> None:
    _delete(session, get_offer(session, offer_id), if_match, OFFERS, actor, offer_json)


def _places(session: Session) -> dict[str, tuple[str | None, str | None]]:
    """State code -> (UN M49 region, sub-region)."""
    rows = session.execute(select(State.code, State.m49_region, State.m49_subregion))
    return {code: (region, sub) for code, region, sub in rows}


def eligibility(offer: CapacityOffer, state: str, places: dict[str, tuple[str | None, str | None]]) -> str | None:
    """Why ``state`` may benefit from ``offer`` (None: it may not — a donor state never benefits from its own)."""
    if offer.provider_state == state:
        return None
    if offer.beneficiary_scope == "any":
        return "open to any state"
    if offer.beneficiary_scope == "states":
        return "names the state" if state in offer.beneficiary_states else None
    region, sub = places.get(state, (None, None))
    for name in (sub, region):
        if name and name in offer.beneficiary_regions:
            return f"open to {name}"
    return None


def list_offers(session: Session, f: Filters = Filters()) -> list[CapacityOffer]:
    """Offers, newest first; ``state`` keeps those the state may benefit from, ``region`` those open to (some
    state of) that region."""
    stmt = select(CapacityOffer)
    if f.provider:
        code = f.provider.upper()
        stmt = stmt.where((CapacityOffer.provider_state == code) | (CapacityOffer.provider_organisation == code))
    if f.status:
        stmt = stmt.where(CapacityOffer.status == f.status)
    rows = [o for o in session.scalars(stmt.order_by(CapacityOffer.id.desc())) if _tag_hit(o, f) and _text_hit(o, f.q)]
    if f.state or f.region:
        places = _places(session)
        if f.state:
            rows = [o for o in rows if eligibility(o, f.state.upper(), places)]
        if f.region:
            in_region = [c for c, (r, sub) in places.items() if f.region in (r, sub)]
            rows = [o for o in rows if any(eligibility(o, c, places) for c in in_region)]
    return rows


# ---------------------------------------------------------------- matching


@dataclass(frozen=True)
class Match:
    """A need and an offer that fit, with the score and the reasons (see the module docstring)."""

    need_id: int
    need_title: str
    state: str
    offer_id: int
    offer_title: str
    provider: str
    score: float
    coverage: float
    targeting: float
    eligibility: str
    shared_themes: list[str] = field(default_factory=list)
    shared_pillars: list[str] = field(default_factory=list)
    missing_themes: list[str] = field(default_factory=list)
    missing_pillars: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def why(self) -> str:
        shared = [GFCE_THEMES[t] for t in self.shared_themes] + [GCI_PILLARS[p] for p in self.shared_pillars]
        text = f"shares {'; '.join(shared)}; {self.eligibility}"
        missing = [GFCE_THEMES[t] for t in self.missing_themes] + [GCI_PILLARS[p] for p in self.missing_pillars]
        if missing:
            text += f"; does not cover {'; '.join(missing)}"
        return text + (f"; {self.note}" if self.note else "")

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "why": self.why}


def coverage(need: CapacityNeed, offer: CapacityOffer) -> float:
    """The weighted share of the need's themes and pillars that the offer covers (0–1)."""
    num = den = 0.0
    kinds = ((THEME_WEIGHT, need.themes, offer.themes), (PILLAR_WEIGHT, need.pillars, offer.pillars))
    for weight, wanted, given in kinds:
        if wanted:
            num += weight * len(set(wanted) & set(given)) / len(set(wanted))
            den += weight
    return num / den if den else 0.0


def match_pair(
    need: CapacityNeed, offer: CapacityOffer, places: dict[str, tuple[str | None, str | None]], now: dt.date
) -> Match | None:
    """The match of one need and one offer, or None when they do not match (module docstring)."""
    if need.status != "open" or offer.status != "open" or (offer.ends_on and offer.ends_on < now):
        return None
    if offer.provider_state == need.state_code:
        return None
    shared_t = [t for t in need.themes if t in offer.themes]
    shared_p = [p for p in need.pillars if p in offer.pillars]
    if not shared_t and not shared_p:
        return None
    why = eligibility(offer, need.state_code, places)
    if why is None:
        return None
    cov, target = coverage(need, offer), TARGETING[offer.beneficiary_scope]
    note = f"starts {offer.starts_on.isoformat()}" if offer.starts_on and offer.starts_on > now else ""
    if offer.ends_on:
        note = (note + "; " if note else "") + f"ends {offer.ends_on.isoformat()}"
    return Match(
        need_id=need.id,
        need_title=need.title,
        state=need.state_code,
        offer_id=offer.id,
        offer_title=offer.title,
        provider=provider_of(offer),
        score=round(100 * cov * target, 1),
        coverage=round(cov, 4),
        targeting=target,
        eligibility=why,
        shared_themes=shared_t,
        shared_pillars=shared_p,
        missing_themes=[t for t in need.themes if t not in offer.themes],
        missing_pillars=[p for p in need.pillars if p not in offer.pillars],
        note=note,
    )


def match_all(
    needs: Iterable[CapacityNeed],
    offers: Iterable[CapacityOffer],
    places: dict[str, tuple[str | None, str | None]],
    now: dt.date,
) -> list[Match]:
    """Every matching (need, offer) pair, best first (score, then the older need, then ids)."""
    needs, offers = list(needs), list(offers)
    found = [m for n in needs for o in offers if (m := match_pair(n, o, places, now)) is not None]
    declared = {n.id: n.declared_on for n in needs}
    return sorted(found, key=lambda m: (-m.score, declared[m.need_id], m.need_id, m.offer_id))


def matches(
    session: Session,
    *,
    state: str | None = None,
    need_id: int | None = None,
    offer_id: int | None = None,
    provider: str | None = None,
    min_score: float = 0.0,
    now: dt.date | None = None,
) -> list[Match]:
    """Matches of the open needs with the open offers, narrowed to a needing state, a need, an offer or a
    donor (state or organisation code), best first."""
    needs = [get_need(session, need_id)] if need_id else list_needs(session, Filters(state=state, status="open"))
    if offer_id:
        offers = [get_offer(session, offer_id)]
    else:
        offers = list_offers(session, Filters(provider=provider, status="open"))
    found = match_all(needs, offers, _places(session), now or today())
    return [m for m in found if m.score >= min_score]


# ---------------------------------------------------------------- maturity


def get_assessment(session: Session, assessment_id: int) -> MaturityAssessment:
    a = session.get(MaturityAssessment, assessment_id)
    if a is None:
        raise NotFound(f"no maturity assessment with id {assessment_id}")
    return a


def create_assessment(session: Session, *, actor: Actor = SYSTEM, **values: Any) -> MaturityAssessment:
    """Record an assessment: state_code, framework (gci | cmm), assessed_on, kind (self | external), a score
    for every pillar or dimension on the framework's scale; optionally assessor, note, sources and as_of."""
    data = _parse(s.AssessmentCreate, values).model_dump()
    check_assessment(session, data)
    return _create(session, MaturityAssessment(entered_by=actor.name, **data), ASSESSMENTS, actor, assessment_json)


def delete_assessment(
    session: Session, assessment_id: int, *, if_match: str | None = None, actor: Actor = SYSTEM
) -> None:
    """Remove a mistaken assessment (the audit log keeps it); assessments are history, so never edited."""
    _delete(session, get_assessment(session, assessment_id), if_match, ASSESSMENTS, actor, assessment_json)


def list_assessments(
    session: Session, *, state: str | None = None, framework: str | None = None
) -> list[MaturityAssessment]:
    """Assessments, oldest first (the history order)."""
    stmt = select(MaturityAssessment)
    if state:
        stmt = stmt.where(MaturityAssessment.state_code == state.upper())
    if framework:
        stmt = stmt.where(MaturityAssessment.framework == framework)
    order = (MaturityAssessment.state_code, MaturityAssessment.assessed_on, MaturityAssessment.id)
    return list(session.scalars(stmt.order_by(*order)))


@dataclass
class FrameworkHistory:
    """A state's assessments on one framework over time, and the latest with its change since the one before."""

    key: str
    name: str
    parts: dict[str, str]
    low: float
    high: float
    unit: str
    source: str
    assessments: list[dict[str, Any]]
    latest: dict[str, Any]
    change: dict[str, float | None]


def maturity_profile(session: Session, code: str) -> list[FrameworkHistory]:
    """Per framework with at least one assessment of ``code``: its history (oldest first) and the latest scores."""
    if session.get(State, code.upper()) is None:
        raise NotFound(f"no state with code {code!r}")
    out = []
    rows = list_assessments(session, state=code)
    for key, f in FRAMEWORKS.items():
        series = [assessment_json(a) for a in rows if a.framework == key]
        if not series:
            continue
        latest = series[-1]
        previous = series[-2]["scores"] if len(series) > 1 else {}
        change = {p: (latest["scores"][p] - previous[p]) if p in previous else None for p in f.parts}
        out.append(FrameworkHistory(key, f.name, f.parts, f.low, f.high, f.unit, f.source, series, latest, change))
    return out


# ---------------------------------------------------------------- several records at once


def import_batch(session: Session, batch: dict[str, Any], *, actor: Actor = SYSTEM) -> dict[str, list[int]]:
    """Write needs, offers and assessments in the caller's transaction: every record is checked first, and
    one problem anywhere (named ``needs.2.themes.0``, ``assessments.0.scores.legal`` …) writes nothing."""
    parsed = _parse(s.ImportBatch, batch)
    problems: list[Problem] = []
    checks = (("needs", check_need), ("offers", check_offer), ("assessments", check_assessment))
    data: dict[str, list[dict[str, Any]]] = {}
    for name, check in checks:
        data[name] = [r.model_dump() for r in getattr(parsed, name)]
        for i, row in enumerate(data[name]):
            try:
                check(session, row, (name, str(i)))
            except Invalid as exc:
                problems += exc.problems
    if problems:
        raise Invalid(f"{len(problems)} problem(s); nothing was written", problems)
    seen: set[tuple[Any, ...]] = set()
    for i, a in enumerate(data["assessments"]):
        key = (a["state_code"], a["framework"], a["assessed_on"], a["kind"])
        if key in seen:
            raise Duplicate("duplicate assessments", [Problem(f"assessments.{i}.assessed_on", "given twice")])
        seen.add(key)
    made = {
        "needs": [create_need(session, actor=actor, **r).id for r in data["needs"]],
        "offers": [create_offer(session, actor=actor, **r).id for r in data["offers"]],
        "assessments": [create_assessment(session, actor=actor, **r).id for r in data["assessments"]],
    }
    return made


# ---------------------------------------------------------------- one state


def state_summary(session: Session, code: str, now: dt.date | None = None) -> dict[str, Any]:
    """A state's capacity picture: its needs, the offers it makes, the offers it may benefit from, the matches
    of its open needs and its maturity history."""
    code = code.upper()
    state = session.get(State, code)
    if state is None:
        raise NotFound(f"no state with code {code!r}")
    return {
        "state": state,
        "needs": list_needs(session, Filters(state=code)),
        "offers_made": list_offers(session, Filters(provider=code)),
        "offers_open_to": list_offers(session, Filters(state=code, status="open")),
        "matches": matches(session, state=code, now=now),
        "maturity": maturity_profile(session, code),
    }
