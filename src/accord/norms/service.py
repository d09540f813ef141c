"""Domain logic of norms and agreements."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accord.core.errors import NotFound
from accord.core.records import Reference, Resource
from accord.core.types import CountryCode, QueryModel, Str
from accord.directory.models import Organisation, State
from accord.norms import schemas as s
from accord.norms.models import Commitment, Instrument, Provision


class InstrumentFilter(QueryModel):
    kind: s.InstrumentKind | None = None
    organisation: Str | None = None


class ProvisionFilter(QueryModel):
    instrument: Str | None = None


class CommitmentFilter(QueryModel):
    instrument: Str | None = None
    state: CountryCode | None = None
    status: s.CommitmentStatus | None = None


INSTRUMENTS = Resource(
    name="instruments",
    model=Instrument,
    key="code",
    create=s.InstrumentCreate,
    update=s.InstrumentUpdate,
    out=s.InstrumentOut,
    filters=InstrumentFilter,
    equal_filters={"kind": "kind", "organisation": "organisation_code"},
    search=("name", "short_name", "code", "description"),
    sorts=("code", "name", "adopted"),
    references=(Reference("organisation_code", Organisation),),
)
PROVISIONS = Resource(
    name="provisions",
    model=Provision,
    create=s.ProvisionCreate,
    update=s.ProvisionUpdate,
    out=s.ProvisionOut,
    filters=ProvisionFilter,
    equal_filters={"instrument": "instrument_code"},
    search=("title", "summary", "code"),
    sorts=("id", "position", "code"),
    references=(Reference("instrument_code", Instrument),),
    uniques=(("instrument_code", "code"),),
)
COMMITMENTS = Resource(
    name="commitments",
    model=Commitment,
    create=s.CommitmentCreate,
    update=s.CommitmentUpdate,
    out=s.CommitmentOut,
    filters=CommitmentFilter,
    equal_filters={"instrument": "instrument_code", "state": "state_code", "status": "status"},
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
        {
            "instrument_code": c.instrument_code,
            "instrument_name": short or name,
            "status": c.status,
            "date": c.date,
            "reservations": c.reservations,
            "sources": c.sources,
        }
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
        .where(Commitment.instrument_code == code)
        .group_by(Commitment.status)
    )
    return dict(rows.all())
