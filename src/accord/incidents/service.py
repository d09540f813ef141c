"""Domain logic of incidents and accountability: resources, filters, and the per-state record."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field
from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from accord.core.errors import Problem
from accord.core.records import Reference, Resource
from accord.core.types import CountryCode, Id, QueryModel, Str
from accord.directory.models import Organisation, State
from accord.incidents import schemas as s
from accord.incidents.models import (
    Attribution,
    Incident,
    IncidentActor,
    IncidentReceiver,
    NormFinding,
    Response,
    ThreatActor,
)
from accord.norms.models import Provision

# ---------------------------------------------------------------- threat actors


class ThreatActorFilter(QueryModel):
    sponsor_state: CountryCode | None = None
    attack_id: Str | None = None


def actor_id_for(session: Session, ref: str) -> int | None:
    """Resolve an ATT&CK id (``G0007``), a name or an alias to a threat actor id."""
    found = session.scalar(select(ThreatActor.id).where(or_(ThreatActor.attack_id == ref, ThreatActor.name == ref)))
    return found


# ---------------------------------------------------------------- incidents


class IncidentFilter(QueryModel):
    attributed_state: CountryCode | None = Field(default=None, description="publicly attributed to this state")
    attributing_state: CountryCode | None = Field(default=None, description="attributed by this state")
    receiver: CountryCode | None = Field(default=None, description="aimed at this state")
    sector: s.Sector | None = None
    category: s.ReceiverCategory | None = None
    type: s.OperationType | None = None
    year_from: int | None = Field(default=None, ge=1900, le=2100)
    year_to: int | None = Field(default=None, ge=1900, le=2100)
    actor: Id | None = Field(default=None, description="threat actor id")
    min_intensity: int | None = Field(default=None, ge=1, le=5)


def _filter_incidents(stmt: Select[Any], f: IncidentFilter) -> Select[Any]:
    if f.attributed_state:
        stmt = stmt.where(
            Incident.id.in_(select(Attribution.incident_id).where(Attribution.attributed_state == f.attributed_state))
        )
    if f.attributing_state:
        stmt = stmt.where(
            Incident.id.in_(select(Attribution.incident_id).where(Attribution.by_state == f.attributing_state))
        )
    if f.receiver or f.sector or f.category:
        sub = select(IncidentReceiver.incident_id)
        if f.receiver:
            sub = sub.where(IncidentReceiver.state_code == f.receiver)
        if f.sector:
            sub = sub.where(IncidentReceiver.sector == f.sector)
        if f.category:
            sub = sub.where(IncidentReceiver.category == f.category)
        stmt = stmt.where(Incident.id.in_(sub))
    if f.year_from:
        stmt = stmt.where(Incident.start_date >= dt.date(f.year_from, 1, 1))
    if f.year_to:
        stmt = stmt.where(Incident.start_date <= dt.date(f.year_to, 12, 31))
    if f.actor:
        stmt = stmt.where(Incident.id.in_(select(IncidentActor.incident_id).where(IncidentActor.actor_id == f.actor)))
    if f.min_intensity:
        stmt = stmt.where(Incident.intensity >= f.min_intensity)
    return stmt


def _check_incident(session: Session, data: dict[str, Any]) -> list[Problem]:
    problems = []
    codes = {r["state_code"] for r in data.get("receivers") or [] if r.get("state_code")}
    if codes:
        known = set(session.scalars(select(State.code).where(State.code.in_(codes))))
        for i, r in enumerate(data["receivers"]):
            if r.get("state_code") and r["state_code"] not in known:
                problems.append(Problem(f"receivers.{i}.state_code", f"no states record {r['state_code']!r}"))
    ids = set(data.get("actor_ids") or [])
    if ids:
        known_ids = set(session.scalars(select(ThreatActor.id).where(ThreatActor.id.in_(ids))))
        problems += [Problem("actor_ids", f"no threat actor with id {i}") for i in sorted(ids - known_ids)]
    return problems


def _incident_parts(
    data: dict[str, Any],
) -> tuple[dict[str, Any], list[IncidentReceiver] | None, list[IncidentActor] | None]:
    data = dict(data)
    receivers = data.pop("receivers", None)
    actor_ids = data.pop("actor_ids", None)
    recs = None if receivers is None else [IncidentReceiver(**r) for r in receivers]
    acts = None if actor_ids is None else [IncidentActor(actor_id=a) for a in dict.fromkeys(actor_ids)]
    return data, recs, acts


def _build_incident(_session: Session, model: type[Any], data: dict[str, Any]) -> Incident:
    plain, recs, acts = _incident_parts(data)
    return Incident(**plain, receivers=recs or [], actor_links=acts or [])


def _assign_incident(session: Session, obj: Any, changes: dict[str, Any]) -> None:
    plain, recs, acts = _incident_parts(changes)
    for k, v in plain.items():
        setattr(obj, k, v)
    if recs is not None:
        obj.receivers = recs
    if acts is not None:
        obj.actor_links = acts
    if recs is not None or acts is not None:
        obj.updated_at = dt.datetime.now(dt.UTC)  # bump the version even if only children changed


def _view_incident(obj: Any) -> dict[str, Any]:
    view = {
        name: getattr(obj, name) for name in s.IncidentCreate.model_fields if name not in ("receivers", "actor_ids")
    }
    view["receivers"] = [
        {"state_code": r.state_code, "category": r.category, "sector": r.sector} for r in obj.receivers
    ]
    view["actor_ids"] = obj.actor_ids
    return view


# ---------------------------------------------------------------- attributions, responses, findings


class AttributionFilter(QueryModel):
    incident: Id | None = None
    by_state: CountryCode | None = None
    by_organisation: Str | None = None
    attributed_state: CountryCode | None = None
    joint_group: Str | None = None
    basis: s.Basis | None = None
    form: s.Form | None = None
    year_from: int | None = Field(default=None, ge=1900, le=2100)
    year_to: int | None = Field(default=None, ge=1900, le=2100)
    joint: bool | None = Field(default=None, description="only joint (true) or only single (false) attributions")


def _filter_attributions(stmt: Select[Any], f: AttributionFilter) -> Select[Any]:
    if f.year_from:
        stmt = stmt.where(Attribution.date >= dt.date(f.year_from, 1, 1))
    if f.year_to:
        stmt = stmt.where(Attribution.date <= dt.date(f.year_to, 12, 31))
    if f.joint is not None:
        stmt = stmt.where(Attribution.joint_group.is_not(None) if f.joint else Attribution.joint_group.is_(None))
    return stmt


class ResponseFilter(QueryModel):
    incident: Id | None = None
    by_state: CountryCode | None = None
    by_organisation: Str | None = None
    against_state: CountryCode | None = None
    type: s.ResponseType | None = None


class NormFindingFilter(QueryModel):
    incident: Id | None = None
    provision: Id | None = None
    claimed_by_state: CountryCode | None = None


THREAT_ACTORS = Resource(
    name="actors",
    model=ThreatActor,
    create=s.ThreatActorCreate,
    update=s.ThreatActorUpdate,
    out=s.ThreatActorOut,
    filters=ThreatActorFilter,
    equal_filters={"sponsor_state": "sponsor_state", "attack_id": "attack_id"},
    search=("name", "aliases", "description", "attack_id"),
    fts="threat_actors_fts",
    sorts=("name", "id", "attack_id"),
    references=(Reference("sponsor_state", State),),
    uniques=(("name",), ("attack_id",)),
)
INCIDENTS = Resource(
    name="incidents",
    model=Incident,
    create=s.IncidentCreate,
    update=s.IncidentUpdate,
    out=s.IncidentOut,
    filters=IncidentFilter,
    apply_filters=_filter_incidents,
    equal_filters={"type": "operation_type"},
    search=("name", "aliases", "description"),
    fts="incidents_fts",
    sorts=("-start_date", "start_date", "name", "id", "disclosure_date", "intensity"),
    uniques=(("slug",),),
    check=_check_incident,
    build=_build_incident,
    assign=_assign_incident,
    view=_view_incident,
)
_INCIDENT_REF = Reference("incident_id", Incident, "id")
ATTRIBUTIONS = Resource(
    name="attributions",
    model=Attribution,
    create=s.AttributionCreate,
    update=s.AttributionUpdate,
    out=s.AttributionOut,
    filters=AttributionFilter,
    apply_filters=_filter_attributions,
    equal_filters={
        "incident": "incident_id",
        "by_state": "by_state",
        "by_organisation": "by_organisation",
        "attributed_state": "attributed_state",
        "joint_group": "joint_group",
        "basis": "basis",
        "form": "form",
    },
    search=("by_company", "attributed_unit", "joint_group", "confidence"),
    sorts=("-date", "date", "id"),
    references=(
        _INCIDENT_REF,
        Reference("by_state", State),
        Reference("by_organisation", Organisation),
        Reference("attributed_state", State),
        Reference("attributed_actor_id", ThreatActor, "id"),
    ),
)
RESPONSES = Resource(
    name="responses",
    model=Response,
    create=s.ResponseCreate,
    update=s.ResponseUpdate,
    out=s.ResponseOut,
    filters=ResponseFilter,
    equal_filters={
        "incident": "incident_id",
        "by_state": "by_state",
        "by_organisation": "by_organisation",
        "against_state": "against_state",
        "type": "type",
    },
    search=("against", "description"),
    sorts=("-date", "date", "id"),
    references=(
        _INCIDENT_REF,
        Reference("by_state", State),
        Reference("by_organisation", Organisation),
        Reference("against_state", State),
    ),
)
NORM_FINDINGS = Resource(
    name="norm-findings",
    model=NormFinding,
    create=s.NormFindingCreate,
    update=s.NormFindingUpdate,
    out=s.NormFindingOut,
    filters=NormFindingFilter,
    equal_filters={"incident": "incident_id", "provision": "provision_id", "claimed_by_state": "claimed_by_state"},
    search=("note",),
    sorts=("-date", "date", "id"),
    references=(
        _INCIDENT_REF,
        Reference("provision_id", Provision, "id"),
        Reference("claimed_by_state", State),
        Reference("claimed_by_organisation", Organisation),
    ),
)

RESOURCES = (THREAT_ACTORS, INCIDENTS, ATTRIBUTIONS, RESPONSES, NORM_FINDINGS)


def _brief(incidents: Any) -> list[dict[str, Any]]:
    return [
        {
            "id": i.id,
            "slug": i.slug,
            "name": i.name,
            "start_date": i.start_date,
            "operation_type": i.operation_type,
            "intensity": i.intensity,
        }
        for i in incidents
    ]


def record_of_state(session: Session, code: str) -> dict[str, Any]:
    """Everything the incident record says about one state: suffered, attributed to it, its claims and measures."""
    suffered = session.scalars(
        select(Incident)
        .where(Incident.id.in_(select(IncidentReceiver.incident_id).where(IncidentReceiver.state_code == code)))
        .order_by(Incident.start_date)
    )
    accused = session.scalars(
        select(Incident)
        .where(Incident.id.in_(select(Attribution.incident_id).where(Attribution.attributed_state == code)))
        .order_by(Incident.start_date)
    )
    made = session.scalars(select(Attribution).where(Attribution.by_state == code).order_by(Attribution.date))
    taken = session.scalars(select(Response).where(Response.by_state == code).order_by(Response.date))
    received = session.scalars(select(Response).where(Response.against_state == code).order_by(Response.date))
    sponsored = session.scalars(select(ThreatActor).where(ThreatActor.sponsor_state == code).order_by(ThreatActor.name))
    return {
        "incidents_suffered": _brief(suffered),
        "incidents_attributed_to": _brief(accused),
        "attributions_made": [
            s.AttributionOut.model_validate(a).model_dump() | {"joint": a.joint_group is not None} for a in made
        ],
        "responses_taken": [s.ResponseOut.model_validate(r).model_dump() for r in taken],
        "responses_received": [s.ResponseOut.model_validate(r).model_dump() for r in received],
        "sponsored_actors": [
            {"id": a.id, "name": a.name, "attack_id": a.attack_id, "unit": a.sponsor_unit} for a in sponsored
        ],
    }
