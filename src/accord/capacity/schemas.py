"""API input/output shapes of capacity building (vocabularies and their sources: :mod:`accord.capacity.models`).

Field-level rules live here (known themes and pillars, ISO codes, dates, lengths); rules that need the
database or several fields at once (the state exists, a source has an as-of date, a score is on its
framework's scale, the period is in order) are checked by :mod:`accord.capacity.service`, which names the
field of each problem too.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from accord.core.types import Code, CountryCode, Name, OutSchema, Schema, Str, Text, Url

Theme = Literal["policy-strategy", "incident-management-ciip", "cybercrime", "culture-skills", "standards"]
Pillar = Literal["legal", "technical", "organisational", "capacity-development", "cooperation"]
NeedStatus = Literal["open", "met", "withdrawn"]
OfferStatus = Literal["open", "closed", "withdrawn"]
Scope = Literal["any", "regions", "states"]
FrameworkKey = Literal["gci", "cmm"]
AssessmentKind = Literal["self", "external"]


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


Themes = Annotated[list[Theme], Field(max_length=5, description="GFCE themes"), AfterValidator(_unique)]
Pillars = Annotated[list[Pillar], Field(max_length=5, description="ITU GCI pillars"), AfterValidator(_unique)]
Region = Annotated[Str, Field(min_length=1, max_length=60, description="UN M49 region or sub-region name")]
SourceList = Annotated[list[Url], Field(max_length=20, description="public source URLs (none: a node-local record)")]
Label = Annotated[Str, Field(min_length=1, max_length=300)]


class NeedCreate(Schema):
    """A need: a state, what it needs (at least one GFCE theme or GCI pillar), since when. With ``sources`` it
    is a public fact and needs ``as_of``; without, a record of this node (``entered_by`` says whose)."""

    state_code: CountryCode
    title: Name
    description: Text | None = None
    themes: Themes = Field(default_factory=list)
    pillars: Pillars = Field(default_factory=list)
    status: NeedStatus = "open"
    declared_on: dt.date
    sources: SourceList = Field(default_factory=list)
    as_of: dt.date | None = None


class NeedUpdate(Schema):
    state_code: CountryCode | None = None
    title: Name | None = None
    description: Text | None = None
    themes: Themes | None = None
    pillars: Pillars | None = None
    status: NeedStatus | None = None
    declared_on: dt.date | None = None
    sources: SourceList | None = None
    as_of: dt.date | None = None


class NeedOut(OutSchema):
    id: int
    state_code: str
    title: str
    description: str | None
    themes: list[str]
    pillars: list[str]
    status: str
    declared_on: dt.date
    sources: list[str]
    as_of: dt.date | None
    entered_by: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class OfferCreate(Schema):
    """An offer by a state (``provider_state``) or an organisation (``provider_organisation``) — exactly one —
    to ``any`` state, to the states of some UN M49 regions or sub-regions (``regions``), or to named states."""

    provider_state: CountryCode | None = None
    provider_organisation: Code | None = None
    title: Name
    description: Text | None = None
    themes: Themes = Field(default_factory=list)
    pillars: Pillars = Field(default_factory=list)
    beneficiary_scope: Scope = "any"
    beneficiary_regions: list[Region] = Field(default_factory=list, max_length=30)
    beneficiary_states: list[CountryCode] = Field(default_factory=list, max_length=250)
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    status: OfferStatus = "open"
    sources: SourceList = Field(default_factory=list)
    as_of: dt.date | None = None


class OfferUpdate(Schema):
    provider_state: CountryCode | None = None
    provider_organisation: Code | None = None
    title: Name | None = None
    description: Text | None = None
    themes: Themes | None = None
    pillars: Pillars | None = None
    beneficiary_scope: Scope | None = None
    beneficiary_regions: list[Region] | None = Field(default=None, max_length=30)
    beneficiary_states: list[CountryCode] | None = Field(default=None, max_length=250)
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    status: OfferStatus | None = None
    sources: SourceList | None = None
    as_of: dt.date | None = None


class OfferOut(OutSchema):
    id: int
    provider_state: str | None
    provider_organisation: str | None
    title: str
    description: str | None
    themes: list[str]
    pillars: list[str]
    beneficiary_scope: str
    beneficiary_regions: list[str]
    beneficiary_states: list[str]
    starts_on: dt.date | None
    ends_on: dt.date | None
    status: str
    sources: list[str]
    as_of: dt.date | None
    entered_by: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class AssessmentCreate(Schema):
    """A maturity assessment: a score for every pillar (``gci``, 0–20 each) or dimension (``cmm``, stage 1–5)."""

    state_code: CountryCode
    framework: FrameworkKey
    assessed_on: dt.date
    kind: AssessmentKind
    assessor: Label | None = None
    scores: dict[Annotated[Str, Field(max_length=40)], float] = Field(max_length=10)
    note: Text | None = None
    sources: SourceList = Field(default_factory=list)
    as_of: dt.date | None = None


class AssessmentOut(OutSchema):
    id: int
    state_code: str
    framework: str
    assessed_on: dt.date
    kind: str
    assessor: str | None
    scores: dict[str, float]
    note: str | None
    sources: list[str]
    as_of: dt.date | None
    entered_by: str | None
    created_at: dt.datetime
    version: int


class ImportBatch(Schema):
    """Several records written in one transaction: all of them, or — if any is invalid — none."""

    needs: list[NeedCreate] = Field(default_factory=list, max_length=5000)
    offers: list[OfferCreate] = Field(default_factory=list, max_length=5000)
    assessments: list[AssessmentCreate] = Field(default_factory=list, max_length=5000)
