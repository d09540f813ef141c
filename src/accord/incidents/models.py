"""Tables of incidents and accountability (fields follow the EuRepoC codebook where it has one)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accord.db import Base, Sourced, Tracked


class ThreatActor(Tracked, Sourced, Base):
    """An intrusion set (ATT&CK group where one exists), with the sponsor a government publicly named."""

    __tablename__ = "threat_actors"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attack_id: Mapped[str | None] = mapped_column(String(20), unique=True)
    stix_id: Mapped[str | None] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(200), unique=True)
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    description: Mapped[str | None] = mapped_column(Text)
    sponsor_state: Mapped[str | None] = mapped_column(ForeignKey("states.code", ondelete="RESTRICT"), index=True)
    sponsor_unit: Mapped[str | None] = mapped_column(String(300))
    sponsor_sources: Mapped[list[str]] = mapped_column(JSON, default=list)


class Incident(Tracked, Sourced, Base):
    """A cyber operation: what happened, when, against whom, how severe."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_start_id", "start_date", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(300), index=True)
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    description: Mapped[str | None] = mapped_column(Text)
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    disclosure_date: Mapped[dt.date | None] = mapped_column(Date)
    date_precision: Mapped[str] = mapped_column(String(10), default="day")
    operation_type: Mapped[str] = mapped_column(String(40), index=True)
    intensity: Mapped[int | None] = mapped_column(Integer)
    receivers: Mapped[list[IncidentReceiver]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="IncidentReceiver.id"
    )
    actor_links: Mapped[list[IncidentActor]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="IncidentActor.actor_id"
    )

    @property
    def actor_ids(self) -> list[int]:
        return [link.actor_id for link in self.actor_links]


class IncidentReceiver(Base):
    """A state (and category / sector of its targets) that an incident was aimed at."""

    __tablename__ = "incident_receivers"
    __table_args__ = (Index("ix_receivers_state_incident", "state_code", "incident_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    state_code: Mapped[str | None] = mapped_column(ForeignKey("states.code", ondelete="RESTRICT"))
    category: Mapped[str] = mapped_column(String(40))
    sector: Mapped[str | None] = mapped_column(String(40), index=True)


class IncidentActor(Base):
    """Link: a threat actor held responsible for, or associated with, an incident."""

    __tablename__ = "incident_actors"
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True)
    actor_id: Mapped[int] = mapped_column(
        ForeignKey("threat_actors.id", ondelete="RESTRICT"), primary_key=True, index=True
    )


class Attribution(Tracked, Sourced, Base):
    """A public claim by a state, organisation or company about who was behind an incident."""

    __tablename__ = "attributions"
    __table_args__ = (
        Index("ix_attributions_attributed_incident", "attributed_state", "incident_id"),
        Index("ix_attributions_by_state", "by_state", "incident_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    by_state: Mapped[str | None] = mapped_column(ForeignKey("states.code", ondelete="RESTRICT"))
    by_organisation: Mapped[str | None] = mapped_column(ForeignKey("organisations.code", ondelete="RESTRICT"))
    by_company: Mapped[str | None] = mapped_column(String(200))
    attributed_state: Mapped[str | None] = mapped_column(ForeignKey("states.code", ondelete="RESTRICT"))
    attributed_unit: Mapped[str | None] = mapped_column(String(300))
    attributed_actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("threat_actors.id", ondelete="RESTRICT"), index=True
    )
    date: Mapped[dt.date | None] = mapped_column(Date, index=True)
    basis: Mapped[str] = mapped_column(String(40))
    form: Mapped[str] = mapped_column(String(40))
    joint_group: Mapped[str | None] = mapped_column(String(120), index=True)
    confidence: Mapped[str | None] = mapped_column(String(120))


class Response(Tracked, Sourced, Base):
    """A measure taken in answer to an incident: statement, démarche, expulsion, sanctions, indictment…"""

    __tablename__ = "responses"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    by_state: Mapped[str | None] = mapped_column(ForeignKey("states.code", ondelete="RESTRICT"), index=True)
    by_organisation: Mapped[str | None] = mapped_column(ForeignKey("organisations.code", ondelete="RESTRICT"))
    against_state: Mapped[str | None] = mapped_column(ForeignKey("states.code", ondelete="RESTRICT"), index=True)
    against: Mapped[str | None] = mapped_column(Text)
    date: Mapped[dt.date | None] = mapped_column(Date)
    type: Mapped[str] = mapped_column(String(40), index=True)
    eu_toolbox: Mapped[str | None] = mapped_column(String(40))
    description: Mapped[str | None] = mapped_column(Text)


class NormFinding(Tracked, Sourced, Base):
    """A public claim that an incident breached a provision (e.g. GGE norm f)."""

    __tablename__ = "norm_findings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    provision_id: Mapped[int] = mapped_column(ForeignKey("provisions.id", ondelete="RESTRICT"), index=True)
    claimed_by_state: Mapped[str | None] = mapped_column(ForeignKey("states.code", ondelete="RESTRICT"))
    claimed_by_organisation: Mapped[str | None] = mapped_column(ForeignKey("organisations.code", ondelete="RESTRICT"))
    date: Mapped[dt.date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
