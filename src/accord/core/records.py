"""Generic record services: list with filters, search, sort and cursor pages; get; create; update; delete.

Each capability declares its resources once (:class:`Resource`); the same functions then serve the
REST API, the CLI and the importer. Functions take a session and never commit: the caller owns the
unit of work.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import String, Text, and_, cast, false, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from accord.audit import service as audit
from accord.audit.service import SYSTEM, Actor
from accord.core.errors import (
    Conflict,
    Duplicate,
    Invalid,
    InvalidCursor,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    Problem,
    ReferenceNotFound,
)
from accord.db import Base


def _no_filters(stmt: Select[Any], _filters: Any) -> Select[Any]:
    return stmt


def _default_build(_session: Session, model: type[Base], data: dict[str, Any]) -> Base:
    return model(**data)


@dataclass(frozen=True)
class Reference:
    """A field that must name an existing row: ``field`` -> ``model.column``."""

    field: str
    model: type[Base]
    column: str = "code"


@dataclass(frozen=True)
class Resource:
    """Declaration of one record type exposed by the generic services."""

    name: str
    model: type[Base]
    create: type[BaseModel]
    update: type[BaseModel]
    out: type[BaseModel]
    key: str = "id"
    filters: type[BaseModel] | None = None
    # filter field -> model column compared with ``==``; ``apply_filters`` handles the rest
    equal_filters: dict[str, str] = field(default_factory=dict)
    apply_filters: Callable[[Select[Any], Any], Select[Any]] = _no_filters
    search: tuple[str, ...] = ()
    fts: str | None = None  # name of the SQLite FTS5 trigram table over ``search`` (migration 0003)
    read_permission: str = "read"  # see accord.auth.roles
    write_permission: str = "kb:write"
    sorts: tuple[str, ...] = ("id",)
    references: tuple[Reference, ...] = ()
    uniques: tuple[tuple[str, ...], ...] = ()
    # Hooks for records with nested parts (e.g. an incident's receivers).
    build: Callable[[Session, type[Base], dict[str, Any]], Base] = _default_build
    assign: Callable[[Session, Base, dict[str, Any]], None] | None = None
    view: Callable[[Base], dict[str, Any]] | None = None
    check: Callable[[Session, dict[str, Any]], list[Problem]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key_column(self) -> Any:
        return getattr(self.model, self.key)


@dataclass
class Page:
    items: list[Any]
    next_cursor: str | None


# ---------------------------------------------------------------- reading


def key_type(res: Resource) -> type:
    return res.key_column.type.python_type  # type: ignore[no-any-return]


def parse_key(res: Resource, raw: str) -> Any:
    if key_type(res) is int:
        try:
            return int(raw)
        except ValueError:
            raise NotFound(f"no {res.name} with id {raw!r}") from None
    return raw


def get_record(session: Session, res: Resource, key: Any) -> Any:
    obj = session.get(res.model, key)
    if obj is None:
        raise NotFound(f"no {res.name} with {res.key} {key!r}")
    return obj


def search_clause(res: Resource, q: str, dialect: str = "") -> Any:
    """Case-insensitive substring match on every declared search column (JSON columns as text).

    On SQLite, resources with an FTS5 trigram index (``res.fts``) answer terms of three or more
    characters from the index (same substring semantics, no table scan); shorter terms scan.
    """
    q = q.strip()
    if res.fts and dialect == "sqlite" and len(q) >= 3:
        phrase = '"' + q.replace('"', '""') + '"'
        rowids = text(f"SELECT rowid FROM {res.fts} WHERE {res.fts} MATCH :phrase").bindparams(phrase=phrase)
        return res.key_column.in_(rowids)
    pattern = f"%{q}%"
    clauses = []
    for name in res.search:
        col = getattr(res.model, name)
        if not isinstance(col.type, String):
            col = cast(col, Text)  # CAST(... AS TEXT): the expression PostgreSQL's trigram index is built on
        clauses.append(col.ilike(pattern))
    return or_(*clauses) if clauses else false()


def apply_equal_filters(stmt: Select[Any], res: Resource, filters: Any) -> Select[Any]:
    for name, column in res.equal_filters.items():
        value = getattr(filters, name, None)
        if value is not None:
            stmt = stmt.where(getattr(res.model, column) == value)
    return stmt


def _coerce(col: Any, raw: Any) -> Any:
    if raw is None:
        return None
    ptype = col.type.python_type
    if ptype is dt.date:
        return dt.date.fromisoformat(raw)
    if ptype is dt.datetime:
        return dt.datetime.fromisoformat(raw)
    return ptype(raw)


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def encode_cursor(sort: str, value: Any, key: Any) -> str:
    raw = json.dumps([sort, _jsonable(value), key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[Any, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        cur_sort, value, key = data
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise InvalidCursor("cursor is malformed", [Problem("cursor", "not a cursor this server issued")]) from exc
    if cur_sort != sort:
        raise InvalidCursor("cursor belongs to another sort order", [Problem("cursor", "sort changed")])
    return value, key


def _keyset(res: Resource, col: Any, desc: bool, value: Any, key: Any) -> Any:
    """Rows after (value, key) in the order (col [desc] NULLS LAST, key [desc])."""
    kcol = res.key_column
    after_key = kcol < key if desc else kcol > key
    if value is None:
        return and_(col.is_(None), after_key)
    beyond = col < value if desc else col > value
    return or_(beyond, and_(col == value, after_key), col.is_(None))


def list_records(
    session: Session,
    res: Resource,
    *,
    filters: Any = None,
    q: str | None = None,
    sort: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    sort = sort or res.sorts[0]
    desc = sort.startswith("-")
    name = sort.lstrip("-")
    if name not in res.sorts and name != res.key:
        allowed = ", ".join(sorted({*res.sorts, res.key}))
        raise Invalid("unknown sort field", [Problem("sort", f"must be one of {allowed} (prefix - for descending)")])
    col = getattr(res.model, name)
    kcol = res.key_column
    stmt = select(res.model)
    if filters is not None:
        stmt = apply_equal_filters(stmt, res, filters)
        stmt = res.apply_filters(stmt, filters)
    if q:
        stmt = stmt.where(search_clause(res, q, session.get_bind().dialect.name))
    if cursor:
        raw_value, raw_key = decode_cursor(cursor, sort)
        try:
            value, key = _coerce(col, raw_value), _coerce(kcol, raw_key)
        except (ValueError, TypeError) as exc:
            raise InvalidCursor("cursor is malformed", [Problem("cursor", "bad values")]) from exc
        stmt = stmt.where(
            _keyset(res, col, desc, value, key) if col is not kcol else (kcol < key if desc else kcol > key)
        )
    if col is kcol:
        order = [kcol.desc() if desc else kcol.asc()]
    else:
        order = [(col.desc() if desc else col.asc()).nulls_last(), kcol.desc() if desc else kcol.asc()]
    rows = list(session.scalars(stmt.order_by(*order).limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(sort, getattr(last, name), getattr(last, res.key))
    return Page(rows, next_cursor)


def iter_records(
    session: Session,
    res: Resource,
    *,
    filters: Any = None,
    q: str | None = None,
    sort: str | None = None,
    batch: int = 1000,
) -> Any:
    """Every matching record, page by page (for exports)."""
    cursor = None
    while True:
        page = list_records(session, res, filters=filters, q=q, sort=sort, cursor=cursor, limit=batch)
        yield from page.items
        if not page.next_cursor:
            return
        cursor = page.next_cursor


# ---------------------------------------------------------------- writing


def etag(obj: Any) -> str:
    return f'"{obj.version}"'


def check_etag(obj: Any, if_match: str | None, *, required: bool = True) -> None:
    """Refuse a write on a record that changed since the client read it (412), or, when ``required``, a write
    that does not say which version it read (428). Without ``If-Match`` and not required: no check."""
    if if_match is None:
        if not required:
            return
        raise PreconditionRequired(
            "send If-Match with the ETag you read, so no update is lost", [Problem("If-Match", "header missing")]
        )
    tags = {t.strip().removeprefix("W/") for t in if_match.split(",")}
    if "*" not in tags and etag(obj) not in tags:
        raise PreconditionFailed(
            f"record changed since you read it (current ETag {etag(obj)})",
            [Problem("If-Match", f"does not match current ETag {etag(obj)}")],
        )


def check_references(session: Session, res: Resource, data: dict[str, Any]) -> list[Problem]:
    problems = []
    for ref in res.references:
        value = data.get(ref.field)
        if value is None:
            continue
        exists = session.scalar(select(getattr(ref.model, ref.column)).where(getattr(ref.model, ref.column) == value))
        if exists is None:
            problems.append(Problem(ref.field, f"no {ref.model.__tablename__} record {value!r}"))
    return problems


def _check_uniques(session: Session, res: Resource, data: dict[str, Any], exclude: Any = None) -> list[Problem]:
    problems = []
    for fields in res.uniques:
        if any(data.get(f) is None for f in fields):
            continue  # as in SQL, a unique constraint does not compare NULLs
        stmt = select(res.key_column).where(*(getattr(res.model, f) == data[f] for f in fields))
        if exclude is not None:
            stmt = stmt.where(res.key_column != exclude)
        if session.scalar(stmt.limit(1)) is not None:
            problems.append(Problem(",".join(fields), "a record with these values already exists"))
    return problems


def validate_writes(session: Session, res: Resource, data: dict[str, Any], exclude: Any = None) -> None:
    problems = check_references(session, res, data)
    if res.check:
        problems += res.check(session, data)
    dup = _check_uniques(session, res, data, exclude)
    if problems:
        raise ReferenceNotFound("input names records that do not exist", problems + dup)
    if dup:
        raise Duplicate("record already exists", dup)


def snapshot(res: Resource, obj: Any) -> dict[str, Any]:
    """The record as its API shows it (for the audit log's before/after)."""
    return res.out.model_validate(obj).model_dump(mode="json")


def create_record(session: Session, res: Resource, payload: BaseModel, *, actor: Actor = SYSTEM) -> Any:
    data = payload.model_dump()
    validate_writes(session, res, data)
    if res.key != "id" and session.get(res.model, data[res.key]) is not None:
        raise Duplicate("record already exists", [Problem(res.key, f"{data[res.key]!r} already exists")])
    obj = res.build(session, res.model, data)
    session.add(obj)
    session.flush()
    audit.record(session, actor, "create", res.name, getattr(obj, res.key), None, snapshot(res, obj))
    return obj


def current_view(res: Resource, obj: Any) -> dict[str, Any]:
    if res.view:
        return res.view(obj)
    return {name: getattr(obj, name) for name in res.create.model_fields}


def update_record(
    session: Session, res: Resource, key: Any, patch: BaseModel, if_match: str | None, *, actor: Actor = SYSTEM
) -> Any:
    obj = get_record(session, res, key)
    check_etag(obj, if_match)
    before = snapshot(res, obj)
    changes = patch.model_dump(exclude_unset=True)
    if res.key in changes and changes[res.key] != getattr(obj, res.key):
        raise Invalid("the key of a record cannot change", [Problem(res.key, "cannot be changed")])
    merged = {**current_view(res, obj), **changes}
    try:
        full = res.create.model_validate(merged)
    except ValidationError as exc:
        raise Invalid("update makes the record invalid", problems_from_validation(exc)) from exc
    data = full.model_dump()
    validate_writes(session, res, data, exclude=getattr(obj, res.key))
    if res.assign:
        res.assign(session, obj, {k: data[k] for k in changes})
    else:
        for name in changes:
            setattr(obj, name, data[name])
    session.flush()
    audit.record(session, actor, "update", res.name, key, before, snapshot(res, obj))
    return obj


def delete_record(
    session: Session, res: Resource, key: Any, if_match: str | None = None, *, actor: Actor = SYSTEM
) -> None:
    obj = get_record(session, res, key)
    check_etag(obj, if_match, required=False)
    before = snapshot(res, obj)
    session.delete(obj)
    try:
        session.flush()
    except IntegrityError as exc:  # a RESTRICT foreign key: other records still refer to this one
        raise Conflict(
            f"{res.name} {key!r} is still referred to by other records; delete or change those first",
            [Problem(res.key, "still referenced")],
        ) from exc
    audit.record(session, actor, "delete", res.name, key, before, None)


def problems_from_validation(
    exc: ValidationError, prefix: Sequence[str] = (), line: int | None = None
) -> list[Problem]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in (*prefix, *err["loc"])) or "body"
        out.append(Problem(loc, err["msg"].removeprefix("Value error, "), line))
    return out
