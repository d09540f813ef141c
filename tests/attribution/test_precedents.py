"""Precedents: the similarity formula worked by hand on constructed incidents, ranking and what followed,
the database reading on both backends (constructed incidents in a transaction that is rolled back), one
check on the bundled data (NotPetya), the REST endpoint with its CSV export, and the page."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from sqlalchemy import select

from accord.attribution import precedents as pr
from accord.attribution.coalitions import Party
from accord.core.errors import NotFound
from accord.incidents.models import Attribution, Incident, IncidentActor, IncidentReceiver, Response, ThreatActor

D = dt.date


def profile(pid: int, op: str, intensity: int | None, date: D | None, **sets: set[Any]) -> pr.Profile:
    return pr.Profile(pid, op, intensity, date, **{k: frozenset(v) for k, v in sets.items()})


NOTPETYA = profile(
    1,
    "destruction",
    5,
    D(2017, 6, 27),
    sectors={"energy", "finance"},
    categories={"critical_infrastructure", "private"},
    targets={"UA", "DK"},
    actors={10},
    states={"RU"},
)
GRID = profile(
    2,
    "disruption",
    4,
    D(2015, 12, 23),
    sectors={"energy"},
    categories={"critical_infrastructure"},
    targets={"UA"},
    actors={10},
    states={"RU"},
)
SPIES = profile(
    3, "espionage", None, D(2005, 1, 1), sectors={"finance"}, categories={"government"}, targets={"US"}, states={"RU"}
)


# ---------------------------------------------------------------- the formula, by hand


def test_components_and_score_worked_by_hand() -> None:
    m = pr.compare(NOTPETYA, GRID)
    # same family (effects) 0.5; actor 10 shared 1; sectors {energy}/{energy, finance} 1/2; intensity 1 − 1/4;
    # categories 1/2; targets {UA}/{UA, DK} 1/2; era 1 − 2/10
    assert m.components == {
        "type": 0.5,
        "actor": 1.0,
        "sectors": 0.5,
        "intensity": 0.75,
        "categories": 0.5,
        "targets": 0.5,
        "era": 0.8,
    }
    # 0.25·0.5 + 0.20·1 + 0.15·0.5 + 0.15·0.75 + 0.10·0.5 + 0.10·0.5 + 0.05·0.8
    assert m.score == pytest.approx(0.6525)
    assert (m.sectors, m.categories, m.targets, m.actors, m.states) == (
        ["energy"],
        ["critical_infrastructure"],
        ["UA"],
        [10],
        ["RU"],
    )
    assert pr.compare(GRID, NOTPETYA).score == m.score  # symmetric


def test_partial_credit_and_unknowns_worked_by_hand() -> None:
    m = pr.compare(NOTPETYA, SPIES)
    # other family 0; no actor but the same suspected state 0.5; sectors {finance}/{energy, finance} 1/2;
    # intensity not assessed 0; categories and targets disjoint 0; twelve years apart 0
    assert m.components == {
        "type": 0.0,
        "actor": 0.5,
        "sectors": 0.5,
        "intensity": 0.0,
        "categories": 0.0,
        "targets": 0.0,
        "era": 0.0,
    }
    assert m.score == pytest.approx(0.20 * 0.5 + 0.15 * 0.5)
    twin = profile(
        9,
        "destruction",
        5,
        D(2016, 1, 1),
        **{k: getattr(NOTPETYA, k) for k in ("sectors", "categories", "targets", "actors", "states")},
    )
    assert pr.compare(NOTPETYA, twin).score == pytest.approx(1 - 0.05 * 0.1)  # alike but for one year
    assert pr.compare(NOTPETYA, NOTPETYA).score == pytest.approx(1.0)
    assert sum(pr.WEIGHTS.values()) == pytest.approx(1.0)


def test_small_scores() -> None:
    empty = frozenset[str]()
    assert pr.jaccard(empty, empty) == 0.0
    assert pr.jaccard(frozenset("ab"), frozenset("bc")) == pytest.approx(1 / 3)
    assert pr.type_score("espionage", "data_theft") == 0.5
    assert pr.type_score("influence_operation", "hijacking") == 0.0
    assert pr.type_score("hijacking", "hijacking") == 1.0
    assert pr.intensity_score(1, 5) == 0.0 and pr.intensity_score(3, 4) == 0.75 and pr.intensity_score(None, 3) == 0
    assert pr.era_score(D(2010, 1, 1), D(2025, 1, 1)) == 0.0 and pr.era_score(D(2010, 1, 1), None) == 0.0


def test_rank_keeps_earlier_incidents_best_first_with_stable_ties() -> None:
    same_day_twin = profile(
        7,
        SPIES.operation_type,
        None,
        SPIES.date,
        sectors=SPIES.sectors,
        categories=SPIES.categories,
        targets=SPIES.targets,
        states=SPIES.states,
    )
    later = profile(4, "destruction", 5, D(2020, 1, 1), sectors={"energy"})
    undated = profile(5, "destruction", 5, None, sectors={"energy"})
    pool = [later, undated, same_day_twin, SPIES, GRID, NOTPETYA]
    ranked = pr.rank(NOTPETYA, pool, limit=10)
    # never itself, never later or undated ones; ties (3 and 7 score alike, same date) by id
    assert [p.id for p, _ in ranked] == [2, 3, 7]
    assert [p.id for p, _ in pr.rank(NOTPETYA, pool, limit=2)] == [2, 3]
    with_later = pr.rank(NOTPETYA, pool, limit=10, include_later=True)
    assert [p.id for p, _ in with_later][:3] == [2, 4, 5]  # 4 (0.15+0.25+0.15+0.05·0.7) before 5 (no era)
    assert {p.id for p, _ in with_later} == {2, 3, 4, 5, 7}
    undated_target = pr.rank(undated, pool, limit=10)
    assert {p.id for p, _ in undated_target} == {1, 2, 3, 4, 7}  # a target without dates is compared with all


def test_reasons_say_why_in_words() -> None:
    why = pr.reasons(NOTPETYA, GRID, pr.compare(NOTPETYA, GRID), {10: "Sandworm Team"})
    assert why == [
        "same family of operations (effects)",
        "same actor: Sandworm Team",
        "sectors in common: energy",
        "intensity one step apart (4 vs 5)",
        "target categories in common: critical infrastructure",
        "target states in common: UA",
        "began 2 years apart",
    ]
    assert pr.reasons(NOTPETYA, SPIES, pr.compare(NOTPETYA, SPIES), {}) == [
        "same suspected state: RU",
        "sectors in common: finance",
    ]


# ---------------------------------------------------------------- what followed, by hand


def brief(pid: int, disclosed: D | None) -> pr.IncidentBrief:
    return pr.IncidentBrief(pid, f"p{pid}", f"Precedent {pid}", "destruction", 4, disclosed, disclosed, "day")


def att(aid: int, by: Party | None, date: D, ref: D, joint_with: list[Party] | None = None) -> pr.FollowedAttribution:
    group = "g" if joint_with else None
    return pr.FollowedAttribution(
        aid,
        by,
        "RU",
        None,
        date,
        (date - ref).days,
        "political_statement",
        "third_party_government",
        group,
        joint_with or [],
    )


def resp(rid: int, by: Party, rtype: str, recorded: str | None, date: D, ref: D) -> pr.FollowedResponse:
    category, was_recorded = pr.toolbox_of(rtype, recorded)
    return pr.FollowedResponse(rid, by, rtype, category, was_recorded, "RU", date, (date - ref).days, None)


def precedent(b: pr.IncidentBrief, atts: list[Any], resps: list[Any]) -> pr.Precedent:
    return pr.Precedent(b, 0.5, {}, [], [], [], [], [], [], "disclosure", atts, resps)


GB, US, EU = Party("state", "GB"), Party("state", "US"), Party("organisation", "EU")


def test_what_followed_worked_by_hand() -> None:
    d1, d2 = D(2020, 1, 1), D(2021, 1, 1)
    p1 = precedent(
        brief(1, d1),
        [att(1, GB, D(2020, 1, 11), d1, [US]), att(2, Party("company", "Mandiant"), D(2020, 1, 3), d1)],
        [
            resp(1, EU, "sanctions", "restrictive", D(2020, 1, 31), d1),
            resp(2, US, "indictment", None, D(2020, 3, 1), d1),
        ],
    )
    p2 = precedent(brief(2, d2), [att(3, US, D(2021, 1, 21), d2)], [resp(3, US, "sanctions", None, D(2021, 1, 11), d2)])
    p3 = precedent(brief(3, D(2022, 1, 1)), [att(4, Party("company", "ESET"), D(2022, 1, 2), D(2022, 1, 1))], [])
    f = pr.what_followed([p1, p2, p3])
    assert (f.precedents, f.attributed, f.attributed_jointly, f.responded) == (3, 2, 1, 2)  # companies do not count
    assert f.median_days_to_attribution == 15.0  # first official attribution: 10 and 20 days
    assert [(a.party.code, a.incidents) for a in f.attributors] == [("GB", 1), ("US", 1)]
    assert f.without_response == [3]
    groups = {g.category: g for g in f.toolbox}
    assert [g.category for g in f.toolbox] == list(pr.TOOLBOX)  # every category, in the toolbox's order
    restrictive = groups["restrictive"]
    assert (restrictive.responses, restrictive.incidents, restrictive.recorded, restrictive.mapped) == (2, 2, 1, 1)
    assert restrictive.types == {"sanctions": 2}
    assert restrictive.median_days == 20.0  # 30 and 10 days
    assert [(e.incident_id, e.type) for e in restrictive.examples] == [(1, "sanctions"), (2, "sanctions")]
    support = groups["support"]
    assert (support.responses, support.recorded, support.mapped, support.median_days) == (1, 0, 1, 60.0)
    assert groups["preventive"].responses == 0 and groups["preventive"].median_days is None
    assert groups["preventive"].label == "Preventive measures"


def test_toolbox_category_of_a_response() -> None:
    assert pr.toolbox_of("sanctions", "restrictive") == ("restrictive", True)
    assert pr.toolbox_of("demarche", "cooperative") == ("cooperative", True)  # the recorded one wins
    assert pr.toolbox_of("statement", None) == ("stabilising", False)
    assert pr.toolbox_of("indictment", None) == ("support", False)
    assert pr.toolbox_of("capacity_building", None) == ("preventive", False)


# ---------------------------------------------------------------- the database (both backends)


def _incident(session: Any, slug: str, start: D, actor: ThreatActor, **extra: Any) -> Incident:
    obj = Incident(
        slug=slug,
        name=f"Constructed {slug}",
        operation_type="destruction",
        intensity=5,
        start_date=start,
        disclosure_date=start + dt.timedelta(days=1),
        receivers=[
            IncidentReceiver(state_code="IS", category="critical_infrastructure", sector="energy"),
            IncidentReceiver(state_code="MT", category="government", sector="government_services"),
        ],
        actor_links=[IncidentActor(actor_id=actor.id)],
        **extra,
    )
    session.add(obj)
    session.flush()
    return obj


@pytest.fixture
def constructed(session: Any, unique: str) -> dict[str, Any]:
    """A target incident in 2090, its twin a year earlier (attributed jointly, with responses) and an identical
    incident later the same year; everything is rolled back when the test ends."""
    actor = ThreatActor(name=f"Constructed actor {unique}", sponsor_state="RU")
    session.add(actor)
    session.flush()
    twin = _incident(session, f"twin-{unique}", D(2089, 6, 1), actor)
    target = _incident(session, f"target-{unique}", D(2090, 3, 1), actor)
    later = _incident(session, f"later-{unique}", D(2090, 9, 1), actor)
    group = f"joint-{unique}"
    common = {"incident_id": twin.id, "attributed_state": "RU", "basis": "receiver_government"}
    session.add_all(
        [
            Attribution(by_state="IS", date=D(2089, 6, 12), form="political_statement", joint_group=group, **common),
            Attribution(by_state="MT", date=D(2089, 6, 12), form="political_statement", joint_group=group, **common),
            Attribution(by_company="Constructed Security", date=D(2089, 6, 3), form="technical_advisory", **common),
            Response(
                incident_id=twin.id,
                by_organisation="EU",
                against_state="RU",
                date=D(2089, 12, 2),
                type="sanctions",
                eu_toolbox="restrictive",
            ),
            Response(incident_id=twin.id, by_state="US", against_state="RU", date=D(2089, 7, 2), type="indictment"),
        ]
    )
    session.flush()
    return {"target": target, "twin": twin, "later": later, "actor": actor, "group": group}


def test_similar_reads_the_database(session: Any, constructed: dict[str, Any]) -> None:
    target, twin = constructed["target"], constructed["twin"]
    [p] = pr.similar(session, target.id, limit=1)
    assert p.incident.id == twin.id
    assert p.score == pytest.approx(0.995)  # alike in everything but one year
    assert p.components == {k: (0.9 if k == "era" else 1.0) for k in pr.WEIGHTS}
    assert p.shared_actors == [pr.ActorRef(constructed["actor"].id, constructed["actor"].name)]
    assert p.shared_states == ["RU"] and p.shared_targets == ["IS", "MT"]
    assert "same operation type (destruction)" in p.why and "began 1 year apart" in p.why
    assert p.days_from == "disclosure"
    by = {(a.by.code if a.by else None): a for a in p.attributions}
    assert [a.by.code for a in p.attributions if a.by] == ["Constructed Security", "IS", "MT"]  # by date, then id
    assert by["IS"].joint_with == [Party("state", "MT")] and by["MT"].joint_with == [Party("state", "IS")]
    assert by["IS"].days_after == 10 and by["IS"].joint_group == constructed["group"]
    assert by["Constructed Security"].joint_with == [] and by["Constructed Security"].by.kind == "company"
    assert [(r.type, r.toolbox, r.toolbox_recorded, r.days_after) for r in p.responses] == [
        ("indictment", "support", False, 30),
        ("sanctions", "restrictive", True, 183),
    ]


def test_later_incidents_only_on_request(session: Any, constructed: dict[str, Any]) -> None:
    target, later = constructed["target"], constructed["later"]
    assert later.id not in {p.incident.id for p in pr.similar(session, target.id, limit=50)}
    first = pr.similar(session, target.id, limit=1, include_later=True)[0]
    assert first.incident.id == later.id and first.score == pytest.approx(1.0)


def test_report_aggregates_and_is_deterministic(session: Any, constructed: dict[str, Any]) -> None:
    report = pr.precedent_report(session, constructed["target"].id, limit=1)
    assert report.incident.id == constructed["target"].id and report.weights == pr.WEIGHTS
    f = report.followed
    assert (f.precedents, f.attributed, f.attributed_jointly, f.median_days_to_attribution) == (1, 1, 1, 10.0)
    groups = {g.category: g for g in f.toolbox}
    assert groups["restrictive"].responses == 1 and groups["restrictive"].recorded == 1
    assert groups["support"].types == {"indictment": 1} and groups["support"].mapped == 1
    assert pr.precedent_report(session, constructed["target"].id, limit=1) == report


def test_unknown_incident(session: Any) -> None:
    with pytest.raises(NotFound):
        pr.similar(session, 2**31 - 1)


def test_notpetya_precedents_on_the_bundled_data(session: Any) -> None:
    notpetya = session.scalar(select(Incident).where(Incident.slug == "notpetya-2017"))
    found = pr.similar(session, notpetya.id)
    assert len(found) == 10
    assert all(p.incident.start_date < notpetya.start_date for p in found)  # earlier incidents only
    assert [p.score for p in found] == sorted((p.score for p in found), reverse=True)
    slugs = {p.incident.slug: p for p in found}
    # other destructive operations ...
    destructive = {s for s, p in slugs.items() if p.incident.operation_type == "destruction"}
    assert {"shamoon-saudi-aramco-2012", "dark-seoul-2013", "shamoon-2-2016"} <= destructive, sorted(slugs)
    # ... and Sandworm's attacks on the Ukrainian grid, the same actor against the same country, come first
    grid = slugs["ukraine-power-grid-2016-industroyer"]
    assert found[0] is grid or found[0].incident.slug == "ukraine-power-grid-2015"
    assert "same actor: Sandworm Team" in grid.why and grid.shared_targets == ["UA"]
    # what followed them: EU sanctions (recorded restrictive measures) and US indictments
    followed = pr.what_followed(found)
    groups = {g.category: g for g in followed.toolbox}
    assert groups["restrictive"].recorded >= 1 and groups["support"].types.get("indictment", 0) >= 1
    assert any(a.party == Party("state", "US") for a in followed.attributors)


# ---------------------------------------------------------------- REST and the page


def _notpetya_id(client: Any) -> int:
    return client.get("/api/v1/incidents", params={"q": "NotPetya"}).json()["items"][0]["id"]


def test_api_precedents_json_and_csv(role_clients: dict[str, Any]) -> None:
    anon = role_clients["anonymous"]  # public read, like the rest of the knowledge base
    incident_id = _notpetya_id(anon)
    r = anon.get(f"/api/v1/incidents/{incident_id}/precedents", params={"limit": 5})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["incident"]["slug"] == "notpetya-2017" and body["include_later"] is False
    assert len(body["precedents"]) == 5 and body["weights"]["type"] == 0.25
    first = body["precedents"][0]
    assert set(first) >= {"incident", "score", "components", "why", "attributions", "responses"}
    assert {g["category"] for g in body["followed"]["toolbox"]} == set(pr.TOOLBOX)

    r = anon.get(f"/api/v1/incidents/{incident_id}/precedents", params={"limit": 5, "format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["slug"] for row in rows] == [p["incident"]["slug"] for p in body["precedents"]]
    assert rows[0]["rank"] == "1" and float(rows[0]["score"]) == first["score"]

    r = anon.get(f"/api/v1/incidents/{incident_id}/precedents", params={"format": "csv", "table": "toolbox"})
    assert [row["category"] for row in csv.DictReader(io.StringIO(r.text))] == list(pr.TOOLBOX)


def test_api_precedents_refusals(client: Any) -> None:
    assert client.get("/api/v1/incidents/2147483647/precedents").status_code == 404
    assert client.get("/api/v1/incidents/1/precedents", params={"limit": 0}).status_code == 422
    assert client.get("/api/v1/incidents/1/precedents", params={"limit": 51}).status_code == 422
    assert client.get("/api/v1/incidents/1/precedents", params={"format": "xml"}).status_code == 422


def test_precedents_page(role_clients: dict[str, Any]) -> None:
    anon = role_clients["anonymous"]
    incident = anon.get("/incidents/notpetya-2017")
    assert incident.status_code == 200
    incident_id = _notpetya_id(anon)
    assert f'href="/incidents/{incident_id}/precedents"' in incident.text  # linked from the incident page
    r = anon.get("/incidents/notpetya-2017/precedents")
    assert r.status_code == 200
    text = r.text
    assert "Precedents of NotPetya" in text and "What followed similar incidents" in text
    assert "Restrictive measures" in text and "Support to lawful responses" in text
    assert "Ukraine power grid attack 2015" in text and "same actor: Sandworm Team" in text
    assert f"/api/v1/incidents/{incident_id}/precedents?limit=10&amp;format=csv&amp;table=toolbox" in text
    more = anon.get(f"/incidents/{incident_id}/precedents", params={"scope": "all", "limit": "5"})
    assert more.status_code == 200 and "include_later=true" in more.text
    assert more.text.count('<section aria-labelledby="h-p-') == 5
    assert anon.get("/incidents/no-such-incident/precedents").status_code == 404
