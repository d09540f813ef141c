"""Sign-in, sign-out and the administrator's pages (users, audit log). Thin: parse, call a service, render."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from accord.audit import service as audit
from accord.audit.service import Actor
from accord.auth import service as accounts
from accord.auth.deps import require
from accord.auth.roles import ROLES
from accord.core.errors import AccordError, TooManyAttempts, Unauthorized
from accord.web.deps import DbSession
from accord.web.pages.common import render
from accord.web.security import SESSION_COOKIE, client_address, secure_cookies, verify_csrf

router = APIRouter(include_in_schema=False, dependencies=[Depends(verify_csrf)])
Admin = Annotated[Any, Depends(require("admin"))]


def _render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return render(request, name, context, status)


def _safe_next(target: str | None) -> str:
    """Only same-site paths: never redirect a signed-in user to another site."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: Annotated[str | None, Query(max_length=500)] = None) -> HTMLResponse:
    problem = getattr(request.state, "auth_problem", None)
    return _render(request, "account/login.html", next=_safe_next(next), message=problem)


@router.post("/login")
def login(
    request: Request,
    session: DbSession,
    username: Annotated[str, Form(max_length=80)],
    password: Annotated[str, Form(max_length=200)],
    next: Annotated[str | None, Form(max_length=500)] = None,
) -> Response:
    settings = request.app.state.settings
    try:
        user = accounts.authenticate(
            session,
            username.strip().lower(),
            password,
            client_address(request),
            max_failures=settings.login_max_failures,
            window=dt.timedelta(minutes=settings.login_window_minutes),
        )
    except TooManyAttempts as exc:
        return _login_refused(request, exc, next, username)
    if user is None:
        session.commit()  # keep the record of the failed attempt (throttling)
        return _login_refused(
            request, Unauthorized("wrong username or password, or the account is disabled"), next, username
        )
    secret = accounts.start_session(session, user, hours=settings.session_hours)
    if user.must_change_password:  # a one-time password: choose a real one first
        next = "/account/password?next=" + quote(_safe_next(next), safe="")
    session.commit()
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=settings.session_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
        path="/",
    )
    return response


def _login_refused(request: Request, exc: AccordError, next: str | None, username: str) -> HTMLResponse:
    return _render(
        request, "account/login.html", status=exc.status, next=_safe_next(next), message=exc.detail, username=username
    )


@router.post("/logout")
def logout(request: Request, session: DbSession) -> Response:
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        accounts.end_session(session, secret)
        session.commit()
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


SignedIn = Annotated[Any, Depends(require("read"))]


@router.get("/account/password", response_class=HTMLResponse)
def password_form(
    request: Request, user: SignedIn, next: Annotated[str | None, Query(max_length=500)] = None
) -> HTMLResponse:
    return _render(request, "account/password.html", next=_safe_next(next), forced=user.must_change_password)


@router.post("/account/password")
def change_password(
    request: Request,
    session: DbSession,
    user: SignedIn,
    current: Annotated[str, Form(max_length=200)],
    new: Annotated[str, Form(max_length=200)],
    repeat: Annotated[str, Form(max_length=200)],
    next: Annotated[str | None, Form(max_length=500)] = None,
) -> Response:
    def refuse(message: str) -> HTMLResponse:
        return _render(
            request,
            "account/password.html",
            status=422,
            next=_safe_next(next),
            forced=user.must_change_password,
            message=message,
        )

    if accounts.authenticate(session, user.username, current, client_address(request)) is None:
        session.commit()
        return refuse("the current password is wrong")
    if new != repeat:
        return refuse("the two new passwords differ")
    if new == current:
        return refuse("choose a password different from the current one")
    try:
        accounts.set_password(session, user.username, new, actor=Actor.of(user))
    except AccordError as exc:
        session.rollback()
        return refuse("; ".join(str(p.reason) for p in exc.problems) or exc.detail)
    session.commit()
    return RedirectResponse(_safe_next(next), status_code=303)


def _users_page(request: Request, session: Any, status: int = 200, **extra: Any) -> HTMLResponse:
    return _render(
        request,
        "account/users.html",
        status=status,
        users=accounts.list_users(session),
        roles=ROLES,
        tokens=accounts.list_tokens(session),
        **extra,
    )


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, session: DbSession, admin: Admin) -> HTMLResponse:
    return _users_page(request, session)


@router.post("/admin/users")
def add_user(
    request: Request,
    session: DbSession,
    admin: Admin,
    username: Annotated[str, Form(max_length=80)],
    role: Annotated[str, Form(max_length=20)],
    display_name: Annotated[str, Form(max_length=200)] = "",
    state_code: Annotated[str, Form(max_length=2)] = "",
    organisation_code: Annotated[str, Form(max_length=40)] = "",
    affiliation: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    password = accounts.generate_password()
    try:
        accounts.create_user(
            session,
            username=username.strip().lower(),
            password=password,
            role=role,
            display_name=display_name or None,
            state_code=state_code or None,
            organisation_code=organisation_code or None,
            affiliation=affiliation or None,
            must_change_password=True,
            actor=Actor.of(admin),
        )
    except AccordError as exc:
        session.rollback()
        return _users_page(request, session, exc.status, error=exc)
    session.commit()
    return _users_page(request, session, 201, created=(username, password))


@router.post("/admin/users/{username}/active")
def toggle_user(
    request: Request, session: DbSession, admin: Admin, username: str, active: Annotated[str, Form(max_length=5)]
) -> Response:
    try:
        accounts.set_active(session, username, active == "true", actor=Actor.of(admin))
    except AccordError as exc:
        session.rollback()
        return _users_page(request, session, exc.status, error=exc)
    session.commit()
    return RedirectResponse("/admin/users", status_code=303)


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    session: DbSession,
    admin: Admin,
    filters: Annotated[audit.AuditFilter, Query()],
    before: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> HTMLResponse:
    entries = audit.list_entries(session, filters, limit=100, before_id=before)
    return _render(
        request,
        "account/audit.html",
        entries=entries,
        filters=filters,
        changes=audit.changes,
        next_before=entries[-1].id if len(entries) == 100 else None,
    )
