"""Tables of the attribution workbench: competing hypotheses about who was behind an incident, graded
evidence, each item's rating against each hypothesis, and the techniques and software observed.

Vocabularies: evidence classes follow the US ODNI guide to cyber attribution (tradecraft, infrastructure,
malware, intent, external reports) plus human sources and other; sources are graded with the Admiralty code
(reliability A–F, information credibility 1–6); ratings follow Heuer's analysis of competing hypotheses
(consistent, inconsistent, neutral — "not applicable" is simply no rating) with a diagnosticity weight.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from accord.db import Base, Tracked

CANDIDATE_KINDS = ("state", "unit", "intrusion-set", "non-state", "unknown")
EVIDENCE_CLASSES = (
    "tradecraft",
    "infrastructure",
    "malware",
    "intent",
    "external-report",
    "human-source",
    "signals",
    "other",
)
RELIABILITY = ("A", "B", "C", "D", "E", "F")
CREDIBILITY = (1, 2, 3, 4, 5, 6)
RATINGS = ("consistent", "inconsistent", "neutral")
DIAGNOSTICITY = ("low", "medium", "high")


class Hypothesis(Tracked, Base):
    """A candidate for responsibility: a state, a named unit or agency of a state, an intrusion set, a
    non-state actor, or "unknown". ``label`` names units and non-state actors in words."""

    __tablename__ = "attribution_hypotheses"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    state_code: Mapped[str | None] = mapped_column(ForeignKey("states.code", ondelete="RESTRICT"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("threat_actors.id", ondelete="RESTRICT"), index=True)
    label: Mapped[str | None] = mapped_column(String(300))
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(200))


class Evidence(Tracked, Base):
    """An item of evidence with its class and the grade of its source (Admiralty code)."""

    __tablename__ = "attribution_evidence"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    evidence_class: Mapped[str] = mapped_column(String(30))
    description: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(300))
    reliability: Mapped[str] = mapped_column(String(1))  # A–F
    credibility: Mapped[int] = mapped_column(Integer)  # 1–6
    observed_on: Mapped[dt.date | None] = mapped_column(Date)
    urls: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_by: Mapped[str | None] = mapped_column(String(200))


class Rating(Base):
    """How one evidence item bears on one hypothesis, and how diagnostic it is."""

    __tablename__ = "attribution_ratings"
    __table_args__ = (UniqueConstraint("evidence_id", "hypothesis_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    evidence_id: Mapped[int] = mapped_column(ForeignKey("attribution_evidence.id", ondelete="CASCADE"), index=True)
    hypothesis_id: Mapped[int] = mapped_column(ForeignKey("attribution_hypotheses.id", ondelete="CASCADE"), index=True)
    rating: Mapped[str] = mapped_column(String(20))
    diagnosticity: Mapped[str] = mapped_column(String(10), default="medium")


class Observation(Base):
    """An ATT&CK technique (``T…``) or software (``S…``) observed in an incident, and where that came from."""

    __tablename__ = "attribution_observations"
    __table_args__ = (UniqueConstraint("incident_id", "kind", "ref"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # technique | software
    ref: Mapped[str] = mapped_column(String(20))  # T1566.001, S0002
    origin: Mapped[str] = mapped_column(String(20), default="typed")  # typed | upload | stix
