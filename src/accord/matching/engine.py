"""The compiled matcher: every indicator's pattern parsed once and indexed, observations matched by lookup.

Index (built once, updated as indicators come and go):

- equality and ``IN`` comparisons become hash lookups keyed by (object type, property path, value);
- ``ISSUBSET`` prefixes become one table per prefix length (the observed address masked to that length is
  the key), ``ISSUPERSET`` the other way round;
- ``LIKE`` and ``MATCHES`` contribute the literal text every match must contain (``'%.evil.example'`` →
  ``.evil.example``); all such literals of one property path go into one Aho–Corasick automaton, so a value
  is scanned once whatever the number of patterns;
- everything else (``!=``, ``<``, ``NOT …``, a regular expression without a usable literal) is evaluated on
  every observation holding an object of its type.

A comparison expression (one ``[...]``) is a candidate for an observation when one of its anchors is hit
(for ``AND``, the anchor of one operand suffices; for ``OR``, every operand's anchors are used); candidates are
then evaluated exactly (``evaluate.py``). Observation expressions are solved afterwards: on one observation by
counting how many of its ``number_observed`` instances the pattern needs; across observations by a
backtracking search over the observations each ``[...]`` matched (``solve``), which handles AND, OR,
FOLLOWEDBY, WITHIN, REPEATS and START/STOP without enumerating every combination.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import ipaddress
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from re import _parser as sre_parse  # the parser of re itself (sre_parse is its deprecated alias)
from typing import Any

import ahocorasick

from accord.matching import evaluate as ev
from accord.matching.pattern import (
    CmpAnd,
    CmpOr,
    Comparison,
    Expr,
    FollowedBy,
    Leaf,
    ObsAnd,
    ObsOr,
    Parsed,
    PatternError,
    Repeats,
    StartStop,
    Test,
    Within,
    parse,
    parse_timestamp,
)
from accord.matching.types import Evidence, Match, Observation

INF = math.inf
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICRO = dt.timedelta(microseconds=1)


def micros(t: dt.datetime) -> int:
    return (t - EPOCH) // _MICRO


# ---------------------------------------------------------------- anchors


@dataclass(frozen=True)
class _Eq:
    object_type: str
    path: Any  # Path
    key: Any


@dataclass(frozen=True)
class _Cidr:
    object_type: str
    path: Any
    version: int
    prefix: int
    network: int  # the prefix's address as an int


@dataclass(frozen=True)
class _Sup:
    object_type: str
    path: Any
    version: int
    address: int  # the literal's address
    prefix: int  # the literal's prefix length


@dataclass(frozen=True)
class _Lit:
    object_type: str
    path: Any
    text: str


@dataclass(frozen=True)
class _Scan:
    object_type: str


def _eq_key(value: Any) -> Any:
    """Hash key under which equal values meet (False for values that are never indexed)."""
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, int | float):
        return ("n", float(value)) if math.isfinite(value) else ("n", value)
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return ("x", value)
    if isinstance(value, dt.datetime):
        return ("t", value)
    return None


_SAFE_REGEX = re.compile(r"(?:[A-Za-z0-9 /:@%=,;&#~<>'\"!_\-]|\\[.\-/\\dDwWsS^$?*+()\[\]{}|]|[.^$?*+()\[\]{}|])*")


def required_literal_regex(regex: str) -> str | None:
    """A piece of text every value the (PCRE) regular expression matches must contain, or None. Only plain
    expressions are read (letters, digits, classes, quantifiers, groups, simple escapes — no flags, no
    POSIX classes, no \\Q, no back-references), through Python's parser of the same syntax; the longest run of
    literal characters at the top level of the expression is taken, so it is never wrong, only sometimes
    missing."""
    regex = unicodedata.normalize("NFC", regex)
    if not _SAFE_REGEX.fullmatch(regex) or "(?" in regex or "[:" in regex:
        return None
    try:
        tree = sre_parse.parse(regex)
    except (re.error, RecursionError, OverflowError):
        return None
    if any(op is sre_parse.BRANCH for op, _ in tree):
        return None
    best, run = "", []
    for op, arg in tree:
        if op is sre_parse.LITERAL:
            run.append(chr(arg))
            continue
        if len(run) > len(best):
            best = "".join(run)
        run = []
    if len(run) > len(best):
        best = "".join(run)
    return best if len(best) >= 3 else None


def required_literal_like(like: str) -> str | None:
    pieces = re.split(r"[%_]", unicodedata.normalize("NFC", like))
    best = max(pieces, key=len) if pieces else ""
    return best if len(best) >= 3 else None


def _test_anchors(t: Test) -> list[Any]:
    """Anchors of one comparison: hitting one is necessary for it to hold. [_Scan] when nothing better."""
    scan = [_Scan(t.path.object_type)]
    if t.negated:
        return scan
    if t.op == "=":
        key = _eq_key(t.value)
        return [_Eq(t.path.object_type, t.path, key)] if key is not None else scan
    if t.op == "IN":
        keys = [_eq_key(v) for v in t.value]
        return [_Eq(t.path.object_type, t.path, k) for k in keys if k is not None]  # an empty set never holds
    if t.op == "ISSUBSET":
        net = ev._cidr_literal(t.value) if isinstance(t.value, str) else None
        if net is None:
            return []  # an unusable prefix never holds
        return [_Cidr(t.path.object_type, t.path, net.version, net.prefixlen, int(net.network_address))]
    if t.op == "ISSUPERSET":
        net = ev._value_network(t.value) if isinstance(t.value, str) else None
        if net is None:
            return []
        return [_Sup(t.path.object_type, t.path, net.version, int(net.network_address), net.prefixlen)]
    if t.op in ("LIKE", "MATCHES") and isinstance(t.value, str):
        lit = required_literal_like(t.value) if t.op == "LIKE" else required_literal_regex(t.value)
        if lit is not None and lit.isascii():
            return [_Lit(t.path.object_type, t.path, lit)]
    return scan


def anchors(e: Comparison) -> list[Any]:
    if isinstance(e, CmpOr):
        return [a for item in e.items for a in anchors(item)]
    if isinstance(e, CmpAnd):
        options = [anchors(item) for item in e.items]

        def cost(a: list[Any]) -> tuple[int, int]:
            return (sum(isinstance(x, _Scan) for x in a), len(a))

        return min(options, key=cost)
    return _test_anchors(e)


# ---------------------------------------------------------------- compiled patterns


@dataclass
class CompiledPattern:
    indicator_id: str
    parsed: Parsed
    leaves: list[int]  # global leaf ids, in the pattern's leaf order
    single: bool  # one leaf, needing one instance: a match is always one observation
    simple: bool = False  # single and no START/STOP: a hit of its leaf is a match


def min_instances(e: Expr, hit: Any, obs: Observation | None = None) -> float:
    """Fewest instances of one observation that satisfy ``e`` given which leaves hold on it (``hit(leaf)``);
    INF if none. On a single observation every WITHIN and FOLLOWEDBY holds (its interval is shared) and
    START/STOP is a test of that observation's interval."""
    if isinstance(e, Leaf):
        return 1 if hit(e) else INF
    if isinstance(e, ObsAnd | FollowedBy):
        return min_instances(e.left, hit, obs) + min_instances(e.right, hit, obs)
    if isinstance(e, ObsOr):
        return min(min_instances(e.left, hit, obs), min_instances(e.right, hit, obs))
    if isinstance(e, Repeats):
        return e.times * min_instances(e.child, hit, obs)
    if isinstance(e, Within):
        return min_instances(e.child, hit, obs)
    if isinstance(e, StartStop):
        if obs is not None and not (e.start < e.stop and e.start <= obs.last_observed and obs.first_observed < e.stop):
            return INF
        return min_instances(e.child, hit, obs)
    raise TypeError(e)


@dataclass
class _Node:
    """A compiled leaf: its comparison expression, anchors, and the patterns using it."""

    expr: Comparison
    compiled: ev.Compiled
    anchors: list[Any]
    patterns: list[str] = field(default_factory=list)
    simple: set[str] = field(default_factory=set)  # those of ``patterns`` that match whenever this leaf holds


@dataclass(frozen=True)
class Rejected:
    indicator_id: str
    reason: str


class Matcher:
    """Indicators compiled into one index. ``match_unit`` matches one observation on its own (the benchmark's
    per-unit protocol); ``match_batch`` also finds patterns that need several observations of a batch."""

    def __init__(self, indicators: Iterable[tuple[str, str]] = ()) -> None:
        self.patterns: dict[str, CompiledPattern] = {}
        self.rejected: list[Rejected] = []
        self._nodes: list[_Node | None] = []
        self._node_ids: dict[str, int] = {}  # repr of the comparison expression (1, 1.0 and true differ)
        self._eq: dict[tuple[str, Any], dict[Any, list[int]]] = defaultdict(lambda: defaultdict(list))
        self._eq_kinds: dict[tuple[str, Any], set[str]] = defaultdict(set)
        self._cidr: dict[tuple[str, Any], dict[tuple[int, int], dict[int, list[int]]]] = defaultdict(
            lambda: defaultdict(lambda: defaultdict(list))
        )
        self._sup: dict[tuple[str, Any], dict[tuple[int, int], dict[int, list[int]]]] = defaultdict(
            lambda: defaultdict(lambda: defaultdict(list))
        )
        self._lit: dict[tuple[str, Any], dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        self._automata: dict[tuple[str, Any], Any] = {}
        self._scan: dict[str, list[int]] = defaultdict(list)
        self._paths: dict[str, dict[int, Any]] = defaultdict(dict)  # type -> path id -> Path
        self._path_ids: dict[Any, int] = {}  # Path -> small int: index keys are (type, path id), cheap to hash
        for iid, pattern in indicators:
            self.add(iid, pattern)

    def __len__(self) -> int:
        return len(self.patterns)

    # ------------------------------------------------------------ building

    def add(self, indicator_id: str, pattern: str) -> bool:
        """Compile and index one indicator's pattern; False (and a ``Rejected`` entry) if it cannot be used."""
        try:
            parsed = parse(pattern)
            leaf_ids = [self._leaf(leaf.expr, indicator_id) for leaf in parsed.leaves]
        except Exception as exc:  # noqa: BLE001 - a pattern error, a bad literal, a PCRE2 compile error
            self.rejected.append(Rejected(indicator_id, str(exc) or type(exc).__name__))
            self.remove(indicator_id)  # a new version that cannot be used replaces the old one all the same
            return False
        if indicator_id in self.patterns:
            self.remove(indicator_id)
            leaf_ids = [self._leaf(leaf.expr, indicator_id) for leaf in parsed.leaves]
        single = len(parsed.leaves) == 1 and min_instances(parsed.root, lambda _leaf: True) == 1
        simple = single and not _has_startstop(parsed.root)
        self.patterns[indicator_id] = CompiledPattern(indicator_id, parsed, leaf_ids, single, simple)
        if simple:
            self._nodes[leaf_ids[0]].simple.add(indicator_id)  # type: ignore[union-attr]
        return True

    def remove(self, indicator_id: str) -> None:
        cp = self.patterns.pop(indicator_id, None)
        if cp is None:
            return
        for nid in set(cp.leaves):
            node = self._nodes[nid]
            if node is not None and indicator_id in node.patterns:
                node.patterns.remove(indicator_id)
                node.simple.discard(indicator_id)
                if not node.patterns:
                    self._unindex(nid, node)

    def _leaf(self, expr: Comparison, indicator_id: str) -> int:
        nid = self._node_ids.get(repr(expr))
        if nid is not None and self._nodes[nid] is not None:
            node = self._nodes[nid]
            if indicator_id not in node.patterns:  # type: ignore[union-attr]
                node.patterns.append(indicator_id)  # type: ignore[union-attr]
            return nid
        compiled = ev.Compiled(expr)
        node = _Node(expr, compiled, anchors(expr), [indicator_id])
        nid = len(self._nodes)
        self._nodes.append(node)
        self._node_ids[repr(expr)] = nid
        self._index(nid, node)
        return nid

    def _index(self, nid: int, node: _Node) -> None:
        for a in node.anchors:
            if isinstance(a, _Scan):
                self._scan[a.object_type].append(nid)
                continue
            pid = self._path_ids.setdefault(a.path, len(self._path_ids))
            where = (a.object_type, pid)
            self._paths[a.object_type][pid] = a.path
            if isinstance(a, _Eq):
                self._eq[where][a.key].append(nid)
                self._eq_kinds[where].add(a.key[0] if isinstance(a.key, tuple) else "s")
            elif isinstance(a, _Cidr):
                self._cidr[where][(a.version, a.prefix)][a.network].append(nid)
            elif isinstance(a, _Sup):
                bits = 32 if a.version == 4 else 128
                for length in range(1, a.prefix + 1):
                    masked = a.address >> (bits - length) << (bits - length)
                    self._sup[where][(a.version, length)][masked].append(nid)
            elif isinstance(a, _Lit):
                self._lit[where][a.text].append(nid)
                self._automata.pop(where, None)

    def _unindex(self, nid: int, node: _Node) -> None:
        for a in node.anchors:
            if isinstance(a, _Scan):
                _drop(self._scan[a.object_type], nid)
                continue
            where = (a.object_type, self._path_ids[a.path])
            if isinstance(a, _Eq):
                _drop(self._eq[where][a.key], nid)
            elif isinstance(a, _Cidr):
                _drop(self._cidr[where][(a.version, a.prefix)][a.network], nid)
            elif isinstance(a, _Sup):
                bits = 32 if a.version == 4 else 128
                for length in range(1, a.prefix + 1):
                    _drop(self._sup[where][(a.version, length)][a.address >> (bits - length) << (bits - length)], nid)
            elif isinstance(a, _Lit):
                _drop(self._lit[where][a.text], nid)
                self._automata.pop(where, None)
        self._nodes[nid] = None
        self._node_ids.pop(repr(node.expr), None)

    def _automaton(self, where: tuple[str, Any]) -> Any:
        auto = self._automata.get(where)
        if auto is None:
            auto = ahocorasick.Automaton()
            for text, nids in self._lit[where].items():
                if nids:
                    auto.add_word(text, text)
            if len(auto):
                auto.make_automaton()
            self._automata[where] = auto
        return auto

    # ------------------------------------------------------------ one observation

    def leaf_hits(self, obs: Observation) -> dict[int, set[str]]:
        """The compiled leaves that hold on the observation, each with the root objects they hold on."""
        objects = obs.objects
        kinds = ev.by_type(objects)
        candidates: set[int] = set()
        for kind, ids in kinds.items():
            if kind in ev.NOT_OBSERVABLE:
                continue
            candidates.update(self._scan.get(kind, ()))
            paths = self._paths.get(kind)
            if not paths:
                continue
            for pid, path in paths.items():
                where = (kind, pid)
                for oid in ids:
                    for value in ev.path_values(objects[oid], path, objects):
                        self._lookup(where, value, candidates)
        hits: dict[int, set[str]] = {}
        for nid in candidates:
            node = self._nodes[nid]
            if node is None:
                continue
            roots = node.compiled.roots(objects, kinds)
            if roots:
                hits[nid] = roots
        return hits

    def _lookup(self, where: tuple[str, Any], value: Any, out: set[int]) -> None:
        eq = self._eq.get(where)
        if eq is not None:
            kinds = self._eq_kinds[where]
            for key in _value_keys(value, kinds):
                found = eq.get(key)
                if found:
                    out.update(found)
        if not isinstance(value, str):
            return
        if where in self._cidr or where in self._sup:
            net = _quick_network(value)
            if net is not None:
                bits = 32 if net.version == 4 else 128
                addr = int(net.network_address)
                for (version, length), table in self._cidr.get(where, {}).items():
                    if version == net.version and length <= net.prefixlen:
                        found = table.get(addr >> (bits - length) << (bits - length))
                        if found:
                            out.update(found)
                if "/" in value:
                    table = self._sup.get(where, {}).get((net.version, net.prefixlen))
                    if table:
                        found = table.get(addr)
                        if found:
                            out.update(found)
        if where in self._lit:
            auto = self._automaton(where)
            if len(auto):
                if not value.isascii():
                    value = unicodedata.normalize("NFC", value)  # LIKE and MATCHES see the NFC form
                for _end, text in auto.iter(value):
                    out.update(self._lit[where][text])

    def match_unit(self, obs: Observation) -> list[str]:
        """Indicators whose pattern matches this observation on its own (its ``number_observed`` instances
        are the only observations available), sorted."""
        return sorted(self._unit_matches(obs, self.leaf_hits(obs)))

    def _unit_matches(self, obs: Observation, hits: dict[int, set[str]]) -> set[str]:
        found: set[str] = set()
        seen: set[str] = set()
        for nid in hits:
            node = self._nodes[nid]
            if node is None:
                continue
            found |= node.simple  # one leaf, one instance, no START/STOP: a hit is a match
            if len(node.simple) == len(node.patterns):
                continue
            for iid in node.patterns:
                if iid in seen or iid in node.simple:
                    continue
                seen.add(iid)
                cp = self.patterns[iid]
                ids = {leaf.index: cp.leaves[leaf.index] for leaf in cp.parsed.leaves}
                need = min_instances(cp.parsed.root, lambda leaf, ids=ids: ids[leaf.index] in hits, obs)
                if need <= obs.number_observed:
                    found.add(iid)
        return found

    # ------------------------------------------------------------ a batch of observations

    def match_batch(self, observations: Iterable[Observation]) -> Iterator[Match]:
        """Every match in a batch: each (indicator, observation) that matches on its own, then for patterns
        that need several observations, one binding across the batch found by ``solve`` (if any)."""
        obs_list = list(observations)
        pending: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
        hits_of: list[dict[int, set[str]]] = []
        for i, obs in enumerate(obs_list):
            hits = self.leaf_hits(obs)
            hits_of.append(hits)
            alone = self._unit_matches(obs, hits)
            for iid in sorted(alone):
                yield self._match(iid, [i], obs_list, hits_of)
            for nid in hits:
                node = self._nodes[nid]
                for iid in node.patterns if node else ():
                    if iid not in alone and not self.patterns[iid].single:
                        pending[iid][nid].append(i)
        for iid in sorted(pending):
            cp = self.patterns[iid]
            seen = pending[iid]
            binding = solve(cp.parsed.root, lambda leaf, cp=cp, s=seen: s.get(cp.leaves[leaf.index], ()), obs_list)
            if binding is not None and len(set(binding)) > 1:
                yield self._match(iid, binding, obs_list, hits_of)

    def _match(self, iid: str, binding: list[int], obs_list: list[Observation], hits_of: list[Any]) -> Match:
        cp = self.patterns[iid]
        idx = sorted(set(binding))
        chosen = [obs_list[i] for i in idx]
        proof: list[Evidence] = []
        for i in idx:
            obs = obs_list[i]
            for nid in set(cp.leaves):
                roots = hits_of[i].get(nid)
                node = self._nodes[nid]
                if roots and node is not None:
                    for kind, path, value in ev.evidence(node.expr, obs.objects, roots):
                        proof.append(Evidence(kind, path, _text(value)))
        return Match(
            indicator_id=iid,
            observed_data_ids=tuple(o.id for o in chosen),
            first_seen=min(o.first_observed for o in chosen),
            last_seen=max(o.last_observed for o in chosen),
            count=sum(o.number_observed for o in chosen),
            evidence=tuple(dict.fromkeys(proof)),
        )


_DOTTED = re.compile(
    r"(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\."
    r"(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
)


class _V4:
    """A plain IPv4 address as a /32, without the cost of ``ipaddress`` (same fields the lookup reads)."""

    __slots__ = ("network_address", "prefixlen")
    version = 4

    def __init__(self, value: int) -> None:
        self.network_address = value
        self.prefixlen = 32


def _quick_network(value: str) -> Any:
    m = _DOTTED.fullmatch(value)
    if m is not None:
        a, b, c, d = (int(x) for x in m.groups())
        return _V4((a << 24) | (b << 16) | (c << 8) | d)
    return ev._value_network(value)


def _drop(items: list[int], nid: int) -> None:
    while nid in items:
        items.remove(nid)


def _has_startstop(e: Expr) -> bool:
    if isinstance(e, StartStop):
        return True
    if isinstance(e, Leaf):
        return False
    if isinstance(e, ObsAnd | ObsOr | FollowedBy):
        return _has_startstop(e.left) or _has_startstop(e.right)
    return _has_startstop(e.child)


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    return str(value)


def _value_keys(value: Any, kinds: set[str]) -> list[Any]:
    """Hash keys under which an observed value may meet a literal (a superset: lookups are then verified)."""
    keys = []
    if isinstance(value, bool):
        keys.append(("b", value))
        if "n" in kinds:
            keys.append(("n", float(value)))
    elif isinstance(value, int | float):
        keys.append(("n", float(value)) if math.isfinite(value) else ("n", value))
    elif isinstance(value, str):
        keys.append(value)
        if "x" in kinds and all(ord(c) < 256 for c in value):
            keys.append(("x", value.encode("latin-1")))
        if "t" in kinds:
            with contextlib.suppress(ValueError):
                keys.append(("t", parse_timestamp(value)))
    elif isinstance(value, bytes):
        keys.append(("x", value))
        if "s" in kinds:
            keys.append(value.decode("latin-1"))
    return keys


# ---------------------------------------------------------------- across observations


def solve(root: Expr, candidates: Any, observations: list[Observation]) -> list[int] | None:
    """One binding of the pattern to the observations, as a list of observation indices (an index repeated
    when several instances of one observation are used), or None if there is none.

    ``candidates(leaf)`` gives the indices of the observations on which that ``[...]`` holds. The search
    assigns an observation instance to every leaf the pattern needs (each observation has ``number_observed``
    instances; no instance serves twice), depth first with the tests applied as early as they can be:
    START/STOP and FOLLOWEDBY narrow the observations the rest may use (by interval, through bisection on
    observations sorted by time), WITHIN rejects a partial binding as soon as its span exceeds the duration,
    REPEATS of the same sub-expression are taken in non-decreasing order (no permutation is tried twice), and
    a leaf that cannot hold at all ends the search at once. The semantics are those of STIX 2.1 as the OASIS
    matcher reads them: a binding holds under ``A FOLLOWEDBY B`` when the latest ``first_observed`` on the left
    is not after the earliest ``last_observed`` on the right; under ``WITHIN d`` when the latest
    ``first_observed`` minus the earliest ``last_observed`` is at most d; under ``START s STOP t`` when every
    bound observation overlaps [s, t)."""
    first = [micros(o.first_observed) for o in observations]
    last = [micros(o.last_observed) for o in observations]
    cap = [o.number_observed for o in observations]
    lists: dict[int, list[int]] = {}
    for leaf in _leaves(root):
        lists[id(leaf)] = sorted(set(candidates(leaf)), key=lambda i: (first[i], i))
    need = min_instances(root, lambda leaf: bool(lists[id(leaf)]))
    if need == INF or need > sum(cap[i] for i in set().union(*lists.values())):
        return None  # a [...] that never holds, or more instances needed than all observations have
    chosen: list[int] = []
    windows: list[list[Any]] = []  # [start in chosen, duration in microseconds, active] of the open WITHINs

    def fits(i: int) -> bool:
        for start, span, active in windows:
            if not active:
                continue
            hi = max([first[j] for j in chosen[start:]] + [first[i]])
            lo = min([last[j] for j in chosen[start:]] + [last[i]])
            if hi - lo > span:
                return False
        return True

    def run(e: Expr, lo_last: int, hi_first: int, strict: bool, floor: int) -> Iterator[None]:
        """Bindings of e using observations with last >= lo_last and first <= hi_first (< when strict);
        ``floor`` orders the copies of a repeated leaf."""
        if isinstance(e, Leaf):
            pool = lists[id(e)]
            keys = [first[i] for i in pool]
            end = bisect.bisect_left(keys, hi_first) if strict else bisect.bisect_right(keys, hi_first)
            for pos in range(end):
                i = pool[pos]
                if i < floor or cap[i] == 0 or last[i] < lo_last or not fits(i):
                    continue
                cap[i] -= 1
                chosen.append(i)
                yield
                chosen.pop()
                cap[i] += 1
        elif isinstance(e, ObsAnd):
            for _ in run(e.left, lo_last, hi_first, strict, -1):
                yield from run(e.right, lo_last, hi_first, strict, -1)
        elif isinstance(e, ObsOr):
            yield from run(e.left, lo_last, hi_first, strict, -1)
            yield from run(e.right, lo_last, hi_first, strict, -1)
        elif isinstance(e, FollowedBy):
            start = len(chosen)
            for _ in run(e.left, lo_last, hi_first, strict, -1):
                latest_first = max(first[j] for j in chosen[start:])
                yield from run(e.right, max(lo_last, latest_first), hi_first, strict, -1)
        elif isinstance(e, Within):
            window = [len(chosen), dt.timedelta(seconds=e.seconds) // _MICRO, True]
            windows.append(window)
            try:
                for _ in run(e.child, lo_last, hi_first, strict, -1):
                    window[2] = False  # the rest of the pattern is not bound by this WITHIN
                    yield
                    window[2] = True
            finally:
                for k in range(len(windows) - 1, -1, -1):  # by identity: two windows may hold equal values
                    if windows[k] is window:
                        del windows[k]
                        break
        elif isinstance(e, StartStop):
            if e.start < e.stop:
                s, t = micros(e.start), micros(e.stop)
                if t < hi_first or (t == hi_first and not strict):
                    hi, st = t, True
                else:
                    hi, st = hi_first, strict
                yield from run(e.child, max(lo_last, s), hi, st, -1)
        elif isinstance(e, Repeats):
            yield from repeat(e.child, e.times, lo_last, hi_first, strict, -1, ())
        else:
            raise TypeError(e)

    def repeat(
        e: Expr, times: int, lo_last: int, hi_first: int, strict: bool, floor: int, previous: tuple[int, ...]
    ) -> Iterator[None]:
        if times == 0:
            yield
            return
        if isinstance(e, Leaf):  # enough instances left for the remaining copies?
            room = sum(cap[i] for i in lists[id(e)] if i >= floor and last[i] >= lo_last)
            if room < times:
                return
        start = len(chosen)
        for _ in run(e, lo_last, hi_first, strict, floor):
            mine = tuple(sorted(chosen[start:]))
            if mine < previous:  # copies in non-decreasing order: each multiset of copies is tried once
                continue
            nxt_floor = chosen[start] if isinstance(e, Leaf) else -1
            yield from repeat(e, times - 1, lo_last, hi_first, strict, nxt_floor, mine)

    big = 1 << 62
    for _ in run(root, -big, big, False, -1):
        return list(chosen)
    return None


def _leaves(e: Expr) -> list[Leaf]:
    if isinstance(e, Leaf):
        return [e]
    if isinstance(e, ObsAnd | ObsOr | FollowedBy):
        return _leaves(e.left) + _leaves(e.right)
    return _leaves(e.child)


def matches_together(pattern: str, observations: list[Observation]) -> list[int] | None:
    """Does the pattern match this set of observations taken together (stix2-matcher's ``match`` on a list)?
    The binding found, or None. For tests and one-off checks; the ``Matcher`` is the fast path."""
    m = Matcher([("x", pattern)])
    if m.rejected:
        raise PatternError(m.rejected[0].reason)
    cp = m.patterns["x"]
    hits = [m.leaf_hits(o) for o in observations]

    def where(leaf: Leaf) -> list[int]:
        return [i for i, h in enumerate(hits) if cp.leaves[leaf.index] in h]

    return solve(cp.parsed.root, where, observations)


_ = ipaddress  # re-exported helpers rely on it
