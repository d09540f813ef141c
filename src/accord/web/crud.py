"""Build the REST routes of a declared :class:`~accord.core.records.Resource`.

Each route parses input, calls one service function and serialises the result; the routes are
the same for every resource, so they are written once, here.
"""

import csv
import io
import json
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, create_model

from accord.audit.service import Actor
from accord.auth.access import read_access, write_access
from accord.core import records
from accord.core.records import Resource
from accord.web.deps import DbSession
from accord.web.security import verify_csrf

TEXT_PATTERN = r"^[^\x00]*$"  # NUL cannot be stored or searched in PostgreSQL


def page_model(res: Resource) -> type[BaseModel]:
    return create_model(
        f"{res.out.__name__.removesuffix('Out')}Page",
        items=(list[res.out], ...),  # type: ignore[name-defined]
        next_cursor=(str | None, None),
    )


def _out(res: Resource, obj: Any) -> dict[str, Any]:
    return res.out.model_validate(obj).model_dump(mode="json")


def _csv_value(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return value


def export_rows(res: Resource, objs: Any, fmt: str) -> Iterator[str]:
    """Serialise records as CSV (header + one row each) or as a JSON array, streamed."""
    fields = list(res.out.model_fields)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(fields)
        for obj in objs:
            row = _out(res, obj)
            writer.writerow([_csv_value(row[f]) for f in fields])
            if buf.tell() > 65536:
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue()
        return
    yield "["
    for i, obj in enumerate(objs):
        yield ("," if i else "") + json.dumps(_out(res, obj), ensure_ascii=False)
    yield "]"


def crud_router(res: Resource, *, max_limit: int = 1000, default_limit: int = 50) -> APIRouter:
    router = APIRouter(prefix=f"/{res.name}", tags=[res.name])
    Reader = Annotated[Any, Depends(read_access(res.read_permission))]
    Writer = Annotated[Any, Depends(write_access(res.write_permission, verify_csrf))]
    Filters = res.filters or create_model(f"{res.name}Filters")
    Page = page_model(res)
    Key = (
        Annotated[int, Path(ge=1, le=2**31 - 1)]
        if records.key_type(res) is int
        else Annotated[str, Path(max_length=120, pattern=TEXT_PATTERN)]
    )
    label = res.name.replace("-", " ")
    sort_values = tuple(
        dict.fromkeys([*res.sorts, *("-" + s.lstrip("-") for s in res.sorts), *(s.lstrip("-") for s in res.sorts)])
    )
    Sort = Literal[sort_values]  # type: ignore[valid-type]

    @router.get("", response_model=Page, summary=f"List {label}")
    def list_(
        session: DbSession,
        _user: Reader,
        filters: Annotated[Filters, Query()],  # type: ignore[valid-type]
        q: Annotated[
            str | None, Query(max_length=200, pattern=TEXT_PATTERN, description="case-insensitive text search")
        ] = None,
        sort: Annotated[Sort | None, Query(description="field to sort by; prefix - for descending")] = None,
        cursor: Annotated[
            str | None,
            Query(max_length=2000, pattern=r"^[A-Za-z0-9_-]*$", description="next_cursor of the previous page"),
        ] = None,
        limit: Annotated[int, Query(ge=1, le=max_limit)] = default_limit,
    ) -> Any:
        page = records.list_records(session, res, filters=filters, q=q, sort=sort, cursor=cursor, limit=limit)
        return {"items": [_out(res, o) for o in page.items], "next_cursor": page.next_cursor}

    @router.get(
        "/export",
        summary=f"Export {label} as CSV or JSON",
        responses={200: {"content": {"text/csv": {}, "application/json": {}}}},
    )
    def export(
        session: DbSession,
        _user: Reader,
        filters: Annotated[Filters, Query()],  # type: ignore[valid-type]
        format: Annotated[Literal["csv", "json"], Query()] = "csv",
        q: Annotated[str | None, Query(max_length=200, pattern=TEXT_PATTERN)] = None,
    ) -> StreamingResponse:
        objs = list(records.iter_records(session, res, filters=filters, q=q))
        media = "text/csv; charset=utf-8" if format == "csv" else "application/json"
        headers = {"Content-Disposition": f'attachment; filename="{res.name}.{format}"'}
        return StreamingResponse(export_rows(res, objs, format), media_type=media, headers=headers)

    @router.get(
        "/{key}", response_model=res.out, summary=f"Read one of {label}", responses={404: {"description": "not found"}}
    )
    def read(session: DbSession, _user: Reader, key: Key, response: Response) -> Any:  # type: ignore[valid-type]
        obj = records.get_record(session, res, key)
        response.headers["ETag"] = records.etag(obj)
        return _out(res, obj)

    @router.post(
        "",
        response_model=res.out,
        status_code=201,
        summary=f"Create one of {label}",
        responses={422: {"description": "invalid input (problem+json)"}},
    )
    def create(session: DbSession, user: Writer, payload: res.create, response: Response) -> Any:  # type: ignore[name-defined]
        obj = records.create_record(session, res, payload, actor=Actor.of(user))
        session.commit()
        response.headers["ETag"] = records.etag(obj)
        response.headers["Location"] = f"{router.prefix}/{getattr(obj, res.key)}"
        return _out(res, obj)

    @router.patch(
        "/{key}",
        response_model=res.out,
        summary=f"Update one of {label} (If-Match required)",
        responses={404: {}, 412: {"description": "ETag mismatch"}, 428: {"description": "If-Match missing"}},
    )
    def update(
        session: DbSession,
        user: Writer,
        key: Key,
        payload: res.update,
        response: Response,  # type: ignore[name-defined,valid-type]
        if_match: Annotated[str | None, Header()] = None,
    ) -> Any:
        obj = records.update_record(session, res, key, payload, if_match, actor=Actor.of(user))
        session.commit()
        response.headers["ETag"] = records.etag(obj)
        return _out(res, obj)

    @router.delete(
        "/{key}",
        status_code=204,
        summary=f"Delete one of {label}",
        responses={404: {}, 412: {"description": "ETag mismatch"}},
    )
    def delete(
        session: DbSession,
        user: Writer,
        key: Key,  # type: ignore[valid-type]
        if_match: Annotated[str | None, Header()] = None,
    ) -> Response:
        records.delete_record(session, res, key, if_match, actor=Actor.of(user))
        session.commit()
        return Response(status_code=204)

    return router
