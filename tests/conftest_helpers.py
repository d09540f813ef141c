"""Helpers shared by test modules (plain functions; fixtures live in conftest.py)."""

from __future__ import annotations

from typing import Any

PASSWORD = "correct horse battery staple"


def login(client: Any, username: str, password: str) -> Any:
    """Sign in through the real form: fetch it (for the CSRF cookie), then post it."""
    client.get("/login")
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": client.cookies.get("accord_csrf", "")},
        follow_redirects=False,
    )
