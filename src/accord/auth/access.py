"""Access dependencies for HTTP faces: reading (public or not) and writing, per resource permission."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request

from accord.auth.deps import current_user, require
from accord.core.errors import Unauthorized


def read_access(permission: str = "read") -> Callable[..., Any]:
    """Anonymous visitors may read public data when the node publishes it; a bad token is always 401."""
    check = require(permission)

    def dependency(request: Request) -> Any:
        problem = getattr(request.state, "auth_problem", None)
        if problem and getattr(request.state, "via_cookie", False) is False and request.headers.get("authorization"):
            raise Unauthorized(problem)
        if permission == "read" and request.app.state.settings.public_read:
            return current_user(request)
        return check(request)

    return dependency


def write_access(permission: str, csrf_check: Callable[[Request], Any] | None = None) -> Callable[..., Any]:
    """The user may write (else 401/403); a browser session must also pass ``csrf_check``."""
    check = require(permission)

    async def dependency(request: Request) -> Any:
        problem = getattr(request.state, "auth_problem", None)
        if problem and request.headers.get("authorization"):
            raise Unauthorized(problem)
        user = check(request)
        if csrf_check is not None and getattr(request.state, "via_cookie", False):
            await csrf_check(request)
        return user

    return dependency
