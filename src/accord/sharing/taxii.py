"""TAXII 2.1 server at ``/taxii2/`` (OASIS TAXII Version 2.1, 10 June 2021).

Section numbers in docstrings refer to that specification. The store (``accord.sharing.service``)
returns rows and keyset positions; this module owns everything protocol-shaped: media types,
envelopes, ``X-TAXII-Date-Added-*`` headers, ``next`` tokens and error bodies.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from accord.audit.service import Actor
from accord.auth.deps import current_user
from accord.core.errors import AccordError, BadRequest, NotFound, Unauthorized
from accord.sharing import service
from accord.sharing.models import Collection, StixObject
from accord.web.deps import DbSession

TAXII_21 = "application/taxii+json;version=2.1"
STIX_21 = "application/stix+json;version=2.1"
API_ROOT = "accord"
MAX_CONTENT = 50 * 1024 * 1024


class NotAcceptable(AccordError):
    status = 406
    title = "Not acceptable"
    slug = "not-acceptable"


class UnsupportedMediaType(AccordError):
    status = 415
    title = "Unsupported media type"
    slug = "unsupported-media-type"


class PayloadTooLarge(AccordError):
    status = 413
    title = "Request too large"
    slug = "payload-too-large"


def taxii_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    content = body if isinstance(body, (str, bytes)) else json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return Response(content, status_code=status, media_type=TAXII_21, headers=headers)


def error_body(status: int, title: str, description: str | None = None) -> dict[str, Any]:
    """A TAXII error message (§3.6.1); ``http_status`` equals the response status."""
    body: dict[str, Any] = {"title": title, "http_status": str(status)}
    if description:
        body["description"] = description
    return body


# ---------------------------------------------------------------- negotiation (§1.6.8)


def _media_ok(value: str, base: str) -> bool:
    """``base`` alone means the latest version (2.1); ``version=2.1`` explicitly; nothing else."""
    for part in value.split(","):
        pieces = [p.strip().lower() for p in part.split(";")]
        if pieces[0] in ("*/*", "application/*") and base == "application/taxii+json":
            return True
        if pieces[0] != base:
            continue
        params = dict(p.split("=", 1) for p in pieces[1:] if "=" in p)
        if params.get("version", "2.1") == "2.1":
            return True
    return False


def negotiate(request: Request) -> None:
    accept = request.headers.get("accept")
    if accept and not _media_ok(accept, "application/taxii+json"):
        raise NotAcceptable(f"this server speaks {TAXII_21}; Accept was {accept!r}")
    if request.method == "POST":
        ctype = request.headers.get("content-type", "")
        if not _media_ok(ctype, "application/taxii+json"):
            raise UnsupportedMediaType(f"send the envelope as {TAXII_21}")


def token_may_write(request: Request) -> None:
    scopes = getattr(request.state, "token_scopes", None)
    if scopes is not None and "write" not in scopes:
        from accord.core.errors import Forbidden

        raise Forbidden("this API token is read-only")


def signed_in(request: Request) -> Any:
    user = current_user(request)
    if user is None:
        raise Unauthorized(
            getattr(request.state, "auth_problem", None) or "authenticate with HTTP Basic or a bearer token"
        )
    return user


User = Annotated[Any, Depends(signed_in)]
router = APIRouter(prefix="/taxii2", dependencies=[Depends(negotiate)], include_in_schema=False)


# ---------------------------------------------------------------- parameters (§3.4)

_STIX_ID = re.compile(r"^[a-z0-9-]+--[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_TYPE = re.compile(r"^[a-z0-9-]{1,250}$")
_SPEC = re.compile(r"^\d+\.\d+$")
_ALLOWED = {
    "objects": {"added_after", "limit", "next", "match[id]", "match[type]", "match[version]", "match[spec_version]"},
    "manifest": {"added_after", "limit", "next", "match[id]", "match[type]", "match[version]", "match[spec_version]"},
    "object": {"added_after", "limit", "next", "match[version]", "match[spec_version]"},
    "delete": {"match[version]", "match[spec_version]"},
    "versions": {"added_after", "limit", "next", "match[spec_version]"},
}


def _values(request: Request, name: str) -> list[str]:
    out: list[str] = []
    for raw in request.query_params.getlist(name):
        out += [v.strip() for v in raw.split(",")]
    if any(not v for v in out):
        raise BadRequest(f"{name} has an empty value")
    return out


def parse_query(request: Request, kind: str) -> tuple[service.ObjectQuery, int, str | None]:
    """Filters, page size and ``next`` token of a request; any malformed parameter is a 400."""
    unknown = set(request.query_params) - _ALLOWED[kind]
    if unknown:
        raise BadRequest(f"unsupported parameter(s) here: {', '.join(sorted(unknown))}")
    q = service.ObjectQuery()
    if "added_after" in request.query_params:
        try:
            q.added_after = service.ts_to_micros(request.query_params["added_after"])
        except ValueError as exc:
            raise BadRequest(f"added_after: {exc}") from None
    for name, attr, pattern in (
        ("match[id]", "ids", _STIX_ID),
        ("match[type]", "types", _TYPE),
        ("match[spec_version]", "spec_versions", _SPEC),
    ):
        values = _values(request, name)
        bad = [v for v in values if not pattern.match(v)]
        if bad:
            raise BadRequest(f"{name}: malformed value(s) {', '.join(bad)}")
        setattr(q, attr, values)
    versions = _values(request, "match[version]")
    if versions:
        for v in versions:
            if v not in ("last", "first", "all"):
                try:
                    service.parse_ts(v)
                except ValueError:
                    raise BadRequest(f"match[version]: {v!r} is not last, first, all or a timestamp") from None
        q.versions = [v if v in ("last", "first", "all") else service.canonical(v) for v in versions]
    limit = request.app.state.settings.taxii_max_page
    if "limit" in request.query_params:
        raw = request.query_params["limit"]
        if not raw.isdecimal() or int(raw) < 1:
            raise BadRequest("limit must be a positive integer")
        limit = min(int(raw), limit)
    return q, limit, request.query_params.get("next")


def _digest(request: Request, user: Any, coll_id: str, kind: str) -> str:
    """What a ``next`` token is bound to: the query (minus limit/next), the caller and the resource."""
    params = sorted((k, v) for k, v in request.query_params.multi_items() if k not in ("next", "limit"))
    raw = json.dumps([kind, coll_id, getattr(user, "id", None), params, request.url.path])
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def encode_next(key: tuple[int, int], digest: str) -> str:
    raw = json.dumps([key[0], key[1], digest], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_next(token: str, digest: str) -> tuple[int, int]:
    """Pagination state lives in the token (any server process can continue it); re-checked here."""
    try:
        added, row, bound = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        key = (int(added), int(row))
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise BadRequest("next: not a token this server issued") from None
    if bound != digest:
        raise BadRequest("next: the token belongs to another query, collection or user")
    return key


# ---------------------------------------------------------------- server, api root, status


@router.get("/")
def discovery(request: Request, _user: User) -> Response:
    """Server Discovery (§4.1)."""
    base = str(request.base_url).rstrip("/")
    settings = request.app.state.settings
    return taxii_response(
        {
            "title": settings.node_title,
            "description": "Accord node: TAXII 2.1 sharing hub",
            "default": f"{base}/taxii2/{API_ROOT}/",
            "api_roots": [f"{base}/taxii2/{API_ROOT}/"],
        }
    )


def api_root(root: str) -> str:
    if root != API_ROOT:
        raise NotFound(f"no API root {root!r}")
    return root


Root = Annotated[str, Depends(api_root)]


@router.get("/{root}/")
def get_api_root(request: Request, _root: Root, _user: User) -> Response:
    """Get API Root Information (§4.2)."""
    return taxii_response(
        {
            "title": f"{request.app.state.settings.node_title} — shared collections",
            "versions": [TAXII_21],
            "max_content_length": MAX_CONTENT,
        }
    )


@router.get("/{root}/status/{status_id}/")
def get_status(session: DbSession, _root: Root, user: User, status_id: str) -> Response:
    """Get Status (§4.3)."""
    s = service.get_status(session, status_id, user)
    return taxii_response(_status_body(s.id, s.request_timestamp, s.successes, s.failures))


def _status_body(sid: str, ts: str, successes: list[Any], failures: list[Any]) -> dict[str, Any]:
    return {
        "id": sid,
        "status": "complete",
        "request_timestamp": ts,
        "total_count": len(successes) + len(failures),
        "success_count": len(successes),
        "successes": successes,
        "failure_count": len(failures),
        "failures": failures,
        "pending_count": 0,
        "pendings": [],
    }


# ---------------------------------------------------------------- collections


def _collection_body(session: Any, user: Any, coll: Collection) -> dict[str, Any]:
    r = service.rights(session, user, coll)
    body = {
        "id": coll.id,
        "title": coll.title,
        "can_read": r.can_read,
        "can_write": r.can_write,
        "media_types": [STIX_21],
    }
    if coll.description:
        body["description"] = coll.description
    if coll.alias:
        body["alias"] = coll.alias
    return body


@router.get("/{root}/collections/")
def get_collections(session: DbSession, _root: Root, user: User) -> Response:
    """Get Collections (§5.1); an empty list is omitted."""
    items = [_collection_body(session, user, c) for c in service.list_collections(session)]
    return taxii_response({"collections": items} if items else {})


def collection_of(session: DbSession, _root: Root, collection_id: str) -> Collection:
    return service.get_collection(session, collection_id)


Coll = Annotated[Collection, Depends(collection_of)]


@router.get("/{root}/collections/{collection_id}/")
def get_collection(session: DbSession, coll: Coll, user: User) -> Response:
    """Get a Collection (§5.2)."""
    return taxii_response(_collection_body(session, user, coll))


# ---------------------------------------------------------------- objects


def _page(
    request: Request, session: Any, user: Any, coll: Collection, kind: str, base: service.ObjectQuery | None = None
) -> tuple[service.ObjectPage, Any, str]:
    q, limit, token = parse_query(request, kind)
    if base is not None:
        q.ids = base.ids
    digest = _digest(request, user, coll.id, kind)
    after = decode_next(token, digest) if token else None
    rdr = service.reader(session, user, coll)
    return service.query_objects(session, coll, rdr, q, limit=limit, after=after), rdr, digest


def _date_headers(rows: list[StixObject]) -> dict[str, str]:
    if not rows:
        return {}
    return {
        "X-TAXII-Date-Added-First": service.micros_to_ts(rows[0].date_added),
        "X-TAXII-Date-Added-Last": service.micros_to_ts(rows[-1].date_added),
    }


def _envelope(page: service.ObjectPage, digest: str, items: str | None, key: str = "objects") -> str:
    parts = [f'"more":{"true" if page.more else "false"}']
    if page.more and page.last_key:
        parts.append(f'"next":"{encode_next(page.last_key, digest)}"')
    if items is not None and page.rows:
        parts.append(f'"{key}":[{items}]')
    return "{" + ",".join(parts) + "}"


@router.get("/{root}/collections/{collection_id}/objects/")
def get_objects(request: Request, session: DbSession, coll: Coll, user: User) -> Response:
    """Get Objects (§5.3): only what the caller's TLP rights allow, oldest date_added first."""
    page, rdr, digest = _page(request, session, user, coll, "objects")
    body = _envelope(page, digest, ",".join(service.render(r, rdr) for r in page.rows))
    return taxii_response(body, headers=_date_headers(page.rows))


@router.post("/{root}/collections/{collection_id}/objects/")
async def add_objects(request: Request, coll: Coll, user: User) -> Response:
    """Add Objects (§5.4): each object validated on its own; exact duplicates are successes."""
    token_may_write(request)
    raw = await request.body()
    if len(raw) > MAX_CONTENT:
        raise PayloadTooLarge(f"the envelope exceeds max_content_length ({MAX_CONTENT} bytes)")
    try:
        envelope = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the body is not JSON: {exc}") from None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("objects", []), list):
        raise BadRequest("the body must be an envelope: an object with an 'objects' list")
    from starlette.concurrency import run_in_threadpool

    result = await run_in_threadpool(_add, request, coll.id, user, envelope.get("objects", []))
    if len(result.successes) >= 100:  # the collection grew: keep the planner's statistics fresh
        from accord.bulk import refresh_statistics_sampled

        await run_in_threadpool(refresh_statistics_sampled, request.app.state.engine)
    return taxii_response(
        _status_body(result.status_id, result.request_timestamp, result.successes, result.failures), status=202
    )


def _add(request: Request, coll_id: str, user: Any, objects: list[Any]) -> service.IngestResult:
    with request.app.state.sessions() as session, session.begin():
        coll = service.get_collection(session, coll_id)
        service.require_write(service.rights(session, user, coll))
        return service.ingest(
            session,
            coll,
            objects,
            actor=Actor.of(user),
            producer_party_id=user.party_id,
            provenance=f"user:{user.username}",
            user_id=user.id,
            unmarked=request.app.state.settings.sharing_unmarked_tlp,
        )


@router.get("/{root}/collections/{collection_id}/objects/{object_id}/")
def get_object(request: Request, session: DbSession, coll: Coll, user: User, object_id: str) -> Response:
    """Get an Object (§5.5); 404 when none of its versions is visible to the caller."""
    page, rdr, digest = _page(request, session, user, coll, "object", service.ObjectQuery(ids=[object_id]))
    if not page.rows:
        raise NotFound(f"no object {object_id} that you may see in this collection")
    body = _envelope(page, digest, ",".join(service.render(r, rdr) for r in page.rows))
    return taxii_response(body, headers=_date_headers(page.rows))


@router.delete("/{root}/collections/{collection_id}/objects/{object_id}/")
def delete_object(request: Request, session: DbSession, coll: Coll, user: User, object_id: str) -> Response:
    """Delete an Object (§5.6): 403 without write rights, 404 when nothing matches."""
    q, _limit, _next = parse_query(request, "delete")
    token_may_write(request)
    service.require_write(service.rights(session, user, coll))
    service.delete_object(session, coll, service.reader(session, user, coll), object_id, q, actor=Actor.of(user))
    session.commit()
    return taxii_response("", status=200)


@router.get("/{root}/collections/{collection_id}/objects/{object_id}/versions/")
def get_versions(request: Request, session: DbSession, coll: Coll, user: User, object_id: str) -> Response:
    """Get Object Versions (§5.7)."""
    q, limit, token = parse_query(request, "versions")
    q.ids, q.versions = [object_id], ["all"]
    digest = _digest(request, user, coll.id, "versions")
    after = decode_next(token, digest) if token else None
    page = service.query_objects(session, coll, service.reader(session, user, coll), q, limit=limit, after=after)
    if not page.rows:
        raise NotFound(f"no object {object_id} that you may see in this collection")
    items = ",".join(json.dumps(service.display(r.version)) for r in page.rows)
    return taxii_response(_envelope(page, digest, items, key="versions"), headers=_date_headers(page.rows))


@router.get("/{root}/collections/{collection_id}/manifest/")
def get_manifest(request: Request, session: DbSession, coll: Coll, user: User) -> Response:
    """Get Object Manifests (§5.3.1 / §3.4): id, date_added, version, media_type of visible objects."""
    page, _rdr, digest = _page(request, session, user, coll, "manifest")
    items = ",".join(
        json.dumps(
            {
                "id": r.stix_id,
                "date_added": service.micros_to_ts(r.date_added),
                "version": service.display(r.version),
                "media_type": STIX_21,
            }
        )
        for r in page.rows
    )
    return taxii_response(_envelope(page, digest, items), headers=_date_headers(page.rows))
