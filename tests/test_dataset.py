"""The bundled dataset: counts that are facts, spot checks of known records, provenance."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from accord.dataset.checks import check_data
from accord.directory.models import Membership, State
from accord.incidents.models import Attribution, Incident, Response, ThreatActor
from accord.norms.models import Commitment, Provision


def current_members(session, org: str) -> int:
    return session.scalar(
        select(func.count())
        .select_from(Membership)
        .where(
            Membership.organisation_code == org, Membership.left.is_(None), Membership.role.in_(["member", "suspended"])
        )
    )


@pytest.mark.parametrize(
    ("org", "count"), [("UN", 193), ("NATO", 32), ("EU", 27), ("OSCE", 57), ("COE", 46), ("G7", 7), ("SCO", 10)]
)
def test_membership_counts_are_facts(session, org, count):
    assert current_members(session, org) == count


def test_un_members_and_observers(session):
    statuses = dict(session.execute(select(State.un_status, func.count()).group_by(State.un_status)).all())
    assert statuses["member"] == 193
    assert statuses["observer"] == 2
    assert session.get(State, "VA").un_status == "observer"


def test_dated_memberships(session):
    def membership(org, state):
        return session.scalars(
            select(Membership).where(Membership.organisation_code == org, Membership.state_code == state)
        ).all()

    (fi,) = membership("NATO", "FI")
    assert fi.joined == dt.date(2023, 4, 4)
    (gb,) = membership("EU", "GB")
    assert gb.left == dt.date(2020, 1, 31)
    (ru,) = membership("COE", "RU")
    assert ru.left == dt.date(2022, 3, 16)


def test_instruments_and_provisions(session):
    gge = session.scalars(select(Provision.code).where(Provision.instrument_code == "UNGGE-2015")).all()
    assert sorted(gge) == list("abcdefghijk")
    cbms = session.scalar(select(func.count()).select_from(Provision).where(Provision.instrument_code == "OSCE-CBM"))
    assert cbms == 16
    paris = session.scalar(select(func.count()).select_from(Provision).where(Provision.instrument_code == "PARIS-CALL"))
    assert paris == 9


def test_budapest_parties(session):
    parties = session.scalar(
        select(func.count(func.distinct(Commitment.state_code))).where(
            Commitment.instrument_code == "BUDAPEST", Commitment.status.in_(["ratified", "acceded"])
        )
    )
    assert parties >= 76
    us = session.scalars(
        select(Commitment).where(Commitment.instrument_code == "BUDAPEST", Commitment.state_code == "US")
    ).all()
    assert {c.status for c in us} == {"signed", "ratified"}


def test_at_least_60_operations_with_attributions(session):
    assert session.scalar(select(func.count()).select_from(Incident)) >= 60
    years = session.scalars(select(Incident.start_date)).all()
    assert min(y for y in years if y).year <= 2007 and max(y for y in years if y).year >= 2024


def test_notpetya_joint_attribution(session):
    inc = session.scalar(select(Incident).where(Incident.name.ilike("%notpetya%")))
    atts = session.scalars(select(Attribution).where(Attribution.incident_id == inc.id)).all()
    joint = [a for a in atts if a.joint_group]
    assert {a.by_state for a in joint} >= {"GB", "US", "AU"}
    assert all(a.attributed_state == "RU" for a in joint)


def test_eu_sanctions_listings(session):
    days = set(
        session.scalars(select(Response.date).where(Response.by_organisation == "EU", Response.type == "sanctions"))
    )
    assert {dt.date(2020, 7, 30), dt.date(2020, 10, 22), dt.date(2024, 6, 24), dt.date(2025, 1, 27)} <= days


def test_attack_intrusion_sets_imported(session):
    assert (
        session.scalar(select(func.count()).select_from(ThreatActor).where(ThreatActor.attack_id.is_not(None))) == 172
    )
    apt28 = session.scalar(select(ThreatActor).where(ThreatActor.attack_id == "G0007"))
    assert apt28.name == "APT28" and apt28.sponsor_state == "RU" and apt28.sponsor_sources


def test_data_check_passes(session):
    counts, problems = check_data(session)
    assert problems == []
    assert counts["incidents"] >= 60
