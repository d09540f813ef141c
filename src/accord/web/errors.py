"""One place that renders errors: RFC 9457 problem+json for the API."""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from accord.core.errors import AccordError, Problem, Unauthorized

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


def wants_html(request: Request) -> bool:
    """Pages get HTML errors; the API (and anything asking for JSON) gets problem+json."""
    path = request.url.path
    if path.startswith(("/api/", "/taxii2/")) or path == "/healthz":
        return False
    return "application/json" not in request.headers.get("accept", "")


def is_taxii(request: Request) -> bool:
    return request.url.path.startswith("/taxii2")


def taxii_error(request: Request, status: int, title: str, detail: str | None = None) -> Response:
    """TAXII error message with the TAXII media type, for every error on /taxii2 (401 and 500 included)."""
    from accord.sharing.taxii import error_body, taxii_response

    headers = {"WWW-Authenticate": 'Basic realm="accord", Bearer realm="accord"'} if status == 401 else None
    return taxii_response(error_body(status, title, detail), status=status, headers=headers)


async def _domain(request: Request, exc: AccordError) -> Response:
    if is_taxii(request):
        return taxii_error(request, exc.status, exc.title, exc.detail)
    if wants_html(request):
        return html_error(request, exc)
    headers = {"WWW-Authenticate": 'Bearer realm="accord"'} if isinstance(exc, Unauthorized) else None
    return problem_response(exc.status, exc.title, exc.detail, exc.slug, exc.problems, str(request.url.path), headers)


def html_error(request: Request, exc: AccordError) -> Response:
    """An HTML error page; a visitor who must sign in is sent to the sign-in page instead."""
    if isinstance(exc, Unauthorized) and request.method == "GET":
        target = quote(str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""), safe="")
        return RedirectResponse(f"/login?next={target}", status_code=303)
    renderer = getattr(request.app.state, "render_error", None)
    if renderer is not None:
        return renderer(request, exc)
    body = (
        f"<!doctype html><html lang=en><title>{escape(exc.title)}</title><main><h1>{escape(exc.title)}</h1>"
        f"<p>{escape(exc.detail)}</p><ul>{''.join(f'<li>{escape(str(p))}</li>' for p in exc.problems)}</ul>"
        f"<p><a href='/'>Back to the start page</a></p></main></html>"
    )
    return HTMLResponse(body, status_code=exc.status)


async def _validation(request: Request, exc: RequestValidationError) -> Response:
    problems = [Problem(_loc(tuple(e["loc"])), str(e["msg"]).removeprefix("Value error, ")) for e in exc.errors()]
    if is_taxii(request):
        return taxii_error(request, 400, "Bad request", "; ".join(str(p) for p in problems))
    if wants_html(request):
        from accord.core.errors import Invalid

        return html_error(request, Invalid(f"{len(problems)} problem(s) in the request", problems))
    return problem_response(
        422,
        "Invalid input",
        f"{len(problems)} problem(s) in the request",
        "invalid-input",
        problems,
        str(request.url.path),
    )


async def _http(request: Request, exc: StarletteHTTPException) -> Response:
    slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
    if is_taxii(request):
        return taxii_error(request, exc.status_code, str(exc.detail))
    if wants_html(request):
        error = AccordError(str(exc.detail))
        error.status, error.title = exc.status_code, str(exc.detail)  # type: ignore[misc]
        return html_error(request, error)
    return problem_response(
        exc.status_code,
        str(exc.detail),
        str(exc.detail),
        slug,
        None,
        str(request.url.path),
        getattr(exc, "headers", None),
    )


async def _unexpected(request: Request, exc: Exception) -> Response:
    """Renders an unexpected failure (it is still logged by the server); nothing is swallowed silently."""
    if is_taxii(request):
        return taxii_error(request, 500, "Internal server error", "the server failed; the error has been logged")
    return problem_response(
        500,
        "Internal server error",
        "the server failed; the error has been logged",
        "internal-error",
        None,
        str(request.url.path),
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(Exception, _unexpected)
    app.add_exception_handler(AccordError, _domain)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http)  # type: ignore[arg-type]
