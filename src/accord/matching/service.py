"""Matching at a node: the active indicators of the sharing hub compiled once, new observations matched as they
arrive, stored observations re-matched when new indicators arrive (``jobs``), every match recorded as a
sighting.

"Active" indicators are the latest versions of ``indicator`` objects in any hub collection with
``pattern_type`` ``stix``, not revoked, and valid now (``valid_from`` ≤ now < ``valid_until`` when given).
Observations are the hub's ``observed-data`` objects with the cyber-observable objects their ``object_refs``
name in the same collection. Matching runs in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accord.audit.service import Actor
from accord.matching.engine import Matcher, Rejected
from accord.matching.inputs import ImportStats, Source, iter_observations
from accord.matching.pattern import parse_timestamp
from accord.matching.types import Match, Observation
from accord.sharing.models import StixObject

BATCH = 500


@dataclass(frozen=True)
class Indicator:
    id: str
    pattern: str
    name: str
    collection_id: str
    tlp: str


def _valid_now(body: dict[str, Any], now: dt.datetime) -> bool:
    try:
        start = body.get("valid_from")
        end = body.get("valid_until")
        if start and parse_timestamp(start, ignore_case=True) > now:
            return False
        return not (end and parse_timestamp(end, ignore_case=True) <= now)
    except ValueError:
        return False


def active_indicators(
    session: Session, *, now: dt.datetime | None = None, ids: Iterable[str] | None = None
) -> list[Indicator]:
    """The hub's active STIX-pattern indicators (one per indicator id: the latest version seen anywhere)."""
    now = now or dt.datetime.now(dt.UTC)
    q = select(StixObject.stix_id, StixObject.collection_id, StixObject.tlp, StixObject.body, StixObject.revoked).where(
        StixObject.type == "indicator", StixObject.is_latest.is_(True)
    )
    if ids is not None:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return []
        q = q.where(StixObject.stix_id.in_(wanted))
    found: dict[str, Indicator] = {}
    for stix_id, coll, tlp, body, revoked in session.execute(q.order_by(StixObject.id)):
        if revoked:
            found.pop(stix_id, None)
            continue
        try:
            doc = json.loads(body)
        except ValueError:
            continue
        if doc.get("pattern_type") != "stix" or not isinstance(doc.get("pattern"), str) or not _valid_now(doc, now):
            continue
        found[stix_id] = Indicator(stix_id, doc["pattern"], str(doc.get("name") or ""), coll, tlp)
    return list(found.values())


class _Cache:
    """The compiled matcher of the active indicators. New indicator versions are compiled into it one by one
    (compiling 100,000 patterns takes some 25 s: an ingest must not cost that); it is rebuilt whole when
    indicators were deleted, for another database, and every hour (validity windows)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.base: Any = None
        self.last_id = 0
        self.count = 0
        self.matcher: Matcher | None = None

    def get(self, session: Session) -> Matcher:
        base = (str(session.get_bind().url), dt.datetime.now(dt.UTC).strftime("%Y%m%d%H"))
        indicators = select(StixObject.id).where(StixObject.type == "indicator")
        last_id = session.scalar(select(func.max(StixObject.id)).where(StixObject.type == "indicator")) or 0
        count = session.scalar(select(func.count()).select_from(indicators.subquery())) or 0
        with self.lock:
            if self.matcher is None or base != self.base or count < self.count or last_id < self.last_id:
                self.matcher = Matcher((i.id, i.pattern) for i in active_indicators(session))
            elif last_id != self.last_id:
                changed = list(session.scalars(
                    select(StixObject.stix_id).where(StixObject.type == "indicator", StixObject.id > self.last_id)
                ))  # fmt: skip
                active = {i.id: i for i in active_indicators(session, ids=changed)}
                for sid in dict.fromkeys(changed):
                    if sid in active:
                        self.matcher.add(sid, active[sid].pattern)
                    else:
                        self.matcher.remove(sid)
            self.base, self.last_id, self.count = base, last_id, count
            return self.matcher


_cache = _Cache()


def node_matcher(session: Session) -> Matcher:
    return _cache.get(session)


# ---------------------------------------------------------------- observations stored in the hub


def observation_from(sdo: dict[str, Any], objects: dict[str, dict[str, Any]]) -> Observation | None:
    """An Observation from an observed-data object and a pool of SCOs (None if its times or count are bad)."""
    try:
        first = parse_timestamp(sdo["first_observed"])
        last = parse_timestamp(sdo["last_observed"])
        n = sdo["number_observed"]
    except (KeyError, TypeError, ValueError):
        return None
    refs = sdo.get("object_refs")
    if not isinstance(n, int) or isinstance(n, bool) or n < 1 or first > last or not isinstance(refs, list):
        return None
    return Observation(sdo["id"], first, last, n, {r: objects[r] for r in refs if r in objects}, sdo)


def _observations(session: Session, rows: Sequence[tuple[str, str]]) -> list[Observation]:
    """Observations from (collection id, observed-data JSON) rows, each with its SCOs from its collection."""
    sdos = [(coll, json.loads(body)) for coll, body in rows]
    refs: dict[str, set[str]] = {}
    for coll, sdo in sdos:
        for r in sdo.get("object_refs") or ():
            if isinstance(r, str):
                refs.setdefault(coll, set()).add(r)
    pool: dict[tuple[str, str], dict[str, Any]] = {}
    for coll, ids in refs.items():
        wanted = sorted(ids)
        for i in range(0, len(wanted), 900):
            for sid, body in session.execute(
                select(StixObject.stix_id, StixObject.body).where(
                    StixObject.collection_id == coll,
                    StixObject.is_latest.is_(True),
                    StixObject.stix_id.in_(wanted[i : i + 900]),
                )
            ):
                pool[(coll, sid)] = json.loads(body)
    out = []
    for coll, sdo in sdos:
        objects = {r: pool[(coll, r)] for r in sdo.get("object_refs") or () if (coll, r) in pool}
        obs = observation_from(sdo, objects)
        if obs is not None:
            out.append(obs)
    return out


def _observed_data() -> Any:
    return select(StixObject.id, StixObject.collection_id, StixObject.body).where(
        StixObject.type == "observed-data", StixObject.is_latest.is_(True), StixObject.revoked.is_(False)
    )


def observation_batch(session: Session, *, after: int = 0, batch: int = BATCH) -> tuple[list[Observation], int] | None:
    """The next ``batch`` stored observed-data (latest versions) after the stored object ``after`` (in storage
    order), each with its SCOs from the same collection, and the last stored object read; None when none is left."""
    rows = session.execute(_observed_data().where(StixObject.id > after).order_by(StixObject.id).limit(batch)).all()
    if not rows:
        return None
    return _observations(session, [(coll, body) for _, coll, body in rows]), rows[-1][0]


def observations_by_id(session: Session, collection_id: str, stix_ids: Sequence[str]) -> list[Observation]:
    """The latest versions of some observed-data of one collection, with their SCOs."""
    rows: list[tuple[str, str]] = []
    for i in range(0, len(stix_ids), 900):
        rows += [
            (coll, body)
            for _, coll, body in session.execute(
                _observed_data().where(
                    StixObject.collection_id == collection_id, StixObject.stix_id.in_(list(stix_ids[i : i + 900]))
                )
            )
        ]
    return _observations(session, rows)


# ---------------------------------------------------------------- matching and recording


@dataclass
class MatchReport:
    observations: int = 0
    matches: int = 0
    recorded: Any = None  # sightings.RecordResult of the last batch, when recorded
    sightings_new: int = 0
    sightings_updated: int = 0
    suppressed: int = 0
    by_indicator: dict[str, int] = field(default_factory=dict)
    rejected: list[Rejected] = field(default_factory=list)


def match_and_record(
    session: Session,
    batches: Iterable[Sequence[Observation]],
    *,
    matcher: Matcher,
    actor: Actor | None,
    warning_lists: Any = None,
    record: bool = True,
    on_batch: Callable[[int], None] | None = None,
    collect: list[Match] | None = None,
) -> MatchReport:
    """Match batches of observations (``Matcher.match_batch`` within each batch) and record every match as a
    sighting (``sightings.record``) unless ``record`` is False."""
    from accord.matching import sightings

    report = MatchReport(rejected=list(matcher.rejected))
    for batch in batches:
        found = list(matcher.match_batch(batch))
        report.observations += len(batch)
        report.matches += len(found)
        for m in found:
            report.by_indicator[m.indicator_id] = report.by_indicator.get(m.indicator_id, 0) + 1
        if collect is not None:
            collect.extend(found)
        if record and found:
            result = sightings.record(session, found, warning_lists=warning_lists, actor=actor)
            report.recorded = result
            report.sightings_new += result.created
            report.sightings_updated += len(result.sightings) - result.created
            report.suppressed += result.suppressed
        if on_batch is not None:
            on_batch(len(batch))
    return report


@dataclass
class MatchRun:
    """One run of :func:`match_inputs`: what was matched and recorded, which matches warning lists suppressed
    (counted by list), and how many input lines were left out (``inputs.ImportStats.skipped``)."""

    report: MatchReport
    suppressed_by: dict[str, int]
    skipped_lines: int
    recorded: bool

    @property
    def sightings_created(self) -> int:
        return self.report.sightings_new if self.recorded else 0

    @property
    def sightings_updated(self) -> int:
        return self.report.sightings_updated if self.recorded else 0

    def by_indicator(self) -> list[tuple[str, int]]:
        """(indicator id, matches), most matched first."""
        return sorted(self.report.by_indicator.items(), key=lambda kv: (-kv[1], kv[0]))


def match_inputs(
    session: Session,
    sources: Iterable[Source],
    *,
    kind: str = "auto",
    actor: Actor | None,
    matcher: Matcher | None = None,
    warninglists: str | None = None,
    record: bool = True,
    batch: int | None = None,
    on_line: Callable[[int], None] | None = None,
) -> MatchRun:
    """Observations read from ``sources`` (each a path, a text or lines: ``inputs.iter_observations``, in format
    ``kind``) matched by ``matcher`` (default: the node's active indicators) in batches of ``batch`` observations
    (None: a whole source at once), and recorded as sightings unless ``record`` is False.

    ``warninglists``: ``default``, ``all``, ``none`` or list ids (None: the node's ``ACCORD_WARNINGLISTS``). A bad
    line raises one Invalid after its source's last line: with a whole source in one batch, before anything of it
    is matched. Nothing is committed or rolled back: the caller owns the transaction."""
    wl = default_warning_lists() if warninglists is None else warninglists_from(warninglists)
    stats = ImportStats()

    def batches() -> Iterator[list[Observation]]:
        for source in sources:
            pending: list[Observation] = []
            for obs in iter_observations(source, kind, on_line=on_line, stats=stats):
                pending.append(obs)
                if batch is not None and len(pending) >= batch:
                    yield pending
                    pending = []
            if pending:
                yield pending

    matcher = matcher if matcher is not None else node_matcher(session)
    collected: list[Match] = []
    report = match_and_record(
        session, batches(), matcher=matcher, actor=actor, warning_lists=wl, record=record, collect=collected
    )
    return MatchRun(report, suppressed_by(collected, wl), stats.skipped, record)


def default_warning_lists() -> Any:
    """The node's warning lists (``ACCORD_WARNINGLISTS``), loaded once."""
    global _WL, _WL_CHOICE
    from accord.config import Settings

    choice = Settings().warninglists
    if choice != _WL_CHOICE:
        _WL, _WL_CHOICE = warninglists_from(choice), choice
    return _WL


_WL: Any = None
_WL_CHOICE: str | None = None


def warninglists_from(choice: str, module: Any = None) -> Any:
    """``default``, ``all``, ``none`` or a comma-separated list of list ids → a WarningLists (None for none)."""
    if module is None:
        from accord.matching import warninglists as module
    choice = (choice or "default").strip()
    if choice == "none":
        return None
    if choice == "default":
        return module.WarningLists.default()
    if choice == "all":
        return module.WarningLists("all")
    return module.WarningLists([c.strip() for c in choice.split(",") if c.strip()])


def suppressed_by(matches: Iterable[Match], warning_lists: Any) -> dict[str, int]:
    """Matches every value of which is on a warning list, counted by the first list that holds them."""
    from accord.matching.sightings import suppression

    counts: dict[str, int] = {}
    if warning_lists is None:
        return counts
    for m in matches:
        hits = suppression(m, warning_lists)
        if hits:
            counts[hits[0]["list_id"]] = counts.get(hits[0]["list_id"], 0) + 1
    return counts
