"""One place that renders errors: RFC 9457 problem+json for the API."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from accord.core.errors import AccordError, Problem

PROBLEM = "application/problem+json"


def problem_response(
    status: int,
    title: str,
    detail: str,
    slug: str,
    problems: list[Problem] | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://accord.example/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if problems:
        body["errors"] = [p.as_dict() for p in problems]
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _loc(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        where, rest = parts[0], parts[1:]
        return ".".join(rest) if rest else where
    return ".".join(parts)


async def _domain(request: Request, exc: AccordError) -> JSONResponse:
    return problem_response(exc.status, exc.title, exc.detail, exc.slug, exc.problems, str(request.url.path))


async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = [Problem(_loc(tuple(e["loc"])), str(e["msg"]).removeprefix("Value error, ")) for e in exc.errors()]
    return problem_response(
        422,
        "Invalid input",
        f"{len(problems)} problem(s) in the request",
        "invalid-input",
        problems,
        str(request.url.path),
    )


async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
    return problem_response(
        exc.status_code,
        str(exc.detail),
        str(exc.detail),
        slug,
        None,
        str(request.url.path),
        getattr(exc, "headers", None),
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(AccordError, _domain)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http)  # type: ignore[arg-type]
