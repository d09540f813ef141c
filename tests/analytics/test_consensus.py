"""Consensus finder: thresholds, the covering problem solved exactly (HiGHS) and greedily on hand-worked cases —
including a forum of five states whose smallest persuasion set is known, and a case where greedy is worse —,
exact and greedy compared on random instances (greedy never smaller, never beyond its H(k) bound), forums and
support read from the database on both backends (constructed instruments dated 2091, rolled back), and a few
figures of the bundled data."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from accord.analytics import consensus as cs
from accord.analytics.consensus import CoverProblem
from accord.core.errors import Invalid
from accord.incidents.models import Incident, NormFinding
from accord.norms.models import Commitment, Instrument, Provision

D = dt.date


def problem(deficits: dict[str, int], candidates: dict[str, set[str]], distance: dict[str, float] | None = None):
    distance = distance or {}
    return CoverProblem(
        deficits, {s: frozenset(c) for s, c in candidates.items()}, {s: distance.get(s, 0.5) for s in candidates}
    )


def covers(p: CoverProblem, states: list[str]) -> bool:
    return all(sum(1 for s in states if item in p.candidates[s]) >= need for item, need in p.deficits.items())


# ---------------------------------------------------------------- thresholds


def test_thresholds() -> None:
    assert [cs.required("consensus", n) for n in (1, 5, 57, 193)] == [1, 5, 57, 193]
    assert [cs.required("two_thirds", n) for n in (1, 3, 5, 57, 193)] == [1, 2, 4, 38, 129]
    assert [cs.required("majority", n) for n in (1, 2, 5, 57, 193)] == [1, 2, 3, 29, 97]
    with pytest.raises(Invalid) as err:
        cs.required("unanimity", 5)
    assert err.value.problems[0].field == "threshold"


# ---------------------------------------------------------------- the covering problem, by hand


def test_five_state_forum_worked_by_hand() -> None:
    """A forum of five, A–E, and a package of three provisions, two-thirds threshold: ⌈2·5/3⌉ = 4 supporters.

    supporters         no recorded support    deficit
    p1: A, B           C, D, E                2
    p2: A, B, C        D, E                   1
    p3: A, C, D        B, E                   1

    One state is not enough (p1 needs two). Without E, p3 needs B and p2 needs D, and p1 two of {C, D}: three
    states. With E (helping p1, p2 and p3), p1 needs one more of {C, D}: the smallest sets are {C, E} and
    {D, E}, size 2. Alignment breaks the tie: C is closer to the package's supporters (distance 0.2 against 0.6),
    so the answer is {C, E}. Greedy takes E first (it helps three provisions), then C or D (each helps p1
    only): C, being closer — the same set.
    """
    p = problem(
        {"p1": 2, "p2": 1, "p3": 1},
        {"B": {"p3"}, "C": {"p1"}, "D": {"p1", "p2"}, "E": {"p1", "p2", "p3"}},
        {"B": 0.4, "C": 0.2, "D": 0.6, "E": 0.8},
    )
    exact = cs.solve_exact(p)
    assert (exact.states, exact.size, exact.optimal, exact.status) == (["C", "E"], 2, True, "optimal")
    assert exact.distance == pytest.approx(1.0)
    assert exact.gains == {"C": ["p1"], "E": ["p1", "p2", "p3"]}
    greedy = cs.solve_greedy(p)
    assert greedy.states == ["E", "C"] and greedy.distance == pytest.approx(1.0)
    assert p.lower_bound == 2 and greedy.optimal is True  # meets the lower bound max(2, ⌈4/3⌉)
    # D closer than C: the tie goes the other way in both
    q = problem(p.deficits, {s: set(c) for s, c in p.candidates.items()}, {"B": 0.4, "C": 0.7, "D": 0.1, "E": 0.8})
    assert cs.solve_exact(q).states == ["D", "E"] and cs.solve_greedy(q).states == ["E", "D"]


def test_greedy_can_be_worse() -> None:
    """Six provisions each one supporter short. A's move helps 1, 2, 3; B's 4, 5, 6; C's 1, 2, 4, 5.
    The smallest set is {A, B}. Greedy takes C first (four provisions at once), then still needs A for 3 and B
    for 6: three states — within its bound H(4) = 25/12 ≈ 2.08 times the optimum."""
    p = problem(
        {str(i): 1 for i in range(1, 7)},
        {"A": {"1", "2", "3"}, "B": {"4", "5", "6"}, "C": {"1", "2", "4", "5"}},
    )
    exact, greedy = cs.solve_exact(p), cs.solve_greedy(p)
    assert exact.states == ["A", "B"] and exact.optimal
    assert greedy.states == ["C", "A", "B"] and greedy.optimal is None  # above the lower bound 2: unknown
    assert p.reach == 4 and p.guarantee == pytest.approx(25 / 12)
    assert greedy.size <= p.guarantee * exact.size
    assert cs._choose(exact, greedy) == "exact"


def test_consensus_threshold_needs_every_holdout_and_greedy_is_exact() -> None:
    # under consensus the deficit of a provision is its whole set of holdouts: everybody in the union moves
    p = problem({"p1": 3, "p2": 2, "p3": 2}, {"B": {"p3"}, "C": {"p1"}, "D": {"p1", "p2"}, "E": {"p1", "p2", "p3"}})
    assert sorted(cs.solve_exact(p).states) == sorted(cs.solve_greedy(p).states) == ["B", "C", "D", "E"]
    assert p.forced == {"B", "C", "D", "E"} and p.lower_bound == 4 and cs.solve_greedy(p).optimal is True


def test_interchangeable_members_closest_first() -> None:
    """Members whose moves help the same provisions form one group in the integer programme; of a group, the
    closest move first. p1 needs two of A, B, C (all alike but for distance), p2 one of C, D."""
    p = problem(
        {"p1": 2, "p2": 1},
        {"A": {"p1"}, "B": {"p1"}, "C": {"p1", "p2"}, "D": {"p2"}},
        {"A": 0.9, "B": 0.1, "C": 0.5, "D": 0.2},
    )
    assert cs._groups(p) == [["B", "A"], ["C"], ["D"]]
    # size 2 needs C (for p2 and one of p1) and the closest of A, B
    assert cs.solve_exact(p).states == ["B", "C"] and cs.solve_greedy(p).states == ["C", "B"]
    q = problem({"p1": 3}, {s: {"p1"} for s in "ABCDE"}, {"A": 0.9, "B": 0.1, "C": 0.5, "D": 0.2, "E": 0.7})
    assert cs.solve_exact(q).states == ["B", "D", "C"] == cs.solve_greedy(q).states


def test_nothing_short_and_infeasible() -> None:
    empty = problem({}, {})
    assert cs.solve_exact(empty).states == [] and cs.solve_exact(empty).optimal
    assert cs.solve_greedy(empty).states == [] and cs.solve_greedy(empty).optimal
    impossible = problem({"p1": 3}, {"A": {"p1"}, "B": {"p1"}})
    assert cs.solve_exact(impossible).status.startswith("infeasible")
    assert cs.solve_greedy(impossible).status.startswith("infeasible")
    assert not cs.solve_greedy(impossible).complete


def test_exact_and_greedy_compared_on_random_instances() -> None:
    """Greedy is never smaller than the exact optimum and never beyond H(k) times it; both always cover, and the
    exact set is the closest among the smallest (checked by brute force on small cases)."""
    rng = random.Random(20260701)
    worse = 0
    for _ in range(150):
        n_items, n_states = rng.randint(1, 6), rng.randint(2, 9)
        cand = {f"S{j}": {f"p{i}" for i in range(n_items) if rng.random() < 0.5} for j in range(n_states)}
        cand = {s: c for s, c in cand.items() if c}
        if not cand:
            continue
        holders = {f"p{i}": sum(f"p{i}" in c for c in cand.values()) for i in range(n_items)}
        deficits = {i: rng.randint(1, h) for i, h in holders.items() if h}
        dist = {s: round(rng.random(), 3) for s in cand}
        p = problem(deficits, cand, dist)
        exact, greedy = cs.solve_exact(p), cs.solve_greedy(p)
        assert exact.optimal and covers(p, exact.states) and covers(p, greedy.states)
        assert exact.size <= greedy.size <= p.guarantee * exact.size + 1e-9
        assert exact.size >= p.lower_bound
        worse += greedy.size > exact.size
        best = _brute_force(p)
        assert (exact.size, exact.distance) == pytest.approx(best)
    assert worse > 0  # the instances include cases where greedy is worse


def _brute_force(p: CoverProblem) -> tuple[int, float]:
    from itertools import combinations

    states = sorted(p.candidates)
    for k in range(len(states) + 1):
        found = [sum(p.distance[s] for s in c) for c in combinations(states, k) if covers(p, list(c))]
        if found:
            return k, min(found)
    raise AssertionError("no cover")


def test_time_limit_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    """A solver stopped by its time limit with a feasible set: not proven optimal, said so; the chooser then
    takes the smaller of exact and greedy."""
    p = problem(
        {str(i): 1 for i in range(1, 7)}, {"A": {"1", "2", "3"}, "B": {"4", "5", "6"}, "C": {"1", "2", "4", "5"}}
    )

    def stopped(c: Any, **_: Any) -> Any:
        x = np.array([1.0, 1.0, 1.0])  # A, B, C: feasible, not the smallest
        return SimpleNamespace(status=1, x=x, fun=float(np.dot(c, x)), message="Time limit reached")

    monkeypatch.setattr(cs, "milp", stopped)
    exact = cs.solve_exact(p, time_limit=0.5)
    assert exact.optimal is False and exact.status.startswith("time limit reached") and exact.size == 3
    greedy = cs.solve_greedy(p)
    assert cs._choose(exact, greedy) == "exact"  # same size 3; exact wins ties
    monkeypatch.setattr(cs, "milp", lambda c, **_: SimpleNamespace(status=1, x=None, fun=None, message="no"))
    none = cs.solve_exact(p, time_limit=0.5)
    assert not none.complete and cs._choose(none, greedy) == "greedy"


def test_auto_uses_greedy_beyond_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    p = problem({"p1": 1}, {"A": {"p1"}, "B": {"p1"}}, {"A": 0.9, "B": 0.1})
    exact, greedy = cs._solve(p, "auto", 30.0)  # a generous limit: a loaded machine must not decide the outcome
    assert exact is not None and greedy is not None and exact.states == greedy.states == ["B"]
    monkeypatch.setattr(cs, "EXACT_GROUPS", 0)  # A and B form one group
    exact, greedy = cs._solve(p, "auto", 30.0)
    assert exact is None and greedy is not None and greedy.states == ["B"]
    assert cs._solve(p, "exact", 30.0)[1] is None


def test_greedy_scales() -> None:
    """Greedy on a problem far beyond forum size (2,000 members, 400 provisions) covers every provision (its speed
    is a benchmark figure, not a test)."""
    rng = random.Random(3)
    cand = {f"S{j:04d}": {f"p{i}" for i in rng.sample(range(400), 20)} for j in range(2000)}
    holders: dict[str, int] = {}
    for c in cand.values():
        for i in c:
            holders[i] = holders.get(i, 0) + 1
    p = problem({i: max(1, h // 3) for i, h in holders.items()}, cand, {s: rng.random() for s in cand})
    greedy = cs.solve_greedy(p)
    assert covers(p, greedy.states)


# ---------------------------------------------------------------- forums and support (both backends)

FIVE = ["AG", "BD", "CG", "DM", "ET"]  # bundled data: each only endorsed the UN GGE norms


@pytest.fixture
def package(session: Any, unique: str) -> dict[str, str]:
    """The five-state case of ``test_five_state_forum_worked_by_hand`` in the database: A–E are AG, BD, CG, DM,
    ET; p1–p3 are three constructed treaties ratified in 2091; a fourth (not in the package) is ratified by A and C
    only, so C is closer than D to A, the one state supporting the whole package. Rolled back after the test."""
    a, b, c, d, e = FIVE
    codes = {k: f"T{k}-{unique}" for k in ("p1", "p2", "p3", "p4")}
    common = {"sources": ["https://example.org/test"], "as_of": D(2026, 1, 1)}
    session.add_all([Instrument(code=v, name=f"Constructed {k}", kind="treaty", **common) for k, v in codes.items()])
    session.flush()
    holders = {"p1": [a, b], "p2": [a, b, c], "p3": [a, c, d], "p4": [a, c]}
    session.add_all(
        Commitment(instrument_code=codes[k], state_code=s, status="ratified", date=D(2091, 1, 1), **common)
        for k, states in holders.items()
        for s in states
    )
    provision = Provision(instrument_code=codes["p1"], code="art1", title="Constructed article")
    incident = Incident(slug=f"cons-{unique}", name="Constructed", operation_type="espionage", **common)
    session.add_all([provision, incident])
    session.flush()
    session.add(  # E invoked p1's article 1 in 2091: it supports that provision (not the treaty as a whole)
        NormFinding(
            incident_id=incident.id, provision_id=provision.id, claimed_by_state=e, date=D(2091, 2, 1), **common
        )
    )
    session.flush()
    return codes


def test_five_state_forum_in_the_database(session: Any, package: dict[str, str]) -> None:
    a, b, c, d, e = FIVE
    at = D(2091, 6, 1)
    refs = [package["p1"], package["p2"], package["p3"]]
    r = cs.consensus(session, forum="custom", states=FIVE, provisions=refs, threshold="two_thirds", at=at)
    assert (r.forum.size, r.required) == (5, 4)
    assert [(s.item.ref, s.supporters, s.no_record, s.deficit) for s in r.items] == [
        (refs[0], [a, b], [c, d, e], 2),
        (refs[1], [a, b, c], [d, e], 1),
        (refs[2], [a, c, d], [b, e], 1),
    ]
    assert r.package_supporters == [a] and r.reference == "all"
    # distances to A (UN GGE norms + p1–p4): B shares 3 of 5, C 4 of 5, D 2 of 5; E 1 of 6 (its invocation is
    # an entry A lacks)
    dist = {h.code: h.distance for h in r.holdouts}
    assert dist == {b: 0.4, c: 0.2, d: 0.6, e: round(1 - 1 / 6, 4)}
    assert r.exact is not None and r.greedy is not None
    assert r.exact.states == [c, e] and r.greedy.states == [e, c] and r.chosen == "exact" and r.persuade == [c, e]
    assert [h.code for h in r.holdouts if h.persuade] == [e, c]  # E holds out on the most provisions
    assert all(s.blockers == [] for s in r.items) and r.items[0].blocking_minority == 2

    unanimity = cs.consensus(session, forum="custom", states=FIVE, provisions=refs, threshold="consensus", at=at)
    assert [s.blockers for s in unanimity.items] == [[c, d, e], [d, e], [b, e]]
    assert sorted(unanimity.persuade) == [b, c, d, e]
    majority = cs.consensus(session, forum="custom", states=FIVE, provisions=refs, threshold="majority", at=at)
    assert majority.persuade == [c]  # p1 needs one of C, D, E: C is the closest

    # before 2091 nobody supports the constructed treaties; with basis "bound" a signature would not count
    early = cs.consensus(session, forum="custom", states=FIVE, provisions=refs, at=D(2090, 1, 1))
    assert all(s.supporters == [] for s in early.items) and early.reference == "none"
    assert sorted(early.persuade) == FIVE

    # E invoked article 1 of p1: it supports that provision, not the treaty as a whole
    art = cs.consensus(session, forum="custom", states=FIVE, provisions=[f"{refs[0]}/art1", refs[0]], at=at)
    assert art.items[0].supporters == [a, b, e] and art.items[0].invoked_only == [e]
    assert art.items[1].supporters == [a, b]
    wildcard = cs.resolve_items(session, [f"{refs[0]}/*"])
    assert [i.ref for i in wildcard] == [f"{refs[0]}/art1"]


def test_forums(session: Any) -> None:
    un = cs.forum_members(session, "UN")
    assert un.size == 193 and un.not_counted == {"PS": "observer", "VA": "observer"}
    assert cs.forum_members(session, "OSCE").size == 57
    au = cs.forum_members(session, "AU")
    assert len(au.not_counted) == 6 and set(au.not_counted.values()) == {"suspended"}
    assert "GB" in cs.forum_members(session, "EU", at=D(2019, 6, 1)).members
    assert "GB" not in cs.forum_members(session, "EU").members
    assert "RU" in cs.forum_members(session, "COE", at=D(2020, 1, 1)).members
    assert cs.forum_members(session, "UN", at=D(1950, 1, 1)).size < 80
    custom = cs.forum_members(session, "custom", states=["fr", "DE", "FR"])
    assert custom.members == ["DE", "FR"] and custom.key == "custom"
    for forum, states, field in (("NOPE", (), "forum"), ("custom", (), "states"), ("custom", ("FR", "QQ"), "states")):
        with pytest.raises(Invalid) as err:
            cs.forum_members(session, forum, states=states)
        assert err.value.problems[0].field == field
    with pytest.raises(Invalid) as err:
        cs.resolve_items(session, ["UNGGE-2015/z", "NOPE"])
    assert err.value.problems[0].field == "provisions" and "UNGGE-2015/z, NOPE" in err.value.problems[0].reason
    with pytest.raises(Invalid):
        cs.resolve_items(session, [" "])
    for name, value in (("threshold", "all"), ("method", "fast"), ("basis", "vibes")):
        with pytest.raises(Invalid) as err:
            cs.consensus(session, provisions=["BUDAPEST"], **{name: value})
        assert err.value.problems[0].field == name


def test_figures_of_the_bundled_data(session: Any) -> None:
    # every UN member endorsed the GGE norms: nothing is short, nobody to persuade
    gge = cs.consensus(session, forum="UN", provisions=["UNGGE-2015/*"], threshold="consensus")
    assert len(gge.items) == 11 and all(s.passes for s in gge.items) and gge.persuade == [] and gge.chosen is None
    # the Budapest Convention and the Paris Call in the OSCE, two-thirds: both solvers agree on the size
    r = cs.consensus(session, forum="OSCE", provisions=["BUDAPEST", "PARIS-CALL"], threshold="two_thirds")
    assert r.required == 38 and r.exact is not None and r.greedy is not None and r.exact.optimal
    assert r.exact.size <= r.greedy.size and r.exact.size == r.lower_bound
    short = {s.item.ref: s for s in r.items}
    assert short["BUDAPEST"].passes and not short["PARIS-CALL"].passes
    assert "RU" in short["PARIS-CALL"].no_record
    # bound only: the Second Protocol has few ratifications, signatures no longer count
    signed = cs.consensus(session, forum="COE", provisions=["BUDAPEST-P2"], threshold="majority")
    bound = cs.consensus(session, forum="COE", provisions=["BUDAPEST-P2"], threshold="majority", basis="bound")
    assert len(bound.items[0].supporters) < len(signed.items[0].supporters)


# ---------------------------------------------------------------- REST and the page


def test_api_consensus(role_clients: dict[str, Any]) -> None:
    anon = role_clients["anonymous"]  # public, like the rest of the knowledge base
    params = {"forum": "OSCE", "provisions": "BUDAPEST,PARIS-CALL", "threshold": "two_thirds"}
    r = anon.get("/api/v1/analytics/consensus", params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["forum"]["size"] == 57 and body["required"] == 38 and body["chosen"] == "exact"
    assert [i["item"]["ref"] for i in body["items"]] == ["BUDAPEST", "PARIS-CALL"]
    assert body["items"][0]["passes"] is True and body["items"][1]["passes"] is False
    exact, greedy = body["exact"], body["greedy"]
    assert exact["optimal"] is True and exact["complete"] is True and exact["size"] <= greedy["size"]
    assert body["persuade"] == exact["states"] and exact["seconds"] >= 0
    only_greedy = anon.get("/api/v1/analytics/consensus", params={**params, "method": "greedy"}).json()
    assert only_greedy["exact"] is None and only_greedy["chosen"] == "greedy"
    custom = anon.get(
        "/api/v1/analytics/consensus", params={"states": "FR DE RU", "provisions": "BUDAPEST", "threshold": "consensus"}
    ).json()
    assert custom["forum"]["key"] == "custom" and custom["persuade"] == ["RU"]
    assert custom["items"][0]["blockers"] == ["RU"]


def _csv(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    return list(csv.DictReader(io.StringIO(response.text)))


def test_api_consensus_csv(role_clients: dict[str, Any]) -> None:
    anon = role_clients["anonymous"]
    params = {"forum": "EU", "provisions": "BUDAPEST-P1,BUDAPEST-P2", "format": "csv"}
    r = anon.get("/api/v1/analytics/consensus", params=params)
    assert r.status_code == 200 and 'filename="consensus-provisions.csv"' in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["provision"] for row in rows] == ["BUDAPEST-P1", "BUDAPEST-P2"]
    assert rows[0]["members"] == "27" and int(rows[0]["supporters"]) + int(rows[0]["no_recorded_support"]) == 27
    assert rows[0]["blockers"] == rows[0]["no_record_codes"]  # consensus: every holdout blocks
    holdouts = _csv(anon.get("/api/v1/analytics/consensus", params={**params, "table": "holdouts"}))
    persuasion = _csv(anon.get("/api/v1/analytics/consensus", params={**params, "table": "persuasion"}))
    assert {h["state"] for h in holdouts} == {p["state"] for p in persuasion if p["method"] == "exact"}
    assert {p["method"] for p in persuasion} == {"exact", "greedy"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "provisions"),
        ({"provisions": "NOPE"}, "provisions"),
        ({"provisions": "UNGGE-2015/z"}, "provisions"),
        ({"provisions": "BUDAPEST", "forum": "NOPE"}, "forum"),
        ({"provisions": "BUDAPEST", "forum": "custom"}, "states"),
        ({"provisions": "BUDAPEST", "states": "FR,QQ"}, "states"),
        ({"provisions": "BUDAPEST", "threshold": "unanimity"}, "threshold"),
        ({"provisions": "BUDAPEST", "method": "fast"}, "method"),
        ({"provisions": "BUDAPEST", "basis": "vibes"}, "basis"),
        ({"provisions": "BUDAPEST", "at": "2020-13-01"}, "at"),
        ({"provisions": "<script>"}, "provisions"),
    ],
)
def test_api_consensus_problems(role_clients: dict[str, Any], params: dict[str, str], field: str) -> None:
    r = role_clients["anonymous"].get("/api/v1/analytics/consensus", params=params)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", r.text
    assert field in [e["field"] for e in r.json()["errors"]], r.json()


def test_consensus_page(role_clients: dict[str, Any]) -> None:
    anon = role_clients["anonymous"]
    start = anon.get("/analytics/consensus")
    assert start.status_code == 200 and "Start from an example" in start.text
    assert 'href="/analytics/consensus?forum=OSCE&amp;provisions=BUDAPEST%2CPARIS-CALL&amp;threshold=two_thirds"' in (
        start.text
    )
    params = [("forum", "OSCE"), ("provisions", "BUDAPEST"), ("provisions", "PARIS-CALL"), ("threshold", "two_thirds")]
    r = anon.get("/analytics/consensus", params=params)
    assert r.status_code == 200
    for expected in (
        'id="support-chart"',
        'id="consensus-chart-data"',
        'id="persuade-table"',
        'id="holdouts-table"',
        "Exact (integer programming)",
        "Greedy",
        '<option value="PARIS-CALL" selected>',
        "/api/v1/analytics/consensus?forum=OSCE&amp;provisions=BUDAPEST%2CPARIS-CALL&amp;threshold=two_thirds",
    ):
        assert expected in r.text, expected
    bad = anon.get("/analytics/consensus", params={"provisions": "NOPE", "threshold": "x", "at": "2020-13-01"})
    assert bad.status_code == 200 and 'role="alert"' in bad.text
    for reason in ("unknown provision or instrument: NOPE", "one of consensus, two_thirds, majority", "give a date"):
        assert reason in bad.text, reason
    custom = anon.get("/analytics/consensus", params={"forum": "custom", "states": "FR QQ", "provisions": "BUDAPEST"})
    assert "not in the directory: QQ" in custom.text and "United Nations" in custom.text  # fell back to the UN
