"""The confidence calculus, pinned by hand-worked examples (formula: accord.attribution.confidence).

Worked by hand with ln 1.5 = 0.405465, ln 3 = 1.098612, ln 10 = 2.302585 and the weight R × C of a grade
(A1 = 1, B2 = 0.64, F6 = 0.04).
"""

from __future__ import annotations

import math
import random

import pytest

from accord.attribution.confidence import Item, Mark, assess, contribution, item_weight, level

H1, H2, H3 = 1, 2, 3


def item(id: int, grade: str = "A1", cls: str = "tradecraft") -> Item:
    return Item(id, cls, grade[0], int(grade[1:]), f"item {id}")


def mark(e: int, h: int, rating: str = "consistent", diag: str = "medium") -> Mark:
    return Mark(e, h, rating, diag)


def score(items: list[Item], marks: list[Mark], hyps: tuple[int, ...] = (H1,), h: int = H1, **kw: bool) -> float:
    return assess(hyps, items, marks, **kw).of(h).score


def test_no_evidence_is_the_prior_and_unsupported() -> None:
    one = assess([H1], [], [])
    assert one.prior == 50.0 and one.of(H1).score == 50.0 and one.of(H1).level == "unsupported"
    three = assess([H1, H2, H3], [], [])
    assert three.prior == 25.0 and three.residual_score == 25.0
    assert [a.score for a in three.assessments] == pytest.approx([25.0, 25.0, 25.0])
    no_residual = assess([H1, H2], [], [], residual=False)
    assert no_residual.prior == 50.0 and no_residual.residual_score is None


def test_grade_weights_and_contributions() -> None:
    assert item_weight("A", 1) == 1.0
    assert item_weight("B", 2) == pytest.approx(0.64)
    assert item_weight("F", 6) == pytest.approx(0.04)
    assert contribution(item(1), mark(1, H1, "consistent", "high")) == pytest.approx(2.302585, abs=1e-6)
    assert contribution(item(1), mark(1, H1, "inconsistent", "high")) == pytest.approx(-4.605170, abs=1e-6)
    assert contribution(item(1, "B2"), mark(1, H1, "consistent", "low")) == pytest.approx(0.64 * 0.405465, abs=1e-6)
    assert contribution(item(1), mark(1, H1, "neutral", "high")) == 0.0
    with pytest.raises(ValueError):
        item_weight("G", 1)
    with pytest.raises(ValueError):
        item_weight("A", 7)


def test_an_a1_consistent_item_raises_confidence() -> None:
    # λ = ln 3, score = 100 × 3 / (3 + 1) = 75; BF 3 -> moderate
    first = assess([H1], [item(1)], [mark(1, H1)]).of(H1)
    assert first.score == pytest.approx(75.0)
    assert first.bayes_factor == pytest.approx(3.0) and first.level == "moderate"
    assert [d.evidence_id for d in first.drivers] == [1] and first.drivers[0].effect == pytest.approx(25.0)
    # a second A1 item, highly diagnostic, of another class: λ = ln 30, score = 3000 / 31 = 96.774 -> high
    items = [item(1), item(2, "A1", "infrastructure")]
    both = assess([H1], items, [mark(1, H1), mark(2, H1, diag="high")]).of(H1)
    assert both.score == pytest.approx(3000 / 31)
    assert both.level == "high"
    # drivers: removing item 2 leaves 75 (effect 21.77); removing item 1 leaves 1000 / 11 (effect 5.87)
    assert [d.evidence_id for d in both.drivers] == [2, 1]
    assert [d.effect for d in both.drivers] == pytest.approx([3000 / 31 - 75, 3000 / 31 - 1000 / 11])


def test_high_needs_corroboration_from_two_classes() -> None:
    # two A1 highly diagnostic items, both tradecraft: λ = ln 100, score = 10000 / 101 = 99.01, one class only
    a = assess([H1], [item(1), item(2)], [mark(1, H1, diag="high"), mark(2, H1, diag="high")]).of(H1)
    assert a.score == pytest.approx(10000 / 101) and a.level == "moderate"


def test_an_f6_item_barely_moves_it() -> None:
    # F6 highly diagnostic: λ = 0.04 × ln 10 = 0.0921, score = 52.30 (A1 would give 90.91)
    f6 = score([item(1, "F6")], [mark(1, H1, diag="high")])
    a1 = score([item(1, "A1")], [mark(1, H1, diag="high")])
    assert f6 == pytest.approx(100 / (1 + math.exp(-0.04 * math.log(10))))
    assert f6 == pytest.approx(52.30, abs=0.01) and a1 == pytest.approx(1000 / 11)
    assert f6 - 50 < 0.06 * (a1 - 50)
    assert assess([H1], [item(1, "F6")], [mark(1, H1, diag="high")]).of(H1).level == "unsupported"
    # on top of an A1 item (75.0), an F6 item moves the score by under two points: 3 × 10^0.04 / (… + 1)
    base = [item(1)], [mark(1, H1)]
    more = score([*base[0], item(2, "F6")], [*base[1], mark(2, H1, diag="high")])
    assert more == pytest.approx(100 * 3 * 10**0.04 / (3 * 10**0.04 + 1)) and 0 < more - 75 < 2


def test_one_diagnostic_inconsistency_outweighs_several_weak_consistent_items() -> None:
    weak = [item(i, "A1", "malware") for i in (1, 2, 3)]
    marks = [mark(i, H1, diag="low") for i in (1, 2, 3)]
    # three weak items: λ = 3 ln 1.5, e^λ = 3.375, score = 77.14
    assert score(weak, marks) == pytest.approx(100 * 3.375 / 4.375)
    # plus one A1 highly diagnostic inconsistent item: λ = 3 ln 1.5 − 2 ln 10, e^λ = 0.03375, score = 3.26
    strong = item(4, "A1", "infrastructure")
    after = score([*weak, strong], [*marks, mark(4, H1, "inconsistent", "high")])
    assert after == pytest.approx(100 * 0.03375 / 1.03375)
    assert after < 50  # below where it started before any evidence
    assert 50 - after > score(weak, marks) - 50  # lowers it more than the weak items raised it
    # even five weak consistent items do not make up for it (5 ln 1.5 = 2.03 < 2 ln 10 = 4.61)
    five = [item(i, "A1", "malware") for i in range(1, 6)]
    five_marks = [mark(i, H1, diag="low") for i in range(1, 6)]
    assert score([*five, item(9)], [*five_marks, mark(9, H1, "inconsistent", "high")]) < 50
    a = assess([H1], [*weak, strong], [*marks, mark(4, H1, "inconsistent", "high")]).of(H1)
    assert [c.evidence_id for c in a.contradicting] == [4] and a.contradicting[0].effect < -70
    assert a.level == "unsupported"


def test_competing_hypotheses_share_the_posterior() -> None:
    # H1: A1 consistent, high (×10); H2: inconsistent, medium (×1/9); residual ×1. Total 11.111…
    items = [item(1, "A1", "infrastructure")]
    marks = [mark(1, H1, diag="high"), mark(1, H2, "inconsistent", "medium")]
    r = assess([H1, H2], items, marks)
    assert r.prior == pytest.approx(100 / 3)
    assert r.of(H1).score == pytest.approx(90.0) and r.of(H2).score == pytest.approx(1.0)
    assert r.residual_score == pytest.approx(9.0)
    assert r.of(H2).contradicting[0].effect == pytest.approx(1.0 - 100 / 3)
    assert "infrastructure" not in r.of(H1).missing_classes and "tradecraft" in r.of(H1).missing_classes
    assert sum(a.score for a in r.assessments) + r.residual_score == pytest.approx(100.0)


def test_an_item_consistent_with_every_hypothesis_does_not_discriminate() -> None:
    items = [item(1), item(2)]
    marks = [mark(1, H1), mark(1, H2), mark(2, H1, diag="high")]
    shared = assess([H1, H2, H3], items, [*marks, mark(2, H2, diag="high"), mark(2, H3, diag="high")], residual=False)
    before = assess([H1, H2, H3], [item(1)], marks[:2], residual=False)
    assert shared.of(H1).score == pytest.approx(before.of(H1).score)
    assert shared.of(H3).score == pytest.approx(before.of(H3).score)


def test_unrated_and_missing_classes() -> None:
    items = [item(1, "A1", "tradecraft"), item(2, "B2", "intent"), item(3, "C3", "malware")]
    a = assess([H1, H2], items, [mark(1, H1), mark(2, H1, "neutral"), mark(3, H2)]).of(H1)
    assert a.unrated == [3]
    assert a.missing_classes == ["infrastructure", "malware", "intent", "external-report"]


def test_levels() -> None:
    assert level(85.0, math.log(10), 2) == "high"
    assert level(85.0, math.log(10), 1) == "moderate"
    assert level(79.9, math.log(50), 3) == "moderate"
    assert level(49.9, math.log(50), 3) == "low"
    assert level(60.0, math.log(2), 1) == "low"
    assert level(52.3, math.log(1.4), 1) == "unsupported"


def test_deterministic_whatever_the_order_of_input() -> None:
    items = [item(i, g, c) for i, (g, c) in enumerate([("A1", "malware"), ("B2", "intent"), ("C4", "tradecraft")])]
    marks = [mark(0, H1), mark(1, H2, "inconsistent", "high"), mark(2, H1, "consistent", "low"), mark(2, H2)]
    first = assess([H1, H2], items, marks)
    shuffled = marks[:]
    random.Random(7).shuffle(shuffled)
    assert assess([H1, H2], items, shuffled) == first == assess([H1, H2], items, marks)


def test_huge_evidence_does_not_overflow() -> None:
    items = [item(i, "A1", "malware" if i % 2 else "intent") for i in range(400)]
    a = assess([H1], items, [mark(i, H1, diag="high") for i in range(400)]).of(H1)
    assert a.score == pytest.approx(100.0) and math.isfinite(a.bayes_factor) and a.level == "high"
