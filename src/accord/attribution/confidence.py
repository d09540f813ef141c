"""The confidence calculus: graded, rated evidence -> a 0–100 score and an ODNI level per hypothesis.

Pure functions on plain data (no database): the same inputs always give the same outputs.

The formula
-----------
Every rating of an evidence item ``e`` against a hypothesis ``h`` contributes a signed weight of evidence,
in natural-log units (nats)::

    w(e, h) = s(rating) × R(reliability) × C(credibility) × ln LR(diagnosticity)

    ln LR        low 1.5 -> 0.405    medium 3 -> 1.099    high 10 -> 2.303
    s            consistent +1    neutral 0    inconsistent −2     (no rating: 0)
    R  (source)  A 1.0  B 0.8  C 0.6  D 0.4  E 0.1  F 0.2          (F "cannot be judged" < D)
    C  (info)    1 1.0  2 0.8  3 0.6  4 0.35 5 0.1  6 0.2          (6 "cannot be judged" < 4)

``LR`` is how many times more likely the item is if the hypothesis is true than if it is not. An
inconsistent item counts as ``LR⁻²`` (s = −2): evidence that contradicts a hypothesis is worth more than
evidence that merely fits it, because most evidence fits several hypotheses (Heuer). ``R × C`` discounts an
item for doubt about its source and its content: an A1 item counts in full, an F6 item for 4 %.

The hypothesis's log Bayes factor is ``λ(h) = Σ_e w(e, h)``. The hypotheses are treated as mutually exclusive
with a uniform prior; unless one of them is the catch-all ("unknown"), a *residual* alternative — "someone not
listed" — is added with the same prior and no evidence (λ = 0). The score is the posterior share, in percent::

    score(h) = 100 × exp λ(h) / (Σ_k exp λ(k) + [residual] 1)

So with one hypothesis and no evidence the score is 50; with N hypotheses and the residual, 100 / (N + 1).
An item rated the same way against every hypothesis moves none of them against the others (only against the
residual): it is not diagnostic.

ODNI levels (A Guide to Cyber Attribution, 2018), from the score and the Bayes factor ``BF = exp λ``:

    high         score ≥ 80, BF ≥ 10, and consistent evidence from at least two evidence classes
                 ("no reasonable doubt, no viable alternative": corroborated across tradecraft, infrastructure…)
    moderate     score ≥ 50 and BF ≥ 3    (credible and more likely than all alternatives together)
    low          BF ≥ 1.5                 (the evidence points this way, with significant gaps)
    unsupported  otherwise                (not an ODNI level: the evidence does not favour the hypothesis)

(BF thresholds 3 and 10 are Jeffreys' "substantial" and "strong"; 1.5 is one fully credible item of low
diagnosticity.)

Why: ``drivers`` are the (at most three) items rated consistent whose removal would lower the score most;
``contradicting`` are all items rated inconsistent, each with its effect (the points it costs the score);
``missing_classes`` are the ODNI evidence classes with no consistent or inconsistent item for the hypothesis;
``unrated`` the items not rated against it at all.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

RELIABILITY_FACTOR: dict[str, float] = {"A": 1.0, "B": 0.8, "C": 0.6, "D": 0.4, "E": 0.1, "F": 0.2}
CREDIBILITY_FACTOR: dict[int, float] = {1: 1.0, 2: 0.8, 3: 0.6, 4: 0.35, 5: 0.1, 6: 0.2}
LIKELIHOOD_RATIO: dict[str, float] = {"low": 1.5, "medium": 3.0, "high": 10.0}
SIGN: dict[str, float] = {"consistent": 1.0, "neutral": 0.0, "inconsistent": -2.0}
CORE_CLASSES = ("tradecraft", "infrastructure", "malware", "intent", "external-report")  # the ODNI guide's
LEVELS = ("high", "moderate", "low", "unsupported")
HIGH_SCORE, HIGH_BF, HIGH_CLASSES = 80.0, 10.0, 2
MODERATE_SCORE, MODERATE_BF = 50.0, 3.0
LOW_BF = 1.5
DRIVERS = 3
MAX_LOG = 700.0  # exp(700) is near the largest float: Bayes factors beyond it are reported as that


@dataclass(frozen=True)
class Item:
    """An evidence item as the calculus sees it."""

    id: int
    evidence_class: str
    reliability: str
    credibility: int
    title: str = ""

    @property
    def grade(self) -> str:
        return f"{self.reliability}{self.credibility}"


@dataclass(frozen=True)
class Mark:
    """A rating of one item against one hypothesis."""

    evidence_id: int
    hypothesis_id: int
    rating: str
    diagnosticity: str = "medium"


@dataclass(frozen=True)
class Effect:
    """How one item bears on one hypothesis: its weight (nats) and what the score would lose without it."""

    evidence_id: int
    title: str
    evidence_class: str
    grade: str
    rating: str
    diagnosticity: str
    weight: float
    effect: float  # score − score without the item, in points (negative: the item lowers the score)


@dataclass(frozen=True)
class Assessment:
    hypothesis_id: int
    score: float
    level: str
    log_bayes_factor: float
    bayes_factor: float
    drivers: list[Effect] = field(default_factory=list)
    contradicting: list[Effect] = field(default_factory=list)
    missing_classes: list[str] = field(default_factory=list)
    unrated: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Result:
    prior: float  # each hypothesis's prior share, percent
    residual: bool  # whether a "someone not listed" alternative was added
    residual_score: float | None
    assessments: list[Assessment]

    def of(self, hypothesis_id: int) -> Assessment:
        return next(a for a in self.assessments if a.hypothesis_id == hypothesis_id)


def item_weight(reliability: str, credibility: int) -> float:
    """R × C: how far an item's source and content are trusted, in (0, 1]."""
    try:
        return RELIABILITY_FACTOR[reliability] * CREDIBILITY_FACTOR[credibility]
    except KeyError as exc:
        raise ValueError(f"grade {reliability}{credibility} is outside A–F / 1–6") from exc


def contribution(item: Item, mark: Mark) -> float:
    """w(e, h): the signed weight of evidence of one rating, in nats."""
    try:
        sign, lr = SIGN[mark.rating], LIKELIHOOD_RATIO[mark.diagnosticity]
    except KeyError as exc:
        raise ValueError(f"unknown rating or diagnosticity: {mark.rating!r}, {mark.diagnosticity!r}") from exc
    return sign * item_weight(item.reliability, item.credibility) * math.log(lr)


def contributions(
    hypotheses: Sequence[int], items: Iterable[Item], marks: Iterable[Mark]
) -> dict[int, dict[int, float]]:
    """w(e, h) for every rated pair, by item then hypothesis; marks of unknown items or hypotheses are ignored."""
    by_id = {i.id: i for i in items}
    known = set(hypotheses)
    out: dict[int, dict[int, float]] = {}
    for m in marks:
        if m.hypothesis_id in known and m.evidence_id in by_id:
            out.setdefault(m.evidence_id, {})[m.hypothesis_id] = contribution(by_id[m.evidence_id], m)
    return out


def log_bayes_factors(hypotheses: Sequence[int], weights: dict[int, dict[int, float]]) -> dict[int, float]:
    """λ(h) = Σ_e w(e, h)."""
    lam = dict.fromkeys(hypotheses, 0.0)
    for eid in sorted(weights):  # a fixed order: the same sums to the last bit, every time
        for h, w in weights[eid].items():
            lam[h] += w
    return lam


def scores(lam: dict[int, float], residual: bool) -> tuple[dict[int, float], float | None]:
    """Posterior shares in percent (softmax with a uniform prior), and the residual's share if any."""
    values = list(lam.values()) + ([0.0] if residual else [])
    if not values:
        return {}, None
    top = max(values)
    exps = {h: math.exp(v - top) for h, v in lam.items()}
    rest = math.exp(-top) if residual else 0.0
    total = sum(exps.values()) + rest
    return {h: 100.0 * e / total for h, e in exps.items()}, (100.0 * rest / total if residual else None)


def level(score: float, log_bf: float, consistent_classes: int) -> str:
    """The ODNI level (or "unsupported"); compared in log space so no Bayes factor overflows."""
    if score >= HIGH_SCORE and log_bf >= math.log(HIGH_BF) and consistent_classes >= HIGH_CLASSES:
        return "high"
    if score >= MODERATE_SCORE and log_bf >= math.log(MODERATE_BF):
        return "moderate"
    if log_bf >= math.log(LOW_BF):
        return "low"
    return "unsupported"


def _explain(
    h: int,
    score: float,
    items: list[Item],
    marks: list[Mark],
    weights: dict[int, dict[int, float]],
    lam: dict[int, float],
    residual: bool,
) -> tuple[list[Effect], list[Effect], list[str], list[int]]:
    by_id = {i.id: i for i in items}
    mine = {m.evidence_id: m for m in marks if m.hypothesis_id == h and m.evidence_id in by_id}
    drivers, contradicting = [], []
    for eid, mark in sorted(mine.items()):
        if mark.rating == "neutral":
            continue
        without, _ = scores({k: v - weights[eid].get(k, 0.0) for k, v in lam.items()}, residual)
        item = by_id[eid]
        eff = Effect(
            item.id,
            item.title,
            item.evidence_class,
            item.grade,
            mark.rating,
            mark.diagnosticity,
            weights[eid][h],
            score - without[h],
        )
        (drivers if mark.rating == "consistent" else contradicting).append(eff)
    drivers = sorted((d for d in drivers if d.effect > 0), key=lambda d: (-d.effect, d.evidence_id))[:DRIVERS]
    contradicting.sort(key=lambda d: (d.effect, d.evidence_id))
    seen = {by_id[e].evidence_class for e, m in mine.items() if m.rating != "neutral"}
    missing = [c for c in CORE_CLASSES if c not in seen]
    unrated = [i.id for i in items if i.id not in mine]
    return drivers, contradicting, missing, unrated


def assess(hypotheses: Sequence[int], items: Sequence[Item], marks: Sequence[Mark], *, residual: bool = True) -> Result:
    """Score every hypothesis and say why. ``residual``: add the "someone not listed" alternative (pass False
    when one of the hypotheses is the catch-all "unknown")."""
    items, marks = list(items), list(marks)
    weights = contributions(hypotheses, items, marks)
    lam = log_bayes_factors(hypotheses, weights)
    score, rest = scores(lam, residual)
    by_id = {i.id: i for i in items}
    out = []
    for h in hypotheses:
        drivers, contradicting, missing, unrated = _explain(h, score[h], items, marks, weights, lam, residual)
        classes = {
            by_id[m.evidence_id].evidence_class
            for m in marks
            if m.hypothesis_id == h and m.rating == "consistent" and m.evidence_id in by_id
        }
        out.append(
            Assessment(
                hypothesis_id=h,
                score=score[h],
                level=level(score[h], lam[h], len(classes)),
                log_bayes_factor=lam[h],
                bayes_factor=math.exp(min(lam[h], MAX_LOG)),
                drivers=drivers,
                contradicting=contradicting,
                missing_classes=missing,
                unrated=unrated,
            )
        )
    n = len(hypotheses) + (1 if residual else 0)
    return Result(prior=100.0 / n if n else 0.0, residual=residual, residual_score=rest, assessments=out)
