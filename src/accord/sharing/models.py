"""Tables of the sharing hub: communities, collections, shares and the STIX object store."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from accord.db import Base, utcnow


class Community(Base):
    """A sharing community (e.g. "EU CSIRTs network", a bilateral channel): parties with read/write rights."""

    __tablename__ = "communities"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CommunityMember(Base):
    __tablename__ = "community_members"
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id", ondelete="CASCADE"), primary_key=True, index=True)
    can_read: Mapped[bool] = mapped_column(Boolean, default=True)
    can_write: Mapped[bool] = mapped_column(Boolean, default=False)


class Collection(Base):
    """A TAXII collection; it belongs to one community."""

    __tablename__ = "collections"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # UUID, as TAXII wants
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="RESTRICT"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    alias: Mapped[str | None] = mapped_column(String(100), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Share(Base):
    """One act of sharing objects into a collection, with its recipients (for AMBER / RED)."""

    __tablename__ = "shares"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection_id: Mapped[str] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"), index=True)
    producer_party_id: Mapped[int | None] = mapped_column(ForeignKey("parties.id", ondelete="RESTRICT"))
    created_by: Mapped[str] = mapped_column(String(200))  # user name or peer node
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ShareRecipient(Base):
    """A recipient of a share. ``named``: chosen by the sharer (may see RED); otherwise a default
    recipient (the community's members, for AMBER and AMBER+STRICT only)."""

    __tablename__ = "share_recipients"
    share_id: Mapped[int] = mapped_column(ForeignKey("shares.id", ondelete="CASCADE"), primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id", ondelete="CASCADE"), primary_key=True, index=True)
    named: Mapped[bool] = mapped_column(Boolean, default=True)


class StixObject(Base):
    """One version of one STIX object in one collection, as received (``body`` is its JSON text)."""

    __tablename__ = "stix_objects"
    __table_args__ = (
        Index("ix_stix_coll_added", "collection_id", "date_added"),
        Index("ix_stix_coll_id_version", "collection_id", "stix_id", "version"),
        Index("ix_stix_coll_type_added", "collection_id", "type", "date_added"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection_id: Mapped[str] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"))
    stix_id: Mapped[str] = mapped_column(String(120))
    type: Mapped[str] = mapped_column(String(60))
    spec_version: Mapped[str] = mapped_column(String(10))
    version: Mapped[str] = mapped_column(String(40))  # the modified (or created) timestamp, as sent
    date_added: Mapped[int] = mapped_column(BigInteger)  # microseconds since the epoch; unique per collection
    is_latest: Mapped[bool] = mapped_column(Boolean, default=True)
    is_first: Mapped[bool] = mapped_column(Boolean, default=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    tlp: Mapped[str] = mapped_column(String(20))
    has_granular: Mapped[bool] = mapped_column(Boolean, default=False)
    share_id: Mapped[int] = mapped_column(ForeignKey("shares.id", ondelete="CASCADE"), index=True)
    producer_party_id: Mapped[int | None] = mapped_column(Integer)
    provenance: Mapped[str] = mapped_column(String(300))  # "user:alice" or "peer:<node>"
    body: Mapped[str] = mapped_column(Text)


class StixDeletion(Base):
    """A tombstone: versions of an object deleted from a collection, so peers can delete them too."""

    __tablename__ = "stix_deletions"
    __table_args__ = (Index("ix_stix_deletions_coll_at", "collection_id", "deleted_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection_id: Mapped[str] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"))
    stix_id: Mapped[str] = mapped_column(String(120))
    version: Mapped[str] = mapped_column(String(40))
    deleted_at: Mapped[int] = mapped_column(BigInteger)  # microseconds since the epoch
    deleted_by: Mapped[str] = mapped_column(String(200))
    # the deleted version's TLP context: a tombstone is shown only to readers who could see the version
    tlp: Mapped[str] = mapped_column(String(20), default="red", server_default="red")
    share_id: Mapped[int | None] = mapped_column(Integer)
    producer_party_id: Mapped[int | None] = mapped_column(Integer)


class TaxiiStatus(Base):
    """The status resource of one TAXII add-objects request (TAXII 2.1 §4.3)."""

    __tablename__ = "taxii_status"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    collection_id: Mapped[str] = mapped_column(String(36))
    user_id: Mapped[int | None] = mapped_column(Integer)
    request_timestamp: Mapped[str] = mapped_column(String(40))
    total_count: Mapped[int] = mapped_column(Integer)
    success_count: Mapped[int] = mapped_column(Integer)
    failure_count: Mapped[int] = mapped_column(Integer)
    successes: Mapped[Any] = mapped_column(JSON)
    failures: Mapped[Any] = mapped_column(JSON)
