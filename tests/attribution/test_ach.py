"""Analysis of competing hypotheses: matrix, Heuer's ranking by least weighted inconsistency, sensitivity."""

from __future__ import annotations

import math

import pytest

from accord.attribution import ach
from accord.attribution.confidence import Item, Mark

H1, H2, H3 = 1, 2, 3
LN = {"low": math.log(1.5), "medium": math.log(3), "high": math.log(10)}


def item(id: int, grade: str = "A1", cls: str = "tradecraft") -> Item:
    return Item(id, cls, grade[0], int(grade[1:]), f"item {id}")


def mark(e: int, h: int, rating: str, diag: str = "medium") -> Mark:
    return Mark(e, h, rating, diag)


def order(ranking: list[ach.Rank]) -> list[tuple[int, int]]:
    return [(r.hypothesis_id, r.rank) for r in ranking]


def test_least_inconsistency_wins_not_most_consistency() -> None:
    # H1 fits three items but one medium item contradicts it; H2 fits one item and nothing contradicts it
    items = [item(i) for i in range(1, 5)]
    marks = [mark(1, H1, "consistent"), mark(2, H1, "consistent"), mark(3, H1, "consistent")]
    marks += [mark(4, H1, "inconsistent"), mark(4, H2, "consistent"), mark(1, H2, "neutral")]
    ranking = ach.rank([H1, H2], items, marks)
    assert order(ranking) == [(H2, 1), (H1, 2)]
    h1 = next(r for r in ranking if r.hypothesis_id == H1)
    assert h1.inconsistency == pytest.approx(LN["medium"]) and h1.consistency == pytest.approx(3 * LN["medium"])
    assert (h1.inconsistent, h1.consistent) == (1, 3)


def test_inconsistency_is_weighted_by_diagnosticity_and_grade() -> None:
    items = [item(1), item(2), item(3), item(4, "F6")]
    # H1: one A1 high inconsistency (2.30); H2: two A1 low ones (0.81); H3: one F6 high one (0.09)
    marks = [mark(1, H1, "inconsistent", "high"), mark(2, H2, "inconsistent", "low")]
    marks += [mark(3, H2, "inconsistent", "low"), mark(4, H3, "inconsistent", "high")]
    ranking = ach.rank([H1, H2, H3], items, marks)
    assert order(ranking) == [(H3, 1), (H2, 2), (H1, 3)]
    assert ranking[0].inconsistency == pytest.approx(0.04 * LN["high"])
    assert ranking[1].inconsistency == pytest.approx(2 * LN["low"])


def test_ties_share_a_rank_and_consistency_breaks_them() -> None:
    items = [item(1), item(2)]
    assert order(ach.rank([H1, H2, H3], items, [])) == [(H1, 1), (H2, 1), (H3, 1)]
    marks = [mark(1, H2, "consistent"), mark(2, H3, "inconsistent", "low")]
    assert order(ach.rank([H1, H2, H3], items, marks)) == [(H2, 1), (H1, 2), (H3, 3)]
    marks = [mark(1, H1, "consistent"), mark(1, H2, "consistent"), mark(2, H3, "inconsistent")]
    assert order(ach.rank([H1, H2, H3], items, marks)) == [(H1, 1), (H2, 1), (H3, 3)]


def test_matrix_cells_and_diagnostic_rows() -> None:
    items = [item(1, "B2"), item(2), item(3)]
    marks = [mark(1, H1, "consistent", "high"), mark(1, H2, "inconsistent", "high")]
    marks += [mark(2, H1, "consistent"), mark(2, H2, "consistent")]  # same on both: not diagnostic
    marks += [mark(3, H1, "neutral")]  # neutral and empty: not diagnostic either
    rows = ach.matrix([H1, H2], items, marks)
    assert [r.diagnostic for r in rows] == [True, False, False]
    cell = rows[0].cells[H1]
    assert cell is not None and cell.rating == "consistent" and cell.weight == pytest.approx(0.64 * LN["high"])
    assert rows[2].cells[H2] is None and rows[0].grade == "B2"


def test_sensitivity_finds_the_item_that_would_change_the_leader() -> None:
    # H1 leads: nothing against it. H2 is contradicted only by item 1; item 2 contradicts H3 and H1 weakly.
    items = [item(1), item(2), item(3)]
    marks = [mark(1, H2, "inconsistent", "high"), mark(1, H1, "consistent", "low")]
    marks += [mark(2, H3, "inconsistent", "high"), mark(2, H2, "consistent")]
    marks += [mark(3, H3, "inconsistent", "low"), mark(3, H1, "neutral")]
    analysis = ach.analyse([H1, H2, H3], items, marks)
    assert analysis.leaders == [H1]
    by_item = {s.evidence_id: s for s in analysis.sensitivity}
    # without item 1 nothing contradicts H2, which is then tied with H1 and wins on consistency
    assert by_item[1].if_removed.leader_changes and by_item[1].if_removed.leaders == [H2]
    # reversing item 1 makes it inconsistent with H1 and consistent with H2
    assert by_item[1].if_reversed.leader_changes and by_item[1].if_reversed.order[0] == H2
    # item 3 only deepens H3's last place: removing it changes nothing
    assert not by_item[3].if_removed.order_changes and not by_item[3].critical
    # removing item 2 lifts H3 above H2 without touching the leader
    assert by_item[2].if_removed.order_changes and not by_item[2].if_removed.leader_changes
    assert analysis.critical == [1]


def test_analysis_is_deterministic() -> None:
    items = [item(i, g) for i, g in enumerate(["A1", "B2", "C3", "D4"])]
    marks = [mark(i, h, r) for i in range(4) for h, r in ((H1, "consistent"), (H2, "inconsistent"))]
    assert ach.analyse([H1, H2], items, marks) == ach.analyse([H1, H2], items, list(reversed(marks)))
