"""Sharing hub pages: collections and communities, the object browser with TLP badges and version history,
the share dialog, and federation status per peer.

Every object these pages show goes through the TLP policy: ``service.reader`` says who is reading,
``service.query_objects`` / ``browse_objects`` / ``count_visible`` carry the visibility clause, and
``service.render`` removes fields under granular markings the reader may not see. No page reads
``StixObject`` rows any other way.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from accord.audit.service import Actor
from accord.auth.models import Party
from accord.auth.roles import can
from accord.core.errors import Forbidden, Invalid, NotFound, Problem, Unauthorized
from accord.sharing import service, tlp
from accord.sharing.models import Collection, Community, CommunityMember, StixObject
from accord.web.deps import DbSession
from accord.web.pages.common import render, user_of

router = APIRouter()

PAGE_SIZE = 50
MAX_PASTE = 5_000_000  # characters of pasted STIX JSON
RECIPIENT_LEVELS = ("amber", "amber+strict", "red")
LEVEL_LABELS = {"clear": "CLEAR", "green": "GREEN", "amber": "AMBER", "amber+strict": "AMBER+STRICT", "red": "RED"}
_TYPE = re.compile(r"^[a-z0-9-]{1,250}$")
_CURSOR = re.compile(r"^(\d{1,20})\.(\d{1,20})$")


# ---------------------------------------------------------------- who is asking


def signed_in(request: Request) -> Any:
    """Every sharing page needs a signed-in user (anonymous GETs are sent to the sign-in page)."""
    user = user_of(request)
    if user is None:
        raise Unauthorized("sign in to use the sharing hub")
    return user


def _require_admin(request: Request) -> Any:
    user = signed_in(request)
    if not can(user, "admin"):
        raise Forbidden("only administrators manage community membership")
    return user


def _party_names(session: Session, ids: Any = None) -> dict[int, str]:
    stmt = select(Party.id, Party.name)
    if ids is not None:
        ids = sorted({i for i in ids if i is not None})
        if not ids:
            return {}
        stmt = stmt.where(Party.id.in_(ids))
    return {pid: name for pid, name in session.execute(stmt)}


# ---------------------------------------------------------------- display helpers


def when(micros: int) -> dict[str, str]:
    """A ``date_added`` (µs since the epoch) as a machine timestamp and a readable one."""
    moment = dt.datetime.fromtimestamp(micros / 1_000_000, dt.UTC)
    return {"iso": service.micros_to_ts(micros), "text": moment.strftime("%Y-%m-%d %H:%M:%S UTC")}


def _ago(moment: dt.datetime | None, now: dt.datetime) -> str:
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


@dataclass
class ObjectRow:
    """One visible object version as a page shows it (the body already redacted for the reader)."""

    stix_id: str
    type: str
    name: str
    version: str
    added: dict[str, str]
    tlp: str
    revoked: bool
    provenance: str
    body: dict[str, Any] = field(default_factory=dict)
    text: str = ""


def _row(row: StixObject, rdr: tlp.Reader) -> ObjectRow:
    rendered = service.render(row, rdr)
    try:
        body = json.loads(rendered)
    except ValueError:  # pragma: no cover - bodies are stored as JSON
        body = {}
    name = body.get("name") if isinstance(body, dict) else None
    return ObjectRow(
        stix_id=row.stix_id,
        type=row.type,
        name=name if isinstance(name, str) else "",
        version=service.display(row.version),
        added=when(row.date_added),
        tlp=row.tlp,
        revoked=row.revoked,
        provenance=row.provenance,
        body=body if isinstance(body, dict) else {},
        text=json.dumps(body, indent=2, ensure_ascii=False, sort_keys=False),
    )


# ---------------------------------------------------------------- overview


@router.get("/sharing", response_class=HTMLResponse, include_in_schema=False)
def overview(request: Request, session: DbSession) -> HTMLResponse:
    user = signed_in(request)
    party = service.party_of(user)
    admin = can(user, "admin")
    memberships = {}
    if party is not None:
        memberships = {
            m.community_id: m for m in session.scalars(select(CommunityMember).where(CommunityMember.party_id == party))
        }
    communities = list(session.scalars(select(Community).order_by(Community.name)))
    names = {c.id: c.name for c in communities}
    shown = [c for c in communities if admin or c.id in memberships]
    collections = []
    for coll in service.list_collections(session):
        rdr = service.reader(session, user, coll)
        collections.append(
            {
                "c": coll,
                "community": names.get(coll.community_id, ""),
                "count": service.count_visible(session, coll, rdr),
                "rights": service.rights(session, user, coll),
            }
        )
    return render(
        request,
        "sharing/index.html",
        {
            "communities": shown,
            "memberships": memberships,
            "collections": collections,
            "party": _party_names(session, [party]).get(party) if party is not None else None,
            "admin": admin,
        },
    )


# ---------------------------------------------------------------- communities


def _community(session: Session, community_id: str) -> Community:
    known = community_id.isdecimal() and len(community_id) < 10
    community = session.get(Community, int(community_id)) if known else None
    if community is None:
        raise NotFound(f"no community {community_id!r}")
    return community


def _community_page(
    request: Request, session: Session, community: Community, problems: list[Problem], status: int = 200
) -> HTMLResponse:
    user = signed_in(request)
    admin = can(user, "admin")
    members = list(session.scalars(select(CommunityMember).where(CommunityMember.community_id == community.id)))
    party = service.party_of(user)
    is_member = any(m.party_id == party for m in members)
    names = _party_names(session)
    members.sort(key=lambda m: names.get(m.party_id, "").lower())
    collections = [c for c in service.list_collections(session) if c.community_id == community.id]
    return render(
        request,
        "sharing/community.html",
        {
            "community": community,
            "members": members if (admin or is_member) else None,
            "names": names,
            "collections": collections,
            "admin": admin,
            "is_member": is_member,
            "parties": sorted(names.items(), key=lambda kv: kv[1].lower()),
            "problems": problems,
        },
        status=status,
    )


@router.get("/sharing/communities/{community_id}", response_class=HTMLResponse, include_in_schema=False)
def community_page(request: Request, session: DbSession, community_id: str) -> HTMLResponse:
    signed_in(request)
    return _community_page(request, session, _community(session, community_id), [])


@router.post("/sharing/communities/{community_id}/members", include_in_schema=False)
async def set_member(request: Request, session: DbSession, community_id: str) -> Response:
    user = _require_admin(request)
    community = _community(session, community_id)
    form = await request.form()
    raw = str(form.get("party_id") or "").strip()
    party = session.get(Party, int(raw)) if raw.isdecimal() and len(raw) < 10 else None
    if party is None:
        return _community_page(request, session, community, [Problem("party_id", "choose an organisation")], 422)
    can_write = form.get("can_write") == "on"
    can_read = form.get("can_read") == "on" or can_write
    service.set_member(session, community.id, party.id, can_read=can_read, can_write=can_write, actor=Actor.of(user))
    session.commit()
    return RedirectResponse(f"/sharing/communities/{community.id}", status_code=303)


@router.post("/sharing/communities/{community_id}/members/{party_id}/remove", include_in_schema=False)
def remove_member(request: Request, session: DbSession, community_id: str, party_id: str) -> Response:
    user = _require_admin(request)
    community = _community(session, community_id)
    if not party_id.isdecimal() or len(party_id) > 9:
        raise NotFound(f"no member {party_id!r}")
    service.remove_member(session, community.id, int(party_id), actor=Actor.of(user))
    session.commit()
    return RedirectResponse(f"/sharing/communities/{community.id}", status_code=303)


# ---------------------------------------------------------------- the object browser


@router.get("/sharing/collections/{collection_id}", response_class=HTMLResponse, include_in_schema=False)
def collection_page(request: Request, session: DbSession, collection_id: str) -> HTMLResponse:
    user = signed_in(request)
    coll = service.get_collection(session, collection_id)
    rdr = service.reader(session, user, coll)
    params = request.query_params
    problems: list[Problem] = []
    kind = (params.get("type") or "").strip()
    if kind and not _TYPE.match(kind):
        problems.append(Problem("type", "not a STIX type name"))
        kind = ""
    level = (params.get("tlp") or "").strip().lower()
    if level and level not in tlp.LEVELS:
        problems.append(Problem("tlp", "not a TLP level"))
        level = ""
    before = None
    notice = ""
    if raw := params.get("before"):
        match = _CURSOR.match(raw)
        if match:
            before = (int(match.group(1)), int(match.group(2)))
        else:
            notice = "That page link is not valid; showing the newest objects."
    q = service.ObjectQuery(types=[kind] if kind else [])
    levels = [level] if level else []
    page = service.browse_objects(session, coll, rdr, q, limit=PAGE_SIZE, levels=levels, before=before)
    filters = {k: v for k, v in (("type", kind), ("tlp", level)) if v}
    community = session.get(Community, coll.community_id)
    return render(
        request,
        "sharing/collection.html",
        {
            "coll": coll,
            "community": community,
            "rows": [_row(r, rdr) for r in page.rows],
            "total": service.count_visible(session, coll, rdr, q, levels=levels),
            "types": service.visible_types(session, coll, rdr),
            "levels": tlp.LEVELS,
            "level_labels": LEVEL_LABELS,
            "filters": filters,
            "kind": kind,
            "level": level,
            "paged": before is not None,
            "next_cursor": f"{page.last_key[0]}.{page.last_key[1]}" if page.more and page.last_key else None,
            "problems": problems,
            "notice": notice,
            "rights": service.rights(session, user, coll),
        },
    )


@router.get(
    "/sharing/collections/{collection_id}/objects/{stix_id}", response_class=HTMLResponse, include_in_schema=False
)
def object_page(request: Request, session: DbSession, collection_id: str, stix_id: str) -> HTMLResponse:
    user = signed_in(request)
    coll = service.get_collection(session, collection_id)
    rdr = service.reader(session, user, coll)
    q = service.ObjectQuery(ids=[stix_id], versions=["all"])
    rows: list[StixObject] = []
    after = None
    while True:  # every version the reader may see (the history of one object is short)
        page = service.query_objects(session, coll, rdr, q, limit=500, after=after)
        rows += page.rows
        if not page.more or len(rows) >= 5000:
            break
        after = page.last_key
    if not rows:
        raise NotFound(f"no object {stix_id} that you may see in this collection")
    rows.sort(key=lambda r: (r.version, r.date_added), reverse=True)
    wanted = request.query_params.get("version")
    shown = next((r for r in rows if wanted and service.display(r.version) == wanted), rows[0])
    history = [_row(r, rdr) for r in rows]
    current = next(h for r, h in zip(rows, history, strict=True) if r is shown)
    return render(
        request,
        "sharing/object.html",
        {
            "coll": coll,
            "obj": current,
            "history": history,
            "latest": rows[0] is shown,
            "level_labels": LEVEL_LABELS,
        },
    )


# ---------------------------------------------------------------- the share dialog


def parse_stix(text: str) -> list[Any]:
    """Pasted STIX JSON (one object, a list of objects or a bundle) as a list; ``Invalid`` when malformed."""
    if not text.strip():
        raise Invalid("nothing to share", [Problem("stix", "paste STIX 2.1 JSON: an object, a list or a bundle")])
    if len(text) > MAX_PASTE:
        raise Invalid("too large", [Problem("stix", f"at most {MAX_PASTE:,} characters at once")])
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise Invalid("malformed JSON", [Problem("stix", f"not valid JSON: {exc}")]) from None
    if isinstance(data, dict) and data.get("type") == "bundle":
        objects = data.get("objects")
        if not isinstance(objects, list):
            raise Invalid("malformed bundle", [Problem("stix", "a bundle needs an 'objects' list")])
    elif isinstance(data, dict):
        objects = [data]
    elif isinstance(data, list):
        objects = data
    else:
        raise Invalid("malformed STIX", [Problem("stix", "expected a STIX object, a list of objects or a bundle")])
    if not objects:
        raise Invalid("nothing to share", [Problem("stix", "the JSON holds no objects")])
    return objects


def apply_tlp(objects: list[Any], level: str) -> list[Any]:
    """Add the TLP 2.0 marking of ``level`` to every object that carries no TLP marking yet.

    Objects already marked keep their own TLP; other markings (statements, …) are kept. The TLP
    marking-definition objects themselves are left alone.
    """
    marking = tlp.TLP2_BY_LEVEL[level]
    out = []
    for obj in objects:
        if isinstance(obj, dict) and obj.get("id") not in tlp.MARKING_LEVELS:
            refs = obj.get("object_marking_refs")
            refs = refs if isinstance(refs, list) else []
            if not any(isinstance(r, str) and r in tlp.MARKING_LEVELS for r in refs):
                obj = {**obj, "object_marking_refs": [*refs, marking]}
        out.append(obj)
    return out


def _writable(request: Request, session: Session, collection_id: str) -> tuple[Any, Collection]:
    user = signed_in(request)
    coll = service.get_collection(session, collection_id)
    if not service.rights(session, user, coll).can_write:
        raise Forbidden("your organisation may not add objects to this collection")
    return user, coll


def _share_form(
    request: Request,
    session: Session,
    coll: Collection,
    values: dict[str, Any],
    problems: list[Problem],
    status: int = 200,
    result: service.IngestResult | None = None,
) -> HTMLResponse:
    user = user_of(request)
    own = service.party_of(user)
    parties = sorted(
        ((pid, name) for pid, name in _party_names(session).items() if pid != own), key=lambda kv: kv[1].lower()
    )
    errors: dict[str, list[str]] = {}
    for p in problems:
        errors.setdefault(p.field, []).append(p.reason)
    return render(
        request,
        "sharing/share.html",
        {
            "coll": coll,
            "values": values,
            "levels": tlp.LEVELS,
            "level_labels": LEVEL_LABELS,
            "recipient_levels": RECIPIENT_LEVELS,
            "parties": parties,
            "errors": errors,
            "problems": problems,
            "result": result,
        },
        status=status,
    )


@router.get("/sharing/collections/{collection_id}/share", response_class=HTMLResponse, include_in_schema=False)
def share_form(request: Request, session: DbSession, collection_id: str) -> HTMLResponse:
    _user, coll = _writable(request, session, collection_id)
    default = request.app.state.settings.sharing_unmarked_tlp
    return _share_form(request, session, coll, {"stix": "", "tlp": default, "recipients": []}, [])


@router.post("/sharing/collections/{collection_id}/share", include_in_schema=False)
async def share(request: Request, session: DbSession, collection_id: str) -> Response:
    user, coll = _writable(request, session, collection_id)
    form = await request.form()
    text = str(form.get("stix") or "")
    level = str(form.get("tlp") or "").strip().lower()
    picked = [str(v) for v in form.getlist("recipients")]
    values = {"stix": text, "tlp": level, "recipients": picked}
    problems: list[Problem] = []
    if level not in tlp.LEVELS:
        problems.append(Problem("tlp", "choose a TLP level"))
    known = _party_names(session)
    recipients = sorted({int(v) for v in picked if v.isdecimal() and len(v) < 10 and int(v) in known})
    if len(recipients) != len(set(picked)):
        problems.append(Problem("recipients", "unknown organisation among the recipients"))
    objects: list[Any] = []
    try:
        objects = parse_stix(text)
    except Invalid as exc:
        problems += exc.problems
    if problems:
        return _share_form(request, session, coll, values, problems, status=422)
    chosen = recipients if level in RECIPIENT_LEVELS and recipients else None
    try:
        result = service.ingest(
            session,
            coll,
            apply_tlp(objects, level),
            actor=Actor.of(user),
            producer_party_id=service.party_of(user),
            provenance=f"user:{user.username}",
            unmarked=request.app.state.settings.sharing_unmarked_tlp,
            recipients=chosen,
            user_id=user.id,
        )
        session.commit()
    except Exception:
        session.rollback()
        raise
    if result.successes and not result.failures:
        values["stix"] = ""  # all shared: a fresh form (what was refused stays, to be corrected)
    status = 200 if result.successes else 422
    return _share_form(request, session, coll, values, [], status=status, result=result)


# ---------------------------------------------------------------- federation status


def _federation_module() -> Any:
    """``accord.sharing.federation_models`` when this build has federation; None otherwise."""
    try:
        from accord.sharing import federation_models
    except ImportError:  # pragma: no cover - a build without federation
        return None
    return federation_models


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)  # SQLite returns naive datetimes; the store writes UTC
    return value


def _fmt(value: dt.datetime | None) -> str:
    value = _aware(value)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if value else ""


def _failing(link: Any) -> bool:
    if link.failures:
        return True
    success, attempt = _aware(link.last_success), _aware(link.last_attempt)
    return bool(link.last_error) and (success is None or (attempt is not None and attempt > success))


def peer_status(session: Session) -> list[dict[str, Any]]:
    """Federation status per peer: its links (collection, direction, checkpoint), last attempt, last
    successful sync, lag (time since the least recent successful sync of its links) and errors.

    [] when this build has no federation module. Never reads or returns the peer's sealed token.
    """
    module = _federation_module()
    if module is None:
        return []
    peer_model, link_model = module.Peer, module.FederationLink
    now = dt.datetime.now(dt.UTC)
    titles = {c.id: c.title for c in service.list_collections(session)}
    links_of: dict[int, list[Any]] = {}
    for link in session.scalars(select(link_model).order_by(link_model.local_collection_id, link_model.direction)):
        links_of.setdefault(link.peer_id, []).append(link)
    out = []
    peers = session.execute(
        select(peer_model.id, peer_model.name, peer_model.base_url, peer_model.api_root).order_by(peer_model.name)
    )
    for pid, name, base_url, api_root in peers:
        links = links_of.get(pid, [])
        successes = [_aware(lk.last_success) for lk in links]
        attempts = [a for a in (_aware(lk.last_attempt) for lk in links) if a is not None]
        failing = [lk for lk in links if _failing(lk)]
        oldest = None if not successes or None in successes else min(s for s in successes if s is not None)
        newest = max((s for s in successes if s is not None), default=None)
        retry = [a for a in (_aware(lk.next_attempt) for lk in failing) if a is not None]
        out.append(
            {
                "name": name,
                "url": base_url.rstrip("/") + "/" + (api_root or "").lstrip("/"),
                "last_attempt": _fmt(max(attempts, default=None)),
                "last_success": _fmt(newest),
                "lag": _ago(oldest, now) if oldest else "",
                "failing": bool(failing),
                "errors": [lk.last_error for lk in failing if lk.last_error],
                "failures": max((lk.failures or 0 for lk in failing), default=0),
                "next_attempt": _fmt(min(retry, default=None)),
                "links": [
                    {
                        "collection": titles.get(lk.local_collection_id, lk.local_collection_id),
                        "collection_id": lk.local_collection_id,
                        "remote": lk.remote_collection_id,
                        "direction": lk.direction,
                        "checkpoint": service.display(service.micros_to_ts(lk.objects_after))
                        if lk.objects_after
                        else "start",
                        "last_attempt": _fmt(lk.last_attempt),
                        "last_success": _fmt(lk.last_success),
                        "lag": _ago(_aware(lk.last_success), now) if lk.last_success else "",
                        "failing": _failing(lk),
                        "failures": lk.failures or 0,
                        "error": lk.last_error if _failing(lk) else "",
                        "next_attempt": _fmt(lk.next_attempt) if _failing(lk) else "",
                    }
                    for lk in links
                ],
            }
        )
    return out


@router.get("/sharing/peers", response_class=HTMLResponse, include_in_schema=False)
def peers(request: Request, session: DbSession) -> HTMLResponse:
    user = signed_in(request)
    unavailable = ""
    try:
        status = peer_status(session)
    except SQLAlchemyError as exc:  # e.g. the federation tables are not migrated yet
        session.rollback()
        status, unavailable = [], type(exc).__name__
    return render(
        request,
        "sharing/peers.html",
        {
            "peers": status,
            "federation": _federation_module() is not None,
            "unavailable": unavailable,
            "admin": can(user, "admin"),
        },
    )
