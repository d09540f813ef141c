"""Request dependencies: who is asking (set by the session/token middleware) and may they."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request

from accord.auth.roles import can
from accord.core.errors import Forbidden, Unauthorized


def current_user(request: Request) -> Any:
    """The signed-in user (web session or API token), or None for an anonymous visitor."""
    return getattr(request.state, "user", None)


OptionalUser = Annotated[Any, Depends(current_user)]


def require(permission: str) -> Callable[..., Any]:
    """A dependency that returns the user if they hold ``permission``; 401 if anonymous, 403 otherwise."""

    def dependency(request: Request) -> Any:
        user = current_user(request)
        if user is None:
            raise Unauthorized("sign in or send an API token")
        if not can(user, permission):
            raise Forbidden(f"your role ({user.role}) may not do this (needs {permission})")
        token_scopes = getattr(request.state, "token_scopes", None)
        if token_scopes is not None and permission != "read" and "write" not in token_scopes:
            raise Forbidden("this API token is read-only")
        return user

    return dependency
