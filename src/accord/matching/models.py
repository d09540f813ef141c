"""Tables of sightings: what this node saw of an indicator, aggregated, and what became of it.

A **sighting** (STIX 2.1 ``sighting``) is this node's record that an indicator matched observed data: one row
per indicator, aggregating every match. Each observed-data that matched is a row of its own (unique per
sighting, so recording the same observation twice counts it once), with the values that matched and, when
every one of them is on a known-benign warning list, which list suppressed which value. Suppressed
observations are kept and counted apart; a sighting whose observations are all suppressed is itself
suppressed and is never shared. Each time the sighting is shared back to the indicator's community through
the sharing hub, a row records when, where and which version.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accord.db import Base, UtcDateTime, utcnow


class Sighting(Base):
    """All matches of one indicator at this node, as one STIX sighting.

    ``count``, ``first_seen`` and ``last_seen`` cover the observations not suppressed (when every one is
    suppressed, ``first_seen``/``last_seen`` cover those); ``suppressed_count`` counts the suppressed ones.
    ``collection_id``, ``share_id``, ``tlp`` and ``producer_party_id`` say where the indicator came from in
    the sharing hub (its latest version there; all null for an indicator known only locally) and decide who
    may see the sighting. ``modified`` moves forward whenever the aggregate or the incident link changes.
    """

    __tablename__ = "sightings"
    __table_args__ = (Index("ix_sightings_last_seen_id", "last_seen", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stix_id: Mapped[str] = mapped_column(String(80), unique=True)  # sighting--<uuid4>
    indicator_id: Mapped[str] = mapped_column(String(120), unique=True)  # sighting_of_ref
    where_sighted_ref: Mapped[str] = mapped_column(String(80))  # this node's identity-- id
    # no foreign key: if the collection is deleted, the sighting stays and (TLP unknowable) is shown to no one
    collection_id: Mapped[str | None] = mapped_column(String(36), index=True)
    share_id: Mapped[int | None] = mapped_column(Integer)
    tlp: Mapped[str | None] = mapped_column(String(20))
    producer_party_id: Mapped[int | None] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer, default=0)
    suppressed_count: Mapped[int] = mapped_column(Integer, default=0)
    first_seen: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    last_seen: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    suppressed: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    # distinct warning-list hits over the suppressed observations: {list_id, name, value}
    suppressed_by: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="SET NULL"), index=True, nullable=True
    )
    created: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    modified: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    observations: Mapped[list[SightingObservation]] = relationship(
        cascade="all, delete-orphan", order_by="SightingObservation.id", back_populates="sighting"
    )
    shares: Mapped[list[SightingShare]] = relationship(
        cascade="all, delete-orphan", order_by="SightingShare.id", lazy="selectin", back_populates="sighting"
    )


class SightingObservation(Base):
    """One observed-data behind a sighting: its share of the match's count, when, the values that matched
    (``evidence``: ``{object_type, path, value}``) and, if suppressed, the warning-list hits
    (``suppressed_by``: ``{list_id, name, value, matched}``, one per value and list)."""

    __tablename__ = "sighting_observations"
    __table_args__ = (UniqueConstraint("sighting_id", "observed_data_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sighting_id: Mapped[int] = mapped_column(ForeignKey("sightings.id", ondelete="CASCADE"), index=True)
    observed_data_id: Mapped[str] = mapped_column(String(120))
    count: Mapped[int] = mapped_column(Integer)
    first_seen: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    last_seen: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    suppressed: Mapped[bool] = mapped_column(Boolean, default=False)
    suppressed_by: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    recorded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    sighting: Mapped[Sighting] = relationship(back_populates="observations")


class SightingShare(Base):
    """One time a sighting was shared into the hub: which collection, which version, to whom, by whom."""

    __tablename__ = "sighting_shares"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sighting_id: Mapped[int] = mapped_column(ForeignKey("sightings.id", ondelete="CASCADE"), index=True)
    shared_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    collection_id: Mapped[str] = mapped_column(String(36))
    status_id: Mapped[str] = mapped_column(String(36))  # the hub's status record of the ingest (TAXII status id)
    version: Mapped[str] = mapped_column(String(40))  # the sighting's STIX ``modified``, as shared
    tlp: Mapped[str] = mapped_column(String(20))
    recipients: Mapped[list[int]] = mapped_column(JSON, default=list)  # party ids named for AMBER / RED
    shared_by: Mapped[str] = mapped_column(String(200))

    sighting: Mapped[Sighting] = relationship(back_populates="shares")
