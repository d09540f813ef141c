"""Full-text search across the knowledge base (names, aliases, descriptions)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.core.records import Resource, search_clause
from accord.directory.service import ORGANISATIONS, STATES
from accord.incidents.service import INCIDENTS, THREAT_ACTORS
from accord.norms.service import INSTRUMENTS

_TARGETS: tuple[tuple[str, Resource], ...] = (
    ("state", STATES),
    ("organisation", ORGANISATIONS),
    ("instrument", INSTRUMENTS),
    ("incident", INCIDENTS),
    ("actor", THREAT_ACTORS),
)


def _snippet(text: str | None, q: str, width: int = 80) -> str | None:
    if not text:
        return None
    i = text.lower().find(q.lower())
    if i < 0:
        return text[: width * 2]
    start = max(0, i - width)
    return ("…" if start else "") + text[start : i + len(q) + width] + ("…" if i + len(q) + width < len(text) else "")


def search_everything(session: Session, q: str, *, limit: int = 20) -> list[dict[str, Any]]:
    hits: list[dict[str, Any]] = []
    for kind, res in _TARGETS:
        clause = search_clause(res, q, session.get_bind().dialect.name)
        rows = session.scalars(select(res.model).where(clause).limit(limit))
        for row in rows:
            hits.append(
                {
                    "kind": kind,
                    "key": str(getattr(row, "slug", None) or getattr(row, res.key)),
                    "name": row.name,
                    "snippet": _snippet(getattr(row, "description", None), q),
                }
            )
    exact = q.strip().lower()
    hits.sort(key=lambda h: (h["name"].lower() != exact, not h["name"].lower().startswith(exact)))
    return hits[:limit]
