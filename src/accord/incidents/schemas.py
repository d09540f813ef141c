"""API input/output shapes of incidents, actors, attributions, responses and norm findings."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator

from accord.core.types import (
    Code,
    CountryCode,
    Id,
    Name,
    OutSchema,
    Precision,
    Schema,
    SourcedIn,
    SourcedPatch,
    Str,
    Text,
    Url,
    check_order,
)

OperationType = Literal[
    "espionage",
    "data_theft",
    "disruption",
    "destruction",
    "ransomware",
    "hijacking",
    "influence_operation",
    "ddos",
    "defacement",
]
ReceiverCategory = Literal[
    "government",
    "military",
    "critical_infrastructure",
    "private",
    "civil_society",
    "international_organisation",
]
Sector = Literal[
    "energy",
    "finance",
    "health",
    "telecom",
    "transport",
    "water",
    "elections",
    "media",
    "defence_industry",
    "technology",
    "research",
    "government_services",
    "other",
]
Basis = Literal[
    "receiver_government",
    "third_party_government",
    "international_organisation",
    "it_security_company",
    "media",
    "self_declared",
]
Form = Literal["political_statement", "technical_advisory", "indictment", "sanctions_listing"]
ResponseType = Literal[
    "statement",
    "demarche",
    "expulsion",
    "sanctions",
    "indictment",
    "countermeasure",
    "capacity_building",
]
EuToolbox = Literal["preventive", "cooperative", "stabilising", "restrictive", "support"]
Slug = Code


def exactly_one(*names: str) -> Any:
    """Field validator for the last of ``names``: exactly one of them must be set."""

    def _check(cls: Any, value: Any, info: ValidationInfo) -> Any:
        data = info.data  # built on each access: read it once
        given = sum(data.get(n) is not None for n in names[:-1]) + (value is not None)
        if given != 1:
            raise ValueError(f"exactly one of {', '.join(names)} must be given (got {given})")
        return value

    return field_validator(names[-1])(_check)


class ThreatActorCreate(SourcedIn):
    name: Name
    attack_id: Str | None = Field(default=None, pattern=r"^G\d{4}$")
    stix_id: Str | None = Field(default=None, pattern=r"^intrusion-set--[0-9a-f-]{36}$")
    aliases: list[Name] = Field(default_factory=list, max_length=100)
    description: Text | None = None
    sponsor_state: CountryCode | None = None
    sponsor_unit: Str | None = Field(default=None, max_length=300)
    sponsor_sources: list[Url] = Field(default_factory=list, max_length=20)


class ThreatActorUpdate(SourcedPatch):
    name: Name | None = None
    aliases: list[Name] | None = None
    description: Text | None = None
    sponsor_state: CountryCode | None = None
    sponsor_unit: Str | None = Field(default=None, max_length=300)
    sponsor_sources: list[Url] | None = None


class ThreatActorOut(OutSchema):
    id: int
    attack_id: str | None
    stix_id: str | None
    name: str
    aliases: list[str]
    description: str | None
    sponsor_state: str | None
    sponsor_unit: str | None
    sponsor_sources: list[str]
    sources: list[str]
    as_of: dt.date | None
    version: int


class Receiver(Schema):
    state_code: CountryCode | None = None
    category: ReceiverCategory
    sector: Sector | None = None


class ReceiverOut(OutSchema):
    state_code: str | None
    category: str
    sector: str | None


class IncidentCreate(SourcedIn):
    slug: Slug
    name: Name
    aliases: list[Name] = Field(default_factory=list, max_length=50)
    description: Text | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    disclosure_date: dt.date | None = None
    date_precision: Precision = "day"
    operation_type: OperationType
    intensity: int | None = Field(default=None, ge=1, le=5, description="1 minimal … 5 severe (see README)")
    receivers: list[Receiver] = Field(default_factory=list, max_length=200)
    actor_ids: list[Id] = Field(default_factory=list, max_length=50)
    check_end = check_order("start_date", "end_date")
    check_disclosure = check_order("start_date", "disclosure_date")


class IncidentUpdate(SourcedPatch):
    name: Name | None = None
    aliases: list[Name] | None = None
    description: Text | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    disclosure_date: dt.date | None = None
    date_precision: Precision | None = None
    operation_type: OperationType | None = None
    intensity: int | None = Field(default=None, ge=1, le=5)
    receivers: list[Receiver] | None = None
    actor_ids: list[Id] | None = None


class IncidentOut(OutSchema):
    id: int
    slug: str
    name: str
    aliases: list[str]
    description: str | None
    start_date: dt.date | None
    end_date: dt.date | None
    disclosure_date: dt.date | None
    date_precision: str
    operation_type: str
    intensity: int | None
    receivers: list[ReceiverOut]
    actor_ids: list[int]
    sources: list[str]
    as_of: dt.date | None
    version: int


class AttributionCreate(SourcedIn):
    incident_id: Id
    by_state: CountryCode | None = None
    by_organisation: Code | None = None
    by_company: Name | None = Field(default=None, validate_default=True)
    attributed_state: CountryCode | None = None
    attributed_unit: Str | None = Field(default=None, max_length=300)
    attributed_actor_id: Id | None = None
    date: dt.date | None = None
    basis: Basis
    form: Form
    joint_group: Slug | None = None
    confidence: Str | None = Field(default=None, max_length=120)
    check_by = exactly_one("by_state", "by_organisation", "by_company")


class AttributionUpdate(SourcedPatch):
    by_state: CountryCode | None = None
    by_organisation: Code | None = None
    by_company: Name | None = None
    attributed_state: CountryCode | None = None
    attributed_unit: Str | None = Field(default=None, max_length=300)
    attributed_actor_id: Id | None = None
    date: dt.date | None = None
    basis: Basis | None = None
    form: Form | None = None
    joint_group: Slug | None = None
    confidence: Str | None = Field(default=None, max_length=120)


class AttributionOut(OutSchema):
    id: int
    incident_id: Id
    by_state: str | None
    by_organisation: str | None
    by_company: str | None
    attributed_state: str | None
    attributed_unit: str | None
    attributed_actor_id: int | None
    date: dt.date | None
    basis: str
    form: str
    joint_group: str | None
    confidence: str | None
    sources: list[str]
    as_of: dt.date | None
    version: int


class ResponseCreate(SourcedIn):
    incident_id: Id
    by_state: CountryCode | None = None
    by_organisation: Code | None = Field(default=None, validate_default=True)
    against_state: CountryCode | None = None
    against: Text | None = None
    date: dt.date | None = None
    type: ResponseType
    eu_toolbox: EuToolbox | None = None
    description: Text | None = None
    check_by = exactly_one("by_state", "by_organisation")


class ResponseUpdate(SourcedPatch):
    by_state: CountryCode | None = None
    by_organisation: Code | None = None
    against_state: CountryCode | None = None
    against: Text | None = None
    date: dt.date | None = None
    type: ResponseType | None = None
    eu_toolbox: EuToolbox | None = None
    description: Text | None = None


class ResponseOut(OutSchema):
    id: int
    incident_id: Id
    by_state: str | None
    by_organisation: str | None
    against_state: str | None
    against: str | None
    date: dt.date | None
    type: str
    eu_toolbox: str | None
    description: str | None
    sources: list[str]
    as_of: dt.date | None
    version: int


class NormFindingCreate(SourcedIn):
    incident_id: Id
    provision_id: Id
    claimed_by_state: CountryCode | None = None
    claimed_by_organisation: Code | None = Field(default=None, validate_default=True)
    date: dt.date | None = None
    note: Text | None = None
    check_by = exactly_one("claimed_by_state", "claimed_by_organisation")


class NormFindingUpdate(SourcedPatch):
    claimed_by_state: CountryCode | None = None
    claimed_by_organisation: Code | None = None
    date: dt.date | None = None
    note: Text | None = None


class NormFindingOut(OutSchema):
    id: int
    incident_id: Id
    provision_id: Id
    claimed_by_state: str | None
    claimed_by_organisation: str | None
    date: dt.date | None
    note: str | None
    sources: list[str]
    as_of: dt.date | None
    version: int
