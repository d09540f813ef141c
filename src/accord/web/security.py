"""Who is asking, and the browser protections: identity from session cookie or API token, CSRF,
security headers. One middleware and one dependency, used by every HTTP face.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import Response

from accord.auth import service as accounts
from accord.core.errors import Forbidden, TooManyAttempts

SESSION_COOKIE = "accord_session"
CSRF_COOKIE = "accord_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def secure_cookies(request: Request) -> bool:
    mode = request.app.state.settings.cookie_secure
    return mode == "always" or (mode == "auto" and is_https(request))


def _identify(request: Request) -> None:
    """Set request.state.user / token_scopes / auth_problem from a bearer token or the session cookie."""
    request.state.user = None
    request.state.token_scopes = None
    request.state.auth_problem = None
    request.state.via_cookie = False
    header = request.headers.get("authorization", "")
    if not header and SESSION_COOKIE not in request.cookies:
        return  # an anonymous request (static files, public pages): no database round trip
    with request.app.state.sessions() as session, session.begin():
        if header.lower().startswith("basic "):
            user = _basic_user(request, session, header[6:].strip())
            if user is None:
                request.state.auth_problem = "wrong username or password"
            else:
                request.state.user, request.state.token_scopes = user, ["read", "write"]
        elif header.lower().startswith("bearer "):
            found = accounts.token_user(session, header[7:].strip())
            if found is None:
                request.state.auth_problem = "invalid, expired or revoked API token"
            else:
                request.state.user, request.state.token_scopes = found
        elif secret := request.cookies.get(SESSION_COOKIE):
            user = accounts.session_user(session, secret)
            if user is None:
                request.state.auth_problem = "your session has expired; please sign in again"
            request.state.user = user
            request.state.via_cookie = user is not None
        if request.state.user is not None:
            session.expunge(request.state.user)


# HTTP Basic sends the password on every request and argon2 costs ~50 ms by design: remember a verified
# (username, password digest) pair for a minute, in this process only (a disabled user is re-checked).
_BASIC_CACHE: dict[tuple[str, str], tuple[float, int]] = {}
_BASIC_TTL = 60.0


def _basic_user(request: Request, session: Any, encoded: str) -> Any:
    import base64
    import binascii
    import hashlib
    import time

    from accord.auth.models import User

    try:
        username, _, password = base64.b64decode(encoded).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    key = (username, hashlib.sha256(password.encode()).hexdigest())
    now = time.monotonic()
    cached = _BASIC_CACHE.get(key)
    if cached and now - cached[0] < _BASIC_TTL:
        user = session.get(User, cached[1])
        return user if user is not None and user.active else None
    settings = request.app.state.settings
    try:
        user = accounts.authenticate(
            session,
            username,
            password,
            client_address(request),
            max_failures=settings.login_max_failures,
            window=dt.timedelta(minutes=settings.login_window_minutes),
        )
    except TooManyAttempts:
        return None
    if user is not None:
        if len(_BASIC_CACHE) > 10_000:
            _BASIC_CACHE.clear()
        _BASIC_CACHE[key] = (now, user.id)
    return user


class SecurityMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        await run_in_threadpool(_identify, request)
        csrf = request.cookies.get(CSRF_COOKIE)
        new_csrf = not csrf
        request.state.csrf_token = csrf or secrets.token_urlsafe(32)
        response = await call_next(request)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if is_https(request):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if request.state.user is not None:
            response.headers.setdefault("Cache-Control", "no-store")
        if new_csrf:
            response.set_cookie(
                CSRF_COOKIE,
                request.state.csrf_token,
                httponly=True,
                samesite="strict",
                secure=secure_cookies(request),
                path="/",
            )
        return response


def _matches(given: str | None, expected: str) -> bool:
    return bool(given) and hmac.compare_digest(str(given), expected)


async def verify_csrf(request: Request) -> None:
    """Dependency for state-changing requests from browsers: the form field or header must match the cookie.

    API calls authenticated by a bearer token are exempt (a browser cannot be tricked into sending one).
    """
    if request.method in SAFE_METHODS or request.state.token_scopes is not None:
        return
    expected = request.cookies.get(CSRF_COOKIE)
    given = request.headers.get(CSRF_HEADER)
    if not given and "form" in request.headers.get("content-type", ""):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not expected or not _matches(given, expected):
        raise Forbidden("the form's security token is missing or out of date — reload the page and try again")


def api_csrf_needed(request: Request) -> bool:
    """Cookie-authenticated API writes need the CSRF header too."""
    return request.method not in SAFE_METHODS and bool(getattr(request.state, "via_cookie", False))


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
