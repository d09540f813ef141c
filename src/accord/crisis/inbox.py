"""The federation inbox: signed envelopes from peer nodes, verified, processed exactly once, receipted.

``POST /federation/v1/inbox`` (body: one JWS compact envelope, ``Content-Type: application/jose``). No user
signs in: the signature is the authentication. The envelope is accepted only if, in this order:

1. it is an EdDSA JWS of type ``accord-envelope+jws`` signed by the key of a registered peer
   (``Peer.public_key``, PEM or raw base64; this node's own key does not count) — else **401**;
2. its payload carries ``id`` (the idempotency key, ≤ 80 chars), ``type`` (the handler kind), ``from``
   (= the signer's key id) and ``to`` (= this node's key id) — else **400** (``to`` elsewhere: misaddressed);
3. ``iat`` is no older than ``ACCORD_ENVELOPE_MAX_AGE_MINUTES`` and at most ``CLOCK_SKEW`` in the future
   — else **401** (expired);
4. its ``jti`` was never seen (table ``crisis_nonces``) — else **409** (replay);
5. a handler is registered for ``type`` (``registry.INBOX``) — else **400**.

Accepted, in ONE transaction: the ``jti`` is recorded; if (signer, ``id``) is already in ``crisis_inbox``
the stored receipt is returned without processing again (a re-sent message, HTTP 200); else the handler
runs and the entry is stored with a receipt signed by this node::

    {**handler_result, "type": "receipt", "id": <key>, "from": <this node's kid>, "to": <sender's kid>,
     "received_at": <ISO 8601 UTC>, "digest": <content digest>}

(the protocol fields win over what the handler returns). ``digest`` is the SHA-256 (hex) of the canonical
JSON of the envelope payload without its per-attempt fields ``iat`` and ``jti`` — the same for every
attempt at one message, so the sender can check the receiver processed exactly what it sent. Response:
``200 {"receipt": "<jws>"}``, the same receipt for every duplicate. Two concurrent deliveries of one key:
the loser's unique violation rolls its transaction back and it answers with the winner's receipt.

Every refusal is logged (``logging``, logger ``accord.crisis.inbox``) and written to ``crisis_refusals``
(reason, remote address, claimed key id, SHA-256 of the body, a short printable excerpt) in its own
transaction, so it persists although the envelope's transaction rolled back. A handler that raises an
``AccordError`` below 500 is a refusal with that status; any other failure is a 500 and nothing is kept (the
sender retries).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from accord.core.errors import AccordError
from accord.crisis import registry
from accord.crisis.identity import BadSignature, Identity, load_public, verify
from accord.crisis.models import InboxEntry, Nonce, Refusal
from accord.db import unit_of_work, utcnow
from accord.sharing.federation_models import Peer

log = logging.getLogger(__name__)

CLOCK_SKEW = dt.timedelta(seconds=60)  # how far in the future an envelope's iat may be
MAX_BODY = 1024 * 1024  # bytes
PER_ATTEMPT = ("iat", "jti")  # payload fields that change with every attempt (not part of the digest)
_RACE_RETRIES = 3


class InboxRefused(AccordError):
    """An envelope the inbox refuses; ``reason`` goes to the refusal log."""

    status = 401
    title = "Envelope refused"
    slug = "envelope-refused"


class Malformed(InboxRefused):
    status = 400
    title = "Malformed envelope"
    slug = "envelope-malformed"


class Misaddressed(InboxRefused):
    status = 400
    title = "Misaddressed envelope"
    slug = "envelope-misaddressed"


class Expired(InboxRefused):
    status = 401
    title = "Expired envelope"
    slug = "envelope-expired"


class Replayed(InboxRefused):
    status = 409
    title = "Replayed envelope"
    slug = "envelope-replayed"


class TooLarge(InboxRefused):
    status = 413
    title = "Envelope too large"
    slug = "envelope-too-large"


# ---------------------------------------------------------------- protocol helpers (sender and receiver)


def peer_key(text: str | None) -> Ed25519PublicKey | None:
    """A peer's Ed25519 public key as registered: PEM, or the raw 32 bytes in (url-safe) base64; None if unset."""
    if not text or not text.strip():
        return None
    text = text.strip()
    if text.startswith("-----BEGIN"):
        return load_public(text)
    normal = text.replace("-", "+").replace("_", "/")
    try:
        raw = base64.b64decode(normal + "=" * (-len(normal) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise AccordError("the peer's public key is neither PEM nor base64") from None
    if len(raw) != 32:
        raise AccordError("the peer's public key is not 32 raw bytes (Ed25519)")
    return Ed25519PublicKey.from_public_bytes(raw)


def content_digest(payload: dict[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of an envelope payload without its per-attempt fields."""
    body = {k: v for k, v in payload.items() if k not in PER_ATTEMPT}
    return hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class KnownPeer:
    id: int
    name: str
    key: Ed25519PublicKey


def known_peers(session: Session, own_kid: str) -> dict[str, KnownPeer]:
    """Key id → peer, for every peer with a usable public key (this node's own key excluded)."""
    from accord.crisis.identity import fingerprint

    found: dict[str, KnownPeer] = {}
    for peer in session.scalars(select(Peer).where(Peer.public_key.is_not(None)).order_by(Peer.id)):
        try:
            key = peer_key(peer.public_key)
        except AccordError:
            log.warning("peer %s has an unusable public key; its envelopes are refused", peer.name)
            continue
        if key is None:
            continue
        kid = fingerprint(key)
        if kid != own_kid:
            found.setdefault(kid, KnownPeer(peer.id, peer.name, key))
    return found


# ---------------------------------------------------------------- receiving


@dataclass(frozen=True)
class Accepted:
    receipt: str
    duplicate: bool
    sender_kid: str
    key: str


def receive(
    factory: sessionmaker[Session],
    body: bytes,
    *,
    identity: Identity,
    max_age: dt.timedelta,
    remote_addr: str | None = None,
    now: dt.datetime | None = None,
) -> Accepted:
    """Verify, deduplicate and process one envelope; a refusal is recorded, logged and raised."""
    now = now or utcnow()
    try:
        return _receive(factory, body, identity=identity, max_age=max_age, now=now)
    except InboxRefused as exc:
        record_refusal(factory, body, reason=exc.detail, remote_addr=remote_addr, now=now)
        raise


def _receive(
    factory: sessionmaker[Session], body: bytes, *, identity: Identity, max_age: dt.timedelta, now: dt.datetime
) -> Accepted:
    if len(body) > MAX_BODY:
        raise TooLarge(f"envelope of {len(body)} bytes (at most {MAX_BODY})")
    try:
        envelope = body.decode("ascii").strip()
    except UnicodeDecodeError:
        raise Malformed("not a JWS compact envelope (non-ASCII body)") from None
    with factory() as session:
        peers = known_peers(session, identity.key_id)
    try:
        kid, payload = verify(envelope, {k: p.key for k, p in peers.items()})
    except BadSignature as exc:
        raise InboxRefused(exc.detail) from None
    except ValueError:  # the signed payload is not JSON
        raise Malformed("the signed payload is not JSON") from None
    peer = peers[kid]
    key, kind, jti = _check_claims(payload, kid, identity.key_id, max_age, now)
    registry.load_all()
    handler = registry.INBOX.get(kind)
    if handler is None:
        raise Malformed(f"unknown envelope type {kind!r}")
    for attempt in range(_RACE_RETRIES):
        try:
            return _accept(factory, envelope, payload, peer, kid, key, kind, jti, identity, now)
        except (IntegrityError, OperationalError):
            # a concurrent delivery of the same key (or jti) won; look again: duplicate, or replay
            if attempt + 1 == _RACE_RETRIES:
                raise
            log.info("inbox: concurrent delivery of %s from %s; retrying", key, kid[:12])
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def _check_claims(
    payload: Any, kid: str, own_kid: str, max_age: dt.timedelta, now: dt.datetime
) -> tuple[str, str, str]:
    if not isinstance(payload, dict):
        raise Malformed("the payload is not a JSON object")
    key, kind, jti, iat = payload.get("id"), payload.get("type"), payload.get("jti"), payload.get("iat")
    for name, value, longest in (("id", key, 80), ("type", kind, 20), ("jti", jti, 80)):
        if not isinstance(value, str) or not value or len(value) > longest:
            raise Malformed(f"the payload needs {name!r}: a string of 1 to {longest} characters")
    if payload.get("from") != kid:
        raise Misaddressed("'from' is not the key that signed the envelope")
    if payload.get("to") != own_kid:
        raise Misaddressed("addressed to another node ('to' is not this node's key id)")
    if isinstance(iat, bool) or not isinstance(iat, int | float):
        raise Malformed("the payload needs 'iat' (seconds since the epoch)")
    try:
        issued = dt.datetime.fromtimestamp(iat, dt.UTC)
    except (OverflowError, ValueError, OSError):
        raise Malformed("'iat' is not a usable time") from None
    if issued < now - max_age:
        raise Expired(f"issued at {iso(issued)}, older than the {max_age} window")
    if issued > now + CLOCK_SKEW:
        raise Expired(f"issued at {iso(issued)}, in the future (clock skew?)")
    return str(key), str(kind), str(jti)


def _accept(
    factory: sessionmaker[Session],
    envelope: str,
    payload: dict[str, Any],
    peer: KnownPeer,
    kid: str,
    key: str,
    kind: str,
    jti: str,
    identity: Identity,
    now: dt.datetime,
) -> Accepted:
    with unit_of_work(factory) as session:
        if session.get(Nonce, jti) is not None:
            raise Replayed(f"envelope {jti} was already presented")
        session.add(Nonce(jti=jti, sender_kid=kid, seen_at=now))
        session.flush()
        entry = session.scalars(select(InboxEntry).where(InboxEntry.sender_kid == kid, InboxEntry.key == key)).first()
        if entry is not None:
            log.info("inbox: duplicate %s %s from %s; stored receipt returned", kind, key, peer.name)
            return Accepted(entry.receipt, True, kid, key)
        peer_row = session.get(Peer, peer.id)
        try:
            with session.begin_nested():
                result = registry.INBOX[kind](session, peer_row, payload, now) or {}
        except AccordError as exc:
            if exc.status >= 500:
                raise
            raise _refusal_for(exc) from None
        receipt = identity.sign(
            {
                **result,
                "type": "receipt",
                "id": key,
                "from": identity.key_id,
                "to": kid,
                "received_at": iso(now),
                "digest": content_digest(payload),
            }
        )
        session.add(
            InboxEntry(
                sender_kid=kid,
                key=key,
                kind=kind,
                peer_id=peer.id,
                received_at=now,
                envelope=envelope,
                receipt=receipt,
            )
        )
        session.flush()
        log.info("inbox: accepted %s %s from %s", kind, key, peer.name)
        return Accepted(receipt, False, kid, key)


def _refusal_for(exc: AccordError) -> InboxRefused:
    refused = Malformed(f"{exc.title}: {exc.detail}")
    refused.status = exc.status  # type: ignore[misc]
    return refused


def _claimed_kid(text: str) -> str | None:
    try:
        kid = jwt.get_unverified_header(text).get("kid")
    except (jwt.InvalidTokenError, ValueError, TypeError, AttributeError):
        return None
    return str(kid)[:100] if kid is not None else None


def record_refusal(
    factory: sessionmaker[Session],
    body: bytes,
    *,
    reason: str,
    remote_addr: str | None = None,
    now: dt.datetime | None = None,
) -> None:
    """Log a refused envelope and keep it in ``crisis_refusals`` (own transaction; never raises)."""
    text = body[:4096].decode("ascii", errors="replace")
    excerpt = "".join(ch if ch.isprintable() else "?" for ch in text[:300])
    digest = hashlib.sha256(body).hexdigest()
    kid = _claimed_kid(text.strip())
    log.warning(
        "inbox refused an envelope from %s (kid %s, sha256 %s): %s", remote_addr or "?", kid or "-", digest, reason
    )
    try:
        with unit_of_work(factory) as session:
            session.add(
                Refusal(
                    at=now or utcnow(),
                    reason=reason[:300],
                    remote_addr=(remote_addr or None) and remote_addr[:100],
                    kid=kid,
                    digest=digest,
                    excerpt=excerpt,
                )
            )
    except Exception:  # the refusal stands even if its record cannot be written
        log.exception("inbox: could not record a refusal")


def prune_nonces(session: Session, *, max_age: dt.timedelta, now: dt.datetime | None = None) -> int:
    """Forget ``jti``s older than the acceptance window (such envelopes are refused as expired anyway)."""
    cutoff = (now or utcnow()) - max_age - 2 * CLOCK_SKEW
    result = session.execute(delete(Nonce).where(Nonce.seen_at < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
