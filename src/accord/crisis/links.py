"""Signed acknowledgement links, for contacts reached by e-mail (no node of their own).

A link is ``{public_url}/ack/{token}`` where the token is a JWS compact envelope signed by this node
(the same EdDSA format as envelopes between nodes) over::

    {"aud": "accord-ack", "kind": <registry.LINKS handler>, "sub": <what it acknowledges>,
     "exp": <epoch seconds>, "jti": <uuid4>, "what": <optional text shown to the visitor>}

The token is the authority: whoever holds the link may acknowledge, without signing in, until ``exp``.
``GET /ack/{token}`` only shows what is acknowledged and a button (mail scanners prefetch links, so GET
changes nothing); ``POST`` calls ``registry.LINKS[kind](session, claims, now)``. A handler must be
idempotent (a second click acknowledges nothing new). A tampered token, one signed by another key, or an
envelope of another use (no ``aud: accord-ack``) is refused (401); an expired one gets a clear 400.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from accord.config import Settings
from accord.core.errors import AccordError
from accord.crisis import node
from accord.crisis.identity import BadSignature, Identity, verify

AUDIENCE = "accord-ack"


class LinkInvalid(AccordError):
    status = 401
    title = "This link is not valid"
    slug = "link-invalid"


class LinkExpired(AccordError):
    status = 400
    title = "This link has expired"
    slug = "link-expired"


def make(identity: Identity, kind: str, subject: str, expires: dt.datetime, *, what: str | None = None) -> str:
    """A signed token acknowledging ``subject`` through the ``kind`` handler, valid until ``expires``."""
    claims: dict[str, Any] = {
        "aud": AUDIENCE,
        "kind": kind,
        "sub": str(subject),
        "exp": int(expires.timestamp()),
        "jti": str(uuid.uuid4()),
    }
    if what:
        claims["what"] = what[:300]
    return identity.sign(claims)


def url(settings: Settings, token: str) -> str:
    return f"{settings.public_url.rstrip('/')}/ack/{token}"


def check(settings: Settings, token: str, now: dt.datetime) -> dict[str, Any]:
    """The claims of a token this node signed, still valid at ``now``; else LinkInvalid / LinkExpired."""
    if len(token) > 4096:
        raise LinkInvalid("the link is too long to be one of ours")
    try:
        _kid, claims = verify(token, node.own_keys(settings))
    except BadSignature:
        raise LinkInvalid("the link was altered, or was not issued by this node") from None
    except ValueError:
        raise LinkInvalid("the link was not issued by this node") from None
    if (
        not isinstance(claims, dict)
        or claims.get("aud") != AUDIENCE
        or not isinstance(claims.get("kind"), str)
        or not isinstance(claims.get("sub"), str)
        or not isinstance(claims.get("exp"), int)
        or isinstance(claims.get("exp"), bool)
    ):
        raise LinkInvalid("the link is not an acknowledgement link")
    expires = dt.datetime.fromtimestamp(claims["exp"], dt.UTC)
    if expires <= now:
        raise LinkExpired(
            f"it could be used until {expires:%d %b %Y %H:%M} UTC; ask the sender for a new one if needed"
        )
    return claims


def expires_at(claims: dict[str, Any]) -> dt.datetime:
    return dt.datetime.fromtimestamp(claims["exp"], dt.UTC)
