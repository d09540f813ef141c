"""Sponsor-state roll-up: candidate groups with probability-like weights -> suspected sponsor states.

A group counts towards a state only where the dataset records that a government publicly attributed it
(``ThreatActor.sponsor_state``, cited by ``sponsor_sources``). Everything else is *unattributed*: groups
with no publicly named sponsor, and ATT&CK groups the dataset has no record of.

Semantics, with weights ``w`` and ``total`` (default: the sum of the weights; a caller whose weights are
shares of a larger whole — e.g. posterior shares of hypotheses, some of which name no group — passes it):

    share(S)        = Σ w over groups publicly attributed to S / total
    unattributed    = Σ w over the other groups / total
    outside         = 1 − Σ w / total           (mass on no candidate group at all)
    interval(S)     = [share(S), share(S) + unattributed + outside]

The interval carries the uncertainty through: the lower bound counts only public attributions; the upper
bound adds all weight that is not tied to another state, since any of it could belong to S. Weights on the
same group are added up. This module does not need the TTP ranker: pass ``(c.group_id, c.<normalised
score>)`` pairs from a ranking, or any other weights.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from accord.core.errors import Invalid, Problem, ReferenceNotFound
from accord.directory.models import State
from accord.incidents.models import ThreatActor

GROUP_ID = re.compile(r"^G\d{4}$")
Ref = str | int | ThreatActor


@dataclass(frozen=True)
class GroupShare:
    ref: str  # the ATT&CK id, or the actor's id when it has none
    actor_id: int | None
    attack_id: str | None
    name: str | None
    weight: float
    share: float
    sponsor_state: str | None
    sponsor_unit: str | None
    sources: list[str]
    reason: str | None = None  # why it counts as unattributed


@dataclass(frozen=True)
class StateShare:
    state: str
    name: str | None
    weight: float
    share: float
    low: float
    high: float
    groups: list[GroupShare] = field(default_factory=list)


@dataclass(frozen=True)
class Rollup:
    total: float
    states: list[StateShare]
    unattributed: list[GroupShare]
    unattributed_share: float
    outside_share: float


def _check_weights(candidates: Sequence[tuple[Ref, float]], total: float | None) -> float:
    problems = [
        Problem(f"{i}.weight", "must be a finite number ≥ 0")
        for i, (_ref, w) in enumerate(candidates)
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w) or w < 0
    ]
    if problems:
        raise Invalid("weights must be finite and not negative", problems)
    mass = math.fsum(w for _ref, w in candidates)
    if total is None:
        total = mass
    if not math.isfinite(total) or total <= 0:
        raise Invalid("nothing to roll up", [Problem("weight", "the weights must add up to more than zero")])
    if mass > total * (1 + 1e-9):
        raise Invalid("weights exceed the total", [Problem("total", f"smaller than the sum of the weights ({mass})")])
    return total


def _resolve(session: Session, candidates: Sequence[tuple[Ref, float]]) -> list[ThreatActor | str]:
    """Each candidate's actor row, or its ATT&CK id when the dataset has no such group."""
    ids = [r for r, _w in candidates if isinstance(r, int) and not isinstance(r, bool)]
    names = [r for r, _w in candidates if isinstance(r, str)]
    rows = list(
        session.scalars(
            select(ThreatActor).where(
                or_(ThreatActor.id.in_(ids), ThreatActor.attack_id.in_(names), ThreatActor.name.in_(names))
            )
        )
    )
    by_id = {a.id: a for a in rows}
    by_ref = {a.name: a for a in rows} | {a.attack_id: a for a in rows if a.attack_id}
    out: list[ThreatActor | str] = []
    problems = []
    for i, (ref, _w) in enumerate(candidates):
        if isinstance(ref, ThreatActor):
            out.append(ref)
        elif isinstance(ref, int) and not isinstance(ref, bool) and ref in by_id:
            out.append(by_id[ref])
        elif isinstance(ref, str) and ref in by_ref:
            out.append(by_ref[ref])
        elif isinstance(ref, str) and GROUP_ID.match(ref):
            out.append(ref)  # an ATT&CK group the dataset does not hold: no public sponsor on record
        elif isinstance(ref, int):
            problems.append(Problem(f"{i}.actor_id", f"no threat actor with id {ref}"))
        else:
            problems.append(Problem(f"{i}.group", f"no threat actor {ref!r}"))
    if problems:
        raise ReferenceNotFound("candidates name unknown threat actors", problems)
    return out


def _group(actor: ThreatActor | str, weight: float, total: float) -> GroupShare:
    if isinstance(actor, str):
        return GroupShare(actor, None, actor, None, weight, weight / total, None, None, [], "not in the dataset")
    sponsor = actor.sponsor_state
    return GroupShare(
        ref=actor.attack_id or str(actor.id),
        actor_id=actor.id,
        attack_id=actor.attack_id,
        name=actor.name,
        weight=weight,
        share=weight / total,
        sponsor_state=sponsor,
        sponsor_unit=actor.sponsor_unit if sponsor else None,
        sources=list(actor.sponsor_sources or []) if sponsor else [],
        reason=None if sponsor else "no government has publicly attributed it",
    )


def roll_up(session: Session, candidates: Sequence[tuple[Ref, float]], *, total: float | None = None) -> Rollup:
    """Roll ``(group, weight)`` pairs up to sponsor states; a group is an ATT&CK id (``G0007``), an actor's
    name, a threat actor id or a :class:`ThreatActor`. Unknown actor ids and names are errors; ATT&CK ids
    the dataset does not hold count as unattributed."""
    total = _check_weights(candidates, total)
    resolved = _resolve(session, candidates)
    merged: dict[str, tuple[ThreatActor | str, float]] = {}
    for actor, (_ref, w) in zip(resolved, candidates, strict=True):
        key = actor if isinstance(actor, str) else f"#{actor.id}"
        merged[key] = (actor, merged.get(key, (actor, 0.0))[1] + float(w))
    groups = sorted(
        (_group(a, w, total) for a, w in merged.values()), key=lambda g: (-g.weight, g.name or g.ref, g.ref)
    )
    unattributed = [g for g in groups if g.sponsor_state is None]
    loose = math.fsum(g.share for g in unattributed)
    outside = max(0.0, 1.0 - math.fsum(g.share for g in groups))
    codes = sorted({g.sponsor_state for g in groups if g.sponsor_state})
    names = dict(session.execute(select(State.code, State.name).where(State.code.in_(codes))).all())
    states = []
    for code in codes:
        mine = [g for g in groups if g.sponsor_state == code]
        weight = math.fsum(g.weight for g in mine)
        share = weight / total
        states.append(StateShare(code, names.get(code), weight, share, share, min(1.0, share + loose + outside), mine))
    states.sort(key=lambda s: (-s.weight, s.state))
    return Rollup(total, states, unattributed, loose, outside)
