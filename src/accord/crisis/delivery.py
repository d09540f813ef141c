"""The outbox: envelopes to peer nodes' federation inboxes and e-mails to contacts without a node.

``enqueue`` writes outbox rows in the caller's transaction (so what is sent and the record that it must
be sent commit together); the worker delivers them (``run_pending``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.auth.models import Party
from accord.crisis.models import Delivery
from accord.db import utcnow
from accord.directory.models import PointOfContact
from accord.sharing.federation_models import Peer


@dataclass(frozen=True)
class Route:
    """How a point of contact is reached: ``node`` (a peer's inbox), ``email`` or ``web`` (only here)."""

    channel: str
    destination: str
    peer_id: int | None = None


def peer_for_state(session: Session, state_code: str) -> Peer | None:
    """The peer node that speaks for a state (its party belongs to that state), if any."""
    return session.scalars(
        select(Peer).join(Party, Party.id == Peer.party_id).where(Party.state_code == state_code).order_by(Peer.id)
    ).first()


def route(session: Session, poc: PointOfContact) -> Route:
    """A contact's node channel (a registered peer by name) first, then its state's node, then e-mail."""
    channels = poc.channels or []
    for channel in channels:
        if channel.get("kind") == "node":
            peer = session.scalars(select(Peer).where(Peer.name == channel.get("value"))).first()
            if peer is not None:
                return Route("node", peer.name, peer.id)
    peer = peer_for_state(session, poc.state_code)
    if peer is not None:
        return Route("node", peer.name, peer.id)
    for channel in channels:
        if channel.get("kind") == "email" and channel.get("value"):
            return Route("email", str(channel["value"]))
    return Route("web", "")


def enqueue(
    session: Session,
    *,
    key: str,
    kind: str,
    payload: dict[str, Any],
    route: Route,
    case_id: int | None = None,
    now: dt.datetime | None = None,
) -> Delivery | None:
    """Put one envelope in the outbox (nothing for ``web`` routes); the same key to the same place once."""
    if route.channel == "web":
        return None
    existing = session.scalars(
        select(Delivery).where(
            Delivery.key == key, Delivery.channel == route.channel, Delivery.destination == route.destination
        )
    ).first()
    if existing is not None:
        return existing
    row = Delivery(
        key=key,
        kind=kind,
        channel=route.channel,
        destination=route.destination,
        peer_id=route.peer_id,
        case_id=case_id,
        payload={**payload, "id": key, "type": kind},
        next_attempt=now or utcnow(),
    )
    session.add(row)
    session.flush()
    return row
