"""Persistent deadlines, fired exactly once.

A timer is a row. A worker claims a due one (``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite
serialises writers) and, **in the same transaction**, sets ``fired_at`` with a conditional update and
applies the handler's effect. Either both commit or neither does, so a timer fires after a restart if it
was due while nothing ran, and never twice however many workers poll. A handler that raises leaves the
timer pending; it is tried again after a minute.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from accord.crisis import registry
from accord.crisis.models import Timer
from accord.db import unit_of_work, utcnow

log = logging.getLogger(__name__)
RETRY_AFTER = dt.timedelta(minutes=1)


def schedule(session: Session, kind: str, subject_id: int, due_at: dt.datetime) -> Timer:
    timer = Timer(kind=kind, subject_id=subject_id, due_at=due_at)
    session.add(timer)
    session.flush()
    return timer


def cancel(session: Session, kind: str, subject_id: int, now: dt.datetime, why: str) -> int:
    """Mark the pending timers of a subject as fired-void (e.g. the message was acknowledged in time)."""
    result = session.execute(
        update(Timer)
        .where(Timer.kind == kind, Timer.subject_id == subject_id, Timer.fired_at.is_(None))
        .values(fired_at=now, fired_by="cancelled", outcome=why)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def pending(session: Session, kind: str, subject_id: int) -> list[Timer]:
    return list(
        session.scalars(
            select(Timer).where(Timer.kind == kind, Timer.subject_id == subject_id, Timer.fired_at.is_(None))
        )
    )


LOST = object()  # another worker claimed the timer first


def _claim(session: Session, now: dt.datetime, worker: str) -> Timer | None | object:
    """The next due timer, now marked fired by ``worker``; None if nothing is due; LOST if a rival won it."""
    query = select(Timer).where(Timer.fired_at.is_(None), Timer.due_at <= now).order_by(Timer.due_at, Timer.id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    else:  # SQLite: take the write lock first, so the read below sees what the last writer committed
        session.execute(update(Timer).where(Timer.id == -1).values(fired_by=None))
    timer = session.scalars(query.limit(1)).first()
    if timer is None:
        return None
    won = session.execute(
        update(Timer).where(Timer.id == timer.id, Timer.fired_at.is_(None)).values(fired_at=now, fired_by=worker)
    )
    if won.rowcount != 1:  # type: ignore[attr-defined]
        return LOST
    session.refresh(timer)
    return timer


def run_due(factory: sessionmaker[Session], *, worker: str, now: dt.datetime | None = None, limit: int = 200) -> int:
    """Fire every timer due at ``now`` (default: the current time); returns how many fired."""
    registry.load_all()
    fired = 0
    for _ in range(limit):
        at = now or utcnow()
        failed: tuple[int, str] | None = None
        try:
            with unit_of_work(factory) as session:
                timer = _claim(session, at, worker)
                if timer is None:
                    break
                if timer is LOST:
                    continue
                assert isinstance(timer, Timer)
                handler = registry.TIMERS.get(timer.kind)
                if handler is None:
                    timer.outcome = f"no handler for {timer.kind!r}"
                else:
                    try:
                        with session.begin_nested():
                            timer.outcome = handler(session, timer, at)[:200]
                    except Exception as exc:  # the effect failed: keep the timer pending, retry later
                        log.exception("timer %s (%s) failed", timer.id, timer.kind)
                        failed = (timer.id, f"{type(exc).__name__}: {exc}"[:200])
                        timer.fired_at = None
                        timer.fired_by = None
                        timer.due_at = at + RETRY_AFTER
                        timer.outcome = failed[1]
        except OperationalError:  # SQLite: another writer won the race for this snapshot; look again
            log.debug("timer claim raced; retrying")
            continue
        if failed is None:
            fired += 1
    return fired
