"""Node identity and signed envelopes: round trip, forgery, alteration, algorithm confusion."""

from __future__ import annotations

import base64
import json

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from accord.crisis import identity
from accord.crisis.identity import BadSignature


def test_identity_persists_owner_only(tmp_path):
    path = tmp_path / "node.ed25519.pem"
    a = identity.load_or_create(path)
    assert path.stat().st_mode & 0o077 == 0
    b = identity.load_or_create(path)
    assert a.key_id == b.key_id and len(a.key_id) == 64
    pem = identity.public_pem(a.public_key)
    assert identity.fingerprint(identity.load_public(pem)) == a.key_id


def test_round_trip_and_refusals(tmp_path):
    me = identity.load_or_create(tmp_path / "a.pem")
    stranger = identity.load_or_create(tmp_path / "b.pem")
    known = {me.key_id: me.public_key}
    message = {"type": "request_for_assistance", "to": "EE", "deadline": "2026-11-28T12:00:00Z", "text": "née"}
    signer, payload = identity.verify(me.sign(message), known)
    assert signer == me.key_id and payload == message
    with pytest.raises(BadSignature, match="unknown key"):
        identity.verify(stranger.sign(message), known)
    header, body, sig = me.sign(message).split(".")
    altered = json.loads(base64.urlsafe_b64decode(body + "=="))
    altered["deadline"] = "2027-01-01T00:00:00Z"
    forged_body = base64.urlsafe_b64encode(json.dumps(altered).encode()).decode().rstrip("=")
    with pytest.raises(BadSignature, match="does not verify"):
        identity.verify(f"{header}.{forged_body}.{sig}", known)
    # a stranger's key presented under my key id: the signature check refuses it
    impostor = jwt.api_jws.encode(
        b"{}",
        Ed25519PrivateKey.generate(),
        algorithm="EdDSA",
        headers={"kid": me.key_id, "typ": identity.ENVELOPE_TYPE},
    )
    with pytest.raises(BadSignature):
        identity.verify(impostor, known)
    unsigned = jwt.api_jws.encode(
        b"{}", None, algorithm="none", headers={"kid": me.key_id, "typ": identity.ENVELOPE_TYPE}
    )
    with pytest.raises(BadSignature, match="only EdDSA"):
        identity.verify(unsigned, known)
    with pytest.raises(BadSignature):
        identity.verify("not.a.jws", known)
