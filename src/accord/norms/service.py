"""Domain logic of norms and agreements."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from accord.core.errors import NotFound
from accord.core.records import Reference, Resource
from accord.core.types import Str, QueryModel, CountryCode
from accord.directory.models import Organisation, State
from accord.norms import schemas as s
from accord.norms.models import Commitment, Instrument, Provision


class InstrumentFilter(QueryModel):
    kind: s.InstrumentKind | None = None
    organisation: Str | None = None


def _filter_instruments(stmt: Select[Any], f: InstrumentFilter) -> Select[Any]:
    if f.kind:
        stmt = stmt.where(Instrument.kind == f.kind)
    if f.organisation:
        stmt = stmt.where(Instrument.organisation_code == f.organisation)
    return stmt


class ProvisionFilter(QueryModel):
    instrument: Str | None = None


def _filter_provisions(stmt: Select[Any], f: ProvisionFilter) -> Select[Any]:
    return stmt.where(Provision.instrument_code == f.instrument) if f.instrument else stmt


class CommitmentFilter(QueryModel):
    instrument: Str | None = None
    state: CountryCode | None = None
    status: s.CommitmentStatus | None = None


def _filter_commitments(stmt: Select[Any], f: CommitmentFilter) -> Select[Any]:
    if f.instrument:
        stmt = stmt.where(Commitment.instrument_code == f.instrument)
    if f.state:
        stmt = stmt.where(Commitment.state_code == f.state)
    if f.status:
        stmt = stmt.where(Commitment.status == f.status)
    return stmt


INSTRUMENTS = Resource(
    name="instruments", model=Instrument, key="code", create=s.InstrumentCreate, update=s.InstrumentUpdate,
    out=s.InstrumentOut, filters=InstrumentFilter, apply_filters=_filter_instruments,
    search=("name", "short_name", "code", "description"), sorts=("code", "name", "adopted"),
    references=(Reference("organisation_code", Organisation),),
)
PROVISIONS = Resource(
    name="provisions", model=Provision, create=s.ProvisionCreate, update=s.ProvisionUpdate, out=s.ProvisionOut,
    filters=ProvisionFilter, apply_filters=_filter_provisions, search=("title", "summary", "code"),
    sorts=("id", "position", "code"), references=(Reference("instrument_code", Instrument),),
    uniques=(("instrument_code", "code"),),
)
COMMITMENTS = Resource(
    name="commitments", model=Commitment, create=s.CommitmentCreate, update=s.CommitmentUpdate,
    out=s.CommitmentOut, filters=CommitmentFilter, apply_filters=_filter_commitments,
    sorts=("id", "date", "state_code", "instrument_code"),
    references=(Reference("instrument_code", Instrument), Reference("state_code", State)),
    uniques=(("instrument_code", "state_code", "status", "date"),),
)

RESOURCES = (INSTRUMENTS, PROVISIONS, COMMITMENTS)

# Which event decides a state's standing: a later withdrawal overrides a ratification, etc.
_RANK = {"signed": 1, "endorsed": 2, "acceded": 3, "ratified": 3, "withdrawn": 4}


def provision_id(session: Session, ref: str) -> int | None:
    """Resolve ``INSTRUMENT/code`` to a provision id."""
    instrument, _, code = ref.partition("/")
    return session.scalar(select(Provision.id).where(Provision.instrument_code == instrument, Provision.code == code))


def provision_refs(session: Session, ids: list[int]) -> dict[int, str]:
    rows = session.execute(select(Provision.id, Provision.instrument_code, Provision.code).where(Provision.id.in_(ids)))
    return {pid: f"{inst}/{code}" for pid, inst, code in rows}


def commitments_of(session: Session, code: str) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Commitment, Instrument.name, Instrument.short_name)
        .join(Instrument, Instrument.code == Commitment.instrument_code)
        .where(Commitment.state_code == code)
        .order_by(Commitment.instrument_code, Commitment.date.nulls_last())
    )
    return [
        {"instrument_code": c.instrument_code, "instrument_name": short or name, "status": c.status,
         "date": c.date, "reservations": c.reservations, "sources": c.sources}
        for c, name, short in rows
    ]


def current_status(events: list[tuple[str, Any]]) -> str | None:
    """A state's standing from its dated events: the latest event wins, ties by rank."""
    if not events:
        return None
    ordered = sorted(events, key=lambda e: (e[1] is not None, e[1] or 0, _RANK.get(e[0], 0)))
    return ordered[-1][0]


def instrument_status_counts(session: Session, code: str) -> dict[str, int]:
    if session.get(Instrument, code) is None:
        raise NotFound(f"no instrument {code!r}")
    rows = session.execute(
        select(Commitment.status, func.count(func.distinct(Commitment.state_code)))
        .where(Commitment.instrument_code == code).group_by(Commitment.status)
    )
    return dict(rows.all())
