"""Roles and what they may do. One table, read by every face (API, pages, CLI).

viewer     reads the node's data (not points of contact)
analyst    also writes the knowledge base (incidents, attributions, norms, …) and reads contacts
liaison    liaison officer: writes agencies and points of contact, reads contacts; runs crisis cases and
           reachability checks (analysts may read them)
admin      administrator: everything, plus users, tokens of others and the audit log
"""

from __future__ import annotations

from typing import Any, Literal

Role = Literal["viewer", "analyst", "liaison", "admin"]
ROLES: tuple[str, ...] = ("viewer", "analyst", "liaison", "admin")

PERMISSIONS: dict[str, frozenset[str]] = {
    "read": frozenset(ROLES),
    "contacts:read": frozenset({"analyst", "liaison", "admin"}),
    "kb:write": frozenset({"analyst", "admin"}),
    "contacts:write": frozenset({"liaison", "admin"}),
    "crisis:read": frozenset({"analyst", "liaison", "admin"}),
    "crisis:write": frozenset({"liaison", "admin"}),
    "admin": frozenset({"admin"}),
}


def can(user: Any, permission: str) -> bool:
    """Whether ``user`` (None = anonymous visitor) holds ``permission``."""
    if user is None or not getattr(user, "active", False):
        return False
    return user.role in PERMISSIONS[permission]
