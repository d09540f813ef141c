"""Coalitions and timing: pairs, per-party counts, the graph and the timing statistics worked by hand on
constructed attributions, the database reading on both backends (constructed records in far-future years, in
a transaction that is rolled back), a few figures of the bundled data, the REST endpoints with their CSV
exports, and the coalition / timing page."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest

from accord.attribution import coalitions as co
from accord.attribution.coalitions import Party, Row
from accord.core.errors import Invalid
from accord.incidents.models import Attribution, Incident

D = dt.date
US, GB, EU, NL = Party("state", "US"), Party("state", "GB"), Party("organisation", "EU"), Party("state", "NL")

# g1 names two incidents (US on both, GB on 1, EU on 2); g2 one (US and GB on 3); g3 is two US agencies on 4
ROWS = [
    Row(1, 1, US, D(2018, 10, 4), "g1", incident_name="One"),
    Row(2, 2, US, D(2018, 10, 4), "g1", incident_name="Two"),
    Row(3, 1, GB, D(2018, 10, 4), "g1", incident_name="One"),
    Row(4, 2, EU, D(2018, 10, 5), "g1", incident_name="Two"),
    Row(5, 3, US, D(2019, 5, 1), "g2", incident_name="Three"),
    Row(6, 3, GB, D(2019, 5, 1), "g2", incident_name="Three"),
    Row(7, 4, US, D(2020, 1, 1), "g3", incident_name="Four"),
    Row(8, 4, US, D(2020, 1, 1), "g3", incident_name="Four"),
    Row(9, 5, GB, D(2021, 3, 1), None, incident_name="Five"),
]


def _pairs(found: co.Coalitions) -> list[tuple[str, str, int, list[int]]]:
    return [(p.a.code, p.b.code, p.joint_attributions, [i.id for i in p.incidents]) for p in found.pairs]


def test_coalition_pairs_worked_by_hand() -> None:
    found = co.coalitions(ROWS)
    assert found.joint_groups == 2  # g3 has a single party: not a coalition
    # GB–US share g1 (incident 1) and g2 (incident 3); US–EU share g1 (incident 2); GB–EU share g1 but no incident
    assert _pairs(found) == [("GB", "US", 2, [1, 3]), ("US", "EU", 1, [2]), ("GB", "EU", 1, [])]
    top = found.pairs[0]
    assert (top.first, top.last, top.groups) == (D(2018, 10, 4), D(2019, 5, 1), ["g1", "g2"])
    assert found.pairs[1].a == US and found.pairs[1].b == EU  # states before organisations


def test_party_counts_worked_by_hand() -> None:
    counts = {c.party.code: c for c in co.coalitions(ROWS).parties}
    assert [c.party.code for c in co.coalitions(ROWS).parties] == ["US", "GB", "EU"]  # most attributions first
    us, gb, eu = counts["US"], counts["GB"], counts["EU"]
    # US: g1 ×2, g2, and g3 ×2 (alone: only US agencies in it)
    assert (us.attributions, us.alone, us.joint, us.joint_attributions, us.partners, us.incidents) == (5, 2, 3, 2, 2, 4)
    assert (gb.attributions, gb.alone, gb.joint, gb.joint_attributions, gb.partners, gb.incidents) == (3, 1, 2, 2, 2, 3)
    assert (eu.attributions, eu.alone, eu.joint, eu.joint_attributions, eu.partners, eu.incidents) == (1, 0, 1, 1, 2, 1)


def test_graph_worked_by_hand() -> None:
    found = co.coalitions(ROWS)
    assert [(n.id, n.kind, n.joint_attributions, n.partners) for n in found.nodes] == [
        ("GB", "state", 2, 2),
        ("US", "state", 2, 2),
        ("EU", "organisation", 1, 2),
    ]
    assert [(e.source, e.target, e.weight) for e in found.edges] == [("GB", "US", 2), ("US", "EU", 1), ("GB", "EU", 1)]


def test_year_range_selects_attributions_by_date() -> None:
    found = co.coalitions(ROWS, 2019, 2021)
    assert _pairs(found) == [("GB", "US", 1, [3])]
    us = next(c for c in found.parties if c.party == US)
    assert (us.attributions, us.joint, us.alone) == (3, 1, 2)
    assert co.coalitions(ROWS, 2022).pairs == [] and co.coalitions(ROWS, 2022).parties == []
    with pytest.raises(Invalid) as err:
        co.coalitions(ROWS, 2021, 2019)
    assert err.value.problems[0].field == "year_to"


# ---------------------------------------------------------------- timing


def trow(aid: int, incident: int, party: Party, date: D, disclosed: D | None, started: D | None = None) -> Row:
    precision = "month" if disclosed is None else "day"
    return Row(aid, incident, party, date, None, disclosed, started, precision, f"Incident {incident}")


TIMED = [
    trow(1, 1, US, D(2020, 1, 1), D(2020, 1, 1)),  # 0 days: disclosed by the attribution itself
    trow(2, 1, US, D(2020, 6, 1), D(2020, 1, 1)),  # not US's first attribution of incident 1
    trow(3, 1, GB, D(2020, 1, 11), D(2020, 1, 1)),  # 10
    trow(4, 2, US, D(2020, 3, 21), D(2020, 3, 1)),  # 20
    trow(5, 2, EU, D(2021, 3, 1), D(2020, 3, 1)),  # 365
    trow(6, 3, US, D(2019, 2, 1), None, D(2019, 1, 1)),  # 31 from the start date (known to the month)
    trow(7, 4, GB, D(2020, 5, 5), None, None),  # no date to count from
]


def test_timing_worked_by_hand() -> None:
    t = co.timing(TIMED)
    assert t.undated == 1
    by = {p.party.code: p.stats for p in t.parties}
    assert [p.party.code for p in t.parties] == ["US", "GB", "EU"]  # most observations, then fastest
    # US: 0, 20, 31 — quartiles by linear interpolation: 0 + ½·20 and 20 + ½·11
    assert by["US"] == co.Stats(3, 20.0, 10.0, 25.5, 0, 31, 1, 1)
    assert by["GB"] == co.Stats(1, 10.0, 10.0, 10.0, 10, 10, 0, 0)
    assert by["EU"] == co.Stats(1, 365.0, 365.0, 365.0, 365, 365, 0, 0)
    assert t.overall == co.Stats(5, 20.0, 10.0, 31.0, 0, 365, 1, 1)  # 0, 10, 20, 31, 365
    assert [(y.year, y.stats.count, y.stats.median) for y in t.years] == [
        (2019, 1, 31.0),
        (2020, 3, 10.0),
        (2021, 1, 365.0),
    ]
    from_start = next(o for o in t.observations if o.incident_id == 3)
    assert (from_start.reference_kind, from_start.approximate, from_start.days) == ("start", True, 31)
    assert all(o.attribution_id != 2 for o in t.observations)


def test_timing_year_range_uses_first_attributions_and_keeps_negatives() -> None:
    rows = [
        trow(1, 5, US, D(2018, 1, 31), D(2018, 1, 1)),  # US's first attribution of incident 5 ...
        trow(2, 5, US, D(2021, 1, 1), D(2018, 1, 1)),  # ... repeated in 2021
        trow(3, 6, NL, D(2021, 1, 5), D(2021, 1, 10)),  # dated before the recorded disclosure: −5, kept
    ]
    t = co.timing(rows, year_from=2021)
    assert [(o.party.code, o.incident_id, o.days) for o in t.observations] == [("NL", 6, -5)]
    assert co.timing(rows, year_to=2018).overall.count == 1
    assert co.timing([]).overall == co.Stats(0, None, None, None, None, None, 0, 0)
    with pytest.raises(Invalid):
        co.timing(rows, 2022, 2021)


# ---------------------------------------------------------------- the database (both backends)


@pytest.fixture
def far_future(session: Any, unique: str) -> dict[str, Any]:
    """Two incidents and joint and single attributions dated 2091–2092 (no other record is): rolled back at the
    end of the test."""
    first = Incident(
        slug=f"coal-a-{unique}",
        name="Constructed A",
        operation_type="espionage",
        start_date=D(2091, 1, 1),
        disclosure_date=D(2091, 2, 1),
    )
    second = Incident(
        slug=f"coal-b-{unique}",
        name="Constructed B",
        operation_type="espionage",
        start_date=D(2091, 6, 1),
        date_precision="month",
    )
    session.add_all([first, second])
    session.flush()
    group = f"coal-{unique}"
    common = {"attributed_state": "RU", "basis": "third_party_government", "form": "political_statement"}
    session.add_all(
        [
            Attribution(incident_id=first.id, by_state="IS", date=D(2091, 2, 11), joint_group=group, **common),
            Attribution(incident_id=first.id, by_state="MT", date=D(2091, 2, 11), joint_group=group, **common),
            Attribution(incident_id=first.id, by_organisation="EU", date=D(2091, 2, 21), joint_group=group, **common),
            Attribution(incident_id=first.id, by_company="Constructed Labs", date=D(2091, 2, 1), **common),
            Attribution(incident_id=second.id, by_state="IS", date=D(2092, 6, 1), **common),
        ]
    )
    session.flush()
    return {"first": first, "second": second, "group": group}


def test_coalitions_read_the_database(session: Any, far_future: dict[str, Any]) -> None:
    found = co.coalitions_of(session, year_from=2091, year_to=2092)
    assert found.joint_groups == 1
    assert _pairs(found) == [
        ("IS", "MT", 1, [far_future["first"].id]),
        ("IS", "EU", 1, [far_future["first"].id]),
        ("MT", "EU", 1, [far_future["first"].id]),
    ]
    counts = {c.party.code: (c.attributions, c.alone, c.joint, c.partners) for c in found.parties}
    assert counts == {"IS": (2, 1, 1, 2), "MT": (1, 0, 1, 2), "EU": (1, 0, 1, 2)}  # the company is left out
    assert found.pairs[0].incidents[0].name == "Constructed A"


def test_timing_reads_the_database(session: Any, far_future: dict[str, Any]) -> None:
    t = co.timing_of(session, year_from=2091, year_to=2092)
    by = {p.party.code: p.stats for p in t.parties}
    assert by["IS"] == co.Stats(2, 188.0, 99.0, 277.0, 10, 366, 0, 1)  # 10 days; 366 from the start (approx.)
    assert by["MT"].median == 10.0 and by["EU"].median == 20.0
    later = next(o for o in t.observations if o.incident_id == far_future["second"].id)
    assert (later.reference, later.reference_kind, later.approximate) == (D(2091, 6, 1), "start", True)
    with pytest.raises(Invalid):
        co.timing_of(session, year_from=2092, year_to=2091)


def test_figures_of_the_bundled_data(session: Any) -> None:
    found = co.coalitions_of(session, year_from=2017, year_to=2018)
    gb_us = next(p for p in found.pairs if {p.a.code, p.b.code} == {"GB", "US"})
    names = {i.name for i in gb_us.incidents}
    assert {"WannaCry", "NotPetya", "Operation Cloud Hopper"} <= names, names
    assert {"AU", "CA", "GB", "JP", "NZ", "US"} <= {n.id for n in found.nodes}
    t = co.timing_of(session, year_from=2018, year_to=2018)
    notpetya_gb = [o for o in t.observations if o.incident == "NotPetya" and o.party == GB]
    assert [(o.reference, o.date, o.days) for o in notpetya_gb] == [(D(2017, 6, 27), D(2018, 2, 15), 233)]


# ---------------------------------------------------------------- REST and the page


def test_api_coalitions(role_clients: dict[str, Any]) -> None:
    anon = role_clients["anonymous"]
    r = anon.get("/api/v1/attribution/coalitions", params={"year_from": 2017, "year_to": 2018})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) >= {"pairs", "parties", "nodes", "edges", "joint_groups"}
    assert body["year_from"] == 2017 and body["pairs"][0]["a"] == {"kind": "state", "code": "GB"}
    assert len(body["edges"]) == len(body["pairs"])
    r = anon.get("/api/v1/attribution/coalitions", params={"year_from": 2017, "year_to": 2018, "format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="coalition-pairs.csv"' in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == len(body["pairs"]) and (rows[0]["party_a"], rows[0]["party_b"]) == ("GB", "US")
    r = anon.get("/api/v1/attribution/coalitions", params={"format": "csv", "table": "parties"})
    parties = list(csv.DictReader(io.StringIO(r.text)))
    assert parties[0]["party"] == "US" and parties[0]["name"] == "United States"
    assert all(int(p["alone"]) + int(p["joint"]) == int(p["attributions"]) for p in parties)


def test_api_timing(role_clients: dict[str, Any]) -> None:
    anon = role_clients["anonymous"]
    body = anon.get("/api/v1/attribution/timing").json()
    assert set(body["overall"]) == {"count", "median", "q1", "q3", "min", "max", "same_day", "from_start"}
    assert body["parties"][0]["party"]["code"] == "US"
    assert [y["year"] for y in body["years"]] == sorted(y["year"] for y in body["years"])
    for table, first in (("parties", "party"), ("years", "year"), ("observations", "incident_id")):
        r = anon.get("/api/v1/attribution/timing", params={"format": "csv", "table": table, "year_from": 2018})
        assert r.status_code == 200 and r.text.startswith(first + ","), (table, r.text[:80])
    r = anon.get("/api/v1/attribution/timing", params={"year_from": 2021, "year_to": 2020})
    assert r.status_code == 422 and r.json()["errors"] == [
        {"field": "year_to", "reason": "must not be before year_from"}
    ]
    assert anon.get("/api/v1/attribution/timing", params={"year_from": 1800}).status_code == 422


def test_coalitions_page(role_clients: dict[str, Any]) -> None:
    anon = role_clients["anonymous"]
    listing = anon.get("/attributions")
    assert 'href="/attributions/coalitions"' in listing.text  # linked from the attributions list
    r = anon.get("/attributions/coalitions")
    assert r.status_code == 200
    for expected in (
        "Coalitions and timing",
        "Who attributed jointly with whom",
        "Time from disclosure to attribution",
        'id="pairs-chart"',
        'id="timing-chart"',
        'id="attribution-chart-data"',
        "/static/js/attribution.js",
        "United Kingdom",
        "/api/v1/attribution/timing?format=csv&amp;table=observations",
    ):
        assert expected in r.text, expected
    assert 'aria-current="page">Coalitions and timing' in r.text
    filtered = anon.get("/attributions/coalitions", params={"year_from": "2024", "year_to": "2024"})
    assert filtered.status_code == 200 and 'value="2024"' in filtered.text
    assert (
        "/api/v1/attribution/coalitions?year_from=2024&amp;year_to=2024&amp;format=csv&amp;table=pairs" in filtered.text
    )
    bad = anon.get("/attributions/coalitions", params={"year_from": "soon", "year_to": "2024"})
    assert bad.status_code == 200 and 'role="alert"' in bad.text and "give a year between 1900 and 2100" in bad.text
    reversed_range = anon.get("/attributions/coalitions", params={"year_from": "2024", "year_to": "2020"})
    assert "must not be before year_from" in reversed_range.text
