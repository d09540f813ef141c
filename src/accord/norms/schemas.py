"""API input/output shapes of norms and agreements."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from accord.core.types import (
    Code,
    CountryCode,
    Name,
    OutSchema,
    Precision,
    Schema,
    SourcedIn,
    SourcedPatch,
    Str,
    Text,
    check_order,
)

InstrumentKind = Literal["treaty", "protocol", "political_commitment", "voluntary_norms", "expert_manual"]
CommitmentStatus = Literal["signed", "ratified", "acceded", "endorsed", "withdrawn"]


class InstrumentCreate(SourcedIn):
    code: Code
    name: Name
    short_name: Str | None = Field(default=None, max_length=120)
    kind: InstrumentKind
    adopted: dt.date | None = None
    opened_for_signature: dt.date | None = None
    entry_into_force: dt.date | None = None
    depositary: Str | None = Field(default=None, max_length=300)
    organisation_code: Code | None = None
    reference: Str | None = Field(default=None, max_length=200)
    description: Text | None = None
    check_force = check_order("opened_for_signature", "entry_into_force")


class InstrumentUpdate(SourcedPatch):
    name: Name | None = None
    short_name: Str | None = Field(default=None, max_length=120)
    kind: InstrumentKind | None = None
    adopted: dt.date | None = None
    opened_for_signature: dt.date | None = None
    entry_into_force: dt.date | None = None
    depositary: Str | None = Field(default=None, max_length=300)
    organisation_code: Code | None = None
    reference: Str | None = Field(default=None, max_length=200)
    description: Text | None = None


class InstrumentOut(OutSchema):
    code: str
    name: str
    short_name: str | None
    kind: str
    adopted: dt.date | None
    opened_for_signature: dt.date | None
    entry_into_force: dt.date | None
    depositary: str | None
    organisation_code: str | None
    reference: str | None
    description: str | None
    sources: list[str]
    as_of: dt.date | None
    version: int


class ProvisionCreate(Schema):
    instrument_code: Code
    code: Code
    title: Name
    summary: Text | None = None
    part: Str | None = Field(default=None, max_length=200)
    position: int = Field(default=0, ge=0, le=100000)


class ProvisionUpdate(Schema):
    title: Name | None = None
    summary: Text | None = None
    part: Str | None = Field(default=None, max_length=200)
    position: int | None = Field(default=None, ge=0, le=100000)


class ProvisionOut(OutSchema):
    id: int
    instrument_code: str
    code: str
    title: str
    summary: str | None
    part: str | None
    position: int
    version: int


class CommitmentCreate(SourcedIn):
    instrument_code: Code
    state_code: CountryCode
    status: CommitmentStatus
    date: dt.date | None = None
    date_precision: Precision = "day"
    reservations: Text | None = None
    note: Text | None = None


class CommitmentUpdate(SourcedPatch):
    status: CommitmentStatus | None = None
    date: dt.date | None = None
    date_precision: Precision | None = None
    reservations: Text | None = None
    note: Text | None = None


class CommitmentOut(OutSchema):
    id: int
    instrument_code: str
    state_code: str
    status: str
    date: dt.date | None
    date_precision: str
    reservations: str | None
    note: str | None
    sources: list[str]
    as_of: dt.date | None
    version: int
