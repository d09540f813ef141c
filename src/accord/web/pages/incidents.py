"""Incident pages: the filtered list, one incident with its timeline, and the create / edit form."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from accord.audit.service import Actor
from accord.core import records
from accord.core.errors import Invalid, NotFound, PreconditionFailed, PreconditionRequired, Problem
from accord.incidents import schemas as s
from accord.incidents import service as incidents
from accord.web.deps import DbSession
from accord.web.pages import incident_form as form
from accord.web.pages.common import list_context, list_page, parse_listing, render, require_write, state_names
from accord.web.pages.lookups import actors_by_id, incident_by_ref, provisions_by_id
from accord.web.pages.timeline import incident_timeline

router = APIRouter()
STALE = (
    "This incident was changed by someone else after you opened the form, so your changes were not saved. "
    "Open the current version, then apply your changes again."
)


async def posted(request: Request) -> dict[str, Any]:
    return form.values_from_form(await request.form())


Posted = Annotated[dict[str, Any], Depends(posted)]


def _incident(session: Session, ref: str) -> Any:
    obj = incident_by_ref(session, ref)
    if obj is None:
        raise NotFound(f"no incident {ref!r}")
    return obj


@router.get("/incidents", response_class=HTMLResponse, include_in_schema=False)
def incident_list(request: Request, session: DbSession) -> HTMLResponse:
    listing = parse_listing(request, incidents.INCIDENTS)
    page, notice = list_page(session, incidents.INCIDENTS, listing, sort="-start_date")
    return render(request, "incidents.html", list_context(session, incidents.INCIDENTS, listing, page, notice))


def _related(session: Session, res: records.Resource, incident_id: int) -> list[Any]:
    return records.list_records(session, res, filters=res.filters(incident=incident_id), sort="date", limit=1000).items


@router.get("/incidents/new", response_class=HTMLResponse, include_in_schema=False)
def new_form(request: Request, session: DbSession) -> HTMLResponse:
    require_write(request)
    return _form(request, session, form.blank_values(), None, [])


@router.post("/incidents/new", include_in_schema=False)
def create(request: Request, session: DbSession, values: Posted) -> Response:
    user = require_write(request)
    try:
        payload = s.IncidentCreate.model_validate(form.payload(values, with_slug=True))
        obj = records.create_record(session, incidents.INCIDENTS, payload, actor=Actor.of(user))
        session.commit()
    except ValidationError as exc:
        return _form(request, session, values, None, records.problems_from_validation(exc), status=422)
    except Invalid as exc:
        session.rollback()
        return _form(request, session, values, None, exc.problems, status=422)
    return RedirectResponse(f"/incidents/{obj.id}", status_code=303)


@router.get("/incidents/{ref}", response_class=HTMLResponse, include_in_schema=False)
def incident_page(request: Request, session: DbSession, ref: str) -> HTMLResponse:
    obj = _incident(session, ref)
    attributions = _related(session, incidents.ATTRIBUTIONS, obj.id)
    responses = _related(session, incidents.RESPONSES, obj.id)
    findings = _related(session, incidents.NORM_FINDINGS, obj.id)
    names = state_names(session)
    actor_ids = [*obj.actor_ids, *(a.attributed_actor_id for a in attributions)]
    return render(
        request,
        "incident.html",
        {
            "i": obj,
            "attributions": attributions,
            "responses": responses,
            "findings": findings,
            "actors": actors_by_id(session, actor_ids),
            "provisions": provisions_by_id(session, (f.provision_id for f in findings)),
            "names": names,
            "timeline": incident_timeline(obj, attributions, responses, findings, names),
        },
    )


@router.get("/incidents/{ref}/edit", response_class=HTMLResponse, include_in_schema=False)
def edit_form(request: Request, session: DbSession, ref: str) -> HTMLResponse:
    require_write(request)
    obj = _incident(session, ref)
    return _form(request, session, form.values_of(obj), obj, [], version=str(obj.version))


@router.post("/incidents/{ref}/edit", include_in_schema=False)
def update(request: Request, session: DbSession, ref: str, values: Posted) -> Response:
    user = require_write(request)
    obj = _incident(session, ref)
    version = values["version"]  # the version the form was opened at: its ETag goes to If-Match
    try:
        patch = s.IncidentUpdate.model_validate(form.payload(values, with_slug=False))
        records.update_record(
            session, incidents.INCIDENTS, obj.id, patch, f'"{version}"' if version else None, actor=Actor.of(user)
        )
        session.commit()
    except ValidationError as exc:
        return _form(request, session, values, obj, records.problems_from_validation(exc), 422, version)
    except (PreconditionFailed, PreconditionRequired):
        session.rollback()
        return _form(request, session, values, obj, [Problem("version", STALE)], 409, version)
    except Invalid as exc:
        session.rollback()
        return _form(request, session, values, obj, exc.problems, 422, version)
    return RedirectResponse(f"/incidents/{obj.id}", status_code=303)


def _form(
    request: Request,
    session: Session,
    values: dict[str, Any],
    obj: Any,
    problems: list[Problem],
    status: int = 200,
    version: str = "",
) -> HTMLResponse:
    rows = values["receivers"] + [dict.fromkeys(form.RECEIVER_PARTS, "")] * form.BLANK_ROWS
    return render(
        request,
        "incident_form.html",
        {
            "values": values,
            "rows": rows,
            "incident": obj,
            "version": version,
            "errors": form.errors_by_field(problems),
            "problems": problems,
            "choices": form.choices(),
            "names": state_names(session),
        },
        status=status,
    )
