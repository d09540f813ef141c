"""API input/output shapes of the attribution workbench (vocabularies: :mod:`accord.attribution.models`)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from accord.core.types import CountryCode, Id, Name, OutSchema, Schema, Str, Text, Url

CandidateKind = Literal["state", "unit", "intrusion-set", "non-state", "unknown"]
EvidenceClass = Literal[
    "tradecraft", "infrastructure", "malware", "intent", "external-report", "human-source", "signals", "other"
]
RatingValue = Literal["consistent", "inconsistent", "neutral"]
Diagnosticity = Literal["low", "medium", "high"]


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


Reliability = Annotated[
    Literal["A", "B", "C", "D", "E", "F"],
    BeforeValidator(_upper),
    Field(description="Admiralty code: A completely reliable … E unreliable, F cannot be judged"),
]
Credibility = Annotated[
    int,
    Field(ge=1, le=6, description="Admiralty code: 1 confirmed … 5 improbable, 6 cannot be judged"),
]
AttackRef = Annotated[
    Str,
    BeforeValidator(_upper),
    Field(pattern=r"^(T\d{4}(\.\d{3})?|S\d{4})$", description="ATT&CK technique (T1566.001) or software (S0002)"),
]
Label = Annotated[Str, Field(min_length=1, max_length=300)]


class HypothesisCreate(Schema):
    """A candidate: ``state`` needs ``state_code``; ``unit`` (an agency or unit of a state) needs
    ``state_code`` and ``label``; ``intrusion-set`` and ``non-state`` need ``actor_id`` or ``label``;
    ``unknown`` needs nothing."""

    kind: CandidateKind
    state_code: CountryCode | None = None
    actor_id: Id | None = Field(default=None, description="threat actor id")
    label: Label | None = None
    note: Text | None = None


class HypothesisUpdate(Schema):
    kind: CandidateKind | None = None
    state_code: CountryCode | None = None
    actor_id: Id | None = None
    label: Label | None = None
    note: Text | None = None


class HypothesisOut(OutSchema):
    id: int
    incident_id: int
    kind: str
    state_code: str | None
    actor_id: int | None
    label: str | None
    note: str | None
    created_by: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class EvidenceCreate(Schema):
    title: Name
    evidence_class: EvidenceClass
    description: Text | None = None
    source: Label | None = None
    reliability: Reliability
    credibility: Credibility
    observed_on: dt.date | None = None
    urls: list[Url] = Field(default_factory=list, max_length=20)


class EvidenceUpdate(Schema):
    title: Name | None = None
    evidence_class: EvidenceClass | None = None
    description: Text | None = None
    source: Label | None = None
    reliability: Reliability | None = None
    credibility: Credibility | None = None
    observed_on: dt.date | None = None
    urls: list[Url] | None = Field(default=None, max_length=20)


class EvidenceOut(OutSchema):
    id: int
    incident_id: int
    title: str
    evidence_class: str
    description: str | None
    source: str | None
    reliability: str
    credibility: int
    observed_on: dt.date | None
    urls: list[str]
    created_by: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class RatingIn(Schema):
    """How an evidence item bears on a hypothesis; ``rating: null`` removes the rating (not applicable)."""

    evidence_id: Id
    hypothesis_id: Id
    rating: RatingValue | None
    diagnosticity: Diagnosticity = "medium"


class RatingOut(OutSchema):
    evidence_id: int
    hypothesis_id: int
    rating: str | None
    diagnosticity: str | None


class ObservationsIn(Schema):
    refs: list[AttackRef] = Field(min_length=1, max_length=1000)


class ObservationOut(OutSchema):
    id: int
    incident_id: int
    kind: str
    ref: str
    origin: str


class SponsorCandidate(Schema):
    """A candidate group with a probability-like weight: by ATT&CK group id, or by threat actor id."""

    group: Str | None = Field(default=None, pattern=r"^G\d{4}$", description="ATT&CK group id")
    actor_id: Id | None = None
    weight: float = Field(ge=0, le=1e9, allow_inf_nan=False)

    @model_validator(mode="after")
    def _one_ref(self) -> SponsorCandidate:
        if (self.group is None) == (self.actor_id is None):
            raise ValueError("give exactly one of group (ATT&CK id) or actor_id")
        return self
