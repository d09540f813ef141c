"""API input/output shapes of the directory."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

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

UnStatus = Literal["member", "observer", "none"]
OrgKind = Literal["universal", "regional", "military_alliance", "economic_forum", "intergovernmental"]
MemberRole = Literal["member", "observer", "partner", "suspended"]
AgencyKind = Literal["foreign_ministry", "cert", "cyber_agency", "law_enforcement_247", "other"]
PocRole = Literal["technical", "diplomatic", "political", "24-7"]
ChannelKind = Literal["email", "phone", "fax", "url", "node", "other"]


class StateCreate(SourcedIn):
    code: CountryCode
    name: Name
    alpha3: Str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    un_status: UnStatus = "member"
    un_admission: dt.date | None = None
    m49_region: Str | None = Field(default=None, max_length=60)
    m49_subregion: Str | None = Field(default=None, max_length=60)


class StateUpdate(SourcedPatch):
    name: Name | None = None
    alpha3: Str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    un_status: UnStatus | None = None
    un_admission: dt.date | None = None
    m49_region: Str | None = Field(default=None, max_length=60)
    m49_subregion: Str | None = Field(default=None, max_length=60)


class StateOut(OutSchema):
    code: str
    alpha3: str | None
    name: str
    un_status: str
    un_admission: dt.date | None
    m49_region: str | None
    m49_subregion: str | None
    sources: list[str]
    as_of: dt.date | None
    version: int


class OrganisationCreate(SourcedIn):
    code: Code
    name: Name
    kind: OrgKind
    founded: dt.date | None = None
    website: Url | None = None
    description: Text | None = None


class OrganisationUpdate(SourcedPatch):
    name: Name | None = None
    kind: OrgKind | None = None
    founded: dt.date | None = None
    website: Url | None = None
    description: Text | None = None


class OrganisationOut(OutSchema):
    code: str
    name: str
    kind: str
    founded: dt.date | None
    website: str | None
    description: str | None
    sources: list[str]
    as_of: dt.date | None
    version: int


class MembershipCreate(SourcedIn):
    organisation_code: Code
    state_code: CountryCode
    role: MemberRole = "member"
    joined: dt.date | None = None
    left: dt.date | None = None
    date_precision: Precision = "day"
    check_dates = check_order("joined", "left")


class MembershipUpdate(SourcedPatch):
    role: MemberRole | None = None
    joined: dt.date | None = None
    left: dt.date | None = None
    date_precision: Precision | None = None


class MembershipOut(OutSchema):
    id: int
    organisation_code: str
    state_code: str
    role: str
    joined: dt.date | None
    left: dt.date | None
    date_precision: str
    sources: list[str]
    as_of: dt.date | None
    version: int


class AgencyCreate(SourcedIn):
    state_code: CountryCode
    name: Name
    kind: AgencyKind
    website: Url | None = None


class AgencyUpdate(SourcedPatch):
    name: Name | None = None
    kind: AgencyKind | None = None
    website: Url | None = None


class AgencyOut(OutSchema):
    id: int
    state_code: str
    name: str
    kind: str
    website: str | None
    sources: list[str]
    as_of: dt.date | None
    version: int


class Channel(Schema):
    kind: ChannelKind
    value: Str = Field(min_length=1, max_length=500)


class PointOfContactCreate(SourcedIn):
    state_code: CountryCode
    agency_id: Id | None = None
    role: PocRole
    name: Name
    title: Str | None = Field(default=None, max_length=300)
    channels: list[Channel] = Field(default_factory=list, max_length=20)
    languages: list[Str] = Field(default_factory=list, max_length=20)
    time_zone: Str | None = Field(default=None, max_length=60)
    public_key_fingerprint: Str | None = Field(default=None, max_length=200)
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    check_dates = check_order("valid_from", "valid_to")


class PointOfContactUpdate(SourcedPatch):
    agency_id: Id | None = None
    role: PocRole | None = None
    name: Name | None = None
    title: Str | None = Field(default=None, max_length=300)
    channels: list[Channel] | None = None
    languages: list[Str] | None = None
    time_zone: Str | None = Field(default=None, max_length=60)
    public_key_fingerprint: Str | None = Field(default=None, max_length=200)
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None


class PointOfContactOut(OutSchema):
    id: int
    state_code: str
    agency_id: int | None
    role: str
    name: str
    title: str | None
    channels: list[dict[str, str]]
    languages: list[str]
    time_zone: str | None
    public_key_fingerprint: str | None
    valid_from: dt.date | None
    valid_to: dt.date | None
    sources: list[str]
    as_of: dt.date | None
    version: int
