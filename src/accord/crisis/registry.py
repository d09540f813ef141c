"""Handlers the crisis machinery dispatches to, registered by the modules that own them.

* ``TIMERS[kind](session, timer, now) -> str`` applies a due timer's effect and returns what it did; it runs
  in the transaction that claims the timer.
* ``INBOX[kind](session, peer, payload, now) -> dict`` processes a verified envelope from a peer node; what
  it returns is added to the signed receipt. It runs in the transaction that records the envelope.
* ``LINKS[kind](session, claims, now) -> str`` acts on a signed acknowledgement link this node issued.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

TimerHandler = Callable[[Session, Any, dt.datetime], str]
InboxHandler = Callable[[Session, Any, dict[str, Any], dt.datetime], dict[str, Any]]
LinkHandler = Callable[[Session, dict[str, Any], dt.datetime], str]

TIMERS: dict[str, TimerHandler] = {}
INBOX: dict[str, InboxHandler] = {}
LINKS: dict[str, LinkHandler] = {}


def timer(kind: str) -> Callable[[TimerHandler], TimerHandler]:
    def register(fn: TimerHandler) -> TimerHandler:
        TIMERS[kind] = fn
        return fn

    return register


def inbox(kind: str) -> Callable[[InboxHandler], InboxHandler]:
    def register(fn: InboxHandler) -> InboxHandler:
        INBOX[kind] = fn
        return fn

    return register


def link(kind: str) -> Callable[[LinkHandler], LinkHandler]:
    def register(fn: LinkHandler) -> LinkHandler:
        LINKS[kind] = fn
        return fn

    return register


def load_all() -> None:
    """Import every module that registers handlers (the worker, the inbox and the link page call this)."""
    from accord.crisis import ping, service  # noqa: F401
