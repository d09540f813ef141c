"""The columnar dyad network against the row-by-row reference (dyads_reference.py) on random records and random
filters: the same edges with the same attributes, in the same order, and the same counts of what was left out.
Few states, types, sectors and years, so that self-pairs, shared receivers and filters that empty the view occur
often."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from accord.analytics import dyads as dy
from accord.analytics.dyads import Att, Data, DyadFilter, Inc, Rec

from . import dyads_reference as ref

STATES = ("AD", "LI", "MC", "SM", None)
DAYS = (None, dt.date(2019, 12, 31), dt.date(2020, 6, 30), dt.date(2021, 3, 1), dt.date(2022, 1, 1))
TYPES = ("espionage", "data_theft", "disruption")
SECTORS = ("energy", "finance", None)
CATEGORIES = ("government", "private", "critical_infrastructure")


def record(rng: random.Random) -> Data:
    n = rng.randint(0, 12)
    ids = rng.sample(range(1, 40), n)
    incidents = [
        Inc(i, rng.choice(TYPES), rng.choice((None, 1, 3, 5)), rng.choice(DAYS), rng.choice(DAYS)) for i in ids
    ]
    receivers = [
        Rec(rng.choice([*ids, 99]), rng.choice(STATES), rng.choice(CATEGORIES), rng.choice(SECTORS))
        for _ in range(rng.randint(0, 2 * n + 1))
    ]
    attributions = []
    for aid in range(rng.randint(0, 25)):
        by = rng.choice((*STATES, None))
        org = None if by else rng.choice((None, "EU", "NATO"))
        company = None if by or org else rng.choice((None, "Lab", "EU"))
        attributions.append(
            Att(
                aid,
                rng.choice([*ids, 99]),
                by,
                org,
                company,
                rng.choice(STATES),
                rng.choice(DAYS),
                None,
                "political_statement",
            )
        )
    return Data(incidents, receivers, attributions)


def a_filter(rng: random.Random) -> DyadFilter:
    return DyadFilter(
        year_from=rng.choice((None, 2020, 2021)),
        year_to=rng.choice((None, 2021, 2022)) if rng.random() < 0.5 else None,
        types=tuple(rng.sample(TYPES, rng.choice((0, 0, 1, 2)))),
        sectors=tuple(s for s in rng.sample(SECTORS, rng.choice((0, 0, 1))) if s),
        categories=tuple(rng.sample(CATEGORIES, rng.choice((0, 0, 1, 2)))),
        attributed_by=rng.choice(("any", "government")),
    )


def edges(g: object) -> list[tuple[str, str, dict]]:
    return list(g.edges(data=True))  # type: ignore[attr-defined]


@pytest.mark.parametrize("seed", range(400))
def test_columnar_network_equals_the_reference(seed: int) -> None:
    rng = random.Random(seed)
    data, flt = record(rng), a_filter(rng)
    if flt.year_from and flt.year_to and flt.year_from > flt.year_to:
        flt = DyadFilter(year_from=flt.year_to, year_to=flt.year_from)
    g, left = dy.dyad_graph(data, flt)
    expected, expected_left = ref.dyad_graph(data, flt)
    assert left == expected_left
    assert edges(g) == edges(expected)
    assert list(g.nodes) == list(expected.nodes)
    assert g.graph == expected.graph
