"""The outbox: envelopes to peer nodes' federation inboxes and e-mails to contacts without a node.

``enqueue`` writes outbox rows in the caller's transaction (so what is sent and the record that it must
be sent commit together); the worker delivers them (``run_pending``).

Protocol between nodes (the receiving side is ``accord.crisis.inbox``):

* **Envelope.** For every attempt the sender signs ``{**payload, "from": <own key id>, "to": <peer's key
  id>, "iat": <signing time, epoch seconds>, "jti": <uuid4>}`` with its Ed25519 key (JWS compact, EdDSA,
  ``typ: accord-envelope+jws``, ``kid`` = key fingerprint) and POSTs it as the body (``Content-Type:
  application/jose``) to ``{peer.base_url}/federation/v1/inbox``. ``payload["id"]`` is the idempotency key,
  ``payload["type"]`` the receiver's handler kind (``from``, ``to``, ``iat``, ``jti`` are reserved: the sender
  sets them). No bearer token: the signature is the authentication.
* **Receipt.** The receiver answers ``200 {"receipt": "<jws>"}``, signed by its key, with ``type:
  receipt``, ``id`` (the key), ``from``/``to`` (its/our key ids), ``received_at``, ``digest`` (SHA-256 of the
  canonical payload without ``iat``/``jti``) and what its handler returned. The sender verifies it against
  the peer's registered key and checks ``id``, ``from``, ``to`` and ``digest``; then the row becomes
  ``delivered`` (``receipt``, ``delivered_at``) and the ``ON_DELIVERED`` hooks run in that transaction.
  A re-sent message (same ``id``, new ``jti``) gets the same receipt and is not processed again.
* **Retries.** A network error, an HTTP error (4xx included: a peer that does not know our key yet may
  learn it), a missing peer key or a receipt that does not verify counts as a failed attempt:
  ``attempts`` + 1, ``last_error``, ``next_attempt`` = now + 30 s (``ACCORD_DELIVERY_RETRY_SECONDS``) ×
  2^(attempts−1), capped at 1 h, plus up to 10 % jitter. After ``MAX_ATTEMPTS`` (12, over about 5 hours)
  the row is ``failed``; ``requeue`` puts it back. E-mail while no SMTP server is configured is not an
  attempt: the row stays pending (``last_error`` "no SMTP server configured") and is looked at again after
  ``UNCONFIGURED_RETRY``.
* **Claiming, order, and kill -9.** ``run_pending`` claims one due row at a time in a short transaction
  (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; a conditional update everywhere) by pushing its
  ``next_attempt`` forward by a lease (``ACCORD_DELIVERY_LEASE_SECONDS``, 2 min), commits, sends with no
  transaction open, and records the outcome in a second transaction. Rows to one destination leave in the
  order they were written: a row waits while an older one to the same place is still pending. A sender
  killed mid-send leaves a leased pending row, which any worker retries once the lease has run out; the
  receiver's idempotency (``crisis_inbox``, unique per signer and key) makes the message processed exactly
  once. Nothing is held in memory between runs, so any number of worker processes may run ``run_pending``
  at once.
* **E-mail** (channel ``email``, ``accord.crisis.mail``): success is the SMTP server taking the message
  (no receipt; the hooks get empty claims). A resend after a crash carries the same ``Message-ID``.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
import uuid
from collections.abc import Callable, Collection
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import exists, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, aliased, sessionmaker

from accord.auth.models import Party
from accord.config import Settings
from accord.core.errors import AccordError
from accord.crisis import mail, registry
from accord.crisis.identity import BadSignature, Identity, fingerprint, verify
from accord.crisis.inbox import content_digest, peer_key
from accord.crisis.models import Delivery
from accord.db import unit_of_work, utcnow
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


# ---------------------------------------------------------------- delivering (the worker's side)

log = logging.getLogger(__name__)

LEASE = dt.timedelta(minutes=2)  # a claimed row is not claimed again before this has passed
BACKOFF_BASE = 30.0  # seconds before the 2nd attempt; doubles each time
BACKOFF_CAP = 3600.0
JITTER = 0.1  # up to +10 %
MAX_ATTEMPTS = 12  # then the row is "failed"
UNCONFIGURED_RETRY = dt.timedelta(minutes=10)  # e-mail while no SMTP server is configured
INBOX_PATH = "/federation/v1/inbox"
JOSE = "application/jose"

DeliveredHook = Callable[[Session, Delivery, dict[str, Any], dt.datetime], None]
# Called in the transaction that marks a row delivered, with the verified receipt's claims ({} for e-mail).
# A hook that raises rolls that transaction back: the attempt counts as failed and the message is re-sent
# later (the receiver answers with the same receipt), so a hook sees each delivery once.
ON_DELIVERED: list[DeliveredHook] = []


class DeliveryError(Exception):
    """One attempt failed; the text goes to ``last_error``."""


def backoff(attempts: int, *, jitter: float | None = None, base: float = BACKOFF_BASE) -> dt.timedelta:
    """The wait after ``attempts`` failed attempts: base (30 s) × 2^(attempts−1), capped at 1 h, plus jitter."""
    seconds = min(BACKOFF_CAP, base * 2 ** max(0, attempts - 1))
    extra = random.random() * JITTER if jitter is None else jitter  # noqa: S311 (not cryptographic)
    return dt.timedelta(seconds=seconds * (1 + extra))


@dataclass(frozen=True)
class Claim:
    """What one attempt needs, read in the claiming transaction (no session is held while sending)."""

    id: int
    key: str
    channel: str
    destination: str
    payload: dict[str, Any]
    peer_id: int | None
    peer_url: str | None
    peer_public_key: str | None


def claim(
    factory: sessionmaker[Session],
    now: dt.datetime,
    *,
    ids: Collection[int] | None = None,
    skip_peers: Collection[int] = (),
    skip_email: bool = False,
    lease: dt.timedelta = LEASE,
) -> Claim | None:
    """Lease the next due pending row (``next_attempt`` pushed to ``now + LEASE``) and commit; None if none."""
    query = (
        select(Delivery)
        .where(Delivery.status == "pending", Delivery.next_attempt <= now)
        .order_by(Delivery.next_attempt, Delivery.id)
    )
    # first in, first out per destination: a row waits while an older one to the same place is pending
    older = aliased(Delivery)
    query = query.where(
        ~exists().where(
            older.channel == Delivery.channel,
            older.destination == Delivery.destination,
            older.status == "pending",
            older.id < Delivery.id,
        )
    )
    if ids is not None:
        query = query.where(Delivery.id.in_(list(ids)))
    if skip_peers:
        query = query.where(or_(Delivery.peer_id.is_(None), Delivery.peer_id.not_in(list(skip_peers))))
    if skip_email:
        query = query.where(Delivery.channel != "email")
    for _ in range(5):
        try:
            with unit_of_work(factory) as session:
                stmt = query.limit(1)
                if session.get_bind().dialect.name == "postgresql":
                    stmt = stmt.with_for_update(skip_locked=True)
                row = session.scalars(stmt).first()
                if row is None:
                    return None
                won = session.execute(
                    update(Delivery)
                    .where(Delivery.id == row.id, Delivery.status == "pending", Delivery.next_attempt <= now)
                    .values(next_attempt=now + lease)
                )
                if won.rowcount != 1:  # type: ignore[attr-defined]
                    continue  # another worker took it: look again
                peer = session.get(Peer, row.peer_id) if row.peer_id is not None else None
                return Claim(
                    id=row.id,
                    key=row.key,
                    channel=row.channel,
                    destination=row.destination,
                    payload=dict(row.payload or {}),
                    peer_id=row.peer_id,
                    peer_url=peer.base_url if peer is not None else None,
                    peer_public_key=peer.public_key if peer is not None else None,
                )
        except OperationalError:  # SQLite: another writer won the race for this snapshot
            log.debug("delivery claim raced; retrying")
    return None


def requeue(session: Session, delivery_id: int, now: dt.datetime | None = None) -> bool:
    """Give a failed delivery a fresh series of attempts, from now."""
    result = session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.status == "failed")
        .values(status="pending", attempts=0, next_attempt=now or utcnow())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _detail(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("detail"):
        return str(body["detail"])[:300]
    return " ".join(resp.text[:300].split())


def envelope_for(identity: Identity, payload: dict[str, Any], peer_kid: str) -> str:
    """One attempt's envelope: the payload with sender, addressee, signing time and a fresh jti."""
    body = {**payload, "from": identity.key_id, "to": peer_kid, "iat": int(time.time()), "jti": str(uuid.uuid4())}
    return identity.sign(body)


def send_node(http: httpx.Client, identity: Identity, c: Claim) -> tuple[str, dict[str, Any]]:
    """POST one envelope to the peer's inbox; (receipt, its verified claims), else DeliveryError."""
    if not c.peer_url:
        raise DeliveryError(f"peer {c.destination!r} is no longer registered")
    try:
        key = peer_key(c.peer_public_key)
    except AccordError as exc:
        raise DeliveryError(f"peer {c.destination!r}: {exc.detail}") from None
    if key is None:
        raise DeliveryError(f"peer {c.destination!r} has no public key registered: its receipts cannot be verified")
    peer_kid = fingerprint(key)
    envelope = envelope_for(identity, c.payload, peer_kid)
    url = c.peer_url.rstrip("/") + INBOX_PATH
    try:
        resp = http.post(url, content=envelope.encode(), headers={"Content-Type": JOSE, "Accept": "application/json"})
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise DeliveryError(f"POST {url}: {type(exc).__name__}: {exc}"[:500]) from None
    if resp.status_code != 200:
        raise DeliveryError(f"POST {url}: HTTP {resp.status_code}: {_detail(resp)}")
    try:
        receipt = resp.json()["receipt"]
        if not isinstance(receipt, str):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise DeliveryError(f"POST {url}: the answer holds no receipt") from None
    try:
        _kid, claims = verify(receipt, {peer_kid: key})
    except BadSignature as exc:
        raise DeliveryError(f"the receipt does not verify: {exc.detail}") from None
    except ValueError:
        raise DeliveryError("the receipt is not JSON") from None
    expected = {
        "type": "receipt",
        "id": c.key,
        "from": peer_kid,
        "to": identity.key_id,
        "digest": content_digest({**c.payload, "from": identity.key_id, "to": peer_kid}),
    }
    wrong = [name for name, value in expected.items() if not isinstance(claims, dict) or claims.get(name) != value]
    if wrong:
        raise DeliveryError(f"the receipt does not match the message ({', '.join(wrong)})")
    return receipt, claims


def _record(
    factory: sessionmaker[Session],
    c: Claim,
    at: dt.datetime,
    *,
    receipt: str | None = None,
    claims: dict[str, Any] | None = None,
    error: str | None = None,
    counts: bool = True,
    base: float = BACKOFF_BASE,
) -> bool:
    """Store an attempt's outcome; True if the row is now delivered. Never overwrites a settled row."""
    for attempt in range(3):
        try:
            with unit_of_work(factory) as session:
                row = session.get(Delivery, c.id, with_for_update=True)
                if row is None or row.status != "pending":
                    return False
                if error is None:
                    row.status, row.delivered_at, row.receipt, row.last_error = "delivered", at, receipt, None
                    row.attempts += 1
                    for hook in list(ON_DELIVERED):
                        hook(session, row, claims or {}, at)
                    return True
                if counts:
                    row.attempts += 1
                row.last_error = error[:2000]
                if counts and row.attempts >= MAX_ATTEMPTS:
                    row.status = "failed"
                    log.error("delivery %s (%s to %s) failed for good: %s", c.id, c.key, c.destination, error)
                else:
                    row.next_attempt = at + (backoff(row.attempts, base=base) if counts else UNCONFIGURED_RETRY)
                return False
        except OperationalError:
            if attempt == 2:
                raise
    return False


@dataclass
class Outcome:
    """What one attempt came to."""

    receipt: str | None = None
    claims: dict[str, Any] | None = None
    error: str | None = None
    counts: bool = True  # counts as an attempt (not so while e-mail is not configured)
    unreachable: bool = False  # the destination (peer or SMTP server) is down: skip its other rows this run


def _attempt(
    http: httpx.Client | None, c: Claim, *, settings: Settings, identity: Identity, at: dt.datetime
) -> Outcome:
    """One try at one claimed row; never raises an Exception (a BaseException, as a kill, leaves the lease)."""
    try:
        if c.channel == "node":
            if http is None:
                raise DeliveryError("no HTTP client")
            receipt, claims = send_node(http, identity, c)
            return Outcome(receipt=receipt, claims=claims)
        if c.channel == "email":
            mail.deliver(settings, key=c.key, destination=c.destination, payload=c.payload, now=at)
            return Outcome(claims={})
        return Outcome(error=f"unknown channel {c.channel!r}")
    except mail.MailNotConfigured as exc:
        return Outcome(error=exc.detail, counts=False)
    except mail.MailFailed as exc:
        return Outcome(error=exc.detail, unreachable=isinstance(exc, mail.MailUnreachable))
    except DeliveryError as exc:
        return Outcome(error=str(exc), unreachable=True)
    except Exception as exc:
        log.exception("delivery %s to %s: unexpected failure", c.id, c.destination)
        return Outcome(error=f"{type(exc).__name__}: {exc}"[:500])


def run_pending(
    factory: sessionmaker[Session],
    *,
    settings: Settings,
    identity: Identity,
    now: dt.datetime | None = None,
    limit: int = 50,
    client: httpx.Client | None = None,
    ids: Collection[int] | None = None,
) -> int:
    """Attempt up to ``limit`` due deliveries (only ``ids`` if given); returns how many were attempted.

    ``now`` fixes the scheduling clock (tests); envelopes are always signed with the real time. ``client``
    is the HTTP client to use (default: a fresh one with bounded timeouts, closed at the end).
    """
    from accord.sharing.federation import open_client

    registry.load_all()  # the modules that register ON_DELIVERED hooks
    attempted = 0
    lease = dt.timedelta(seconds=settings.delivery_lease_seconds)
    down: set[int] = set()  # peers that failed in this run: their other rows wait for the next run
    mail_down = False
    with ExitStack() as stack:
        http = client
        for _ in range(limit):
            at = now or utcnow()
            c = claim(factory, at, ids=ids, skip_peers=down, skip_email=mail_down, lease=lease)
            if c is None:
                break
            if http is None and c.channel == "node":
                http = stack.enter_context(open_client())
            attempted += 1
            out = _attempt(http, c, settings=settings, identity=identity, at=at)
            if out.error is None:
                try:
                    if _record(factory, c, at, receipt=out.receipt, claims=out.claims):
                        log.info("delivered %s %s to %s", c.payload.get("type"), c.key, c.destination)
                    continue
                except Exception as exc:  # a hook failed: the transaction rolled back; re-send later
                    log.exception("delivery %s: recording the receipt failed", c.id)
                    out = Outcome(error=f"recording the receipt failed: {type(exc).__name__}: {exc}"[:500])
            log.warning("delivery %s (%s to %s): %s", c.id, c.key, c.destination, out.error)
            _record(factory, c, at, error=out.error, counts=out.counts, base=settings.delivery_retry_seconds)
            if out.unreachable and c.channel == "node" and c.peer_id is not None:
                down.add(c.peer_id)
            elif out.unreachable and c.channel == "email":
                mail_down = True
    return attempted
