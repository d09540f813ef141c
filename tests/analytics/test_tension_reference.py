"""The columnar tension builder against the row-by-row reference (tension_reference.py) on random records: the
same events for every pair, field by field, and the same counts of what was left out. Few states, groups, forms
and days, so that acts recorded once per incident, joint groups, ties and self-pairs occur often."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from accord.analytics import tension as tn
from accord.analytics.dyads import Att, Data, Inc, Rec, Resp

from . import tension_reference as ref

STATES = ("AD", "LI", "MC", "SM", None)
DAYS = (None, dt.date(2020, 1, 1), dt.date(2020, 6, 30), dt.date(2021, 3, 1), dt.date(2022, 1, 1))
FORMS = ("political_statement", "indictment", "sanctions_listing", "technical_advisory", "unheard_of")
TYPES = ("espionage", "data_theft", "disruption")
RESPONSES = ("sanctions", "indictment", "expulsion", "countermeasure", "demarche", "statement", "capacity_building")


def record(rng: random.Random) -> tuple[Data, list[tn.Agreement]]:
    n = rng.randint(0, 12)
    incidents = [
        Inc(i, rng.choice(TYPES), rng.choice((None, 1, 3, 5)), rng.choice(DAYS), rng.choice(DAYS))
        for i in range(1, n + 1)
    ]
    receivers = [Rec(i.id, rng.choice(STATES)) for i in incidents for _ in range(rng.randint(0, 3))]
    ids = [i.id for i in incidents] or [1]
    attributions = []
    for aid in range(rng.randint(0, 25)):
        by = rng.choice((*STATES, None))
        org = None if by else rng.choice((None, "EU", "NATO"))
        company = None if by or org else rng.choice((None, "Lab"))
        group = rng.choice((None, None, "g1", "g2", "g3"))
        attributions.append(
            Att(
                10 * aid + rng.randint(0, 9),
                rng.choice(ids),
                by,
                org,
                company,
                rng.choice(STATES),
                rng.choice(DAYS),
                group,
                rng.choice(FORMS),
            )
        )
    responses = [
        Resp(
            rid,
            rng.choice(ids),
            rng.choice(STATES),
            rng.choice((None, "EU")),
            rng.choice(STATES),
            rng.choice(DAYS),
            rng.choice(RESPONSES),
        )
        for rid in rng.sample(range(100), rng.randint(0, 12))
    ]
    agreements = [
        tn.Agreement(f"X{k}", *sorted(rng.sample(("AD", "LI", "MC", "SM"), 2)), rng.choice(DAYS[1:]))
        for k in range(rng.randint(0, 2))
    ]
    return Data(incidents, receivers, attributions, responses), agreements


@pytest.mark.parametrize("seed", range(400))
def test_columnar_events_equal_the_reference(seed: int) -> None:
    data, agreements = record(random.Random(seed))
    found, left = tn.events(data, agreements)
    expected, expected_left = ref.events(data, agreements)
    assert left == expected_left
    assert set(found) == set(expected)
    for key in expected:
        assert sorted(found[key]) == sorted(expected[key]), key
    at = dt.date(2021, 12, 31)
    assert found.indices(at) == pytest.approx(
        {key: sum(tn.decayed(e.weight, e.date, at) for e in v) for key, v in expected.items()}
    )
