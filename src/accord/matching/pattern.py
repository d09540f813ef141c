"""STIX 2.1 patterns parsed with the OASIS grammar (``stix2-patterns``) into a small intermediate form.

The parse tree of the OASIS ANTLR grammar is walked once and turned into frozen dataclasses: comparison
expressions (``Test``, ``CmpAnd``, ``CmpOr``) inside observation expressions (``Leaf``, ``ObsAnd``,
``ObsOr``, ``FollowedBy``) with qualifiers (``Within``, ``Repeats``, ``StartStop``). Literals become the
Python values the comparisons use: ``str``, ``int``, ``float``, ``bool``, ``bytes`` (``b'…'``, ``h'…'``) and
aware ``datetime`` (``t'…'``). The engine compiles this form into its index; nothing here matches anything.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import antlr4
from stix2patterns.exceptions import ParseException
from stix2patterns.v21.grammars.STIXPatternParser import STIXPatternParser as P
from stix2patterns.v21.pattern import Pattern as _OasisPattern

STAR = "*"  # the [*] list step
Step = str | int  # a key, a list index, or STAR


class PatternError(ValueError):
    """A pattern that does not parse, or that parses but cannot be evaluated (a bad literal, a mixed set,
    a non-positive WITHIN or REPEATS)."""


@dataclass(frozen=True)
class Path:
    object_type: str
    steps: tuple[Step, ...]  # keys are str, list indices int, [*] is STAR (a str that no key can equal)
    star_positions: tuple[int, ...] = ()  # indices into ``steps`` that are [*] steps

    def text(self) -> str:
        out = []
        for i, s in enumerate(self.steps):
            if i in self.star_positions:
                out.append("[*]")
            elif isinstance(s, int):
                out.append(f"[{s}]")
            elif s.replace("_", "a").isalnum() and not s[:1].isdigit():
                out.append(("." if out else "") + s)
            else:
                out.append(("." if out else "") + "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'")
        return "".join(out)

    def is_star(self, i: int) -> bool:
        return i in self.star_positions


@dataclass(frozen=True)
class Test:
    """One comparison: ``path op value``, ``negated`` for a leading NOT. ``op`` is one of ``=``, ``!=``,
    ``<``, ``<=``, ``>``, ``>=``, ``IN`` (value a frozenset… kept as a tuple), ``LIKE``, ``MATCHES``,
    ``ISSUBSET``, ``ISSUPERSET``, ``EXISTS``."""

    path: Path
    op: str
    value: Any
    negated: bool = False


@dataclass(frozen=True)
class CmpAnd:
    items: tuple[Comparison, ...]


@dataclass(frozen=True)
class CmpOr:
    items: tuple[Comparison, ...]


Comparison = Test | CmpAnd | CmpOr


@dataclass(frozen=True)
class Leaf:
    """``[ comparison expression ]``: one observation must satisfy it."""

    expr: Comparison
    index: int = 0  # position among the pattern's leaves, left to right


@dataclass(frozen=True)
class ObsAnd:
    left: Expr
    right: Expr


@dataclass(frozen=True)
class ObsOr:
    left: Expr
    right: Expr


@dataclass(frozen=True)
class FollowedBy:
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Within:
    child: Expr
    seconds: float


@dataclass(frozen=True)
class Repeats:
    child: Expr
    times: int


@dataclass(frozen=True)
class StartStop:
    child: Expr
    start: dt.datetime
    stop: dt.datetime


Expr = Leaf | ObsAnd | ObsOr | FollowedBy | Within | Repeats | StartStop


# ---------------------------------------------------------------- literals (as the OASIS matcher reads them)


_TS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,})?Z")


def parse_timestamp(text: str, ignore_case: bool = False) -> dt.datetime:
    """A STIX timestamp (``2024-01-01T00:00:00Z``, optional fraction; more than 6 fraction digits are cut).
    Upper-case ``T`` and ``Z`` are required unless ``ignore_case``. Raises ValueError."""
    if _TS.fullmatch(text):  # the usual form: fromisoformat is many times faster than strptime
        head, _, frac = text[:-1].partition(".")
        return dt.datetime.fromisoformat(head + ("." + frac[:6].ljust(6, "0") if frac else "")).replace(tzinfo=dt.UTC)
    if not ignore_case and any(c.islower() for c in text):
        raise ValueError(f"invalid timestamp (upper case T and Z required): {text}")
    if "." in text:
        head, frac = text.split(".", 1)
        if len(frac) > 7 and frac.endswith("Z"):
            text = head + "." + frac[:6] + "Z"
        fmt = "%Y-%m-%dT%H:%M:%S.%fZ"
    else:
        fmt = "%Y-%m-%dT%H:%M:%SZ"
    return dt.datetime.strptime(text, fmt).replace(tzinfo=dt.UTC)


def _unescape(body: str) -> str:
    if "\\" not in body:
        return body
    out, i = [], 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body) and body[i + 1] in "'\\":
            out.append(body[i + 1])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _literal(node: Any) -> Any:
    term = node
    while not isinstance(term, antlr4.TerminalNode):
        term = term.getChild(0)
    kind, text = term.getSymbol().type, term.getText()
    try:
        if kind in (P.IntPosLiteral, P.IntNegLiteral):
            return int(text)
        if kind in (P.FloatPosLiteral, P.FloatNegLiteral):
            return float(text)
        if kind == P.StringLiteral:
            return _unescape(text[1:-1])
        if kind == P.BoolLiteral:
            return text.lower() == "true"
        if kind == P.BinaryLiteral:
            return base64.standard_b64decode(text[2:-1])
        if kind == P.HexLiteral:
            return binascii.a2b_hex(text[2:-1])
        if kind == P.TimestampLiteral:
            return parse_timestamp(text[2:-1])
    except (ValueError, binascii.Error) as exc:
        raise PatternError(f"invalid {P.symbolicNames[kind]}: {text}") from exc
    raise PatternError(f"unsupported literal: {text}")


def _set(ctx: Any) -> tuple[Any, ...]:
    values = [_literal(n) for n in ctx.primitiveLiteral()]
    if not values:
        return ()
    kinds = {type(v) for v in values}
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    if len(kinds) > 1 and not numbers:
        raise PatternError(f"a set must hold values of one type: {ctx.getText()}")
    return tuple(dict.fromkeys(values))


# ---------------------------------------------------------------- the tree


def _path(ctx: Any) -> Path:
    type_tok = ctx.objectType().IdentifierWithoutHyphen() or ctx.objectType().IdentifierWithHyphen()
    first = ctx.firstPathComponent()
    ident = first.IdentifierWithoutHyphen()
    steps: list[Step] = [ident.getText() if ident else _literal(first.StringLiteral())]
    stars: list[int] = []

    def walk(node: Any) -> None:
        if isinstance(node, P.PathStepContext):
            for child in node.objectPathComponent():
                walk(child)
        elif isinstance(node, P.KeyPathStepContext):
            ident = node.IdentifierWithoutHyphen()
            steps.append(ident.getText() if ident else _literal(node.StringLiteral()))
        elif isinstance(node, P.IndexPathStepContext):
            if node.ASTERISK():
                stars.append(len(steps))
                steps.append(STAR)
            else:
                steps.append(_literal(node.IntPosLiteral() or node.IntNegLiteral()))

    if ctx.objectPathComponent() is not None:
        walk(ctx.objectPathComponent())
    return Path(type_tok.getText(), tuple(steps), tuple(stars))


def _test(ctx: Any) -> Comparison:
    if isinstance(ctx, P.PropTestParenContext):
        return _comparison(ctx.comparisonExpression())
    negated = ctx.NOT() is not None
    if isinstance(ctx, P.PropTestExistsContext):
        return Test(_path(ctx.objectPath()), "EXISTS", None, negated)
    path = _path(ctx.objectPath())
    if isinstance(ctx, P.PropTestEqualContext):
        return Test(path, "=" if ctx.EQ() else "!=", _literal(ctx.primitiveLiteral()), negated)
    if isinstance(ctx, P.PropTestOrderContext):
        op = "<" if ctx.LT() else ">" if ctx.GT() else "<=" if ctx.LE() else ">="
        return Test(path, op, _literal(ctx.orderableLiteral()), negated)
    if isinstance(ctx, P.PropTestSetContext):
        return Test(path, "IN", _set(ctx.setLiteral()), negated)
    if isinstance(ctx, P.PropTestLikeContext):
        return Test(path, "LIKE", _literal(ctx.StringLiteral()), negated)
    if isinstance(ctx, P.PropTestRegexContext):
        return Test(path, "MATCHES", _literal(ctx.StringLiteral()), negated)
    if isinstance(ctx, P.PropTestIsSubsetContext):
        return Test(path, "ISSUBSET", _literal(ctx.StringLiteral()), negated)
    if isinstance(ctx, P.PropTestIsSupersetContext):
        return Test(path, "ISSUPERSET", _literal(ctx.StringLiteral()), negated)
    raise PatternError(f"unsupported comparison: {ctx.getText()}")


def _comparison(ctx: Any) -> Comparison:
    ors = [_comparison_and(c) for c in _chain(ctx, "comparisonExpression", "comparisonExpressionAnd")]
    return ors[0] if len(ors) == 1 else CmpOr(tuple(ors))


def _comparison_and(ctx: Any) -> Comparison:
    ands = [_test(c) for c in _chain(ctx, "comparisonExpressionAnd", "propTest")]
    return ands[0] if len(ands) == 1 else CmpAnd(tuple(ands))


def _chain(ctx: Any, same: str, inner: str) -> list[Any]:
    """The operands of a left- or right-recursive binary rule (``a OR b OR c``), left to right."""
    out: list[Any] = []
    stack = [ctx]
    while stack:
        node = stack.pop()
        children = getattr(node, same)()
        if children:
            stack.extend(reversed(children if isinstance(children, list) else [children]))
        else:
            out.append(getattr(node, inner)())
    return out


class _Builder:
    def __init__(self) -> None:
        self.leaves = 0

    def expressions(self, ctx: Any) -> Expr:  # FOLLOWEDBY, left-associative
        parts = ctx.observationExpressions()
        if not parts:
            return self.ors(ctx.observationExpressionOr())
        return FollowedBy(self.expressions(parts[0]), self.expressions(parts[1]))

    def ors(self, ctx: Any) -> Expr:
        parts = ctx.observationExpressionOr()
        if not parts:
            return self.ands(ctx.observationExpressionAnd())
        return ObsOr(self.ors(parts[0]), self.ors(parts[1]))

    def ands(self, ctx: Any) -> Expr:
        parts = ctx.observationExpressionAnd()
        if not parts:
            return self.expression(ctx.observationExpression())
        return ObsAnd(self.ands(parts[0]), self.ands(parts[1]))

    def expression(self, ctx: Any) -> Expr:
        if isinstance(ctx, P.ObservationExpressionSimpleContext):
            leaf = Leaf(_comparison(ctx.comparisonExpression()), self.leaves)
            self.leaves += 1
            return leaf
        if isinstance(ctx, P.ObservationExpressionCompoundContext):
            return self.expressions(ctx.observationExpressions())
        child = self.expression(ctx.observationExpression())
        if isinstance(ctx, P.ObservationExpressionRepeatedContext):
            times = _literal(ctx.repeatedQualifier().IntPosLiteral())
            if times < 1:
                raise PatternError(f"invalid repetition count: {times}")
            return Repeats(child, times)
        if isinstance(ctx, P.ObservationExpressionWithinContext):
            q = ctx.withinQualifier()
            seconds = _literal(q.FloatPosLiteral() or q.IntPosLiteral())
            if seconds <= 0:
                raise PatternError(f"invalid WITHIN value (must be positive): {seconds}")
            return Within(child, seconds)
        if isinstance(ctx, P.ObservationExpressionStartStopContext):
            q = ctx.startStopQualifier()
            return StartStop(child, _literal(q.TimestampLiteral(0)), _literal(q.TimestampLiteral(1)))
        raise PatternError(f"unsupported observation expression: {ctx.getText()}")


@dataclass(frozen=True)
class Parsed:
    text: str
    root: Expr
    leaves: tuple[Leaf, ...]


def leaves_of(expr: Expr) -> list[Leaf]:
    if isinstance(expr, Leaf):
        return [expr]
    if isinstance(expr, ObsAnd | ObsOr | FollowedBy):
        return leaves_of(expr.left) + leaves_of(expr.right)
    return leaves_of(expr.child)


# The commonest patterns — one comparison of a property with a string, or with a list of strings — are read by
# this expression instead of the ANTLR parser (about 20 times faster). Anything it does not fully recognise
# (other literals, lower-case keywords, keywords used as names, other white space) goes to the OASIS grammar;
# tests/matching/test_pattern.py checks that both give the same result.
_KEYWORDS = frozenset(
    {
        "AND",
        "OR",
        "NOT",
        "FOLLOWEDBY",
        "LIKE",
        "MATCHES",
        "ISSUPERSET",
        "ISSUBSET",
        "EXISTS",
        "LAST",
        "IN",
        "START",
        "STOP",
        "SECONDS",
        "TRUE",
        "FALSE",
        "WITHIN",
        "REPEATS",
        "TIMES",
    }
)
_WS = r"[ \t\r\n]*"
_STR = r"'(?:[^'\\]|\\['\\])*'"
_KEY = rf"(?:[A-Za-z_][A-Za-z0-9_]*|{_STR})"
_SIMPLE = re.compile(
    rf"\[{_WS}(?P<type>[A-Za-z_][A-Za-z0-9_-]*){_WS}:{_WS}(?P<path>{_KEY}(?:{_WS}\.{_WS}{_KEY})*){_WS}"
    rf"(?P<op>=|!=|LIKE|MATCHES|ISSUBSET|ISSUPERSET|IN){_WS}"
    rf"(?P<lit>{_STR}|\({_WS}{_STR}(?:{_WS},{_WS}{_STR})*{_WS}\)){_WS}\]"
)
_KEY_RE = re.compile(rf"{_WS}({_STR}|[A-Za-z_][A-Za-z0-9_]*){_WS}\.?")
_STR_RE = re.compile(_STR)


def _fast(text: str) -> Parsed | None:
    m = _SIMPLE.fullmatch(text.strip(" \t\r\n"))
    if m is None or m["type"].upper() in _KEYWORDS:
        return None
    steps: list[Step] = []
    for key in _KEY_RE.findall(m["path"]):
        if key.startswith("'"):
            steps.append(_unescape(key[1:-1]))
        elif key.upper() in _KEYWORDS:
            return None
        else:
            steps.append(key)
    op, lit = m["op"], m["lit"]
    if op == "IN":
        value: Any = tuple(dict.fromkeys(_unescape(x[1:-1]) for x in _STR_RE.findall(lit)))
    else:
        value = _unescape(lit[1:-1])
    leaf = Leaf(Test(Path(m["type"], tuple(steps)), op, value, False), 0)
    return Parsed(text, leaf, (leaf,))


@lru_cache(maxsize=4096)
def parse(text: str) -> Parsed:
    """Parse a STIX 2.1 pattern; ``PatternError`` says why it cannot be used."""
    quick = _fast(text)
    if quick is not None:
        return quick
    return parse_oasis(text)


def parse_oasis(text: str) -> Parsed:
    """``parse`` through the OASIS ANTLR grammar only."""
    try:
        tree = _OasisPattern(text)
    except ParseException as exc:
        raise PatternError(f"not a STIX 2.1 pattern: {exc}") from exc
    holder: list[Any] = []

    class _Grab(antlr4.ParseTreeVisitor):
        def visitPattern(self, ctx: Any) -> None:  # noqa: N802 (ANTLR naming)
            holder.append(ctx)

    tree.visit(_Grab())
    root = _Builder().expressions(holder[0].observationExpressions())
    return Parsed(text, root, tuple(leaves_of(root)))
