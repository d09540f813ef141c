"""Where stix2-matcher departs from the STIX 2.1 specification, Accord follows the specification. Each case of
``evaluate.DEPARTURES`` is shown here: what the reference matcher does (run live) and what Accord does."""

from __future__ import annotations

import re
import warnings
from typing import Any

import pytest
from stix2matcher.matcher import MatcherException
from stix2matcher.matcher import match as oasis_match

from accord.matching.engine import Matcher, matches_together
from accord.matching.evaluate import DEPARTURES
from tests.matching.test_oracle import units_to_observations


def unit(*scos: dict[str, Any], n: int = 1) -> list[dict[str, Any]]:
    od = {
        "type": "observed-data",
        "id": "observed-data--1",
        "first_observed": "2024-01-01T00:00:00Z",
        "last_observed": "2024-01-01T00:00:00Z",
        "number_observed": n,
        "object_refs": [s["id"] for s in scos],
    }
    return [{"type": "bundle", "id": "bundle--1", "objects": [od, *scos]}]


def ours(pattern: str, bundles: list[dict[str, Any]]) -> bool:
    return matches_together(pattern, units_to_observations(bundles)) is not None


def oasis(pattern: str, bundles: list[dict[str, Any]]) -> bool | str:
    """stix2-matcher's answer, or the name of the exception it raised."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Python's re warns about "[[" (a possible nested set)
            return bool(oasis_match(pattern, bundles, stix_version="2.1"))
    except (MatcherException, TypeError, ValueError, UnicodeDecodeError, re.error) as exc:
        return type(exc).__name__


ART = {"type": "artifact", "id": "artifact--1", "x_note": "line one\nline two", "x_raw_hex": "ff00"}
IP6 = {"type": "ipv6-addr", "id": "ipv6-addr--1", "value": "2001:db8::1"}
IP4 = {"type": "ipv4-addr", "id": "ipv4-addr--1", "value": "10.0.0.1"}
FILE = {"type": "file", "id": "file--1", "name": "a.exe", "x_flag": True, "x_when": "yesterday", "x_n": 1}


def test_every_departure_is_listed():
    assert set(DEPARTURES) == {
        "matches-pcre",
        "like-newline",
        "not-exists",
        "exists-combined",
        "subset-ipv6",
        "bad-values-false",
        "in-bool-number",
    }


@pytest.mark.parametrize(
    ("pattern", "scos", "reference", "accord"),
    [
        # MATCHES is PCRE: POSIX classes and \h exist in PCRE, not in Python's re
        ("[file:name MATCHES '^[[:alpha:]]\\\\.exe$']", [FILE], False, True),
        ("[artifact:x_note MATCHES 'one\\\\Rline']", [ART], "error", True),  # \\R: any line break
        # LIKE: % and _ cross newlines
        ("[artifact:x_note LIKE 'line one%two']", [ART], False, True),
        ("[artifact:x_note LIKE 'line one_line two']", [ART], False, True),
        # NOT EXISTS: true for an object of the type lacking the property
        ("[NOT EXISTS file:x_missing]", [FILE], False, True),
        ("[NOT EXISTS file:name]", [FILE], True, False),
        # EXISTS combined with another comparison
        ("[EXISTS file:name AND file:x_n = 1]", [FILE], "TypeError", True),
        ("[file:name = 'a.exe' OR EXISTS file:x_flag]", [FILE], "TypeError", True),
        # IPv6 in ISSUBSET / ISSUPERSET
        ("[ipv6-addr:value ISSUBSET '2001:db8::/32']", [IP6], "MatcherException", True),
        ("[ipv6-addr:value ISSUBSET '2001:db9::/32']", [IP6], "MatcherException", False),
        # values that cannot be compared: the comparison is false, the match goes on
        ("[file:x_when > t'2020-01-01T00:00:00Z' OR file:name = 'a.exe']", [FILE], "MatcherException", True),
        ("[ipv4-addr:value ISSUBSET 'not-a-network']", [IP4], "MatcherException", False),
        # IN compares like =: true is not 1
        ("[file:x_flag IN (1, 2)]", [FILE], True, False),
        ("[file:x_n IN (1, 2)]", [FILE], True, True),
    ],
)
def test_departure(pattern, scos, reference, accord):
    bundles = unit(*scos)
    assert oasis(pattern, bundles) == reference
    assert ours(pattern, bundles) is accord
    # the compiled index agrees with the one-off evaluation
    (obs,) = units_to_observations(bundles)
    assert (Matcher([("i", pattern)]).match_unit(obs) == ["i"]) is accord


def test_binary_like_on_undecodable_bytes_is_false_not_an_error():
    bundles = unit(ART)
    assert oasis("[artifact:x_raw_hex LIKE 'a%']", bundles) == "UnicodeDecodeError"
    assert ours("[artifact:x_raw_hex LIKE 'a%']", bundles) is False
    assert ours("[artifact:x_raw_hex = h'ff00']", bundles) is True
