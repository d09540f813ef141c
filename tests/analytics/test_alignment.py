"""Alignment: the weighted-Jaccard similarity, standings as of a date, blocs, the embedding and changes over time
worked by hand on constructed records; the database reading on both backends (constructed instruments dated
2091, in a transaction that is rolled back); ``closest_states`` and a few figures of the bundled data."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from typing import Any

import numpy as np
import pytest

from accord.analytics import alignment as al
from accord.analytics.alignment import Event, Invocation, Record
from accord.core.errors import NotFound
from accord.incidents.models import Incident, NormFinding
from accord.norms.models import Commitment, Instrument, Provision

D = dt.date


def ev(state: str, instrument: str, status: str, date: D | None, effective: D | None = None) -> Event:
    return Event(state, instrument, status, date, date if date is not None else effective)


# ---------------------------------------------------------------- the similarity


def test_weighted_jaccard_worked_by_hand() -> None:
    # a ratified X and signed Y; b ratified both: shared min 1 + 0.5, combined max 1 + 1
    assert al.weighted_jaccard([1, 0.5, 0], [1, 1, 0]) == 0.75
    assert al.weighted_jaccard([1, 0, 0], [0, 1, 0]) == 0.0  # nothing in common
    assert al.weighted_jaccard([0, 1, 1], [0, 1, 1]) == 1.0
    assert al.weighted_jaccard([0, 0], [0, 0]) is None  # no record on either side: undefined, not "aligned"
    # a joint absence changes nothing (unlike simple matching): adding an instrument neither joined
    assert al.weighted_jaccard([1, 0.5], [1, 1]) == al.weighted_jaccard([1, 0.5, 0, 0], [1, 1, 0, 0])


def test_similarity_matrix_and_shared_counts() -> None:
    x = np.array([[1, 0.5, 0], [1, 1, 0], [0, 0, 1], [0, 0, 0]])
    sim, shared = al.similarity_matrix(x)
    assert sim[0, 1] == sim[1, 0] == 0.75
    assert sim[0, 2] == 0.0 and sim[2, 2] == 1.0
    assert math.isnan(sim[3, 3]) and math.isnan(sim[3, 0]) is False and sim[3, 0] == 0.0
    assert shared[0, 1] == 2 and shared[0, 2] == 0 and shared[1, 1] == 2
    d = al.distances(sim)
    assert d[3, 3] == 0.0 and d[0, 1] == 0.25 and d[3, 0] == 1.0
    # the Ruzicka distance is a metric: the triangle inequality holds on random non-negative vectors
    rng = np.random.default_rng(7)
    y = rng.choice([0.0, 0.5, 1.0], size=(30, 6))
    dd = al.distances(al.similarity_matrix(y)[0])
    assert (dd[:, :, None] <= dd[:, None, :] + dd.T[None, :, :] + 1e-12).all()


# ---------------------------------------------------------------- standings as of a date


def test_standing_as_of_a_date() -> None:
    record = Record(
        {"T": "Treaty", "P": "Political"},
        [
            ev("FR", "T", "signed", D(2001, 11, 23)),
            ev("FR", "T", "ratified", D(2006, 1, 10)),
            ev("RU", "T", "signed", D(2001, 11, 23)),
            ev("RU", "T", "withdrawn", D(2010, 1, 1)),
            ev("AL", "T", "ratified", None, effective=D(2003, 1, 28)),  # undated: counts from the opening
            ev("NZ", "P", "endorsed", D(2018, 11, 12)),
        ],
        [Invocation("GB", "T/art2", D(2018, 2, 15))],
    )
    assert record.standing(D(2000, 1, 1)) == {}
    assert record.standing(D(2005, 1, 1)) == {"FR": {"T": "signed"}, "RU": {"T": "signed"}, "AL": {"T": "ratified"}}
    now = record.standing(None)
    assert now["FR"] == {"T": "ratified"} and now["RU"] == {"T": "withdrawn"} and now["NZ"] == {"P": "endorsed"}
    assert record.undated == 1
    assert record.invoked(D(2018, 1, 1)) == {} and record.invoked(None) == {"GB": {"T/art2"}}
    vec = al.vectors(record, ["FR", "RU", "AL", "NZ", "GB"], D(2008, 1, 1))
    assert vec.features == ["T", "P"]  # no invocation yet in 2008
    assert vec.values.tolist() == [[1.0, 0.0], [0.5, 0.0], [1.0, 0.0], [0.0, 0.0], [0.0, 0.0]]
    later = al.vectors(record, ["FR", "RU", "GB"], None)
    assert later.features == ["T", "P", "invoked:T/art2"]
    assert later.values.tolist() == [[1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    assert later.statuses["RU"] == {"T": "withdrawn"}


# ---------------------------------------------------------------- blocs and the embedding


def _record() -> Record:
    """Two camps on four instruments: W1–W3 (A, B, C) and E1 (D, E, F); C also signed E1; G joined nothing."""
    events = []
    for s in ("AT", "BE", "CZ"):
        events += [ev(s, "W1", "ratified", D(2010, 1, 1)), ev(s, "W2", "ratified", D(2012, 1, 1))]
    events += [ev("AT", "W3", "endorsed", D(2020, 1, 1)), ev("BE", "W3", "endorsed", D(2020, 1, 1))]
    events += [ev("CZ", "E1", "signed", D(2021, 1, 1))]
    for s in ("DK", "EE", "FI"):
        events += [ev(s, "E1", "ratified", D(2015, 1, 1))]
    events += [ev("FI", "W1", "signed", D(2016, 1, 1))]
    return Record({"E1": "East", "W1": "West 1", "W2": "West 2", "W3": "West 3"}, events, [])


CODES = ["AT", "BE", "CZ", "DK", "EE", "FI", "GR"]


def test_blocs_worked_by_hand() -> None:
    found = al.alignment_of(_record(), CODES, at=D(2022, 1, 1), since=D(2014, 1, 1))
    sim = {(a.code, b.code): found.matrix[i][j] for i, a in enumerate(found.states) for j, b in enumerate(found.states)}
    # AT, BE: W1 W2 W3 alike → 1.0; AT–CZ: min 1+1 over max 1+1+1+0.5 = 2/3.5
    assert sim["AT", "BE"] == 1.0 and sim["AT", "CZ"] == round(2 / 3.5, 4)
    # DK, EE alike; FI also signed W1: 1 / 1.5
    assert sim["DK", "EE"] == 1.0 and sim["DK", "FI"] == round(1 / 1.5, 4)
    assert sim["CZ", "DK"] == round(0.5 / 3, 4)  # E1 signed vs ratified, over W1 + W2 + E1
    assert sim["GR", "AT"] == 0.0 and sim["GR", "GR"] is None  # GR has no record
    # average linkage cut at 0.5: {AT, BE, CZ} (distances 0, 0.43, 0.43 → mean ≤ 0.5), {DK, EE, FI}, {GR}
    blocs = [b.members for b in found.blocs]
    assert blocs == [["AT", "BE", "CZ"], ["DK", "EE", "FI"], ["GR"]]
    assert found.no_record == ["GR"]
    west = found.blocs[0]
    assert west.profile == {"W1": 1.0, "W2": 1.0, "W3": round(2 / 3, 4), "E1": round(1 / 3, 4)}
    assert west.cohesion == round((1.0 + 2 / 3.5 + 2 / 3.5) / 3, 4)
    assert found.blocs[2].cohesion is None
    # a tighter cut splits CZ off; a looser one merges the two camps (mean distance between them is ≈ 0.9)
    tight = al.alignment_of(_record(), CODES, at=D(2022, 1, 1), cut=0.3)
    assert [b.members for b in tight.blocs][:2] == [["AT", "BE"], ["DK", "EE"]]
    loose = al.alignment_of(_record(), CODES, at=D(2022, 1, 1), cut=0.95)
    assert loose.blocs[0].members == ["AT", "BE", "CZ", "DK", "EE", "FI"]


def test_embedding_reproduces_euclidean_distances_and_weights_repeat_points() -> None:
    points = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0], [3.0, 4.0]])
    d = np.sqrt(((points[:, None, :] - points[None, :, :]) ** 2).sum(-1))
    coords, explained = al.embedding(d)
    back = np.sqrt(((coords[:, None, :] - coords[None, :, :]) ** 2).sum(-1))
    assert np.allclose(back, d) and explained == pytest.approx(1.0)
    # weights: the same coordinates as repeating the points
    repeated = [0, 0, 0, 1, 2, 2, 3]
    full, _ = al.embedding(d[np.ix_(repeated, repeated)])
    weighted, _ = al.embedding(d, weights=[3, 1, 2, 1])
    assert np.allclose(np.abs(full), np.abs(weighted[repeated]))
    # the alignment's embedding (once per distinct vector) equals the plain one on every state
    record = _record()
    vec = al.vectors(record, CODES * 2, D(2022, 1, 1))
    sim, _ = al.similarity_matrix(vec.values)
    fast, e1 = al.embed(vec.values, sim)
    plain, e2 = al.embedding(al.distances(sim))
    assert np.allclose(np.abs(fast), np.abs(plain)) and e1 == pytest.approx(e2)


def test_changes_over_time() -> None:
    found = al.alignment_of(_record(), CODES, at=D(2022, 1, 1), since=D(2014, 1, 1))
    # 2014: AT, BE, CZ held W1 + W2 alike; since then AT, BE endorsed W3, CZ signed E1, DK EE FI ratified E1
    moved = {(c.a, c.b): (c.before, c.after, c.change) for c in found.changes}
    assert moved["AT", "CZ"] == (1.0, round(2 / 3.5, 4), round(2 / 3.5 - 1, 4))
    assert moved["DK", "EE"] == (None, 1.0, 1.0)  # no record in 2014 (undefined counts as 0)
    assert ("AT", "BE") not in moved  # unchanged
    assert abs(found.changes[0].change) >= abs(found.changes[-1].change)
    movers = {m.code: m for m in found.movers}
    assert "GR" not in movers and movers["CZ"].lost == 2 and movers["CZ"].gained == 3  # DK, EE, FI
    series = al.over_time(_record(), "AT", ["BE", "CZ"], [D(2009, 1, 1), D(2011, 1, 1), D(2022, 1, 1)])
    assert series == {"BE": [None, 1.0, 1.0], "CZ": [None, 1.0, round(2 / 3.5, 4)]}
    rows = al.similar_to(found, "AT")
    assert [(r.b, r.similarity, r.shared, r.either) for r in rows[:2]] == [("BE", 1.0, 3, 3), ("CZ", 0.5714, 2, 4)]
    assert rows[-1].b == "GR" and rows[-1].similarity == 0.0
    with pytest.raises(NotFound):
        al.similar_to(found, "ZZ")
    assert len(list(al.pairs(found))) == 7 * 6 // 2


def test_small_and_empty_sets() -> None:
    record = _record()
    assert al.alignment_of(record, []).states == []
    one = al.alignment_of(record, ["AT"])
    assert [b.members for b in one.blocs] == [["AT"]] and one.states[0].x == 0.0


# ---------------------------------------------------------------- the database (both backends)


@pytest.fixture
def constructed(session: Any, unique: str) -> dict[str, str]:
    """Two instruments only AD and SM (Andorra, San Marino) hold, dated 2091; SM invoked one of its provisions in
    2092. Rolled back at the end of the test."""
    x, y = f"TX-{unique}", f"TY-{unique}"
    common = {"sources": ["https://example.org/test"], "as_of": D(2026, 1, 1)}
    session.add_all(
        [
            Instrument(code=x, name="Constructed X", kind="treaty", opened_for_signature=D(2091, 1, 1), **common),
            Instrument(code=y, name="Constructed Y", kind="political_commitment", **common),
        ]
    )
    session.flush()
    provision = Provision(instrument_code=y, code="p1", title="Constructed provision")
    incident = Incident(slug=f"align-{unique}", name="Constructed", operation_type="espionage", **common)
    session.add_all([provision, incident])
    session.flush()
    session.add_all(
        [
            Commitment(instrument_code=x, state_code="AD", status="ratified", date=D(2091, 3, 1), **common),
            Commitment(instrument_code=x, state_code="SM", status="ratified", date=None, **common),  # from opening
            Commitment(instrument_code=y, state_code="AD", status="endorsed", date=D(2091, 6, 1), **common),
            Commitment(instrument_code=y, state_code="SM", status="endorsed", date=D(2091, 6, 1), **common),
            NormFinding(
                incident_id=incident.id, provision_id=provision.id, claimed_by_state="SM", date=D(2092, 1, 1), **common
            ),
        ]
    )
    session.flush()
    return {"x": x, "y": y}


def test_reads_the_database(session: Any, constructed: dict[str, str]) -> None:
    x, y = constructed["x"], constructed["y"]
    record = al.load_record(session)
    assert x in record.instruments and "UNGGE-2015" in record.instruments
    assert record.standing(D(2091, 2, 1))["SM"][x] == "ratified"  # undated: counted from the opening day
    assert x not in record.standing(D(2091, 2, 1))["AD"]
    before = al.vectors(record, ["AD", "SM"], D(2090, 1, 1))
    after = al.vectors(record, ["AD", "SM"], D(2093, 1, 1))
    sim_before = al.weighted_jaccard(*before.values)
    sim_after = al.weighted_jaccard(*after.values)
    # both gained X and Y; SM's invocation adds one entry AD does not have
    assert after.features[-1] == f"invoked:{y}/p1"
    assert after.values[1, -1] == 1.0 and after.values[0, -1] == 0.0
    top_b, low_b = before.values.max(0).sum(), before.values.min(0).sum()
    assert sim_before == pytest.approx(low_b / top_b)
    assert sim_after == pytest.approx((low_b + 2) / (top_b + 3))


def test_closest_states(session: Any, constructed: dict[str, str]) -> None:
    # the bundled data: Russia's commitments (UN GGE norms, OSCE CBMs, the UN convention signed) are exactly
    # those of Belarus, Kazakhstan and Uzbekistan
    top = al.closest_states(session, "RU", limit=3)
    assert top == [("BY", 1.0), ("KZ", 1.0), ("UZ", 1.0)]
    assert all(isinstance(c, str) and isinstance(v, float) for c, v in al.closest_states(session, "FR"))
    assert len(al.closest_states(session, "FR", limit=10)) == 10
    assert al.closest_states(session, "FR", limit=0) == []
    # with the constructed instruments, Andorra and San Marino become each other's closest (as of 2093)
    ad = al.closest_states(session, "AD", at=D(2093, 1, 1), limit=1)
    assert ad[0][0] == "SM" and 0.5 < ad[0][1] < 1.0
    # Taiwan and Western Sahara have no recorded commitment: nobody to compare with
    assert al.closest_states(session, "TW") == []
    with pytest.raises(NotFound):
        al.closest_states(session, "ZZ")


def test_figures_of_the_bundled_data(session: Any) -> None:
    record = al.load_record(session)
    found = al.alignment_of(record, record.states, since=D(2021, 1, 1))
    assert len(found.states) == len(record.states) >= 195
    blocs = {c: b.number for b in found.blocs for c in b.members}
    # EU members sit together; Russia is not in their bloc; the rest-of-the-world bloc is the largest
    assert blocs["FR"] == blocs["DE"] == blocs["EE"]
    assert blocs["RU"] != blocs["FR"] and blocs["RU"] == blocs["BY"]
    assert found.blocs[0].profile.get("UNGGE-2015") == 1.0
    assert set(found.no_record) == {"EH", "TW"}
    assert 0 < found.explained <= 1
    assert found.changes and found.movers  # the UN cybercrime convention (2025) moved many pairs


# ---------------------------------------------------------------- REST and the page


def test_api_alignment(role_clients: dict[str, Any]) -> None:
    anon = role_clients["anonymous"]  # public, like the rest of the knowledge base
    r = anon.get("/api/v1/analytics/alignment", params={"forum": "OSCE", "state": "RU", "since": "2020-01-01"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["forum"]["key"] == "OSCE" and body["forum"]["size"] == 57
    found = body["alignment"]
    assert len(found["states"]) == 57 and found["matrix"] == [] and found["linkage"] == "average"
    assert [s["b"] for s in body["similar"][:3]] == ["BY", "KZ", "UZ"] and body["similar"][0]["similarity"] == 1.0
    assert sum(len(b["members"]) for b in found["blocs"]) == 57
    full = anon.get("/api/v1/analytics/alignment", params={"states": "FR,DE,RU", "matrix": "true"}).json()
    assert full["forum"]["key"] == "custom" and len(full["alignment"]["matrix"]) == 3
    assert full["alignment"]["matrix"][0][0] == 1.0 and full["similar"] is None


def test_api_alignment_csv(role_clients: dict[str, Any]) -> None:
    anon = role_clients["anonymous"]
    params = {"forum": "EU", "format": "csv"}
    r = anon.get("/api/v1/analytics/alignment", params=params)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="alignment-pairs.csv"' in r.headers["content-disposition"]
    pairs = list(csv.DictReader(io.StringIO(r.text)))
    assert len(pairs) == 27 * 26 // 2 and set(pairs[0]) >= {"state_a", "state_b", "similarity", "shared", "either"}
    for table, first in (("states", "state"), ("blocs", "bloc"), ("changes", "state_a"), ("movers", "state")):
        r = anon.get("/api/v1/analytics/alignment", params={**params, "table": table, "since": "2015-01-01"})
        assert r.status_code == 200 and r.text.startswith(first + ","), (table, r.text[:80])
    similar = anon.get("/api/v1/analytics/alignment", params={**params, "table": "similar", "state": "FR"})
    rows = list(csv.DictReader(io.StringIO(similar.text)))
    assert len(rows) == 26 and rows[0]["state"] == "FR" and rows[0]["other_name"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"forum": "NOPE"}, "forum"),
        ({"forum": "custom"}, "states"),
        ({"states": "FR,QQ"}, "states"),
        ({"forum": "EU", "state": "US"}, "state"),
        ({"at": "1800-01-01"}, "at"),
        ({"at": "2020-02-31"}, "at"),
        ({"cut": "2"}, "cut"),
        ({"state": "FRA"}, "state"),
        ({"format": "csv", "table": "similar"}, "state"),
        ({"table": "everything"}, "table"),
    ],
)
def test_api_alignment_problems(role_clients: dict[str, Any], params: dict[str, str], field: str) -> None:
    r = role_clients["anonymous"].get("/api/v1/analytics/alignment", params=params)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", r.text
    assert field in [e["field"] for e in r.json()["errors"]], r.json()


def test_alignment_page(role_clients: dict[str, Any]) -> None:
    anon = role_clients["anonymous"]
    r = anon.get("/analytics/alignment")
    assert r.status_code == 200
    for expected in (
        "Alignment and blocs",
        'id="bloc-chart"',
        'id="alignment-chart-data"',
        "/static/js/analytics_alignment.js",
        "Pick a state above",
        "/api/v1/analytics/alignment?forum=UN&amp;",
        "format=csv&amp;table=blocs",
    ):
        assert expected in r.text, expected
    r = anon.get("/analytics/alignment", params={"forum": "OSCE", "state": "RU", "sort": "name", "dir": "asc"})
    assert r.status_code == 200 and 'id="time-chart"' in r.text and 'aria-sort="ascending"' in r.text
    rows = r.text[r.text.index('id="similar-table"') :]
    assert rows.index("Albania") < rows.index("Belarus") < rows.index("United States")
    bad = anon.get("/analytics/alignment", params={"forum": "NOPE", "at": "soon", "cut": "9", "state": "ZZ"})
    assert bad.status_code == 200 and 'role="alert"' in bad.text
    for reason in ("no organisation", "give a date between", "give a distance between", "ZZ is not among"):
        assert reason in bad.text, reason
    assert 'aria-invalid="true"' in bad.text and 'id="bloc-chart"' in bad.text  # the rest still shown
