"""Accounts: passwords (argon2), sessions, API tokens, throttled sign-in. Every change is audited."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import Field, ValidationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from accord.audit import service as audit
from accord.audit.service import SYSTEM, Actor
from accord.auth.models import ApiToken, LoginFailure, User, WebSession
from accord.auth.roles import ROLES, Role
from accord.core.errors import Duplicate, Invalid, NotFound, Problem, TooManyAttempts
from accord.core.records import problems_from_validation
from accord.core.types import Code, CountryCode, Schema, Str
from accord.directory.models import Organisation, State

_hasher = PasswordHasher()
# Verified against when the username is unknown, so timing does not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password")
TOKEN_PREFIX = "acc_"
MIN_PASSWORD = 12


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; they were stored as UTC."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def generate_password() -> str:
    return secrets.token_urlsafe(15)


class UserCreate(Schema):
    username: str = Field(min_length=2, max_length=80, pattern=r"^[a-z0-9][a-z0-9._-]*$")
    password: Str = Field(min_length=MIN_PASSWORD, max_length=200)
    role: Role
    display_name: Str | None = Field(default=None, max_length=200)
    email: Str | None = Field(default=None, max_length=320)
    state_code: CountryCode | None = None
    organisation_code: Code | None = None
    affiliation: Str | None = Field(default=None, max_length=300)


def _public(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "role": user.role,
        "active": user.active,
        "state_code": user.state_code,
        "organisation_code": user.organisation_code,
        "affiliation": user.affiliation,
    }


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    display_name: str | None = None,
    email: str | None = None,
    state_code: str | None = None,
    organisation_code: str | None = None,
    affiliation: str | None = None,
    must_change_password: bool = False,
    actor: Actor = SYSTEM,
) -> User:
    try:
        data = UserCreate(
            username=username,
            password=password,
            role=role,
            display_name=display_name,  # type: ignore[arg-type]
            email=email,
            state_code=state_code,
            organisation_code=organisation_code,
            affiliation=affiliation,
        )
    except ValidationError as exc:
        raise Invalid("invalid account", problems_from_validation(exc)) from exc
    problems = []
    if data.state_code and session.get(State, data.state_code) is None:
        problems.append(Problem("state_code", f"no state {data.state_code!r}"))
    if data.organisation_code and session.get(Organisation, data.organisation_code) is None:
        problems.append(Problem("organisation_code", f"no organisation {data.organisation_code!r}"))
    if problems:
        raise Invalid("unknown affiliation", problems)
    if session.scalar(select(User.id).where(User.username == data.username)) is not None:
        raise Duplicate("user exists", [Problem("username", f"{data.username!r} is taken")])
    user = User(
        username=data.username,
        password_hash=_hasher.hash(data.password),
        role=data.role,
        display_name=data.display_name or data.username,
        email=data.email,
        state_code=data.state_code,
        organisation_code=data.organisation_code,
        affiliation=data.affiliation,
        must_change_password=must_change_password,
    )
    session.add(user)
    session.flush()
    audit.record(session, actor, "create", "users", user.username, None, _public(user))
    return user


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user {username!r}")
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def set_active(session: Session, username: str, active: bool, *, actor: Actor = SYSTEM) -> User:
    user = get_user(session, username)
    if not active and actor.user_id == user.id:
        raise Invalid("you cannot disable your own account", [Problem("username", "is your own account")])
    before = _public(user)
    user.active = active
    if not active:  # sign them out everywhere; their tokens stop working too (checked on use)
        session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    session.flush()
    audit.record(session, actor, "enable" if active else "disable", "users", username, before, _public(user))
    return user


def set_role(session: Session, username: str, role: str, *, actor: Actor = SYSTEM) -> User:
    if role not in ROLES:
        raise Invalid("unknown role", [Problem("role", f"must be one of {', '.join(ROLES)}")])
    user = get_user(session, username)
    before = _public(user)
    user.role = role
    session.flush()
    audit.record(session, actor, "update", "users", username, before, _public(user))
    return user


def set_password(session: Session, username: str, password: str, *, actor: Actor = SYSTEM) -> None:
    if len(password) < MIN_PASSWORD:
        raise Invalid("password too short", [Problem("password", f"at least {MIN_PASSWORD} characters")])
    user = get_user(session, username)
    user.password_hash = _hasher.hash(password)
    user.must_change_password = False
    session.flush()
    audit.record(session, actor, "set-password", "users", username)


# ---------------------------------------------------------------- signing in


def _recent_failures(session: Session, column: Any, value: str, since: dt.datetime) -> int:
    return (
        session.scalar(select(func.count()).select_from(LoginFailure).where(column == value, LoginFailure.at >= since))
        or 0
    )


def authenticate(
    session: Session,
    username: str,
    password: str,
    client: str,
    *,
    max_failures: int = 5,
    window: dt.timedelta = dt.timedelta(minutes=15),
) -> User | None:
    """The user if the password is right, else None (the failure is recorded in the caller's transaction).

    Too many recent failures for the account or the address: TooManyAttempts, without checking.
    """
    since = utcnow() - window
    if (
        _recent_failures(session, LoginFailure.username, username, since) >= max_failures
        or _recent_failures(session, LoginFailure.client, client, since) >= max_failures * 4
    ):
        raise TooManyAttempts(f"too many failed sign-ins; try again in {int(window.total_seconds() // 60)} minutes")
    user = session.scalar(select(User).where(User.username == username))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        ok = user is not None and user.active
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None:
        session.add(LoginFailure(username=username[:80], client=client[:80]))
        session.flush()
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    session.execute(delete(LoginFailure).where(LoginFailure.username == username))
    user.last_login = utcnow()
    return user


def start_session(session: Session, user: User, *, hours: int) -> str:
    """A new web session; returns the cookie secret (only its hash is stored)."""
    secret = secrets.token_urlsafe(32)
    session.add(
        WebSession(secret_hash=digest(secret), user_id=user.id, expires_at=utcnow() + dt.timedelta(hours=hours))
    )
    session.execute(delete(WebSession).where(WebSession.expires_at < utcnow()))
    session.flush()
    return secret


def session_user(session: Session, secret: str) -> User | None:
    ws = session.scalar(select(WebSession).where(WebSession.secret_hash == digest(secret)))
    if ws is None or _aware(ws.expires_at) < utcnow() or not ws.user.active:
        return None
    return ws.user


def end_session(session: Session, secret: str) -> None:
    session.execute(delete(WebSession).where(WebSession.secret_hash == digest(secret)))


# ---------------------------------------------------------------- API tokens

SCOPES = ("read", "write")


def create_token(
    session: Session, username: str, *, name: str, scopes: list[str], days: int | None = 90, actor: Actor = SYSTEM
) -> tuple[ApiToken, str]:
    """A new API token; returns the record and the secret, which is shown once and never stored."""
    bad = [s for s in scopes if s not in SCOPES] or ([] if scopes else ["(none)"])
    if bad:
        raise Invalid("unknown scope", [Problem("scopes", f"{', '.join(bad)}: use read and/or write")])
    user = get_user(session, username)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        prefix=secret[:12],
        secret_hash=digest(secret),
        scopes=sorted(set(scopes)),
        expires_at=utcnow() + dt.timedelta(days=days) if days else None,
    )
    session.add(token)
    session.flush()
    audit.record(
        session,
        actor,
        "create",
        "api_tokens",
        token.id,
        None,
        {"user": username, "name": name, "scopes": token.scopes, "prefix": token.prefix},
    )
    return token, secret


def revoke_token(session: Session, token_id: int, *, actor: Actor = SYSTEM) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"no token {token_id}")
    token.revoked_at = utcnow()
    session.flush()
    audit.record(session, actor, "revoke", "api_tokens", token_id, None, {"prefix": token.prefix})
    return token


def list_tokens(session: Session, username: str | None = None) -> list[ApiToken]:
    stmt = select(ApiToken).order_by(ApiToken.id)
    if username:
        stmt = stmt.join(User).where(User.username == username)
    return list(session.scalars(stmt))


def token_user(session: Session, secret: str) -> tuple[User, list[str]] | None:
    token = session.scalar(select(ApiToken).where(ApiToken.secret_hash == digest(secret)))
    now = utcnow()
    if (
        token is None
        or token.revoked_at is not None
        or not token.user.active
        or (token.expires_at is not None and _aware(token.expires_at) < now)
    ):
        return None
    token.last_used = now
    return token.user, list(token.scopes)


def any_users(session: Session) -> bool:
    return session.scalar(select(func.count()).select_from(User)) > 0
