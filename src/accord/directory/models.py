"""Tables of the directory."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accord.db import Base, Sourced, Tracked


class State(Tracked, Sourced, Base):
    """A state, keyed by its ISO 3166-1 alpha-2 code; the one source of truth other tables refer to."""

    __tablename__ = "states"
    code: Mapped[str] = mapped_column(String(2), primary_key=True)
    alpha3: Mapped[str | None] = mapped_column(String(3))
    name: Mapped[str] = mapped_column(String(200), index=True)
    un_status: Mapped[str] = mapped_column(String(20), default="member")  # member | observer | none
    un_admission: Mapped[dt.date | None] = mapped_column(Date)
    m49_region: Mapped[str | None] = mapped_column(String(60), index=True)
    m49_subregion: Mapped[str | None] = mapped_column(String(60))


class Organisation(Tracked, Sourced, Base):
    """An international or regional organisation, alliance or forum whose members are states."""

    __tablename__ = "organisations"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(40))
    founded: Mapped[dt.date | None] = mapped_column(Date)
    website: Mapped[str | None] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(Text)


class Membership(Tracked, Sourced, Base):
    """A state's membership of an organisation over a dated interval (``left`` null while current)."""

    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("organisation_code", "state_code", "joined", name="uq_membership"),
        Index("ix_memberships_state", "state_code"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_code: Mapped[str] = mapped_column(ForeignKey("organisations.code", ondelete="CASCADE"))
    state_code: Mapped[str] = mapped_column(ForeignKey("states.code", ondelete="RESTRICT"))
    role: Mapped[str] = mapped_column(String(20), default="member")
    joined: Mapped[dt.date | None] = mapped_column(Date)
    left: Mapped[dt.date | None] = mapped_column(Date)
    date_precision: Mapped[str] = mapped_column(String(10), default="day")
    organisation: Mapped[Organisation] = relationship(lazy="raise")


class Agency(Tracked, Sourced, Base):
    """A national body: foreign ministry, CERT/CSIRT, cyber agency, law-enforcement 24/7 point."""

    __tablename__ = "agencies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state_code: Mapped[str] = mapped_column(ForeignKey("states.code", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(40))
    website: Mapped[str | None] = mapped_column(String(2000))


class PointOfContact(Tracked, Sourced, Base):
    """A nominated point of contact. Nominations and removals are kept as valid-from/to history."""

    __tablename__ = "points_of_contact"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state_code: Mapped[str] = mapped_column(ForeignKey("states.code", ondelete="RESTRICT"), index=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id", ondelete="SET NULL"))
    role: Mapped[str] = mapped_column(String(20))  # diplomatic | technical | 24-7
    name: Mapped[str] = mapped_column(String(300))
    title: Mapped[str | None] = mapped_column(String(300))
    channels: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    time_zone: Mapped[str | None] = mapped_column(String(60))
    public_key_fingerprint: Mapped[str | None] = mapped_column(String(200))
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
