"""Dyads and trends: the network, node measures, left-out counts, per-year trends, timing and responses worked by
hand on a small constructed record (pure functions), the same record written to the database on both backends
(in far-future years, in a transaction that is rolled back), a few figures of the bundled data, and the REST
endpoints (JSON, CSV, problem+json)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import networkx as nx
import pytest

from accord.analytics import dyads as dy
from accord.analytics.dyads import Att, Data, DyadFilter, Inc, Rec, Resp
from accord.attribution import coalitions as co
from accord.core.errors import Invalid

from .records import write

D = dt.date


def scenario(y: int = 2020) -> Data:
    """Eight incidents in years y … y+3 (ids 1–8):

    1 espionage, intensity 2, began y-03-01, disclosed y-04-01: UA (government), PL (private, finance);
      ascribed to RU by UA (political statement) and by a company
    2 disruption, 4, disclosed y+1-05-01 (no start): UA (critical infrastructure, energy);
      ascribed to RU jointly by UA and GB (group g1) and by the EU
    3 espionage, not assessed, began y+1-01-01: US; ascribed to CN by the US and to RU by a company
    4 espionage, 3, y+1-06-01: US; a company names an actor but no state → unattributed
    5 ddos, 1, no date at all: UA; ascribed to RU by UA (undated attribution) → left out as undated
    6 data_theft, 2, y+2-02-01: an international organisation only (no state) → no receiver state
    7 espionage, 5, y+2-07-01: RU only, ascribed to RU by the US → the only pair is RU with itself
    8 espionage, 1, y+2-01-01: RU (government); ascribed to UA by RU, but only in y+3 (y+3-01-15)
    """
    d = lambda year, m, day: D(y + year, m, day)  # noqa: E731
    incidents = [
        Inc(1, "espionage", 2, d(0, 3, 1), d(0, 4, 1)),
        Inc(2, "disruption", 4, None, d(1, 5, 1)),
        Inc(3, "espionage", None, d(1, 1, 1), None, "month"),
        Inc(4, "espionage", 3, d(1, 6, 1)),
        Inc(5, "ddos", 1, None, None),
        Inc(6, "data_theft", 2, d(2, 2, 1)),
        Inc(7, "espionage", 5, d(2, 7, 1)),
        Inc(8, "espionage", 1, d(2, 1, 1)),
    ]
    receivers = [
        Rec(1, "UA", "government", "government_services"),
        Rec(1, "PL", "private", "finance"),
        Rec(2, "UA", "critical_infrastructure", "energy"),
        Rec(3, "US", "government", None),
        Rec(4, "US", "government", None),
        Rec(5, "UA", "government", None),
        Rec(6, None, "international_organisation", None),
        Rec(7, "RU", "civil_society", "media"),
        Rec(8, "RU", "government", None),
    ]
    attributions = [
        Att(1, 1, by_state="UA", attributed_state="RU", date=d(0, 4, 1)),
        Att(2, 1, by_company="Lab", attributed_state="RU", date=d(0, 3, 20), form="technical_advisory"),
        Att(3, 2, by_state="UA", attributed_state="RU", date=d(1, 5, 10), joint_group="g1"),
        Att(4, 2, by_state="GB", attributed_state="RU", date=d(1, 5, 10), joint_group="g1"),
        Att(5, 2, by_organisation="EU", attributed_state="RU", date=d(1, 6, 1)),
        Att(6, 3, by_state="US", attributed_state="CN", date=d(1, 9, 1)),
        Att(7, 3, by_company="Lab", attributed_state="RU", date=d(1, 2, 1), form="technical_advisory"),
        Att(8, 4, by_company="Lab", attributed_state=None, date=d(1, 7, 1), form="technical_advisory"),
        Att(9, 5, by_state="UA", attributed_state="RU", date=None),
        Att(10, 6, by_state="US", attributed_state="CN", date=d(2, 3, 1)),
        Att(11, 7, by_state="US", attributed_state="RU", date=d(2, 8, 1)),
        Att(12, 8, by_state="RU", attributed_state="UA", date=d(3, 1, 15)),
    ]
    responses = [
        Resp(1, 1, by_state="UA", against_state="RU", date=d(0, 5, 1), type="sanctions"),
        Resp(
            2, 2, by_organisation="EU", against_state="RU", date=d(1, 7, 1), type="sanctions", eu_toolbox="restrictive"
        ),
        Resp(3, 2, by_state="UA", against_state="RU", date=None, type="statement"),
        Resp(4, 8, by_state="RU", against_state="UA", date=d(3, 2, 1), type="expulsion"),
        Resp(5, 3, by_state="US", against_state="CN", date=d(1, 10, 1), type="demarche", eu_toolbox="cooperative"),
    ]
    return Data(incidents, receivers, attributions, responses)


def edge_rows(report: dy.DyadReport) -> list[tuple[Any, ...]]:
    return [
        (e.source, e.target, e.incidents, e.attributions, e.mean_intensity, e.max_intensity, e.assessed)
        for e in report.edges
    ]


# ---------------------------------------------------------------- the network (pure)


def test_network_worked_by_hand() -> None:
    """Edges: RU→UA from incidents 1 and 2 (attributions 1, 2 and 3, 4, 5: five; intensity 2 and 4: mean 3, max
    4); RU→PL from 1 (attributions 1, 2); UA→RU from 8; CN→US and RU→US from 3 (intensity not assessed). Ties
    on incidents go to the higher maximum intensity, then the mean, then the codes."""
    r = dy.dyads(scenario())
    assert edge_rows(r) == [
        ("RU", "UA", 2, 5, 3.0, 4, 2),
        ("RU", "PL", 1, 2, 2.0, 2, 1),
        ("UA", "RU", 1, 1, 1.0, 1, 1),
        ("CN", "US", 1, 1, None, None, 0),
        ("RU", "US", 1, 1, None, None, 0),
    ]
    ru_ua = r.edges[0]
    assert (ru_ua.attributing_states, ru_ua.other_attributors) == (["GB", "UA"], ["EU", "Lab"])
    assert (ru_ua.first_year, ru_ua.last_year, ru_ua.reciprocal, ru_ua.examples) == (2020, 2021, True, [2, 1])
    assert r.edges[1].reciprocal is False and r.edges[4].attributing_states == []
    assert r.left_out == dy.LeftOut(
        undated=1, unattributed=1, no_receiver_state=1, same_state=1, attributions_without_state=1
    )
    # 7 dated incidents in view, 4 in the network (1, 2, 3, 8); 5 states; 5 of 5·4 possible edges; 2 of 5
    # edges have their reverse (RU→UA, UA→RU)
    assert r.summary == dy.Summary(7, 4, 5, 5, 0.25, 0.4)


def test_node_measures_worked_by_hand() -> None:
    """RU: out to UA, PL, US (3) with 2+1+1 incidents, in from UA (1); three distinct incidents ascribed to it
    (1, 2, 3) and one aimed at it (8). US: in from CN and RU, both through incident 3 (weighted 2, distinct 1)."""
    nodes = {n.state: n for n in dy.dyads(scenario()).nodes}
    assert [n.state for n in dy.dyads(scenario()).nodes] == ["RU", "UA", "US", "CN", "PL"]
    assert nodes["RU"] == dy.Node("RU", 3, 1, 4, 1, 3, 1)
    assert nodes["UA"] == dy.Node("UA", 1, 1, 1, 2, 1, 2)
    assert nodes["US"] == dy.Node("US", 0, 2, 0, 2, 0, 1)


def test_the_graph_is_a_networkx_digraph() -> None:
    g, left = dy.dyad_graph(scenario())
    assert isinstance(g, nx.DiGraph) and left.undated == 1
    assert g["RU"]["UA"]["weight"] == 2 and sorted(g["RU"]["UA"]["incidents"]) == [1, 2]
    assert dict(g.out_degree(weight="weight"))["RU"] == 4


def test_government_attributions_only() -> None:
    """Without the company's attributions incident 3 is CN→US only, RU→PL keeps one attribution, and the
    company's actor-only attribution of incident 4 is no longer seen."""
    r = dy.dyads(scenario(), DyadFilter(attributed_by="government"))
    assert edge_rows(r) == [
        ("RU", "UA", 2, 4, 3.0, 4, 2),
        ("RU", "PL", 1, 1, 2.0, 2, 1),
        ("UA", "RU", 1, 1, 1.0, 1, 1),
        ("CN", "US", 1, 1, None, None, 0),
    ]
    assert r.edges[0].other_attributors == ["EU"]
    assert r.left_out.attributions_without_state == 0 and r.left_out.unattributed == 1


def test_filters_period_types_sectors_and_categories() -> None:
    def pairs(flt: DyadFilter) -> list[tuple[str, str, int]]:
        return [(e.source, e.target, e.incidents) for e in dy.dyads(scenario(), flt).edges]

    # the period is on the incident date: incident 2 has only a disclosure date (2021), 8 began in 2022
    assert pairs(DyadFilter(year_from=2021, year_to=2021)) == [("RU", "UA", 1), ("CN", "US", 1), ("RU", "US", 1)]
    assert pairs(DyadFilter(year_from=2022)) == [("UA", "RU", 1)]
    assert dy.dyads(scenario(), DyadFilter(year_from=2021, year_to=2021)).summary.incidents_in_view == 3
    assert dy.dyads(scenario(), DyadFilter(year_from=2030)).left_out.undated == 1  # undated: always counted
    assert pairs(DyadFilter(types=("espionage",))) == [
        ("RU", "PL", 1),
        ("RU", "UA", 1),
        ("UA", "RU", 1),
        ("CN", "US", 1),
        ("RU", "US", 1),
    ]
    # only the matching receivers count: incident 1 hit UA's government and a Polish bank
    assert pairs(DyadFilter(sectors=("finance",))) == [("RU", "PL", 1)]
    assert pairs(DyadFilter(sectors=("energy",))) == [("RU", "UA", 1)]
    assert pairs(DyadFilter(categories=("government",))) == [
        ("RU", "UA", 1),
        ("UA", "RU", 1),
        ("CN", "US", 1),
        ("RU", "US", 1),
    ]
    assert pairs(DyadFilter(sectors=("energy",), categories=("government",))) == []  # both on one receiver


def test_bad_filters_name_the_field() -> None:
    with pytest.raises(Invalid) as err:
        DyadFilter(year_from=2022, year_to=2020, types=("phishing",), sectors=("space",), attributed_by="x").check()
    fields = [p.field for p in err.value.problems]
    assert fields == ["year_to", "type", "sector", "attributed_by"]
    with pytest.raises(Invalid) as err:
        dy.dyads(scenario(), DyadFilter(year_from=1800, categories=("aliens",)))
    assert [p.field for p in err.value.problems] == ["year_from", "category"]


def test_empty_data() -> None:
    r = dy.dyads(Data([]))
    assert r.edges == [] and r.nodes == [] and r.summary == dy.Summary(0, 0, 0, 0, 0.0, None)
    t = dy.trends(Data([]))
    assert t.years == [] and t.timing.overall.count == 0 and t.responses[-1].operation_type == "all"


# ---------------------------------------------------------------- trends, timing, responses (pure)


def test_trends_per_year_worked_by_hand() -> None:
    """Incidents by their date; attributions by their own date (attribution 12, of a 2022 incident, falls in
    2023; attribution 9 is undated). 2021: incidents 2, 3, 4 (2 and 3 ascribed to a state), intensity 4 and 3
    (3 is not assessed): mean 3.5; attributions 3–8 (six; by governments or the EU: 3, 4, 5, 6)."""
    t = dy.trends(scenario())
    rows = [
        (y.year, y.incidents, y.attributed, y.mean_intensity, y.attributions, y.government_attributions)
        for y in t.years
    ]
    assert rows == [
        (2020, 1, 1, 2.0, 2, 1),
        (2021, 3, 2, 3.5, 6, 4),
        (2022, 3, 3, 2.67, 2, 2),
        (2023, 0, 0, None, 1, 1),
    ]
    assert t.years[1].by_type == {"espionage": 2, "disruption": 1}
    assert t.left_out == dy.TrendLeftOut(undated_incidents=1, undated_attributions=1, undated_responses=1)
    # a period selects incidents by their date and attributions by theirs; every year of it is listed
    p = dy.trends(scenario(), DyadFilter(year_from=2022, year_to=2024))
    assert [(y.year, y.incidents, y.attributions) for y in p.years] == [(2022, 3, 2), (2023, 0, 1), (2024, 0, 0)]


def test_timing_reuses_the_coalitions_definitions() -> None:
    """First attributions by governments and organisations, in days from disclosure (start when none):
    UA 0 (incident 1) and 9 (2); GB 9; EU 31; US 243 (3, from its start), 28 (6), 31 (7); RU 379 (8).
    Sorted 0 9 9 28 31 31 243 379: median 29.5, quartiles 9 and 31 + ¼·(243 − 31) = 84; four from a start date."""
    t = dy.trends(scenario()).timing
    assert t.overall == co.Stats(8, 29.5, 9.0, 84.0, 0, 379, 1, 4)
    us = next(p for p in t.parties if p.party == co.Party("state", "US"))
    assert (us.stats.count, us.stats.median) == (3, 31.0)
    # the same as coalitions.timing on the rows the coalitions page would read
    data = scenario()
    incidents = {i.id: i for i in data.incidents}
    rows = [
        co.Row(
            a.id,
            a.incident_id,
            co.Party("state", a.by_state) if a.by_state else co.Party("organisation", a.by_organisation or ""),
            a.date,
            a.joint_group,
            incidents[a.incident_id].disclosure_date,
            incidents[a.incident_id].start_date,
            incidents[a.incident_id].date_precision,
        )
        for a in data.attributions
        if a.by_state or a.by_organisation
    ]
    assert t == co.timing(rows).summary()  # without the observations


def test_responses_by_kind_of_operation() -> None:
    """Espionage (1, 3, 4, 7, 8): responses to 1 (sanctions, 30 days after disclosure), 3 (a démarche recorded
    as cooperative, 273 days after its start) and 8 (expulsion, 396 days after its start): median 273.
    Disruption (2): EU sanctions (61 days) and an undated statement (stabilising)."""
    rows = {r.operation_type: r for r in dy.trends(scenario()).responses}
    assert [r.operation_type for r in dy.trends(scenario()).responses] == [
        "espionage",
        "data_theft",
        "disruption",
        "all",
    ]
    esp = rows["espionage"]
    assert (esp.incidents, esp.responded, esp.responses, esp.median_days) == (5, 3, 3, 273.0)
    assert esp.by_type == {"demarche": 1, "expulsion": 1, "sanctions": 1}
    assert esp.by_toolbox == {"preventive": 0, "cooperative": 1, "stabilising": 0, "restrictive": 1, "support": 1}
    dis = rows["disruption"]
    assert (dis.responses, dis.by_toolbox["restrictive"], dis.by_toolbox["stabilising"], dis.median_days) == (
        2,
        1,
        1,
        61.0,
    )
    assert (rows["data_theft"].responded, rows["data_theft"].median_days) == (0, None)
    everything = rows["all"]
    assert (everything.incidents, everything.responded, everything.responses, everything.median_days) == (
        7,
        4,
        5,
        167.0,
    )


# ---------------------------------------------------------------- the database (both backends)

Y = 2097  # no other record is dated in these years


PERIOD = DyadFilter(year_from=Y, year_to=Y + 3)


def test_network_reads_the_database(session: Any, unique: str) -> None:
    before = dy.dyads_of(session, PERIOD)
    ids = write(session, scenario(Y), unique, "dyads")
    r = dy.dyads_of(session, PERIOD)
    assert edge_rows(r) == edge_rows(dy.dyads(scenario()))
    assert r.edges[0].examples == [ids[2], ids[1]] and (r.edges[0].first_year, r.edges[0].last_year) == (Y, Y + 1)
    assert r.summary == dy.Summary(7, 4, 5, 5, 0.25, 0.4)
    assert r.left_out.undated - before.left_out.undated == 1  # other tests' undated records may exist
    assert (r.left_out.unattributed, r.left_out.no_receiver_state, r.left_out.same_state) == (1, 1, 1)
    gov = dy.dyads_of(session, DyadFilter(year_from=Y, attributed_by="government", types=("espionage",)))
    assert [(e.source, e.target) for e in gov.edges] == [("RU", "PL"), ("RU", "UA"), ("UA", "RU"), ("CN", "US")]
    energy = dy.dyads_of(session, DyadFilter(year_from=Y, sectors=("energy",)))
    assert [(e.source, e.target, e.incidents) for e in energy.edges] == [("RU", "UA", 1)]


def test_trends_read_the_database(session: Any, unique: str) -> None:
    write(session, scenario(Y), unique, "dyads")
    t = dy.trends_of(session, PERIOD)
    pure = dy.trends(scenario(Y), PERIOD)
    assert t.years == pure.years and t.responses == pure.responses
    assert t.timing.overall == co.Stats(8, 29.5, 9.0, 84.0, 0, 379, 1, 4)


def test_figures_of_the_bundled_data(session: Any) -> None:
    flt = DyadFilter(year_to=2025)
    r = dy.dyads_of(session, flt)
    top = r.edges[0]
    assert (top.source, top.target) == ("RU", "UA") and top.incidents >= 10 and top.max_intensity == 5
    assert {"GB", "US", "UA"} <= set(top.attributing_states)
    assert r.nodes[0].state == "RU"
    assert r.left_out.unattributed >= 5
    t = dy.trends_of(session, flt)
    assert t.timing.overall.count >= 143 and t.timing.overall.median is not None
    assert sum(y.attributions for y in t.years) >= 180
    assert t.responses[-1].responses >= 88


# ---------------------------------------------------------------- the REST API


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_dyads_api_json_and_csv(role_clients: dict[str, Any]) -> None:
    anon = role_clients["anonymous"]  # public read, like the rest of the knowledge base
    r = anon.get("/api/v1/analytics/dyads", params={"year_to": 2025})
    assert r.status_code == 200
    body = r.json()
    assert body["edges"][0]["source"] == "RU" and body["edges"][0]["target"] == "UA"
    assert {"summary", "nodes", "left_out", "filter"} <= set(body)
    r = anon.get("/api/v1/analytics/dyads", params={"type": ["espionage", "data_theft"], "format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    edges = rows_of(r.text)
    assert edges and {"source", "target", "incidents", "mean_intensity", "attributing_states"} <= set(edges[0])
    nodes = rows_of(anon.get("/api/v1/analytics/dyads", params={"format": "csv", "table": "nodes"}).text)
    assert nodes[0]["state"] == "RU" and int(nodes[0]["out_degree"]) > 5
    # repeated and comma-separated values both work
    a = anon.get("/api/v1/analytics/dyads?type=espionage&type=ddos").json()["summary"]
    b = anon.get("/api/v1/analytics/dyads?type=espionage,ddos").json()["summary"]
    assert a == b


def test_trends_api_json_and_csv(role_clients: dict[str, Any]) -> None:
    anon = role_clients["anonymous"]
    body = anon.get("/api/v1/analytics/trends", params={"year_from": 2017, "year_to": 2018}).json()
    assert [y["year"] for y in body["years"]] == [2017, 2018]
    assert body["timing"]["overall"]["count"] > 0 and body["responses"][-1]["operation_type"] == "all"
    assert "observations" not in body["timing"]  # one per party and incident: /api/v1/attribution/timing
    years = rows_of(anon.get("/api/v1/analytics/trends", params={"format": "csv"}).text)
    assert {"year", "incidents", "attributed", "attributions", "espionage"} <= set(years[0])
    for table, column in (("timing", "median"), ("responses", "restrictive"), ("timing_years", "median")):
        found = rows_of(anon.get("/api/v1/analytics/trends", params={"format": "csv", "table": table}).text)
        assert found and column in found[0], table


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"year_from": 2020, "year_to": 2010}, "year_to"),
        ({"type": "phishing"}, "type"),
        ({"sector": "energy,space"}, "sector"),
        ({"category": "aliens"}, "category"),
        ({"attributed_by": "nobody"}, "attributed_by"),
        ({"year_from": "soon"}, "year_from"),
        ({"format": "xml"}, "format"),
    ],
)
def test_bad_filters_are_problems(role_clients: dict[str, Any], params: dict[str, Any], field: str) -> None:
    for path in ("/api/v1/analytics/dyads", "/api/v1/analytics/trends"):
        r = role_clients["anonymous"].get(path, params=params)
        assert r.status_code == 422, (path, params, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert field in [e["field"] for e in r.json()["errors"]], r.json()
