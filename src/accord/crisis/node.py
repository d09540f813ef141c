"""This node's crisis identity, from the settings."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from accord.config import Settings
from accord.crisis.identity import Identity, load_or_create


@lru_cache(maxsize=8)
def _identity_at(path: Path) -> Identity:
    return load_or_create(path)


def identity(settings: Settings) -> Identity:
    """The node's Ed25519 identity (``node.ed25519.pem`` in the data directory, created on first use)."""
    return _identity_at((settings.data_dir / "node.ed25519.pem").resolve())


def own_keys(settings: Settings) -> dict[str, Ed25519PublicKey]:
    node = identity(settings)
    return {node.key_id: node.public_key}
