# ruff: noqa: E501  (strategy tables read best one per line)
"""The compiled matcher against the OASIS reference matcher ``stix2-matcher`` (STIX 2.1 mode): the stored
oracle sets of ``../shared/bench`` (copied into tests/matching/data) and random patterns and observations
(hypothesis), each compared with stix2-matcher run live on the same input."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stix2matcher.matcher import match as oasis_match

from accord.matching.engine import Matcher, matches_together
from accord.matching.pattern import parse_timestamp
from accord.matching.types import Observation

DATA = Path(__file__).parent / "data"


def units_to_observations(units: list[dict[str, Any]]) -> list[Observation]:
    """Observations as stix2-matcher sees a list of bundles: every object of every bundle is available to
    every observed-data's ``object_refs``."""
    pool: dict[str, dict[str, Any]] = {}
    sdos = []
    for u in units:
        for o in u["objects"]:
            if o["type"] == "observed-data":
                sdos.append(o)
            else:
                pool[o["id"]] = o
    return [
        Observation(
            o["id"],
            parse_timestamp(o["first_observed"]),
            parse_timestamp(o["last_observed"]),
            o["number_observed"],
            {r: pool[r] for r in o["object_refs"] if r in pool},
            o,
        )
        for o in sdos
    ]


# ---------------------------------------------------------------- the stored oracle sets


@pytest.mark.parametrize("name", ["s1_100x100", "s1_1000x1000"])
def test_oracle_sets_give_identical_pairs(name):
    folder = DATA / name
    indicators = [
        o for o in json.loads((folder / "indicators.json").read_text())["objects"] if o["type"] == "indicator"
    ]
    units = json.loads((folder / "observations.json").read_text())
    truth = json.loads((folder / "ground_truth.json").read_text())
    matcher = Matcher((i["id"], i["pattern"]) for i in indicators)
    assert matcher.rejected == [] and len(matcher) == len(indicators)
    pairs = sorted(
        [iid, obs.id] for u in units for obs in units_to_observations([u]) for iid in matcher.match_unit(obs)
    )
    assert pairs == truth
    assert len(truth) == json.loads((folder / "ground_truth.meta.json").read_text())["matches"]


# ---------------------------------------------------------------- random patterns and observations

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
IPS = ["10.0.0.1", "10.0.0.2", "10.0.1.7", "192.168.5.5"]
NETS = ["10.0.0.0/24", "10.0.0.0/16", "10.0.0.2/32", "192.168.0.0/16", "10.0.1.0/25"]
NAMES = ["a.exe", "b.dll", "abc.exe", "readme.txt", "ab"]
DOMAINS = ["evil.test", "x.evil.test", "good.example", "cdn.good.example"]
WORDS = ["alpha", "beta", "alp", "gamma"]
STAMPS = ["2024-01-01T00:00:05Z", "2024-01-01T00:01:00.5Z", "2024-01-02T00:00:00Z"]


def q(s: str) -> str:
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


ip_test = st.one_of(
    st.builds(lambda v, op: f"ipv4-addr:value {op} {q(v)}", st.sampled_from(IPS), st.sampled_from(["=", "!=", "<", ">="])),
    st.builds(lambda n, neg: f"ipv4-addr:value {'NOT ' if neg else ''}ISSUBSET {q(n)}", st.sampled_from(NETS), st.booleans()),
    st.builds(lambda vs: f"ipv4-addr:value IN ({', '.join(q(v) for v in vs)})", st.lists(st.sampled_from(IPS), min_size=1, max_size=3)),
)  # fmt: skip
file_test = st.one_of(
    st.builds(lambda v, op: f"file:name {op} {q(v)}", st.sampled_from(NAMES), st.sampled_from(["=", "!=", "<=", ">"])),
    st.builds(lambda v, neg: f"file:name {'NOT ' if neg else ''}LIKE {q(v)}", st.sampled_from(["%.exe", "a%", "a_.%", "%b%", "ab"]), st.booleans()),
    st.builds(lambda v, neg: f"file:name {'NOT ' if neg else ''}MATCHES {q(v)}", st.sampled_from(["^a", "exe$", "[ab]+\\.d", "b.l", "^.b$"]), st.booleans()),
    st.builds(lambda n, op: f"file:size {op} {n}", st.sampled_from([10, 100, 100.0, 2.5]), st.sampled_from(["=", "<", ">", "<=", "!="])),
    st.builds(lambda h: f"file:hashes.'SHA-256' = {q(h)}", st.sampled_from(["aa", "bb"])),
    st.builds(lambda v: f"file:x_tags[*] = {q(v)}", st.sampled_from(WORDS)),
    st.builds(lambda i, v: f"file:x_tags[{i}] = {q(v)}", st.sampled_from([0, 1, 5]), st.sampled_from(WORDS)),
    st.builds(lambda v, op: f"file:x_when {op} t{q(v)}", st.sampled_from(STAMPS), st.sampled_from(["=", "<", ">="])),
    st.builds(lambda b: f"file:x_flag = {'true' if b else 'false'}", st.booleans()),
    st.builds(lambda v: f"file:x_blob_hex = h{q(v)}", st.sampled_from(["00ff", "6162"])),
    st.builds(lambda v: f"file:parent_directory_ref.path = {q(v)}", st.sampled_from(["C:\\tmp", "/home"])),
)  # fmt: skip
domain_test = st.one_of(
    st.builds(lambda v, op: f"domain-name:value {op} {q(v)}", st.sampled_from(DOMAINS), st.sampled_from(["=", "!="])),
    st.builds(lambda v: f"domain-name:value LIKE {q(v)}", st.sampled_from(["%.evil.test", "%.test", "good%"])),
    st.builds(lambda v: f"domain-name:resolves_to_refs[*].value = {q(v)}", st.sampled_from(IPS)),
    st.builds(lambda v: f"domain-name:resolves_to_refs[0].value ISSUBSET {q(v)}", st.sampled_from(NETS)),
)  # fmt: skip


def comparison(tests: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.lists(tests, min_size=1, max_size=3).flatmap(
        lambda ts: st.lists(st.sampled_from([" AND ", " OR "]), min_size=len(ts) - 1, max_size=len(ts) - 1).map(
            lambda ops: ts[0] + "".join(op + t for op, t in zip(ops, ts[1:], strict=True))
        )
    )


leaf = st.one_of(
    comparison(ip_test), comparison(file_test), comparison(domain_test), comparison(st.one_of(ip_test, domain_test))
)
leaf = leaf.map(lambda c: f"[{c}]")  # fmt: skip


def qualified(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        inner,
        st.builds(lambda e, s: f"({e}) WITHIN {s} SECONDS", inner, st.sampled_from([1, 30, 61.5, 3600])),
        st.builds(lambda e, k: f"({e}) REPEATS {k} TIMES", inner, st.sampled_from([1, 2, 3])),
        st.builds(
            lambda e, a, b: f"({e}) START t'{a}' STOP t'{b}'",
            inner,
            st.sampled_from(["2024-01-01T00:00:00Z", "2024-01-01T00:00:30Z"]),
            st.sampled_from(["2024-01-01T00:00:30Z", "2024-01-01T00:10:00Z"]),
        ),
    )


pattern_strategy = st.recursive(
    qualified(leaf),
    lambda inner: st.builds(
        lambda a, op, b: f"{a} {op} {b}" if op != "FOLLOWEDBY" else f"({a}) FOLLOWEDBY ({b})",
        qualified(inner),
        st.sampled_from(["AND", "OR", "FOLLOWEDBY"]),
        qualified(inner),
    ),
    max_leaves=3,
)


def _sco(kind: str, draw: Any, n: int) -> list[dict[str, Any]]:
    if kind == "ipv4-addr":
        return [{"type": "ipv4-addr", "id": f"ipv4-addr--{n}", "value": draw(st.sampled_from(IPS + ["10.0.0.0/24"]))}]
    if kind == "domain-name":
        ips = draw(st.lists(st.sampled_from(IPS), max_size=2, unique=True))
        addrs = [{"type": "ipv4-addr", "id": f"ipv4-addr--{n}-{i}", "value": v} for i, v in enumerate(ips)]
        dom = {"type": "domain-name", "id": f"domain-name--{n}", "value": draw(st.sampled_from(DOMAINS))}
        if addrs:
            dom["resolves_to_refs"] = [a["id"] for a in addrs]
        return [dom, *addrs]
    f: dict[str, Any] = {"type": "file", "id": f"file--{n}", "name": draw(st.sampled_from(NAMES))}
    if draw(st.booleans()):
        f["size"] = draw(st.sampled_from([10, 100, 5.5, 250]))
    if draw(st.booleans()):
        f["hashes"] = {"SHA-256": draw(st.sampled_from(["aa", "bb", "cc"]))}
    if draw(st.booleans()):
        f["x_tags"] = draw(st.lists(st.sampled_from(WORDS), max_size=3))
    if draw(st.booleans()):
        f["x_when"] = draw(st.sampled_from(STAMPS))
    if draw(st.booleans()):
        f["x_flag"] = draw(st.booleans())
    if draw(st.booleans()):
        f["x_blob_hex"] = draw(st.sampled_from(["00ff", "6162", "ff"]))
    out = [f]
    if draw(st.booleans()):
        d = {"type": "directory", "id": f"directory--{n}", "path": draw(st.sampled_from(["C:\\tmp", "/home"]))}
        f["parent_directory_ref"] = d["id"]
        out.append(d)
    return out


@st.composite
def units(draw: Any) -> list[dict[str, Any]]:
    out = []
    for i in range(draw(st.integers(1, 4))):
        objs: list[dict[str, Any]] = []
        for j, kind in enumerate(
            draw(st.lists(st.sampled_from(["ipv4-addr", "domain-name", "file"]), min_size=1, max_size=3))
        ):
            objs += _sco(kind, draw, i * 10 + j)
        start = T0 + dt.timedelta(seconds=draw(st.sampled_from([0, 10, 20, 40, 100, 4000])))
        end = start + dt.timedelta(seconds=draw(st.sampled_from([0, 5, 30, 90])))
        fmt = "%Y-%m-%dT%H:%M:%SZ"
        od = {
            "type": "observed-data", "id": f"observed-data--{i}", "spec_version": "2.1",
            "first_observed": start.strftime(fmt), "last_observed": end.strftime(fmt),
            "number_observed": draw(st.integers(1, 3)), "object_refs": [o["id"] for o in objs],
        }  # fmt: skip
        out.append({"type": "bundle", "id": f"bundle--{i}", "objects": [od, *objs]})
    return out


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pattern_strategy, units())
def test_random_patterns_agree_with_stix2_matcher(pattern, bundles):
    expected = bool(oasis_match(pattern, bundles, stix_version="2.1"))
    binding = matches_together(pattern, units_to_observations(bundles))
    assert (binding is not None) == expected, pattern
    # each unit on its own, as the benchmark protocol asks
    matcher = Matcher([("indicator--x", pattern)])
    for u in bundles:
        alone = bool(oasis_match(pattern, [u], stix_version="2.1"))
        (obs,) = units_to_observations([u])
        assert (matcher.match_unit(obs) == ["indicator--x"]) == alone, (pattern, u)


# Observation operators with leaves that usually hold: many true outcomes for AND, FOLLOWEDBY, REPEATS, WITHIN.
simple_leaf = st.sampled_from(
    ["[ipv4-addr:value = '10.0.0.1']", "[ipv4-addr:value = '10.0.0.2']", "[ipv4-addr:value ISSUBSET '10.0.0.0/24']"]
)
operator_pattern = st.recursive(
    qualified(simple_leaf),
    lambda inner: st.builds(
        lambda a, op, b: f"({a}) {op} ({b})",
        qualified(inner),
        st.sampled_from(["AND", "OR", "FOLLOWEDBY"]),
        qualified(inner),
    ),
    max_leaves=4,
)


@st.composite
def address_units(draw: Any) -> list[dict[str, Any]]:
    out = []
    for i in range(draw(st.integers(1, 5))):
        sco = {"type": "ipv4-addr", "id": f"ipv4-addr--{i}", "value": draw(st.sampled_from(["10.0.0.1", "10.0.0.2"]))}
        start = T0 + dt.timedelta(seconds=draw(st.sampled_from([0, 15, 29, 30, 31, 45, 600])))
        end = start + dt.timedelta(seconds=draw(st.sampled_from([0, 1, 20])))
        fmt = "%Y-%m-%dT%H:%M:%SZ"
        od = {
            "type": "observed-data", "id": f"observed-data--{i}", "spec_version": "2.1",
            "first_observed": start.strftime(fmt), "last_observed": end.strftime(fmt),
            "number_observed": draw(st.integers(1, 2)), "object_refs": [sco["id"]],
        }  # fmt: skip
        out.append({"type": "bundle", "id": f"bundle--{i}", "objects": [od, sco]})
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operator_pattern, address_units())
def test_observation_operators_agree_with_stix2_matcher(pattern, bundles):
    expected = bool(oasis_match(pattern, bundles, stix_version="2.1"))
    binding = matches_together(pattern, units_to_observations(bundles))
    assert (binding is not None) == expected, pattern
