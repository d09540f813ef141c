"""What every page shares: who is asking, rendering, list filters and cursor paging."""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy import select

from accord.auth.roles import can
from accord.core import records
from accord.core.errors import Forbidden, InvalidCursor, Problem, Unauthorized
from accord.core.records import Resource
from accord.directory import service as directory
from accord.norms.models import Instrument, Provision
from accord.web.templating import query, templates

PAGE_SIZE = 50
STATE_FIELDS = {
    "attributed_state",
    "attributing_state",
    "receiver",
    "by_state",
    "sponsor_state",
    "against_state",
    "state",
}
ORG_FIELDS = {"organisation", "by_organisation"}


def user_of(request: Request) -> Any:
    return getattr(request.state, "user", None)


def csrf_of(request: Request) -> str:
    return getattr(request.state, "csrf_token", "") or ""


def require_write(request: Request) -> Any:
    """The signed-in user if they may write the knowledge base; 401 / 403 otherwise."""
    user = user_of(request)
    if user is None:
        raise Unauthorized("sign in to change the knowledge base")
    if not can(user, "kb:write"):
        raise Forbidden(f"your role ({user.role}) may not change the knowledge base")
    return user


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    base = {"user": user_of(request), "csrf_token": csrf_of(request), "path": request.url.path}
    return templates().TemplateResponse(request, name, {**base, **context}, status_code=status)


def state_names(session: Any) -> dict[str, str]:
    """Code → name of every state the node knows (about 200 rows; read once per page)."""
    return {s.code: s.name for s in records.iter_records(session, directory.STATES)}


def org_codes(session: Any) -> list[str]:
    return [o.code for o in records.iter_records(session, directory.ORGANISATIONS)]


def organisations(session: Any) -> list[tuple[str, str]]:
    """(code, name) of every organisation, by code: the choices of forum and donor fields."""
    return sorted((o.code, o.name) for o in records.iter_records(session, directory.ORGANISATIONS))


def provision_choices(session: Any, separator: str = ": ") -> list[dict[str, Any]]:
    """Every instrument (``code``, ``name``: its short name if any) with its provisions in order, each as
    (``INSTRUMENT/CODE``, ``CODE`` + ``separator`` + title): the choices of the consensus finder and the forum
    brief."""
    provisions: dict[str, list[tuple[str, str]]] = {}
    for inst, code, title in session.execute(
        select(Provision.instrument_code, Provision.code, Provision.title).order_by(
            Provision.instrument_code, Provision.position, Provision.id
        )
    ):
        provisions.setdefault(inst, []).append((f"{inst}/{code}", f"{code}{separator}{title}"))
    instruments = session.execute(
        select(Instrument.code, Instrument.name, Instrument.short_name).order_by(Instrument.code)
    )
    return [{"code": c, "name": short or name, "provisions": provisions.get(c, [])} for c, name, short in instruments]


# ---------------------------------------------------------------- filters


@dataclass
class FilterField:
    name: str
    label: str
    kind: str  # select | number | text
    value: str
    options: tuple[str, ...] = ()
    datalist: str | None = None
    error: str | None = None


@dataclass
class Listing:
    """Parsed list parameters of one resource, and what the template needs to show them."""

    filters: Any
    params: dict[str, str]
    fields: list[FilterField]
    q: str | None = None
    cursor: str | None = None
    errors: list[Problem] = field(default_factory=list)


def _inner(annotation: Any) -> Any:
    """``X | None`` → ``X``; ``Annotated[X, ...]`` → ``X``."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _field(name: str, annotation: Any, value: str, error: str | None) -> FilterField:
    kind, options, datalist = "text", (), None
    inner = _inner(annotation)
    if typing.get_origin(inner) is Literal:
        kind, options = "select", tuple(typing.get_args(inner))
    elif inner is bool:
        kind, options = "select", ("true", "false")
    elif inner is int:
        kind = "number"
    elif name in STATE_FIELDS:
        datalist = "state-codes"
    elif name in ORG_FIELDS:
        datalist = "org-codes"
    return FilterField(name, name.replace("_", " "), kind, value, options, datalist, error)


def parse_listing(request: Request, res: Resource) -> Listing:
    """Read filters, ``q`` and ``cursor`` from the query string; bad values are reported, not fatal."""
    model: type[BaseModel] = res.filters  # type: ignore[assignment]
    raw = {k: v.strip() for k, v in request.query_params.items() if k in model.model_fields and v.strip()}
    errors: list[Problem] = []
    try:
        filters = model.model_validate(raw)
    except ValidationError as exc:
        errors = records.problems_from_validation(exc)
        bad = {p.field.split(".")[0] for p in errors}
        filters = model.model_validate({k: v for k, v in raw.items() if k not in bad})
    by_field = {p.field.split(".")[0]: p.reason for p in errors}
    fields = [_field(n, f.annotation, raw.get(n, ""), by_field.get(n)) for n, f in model.model_fields.items()]
    q = (request.query_params.get("q") or "").strip()[:200] or None
    params = {**raw, **({"q": q} if q else {})}
    return Listing(filters, params, fields, q, request.query_params.get("cursor") or None, errors)


def list_page(session: Any, res: Resource, listing: Listing, sort: str | None = None) -> tuple[records.Page, str]:
    """One page of records; a stale or foreign cursor falls back to the first page with a notice."""
    try:
        page = records.list_records(
            session, res, filters=listing.filters, q=listing.q, sort=sort, cursor=listing.cursor, limit=PAGE_SIZE
        )
        return page, ""
    except InvalidCursor:
        pass
    page = records.list_records(session, res, filters=listing.filters, q=listing.q, sort=sort, limit=PAGE_SIZE)
    return page, "That page link is no longer valid; showing the first page."


def list_context(session: Any, res: Resource, listing: Listing, page: records.Page, notice: str) -> dict[str, Any]:
    return {
        "listing": listing,
        "items": page.items,
        "next_cursor": page.next_cursor,
        "notice": notice,
        "export_url": f"/api/v1/{res.name}/export?" + query(listing.params, format="csv"),
        "names": state_names(session),
        "orgs": org_codes(session),
    }
