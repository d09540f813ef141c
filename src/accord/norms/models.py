"""Tables of norms and agreements."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from accord.db import Base, Sourced, Tracked


class Instrument(Tracked, Sourced, Base):
    """A treaty, protocol, political commitment, set of voluntary norms or expert manual."""

    __tablename__ = "instruments"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    short_name: Mapped[str | None] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(40))
    adopted: Mapped[dt.date | None] = mapped_column(Date)
    opened_for_signature: Mapped[dt.date | None] = mapped_column(Date)
    entry_into_force: Mapped[dt.date | None] = mapped_column(Date)
    depositary: Mapped[str | None] = mapped_column(String(300))
    organisation_code: Mapped[str | None] = mapped_column(ForeignKey("organisations.code", ondelete="RESTRICT"))
    reference: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)


class Provision(Tracked, Base):
    """One article, norm, measure or principle of an instrument."""

    __tablename__ = "provisions"
    __table_args__ = (UniqueConstraint("instrument_code", "code", name="uq_provision"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instrument_code: Mapped[str] = mapped_column(ForeignKey("instruments.code", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str | None] = mapped_column(Text)
    part: Mapped[str | None] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)


class Commitment(Tracked, Sourced, Base):
    """One event in a state's relation to an instrument: signed, ratified, acceded, endorsed, withdrawn."""

    __tablename__ = "commitments"
    __table_args__ = (
        UniqueConstraint("instrument_code", "state_code", "status", "date", name="uq_commitment"),
        Index("ix_commitments_state", "state_code"),
        Index("ix_commitments_instrument_status", "instrument_code", "status"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instrument_code: Mapped[str] = mapped_column(ForeignKey("instruments.code", ondelete="CASCADE"))
    state_code: Mapped[str] = mapped_column(ForeignKey("states.code", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(20))
    date: Mapped[dt.date | None] = mapped_column(Date)
    date_precision: Mapped[str] = mapped_column(String(10), default="day")
    reservations: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
