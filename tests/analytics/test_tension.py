"""The tension index: a pair's index computed by hand (pure functions and the same record in the database, on
both backends, rolled back), the decay, the clipping at zero, the series, the functions the briefing report
calls (``state_tension``, ``top_tense_dyads``), the bundled data, and the REST endpoints."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from sqlalchemy import event

from accord.analytics import columns as cl
from accord.analytics import dyads as dy
from accord.analytics import tension as tn
from accord.analytics.dyads import Att, Data, Inc, Rec, Resp
from accord.incidents.models import Incident
from accord.norms.models import Commitment, Instrument

from .records import write

AT = dt.date(2030, 1, 1)


def days(n: int, at: dt.date = AT) -> dt.date:
    return at - dt.timedelta(days=n)


def record(at: dt.date = AT) -> tuple[Data, list[tn.Agreement]]:
    """Liechtenstein (LI) and Monaco (MC), seen at ``at`` (t); day counts are before t.

    incident 1  espionage, intensity 4, disclosed t−1000, aimed at MC. MC ascribes it to LI at t−730 (political
                statement, alone); a company does too at t−700. MC, jointly with France (group j), ascribes it
                again at t−365 in a technical advisory that also names incident 2.
    incident 2  data theft, intensity not assessed, disclosed t−365, aimed at MC, ascribed to LI in group j.
    responses   MC sanctions LI at t−365 (one listing, recorded for both incidents); LI makes a statement against
                MC at t; LI funds capacity building for MC at t−730; MC expels LI's diplomats at t+10 (after t:
                not counted).
    agreement   an instrument only LI and MC committed to, LI at t−730 and MC at t−365 (dated t−365).

    Contributions at t (half-life 365 days: ×½ a year, ×¼ two years):
        operation 1  4 · ¼ (dated t−730, when it was ascribed to LI, not at disclosure)   =  1.0
        operation 2  1 (not assessed) · ½                                                  =  0.5
        MC's statement at t−730   1 · ¼                                                    =  0.25
        joint advisory t−365      0.5 · 1.5 (joint) · ½ — once, though it names two incidents = 0.375
        sanctions t−365           3 · ½ — once, though recorded for two incidents          =  1.5
        statement at t            1 · 1                                                    =  1.0
        capacity building t−730   −1 · ¼                                                   = −0.25
        agreement t−365           −3 · ½                                                   = −1.5
                                                                               index(t)   =  2.875
    A year earlier (t−365): 4·½ + 1 + 1·½ + 0.75 + 3 + 0 − 1·½ − 3 = 3.75, so the trend is 2.875 − 3.75 = −0.875.
    France–Liechtenstein: France's share of the joint advisory only, 0.75 · ½ = 0.375 (a year earlier 0.75).
    """
    incidents = [Inc(1, "espionage", 4, None, days(1000, at)), Inc(2, "data_theft", None, None, days(365, at))]
    receivers = [Rec(1, "MC", "government"), Rec(2, "MC", "private", "finance")]
    attributions = [
        Att(1, 1, by_state="MC", attributed_state="LI", date=days(730, at)),
        Att(2, 1, by_company="Lab", attributed_state="LI", date=days(700, at)),
        Att(3, 1, by_state="MC", attributed_state="LI", date=days(365, at), joint_group="j", form="technical_advisory"),
        Att(4, 2, by_state="MC", attributed_state="LI", date=days(365, at), joint_group="j", form="technical_advisory"),
        Att(5, 1, by_state="FR", attributed_state="LI", date=days(365, at), joint_group="j", form="technical_advisory"),
    ]
    responses = [
        Resp(1, 1, by_state="MC", against_state="LI", date=days(365, at), type="sanctions"),
        Resp(5, 2, by_state="MC", against_state="LI", date=days(365, at), type="sanctions"),
        Resp(2, 1, by_state="LI", against_state="MC", date=at, type="statement"),
        Resp(3, 2, by_state="LI", against_state="MC", date=days(730, at), type="capacity_building"),
        Resp(4, 2, by_state="MC", against_state="LI", date=at + dt.timedelta(days=10), type="expulsion"),
    ]
    agreements = [tn.Agreement("BILAT", "LI", "MC", days(365, at))]
    return Data(incidents, receivers, attributions, responses), agreements


def test_decay_halves_every_year() -> None:
    assert tn.decayed(2.0, days(365), AT) == pytest.approx(1.0)
    assert tn.decayed(2.0, days(730), AT) == pytest.approx(0.5)
    assert tn.decayed(-3.0, AT, AT) == -3.0
    assert tn.decayed(5.0, AT + dt.timedelta(days=1), AT) == 0.0  # not yet happened


def test_index_worked_by_hand() -> None:
    by_pair, left = tn.events(*record())
    t = tn.tension(("LI", "MC"), by_pair[("LI", "MC")], AT)
    assert (t.index, t.previous, t.trend) == (2.875, 3.75, -0.875)
    assert (t.events, t.last_event) == (8, AT)  # the expulsion after t is not counted
    assert tn.index_at(by_pair[("FR", "LI")], AT) == pytest.approx(0.375)
    assert left == tn.TensionLeftOut(non_state_attributions=1)  # the company


def test_operation_is_dated_when_public_and_ascribed() -> None:
    by_pair, _ = tn.events(*record())
    ops = sorted((e for e in by_pair[("LI", "MC")] if e.kind == "operation"), key=lambda e: e.date)
    assert [(e.incident_id, e.by, e.towards, e.date, e.weight) for e in ops] == [
        (1, "LI", "MC", days(730), 4.0),
        (2, "LI", "MC", days(365), 1.0),
    ]


def test_drivers_are_the_largest_contributions() -> None:
    """By size at t: the agreement (−1.5) and the sanctions (1.5), both t−365 (ties: the reference's order), then
    the statement (1.0, newer) before operation 1 (1.0), then operation 2 (0.5)."""
    by_pair, _ = tn.events(*record())
    found = tn.drivers(by_pair[("LI", "MC")], AT)
    assert [(c.kind, c.what, c.value) for c in found] == [
        ("de-escalation", "agreement", -1.5),
        ("response", "sanctions", 1.5),
        ("response", "statement", 1.0),
        ("operation", "espionage", 1.0),
        ("operation", "data_theft", 0.5),
    ]
    joint = next(c for c in tn.contributions(by_pair[("LI", "MC")], AT) if c.joint)
    assert (joint.weight, joint.value, joint.by, joint.towards, joint.incidents) == (0.75, 0.375, "MC", "LI", 2)
    assert found[1].incidents == 2 and tn.describe(found[1]) == "sanctions by MC against LI (naming 2 incidents)"
    assert (
        tn.describe(found[0], {"LI": "Liechtenstein", "MC": "Monaco"}) == "agreement between Liechtenstein and Monaco"
    )


def test_ranking_and_the_view_from_one_state() -> None:
    by_pair, _ = tn.events(*record())
    top = tn.ranked(by_pair, AT, 10)
    assert [(d.a, d.b, d.other, d.index) for d in top] == [("LI", "MC", "MC", 2.875), ("FR", "LI", "LI", 0.375)]
    li = tn.ranked(by_pair, AT, 10, state="LI")
    assert [(d.other, d.index, d.trend) for d in li] == [("MC", 2.875, -0.875), ("FR", 0.375, -0.375)]
    assert [d.other for d in tn.ranked(by_pair, AT, 10, state="FR")] == ["LI"]
    assert len(tn.ranked(by_pair, AT, 1)) == 1
    assert tn.ranked(by_pair, days(2000), 10) == []  # before anything happened


def test_index_is_clipped_at_zero() -> None:
    """Only de-escalation: the sum is −3, the index 0, and the pair is not among the tense ones."""
    by_pair, _ = tn.events(Data([]), [tn.Agreement("X", "AD", "SM", days(10))])
    assert tn.index_at(by_pair[("AD", "SM")], AT) == 0.0
    assert tn.ranked(by_pair, AT, 10) == []
    s = tn.series(("AD", "SM"), by_pair[("AD", "SM")], AT)
    assert [p.index for p in s.points] == [0.0, 0.0] and s.points[-1].deescalation < 0


def test_series_by_quarter() -> None:
    """From the quarter of the first event (t−730 = 2 Jan 2028) to t: 8 quarter ends, then t itself."""
    by_pair, _ = tn.events(*record())
    s = tn.series(("LI", "MC"), by_pair[("LI", "MC")], AT)
    assert [p.date for p in s.points][:2] == [dt.date(2028, 3, 31), dt.date(2028, 6, 30)]
    assert len(s.points) == 9 and s.points[-1].date == AT and s.points[-1].index == 2.875
    assert s.points[-2].date == dt.date(2029, 12, 31)
    assert s.half_life_days == 365 and s.tension.index == 2.875
    assert [c.date for c in s.contributions] == sorted((c.date for c in s.contributions), reverse=True)
    assert tn.quarter_ends(dt.date(2029, 12, 31), dt.date(2029, 12, 31)) == [dt.date(2029, 12, 31)]


def test_pair_is_unordered() -> None:
    assert tn.pair("MC", "LI") == tn.pair("LI", "MC") == ("LI", "MC")


# ---------------------------------------------------------------- the database (both backends)

DB_AT = dt.date(2095, 1, 1)  # no other record is dated near it


def insert(session: Any, unique: str) -> None:
    """The worked record (dated DB_AT) and its bilateral agreement."""
    write(session, record(DB_AT)[0], unique, "tension")
    code = f"BILAT-{unique}"
    session.add(Instrument(code=code, name="Constructed bilateral agreement", kind="treaty"))
    session.flush()
    session.add_all(
        [
            Commitment(instrument_code=code, state_code="LI", status="signed", date=days(730, DB_AT)),
            Commitment(instrument_code=code, state_code="MC", status="ratified", date=days(365, DB_AT)),
        ]
    )
    session.flush()


def test_index_reads_the_database(session: Any, unique: str) -> None:
    insert(session, unique)
    li = tn.state_tension(session, "li", at=DB_AT)
    assert [(d.other, d.index, d.trend) for d in li] == [("MC", 2.875, -0.875), ("FR", 0.375, -0.375)]
    assert [(c.kind, c.what) for c in li[0].drivers][:2] == [("de-escalation", "agreement"), ("response", "sanctions")]
    assert li[0].drivers[0].ref == f"instrument:BILAT-{unique}"
    top = tn.top_tense_dyads(session, at=DB_AT, limit=50)
    found = {(d.a, d.b): d.index for d in top}
    assert found[("LI", "MC")] == 2.875 and found[("FR", "LI")] == 0.375
    s = tn.dyad_series(session, "MC", "LI", at=DB_AT)
    assert (s.tension.a, s.tension.b, s.tension.index, len(s.points)) == ("LI", "MC", 2.875, 9)


def test_results_are_remembered_until_the_record_changes(session: Any, unique: str) -> None:
    """The events are computed once per state of the record: the same object while nothing changes, computed
    anew as soon as a record is added (even uncommitted, in this session), and the dyad network and the columns
    both read likewise."""
    columns = cl.record_of(session)
    first = tn.events_of(session)
    assert tn.events_of(session) is first and cl.record_of(session) is columns
    network = dy.dyads_of(session)
    assert dy.dyads_of(session) is network
    insert(session, unique)
    changed = tn.events_of(session)
    assert changed is not first and ("LI", "MC") in changed[0]
    assert dy.dyads_of(session) is not network and cl.record_of(session) is not columns
    cl.clear_memo()
    assert tn.events_of(session) is not changed


def test_fingerprint_is_asked_once_until_the_session_changes(session: Any, unique: str) -> None:
    """The memo's fingerprint is kept in the session: asked again it runs no query, unless the session has
    changes (pending or flushed) or a new transaction began."""
    statements: list[str] = []
    engine = session.get_bind()

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        first = cl.fingerprint(session)
        asked = len(statements)
        assert asked == 5 and cl.fingerprint(session) == first and len(statements) == asked
        session.add(Incident(slug=f"fp-{unique}", name="Constructed", operation_type="espionage"))  # not flushed
        assert cl.fingerprint(session) != first and len(statements) > asked
        session.rollback()
        asked = len(statements)
        assert cl.fingerprint(session) == first and len(statements) == asked + 5
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_agreements_need_exactly_two_states(session: Any, unique: str) -> None:
    insert(session, unique)
    code = f"BILAT-{unique}"
    assert [(g.a, g.b, g.date) for g in tn.agreements_of(session) if g.code == code] == [("LI", "MC", days(365, DB_AT))]
    session.add(Commitment(instrument_code=code, state_code="AD", status="signed", date=DB_AT))
    session.flush()
    assert all(g.code != code for g in tn.agreements_of(session))  # three parties: not bilateral
    assert all(g.code != "PARIS-CALL" for g in tn.agreements_of(session))


def test_figures_of_the_bundled_data(session: Any) -> None:
    """At the end of 2025: China–United States is the most tense pair (sanctions and indictments in 2024–2025
    on top of Volt and Salt Typhoon); Russia's most tense pair is with the United States."""
    at = dt.date(2025, 12, 31)
    top = tn.top_tense_dyads(session, at=at, limit=5)
    assert (top[0].a, top[0].b) == ("CN", "US") and top[0].index > 5
    assert all(top[i].index >= top[i + 1].index for i in range(len(top) - 1))
    assert len(top[0].drivers) == tn.DRIVERS
    ru = tn.state_tension(session, "RU", at=at, top=3)
    assert ru[0].other == "US" and len(ru) == 3
    assert tn.state_tension(session, "TV", at=at) == []  # Tuvalu: nothing recorded


# ---------------------------------------------------------------- the REST API


def test_tension_api(role_clients: dict[str, Any]) -> None:
    anon = role_clients["anonymous"]
    body = anon.get("/api/v1/analytics/tension", params={"at": "2025-12-31", "limit": 3}).json()
    assert body["at"] == "2025-12-31" and body["half_life_days"] == 365 and len(body["dyads"]) == 3
    assert (body["dyads"][0]["a"], body["dyads"][0]["b"]) == ("CN", "US")
    ru = anon.get("/api/v1/analytics/tension", params={"at": "2025-12-31", "state": "ru"}).json()
    assert ru["dyads"][0]["other"] == "US" and all("RU" in (d["a"], d["b"]) for d in ru["dyads"])
    rows = list(csv.DictReader(io.StringIO(anon.get("/api/v1/analytics/tension?format=csv&at=2025-12-31").text)))
    assert rows[0]["a"] == "CN" and {"index", "trend", "previous", "top_driver"} <= set(rows[0])

    one = anon.get("/api/v1/analytics/tension/US/CN", params={"at": "2025-12-31"}).json()
    assert (one["tension"]["a"], one["tension"]["b"]) == ("CN", "US")
    assert one["points"][-1]["date"] == "2025-12-31" and one["contributions"]
    points = list(csv.DictReader(io.StringIO(anon.get("/api/v1/analytics/tension/CN/US?format=csv").text)))
    assert {"date", "index", "escalation", "deescalation"} <= set(points[0])
    parts = anon.get("/api/v1/analytics/tension/CN/US", params={"format": "csv", "table": "contributions"})
    assert {"kind", "what", "by", "towards", "date", "weight", "value"} <= set(
        next(csv.DictReader(io.StringIO(parts.text)))
    )


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/analytics/tension?at=2025-13-01", "at"),
        ("/api/v1/analytics/tension?limit=0", "limit"),
        ("/api/v1/analytics/tension?state=XX", "state"),
        ("/api/v1/analytics/tension/US/US", "b"),
        ("/api/v1/analytics/tension/ZZ/US", "a"),
        ("/api/v1/analytics/tension/US/usa", "b"),
        ("/api/v1/analytics/tension/US/CN?at=yesterday", "at"),
        ("/api/v1/analytics/tension/US/CN?at=0001-01-01", "at"),
        ("/api/v1/analytics/tension?at=9999-12-31", "at"),
    ],
)
def test_tension_problems(role_clients: dict[str, Any], path: str, field: str) -> None:
    r = role_clients["anonymous"].get(path)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in r.json()["errors"]]
