"""Peer credentials are encrypted at rest with the node key."""

from __future__ import annotations

import pytest

from accord.core.errors import AccordError
from accord.sharing import federation


def test_peer_token_is_sealed_and_unsealed(tmp_path, monkeypatch):
    monkeypatch.setenv("ACCORD_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ACCORD_SECRET_KEY", raising=False)
    sealed = federation.seal("acc_very-secret-token")
    assert sealed.startswith("fernet:") and "very-secret" not in sealed
    assert (tmp_path / "node.key").stat().st_mode & 0o077 == 0  # owner-only key file
    assert federation.unseal(sealed) == "acc_very-secret-token"
    other = tmp_path / "other"
    monkeypatch.setenv("ACCORD_DATA_DIR", str(other))  # another node's key cannot open it
    with pytest.raises(AccordError):
        federation.unseal(sealed)
