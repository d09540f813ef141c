"""Analysis of competing hypotheses (Heuer, *Psychology of Intelligence Analysis*, ch. 8) on plain data.

Matrix
    One row per evidence item, one column per hypothesis; a cell is the item's rating against the
    hypothesis (consistent, inconsistent, neutral — or empty: not applicable) with its diagnosticity and its
    weight ``R × C × ln LR`` (the factors of :mod:`accord.attribution.confidence`, without the sign). A row
    whose ratings are the same for every hypothesis is *not diagnostic* (an empty cell counts as neutral):
    it cannot help choose between them.

Ranking (Heuer's rule)
    The most likely hypothesis is the one with the *least* evidence against it, not the most evidence
    for it. Hypotheses are ranked by their inconsistency ``I(h) = Σ weight`` over the items rated
    inconsistent with them, lowest first; ties are broken by consistency ``C(h)`` (the same sum over
    consistent items, highest first). Hypotheses equal on both share a rank ("1, 1, 3").

Sensitivity
    For each item, "what if it is wrong?": either it is false (*removed*) or it was misread (*reversed*:
    consistent and inconsistent swapped, neutral unchanged). An item is *critical* when either change
    would change the leading hypothesis (or hypotheses, when tied), and it *reorders* when either would
    change the order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from accord.attribution.confidence import LIKELIHOOD_RATIO, Item, Mark, item_weight

_FLIP = {"consistent": "inconsistent", "inconsistent": "consistent", "neutral": "neutral"}
_PLACES = 9  # weights are compared rounded, so float noise never makes or breaks a tie


@dataclass(frozen=True)
class Cell:
    rating: str
    diagnosticity: str
    weight: float


@dataclass(frozen=True)
class Row:
    evidence_id: int
    title: str
    evidence_class: str
    grade: str
    cells: dict[int, Cell | None]
    diagnostic: bool


@dataclass(frozen=True)
class Rank:
    hypothesis_id: int
    rank: int
    inconsistency: float
    consistency: float
    inconsistent: int  # how many items
    consistent: int


@dataclass(frozen=True)
class Change:
    leader_changes: bool
    order_changes: bool
    leaders: list[int]  # the leading hypotheses after the change
    order: list[int]  # hypothesis ids after the change, best first


@dataclass(frozen=True)
class Sensitivity:
    evidence_id: int
    title: str
    if_removed: Change
    if_reversed: Change

    @property
    def critical(self) -> bool:
        return self.if_removed.leader_changes or self.if_reversed.leader_changes

    @property
    def reorders(self) -> bool:
        return self.if_removed.order_changes or self.if_reversed.order_changes


@dataclass(frozen=True)
class Analysis:
    hypotheses: list[int]
    matrix: list[Row]
    ranking: list[Rank]
    sensitivity: list[Sensitivity]

    @property
    def leaders(self) -> list[int]:
        return [r.hypothesis_id for r in self.ranking if r.rank == 1]

    @property
    def critical(self) -> list[int]:
        """Items whose being wrong would change the leading hypothesis."""
        return [s.evidence_id for s in self.sensitivity if s.critical]


def cell_weight(item: Item, diagnosticity: str) -> float:
    """R × C × ln LR: the unsigned weight of a rating."""
    return item_weight(item.reliability, item.credibility) * math.log(LIKELIHOOD_RATIO[diagnosticity])


def matrix(hypotheses: Sequence[int], items: Sequence[Item], marks: Sequence[Mark]) -> list[Row]:
    cells = {(m.evidence_id, m.hypothesis_id): m for m in marks}
    rows = []
    for item in items:
        row: dict[int, Cell | None] = {}
        for h in hypotheses:
            m = cells.get((item.id, h))
            row[h] = Cell(m.rating, m.diagnosticity, cell_weight(item, m.diagnosticity)) if m else None
        seen = {(c.rating, c.diagnosticity) if c and c.rating != "neutral" else "neutral" for c in row.values()}
        rows.append(Row(item.id, item.title, item.evidence_class, item.grade, row, len(seen) > 1))
    return rows


def rank(hypotheses: Sequence[int], items: Sequence[Item], marks: Sequence[Mark]) -> list[Rank]:
    """Heuer's ranking: least weighted inconsistency first, then most consistency; ties share a rank."""
    by_id = {i.id: i for i in items}
    tally = {h: [0.0, 0.0, 0, 0] for h in hypotheses}
    for m in sorted(marks, key=lambda m: (m.evidence_id, m.hypothesis_id)):
        if m.hypothesis_id not in tally or m.evidence_id not in by_id or m.rating == "neutral":
            continue
        w = cell_weight(by_id[m.evidence_id], m.diagnosticity)
        t = tally[m.hypothesis_id]
        if m.rating == "inconsistent":
            t[0] += w
            t[2] += 1
        else:
            t[1] += w
            t[3] += 1

    def key(h: int) -> tuple[float, float]:
        return (round(tally[h][0], _PLACES), -round(tally[h][1], _PLACES))

    order = sorted(hypotheses, key=lambda h: (*key(h), h))
    out: list[Rank] = []
    for pos, h in enumerate(order, start=1):
        place = out[-1].rank if out and key(out[-1].hypothesis_id) == key(h) else pos
        i, c, ni, nc = tally[h]
        out.append(Rank(h, place, i, c, int(ni), int(nc)))
    return out


def _change(base: list[Rank], new: list[Rank]) -> Change:
    leaders = sorted(r.hypothesis_id for r in new if r.rank == 1)
    old_leaders = sorted(r.hypothesis_id for r in base if r.rank == 1)
    old_order = {r.hypothesis_id: r.rank for r in base}
    new_order = {r.hypothesis_id: r.rank for r in new}
    return Change(leaders != old_leaders, new_order != old_order, leaders, [r.hypothesis_id for r in new])


def sensitivity(
    hypotheses: Sequence[int], items: Sequence[Item], marks: Sequence[Mark], base: list[Rank] | None = None
) -> list[Sensitivity]:
    """For each item: would the ranking change if it were removed, or if its ratings were reversed?"""
    base = base if base is not None else rank(hypotheses, items, marks)
    out = []
    for item in items:
        others = [m for m in marks if m.evidence_id != item.id]
        flipped = [
            Mark(m.evidence_id, m.hypothesis_id, _FLIP[m.rating], m.diagnosticity) if m.evidence_id == item.id else m
            for m in marks
        ]
        removed = rank(hypotheses, [i for i in items if i.id != item.id], others)
        reversed_ = rank(hypotheses, items, flipped)
        out.append(Sensitivity(item.id, item.title, _change(base, removed), _change(base, reversed_)))
    return out


def analyse(hypotheses: Sequence[int], items: Sequence[Item], marks: Sequence[Mark]) -> Analysis:
    """Matrix, ranking and sensitivity in one call."""
    ranking = rank(hypotheses, items, marks)
    return Analysis(
        list(hypotheses), matrix(hypotheses, items, marks), ranking, sensitivity(hypotheses, items, marks, ranking)
    )
