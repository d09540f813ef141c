"""Tables of federation: the peer nodes this node exchanges collections with, and the links that say what
flows where, with their checkpoints and sync status."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from accord.db import Base, utcnow


class Peer(Base):
    """Another Accord node (or any TAXII 2.1 server) this node pulls from or pushes to.

    ``token_sealed`` holds the API token this node presents to the peer, sealed by
    ``accord.sharing.federation.seal`` and never shown, logged or audited. ``party_id`` is the party that
    stands for the peer on this node: objects pulled from it are produced by that party. ``public_key`` is
    the peer's Ed25519 node identity (PEM or raw base64), kept for signed envelopes.
    """

    __tablename__ = "federation_peers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    base_url: Mapped[str] = mapped_column(String(500))  # e.g. https://node.example.org
    api_root: Mapped[str] = mapped_column(String(200), default="taxii2/accord/")  # relative to base_url
    token_sealed: Mapped[str] = mapped_column(Text)
    public_key: Mapped[str | None] = mapped_column(Text)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id", ondelete="RESTRICT"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    def __repr__(self) -> str:  # never the token
        return f"Peer(name={self.name!r}, base_url={self.base_url!r})"


class FederationLink(Base):
    """A local collection tied to one collection of a peer, in one direction (``pull`` or ``push``).

    Checkpoints are microseconds since the epoch. Pull: ``objects_after`` is the peer's last
    ``date_added`` ingested, ``deletions_after`` the peer's last tombstone applied. Push: the same, but of
    this node's own collection. A checkpoint moves only in the transaction that stored the page it covers.
    """

    __tablename__ = "federation_links"
    __table_args__ = (
        UniqueConstraint("peer_id", "local_collection_id", "remote_collection_id", "direction"),
        Index("ix_federation_links_next_attempt", "next_attempt"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    peer_id: Mapped[int] = mapped_column(ForeignKey("federation_peers.id", ondelete="CASCADE"), index=True)
    local_collection_id: Mapped[str] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"), index=True)
    remote_collection_id: Mapped[str] = mapped_column(String(100))
    direction: Mapped[str] = mapped_column(String(10))  # "pull" or "push"
    objects_after: Mapped[int] = mapped_column(BigInteger, default=0)
    deletions_after: Mapped[int] = mapped_column(BigInteger, default=0)
    last_attempt: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_success: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    failures: Mapped[int] = mapped_column(Integer, default=0)  # consecutive failed attempts
    next_attempt: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))  # back-off
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FederationSent(Base):
    """One object version pushed to a peer through a link: what left the node, and what a later local
    deletion may be propagated for (never ids the peer was not sent)."""

    __tablename__ = "federation_sent"
    link_id: Mapped[int] = mapped_column(ForeignKey("federation_links.id", ondelete="CASCADE"), primary_key=True)
    stix_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    version: Mapped[str] = mapped_column(String(40), primary_key=True)
    sent_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
