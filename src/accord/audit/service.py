"""Recording and reading the audit log."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.audit.models import AuditEntry
from accord.core.types import QueryModel, Str


@dataclass(frozen=True)
class Actor:
    """Who makes a change: a signed-in user, a token's owner, or a command-line operator."""

    name: str
    user_id: int | None = None

    @classmethod
    def of(cls, user: Any) -> Actor:
        if isinstance(user, Actor):
            return user
        if user is None:
            return cls("anonymous")
        return cls(user.username, user.id)


SYSTEM = Actor("system")


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def record(
    session: Session, actor: Actor, action: str, resource: str, key: Any = None, before: Any = None, after: Any = None
) -> None:
    """Add one entry to the audit log, in the caller's transaction (so it commits with the change)."""
    session.add(
        AuditEntry(
            user_id=actor.user_id,
            actor=actor.name,
            action=action,
            resource=resource,
            key=None if key is None else str(key),
            before=_jsonable(before),
            after=_jsonable(after),
        )
    )


def changes(entry: AuditEntry) -> list[tuple[str, Any, Any]]:
    """(field, before, after) for the fields an entry changed; every field for a creation or deletion."""
    before = entry.before if isinstance(entry.before, dict) else {}
    after = entry.after if isinstance(entry.after, dict) else {}
    keys = list(dict.fromkeys([*before, *after]))
    return [(k, before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k) and k != "version"]


class AuditFilter(QueryModel):
    actor: Str | None = None
    action: Str | None = None
    resource: Str | None = None
    key: Str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def list_entries(
    session: Session, f: AuditFilter, *, limit: int = 100, before_id: int | None = None
) -> list[AuditEntry]:
    stmt = select(AuditEntry)
    for name in ("actor", "action", "resource", "key"):
        value = getattr(f, name)
        if value:
            stmt = stmt.where(getattr(AuditEntry, name) == value)
    if f.since:
        stmt = stmt.where(AuditEntry.at >= f.since)
    if f.until:
        stmt = stmt.where(AuditEntry.at <= f.until)
    if before_id:
        stmt = stmt.where(AuditEntry.id < before_id)
    return list(session.scalars(stmt.order_by(AuditEntry.id.desc()).limit(limit)))
