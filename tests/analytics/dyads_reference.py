"""The dyad network computed row by row with dictionaries: the definitions of :mod:`accord.analytics.dyads`
written plainly (its own first implementation), kept as the reference the columnar network is compared with on
random records (test_dyads_reference.py). Not used by the application."""

from __future__ import annotations

import datetime as dt
import heapq
from dataclasses import replace

import networkx as nx

from accord.analytics.dyads import EXAMPLES, Data, DyadFilter, LeftOut, View, view


class _Named:
    """The attributions of one incident naming one state: how many, by which states and which other parties."""

    __slots__ = ("count", "others", "states")

    def __init__(self) -> None:
        self.count = 0
        self.states: set[str] = set()
        self.others: set[str] = set()


class _EdgeAcc:
    """What one edge gathers while the incidents are read (intensity and dates as running figures)."""

    __slots__ = (
        "attributions",
        "first",
        "intensity_max",
        "intensity_n",
        "intensity_sum",
        "keys",
        "last",
        "others",
        "states",
    )

    def __init__(self) -> None:
        self.keys: list[tuple[int, int, int]] = []  # (−intensity, −date, id) per incident: examples and ids
        self.attributions = 0
        self.states: set[str] = set()
        self.others: set[str] = set()
        self.intensity_sum = self.intensity_n = self.intensity_max = 0
        self.first, self.last = dt.date.max, dt.date.min


def _named(data: Data, v: View, flt: DyadFilter) -> tuple[dict[int, dict[str, _Named]], int]:
    """Per incident in view: attributed state → the attributions (in view) naming it; and how many attributions
    name no state."""
    named: dict[int, dict[str, _Named]] = {}
    without_state = 0
    official = flt.attributed_by == "government"
    kept = v.incidents
    for a in data.attributions:
        iid, by_state, by_org, state = a[1], a[2], a[3], a[5]
        if iid not in kept or (official and by_state is None and by_org is None):
            continue
        if state is None:
            without_state += 1
            continue
        found = named.get(iid)
        if found is None:
            found = named[iid] = {}
        entry = found.get(state)
        if entry is None:
            entry = found[state] = _Named()
        entry.count += 1
        if by_state:
            entry.states.add(by_state)
        elif by_org or a[4]:
            entry.others.add(by_org or a[4])
    return named, without_state


def _accumulate(v: View, named: dict[int, dict[str, _Named]]) -> tuple[dict[tuple[str, str], _EdgeAcc], LeftOut]:
    acc: dict[tuple[str, str], _EdgeAcc] = {}
    unattributed = no_receiver = same = 0
    for iid, inc in v.incidents.items():
        states = named.get(iid)
        if not states:
            unattributed += 1
            continue
        receivers = {r[1] for r in v.receivers.get(iid, ()) if r[1]}
        if not receivers:
            no_receiver += 1
            continue
        intensity, when = inc[2], inc[3] or inc[4]
        key = (-(intensity or 0), -when.toordinal(), iid)
        paired = False
        for source, entry in states.items():
            for target in receivers:
                if source == target:
                    continue
                paired = True
                e = acc.get((source, target))
                if e is None:
                    e = acc[(source, target)] = _EdgeAcc()
                e.keys.append(key)
                e.attributions += entry.count
                e.states |= entry.states
                if entry.others:
                    e.others |= entry.others
                if intensity is not None:
                    e.intensity_sum += intensity
                    e.intensity_n += 1
                    e.intensity_max = max(e.intensity_max, intensity)
                e.first, e.last = min(e.first, when), max(e.last, when)
        same += not paired
    return acc, LeftOut(v.undated, unattributed, no_receiver, same, 0)


def dyad_graph(data: Data, flt: DyadFilter | None = None) -> tuple[nx.DiGraph, LeftOut]:
    """The directed network of the incidents in view. Edge attributes: ``weight`` (incidents), ``incidents``
    (their ids), ``attributions``, ``states`` and ``others`` (the attributing parties), ``intensity_sum``,
    ``assessed``, ``intensity_max``, ``first`` and ``last`` (incident dates) and ``examples``."""
    flt = (flt or DyadFilter()).check()
    v = view(data, flt)
    named, without_state = _named(data, v, flt)
    acc, left = _accumulate(v, named)
    left = replace(left, attributions_without_state=without_state)
    g: nx.DiGraph = nx.DiGraph()
    for (source, target), e in sorted(acc.items()):
        g.add_edge(
            source,
            target,
            weight=len(e.keys),
            incidents=[k[2] for k in e.keys],
            attributions=e.attributions,
            states=e.states,
            others=e.others,
            intensity_sum=e.intensity_sum,
            assessed=e.intensity_n,
            intensity_max=e.intensity_max,
            first=e.first,
            last=e.last,
            examples=[k[2] for k in heapq.nsmallest(EXAMPLES, e.keys)],
        )
    g.graph["incidents_in_view"] = len(v.incidents)
    return g, left
