"""The background worker: fires due deadlines, delivers the outbox and runs matching jobs, in a loop or once.

Any number of workers may run against one database (``accord worker`` processes, or the one ``accord
serve`` starts in a thread): timers are claimed exactly once (see ``timers``) and outbox rows are leased
(see ``delivery``), so nothing is done twice and nothing is lost when a worker dies.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from accord.config import Settings
from accord.crisis import delivery, inbox, registry, timers
from accord.crisis.service import Node, use_node
from accord.db import unit_of_work
from accord.matching import jobs as matching_jobs

log = logging.getLogger(__name__)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 100000}"


def run_once(
    factory: sessionmaker[Session],
    settings: Settings,
    *,
    worker_id: str | None = None,
    now: dt.datetime | None = None,
    client: Any = None,
) -> dict[str, int]:
    """One pass: fire every due timer, then attempt every due delivery. Returns the counts."""
    registry.load_all()
    node = Node.from_settings(settings)
    use_node(node)
    fired = timers.run_due(factory, worker=worker_id or default_worker_id(), now=now)
    with unit_of_work(factory) as session:  # replayed envelopes older than the window are refused as expired
        inbox.prune_nonces(session, max_age=dt.timedelta(minutes=settings.envelope_max_age_minutes), now=now)
    sent = delivery.run_pending(factory, settings=settings, identity=node.identity, now=now, client=client)
    matched = matching_jobs.run_pending(factory, worker=worker_id or default_worker_id(), now=now)
    return {"timers": fired, "deliveries": sent, "matching_jobs": matched}


def run_forever(
    factory: sessionmaker[Session], settings: Settings, stop: threading.Event, worker_id: str | None = None
) -> None:
    """Poll every ``worker_poll_seconds`` until ``stop`` is set; errors are logged, never fatal."""
    worker_id = worker_id or default_worker_id()
    while not stop.is_set():
        try:
            run_once(factory, settings, worker_id=worker_id)
        except Exception:  # keep the worker alive; the next pass retries
            log.exception("worker pass failed")
        stop.wait(settings.worker_poll_seconds)


def start_thread(factory: sessionmaker[Session], settings: Settings) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(target=run_forever, args=(factory, settings, stop), name="accord-worker", daemon=True)
    thread.start()
    return thread, stop
