"""Faces of node-to-node delivery: the federation inbox (for peer nodes) and the signed acknowledgement page
(for people reached by e-mail). Neither needs a signed-in user: the signature, or the signed token, is the
authority — so these routes are mounted without the read-access rule of the other pages.

    POST /federation/v1/inbox     body: a JWS compact envelope (application/jose); 200 {"receipt": "<jws>"}
                                  or problem+json 400/401/409/413 (see ``accord.crisis.inbox``)
    GET  /ack/{token}             what the link acknowledges, and a button (GET never changes anything:
                                  mail scanners prefetch links)
    POST /ack/{token}             acknowledges (CSRF-checked form), shows the outcome
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from accord.core.errors import AccordError, BadRequest
from accord.crisis import inbox, links, node, registry
from accord.db import unit_of_work, utcnow
from accord.web.errors import problem_response
from accord.web.pages.common import render
from accord.web.security import client_address, verify_csrf

router = APIRouter(tags=["federation"])

_ENVELOPE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {  # the body is read as is, whatever the declared type
            "application/jose": {"schema": {"type": "string", "description": "a JWS compact envelope (EdDSA)"}},
            "text/plain": {"schema": {"type": "string", "description": "the same, for clients without JOSE types"}},
        },
    }
}


def _act_as_this_node(request: Request) -> None:
    """Handlers act as the node they run in (``crisis.service.use_node``), not a default from the environment."""
    from accord.crisis import service

    use_node = getattr(service, "use_node", None)
    node_cls = getattr(service, "Node", None)
    if use_node is not None and node_cls is not None:
        use_node(node_cls.from_settings(request.app.state.settings))


async def _read_limited(request: Request, limit: int) -> bytes | None:
    """The request body, or None if it is larger than ``limit`` (not read further)."""
    declared = request.headers.get("content-length", "")
    if declared.isdecimal() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/federation/v1/inbox",
    summary="Signed envelopes from peer nodes",
    openapi_extra=_ENVELOPE_BODY,
    responses={200: {"description": 'the signed receipt: {"receipt": "<jws>"}'}},
)
async def post_inbox(request: Request) -> Response:
    settings = request.app.state.settings
    remote = client_address(request)
    body = await _read_limited(request, inbox.MAX_BODY)
    if body is None:
        await run_in_threadpool(
            inbox.record_refusal,
            request.app.state.sessions,
            b"",
            reason=f"envelope larger than {inbox.MAX_BODY} bytes",
            remote_addr=remote,
        )
        exc: AccordError = inbox.TooLarge(f"at most {inbox.MAX_BODY} bytes")
        return problem_response(exc.status, exc.title, exc.detail, exc.slug, instance=request.url.path)

    def receive() -> inbox.Accepted:
        _act_as_this_node(request)
        return inbox.receive(
            request.app.state.sessions,
            body,
            identity=node.identity(settings),
            max_age=dt.timedelta(minutes=settings.envelope_max_age_minutes),
            remote_addr=remote,
        )

    try:
        accepted = await run_in_threadpool(receive)
    except inbox.InboxRefused as exc:  # always problem+json, whatever the Accept header says
        return problem_response(exc.status, exc.title, exc.detail, exc.slug, instance=request.url.path)
    return JSONResponse({"receipt": accepted.receipt, "duplicate": accepted.duplicate})


# ---------------------------------------------------------------- signed acknowledgement links


def _claims(request: Request, token: str, now: dt.datetime) -> dict[str, Any]:
    return links.check(request.app.state.settings, token, now)


def _view(claims: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": claims["kind"],
        "what": claims.get("what") or f"{str(claims['kind']).replace('-', ' ')} {claims['sub']}",
        "expires": links.expires_at(claims),
    }


@router.get("/ack/{token}", response_class=HTMLResponse, include_in_schema=False)
def ack_form(request: Request, token: str) -> HTMLResponse:
    claims = _claims(request, token, utcnow())
    return render(request, "crisis/ack.html", {"token": token, "link": _view(claims), "outcome": None})


@router.post("/ack/{token}", response_class=HTMLResponse, include_in_schema=False, dependencies=[Depends(verify_csrf)])
def ack(request: Request, token: str) -> HTMLResponse:
    now = utcnow()
    claims = _claims(request, token, now)
    registry.load_all()
    handler = registry.LINKS.get(str(claims["kind"]))
    if handler is None:
        raise BadRequest(f"this node no longer acknowledges links of kind {claims['kind']!r}")
    _act_as_this_node(request)
    with unit_of_work(request.app.state.sessions) as session:
        outcome = handler(session, claims, now)
    return render(request, "crisis/ack.html", {"token": token, "link": _view(claims), "outcome": outcome})
