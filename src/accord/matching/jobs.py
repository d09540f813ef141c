"""Matching off the request path: the hub enqueues a job when observed data or indicators arrive, the worker
(``accord worker``, or the thread ``accord serve`` starts) runs it.

- ``observations`` job: the observed-data just stored in a collection are matched against the node's active
  indicators;
- ``indicators`` job: every stored observation is matched against the indicators just stored (pending
  indicator jobs are taken together, so a burst of ingests costs one pass over the store).

Jobs are claimed with a lease by one atomic UPDATE (several workers never run the same job; a worker that
dies leaves its job to be claimed again when the lease runs out). An observations job records its sightings and
its completion in one transaction. An indicators job goes through the store in batches of stored observations
(``matching.service.BATCH``), one transaction each: the batch's sightings, the job's ``progress`` (the last
stored object covered) and a renewed lease commit together, so the store's write lock is held for one batch at a
time (SQLite has one writer), and a job that fails or whose worker dies resumes after its last batch. Recording
is idempotent per observation, so a retried batch counts nothing twice. A worker whose lease ran out (another
claimed the job) stops at its next batch.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from typing import Any

from sqlalchemy import JSON, Integer, String, Text, and_, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from accord.db import Base, UtcDateTime, unit_of_work, utcnow

log = logging.getLogger(__name__)
LEASE = dt.timedelta(minutes=10)


class MatchJob(Base):
    __tablename__ = "match_jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # observations | indicators
    collection_id: Mapped[str] = mapped_column(String(36))
    stix_ids: Mapped[list[str]] = mapped_column(JSON)
    created: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, index=True)
    done_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[str | None] = mapped_column(Text)  # JSON summary, or the error of the last attempt
    progress: Mapped[int | None] = mapped_column(Integer)  # indicators job: the last stored object covered


def enqueue(session: Session, collection_id: str, objects: list[dict[str, Any]]) -> list[MatchJob]:
    """Jobs for the observed-data and indicators among objects just stored (none if there are neither)."""
    jobs = []
    for kind, stix_type in (("observations", "observed-data"), ("indicators", "indicator")):
        ids = list(dict.fromkeys(o["id"] for o in objects if o.get("type") == stix_type))
        if ids:
            job = MatchJob(kind=kind, collection_id=collection_id, stix_ids=ids)
            session.add(job)
            jobs.append(job)
    return jobs


def _claim(
    factory: sessionmaker[Session], worker: str, now: dt.datetime, kind: str, limit: int
) -> tuple[str, list[int]]:
    """Claims up to ``limit`` free jobs of ``kind``; (this claim's token, the job ids)."""
    token = f"{worker}#{uuid.uuid4().hex[:12]}"  # this claim only: a failed job claimed before is not returned
    free = and_(MatchJob.done_at.is_(None), or_(MatchJob.claimed_at.is_(None), MatchJob.claimed_at < now - LEASE))
    with unit_of_work(factory) as session:
        pick = select(MatchJob.id).where(free, MatchJob.kind == kind).order_by(MatchJob.id).limit(limit)
        session.execute(
            update(MatchJob)
            .where(MatchJob.id.in_(pick.scalar_subquery()), free)
            .values(claimed_by=token, claimed_at=now, attempts=MatchJob.attempts + 1)
            .execution_options(synchronize_session=False)
        )
    with unit_of_work(factory) as session:
        return token, list(
            session.scalars(
                select(MatchJob.id).where(
                    MatchJob.claimed_by == token, MatchJob.claimed_at == now, MatchJob.done_at.is_(None)
                )
            )
        )


def run_pending(
    factory: sessionmaker[Session],
    *,
    worker: str,
    now: dt.datetime | None = None,
    warning_lists: Any = None,
    batch: int | None = None,
) -> int:
    """Run every pending job once; returns how many jobs were completed. ``batch``: stored observations per
    transaction of an indicators job (``matching.service.BATCH`` by default)."""
    from accord.audit.service import Actor
    from accord.matching import service

    now = now or dt.datetime.now(dt.UTC)
    actor = Actor("system:matching")
    done = 0
    for kind, limit in (("observations", 20), ("indicators", 200)):
        while (claim := _claim(factory, worker, now, kind, limit))[1]:
            token, ids = claim
            if warning_lists is None:
                warning_lists = service.default_warning_lists()  # loaded once, and only when there is work
            if kind == "observations":
                done += sum(_run(factory, [job_id], actor, warning_lists) for job_id in ids)
            else:
                done += _rematch(factory, token, ids, actor, warning_lists, batch or service.BATCH)
    return done


def _summary(report: Any) -> str:
    return json.dumps(
        {
            "observations": report.observations,
            "matches": report.matches,
            "sightings_new": report.sightings_new,
            "suppressed": report.suppressed,
        }
    )


def _failed(factory: sessionmaker[Session], ids: list[int], exc: Exception) -> None:
    """The jobs stay pending (lease) and are retried; the error is kept for operators."""
    log.exception("matching job %s failed", ids)
    with unit_of_work(factory) as session:
        session.execute(update(MatchJob).where(MatchJob.id.in_(ids)).values(result=f"error: {exc}"[:2000]))


def _run(factory: sessionmaker[Session], ids: list[int], actor: Any, wl: Any) -> int:
    """An observations job: its sightings and its completion in one transaction."""
    try:
        with unit_of_work(factory) as session:
            jobs = list(session.scalars(select(MatchJob).where(MatchJob.id.in_(ids))))
            report = _observations_job(session, jobs, actor, wl)
            stamp, summary = dt.datetime.now(dt.UTC), _summary(report)
            for job in jobs:
                job.done_at = stamp
                job.result = summary
        return len(ids)
    except Exception as exc:
        _failed(factory, ids, exc)
        return 0


def _rematch(factory: sessionmaker[Session], token: str, ids: list[int], actor: Any, wl: Any, batch: int) -> int:
    """Indicators jobs taken together: every stored observation after their progress, against their indicators,
    one batch per transaction (module docstring). Returns how many jobs were completed."""
    from accord.matching import service
    from accord.matching.engine import Matcher

    mine = and_(MatchJob.id.in_(ids), MatchJob.claimed_by == token)
    try:
        with unit_of_work(factory) as session:
            jobs = list(session.scalars(select(MatchJob).where(mine)))
            wanted = list(dict.fromkeys(i for job in jobs for i in job.stix_ids))
            after = min((job.progress or 0 for job in jobs), default=0)
            fresh = service.active_indicators(session, ids=wanted)
        total = service.MatchReport()
        matcher = Matcher((i.id, i.pattern) for i in fresh) if fresh else None
        while matcher is not None:
            with unit_of_work(factory) as session:
                found = service.observation_batch(session, after=after, batch=batch)
                if found is None:
                    break
                observations, after = found
                report = service.match_and_record(
                    session, [observations], matcher=matcher, actor=actor, warning_lists=wl
                )
                renewed = session.execute(
                    update(MatchJob)
                    .where(mine)
                    .values(progress=after, claimed_at=dt.datetime.now(dt.UTC))
                    .execution_options(synchronize_session=False)
                )
                if renewed.rowcount != len(jobs):  # another worker claimed them: this batch is not ours
                    session.rollback()
                    return 0
            for name in ("observations", "matches", "sightings_new", "suppressed"):
                setattr(total, name, getattr(total, name) + getattr(report, name))
        with unit_of_work(factory) as session:
            session.execute(
                update(MatchJob)
                .where(mine)
                .values(done_at=dt.datetime.now(dt.UTC), result=_summary(total))
                .execution_options(synchronize_session=False)
            )
        return len(jobs)
    except Exception as exc:
        _failed(factory, ids, exc)
        return 0


def _observations_job(session: Session, jobs: list[MatchJob], actor: Any, wl: Any) -> Any:
    from accord.matching import service

    (job,) = jobs
    observations = service.observations_by_id(session, job.collection_id, job.stix_ids)
    return service.match_and_record(
        session, [observations], matcher=service.node_matcher(session), actor=actor, warning_lists=wl
    )


def pending(session: Session) -> int:
    return len(list(session.scalars(select(MatchJob.id).where(MatchJob.done_at.is_(None)))))
