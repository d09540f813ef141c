"""Sightings: every match of an indicator becomes part of one STIX 2.1 ``sighting`` of that indicator at this
node — aggregated, linkable to an incident, and shareable back to the indicator's community through the
sharing hub under the indicator's TLP.

Domain code (no HTTP). Functions take a session and never commit: the caller owns the transaction.

``record`` checks every match of a batch before it writes anything, then writes the batch's rows in the
caller's transaction: a refused batch writes nothing, and any later failure leaves the caller to roll
back the whole batch (``accord.db.unit_of_work`` does). Recording the same observed-data for the same
indicator twice counts it once. A match is **suppressed** when every value that matched is on an active
warning list (``warning_lists.check(value, kind=…)`` — kind from the SCO type, see ``value_kind`` — returns
hits with ``list_id``, ``name`` and ``matched``); suppressed observations are kept and counted apart, with
the list that hit each value, and never shared.

Who may see a sighting: the same readers as the indicator it sights, by the hub's TLP policy
(``accord.sharing.tlp.visibility_clause`` over the indicator's TLP, share and producer, per collection);
sightings of indicators known only locally are visible to every signed-in user.

The node's STIX identity (``where_sighted_refs``, ``created_by_ref``): the node has no STIX identity object
of its own, so ``node_identity`` makes one with a deterministic id, UUIDv5 of ``ACCORD_PUBLIC_URL``.

Errors (``accord.core.errors``)::

    NotFound (404)           no such sighting, or one the reader may not see; no such incident (incident list)
    Invalid (422)            a malformed match (field ``matches[i].…``); the hub refused the STIX object
      ReferenceNotFound      ``incident_id`` names no incident
    Conflict (409)           not shareable: suppressed, indicator not in the hub, version already shared,
                             amber/red indicator without a known producer; a concurrent first recording
    Forbidden (403)          the sharer's organisation may not write to the indicator's collection
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import field_validator
from sqlalchemy import ColumnElement, and_, exists, func, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from accord.audit import service as audit
from accord.audit.service import Actor
from accord.core import records
from accord.core.errors import Conflict, Forbidden, Invalid, InvalidCursor, NotFound, Problem, ReferenceNotFound
from accord.core.types import QueryModel
from accord.db import utcnow
from accord.incidents.models import Incident
from accord.matching.models import Sighting, SightingObservation, SightingShare
from accord.matching.types import Match
from accord.sharing import service as sharing
from accord.sharing import tlp
from accord.sharing.models import StixObject

STIX_ID = re.compile(
    r"^(?P<type>[a-z][a-z0-9-]{0,60})--[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
MAX_COUNT = 999_999_999  # STIX 2.1 bound of a sighting's count
MAX_VALUE = 4000  # characters of one evidence value kept
MAX_SUMMARY_HITS = 100  # distinct (list, value) pairs kept on a sighting; each observation keeps all of its own
RESTRICTED = ("amber", "amber+strict", "red")  # levels a share addresses to named recipients
NODE_NAMESPACE = uuid.UUID("6f1d3c52-5a0e-4f59-9f0b-3c1f8d7a2b10")  # namespace of node identity ids
NODE_IDENTITY_CREATED = "2020-01-01T00:00:00.000Z"  # fixed: the identity object is the same on every share
CURSOR_SORT = "-last_seen"
_CHUNK = 900  # ids per IN (...) list, below SQLite's parameter limit


class WarningListsLike(Protocol):
    """What ``record`` needs of the known-benign lists (``accord.matching.warninglists.WarningLists``)."""

    def check(self, value: str, kind: str | None = None) -> Sequence[Any]: ...


# ---------------------------------------------------------------- the node and STIX formatting


def stix_time(moment: dt.datetime) -> str:
    """A STIX timestamp with microseconds (every update of a sighting needs a distinct ``modified``)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def node_identity(settings: Any) -> dict[str, Any]:
    """This node as a STIX ``identity``: id UUIDv5 of its public URL, named after the node's title."""
    url = str(settings.public_url).rstrip("/")
    name = settings.node_title + (f" ({settings.node_state})" if settings.node_state else "")
    return {
        "type": "identity",
        "spec_version": "2.1",
        "id": f"identity--{uuid.uuid5(NODE_NAMESPACE, url)}",
        "created": NODE_IDENTITY_CREATED,
        "modified": NODE_IDENTITY_CREATED,
        "name": name,
        "identity_class": "organization",
        "contact_information": url,
    }


def _default_where_sighted() -> str:
    from accord.config import Settings

    return str(node_identity(Settings())["id"])


def to_stix(sighting: Sighting) -> dict[str, Any]:
    """The sighting as a STIX 2.1 object, marked with the indicator's TLP (unmarked for a local indicator).

    Only observations not suppressed are counted and referenced."""
    obj: dict[str, Any] = {
        "type": "sighting",
        "spec_version": "2.1",
        "id": sighting.stix_id,
        "created": stix_time(sighting.created),
        "modified": stix_time(sighting.modified),
        "created_by_ref": sighting.where_sighted_ref,
        "sighting_of_ref": sighting.indicator_id,
        "where_sighted_refs": [sighting.where_sighted_ref],
        "count": sighting.count,
        "first_seen": stix_time(sighting.first_seen),
        "last_seen": stix_time(sighting.last_seen),
    }
    refs = [o.observed_data_id for o in sighting.observations if not o.suppressed]
    if refs:
        obj["observed_data_refs"] = refs
    if sighting.tlp:
        obj["object_marking_refs"] = [tlp.TLP2_BY_LEVEL[sighting.tlp]]
    return obj


# ---------------------------------------------------------------- where an indicator came from


@dataclass(frozen=True)
class HubPlace:
    """The indicator in the sharing hub: the collection it first arrived in, and its latest version there."""

    collection_id: str
    share_id: int
    tlp: str
    producer_party_id: int | None


def hub_places(session: Session, indicator_ids: Iterable[str]) -> dict[str, HubPlace]:
    """Indicator id → where the hub holds it (indicators only known locally are absent)."""
    ids = sorted(set(indicator_ids))
    # naming the collections lets both databases look the ids up in the (collection_id, stix_id, version) index
    collections = [c.id for c in sharing.list_collections(session)]
    rows: list[Any] = []
    for i in range(0, len(ids) if collections else 0, _CHUNK):
        rows += session.execute(
            select(
                StixObject.stix_id,
                StixObject.collection_id,
                StixObject.share_id,
                StixObject.tlp,
                StixObject.producer_party_id,
                StixObject.date_added,
                StixObject.is_first,
                StixObject.is_latest,
                StixObject.type,
            ).where(
                StixObject.collection_id.in_(collections),
                StixObject.stix_id.in_(ids[i : i + _CHUNK]),
                or_(StixObject.is_first.is_(True), StixObject.is_latest.is_(True)),
            )
        ).all()
    rows = [r for r in rows if r.type == "indicator"]  # not in SQL: the planner would pick the type index
    origin: dict[str, tuple[int, str]] = {}
    for r in rows:
        if r.is_first and (r.stix_id not in origin or r.date_added < origin[r.stix_id][0]):
            origin[r.stix_id] = (r.date_added, r.collection_id)
    return {
        r.stix_id: HubPlace(r.collection_id, r.share_id, r.tlp, r.producer_party_id)
        for r in rows
        if r.is_latest and r.stix_id in origin and origin[r.stix_id][1] == r.collection_id
    }


def _place_changes(sighting: Sighting, place: HubPlace | None) -> bool:
    """Take the indicator's current place in the hub. A sighting never loses a TLP it had: if the indicator
    left the hub, the last known place stays (nobody gains sight of it)."""
    if place is None:
        return False
    new = (place.collection_id, place.share_id, place.tlp, place.producer_party_id)
    old = (sighting.collection_id, sighting.share_id, sighting.tlp, sighting.producer_party_id)
    if new == old:
        return False
    sighting.collection_id, sighting.share_id, sighting.tlp, sighting.producer_party_id = new
    return old[2] != new[2]  # the TLP marking is part of the STIX object


# ---------------------------------------------------------------- recording matches


@dataclass
class RecordResult:
    """What one batch did: the sightings created or changed, and how its observed-data were counted."""

    sightings: list[Sighting] = field(default_factory=list)
    created: int = 0
    observations: int = 0  # new observed-data counted
    suppressed: int = 0  # new observed-data recorded as suppressed
    duplicates: int = 0  # observed-data already recorded for the indicator: not counted again


def _aware(value: Any) -> bool:
    return isinstance(value, dt.datetime) and value.tzinfo is not None


def _match_problems(i: int, m: Any) -> list[Problem]:
    where = f"matches[{i}]"
    if not isinstance(m, Match):
        return [Problem(where, "not a Match")]
    problems = []
    found = STIX_ID.match(m.indicator_id) if isinstance(m.indicator_id, str) else None
    if not found or found["type"] != "indicator":
        problems.append(Problem(f"{where}.indicator_id", "must be a STIX indicator id (indicator--<uuid>)"))
    ods = m.observed_data_ids
    if not ods:
        problems.append(Problem(f"{where}.observed_data_ids", "at least one observed-data id"))
    for od in ods or ():
        found = STIX_ID.match(od) if isinstance(od, str) else None
        if not found or found["type"] != "observed-data":
            problems.append(Problem(f"{where}.observed_data_ids", f"{od!r} is not an observed-data id"))
    if not _aware(m.first_seen) or not _aware(m.last_seen):
        problems.append(Problem(f"{where}.first_seen", "first_seen and last_seen must be aware datetimes (UTC)"))
    elif m.last_seen < m.first_seen:
        problems.append(Problem(f"{where}.last_seen", "must not be before first_seen"))
    if not isinstance(m.count, int) or isinstance(m.count, bool) or not 1 <= m.count <= MAX_COUNT:
        problems.append(Problem(f"{where}.count", f"must be an integer from 1 to {MAX_COUNT:,}"))
    for ev in m.evidence:
        if not all(isinstance(getattr(ev, k, None), str) for k in ("object_type", "path", "value")):
            problems.append(Problem(f"{where}.evidence", "object_type, path and value must be text"))
        elif "\x00" in ev.value or len(ev.value) > MAX_VALUE:
            problems.append(Problem(f"{where}.evidence", f"a value must be text of at most {MAX_VALUE} characters"))
    return problems


def check_matches(matches: Sequence[Any]) -> None:
    """Refuse the whole batch (``Invalid``) if any match is malformed; nothing is written."""
    problems = [p for i, m in enumerate(matches) for p in _match_problems(i, m)]
    if problems:
        raise Invalid(f"{len(problems)} problem(s) in the matches; nothing was recorded", problems)


# the kind of value a warning list is checked as (accord.matching.warninglists.KINDS), by SCO type
VALUE_KINDS = {
    "ipv4-addr": "ip",
    "ipv6-addr": "ip",
    "domain-name": "domain",
    "url": "url",
    "email-addr": "email",
}


def value_kind(object_type: str, path: str) -> str | None:
    """How a warning list should read an evidence value: ``ip``, ``domain``, ``url``, ``email``, ``hash``;
    None lets the lists infer it (the value of a reference, e.g. ``resolves_to_refs[*].value``, is too)."""
    if "hashes" in path:
        return "hash"
    if path != "value":
        return None
    return VALUE_KINDS.get(object_type)


def suppression(match: Match, warning_lists: WarningListsLike | None) -> list[dict[str, Any]] | None:
    """The warning-list hits that suppress ``match`` (every value hit), or None if it is not suppressed."""
    if warning_lists is None or not match.evidence:
        return None
    hits: list[dict[str, Any]] = []
    for ev in match.evidence:
        found = list(warning_lists.check(ev.value, kind=value_kind(ev.object_type, ev.path)) or ())
        if not found:
            return None
        for h in found:
            hit = {
                "list_id": str(getattr(h, "list_id", "")),
                "name": str(getattr(h, "name", "")),
                "value": ev.value,
                "matched": str(getattr(h, "matched", "")),
            }
            if hit not in hits:
                hits.append(hit)
    return hits


def _split(count: int, parts: int) -> list[int]:
    """A match's count over the observed-data it binds (one count for several: split evenly, rest first)."""
    base, rest = divmod(count, parts)
    return [base + (1 if i < rest else 0) for i in range(parts)]


def _bump(sighting: Sighting) -> None:
    """A new ``modified``, strictly later than the last (STIX versions must differ)."""
    now = utcnow()
    last = sighting.modified
    sighting.modified = now if last is None or now > last else last + dt.timedelta(microseconds=1)


def _sightings_for(session: Session, indicator_ids: list[str]) -> dict[str, Sighting]:
    """The sightings of these indicators, locked for this transaction (PostgreSQL; SQLite has one writer)."""
    found: dict[str, Sighting] = {}
    for i in range(0, len(indicator_ids), _CHUNK):
        stmt = (
            select(Sighting)
            .where(Sighting.indicator_id.in_(indicator_ids[i : i + _CHUNK]))
            .order_by(Sighting.id)
            .with_for_update()
        )
        found.update({s.indicator_id: s for s in session.scalars(stmt)})
    return found


def _recorded(session: Session, sighting_ids: list[int]) -> set[tuple[int, str]]:
    seen: set[tuple[int, str]] = set()
    for i in range(0, len(sighting_ids), _CHUNK):
        stmt = select(SightingObservation.sighting_id, SightingObservation.observed_data_id).where(
            SightingObservation.sighting_id.in_(sighting_ids[i : i + _CHUNK])
        )
        seen |= {(sid, od) for sid, od in session.execute(stmt)}
    return seen


def _new(indicator_id: str, where: str, first: Match) -> Sighting:
    now = utcnow()
    return Sighting(
        stix_id=f"sighting--{uuid.uuid4()}",
        indicator_id=indicator_id,
        where_sighted_ref=where,
        count=0,
        suppressed_count=0,
        first_seen=first.first_seen.astimezone(dt.UTC),
        last_seen=first.last_seen.astimezone(dt.UTC),
        suppressed=False,
        suppressed_by=[],
        created=now,
        modified=now,
    )


def _aggregate(session: Session, sighting_ids: list[int]) -> dict[int, dict[bool, tuple[int, Any, Any]]]:
    """Per sighting and suppressed flag: (sum of counts, first seen, last seen) over its observations."""
    out: dict[int, dict[bool, tuple[int, Any, Any]]] = {}
    for i in range(0, len(sighting_ids), _CHUNK):
        stmt = (
            select(
                SightingObservation.sighting_id,
                SightingObservation.suppressed,
                func.sum(SightingObservation.count),
                func.min(SightingObservation.first_seen),
                func.max(SightingObservation.last_seen),
            )
            .where(SightingObservation.sighting_id.in_(sighting_ids[i : i + _CHUNK]))
            .group_by(SightingObservation.sighting_id, SightingObservation.suppressed)
        )
        for sid, suppressed, total, first, last in session.execute(stmt):
            out.setdefault(sid, {})[bool(suppressed)] = (int(total or 0), first, last)
    return out


def _apply(sighting: Sighting, parts: dict[bool, tuple[int, Any, Any]], hits: list[dict[str, Any]]) -> bool:
    """Set the aggregate from its observations; True if anything changed."""
    counted, quiet = parts.get(False), parts.get(True)
    span = counted or quiet
    assert span is not None  # every sighting has at least one observation
    first, last = (v if v.tzinfo else v.replace(tzinfo=dt.UTC) for v in span[1:])
    merged = list(sighting.suppressed_by or [])
    for hit in ({k: v for k, v in h.items() if k != "matched"} for h in hits):
        if len(merged) < MAX_SUMMARY_HITS and hit not in merged:
            merged.append(hit)
    new = (counted[0] if counted else 0, quiet[0] if quiet else 0, first, last, counted is None, merged)
    old = (
        sighting.count,
        sighting.suppressed_count,
        sighting.first_seen,
        sighting.last_seen,
        sighting.suppressed,
        sighting.suppressed_by,
    )
    if new == old:
        return False
    (
        sighting.count,
        sighting.suppressed_count,
        sighting.first_seen,
        sighting.last_seen,
        sighting.suppressed,
        sighting.suppressed_by,
    ) = new
    return True


def _create(session: Session, batch: list[Match], missing: list[str], where: str | None) -> list[Sighting]:
    """New sightings for the indicators seen for the first time (their aggregate is set once observed)."""
    first: dict[str, Match] = {}
    for m in reversed(batch):
        first[m.indicator_id] = m
    node = where or (_default_where_sighted() if missing else "")
    created = [_new(indicator_id, node, first[indicator_id]) for indicator_id in missing]
    session.add_all(created)
    _flush(session, "another batch recorded one of these indicators at the same moment; record again")
    return created


def _flush(session: Session, conflict: str) -> None:
    """Flush; a unique-constraint race with a concurrent batch becomes a 409 ``conflict`` (record again)."""
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(conflict) from exc


def _observe(
    session: Session,
    judged: list[tuple[Match, list[dict[str, Any]] | None]],
    sightings: dict[str, Sighting],
    result: RecordResult,
) -> dict[int, list[dict[str, Any]]]:
    """Add the observed-data not yet recorded for each indicator; returns sighting id → new warning-list hits."""
    seen = _recorded(session, [s.id for s in sightings.values()])
    touched: dict[int, list[dict[str, Any]]] = {}
    for m, hits in judged:
        s = sightings[m.indicator_id]
        ods = list(dict.fromkeys(m.observed_data_ids))
        evidence = [{"object_type": e.object_type, "path": e.path, "value": e.value} for e in m.evidence]
        for od, share in zip(ods, _split(m.count, len(ods)), strict=True):
            if (s.id, od) in seen:
                result.duplicates += 1
                continue
            seen.add((s.id, od))
            session.add(
                SightingObservation(
                    sighting_id=s.id,
                    observed_data_id=od,
                    count=share,
                    first_seen=m.first_seen.astimezone(dt.UTC),
                    last_seen=m.last_seen.astimezone(dt.UTC),
                    evidence=evidence,
                    suppressed=hits is not None,
                    suppressed_by=hits or [],
                )
            )
            touched.setdefault(s.id, []).extend(hits or [])
            if hits is None:
                result.observations += 1
            else:
                result.suppressed += 1
    _flush(session, "another batch recorded the same observed-data at the same moment; record again")
    return touched


def record(
    session: Session,
    matches: Iterable[Match],
    *,
    warning_lists: WarningListsLike | None = None,
    actor: Actor | None,
    where_sighted: str | None = None,
) -> RecordResult:
    """Aggregate a batch of matches into sightings (one per indicator), in the caller's transaction.

    ``where_sighted``: this node's identity id (default: ``node_identity`` of the environment's settings);
    ``actor`` None: the node itself (``audit.SYSTEM``).
    Observed-data already recorded for an indicator are not counted again. Raises ``Invalid`` (nothing
    written) for a malformed match, ``Conflict`` if another transaction recorded the same new indicator
    or observed-data at the same moment (roll back and record the batch again)."""
    batch = list(matches)
    check_matches(batch)
    result = RecordResult()
    if not batch:
        return result
    judged = [(m, suppression(m, warning_lists)) for m in batch]  # lists are asked before anything is written
    indicator_ids = sorted({m.indicator_id for m in batch})
    places = hub_places(session, indicator_ids)
    sightings = _sightings_for(session, indicator_ids)
    missing = [i for i in indicator_ids if i not in sightings]
    created = _create(session, batch, missing, where_sighted)
    sightings.update({s.indicator_id: s for s in created})
    fresh = {s.id for s in created}
    result.created = len(created)
    touched = _observe(session, judged, sightings, result)
    parts = _aggregate(session, list(touched))
    for s in sightings.values():
        changed = s.id in touched and _apply(s, parts[s.id], touched[s.id])
        changed = _place_changes(s, places.get(s.indicator_id)) or changed
        if changed and s.id not in fresh:  # a new sighting's first version is the one it is created with
            _bump(s)
        if s.id in touched or changed:
            result.sightings.append(s)
    session.flush()
    summary = {k: getattr(result, k) for k in ("created", "observations", "suppressed", "duplicates")}
    summary["sightings"] = len(result.sightings)
    audit.record(session, actor or audit.SYSTEM, "record", "sightings", None, None, summary)
    return result


# ---------------------------------------------------------------- reading


class SightingFilter(QueryModel):
    """Filters of the sighting list: all given must hold."""

    indicator: str | None = None  # indicator STIX id
    incident: int | None = None
    suppressed: bool | None = None
    shared: bool | None = None
    since: dt.datetime | None = None  # last seen at or after

    @field_validator("indicator")
    @classmethod
    def _indicator(cls, value: str | None) -> str | None:
        if value is not None:
            found = STIX_ID.match(value)
            if not found or found["type"] != "indicator":
                raise ValueError("must be a STIX indicator id (indicator--<uuid>)")
        return value

    @field_validator("incident")
    @classmethod
    def _incident(cls, value: int | None) -> int | None:
        if value is not None and not 1 <= value <= 2**31 - 1:
            raise ValueError("must be an incident id")
        return value

    @field_validator("since")
    @classmethod
    def _since(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is None:
            return None
        # a time without zone is taken as UTC; stored times are UTC, and SQLite compares them as text
        try:
            return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
        except OverflowError:
            raise ValueError("out of range") from None


def visibility(session: Session, user: Any) -> ColumnElement[bool]:
    """SQL predicate: the sightings ``user`` may see (those of indicators they may see, and local ones).

    ``user`` None means the node itself (CLI, matching runs): everything."""
    if user is None:
        return true()
    clauses: list[Any] = [Sighting.tlp.is_(None)]
    for cid in session.scalars(select(Sighting.collection_id).where(Sighting.collection_id.is_not(None)).distinct()):
        try:
            coll = sharing.get_collection(session, cid)
        except NotFound:
            continue  # the collection is gone: its TLP context with it, so nobody sees these sightings
        rdr = sharing.reader(session, user, coll)
        clauses.append(and_(Sighting.collection_id == cid, tlp.visibility_clause(rdr, Sighting)))
    return or_(*clauses)


def _filtered(session: Session, f: SightingFilter, user: Any) -> Any:
    stmt = select(Sighting).where(visibility(session, user))
    if f.indicator is not None:
        stmt = stmt.where(Sighting.indicator_id == f.indicator)
    if f.incident is not None:
        stmt = stmt.where(Sighting.incident_id == f.incident)
    if f.suppressed is not None:
        stmt = stmt.where(Sighting.suppressed.is_(f.suppressed))
    if f.shared is not None:
        shared = exists().where(SightingShare.sighting_id == Sighting.id)
        stmt = stmt.where(shared if f.shared else ~shared)
    if f.since is not None:
        stmt = stmt.where(Sighting.last_seen >= f.since)
    return stmt


def list_sightings(
    session: Session,
    *,
    user: Any,
    filters: SightingFilter | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> records.Page:
    """One page of the sightings ``user`` may see, most recently seen first (keyset on last_seen, id)."""
    stmt = _filtered(session, filters or SightingFilter(), user)
    if cursor:
        raw_value, raw_key = records.decode_cursor(cursor, CURSOR_SORT)
        try:
            value = dt.datetime.fromisoformat(str(raw_value))
            key = int(raw_key)
            if value.tzinfo is None or not 0 <= key < 2**31:
                raise ValueError("not a cursor this server issued")
            value = value.astimezone(dt.UTC)
        except (TypeError, ValueError, OverflowError) as exc:
            raise InvalidCursor("cursor is malformed", [Problem("cursor", "bad values")]) from exc
        stmt = stmt.where(or_(Sighting.last_seen < value, and_(Sighting.last_seen == value, Sighting.id < key)))
    rows = list(session.scalars(stmt.order_by(Sighting.last_seen.desc(), Sighting.id.desc()).limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = records.encode_cursor(CURSOR_SORT, rows[-1].last_seen.isoformat(), rows[-1].id)
    return records.Page(rows, next_cursor)


def count_sightings(session: Session, *, user: Any, filters: SightingFilter | None = None) -> int:
    stmt = _filtered(session, filters or SightingFilter(), user)
    return int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


def get_sighting(session: Session, key: int | str, *, user: Any = None) -> Sighting:
    """A sighting by row id or STIX id; ``NotFound`` if there is none ``user`` may see."""
    if isinstance(key, int) or (isinstance(key, str) and key.isdecimal() and len(key) < 10):
        where = Sighting.id == int(key)
    elif isinstance(key, str) and key.startswith("sighting--") and len(key) <= 80:
        where = Sighting.stix_id == key
    else:
        raise NotFound(f"no sighting {key!r}")
    found = session.scalar(select(Sighting).where(where, visibility(session, user)))
    if found is None:
        raise NotFound(f"no sighting {key!r} that you may see")
    return found


def get_incident(session: Session, incident_id: int) -> Incident:
    incident = session.get(Incident, incident_id) if 1 <= incident_id <= 2**31 - 1 else None
    if incident is None:
        raise NotFound(f"no incident with id {incident_id}")
    return incident


# ---------------------------------------------------------------- the indicator, as the reader may see it


@dataclass(frozen=True)
class IndicatorView:
    """An indicator as a page shows it: name and pattern only when the reader may see the indicator."""

    stix_id: str
    in_hub: bool
    visible: bool = False
    name: str = ""
    pattern: str = ""
    tlp: str | None = None
    collection_id: str | None = None
    collection_title: str | None = None


def indicator_views(session: Session, indicator_ids: Iterable[str], *, user: Any) -> dict[str, IndicatorView]:
    """Indicator id → what ``user`` may see of it in the hub (through the hub's own TLP-filtered queries)."""
    ids = sorted(set(indicator_ids))
    places = hub_places(session, ids)
    views = {i: IndicatorView(i, in_hub=False) for i in ids if i not in places}
    by_coll: dict[str, list[str]] = {}
    for i, place in places.items():
        by_coll.setdefault(place.collection_id, []).append(i)
    for cid, wanted in by_coll.items():
        coll = sharing.get_collection(session, cid)
        rdr = sharing.reader(session, user, coll)
        page = sharing.query_objects(session, coll, rdr, sharing.ObjectQuery(ids=wanted), limit=len(wanted))
        bodies = {r.stix_id: json.loads(sharing.render(r, rdr)) for r in page.rows}
        for i in wanted:
            body = bodies.get(i)
            views[i] = IndicatorView(
                i,
                in_hub=True,
                visible=body is not None,
                name=str((body or {}).get("name") or ""),
                pattern=str((body or {}).get("pattern") or ""),
                tlp=places[i].tlp if body is not None else None,
                collection_id=cid if body is not None else None,
                collection_title=coll.title if body is not None else None,
            )
    return views


def indicator_view(session: Session, indicator_id: str, *, user: Any) -> IndicatorView:
    """One indicator; ``NotFound`` when it is in the hub but hidden from ``user``."""
    found = STIX_ID.match(indicator_id)
    if not found or found["type"] != "indicator":
        raise NotFound(f"{indicator_id!r} is not an indicator id")
    view = indicator_views(session, [indicator_id], user=user)[indicator_id]
    if view.in_hub and not view.visible:
        raise NotFound(f"no indicator {indicator_id} that you may see")
    return view


# ---------------------------------------------------------------- incidents


def link_incident(session: Session, sighting: Sighting, *, incident_id: int, actor: Actor) -> Sighting:
    """Link the sighting to an incident (replacing any earlier link). The STIX object does not change."""
    if not 1 <= incident_id <= 2**31 - 1 or session.get(Incident, incident_id) is None:
        raise ReferenceNotFound("unknown incident", [Problem("incident_id", f"no incident with id {incident_id}")])
    before = sighting.incident_id
    if before != incident_id:
        sighting.incident_id = incident_id
        session.flush()
        audit.record(
            session, actor, "link-incident", "sightings", sighting.stix_id, {"incident_id": before},
            {"incident_id": incident_id},
        )  # fmt: skip
    return sighting


def unlink_incident(session: Session, sighting: Sighting, *, actor: Actor) -> Sighting:
    before = sighting.incident_id
    if before is not None:
        sighting.incident_id = None
        session.flush()
        audit.record(
            session, actor, "unlink-incident", "sightings", sighting.stix_id, {"incident_id": before},
            {"incident_id": None},
        )  # fmt: skip
    return sighting


# ---------------------------------------------------------------- sharing back to the community


@dataclass(frozen=True)
class _Sharer:
    """The organisation sharing, as the hub's rights check reads a user."""

    party_id: int | None


def share_refusal(session: Session, sighting: Sighting) -> str | None:
    """Why the sighting cannot be shared now (for disabling a button), or None. Rights are checked on share."""
    if sighting.suppressed or sighting.count == 0:
        return "every observation of it is on a warning list (suppressed sightings are never shared)"
    place = hub_places(session, [sighting.indicator_id]).get(sighting.indicator_id)
    if place is None:
        if sighting.tlp is None:
            return "its indicator is known only to this node (not in the sharing hub), so it has no community"
        return "its indicator is no longer in the sharing hub"
    if place.tlp in RESTRICTED and place.producer_party_id is None:
        return f"the indicator is TLP:{place.tlp.upper()} and its producer is unknown, so nobody could receive it"
    if place.tlp != sighting.tlp or place.collection_id != sighting.collection_id:
        return None  # the indicator changed: the next share carries a new version
    last = sighting.shares[-1] if sighting.shares else None
    if last is not None and last.version == stix_time(sighting.modified) and last.collection_id == place.collection_id:
        return "this version is already shared; it changes when new observations are recorded"
    return None


def share(
    session: Session, sighting: Sighting, *, actor: Actor, party_id: int | None, identity: dict[str, Any] | None = None
) -> SightingShare:
    """Share the sighting into the hub collection its indicator came from, through the hub's ingest.

    Marked with the indicator's TLP (TLP 2.0 marking), so the hub's enforcement applies and the sighting is
    never more visible than the indicator; for AMBER, AMBER+STRICT and RED it is addressed to the indicator's
    producer. ``party_id``: the sharer's organisation, which needs write rights in that collection.
    ``identity``: this node's identity object (``node_identity``), shared alongside so ``where_sighted_refs``
    resolves."""
    place = hub_places(session, [sighting.indicator_id]).get(sighting.indicator_id)
    if _place_changes(sighting, place):
        _bump(sighting)
    refusal = share_refusal(session, sighting)
    if refusal is not None:
        raise Conflict(f"this sighting cannot be shared: {refusal}", [Problem("sighting", refusal)])
    assert sighting.collection_id is not None and sighting.tlp is not None  # share_refusal checked the place
    coll = sharing.get_collection(session, sighting.collection_id)
    if party_id is None or not sharing.rights(session, _Sharer(party_id), coll).can_write:
        raise Forbidden(f"your organisation may not add objects to the collection {coll.title!r}")
    recipients = [sighting.producer_party_id] if sighting.tlp in RESTRICTED else None
    obj = to_stix(sighting)
    objects = [obj]
    if identity is not None:
        objects.append({**identity, "object_marking_refs": obj["object_marking_refs"]})
    result = sharing.ingest(
        session,
        coll,
        objects,
        actor=actor,
        producer_party_id=party_id,
        provenance=f"user:{actor.name}",
        unmarked="red",
        recipients=recipients,
        user_id=actor.user_id,
    )
    if result.failures:
        problems = [Problem(f["id"] or "object", f["message"]) for f in result.failures]
        raise Invalid("the sharing hub refused the sighting; nothing was shared", problems)
    row = SightingShare(
        sighting=sighting,
        collection_id=coll.id,
        status_id=result.status_id,
        version=obj["modified"],
        tlp=sighting.tlp,
        recipients=[p for p in recipients or () if p is not None],
        shared_by=actor.name,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "share",
        "sightings",
        sighting.stix_id,
        None,
        {"collection": coll.id, "version": row.version, "tlp": row.tlp, "recipients": row.recipients},
    )
    return row


# ---------------------------------------------------------------- JSON shapes (API and pages)


def sighting_json(s: Sighting, *, detail: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": s.id,
        "stix_id": s.stix_id,
        "indicator_id": s.indicator_id,
        "where_sighted_ref": s.where_sighted_ref,
        "collection_id": s.collection_id,
        "tlp": s.tlp,
        "count": s.count,
        "suppressed_count": s.suppressed_count,
        "first_seen": stix_time(s.first_seen),
        "last_seen": stix_time(s.last_seen),
        "created": stix_time(s.created),
        "modified": stix_time(s.modified),
        "suppressed": s.suppressed,
        "suppressed_by": list(s.suppressed_by or []),
        "incident_id": s.incident_id,
        "shared": bool(s.shares),
    }
    if detail:
        out["observations"] = [
            {
                "observed_data_id": o.observed_data_id,
                "count": o.count,
                "first_seen": stix_time(o.first_seen),
                "last_seen": stix_time(o.last_seen),
                "evidence": o.evidence,
                "suppressed": o.suppressed,
                "suppressed_by": o.suppressed_by,
            }
            for o in s.observations
        ]
        out["shares"] = [
            {
                "shared_at": stix_time(h.shared_at),
                "collection_id": h.collection_id,
                "version": h.version,
                "tlp": h.tlp,
                "recipients": h.recipients,
                "shared_by": h.shared_by,
                "status_id": h.status_id,
            }
            for h in s.shares
        ]
    return out
