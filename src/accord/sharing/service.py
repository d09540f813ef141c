"""The STIX 2.1 store: ingest with validation, versions and provenance; queries filtered by TLP; deletion.

Storage knows nothing of TAXII: it returns rows and keyset positions; ``accord.sharing.taxii`` builds
envelopes, headers and tokens. Visibility is always decided by ``accord.sharing.tlp``.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, or_, select, tuple_, update
from sqlalchemy.orm import Session

from accord.audit import service as audit
from accord.audit.service import Actor
from accord.auth.models import Party, PartyClient
from accord.bulk import insert_rows
from accord.core.errors import Forbidden, Invalid, NotFound, Problem
from accord.sharing import tlp
from accord.sharing.models import (
    Collection,
    Community,
    CommunityMember,
    Share,
    ShareRecipient,
    StixDeletion,
    StixObject,
    TaxiiStatus,
)

# ---------------------------------------------------------------- timestamps


def parse_ts(value: str) -> dt.datetime:
    """A STIX/TAXII timestamp (``2016-01-01T01:01:01.000Z``, any sub-second precision) as aware UTC."""
    if not isinstance(value, str) or not value.endswith("Z") or "T" not in value:
        raise ValueError(f"not a STIX timestamp: {value!r}")
    core = value[:-1]
    if "." in core:
        head, frac = core.split(".", 1)
        if not frac.isdecimal():
            raise ValueError(f"not a STIX timestamp: {value!r}")
        core = f"{head}.{(frac + '000000')[:6]}"
    return dt.datetime.fromisoformat(core).replace(tzinfo=dt.UTC)


def canonical(value: str) -> str:
    """Timestamps compared as text must share one format: microsecond precision, Z."""
    return parse_ts(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def display(version: str) -> str:
    """A canonical timestamp shown with millisecond precision when that loses nothing (as most STIX is)."""
    if version.endswith("000Z") and len(version) == 27:
        return version[:-4] + "Z"
    return version


def micros_to_ts(micros: int) -> str:
    return dt.datetime.fromtimestamp(micros / 1_000_000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def ts_to_micros(value: str) -> int:
    moment = parse_ts(value)
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


# ---------------------------------------------------------------- parties, communities, collections


def party_of(user: Any) -> int | None:
    return getattr(user, "party_id", None)


def create_party(
    session: Session,
    *,
    key: str,
    name: str,
    state_code: str | None = None,
    organisation_code: str | None = None,
    actor: Actor = audit.SYSTEM,
) -> Party:
    if session.scalar(select(Party.id).where(Party.key == key)) is not None:
        raise Invalid("party exists", [Problem("key", f"{key!r} is taken")])
    party = Party(key=key, name=name, state_code=state_code, organisation_code=organisation_code)
    session.add(party)
    session.flush()
    audit.record(session, actor, "create", "parties", key, None, {"name": name})
    return party


def declare_client(session: Session, party_id: int, client_id: int, *, actor: Actor = audit.SYSTEM) -> None:
    session.merge(PartyClient(party_id=party_id, client_id=client_id))
    session.flush()
    audit.record(session, actor, "declare-client", "parties", party_id, None, {"client": client_id})


def create_community(
    session: Session, *, name: str, description: str | None = None, actor: Actor = audit.SYSTEM
) -> Community:
    if session.scalar(select(Community.id).where(Community.name == name)) is not None:
        raise Invalid("community exists", [Problem("name", f"{name!r} is taken")])
    community = Community(name=name, description=description)
    session.add(community)
    session.flush()
    audit.record(session, actor, "create", "communities", community.id, None, {"name": name})
    return community


def set_member(
    session: Session,
    community_id: int,
    party_id: int,
    *,
    can_read: bool = True,
    can_write: bool = False,
    actor: Actor = audit.SYSTEM,
) -> None:
    before = session.get(CommunityMember, (community_id, party_id))
    old = None if before is None else {"read": before.can_read, "write": before.can_write}
    session.merge(CommunityMember(community_id=community_id, party_id=party_id, can_read=can_read, can_write=can_write))
    session.flush()
    audit.record(
        session,
        actor,
        "set-member",
        "communities",
        community_id,
        old,
        {"party": party_id, "read": can_read, "write": can_write},
    )


def remove_member(session: Session, community_id: int, party_id: int, *, actor: Actor = audit.SYSTEM) -> None:
    session.execute(
        delete(CommunityMember).where(
            CommunityMember.community_id == community_id, CommunityMember.party_id == party_id
        )
    )
    audit.record(session, actor, "remove-member", "communities", community_id, {"party": party_id}, None)


def create_collection(
    session: Session,
    *,
    community_id: int,
    title: str,
    description: str | None = None,
    alias: str | None = None,
    collection_id: str | None = None,
    actor: Actor = audit.SYSTEM,
) -> Collection:
    if session.get(Community, community_id) is None:
        raise Invalid("unknown community", [Problem("community_id", f"no community {community_id}")])
    coll = Collection(
        id=collection_id or str(uuid.uuid4()),
        community_id=community_id,
        title=title,
        description=description,
        alias=alias,
    )
    session.add(coll)
    session.flush()
    audit.record(session, actor, "create", "collections", coll.id, None, {"title": title, "community": community_id})
    return coll


def get_collection(session: Session, collection_id: str) -> Collection:
    coll = session.get(Collection, collection_id)
    if coll is None:
        coll = session.scalar(select(Collection).where(Collection.alias == collection_id))
    if coll is None:
        raise NotFound(f"no collection {collection_id!r}")
    return coll


def list_collections(session: Session) -> list[Collection]:
    return list(session.scalars(select(Collection).order_by(Collection.created_at, Collection.id)))


@dataclass(frozen=True)
class Rights:
    can_read: bool
    can_write: bool


def rights(session: Session, user: Any, coll: Collection) -> Rights:
    """Read: anyone signed in (they see only what TLP allows). Write: members with write rights."""
    if user is None:
        return Rights(False, False)
    party = party_of(user)
    member = None if party is None else session.get(CommunityMember, (coll.community_id, party))
    return Rights(True, bool(member and member.can_write))


def reader(session: Session, user: Any, coll: Collection) -> tlp.Reader:
    """What the TLP policy needs to know about ``user`` reading ``coll``."""
    party = party_of(user)
    if party is None:
        return tlp.Reader(None)
    member = session.get(CommunityMember, (coll.community_id, party))
    shares_here = select(Share.id).where(Share.collection_id == coll.id)
    mine = session.execute(
        select(ShareRecipient.share_id, ShareRecipient.named).where(
            ShareRecipient.party_id == party, ShareRecipient.share_id.in_(shares_here)
        )
    ).all()
    recipient = frozenset(sid for sid, _named in mine)
    named = frozenset(sid for sid, is_named in mine if is_named)
    client = frozenset(
        session.scalars(
            select(ShareRecipient.share_id)
            .join(PartyClient, PartyClient.party_id == ShareRecipient.party_id)
            .where(PartyClient.client_id == party, ShareRecipient.share_id.in_(shares_here))
        )
    )
    return tlp.Reader(
        party,
        member=bool(member and member.can_read),
        recipient_shares=recipient,
        client_shares=client,
        named_shares=named,
    )


# ---------------------------------------------------------------- ingest


@dataclass
class IngestResult:
    status_id: str
    request_timestamp: str
    successes: list[dict[str, str]] = field(default_factory=list)
    failures: list[dict[str, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.successes) + len(self.failures)


def _validator() -> Any:
    try:
        from accord.sharing.validation import validate
    except ImportError:  # pragma: no cover - the module ships with the package
        return _minimal_validate
    return validate


def _minimal_validate(obj: Any) -> list[str]:
    if not isinstance(obj, dict):
        return ["not a JSON object"]
    missing = [k for k in ("type", "id", "spec_version") if k not in obj]
    return [f"{k}: required" for k in missing]


def object_version(obj: dict[str, Any], date_added: int) -> str:
    """TAXII's version of an object: ``modified``, else ``created``, else when it was added."""
    stamp = obj.get("modified") or obj.get("created")
    return canonical(stamp) if stamp else micros_to_ts(date_added)


def _next_date_added(session: Session, coll: Collection) -> int:
    last = session.scalar(select(func.max(StixObject.date_added)).where(StixObject.collection_id == coll.id)) or 0
    return max(time.time_ns() // 1000, last + 1)


def _default_recipients(session: Session, coll: Collection) -> list[int]:
    """The community's reading members — except peer nodes: AMBER never leaves the node by default."""
    from accord.sharing.federation_models import Peer

    return list(
        session.scalars(
            select(CommunityMember.party_id).where(
                CommunityMember.community_id == coll.community_id,
                CommunityMember.can_read.is_(True),
                CommunityMember.party_id.not_in(select(Peer.party_id)),
            )
        )
    )


def ingest(
    session: Session,
    coll: Collection,
    objects: Sequence[Any],
    *,
    actor: Actor,
    producer_party_id: int | None,
    provenance: str,
    unmarked: str,
    recipients: Iterable[int] | None = None,
    user_id: int | None = None,
) -> IngestResult:
    """Add objects to a collection, each validated on its own; exact duplicates count as successes.

    One share is recorded for the request. Recipients (for AMBER and RED) default to the community's
    reading members for AMBER; RED without named recipients stays with the producer.
    """
    validate = _validator()
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    result = IngestResult(str(uuid.uuid4()), now)
    share = Share(collection_id=coll.id, producer_party_id=producer_party_id, created_by=actor.name)
    session.add(share)
    session.flush()
    named = list(dict.fromkeys(recipients)) if recipients is not None else None
    accepted: list[tuple[dict[str, Any], str]] = []
    for obj in objects:
        errors = validate(obj)
        oid = obj.get("id", "") if isinstance(obj, dict) else ""
        ver = (obj.get("modified") or obj.get("created") or "") if isinstance(obj, dict) else ""
        if errors:
            result.failures.append({"id": str(oid), "version": str(ver), "message": "; ".join(errors)[:2000]})
            continue
        accepted.append((obj, ver))
    rows = _store(session, coll, share, accepted, producer_party_id, provenance, unmarked, result)
    _enqueue_matching(session, coll, rows)
    levels = {r["tlp"] for r in rows}
    chosen = named is not None  # named by the sharer (may see RED) or the community by default (AMBER only)
    if named is None:
        named = _default_recipients(session, coll) if levels & {"amber", "amber+strict"} else []
    recipient_rows = [{"share_id": share.id, "party_id": p, "named": chosen} for p in named]
    insert_rows(session.connection(), ShareRecipient.__table__, recipient_rows)
    session.add(
        TaxiiStatus(
            id=result.status_id,
            collection_id=coll.id,
            user_id=user_id,
            request_timestamp=now,
            total_count=result.total,
            success_count=len(result.successes),
            failure_count=len(result.failures),
            successes=result.successes,
            failures=result.failures,
        )
    )
    audit.record(
        session,
        actor,
        "share",
        "collections",
        coll.id,
        None,
        {
            "share": share.id,
            "added": len(rows),
            "failed": len(result.failures),
            "tlp": sorted(levels),
            "recipients": named,
        },
    )
    return result


def _enqueue_matching(session: Session, coll: Collection, rows: list[dict[str, Any]]) -> None:
    """New observed-data and indicators are matched by the worker (accord.matching.jobs), not in the request."""
    if any(r["type"] in ("observed-data", "indicator") for r in rows):
        from accord.matching import jobs

        jobs.enqueue(session, coll.id, [{"type": r["type"], "id": r["stix_id"]} for r in rows])


def _store(
    session: Session,
    coll: Collection,
    share: Share,
    accepted: list[tuple[dict[str, Any], str]],
    producer: int | None,
    provenance: str,
    unmarked: str,
    result: IngestResult,
) -> list[dict[str, Any]]:
    if not accepted:
        return []
    ids = list({obj["id"] for obj, _ in accepted})
    existing: dict[str, list[tuple[str, bool, bool]]] = {}
    for i in range(0, len(ids), 900):
        for sid, ver, latest, first in session.execute(
            select(StixObject.stix_id, StixObject.version, StixObject.is_latest, StixObject.is_first).where(
                StixObject.collection_id == coll.id, StixObject.stix_id.in_(ids[i : i + 900])
            )
        ):
            existing.setdefault(sid, []).append((ver, latest, first))
    added = _next_date_added(session, coll)
    rows: list[dict[str, Any]] = []
    versions: dict[str, set[str]] = {sid: {v for v, _, _ in vs} for sid, vs in existing.items()}
    for obj, _ in accepted:
        version = object_version(obj, added)
        if version in versions.setdefault(obj["id"], set()):
            result.successes.append({"id": obj["id"], "version": display(version)})  # duplicate: not a failure
            continue
        versions[obj["id"]].add(version)
        rows.append(
            {
                "collection_id": coll.id,
                "stix_id": obj["id"],
                "type": obj["type"],
                "spec_version": obj.get("spec_version", "2.1"),
                "version": version,
                "date_added": added,
                "is_latest": False,
                "is_first": False,
                "revoked": bool(obj.get("revoked")),
                "tlp": tlp.object_level(obj, unmarked),
                "has_granular": bool(obj.get("granular_markings")),
                "share_id": share.id,
                "producer_party_id": producer,
                "provenance": provenance,
                "body": json.dumps(obj, ensure_ascii=False, separators=(",", ":")),
            }
        )
        result.successes.append({"id": obj["id"], "version": display(version)})
        added += 1
    _mark_ends(session, coll, rows, existing)
    for i in range(0, len(rows), 5000):
        insert_rows(session.connection(), StixObject.__table__, rows[i : i + 5000])
    return rows


def _mark_ends(
    session: Session, coll: Collection, rows: list[dict[str, Any]], existing: dict[str, list[tuple[str, bool, bool]]]
) -> None:
    """Keep exactly one is_latest and one is_first row per object id."""
    by_id: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_id.setdefault(r["stix_id"], []).append(r)
    demote_latest, demote_first = [], []
    for sid, new in by_id.items():
        old = existing.get(sid, [])
        old_latest = max((v for v, _, _ in old), default=None)
        old_first = min((v for v, _, _ in old), default=None)
        top = max(new, key=lambda r: r["version"])
        bottom = min(new, key=lambda r: r["version"])
        if old_latest is None or top["version"] > old_latest:
            top["is_latest"] = True
            if old_latest is not None:
                demote_latest.append(sid)
        if old_first is None or bottom["version"] < old_first:
            bottom["is_first"] = True
            if old_first is not None:
                demote_first.append(sid)
    for column, sids in (("is_latest", demote_latest), ("is_first", demote_first)):
        for i in range(0, len(sids), 900):
            session.execute(
                update(StixObject)
                .where(StixObject.collection_id == coll.id, StixObject.stix_id.in_(sids[i : i + 900]))
                .values({column: False})
            )


# ---------------------------------------------------------------- queries


@dataclass
class ObjectQuery:
    """TAXII filters: values within one field OR, fields AND."""

    added_after: int | None = None
    ids: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    versions: list[str] = field(default_factory=lambda: ["last"])
    spec_versions: list[str] = field(default_factory=list)


def _version_clause(versions: list[str]) -> Any:
    if "all" in versions:
        return None
    parts = []
    if "last" in versions:
        parts.append(StixObject.is_latest.is_(True))
    if "first" in versions:
        parts.append(StixObject.is_first.is_(True))
    stamps = [v for v in versions if v not in ("last", "first")]
    if stamps:
        parts.append(StixObject.version.in_(stamps))
    return or_(*parts)


def _filtered(coll: Collection, rdr: tlp.Reader, q: ObjectQuery) -> Any:
    stmt = select(StixObject).where(StixObject.collection_id == coll.id, tlp.visibility_clause(rdr, StixObject))
    if q.added_after is not None:
        stmt = stmt.where(StixObject.date_added > q.added_after)
    if q.ids:
        stmt = stmt.where(StixObject.stix_id.in_(q.ids))
    if q.types:
        stmt = stmt.where(StixObject.type.in_(q.types))
    if q.spec_versions:
        stmt = stmt.where(StixObject.spec_version.in_(q.spec_versions))
    clause = _version_clause(q.versions)
    if clause is not None:
        stmt = stmt.where(clause)
    return stmt


@dataclass
class ObjectPage:
    rows: list[StixObject]
    more: bool
    last_key: tuple[int, int] | None


def query_objects(
    session: Session,
    coll: Collection,
    rdr: tlp.Reader,
    q: ObjectQuery,
    *,
    limit: int,
    after: tuple[int, int] | None = None,
) -> ObjectPage:
    """One page of visible object versions, oldest ``date_added`` first (keyset on date_added, row id)."""
    stmt = _filtered(coll, rdr, q)
    if after is not None:  # a row-value comparison: one index range on (date_added, id), on both databases
        stmt = stmt.where(tuple_(StixObject.date_added, StixObject.id) > tuple_(after[0], after[1]))
    # With ids given, "+ 0" keeps the planner from walking the date index: it looks the ids up and sorts the few
    # matching rows (SQLite otherwise may scan the whole collection in date order, with or without statistics).
    first_key = StixObject.date_added + 0 if q.ids else StixObject.date_added
    rows = list(session.scalars(stmt.order_by(first_key, StixObject.id).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    last = (rows[-1].date_added, rows[-1].id) if rows else None
    return ObjectPage(rows, more, last)


def render(row: StixObject, rdr: tlp.Reader) -> str:
    """The object's JSON for this reader: as stored, or with fields under stricter granular markings removed."""
    if not row.has_granular:
        return row.body
    allowed = rdr.allowed_levels(row.share_id, row.producer_party_id)
    return json.dumps(tlp.redact(json.loads(row.body), allowed), ensure_ascii=False, separators=(",", ":"))


def delete_object(
    session: Session, coll: Collection, rdr: tlp.Reader, stix_id: str, q: ObjectQuery, *, actor: Actor
) -> int:
    """Delete the matching versions of one object (only those the caller may see); returns how many."""
    rows = list(
        session.scalars(
            _filtered(
                coll, rdr, ObjectQuery(ids=[stix_id], versions=q.versions or ["all"], spec_versions=q.spec_versions)
            )
        )
    )
    if not rows:
        raise NotFound(f"no object {stix_id} in collection {coll.id}")
    session.execute(delete(StixObject).where(StixObject.id.in_([r.id for r in rows])))
    stamp = time.time_ns() // 1000
    insert_rows(
        session.connection(),
        StixDeletion.__table__,
        [
            {
                "collection_id": coll.id,
                "stix_id": stix_id,
                "version": r.version,
                "deleted_at": stamp,
                "deleted_by": actor.name,
                "tlp": r.tlp,
                "share_id": r.share_id,
                "producer_party_id": r.producer_party_id,
            }
            for r in rows
        ],
    )
    remaining = list(
        session.scalars(select(StixObject).where(StixObject.collection_id == coll.id, StixObject.stix_id == stix_id))
    )
    if remaining:
        top = max(remaining, key=lambda r: r.version)
        bottom = min(remaining, key=lambda r: r.version)
        for r in remaining:
            r.is_latest, r.is_first = r is top, r is bottom
    session.flush()
    audit.record(session, actor, "delete", "stix_objects", stix_id, {"versions": [r.version for r in rows]}, None)
    return len(rows)


def get_status(session: Session, status_id: str, user: Any) -> TaxiiStatus:
    status = session.get(TaxiiStatus, status_id)
    if status is None:
        raise NotFound(f"no status {status_id}")
    if (
        status.user_id is not None
        and getattr(user, "id", None) != status.user_id
        and getattr(user, "role", "") != "admin"
    ):
        raise NotFound(f"no status {status_id}")  # do not reveal other users' requests
    return status


def require_write(r: Rights) -> None:
    if not r.can_write:
        raise Forbidden("your organisation may not add objects to this collection")


def visible_latest(session: Session, coll: Collection, rdr: tlp.Reader, *, batch: int = 1000) -> list[dict[str, Any]]:
    """Every latest version the reader may see, as objects (granular markings applied) — for exports."""
    out: list[dict[str, Any]] = []
    after = None
    while True:
        page = query_objects(session, coll, rdr, ObjectQuery(), limit=batch, after=after)
        out += [json.loads(render(r, rdr)) for r in page.rows]
        if not page.more:
            return out
        after = page.last_key


# ---------------------------------------------------------------- read-only helpers for the web pages
# (every one goes through ``_filtered``, so the TLP visibility clause always applies)


def count_visible(
    session: Session, coll: Collection, rdr: tlp.Reader, q: ObjectQuery | None = None, *, levels: Sequence[str] = ()
) -> int:
    """How many object versions matching ``q`` (default: latest versions) the reader may see."""
    stmt = _filtered(coll, rdr, q or ObjectQuery())
    if levels:
        stmt = stmt.where(StixObject.tlp.in_(list(levels)))
    return int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


def browse_objects(
    session: Session,
    coll: Collection,
    rdr: tlp.Reader,
    q: ObjectQuery,
    *,
    limit: int,
    levels: Sequence[str] = (),
    before: tuple[int, int] | None = None,
) -> ObjectPage:
    """One page of visible object versions, newest ``date_added`` first (keyset on date_added, row id)."""
    stmt = _filtered(coll, rdr, q)
    if levels:
        stmt = stmt.where(StixObject.tlp.in_(list(levels)))
    if before is not None:
        stmt = stmt.where(tuple_(StixObject.date_added, StixObject.id) < tuple_(before[0], before[1]))
    rows = list(session.scalars(stmt.order_by(StixObject.date_added.desc(), StixObject.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    last = (rows[-1].date_added, rows[-1].id) if rows else None
    return ObjectPage(rows, more, last)


def visible_types(session: Session, coll: Collection, rdr: tlp.Reader) -> list[str]:
    """The object types among the latest versions the reader may see."""
    stmt = _filtered(coll, rdr, ObjectQuery()).with_only_columns(StixObject.type).distinct().order_by(StixObject.type)
    return list(session.scalars(stmt))
