"""The node's Ed25519 identity and signed envelopes between nodes.

Format (documented choice): **JWS compact serialisation, alg EdDSA (Ed25519)**, RFC 7515 / RFC 8037,
through PyJWT. The protected header carries ``kid`` = the signer's key fingerprint (SHA-256 of the raw
public key, hex) and ``typ`` = ``accord-envelope+jws``; the payload is the message JSON. Verification
accepts only EdDSA and only keys the caller registered (a peer's public key), so a forged, altered or
``alg: none`` envelope is refused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from accord.core.errors import AccordError

ENVELOPE_TYPE = "accord-envelope+jws"


class BadSignature(AccordError):
    status = 401
    title = "Signature refused"
    slug = "bad-signature"


def fingerprint(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def public_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def load_public(pem: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except ValueError as exc:
        raise AccordError("not a PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise AccordError("the public key is not an Ed25519 key")
    return key


@dataclass(frozen=True)
class Identity:
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    @property
    def key_id(self) -> str:
        return fingerprint(self.public_key)

    def sign(self, payload: dict[str, Any]) -> str:
        """A JWS compact envelope of ``payload`` signed with this node's key."""
        return jwt.api_jws.encode(
            jwt.utils.force_bytes(_canonical(payload)),
            self.private_key,
            algorithm="EdDSA",
            headers={"kid": self.key_id, "typ": ENVELOPE_TYPE},
        )


def _canonical(payload: dict[str, Any]) -> str:
    import json

    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def load_or_create(path: Path) -> Identity:
    """The node identity kept in ``path`` (PEM, owner-only), created on first use."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise AccordError(f"{path} does not hold an Ed25519 private key")
        return Identity(key)
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    path.chmod(0o600)
    return Identity(key)


def verify(envelope: str, known_keys: dict[str, Ed25519PublicKey]) -> tuple[str, dict[str, Any]]:
    """(signer key id, payload) of an envelope signed by one of ``known_keys`` (kid → key); else BadSignature."""
    import json

    try:
        header = jwt.get_unverified_header(envelope)
    except jwt.InvalidTokenError as exc:
        raise BadSignature(f"not a JWS envelope: {exc}") from None
    if header.get("alg") != "EdDSA" or header.get("typ") != ENVELOPE_TYPE:
        raise BadSignature("only EdDSA-signed Accord envelopes are accepted")
    key = known_keys.get(str(header.get("kid")))
    if key is None:
        raise BadSignature("signed by an unknown key")
    try:
        raw = jwt.api_jws.decode(envelope, key, algorithms=["EdDSA"])
    except jwt.InvalidTokenError as exc:
        raise BadSignature(f"signature does not verify: {exc}") from None
    return str(header["kid"]), json.loads(raw)
