"""Tables of capacity building — needs, offers and maturity assessments — and the vocabularies they are tagged
with, each from its published source:

* **GFCE themes** — the five themes of the Global Forum on Cyber Expertise's Global Agenda for Cyber Capacity
  Building, endorsed in the Delhi Communiqué (GCCS, 24 Nov 2017); the GFCE Working Groups A–E follow them.
* **GCI pillars** — the five pillars of the ITU Global Cybersecurity Index (5th edition, GCI 2024): legal,
  technical, organisational, capacity development, cooperation. GCI 2024 scores each pillar out of 20 (100 in
  all); we keep that scale for assessments.
* **Oxford CMM dimensions** — the five dimensions of the Cybersecurity Capacity Maturity Model for Nations
  (Global Cyber Security Capacity Centre, University of Oxford, 2021 edition), each at one of five stages of
  maturity (start-up 1, formative 2, established 3, strategic 4, dynamic 5); a dimension's score may be a
  fractional stage when its factors stand at different stages.

A fact taken from a public source carries its source URLs and as-of date; a record only this node knows
(a need heard in a meeting) carries no source and says who entered it (``entered_by``, always recorded).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from accord.db import Base, Sourced, Tracked

GFCE_SOURCE = "https://www.thegfce.com/delhi-communique"
GCI_SOURCE = "https://www.itu.int/en/ITU-D/Cybersecurity/Pages/global-cybersecurity-index.aspx"
CMM_SOURCE = "https://gcscc.ox.ac.uk/the-cmm"

# key -> label; keys are what the API takes and stores
GFCE_THEMES: dict[str, str] = {
    "policy-strategy": "Cyber security policy and strategy",
    "incident-management-ciip": "Cyber incident management and critical infrastructure protection",
    "cybercrime": "Cybercrime",
    "culture-skills": "Cyber security culture and skills",
    "standards": "Cyber security standards",
}
GCI_PILLARS: dict[str, str] = {
    "legal": "Legal measures",
    "technical": "Technical measures",
    "organisational": "Organisational measures",
    "capacity-development": "Capacity development",
    "cooperation": "Cooperation",
}
CMM_DIMENSIONS: dict[str, str] = {
    "policy-strategy": "Cybersecurity policy and strategy",
    "culture-society": "Cyber culture and society",
    "knowledge-capabilities": "Building cybersecurity knowledge and capabilities",
    "legal-regulatory": "Legal and regulatory frameworks",
    "standards-technologies": "Standards and technologies",
}
CMM_STAGES = ("start-up", "formative", "established", "strategic", "dynamic")

NEED_STATUSES = ("open", "met", "withdrawn")
OFFER_STATUSES = ("open", "closed", "withdrawn")
BENEFICIARY_SCOPES = ("any", "regions", "states")
ASSESSMENT_KINDS = ("self", "external")


@dataclass(frozen=True)
class Framework:
    """A maturity framework: what is scored, on which scale, and where it is published."""

    key: str
    name: str
    parts: dict[str, str]  # pillar or dimension key -> label
    low: float
    high: float
    unit: str
    source: str


FRAMEWORKS: dict[str, Framework] = {
    "gci": Framework("gci", "ITU GCI pillars", GCI_PILLARS, 0.0, 20.0, "points (GCI 2024: 20 per pillar)", GCI_SOURCE),
    "cmm": Framework(
        "cmm", "Oxford CMM dimensions", CMM_DIMENSIONS, 1.0, 5.0, "stage (1 start-up … 5 dynamic)", CMM_SOURCE
    ),
}


class CapacityNeed(Tracked, Sourced, Base):
    """A capacity-building need a state declared (or that this node recorded for it): what it needs, tagged
    with GFCE themes and GCI pillars, and whether it is still open."""

    __tablename__ = "capacity_needs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state_code: Mapped[str] = mapped_column(ForeignKey("states.code", ondelete="RESTRICT"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    themes: Mapped[list[str]] = mapped_column(JSON, default=list)
    pillars: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    declared_on: Mapped[dt.date] = mapped_column(Date)
    entered_by: Mapped[str | None] = mapped_column(String(200))


class CapacityOffer(Tracked, Sourced, Base):
    """Support a donor — a state or an organisation — offers: what (themes, pillars), to whom (any state, the
    states of some UN M49 regions or sub-regions, or named states), and when."""

    __tablename__ = "capacity_offers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider_state: Mapped[str | None] = mapped_column(ForeignKey("states.code", ondelete="RESTRICT"), index=True)
    provider_organisation: Mapped[str | None] = mapped_column(
        ForeignKey("organisations.code", ondelete="RESTRICT"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    themes: Mapped[list[str]] = mapped_column(JSON, default=list)
    pillars: Mapped[list[str]] = mapped_column(JSON, default=list)
    beneficiary_scope: Mapped[str] = mapped_column(String(10), default="any")
    beneficiary_regions: Mapped[list[str]] = mapped_column(JSON, default=list)
    beneficiary_states: Mapped[list[str]] = mapped_column(JSON, default=list)
    starts_on: Mapped[dt.date | None] = mapped_column(Date)
    ends_on: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    entered_by: Mapped[str | None] = mapped_column(String(200))


class MaturityAssessment(Tracked, Sourced, Base):
    """One assessment of a state's cyber capacity on a date: a score per GCI pillar or per Oxford CMM
    dimension, self-assessed or external. A state's assessments over time are its maturity history."""

    __tablename__ = "capacity_assessments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state_code: Mapped[str] = mapped_column(ForeignKey("states.code", ondelete="RESTRICT"), index=True)
    framework: Mapped[str] = mapped_column(String(10))  # gci | cmm
    assessed_on: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(10))  # self | external
    assessor: Mapped[str | None] = mapped_column(String(300))
    scores: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    note: Mapped[str | None] = mapped_column(Text)
    entered_by: Mapped[str | None] = mapped_column(String(200))
