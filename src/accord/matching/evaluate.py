"""Exact evaluation of comparison expressions on one observation (object paths, references, every operator).

Semantics follow STIX 2.1 patterning (§9) and, where the specification leaves room, the OASIS reference
matcher ``stix2-matcher`` 3.0 in STIX 2.1 mode, so that the two give identical results; the places where
that matcher departs from the specification are listed in ``DEPARTURES`` and handled as the specification
says. A comparison is true for an observation when some cyber-observable object of the path's type (the
*root*) has some value at the path that passes the test; ``AND`` needs both sides true on the same root,
``OR`` either. Values: JSON strings, numbers, booleans, lists and dicts, plus ``bytes`` for properties
ending in ``_hex`` / ``_bin``; ``*_ref`` and ``*_refs`` properties are followed to the objects they name
within the same observation.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import ipaddress
import re
import unicodedata
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

import pcre2

from accord.matching.pattern import STAR, CmpAnd, CmpOr, Comparison, Path, Test, parse_timestamp

# Types that are not cyber-observable objects: a pattern naming them never matches (as in stix2-matcher).
NOT_OBSERVABLE = frozenset(
    {
        "attack-pattern",
        "bundle",
        "campaign",
        "course-of-action",
        "extension-definition",
        "grouping",
        "identity",
        "incident",
        "indicator",
        "infrastructure",
        "intrusion-set",
        "language-content",
        "location",
        "malware",
        "malware-analysis",
        "marking-definition",
        "note",
        "observed-data",
        "opinion",
        "relationship",
        "report",
        "threat-actor",
        "tool",
        "sighting",
        "vulnerability",
    }
)

# Where the OASIS matcher departs from STIX 2.1 and Accord follows the specification (each is pinned by a test
# in tests/matching/test_departures.py).
DEPARTURES = {
    "matches-pcre": "MATCHES uses PCRE2 (the specification's regular expressions); stix2-matcher uses Python's re, "
    "which differs e.g. on POSIX classes ([[:digit:]]), \\h, \\R, possessive/atomic syntax and \\Z.",
    "like-newline": "LIKE's % and _ match any character, newlines included, and the value must end where the "
    "pattern ends; stix2-matcher's translation to a Python regex lets % and _ skip newlines and lets "
    "'abc%' ... '$' accept a trailing newline.",
    "not-exists": "NOT EXISTS is true for an object of the type that lacks the property; stix2-matcher ignores "
    "the NOT (it behaves as EXISTS).",
    "exists-combined": "EXISTS inside AND / OR works; stix2-matcher raises a TypeError there.",
    "subset-ipv6": "ISSUBSET / ISSUPERSET work on IPv6 addresses and prefixes; stix2-matcher raises on them.",
    "bad-values-false": "A value that cannot be compared (an address that is not an address, a string that is "
    "not a timestamp where a timestamp literal is given, undecodable bytes for LIKE) makes that comparison "
    "false; stix2-matcher aborts the whole match with an exception.",
    "in-bool-number": "IN compares like =: true is not 1 and 1 is not true; stix2-matcher uses Python's 'in', "
    "where True == 1.",
}

_ABSENT = object()


# ---------------------------------------------------------------- object paths


def _suffix(key: str, value: Any) -> Any:
    """``*_hex`` and ``*_bin`` properties are binary; anything undecodable is absent."""
    try:
        if key.endswith("_hex"):
            return binascii.a2b_hex(value)
        if key.endswith("_bin"):
            return base64.standard_b64decode(value)
    except (binascii.Error, TypeError, ValueError):
        return _ABSENT
    return value


def _resolve(ref: Any, objects: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    return objects.get(ref) if isinstance(ref, str) else None


def path_values(root: dict[str, Any], path: Path, objects: dict[str, dict[str, Any]]) -> list[Any]:
    """Every value the path selects from one root object, following references within ``objects``."""
    current: list[Any] = [root]
    for i, step in enumerate(path.steps):
        nxt: list[Any] = []
        if path.is_star(i):
            for v in current:
                if isinstance(v, list):
                    nxt.extend(v)
        elif isinstance(step, int):
            for v in current:
                if isinstance(v, list) and 0 <= step < len(v):
                    nxt.append(v[step])
        else:
            for v in current:
                if isinstance(v, dict) and step in v:
                    value = _suffix(step, v[step])
                    if value is not _ABSENT:
                        nxt.append(value)
            if step.endswith("_ref"):
                nxt = [o for o in (_resolve(r, objects) for r in nxt) if o is not None]
            elif step.endswith("_refs"):
                lists = []
                for refs in nxt:
                    if isinstance(refs, list):
                        found = [o for o in (_resolve(r, objects) for r in refs) if o is not None]
                        if found:
                            lists.append(found)
                nxt = lists
        current = nxt
        if not current:
            break
    return current


# ---------------------------------------------------------------- comparisons


def _same(a: Any, b: Any) -> bool:
    """Equality as STIX compares: numbers with numbers, strings with strings, a string with bytes by its
    code points (all < 256), booleans with booleans, timestamps with timestamps; anything else unequal."""
    ta, tb = type(a), type(b)
    if ta is bool or tb is bool:
        return ta is tb and a == b
    if ta in (int, float) and tb in (int, float):
        return a == b
    if ta is tb and ta in (str, bytes, dt.datetime):
        return a == b
    if {ta, tb} == {str, bytes}:
        s, raw = (a, b) if ta is str else (b, a)
        return all(ord(c) < 256 for c in s) and s.encode("latin-1") == raw
    return False


def _order(a: Any, b: Any) -> int | None:
    """-1 / 0 / 1 comparing value ``a`` with literal ``b``, or None when they cannot be ordered."""
    ta, tb = type(a), type(b)
    if ta is bool or tb is bool:
        return None
    if ta in (int, float) and tb in (int, float) or ta is tb and ta in (str, bytes, dt.datetime):
        pass
    elif {ta, tb} == {str, bytes}:
        s = a if ta is str else b
        if not all(ord(c) < 256 for c in s):
            return None
        a, b = (a.encode("latin-1"), b) if ta is str else (a, b.encode("latin-1"))
    else:
        return None
    return (a > b) - (a < b)


def _as_timestamp(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return parse_timestamp(value)
        except ValueError:
            return _ABSENT
    return value


def like_regex(like: str) -> re.Pattern[str]:
    """SQL LIKE as a regular expression: ``%`` any run of characters, ``_`` one character, both including
    newlines; the whole value must match."""
    out = []
    for c in unicodedata.normalize("NFC", like):
        out.append(".*" if c == "%" else "." if c == "_" else re.escape(c))
    return re.compile("".join(out) + r"\Z", re.DOTALL)


@lru_cache(maxsize=8192)
def compile_pcre(regex: str) -> tuple[Any, Any | None]:
    """The PCRE2 program for a MATCHES operand (NFC-normalised, UTF mode) and, when every character is below
    256, the program for binary values. Raises ``pcre2.error`` for a bad expression."""
    text = unicodedata.normalize("NFC", regex)
    program = pcre2.compile(text)
    binary = pcre2.compile(text.encode("latin-1")) if all(ord(c) < 256 for c in text) else None
    return program, binary


def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """An address or CIDR prefix (host bits must be zero only in the sense the OASIS matcher allows: any host
    bits are masked off). None if it is not one."""
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def _cidr_literal(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """A pattern's CIDR operand: must carry a prefix length of at least 1 (as the OASIS matcher requires)."""
    if "/" not in text:
        return None
    prefix = text.split("/", 1)[1]
    if not prefix.isdecimal() or int(prefix) < 1:
        return None
    return _network(text)


def _contains(outer: Any, inner: Any) -> bool:
    return outer is not None and inner is not None and outer.version == inner.version and inner.subnet_of(outer)


def predicate(test: Test) -> Callable[[Any], bool]:
    """The per-value test of a comparison, NOT applied (a value passes a negated test when it fails the
    plain one). EXISTS is handled by ``eval_test``."""
    op, lit = test.op, test.value
    if op in ("=", "!="):
        if isinstance(lit, dt.datetime):

            def check(v: Any) -> bool:
                v = _as_timestamp(v)
                return v is not _ABSENT and _same(v, lit)
        else:

            def check(v: Any) -> bool:
                return _same(v, lit)

        plain = check if op == "=" else (lambda v: not check(v))
    elif op in ("<", "<=", ">", ">="):
        want = {"<": (-1,), "<=": (-1, 0), ">": (1,), ">=": (1, 0)}[op]
        stamp = isinstance(lit, dt.datetime)

        def plain(v: Any) -> bool:
            if stamp:
                v = _as_timestamp(v)
                if v is _ABSENT:
                    return False
            r = _order(v, lit)
            return r is not None and r in want
    elif op == "IN":
        items = lit
        stamp = bool(items) and isinstance(items[0], dt.datetime)
        hashable = {(type(x) is bool, x) for x in items if not isinstance(x, bytes)}
        binaries = [x for x in items if isinstance(x, bytes)]

        def plain(v: Any) -> bool:
            if stamp:
                v = _as_timestamp(v)
                if v is _ABSENT:
                    return False
            if isinstance(v, list | dict):
                return False
            if isinstance(v, bytes):
                return v in binaries
            return (type(v) is bool, v) in hashable
    elif op == "LIKE":
        program = like_regex(lit)
        binary_ok = all(ord(c) < 256 for c in lit)

        def plain(v: Any) -> bool:
            if isinstance(v, bytes) and binary_ok:
                try:
                    v = v.decode("utf-8")
                except UnicodeDecodeError:
                    return False
            return isinstance(v, str) and program.match(unicodedata.normalize("NFC", v)) is not None
    elif op == "MATCHES":
        program, binary = compile_pcre(lit)

        def plain(v: Any) -> bool:
            if isinstance(v, str):
                return program.search(unicodedata.normalize("NFC", v)) is not None
            if isinstance(v, bytes) and binary is not None:
                return binary.search(v) is not None
            return False
    elif op == "ISSUBSET":
        outer = _cidr_literal(lit)

        def plain(v: Any) -> bool:
            return isinstance(v, str) and _contains(outer, _value_network(v))
    elif op == "ISSUPERSET":
        inner = _value_network(lit)

        def plain(v: Any) -> bool:
            return isinstance(v, str) and _contains(_cidr_value(v), inner)
    else:
        raise ValueError(f"no predicate for {op}")
    if test.negated:
        return lambda v: not plain(v)
    return plain


def _value_network(text: str) -> Any:
    """An observed address or prefix (a prefix needs length ≥ 1)."""
    return _cidr_literal(text) if "/" in text else _network(text)


def _cidr_value(text: str) -> Any:
    return _cidr_literal(text)


# ---------------------------------------------------------------- evaluation on one observation


class Compiled:
    """A comparison expression with its predicates built once."""

    __slots__ = ("expr", "preds")

    def __init__(self, expr: Comparison) -> None:
        self.expr = expr
        self.preds: dict[int, Callable[[Any], bool]] = {}  # built on first use: most leaves never are
        for t in tests_of(expr):
            if t.op == "MATCHES" and isinstance(t.value, str):
                compile_pcre(t.value)  # a bad regular expression is refused when the pattern is added

    def pred(self, t: Test) -> Callable[[Any], bool] | None:
        if t.op == "EXISTS":
            return None
        found = self.preds.get(id(t))
        if found is None:
            found = self.preds[id(t)] = predicate(t)
        return found

    def roots(self, objects: dict[str, dict[str, Any]], by_type: dict[str, list[str]]) -> set[str]:
        """Ids of the root objects on which the expression holds (empty: it does not hold)."""
        return self._roots(self.expr, objects, by_type)

    def _roots(self, e: Comparison, objects: dict[str, dict[str, Any]], by_type: dict[str, list[str]]) -> set[str]:
        if isinstance(e, CmpAnd):
            acc: set[str] | None = None
            for item in e.items:
                got = self._roots(item, objects, by_type)
                acc = got if acc is None else acc & got
                if not acc:
                    return set()
            return acc or set()
        if isinstance(e, CmpOr):
            out: set[str] = set()
            for item in e.items:
                out |= self._roots(item, objects, by_type)
            return out
        return eval_test(e, self.pred(e), objects, by_type)


def eval_test(
    t: Test, pred: Callable[[Any], bool] | None, objects: dict[str, dict[str, Any]], by_type: dict[str, list[str]]
) -> set[str]:
    out = set()
    if t.path.object_type in NOT_OBSERVABLE:
        return out
    for oid in by_type.get(t.path.object_type, ()):
        values = path_values(objects[oid], t.path, objects)
        if t.op == "EXISTS":
            if bool(values) != t.negated:
                out.add(oid)
        elif any(pred(v) for v in values):  # type: ignore[misc]
            out.add(oid)
    return out


def tests_of(e: Comparison) -> list[Test]:
    if isinstance(e, CmpAnd | CmpOr):
        return [t for item in e.items for t in tests_of(item)]
    return [e]


def by_type(objects: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for oid, obj in objects.items():
        kind = obj.get("type")
        if isinstance(kind, str):
            out.setdefault(kind, []).append(oid)
    return out


def evidence(expr: Comparison, objects: dict[str, dict[str, Any]], roots: Iterable[str]) -> list[tuple[str, str, Any]]:
    """(object type, path text, value) of the values of ``roots`` that pass the expression's positive tests."""
    out = []
    wanted = set(roots)
    for t in tests_of(expr):
        if t.negated or t.op in ("EXISTS", "!="):
            continue
        pred = predicate(t)
        for oid in wanted:
            obj = objects.get(oid)
            if obj is None or obj.get("type") != t.path.object_type:
                continue
            for v in path_values(obj, t.path, objects):
                if pred(v):
                    out.append((t.path.object_type, t.path.text(), v))
    return out


__all__ = ["DEPARTURES", "STAR", "Compiled", "by_type", "evidence", "path_values", "predicate"]
