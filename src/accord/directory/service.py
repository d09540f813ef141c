"""Domain logic of the directory: resource declarations, filters and the state profile."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from accord.core.records import Reference, Resource
from accord.core.types import CountryCode, QueryModel, Str
from accord.directory import schemas as s
from accord.directory.models import Agency, Membership, Organisation, PointOfContact, State


class StateFilter(QueryModel):
    un_status: s.UnStatus | None = None
    region: Str | None = None
    subregion: Str | None = None
    organisation: Str | None = None


def _filter_states(stmt: Select[Any], f: StateFilter) -> Select[Any]:
    if f.organisation:
        current = select(Membership.state_code).where(
            Membership.organisation_code == f.organisation, Membership.left.is_(None)
        )
        stmt = stmt.where(State.code.in_(current))
    return stmt


class MembershipFilter(QueryModel):
    organisation: Str | None = None
    state: CountryCode | None = None
    role: s.MemberRole | None = None
    current: bool | None = None
    on: dt.date | None = None


def membership_active_on(day: dt.date) -> Any:
    return (
        or_(Membership.joined.is_(None), Membership.joined <= day),
        or_(Membership.left.is_(None), Membership.left > day),
    )


def _filter_memberships(stmt: Select[Any], f: MembershipFilter) -> Select[Any]:
    if f.current is True:
        stmt = stmt.where(Membership.left.is_(None))
    elif f.current is False:
        stmt = stmt.where(Membership.left.is_not(None))
    if f.on:
        stmt = stmt.where(*membership_active_on(f.on))
    return stmt


class OrganisationFilter(QueryModel):
    kind: s.OrgKind | None = None


class AgencyFilter(QueryModel):
    state: CountryCode | None = None
    kind: s.AgencyKind | None = None


class PocFilter(QueryModel):
    state: CountryCode | None = None
    role: s.PocRole | None = None
    current: bool | None = None


def _filter_pocs(stmt: Select[Any], f: PocFilter) -> Select[Any]:
    if f.current is not None:
        today = dt.datetime.now(dt.UTC).date()
        active = or_(PointOfContact.valid_to.is_(None), PointOfContact.valid_to >= today)
        stmt = stmt.where(active if f.current else ~active)
    return stmt


def _check_poc_agency(session: Session, data: dict[str, Any]) -> list[Any]:
    from accord.core.errors import Problem

    agency_id = data.get("agency_id")
    if agency_id is None:
        return []
    agency = session.get(Agency, agency_id)
    if agency is None:
        return [Problem("agency_id", f"no agency with id {agency_id}")]
    if agency.state_code != data.get("state_code"):
        return [
            Problem("agency_id", f"agency {agency_id} belongs to {agency.state_code}, not {data.get('state_code')}")
        ]
    return []


STATES = Resource(
    name="states",
    model=State,
    key="code",
    create=s.StateCreate,
    update=s.StateUpdate,
    out=s.StateOut,
    filters=StateFilter,
    apply_filters=_filter_states,
    equal_filters={"un_status": "un_status", "region": "m49_region", "subregion": "m49_subregion"},
    search=("name", "code", "alpha3"),
    sorts=("name", "code", "un_admission", "m49_region"),
)
ORGANISATIONS = Resource(
    name="organisations",
    model=Organisation,
    key="code",
    create=s.OrganisationCreate,
    update=s.OrganisationUpdate,
    out=s.OrganisationOut,
    filters=OrganisationFilter,
    equal_filters={"kind": "kind"},
    search=("name", "code", "description"),
    sorts=("code", "name", "founded"),
)
MEMBERSHIPS = Resource(
    name="memberships",
    model=Membership,
    create=s.MembershipCreate,
    update=s.MembershipUpdate,
    out=s.MembershipOut,
    filters=MembershipFilter,
    apply_filters=_filter_memberships,
    equal_filters={"organisation": "organisation_code", "state": "state_code", "role": "role"},
    sorts=("id", "joined", "state_code", "organisation_code"),
    references=(Reference("organisation_code", Organisation), Reference("state_code", State)),
    uniques=(("organisation_code", "state_code", "joined"),),
)
AGENCIES = Resource(
    name="agencies",
    model=Agency,
    create=s.AgencyCreate,
    update=s.AgencyUpdate,
    out=s.AgencyOut,
    filters=AgencyFilter,
    equal_filters={"state": "state_code", "kind": "kind"},
    search=("name",),
    sorts=("id", "name", "state_code"),
    references=(Reference("state_code", State),),
    write_permission="contacts:write",
)
POINTS_OF_CONTACT = Resource(
    name="points-of-contact",
    model=PointOfContact,
    create=s.PointOfContactCreate,
    update=s.PointOfContactUpdate,
    out=s.PointOfContactOut,
    filters=PocFilter,
    apply_filters=_filter_pocs,
    equal_filters={"state": "state_code", "role": "role"},
    read_permission="contacts:read",
    write_permission="contacts:write",
    search=("name", "title"),
    sorts=("id", "name", "state_code", "valid_from"),
    references=(Reference("state_code", State),),
    check=_check_poc_agency,
)

RESOURCES = (STATES, ORGANISATIONS, MEMBERSHIPS, AGENCIES, POINTS_OF_CONTACT)


def state_exists(session: Session, code: str) -> bool:
    return session.get(State, code) is not None


def memberships_of(session: Session, code: str) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Membership, Organisation.name)
        .join(Organisation, Organisation.code == Membership.organisation_code)
        .where(Membership.state_code == code)
        .order_by(Membership.joined.nulls_last(), Membership.organisation_code)
    )
    return [
        {
            "organisation_code": m.organisation_code,
            "organisation_name": name,
            "role": m.role,
            "joined": m.joined,
            "left": m.left,
            "current": m.left is None,
        }
        for m, name in rows
    ]


def agencies_of(session: Session, code: str) -> list[Agency]:
    return list(session.scalars(select(Agency).where(Agency.state_code == code).order_by(Agency.name)))


def contacts_of(session: Session, code: str) -> list[PointOfContact]:
    return list(
        session.scalars(
            select(PointOfContact).where(PointOfContact.state_code == code).order_by(PointOfContact.valid_from)
        )
    )
