"""Instrument pages: the list, and one instrument's provisions and every state's standing (table and map)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from accord.core import records
from accord.norms import service as norms
from accord.web import geo
from accord.web.deps import DbSession
from accord.web.pages.common import list_context, list_page, parse_listing, render, state_names

router = APIRouter()
STATUSES = ("ratified", "acceded", "signed", "endorsed", "withdrawn", "none")
LABELS = {**{s: s for s in STATUSES}, "none": "no commitment recorded"}


@router.get("/instruments", response_class=HTMLResponse, include_in_schema=False)
def instrument_list(request: Request, session: DbSession) -> HTMLResponse:
    listing = parse_listing(request, norms.INSTRUMENTS)
    page, notice = list_page(session, norms.INSTRUMENTS, listing, sort="adopted")
    return render(request, "instruments.html", list_context(session, norms.INSTRUMENTS, listing, page, notice))


def standings(session: Session, code: str, names: dict[str, str]) -> list[dict[str, Any]]:
    """Every state's current standing towards one instrument, with the events that led to it."""
    events: dict[str, list[Any]] = {}
    filters = norms.CommitmentFilter(instrument=code)
    for c in records.iter_records(session, norms.COMMITMENTS, filters=filters, sort="date"):
        events.setdefault(c.state_code, []).append(c)
    rows = []
    for state, name in names.items():
        mine = events.get(state, [])
        status = norms.current_status([(c.status, c.date) for c in mine]) or "none"
        rows.append({"code": state, "name": name, "status": status, "events": mine})
    rows.sort(key=lambda r: (STATUSES.index(r["status"]) if r["status"] in STATUSES else 99, r["name"]))
    return rows


@router.get("/instruments/{code}", response_class=HTMLResponse, include_in_schema=False)
def instrument(request: Request, session: DbSession, code: str) -> HTMLResponse:
    obj = records.get_record(session, norms.INSTRUMENTS, code)
    provisions = records.list_records(
        session, norms.PROVISIONS, filters=norms.ProvisionFilter(instrument=code), sort="position", limit=1000
    ).items
    names = state_names(session)
    rows = standings(session, code, names)
    counts = Counter(r["status"] for r in rows)
    world = geo.world()
    return render(
        request,
        "instrument.html",
        {
            "ins": obj,
            "provisions": provisions,
            "rows": rows,
            "counts": [(s, LABELS[s], counts.get(s, 0)) for s in STATUSES if counts.get(s) or s == "none"],
            "map": geo.choropleth({r["code"]: r["status"] for r in rows}, LABELS, names),
            "map_size": (world.width, world.height),
            "names": names,
        },
    )
