"""STIX 2.1 ingest validation: verdicts agree with the OASIS stix2-validator.

The corpus lives in tests/sharing/corpus/{valid,invalid}/*.json (JSON arrays; the invalid
files hold {"why": ..., "object": ...} entries grouped by the rule they break).
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from stix2validator import ValidationOptions, validate_instance

from accord.sharing.validation import KNOWN_DEPARTURES, validate, validate_many

CORPUS = Path(__file__).parent / "corpus"


def _load(sub: str) -> list[tuple[str, Any, str]]:
    out = []
    for f in sorted((CORPUS / sub).glob("*.json")):
        for i, item in enumerate(json.loads(f.read_text(encoding="utf-8"))):
            if sub == "invalid":
                out.append((f"{f.stem}[{i}] {item['why']}", item["object"], f.stem))
            else:
                out.append((f"{f.stem}[{i}]", item, f.stem))
    return out


VALID = _load("valid")
INVALID = _load("invalid")
ALL = VALID + INVALID


def reference_is_valid(obj: Any) -> bool:
    """stix2-validator's default-mode verdict; where it raises instead of answering,
    the object cannot be accepted, so that counts as 'invalid'."""
    try:
        with _quiet_reference():
            return validate_instance(copy.deepcopy(obj), ValidationOptions(version="2.1")).is_valid
    except Exception:
        return False


@contextlib.contextmanager
def _quiet_reference() -> Iterator[None]:
    # When one of its checks raises, validate_instance's `except schema_exceptions.RefResolutionError`
    # touches a deprecated jsonschema name; the resulting DeprecationWarning (an error under this
    # repo's filterwarnings) would mask the original exception.
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="jsonschema.exceptions.RefResolutionError", category=DeprecationWarning
        )
        yield


# ---------------------------------------------------------------- corpus


@pytest.mark.parametrize("name,obj,group", ALL, ids=[n for n, _, _ in ALL])
def test_corpus_agrees_with_stix2_validator(name: str, obj: Any, group: str) -> None:
    mine = validate(obj)
    assert bool(mine) == (not reference_is_valid(obj)), mine


@pytest.mark.parametrize("name,obj,group", VALID, ids=[n for n, _, _ in VALID])
def test_valid_corpus_is_valid(name: str, obj: Any, group: str) -> None:
    assert validate(obj) == []


@pytest.mark.parametrize("name,obj,group", INVALID, ids=[n for n, _, _ in INVALID])
def test_invalid_corpus_is_refused_with_reasons(name: str, obj: Any, group: str) -> None:
    reasons = validate(obj)
    assert reasons, "expected at least one reason"
    assert all(isinstance(r, str) and r.strip() for r in reasons)


SUPPORTED_KINDS = [
    # SDOs
    "attack-pattern",
    "campaign",
    "course-of-action",
    "grouping",
    "identity",
    "incident",
    "indicator",
    "infrastructure",
    "intrusion-set",
    "location",
    "malware",
    "malware-analysis",
    "note",
    "observed-data",
    "opinion",
    "report",
    "threat-actor",
    "tool",
    "vulnerability",
    # SROs
    "relationship",
    "sighting",
    # meta objects
    "marking-definition",
    "language-content",
    "extension-definition",
    # SCOs
    "artifact",
    "autonomous-system",
    "directory",
    "domain-name",
    "email-addr",
    "email-message",
    "file",
    "ipv4-addr",
    "ipv6-addr",
    "mac-addr",
    "mutex",
    "network-traffic",
    "process",
    "software",
    "url",
    "user-account",
    "windows-registry-key",
    "x509-certificate",
]


def test_corpus_covers_every_supported_kind() -> None:
    counts: dict[str, int] = {}
    for _, obj, _ in VALID:
        counts[obj["type"]] = counts.get(obj["type"], 0) + 1
    missing = {k: counts.get(k, 0) for k in SUPPORTED_KINDS if counts.get(k, 0) < 2}
    assert not missing, missing
    invalid_types = {obj.get("type") for _, obj, _ in INVALID}
    assert set(SUPPORTED_KINDS) - {"marking-definition"} <= invalid_types | {"incident"}
    assert len(INVALID) >= 80
    # TLP 1.0 (4 colours) and TLP 2.0 (5 levels) marking definitions plus statements
    md = [o for _, o, g in VALID if o["type"] == "marking-definition" and g.startswith("marking-definition")]
    assert len(md) >= 11


def test_reasons_start_with_the_property_path() -> None:
    obj = copy.deepcopy(next(o for _, o, g in VALID if g == "campaign"))
    obj["created"] = "2023-02-30T00:00:00.000Z"
    obj["modified"] = "yesterday"
    reasons = validate(obj)
    assert any(r.startswith("created:") for r in reasons), reasons
    assert any(r.startswith("modified:") for r in reasons), reasons
    del obj["name"]
    assert any(r.startswith("name:") for r in validate(obj))


def test_non_objects_and_objects_without_id_or_type_are_refused() -> None:
    for bad in (None, 1, "indicator", [], [{"type": "indicator"}]):
        assert validate(bad)
    assert validate({"type": "malware"}) == ["id: required property is missing"]
    assert validate({"id": "malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}) == ["type: required property is missing"]


def test_validate_many() -> None:
    objs = [VALID[0][1], INVALID[0][1], VALID[1][1]]
    res = validate_many(objs)
    assert [bool(r) for r in res] == [False, True, False]


# ---------------------------------------------------------------- departures


def test_departure_trailing_newline_is_refused() -> None:
    assert "trailing-newline" in KNOWN_DEPARTURES
    obj = copy.deepcopy(next(o for _, o, g in VALID if g == "malware"))
    obj["id"] += "\n"
    # stix2-validator (Python re: '$' matches before a final newline) accepts it ...
    assert reference_is_valid(obj) is True
    # ... the STIX identifier grammar does not, and neither do we.
    assert validate(obj)


def test_departure_reference_crash_is_a_refusal_with_reason() -> None:
    assert "crash-is-refusal" in KNOWN_DEPARTURES
    obj = copy.deepcopy(next(o for _, o, g in VALID if g == "observed-data"))
    del obj["object_refs"]
    obj["objects"] = {"0": {"type": "ipv4-addr", "value": "198.51.100.1"}}  # embedded SCO without id
    with _quiet_reference(), pytest.raises(KeyError):  # its checks read each embedded SCO's 'id'
        validate_instance(copy.deepcopy(obj), ValidationOptions(version="2.1"))
    reasons = validate(obj)
    assert reasons and all(isinstance(r, str) for r in reasons)


# ---------------------------------------------------------------- property tests

_SEEDS = [obj for _, obj, g in VALID if g not in ("bundle", "lenient-edge-cases")]
_TS_KEYS = (
    "created",
    "modified",
    "valid_from",
    "valid_until",
    "first_seen",
    "last_seen",
    "published",
    "first_observed",
    "last_observed",
    "start_time",
    "stop_time",
    "object_modified",
    "ctime",
    "mtime",
    "start",
    "end",
    "date",
    "account_created",
    "validity_not_before",
    "validity_not_after",
    "analysis_started",
    "analysis_ended",
)

_ts_corruptions = st.one_of(
    st.sampled_from(
        [
            "2023-02-30T00:00:00.000Z",
            "2023-02-29T00:00:00Z",
            "2024-02-29T00:00:00.000Z",
            "2023-04-31T10:00:00Z",
            "2023-03-01T10:00:00Z",
            "2023-03-01T10:00:00.1Z",
            "2023-03-01T10:00:00.1234567Z",
            "2023-03-01",
            "2023-03-01T10:00:00.000+00:00",
            "2016-12-31T23:59:60.000Z",
            "2023-03-01t10:00:00.000z",
            "1999-12-31T23:59:59.999Z",
            "2099-01-01T00:00:00.000Z",
            "",
            20230301,
            None,
        ]
    ),
    st.builds(
        "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}{}Z".format,
        st.integers(0, 9999),
        st.integers(0, 13),
        st.integers(0, 32),
        st.integers(0, 24),
        st.integers(0, 60),
        st.integers(0, 61),
        st.sampled_from(["", ".0", ".00", ".000", ".123456", ".1234567", ".999"]),
    ),
)
_json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 300),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12).filter(lambda s: not s.endswith("\n")),
)
_json_values = st.recursive(
    _json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text("abcdefgh_", min_size=1, max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
# ACCORD_STIX_EXAMPLES=2000 for a longer agreement run
_PROP_SETTINGS = settings(
    max_examples=int(os.environ.get("ACCORD_STIX_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
_PROP_NAME_CHARS = "abcdefghijklmnopqrstuvwxyz_-0123456789X"


def _agree(obj: Any) -> None:
    mine = validate(obj)
    assert all(isinstance(r, str) and r for r in mine)
    assert bool(mine) == (not reference_is_valid(obj)), (obj, mine)


@_PROP_SETTINGS
@given(st.sampled_from(_SEEDS), st.data())
def test_deleting_a_property_agrees(seed: dict, data: st.DataObject) -> None:
    obj = copy.deepcopy(seed)
    key = data.draw(st.sampled_from(sorted(obj)))
    assume(key not in ("id", "type"))  # stix2-validator raises on those; covered above
    del obj[key]
    _agree(obj)


@_PROP_SETTINGS
@given(st.sampled_from(_SEEDS), st.data(), _ts_corruptions)
def test_corrupting_a_timestamp_agrees(seed: dict, data: st.DataObject, value: Any) -> None:
    obj = copy.deepcopy(seed)
    keys = [k for k in _TS_KEYS if k in obj]
    assume(keys)
    obj[data.draw(st.sampled_from(keys))] = value
    _agree(obj)


@_PROP_SETTINGS
@given(st.sampled_from(_SEEDS), st.data(), _json_values)
def test_replacing_a_property_value_agrees(seed: dict, data: st.DataObject, value: Any) -> None:
    obj = copy.deepcopy(seed)
    key = data.draw(st.sampled_from(sorted(k for k in obj if k not in ("id", "type"))))
    obj[key] = value
    _agree(obj)


@_PROP_SETTINGS
@given(
    st.sampled_from(_SEEDS),
    st.sampled_from(["malware", "indicator", "x-custom", "Bad", "ab", "identity"]),
    st.one_of(
        st.uuids(version=4).map(str),
        st.uuids(version=1).map(str),
        st.uuids(version=5).map(str),
        st.sampled_from(["1234", "8e2e2d2b-17d4-4cbf-c38f-98ee46b3cd3f", "8E2E2D2B-17D4-4CBF-938F-98EE46B3CD3F"]),
    ),
)
def test_rewriting_the_id_agrees(seed: dict, prefix: str, suffix: str) -> None:
    obj = copy.deepcopy(seed)
    obj["id"] = f"{prefix}--{suffix}"
    _agree(obj)


@_PROP_SETTINGS
@given(st.sampled_from(_SEEDS), st.text(_PROP_NAME_CHARS, min_size=1, max_size=12), _json_values)
def test_adding_a_custom_property_agrees(seed: dict, name: str, value: Any) -> None:
    obj = copy.deepcopy(seed)
    assume(name not in obj)
    obj[name] = value
    _agree(obj)


@_PROP_SETTINGS
@given(
    st.lists(
        st.sampled_from(
            [
                "[",
                "]",
                "file:name",
                "ipv4-addr:value",
                " = ",
                " != ",
                " LIKE ",
                " IN ",
                "'x'",
                "('a', 'b')",
                " AND ",
                " OR ",
                " FOLLOWEDBY ",
                " WITHIN 5 SECONDS",
                " REPEATS 2 TIMES",
                "(",
                ")",
                "file:hashes.MD5",
                "'" + "a" * 32 + "'",
                "x-foo:bar",
                "File:Name",
                "t'2020-01-01T00:00:00Z'",
                " START ",
                " STOP ",
            ]
        ),
        min_size=1,
        max_size=12,
    )
)
def test_random_patterns_agree(parts: list[str]) -> None:
    obj = copy.deepcopy(next(o for _, o, g in VALID if g == "indicator"))
    obj["pattern"] = "".join(parts)
    _agree(obj)


# ---------------------------------------------------------------- speed (informational)


def test_speed_report(capsys: pytest.CaptureFixture[str]) -> None:
    objs = [o for _, o, _ in ALL]
    for o in objs:
        validate(o)  # warm caches (compiled schemas, patterns)
    rounds = 20
    t0 = time.perf_counter()
    for _ in range(rounds):
        for o in objs:
            validate(o)
    mine = (time.perf_counter() - t0) / (rounds * len(objs)) * 1e6

    typical = {
        g: o
        for _, o, g in VALID
        if g in ("indicator", "malware", "report", "relationship", "identity", "marking-definition-tlp2")
    }
    per_kind = {}
    for g, o in typical.items():
        t0 = time.perf_counter()
        for _ in range(2000):
            validate(o)
        per_kind[g] = (time.perf_counter() - t0) / 2000 * 1e6

    sample = objs[:: max(1, len(objs) // 60)]
    t0 = time.perf_counter()
    for o in sample:
        reference_is_valid(o)
    ref = (time.perf_counter() - t0) / len(sample) * 1e6
    with capsys.disabled():
        print(
            f"\n[stix validation] accord: {mine:.1f} us/object over {len(objs)} corpus objects; "
            f"stix2-validator: {ref:.0f} us/object; typical: "
            + ", ".join(f"{k} {v:.1f} us" for k, v in per_kind.items())
        )
