"""Observations from STIX bundles, bulk observable files and Zeek logs (fixtures in data/inputs/)."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import stix2
from stix2validator import ValidationOptions, validate_instance

from accord.core.errors import Invalid, NotFound
from accord.matching.inputs import (
    MAX_PROBLEMS,
    ImportStats,
    iter_observations,
    observable_sco,
    observations_from_bundle,
    observations_from_observables,
    observations_from_zeek,
    observations_to_bundles,
    parse_stix_timestamp,
    sco_id,
)
from accord.matching.types import Observation
from accord.sharing.validation import validate as accord_validate

DATA = Path(__file__).parent / "data" / "inputs"
UTC = dt.UTC


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text())


def problems(exc: pytest.ExceptionInfo[Invalid]) -> set[tuple[str, int | None]]:
    return {(p.field, p.line) for p in exc.value.problems}


def reasons(exc: pytest.ExceptionInfo[Invalid]) -> dict[str, str]:
    return {p.field: p.reason for p in exc.value.problems}


def scos(obs: Observation, sco_type: str) -> list[dict[str, Any]]:
    return [s for s in obs.objects.values() if s["type"] == sco_type]


def the(obs: Observation, sco_type: str) -> dict[str, Any]:
    (sco,) = scos(obs, sco_type)
    return sco


def values(obs: Observation, sco_type: str) -> list[str]:
    return [s["value"] for s in scos(obs, sco_type)]


# ------------------------------------------------------------------------------------------------ bundles


def test_bundle_observed_data_with_the_scos_it_names():
    first, second = observations_from_bundle(load("bundle.json"))
    assert first.id == "observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf"
    assert first.number_observed == 7
    assert first.first_observed == dt.datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
    assert first.last_observed == dt.datetime(2024, 3, 1, 11, 30, 0, 123456, tzinfo=UTC)  # nanoseconds cut
    # the absent ipv4-addr ref is left out, so is the relationship (not an SCO)
    assert set(first.objects) == {
        "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd",
        "domain-name--3c10e93f-798e-5a26-a0c1-08156efab7f5",
    }
    assert first.sdo["created_by_ref"].startswith("identity--")
    assert second.objects["file--5a27d487-c542-5f97-a131-a8866b477b46"]["name"] == "empty.bin"
    assert second.first_observed.microsecond == 500000


def test_list_of_bundles_resolves_refs_across_bundles():
    doc = load("bundle.json")
    observed = [o for o in doc["objects"] if o["type"] == "observed-data"]
    others = [o for o in doc["objects"] if o["type"] != "observed-data"]
    bundles = [
        {"type": "bundle", "id": "bundle--0b0c1a7e-63a0-4a2e-9b5f-3a8f1e2d4c01", "objects": observed},
        {"type": "bundle", "id": "bundle--0b0c1a7e-63a0-4a2e-9b5f-3a8f1e2d4c02", "objects": others},
    ]
    by_bundle = {o.id: set(o.objects) for o in observations_from_bundle(bundles)}
    assert by_bundle == {o.id: set(o.objects) for o in observations_from_bundle(doc)}
    # the same bundle twice: each observed-data once
    assert len(observations_from_bundle([doc, copy.deepcopy(doc)])) == 2


def test_bundle_problems_are_all_reported_with_their_paths():
    doc = load("bundle.json")
    od = doc["objects"][1]
    bad = [
        {**od, "number_observed": 0},
        {**od, "number_observed": True},
        {**od, "number_observed": "3"},
        {**od, "first_observed": "2024-03-01t10:00:00z"},
        {**od, "last_observed": "2024-02-30T10:00:00Z"},
        {**od, "first_observed": "2024-03-02T00:00:00Z"},  # after last_observed
        {**od, "object_refs": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd"},
        {**od, "object_refs": [1, 2]},
        {k: v for k, v in od.items() if k != "first_observed"},
        "not an object",
    ]
    deprecated = {k: v for k, v in od.items() if k != "object_refs"} | {
        "objects": {"0": {"type": "ipv4-addr", "value": "198.51.100.3"}}
    }
    doc["objects"] += [*bad, deprecated]
    with pytest.raises(Invalid) as exc:
        observations_from_bundle(doc)
    assert {p.field for p in exc.value.problems} == {
        "objects[8].number_observed",
        "objects[9].number_observed",
        "objects[10].number_observed",
        "objects[11].first_observed",
        "objects[12].last_observed",
        "objects[13].last_observed",
        "objects[14].object_refs",
        "objects[15].object_refs",
        "objects[16].first_observed",
        "objects[17]",
        "objects[18].objects",
    }
    why = reasons(exc)
    assert "deprecated" in why["objects[18].objects"] and "object_refs" in why["objects[18].objects"]
    assert why["objects[13].last_observed"] == "is before first_observed"
    assert why["objects[16].first_observed"] == "missing"
    assert "STIX timestamp" in why["objects[11].first_observed"]


def test_not_a_bundle():
    with pytest.raises(Invalid) as exc:
        observations_from_bundle([{"type": "indicator"}, {"type": "bundle", "objects": {}}])
    assert {p.field for p in exc.value.problems} == {"[0].type", "[1].objects"}


def test_stix_timestamps_are_strict():
    assert parse_stix_timestamp("2024-01-02T03:04:05Z") == dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert parse_stix_timestamp("2024-01-02T03:04:05.1234567Z").microsecond == 123456
    for bad in ["2024-01-02 03:04:05Z", "2024-01-02T03:04:05", "2024-01-02T03:04:05+00:00", "2024-13-02T03:04:05Z"]:
        with pytest.raises(ValueError):
            parse_stix_timestamp(bad)


# ------------------------------------------------------------------------------------- observable files


def test_csv_observables_become_one_sco_each():
    obs = observations_from_observables(DATA / "observables.csv", "csv")
    kinds = [next(iter(o.objects.values()))["type"] for o in obs]
    assert (
        kinds
        == ["ipv4-addr", "ipv6-addr", "ipv4-addr", "domain-name", "domain-name", "url", "email-addr"] + ["file"] * 4
    )
    ipv4, ipv6, _, domain, _, url, _, md5, sha1, sha256, sha512 = obs
    assert (ipv4.number_observed, ipv4.first_observed, ipv4.last_observed) == (
        3,
        dt.datetime(2024, 3, 1, 10, tzinfo=UTC),
        dt.datetime(2024, 3, 1, 11, tzinfo=UTC),
    )
    assert values(ipv6, "ipv6-addr") == ["2001:db8::1"]  # normalised
    assert ipv6.first_observed == ipv6.last_observed == dt.datetime(2024, 3, 1, 8, tzinfo=UTC)  # +02:00 -> UTC
    assert values(domain, "domain-name") == ["evil.example.net"]
    assert url.first_observed == dt.datetime(2024, 3, 1, tzinfo=UTC)  # an ISO 8601 date
    assert the(md5, "file")["hashes"] == {"MD5": "d41d8cd98f00b204e9800998ecf8427e"}
    assert set(the(sha1, "file")["hashes"]) == {"SHA-1"}
    assert set(the(sha256, "file")["hashes"]) == {"SHA-256"}
    assert the(sha512, "file")["hashes"].keys() == {"SHA-512"} and sha512.number_observed == 2


def test_missing_times_default_to_now_for_both():
    before = dt.datetime.now(UTC)
    (obs,) = observations_from_observables("type,value\nip,203.0.113.9\n", "csv")
    assert before <= obs.first_observed == obs.last_observed <= dt.datetime.now(UTC)
    assert obs.number_observed == 1


def test_jsonl_observables_match_csv():
    from_jsonl = observations_from_observables(DATA / "observables.jsonl", "jsonl")
    assert [list(o.objects) for o in from_jsonl] == [
        [observable_sco("ipv4", "198.51.100.7")["id"]],
        [observable_sco("ipv6", "2001:db8::1")["id"]],
        [observable_sco("domain", "evil.example.net")["id"]],
        [observable_sco("url", "https://c2.example.org/gate.php?id=1")["id"]],
        [observable_sco("email", "phisher@example.com")["id"]],
        [observable_sco("sha256", "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855")["id"]],
    ]
    assert from_jsonl[4].number_observed == 2  # "count": "2"


BAD_CSV = """type,value,first_seen,last_seen,count
ipv4,2001:db8::1,,,
ipv6,10.0.0.1,,,
ip,10.0.0.256,,,
domain,-bad-.example.com,,,
domain,1.2.3.4,,,
url,c2.example.org/path,,,
url,http://,,,
email,a@b@example.com,,,
email,no-at.example.com,,,
md5,d41d8cd98f00b204e9800998ecf8427,,,
sha1,zz39a3ee5e6b4b0d3255bfef95601890afd80709,,,
ftp,ftp.example.com,,,
ip,,,,
ip,198.51.100.1,yesterday,,
ip,198.51.100.1,2024-03-02T00:00:00Z,2024-03-01T00:00:00Z,
ip,198.51.100.1,,,0
ip,198.51.100.1,,,many
ip,198.51.100.1,,,
"""


def test_every_bad_row_is_reported_with_its_line():
    with pytest.raises(Invalid) as exc:
        observations_from_observables(BAD_CSV, "csv")
    assert problems(exc) == {
        ("value", 2),
        ("value", 3),
        ("value", 4),
        ("value", 5),
        ("value", 6),
        ("value", 7),
        ("value", 8),
        ("value", 9),
        ("value", 10),
        ("value", 11),
        ("value", 12),
        ("type", 13),
        ("value", 14),
        ("first_seen", 15),
        ("last_seen", 16),
        ("count", 17),
        ("count", 18),
    }
    assert "18 problems" not in exc.value.detail and "17 problems" in exc.value.detail
    by_line = {p.line: p.reason for p in exc.value.problems}
    assert "IPv4" in by_line[2] and "IPv6" in by_line[3] and "32 hexadecimal" in by_line[11]
    assert "an IP address, not a domain name" in by_line[6]


def test_the_problem_list_is_capped():
    text = "type,value\n" + "ip,nope\n" * 120
    with pytest.raises(Invalid) as exc:
        observations_from_observables(text, "csv")
    listed = exc.value.problems
    assert len(listed) == MAX_PROBLEMS + 1
    assert listed[-1].reason == f"{120 - MAX_PROBLEMS} more problems not listed"
    assert "120 problems" in exc.value.detail


def test_jsonl_bad_lines():
    text = '{"type": "ip", "value": "192.0.2.1"}\nnot json\n[1, 2]\n\n{"type": "md5", "value": 12}\n'
    with pytest.raises(Invalid) as exc:
        observations_from_observables(text, "jsonl")
    assert problems(exc) == {("line", 2), ("line", 3), ("value", 5)}


def test_csv_header_must_name_type_and_value():
    with pytest.raises(Invalid) as exc:
        observations_from_observables("kind,indicator\nip,192.0.2.1\n", "csv")
    assert problems(exc) == {("header", 1)}


def test_csv_quoted_values_and_line_numbers():
    text = 'type,value\r\nurl,"https://example.org/a,b"\r\n\r\nip,999.1.1.1\r\n'
    with pytest.raises(Invalid) as exc:
        observations_from_observables(text, "csv")
    assert problems(exc) == {("value", 4)}
    (obs,) = observations_from_observables(text.replace("999.1.1.1", "192.0.2.1").split("\r\n")[:2], "csv")
    assert values(obs, "url") == ["https://example.org/a,b"]


# ----------------------------------------------------------------------------------------------- Zeek


def test_zeek_conn_tsv():
    stats = ImportStats()
    obs = observations_from_zeek(DATA / "conn.log", stats=stats)
    assert (len(obs), stats.skipped, stats.observations) == (5, 1, 5)  # the record with ts unset is skipped
    tls, dns, v6, icmp, http = obs
    traffic = the(tls, "network-traffic")
    assert traffic["protocols"] == ["tcp", "ssl"]
    assert (traffic["src_port"], traffic["dst_port"]) == (49823, 443)
    assert tls.objects[traffic["src_ref"]]["value"] == "10.0.0.5"
    assert tls.objects[traffic["dst_ref"]]["value"] == "93.184.216.34"
    assert tls.first_observed == dt.datetime(2024, 3, 1, 10, 0, 0, 123456, tzinfo=UTC)
    assert tls.last_observed == dt.datetime(2024, 3, 1, 10, 0, 12, 469134, tzinfo=UTC)  # ts + duration
    assert traffic["start"] == "2024-03-01T10:00:00.123456Z" and traffic["end"] == "2024-03-01T10:00:12.469134Z"
    assert the(dns, "network-traffic")["protocols"] == ["udp", "dns"]
    # IPv6, no service, duration unset: no end, observed at ts
    assert values(v6, "ipv6-addr") == ["2001:db8:10::5", "2606:4700:4700::1111"]
    assert "end" not in the(v6, "network-traffic") and v6.first_observed == v6.last_observed
    assert the(v6, "network-traffic")["protocols"] == ["tcp"]
    assert "src_port" not in the(icmp, "network-traffic")  # ICMP type / code are not ports
    assert the(http, "network-traffic")["protocols"] == ["tcp", "http"]  # '-ssl': a failed analyzer
    assert all(o.number_observed == 1 for o in obs)


def test_zeek_dns_tsv():
    stats = ImportStats()
    a, aaaa, txt, nxdomain, ptr = observations_from_zeek(DATA / "dns.log", stats=stats)
    assert stats.skipped == 1  # the record with no query
    query = next(s for s in scos(a, "domain-name") if s["value"] == "www.example.org")
    resolved = [a.objects[ref]["value"] for ref in query["resolves_to_refs"]]
    assert resolved == ["www.example.org-v4.edgesuite.net", "a1234.dscb.akamai.net", "93.184.216.34", "93.184.216.35"]
    traffic = the(a, "network-traffic")
    assert traffic["protocols"] == ["udp", "dns"] and traffic["dst_port"] == 53 and traffic["src_port"] == 53122
    assert a.objects[traffic["src_ref"]]["value"] == "10.0.0.5"
    assert a.first_observed == a.last_observed == dt.datetime(2024, 3, 1, 10, 1, 40, 100000, tzinfo=UTC)
    aaaa_query = next(s for s in scos(aaaa, "domain-name") if s["value"] == "ipv6.example.net")
    assert [aaaa.objects[r]["type"] for r in aaaa_query["resolves_to_refs"]] == ["ipv6-addr"]
    assert values(txt, "domain-name") == ["example.com"] and "resolves_to_refs" not in the(txt, "domain-name")
    assert "resolves_to_refs" not in the(nxdomain, "domain-name")
    assert values(ptr, "domain-name") == ["34.216.184.93.in-addr.arpa"]  # a PTR answer is no resolution


def comparable(obs: list[Observation]) -> list[tuple[Any, ...]]:
    """What an observation says, without the id of the line it came from."""
    return [(o.first_observed, o.last_observed, o.number_observed, sorted(o.objects)) for o in obs]


def test_zeek_json_reads_like_tsv():
    tsv = observations_from_zeek(DATA / "conn.log")
    stats = ImportStats()
    from_json = observations_from_zeek(DATA / "conn.json", stats=stats)
    assert stats.skipped == 1  # no proto
    assert comparable(from_json[:2]) == comparable([tsv[0], tsv[2]])
    iso = from_json[2]  # a JSON log written with ISO 8601 timestamps
    assert iso.first_observed == dt.datetime(2024, 3, 1, 10, 0, 5, tzinfo=UTC)
    assert iso.last_observed == dt.datetime(2024, 3, 1, 10, 0, 5, 500000, tzinfo=UTC)

    dns_tsv = observations_from_zeek(DATA / "dns.log")
    stats = ImportStats()
    dns_json = observations_from_zeek(DATA / "dns.json", stats=stats)
    assert stats.skipped == 1
    assert comparable(dns_json[:1]) == comparable(dns_tsv[:1])
    assert the(dns_json[1], "network-traffic")["dst_port"] == 53 and "src_port" not in the(
        dns_json[1], "network-traffic"
    )  # ports not logged: DNS's port


def test_zeek_nested_id_json():
    line = {
        "ts": 1709287200.5,
        "id": {"orig_h": "192.0.2.1", "orig_p": 5000, "resp_h": "198.51.100.1", "resp_p": 22},
        "proto": "tcp",
        "conn_state": "S0",
    }
    (obs,) = observations_from_zeek([json.dumps(line)])
    assert values(obs, "ipv4-addr") == ["192.0.2.1", "198.51.100.1"]


def zeek_lines(path: str, *records: list[str]) -> list[str]:
    text = (DATA / path).read_text().splitlines()
    header = [line for line in text if line.startswith("#") and not line.startswith("#close")]
    return header + ["\t".join(r) for r in records]


def test_zeek_malformed_lines_are_problems_with_line_numbers():
    good = (DATA / "conn.log").read_text().splitlines()[8].split("\t")
    lines = zeek_lines(
        "conn.log",
        good,
        good[:5],  # line 10: too few fields
        ["yesterday", *good[1:]],  # line 11
        [*good[:2], "10.0.0.300", *good[3:]],  # line 12
        [*good[:3], "70000", *good[4:]],  # line 13
        [*good[:8], "-1.0", *good[9:]],  # line 14: negative duration
    )
    lines += ['{"ts": 1, "id.orig_h": "192.0.2.1", "id.resp_h": "192.0.2.2", "proto": "tcp", "conn_state": "S0"', "{}"]
    with pytest.raises(Invalid) as exc:
        observations_from_zeek(lines)
    assert problems(exc) == {
        ("line", 10),
        ("ts", 11),
        ("id.orig_h", 12),
        ("id.orig_p", 13),
        ("duration", 14),
        ("line", 15),
        ("line", 16),
    }


def test_zeek_unsupported_log_and_records_before_fields():
    http = "#separator \\x09\n#path\thttp\n#fields\tts\tuid\n1.0\tCx\n"
    with pytest.raises(Invalid) as exc:
        observations_from_zeek(http)
    assert problems(exc) == {("#path", 2)}
    with pytest.raises(Invalid) as exc:
        observations_from_zeek("1709287200.0\tC1\t10.0.0.1\n")
    assert problems(exc) == {("line", 1)}


def test_zeek_without_path_header_and_custom_separators():
    text = "\n".join(
        [
            "#separator \\x7c",
            "#set_separator|;",
            "#empty_field|(empty)",
            "#unset_field|-",
            "#fields|ts|id.orig_h|id.orig_p|id.resp_h|id.resp_p|proto|query|qtype_name|answers",
            "#types|time|addr|port|addr|port|enum|string|string|vector[string]",
            "1709287300.0|10.0.0.5|5353|10.0.0.1|53|udp|Mail.Example.COM.|A|mx.example.com;192.0.2.25",
        ]
    )
    (obs,) = observations_from_zeek(text)
    query = next(s for s in scos(obs, "domain-name") if s["value"] == "mail.example.com")
    assert [obs.objects[r]["value"] for r in query["resolves_to_refs"]] == ["mx.example.com", "192.0.2.25"]


# ------------------------------------------------------------------------------------ ids and bundles


def test_ids_are_deterministic():
    for path in sorted(DATA.iterdir()):
        first = list(iter_observations(path))
        again = list(iter_observations(path))
        assert [o.id for o in first] == [o.id for o in again]
        assert [list(o.objects) for o in first] == [list(o.objects) for o in again]
    # the same line at another line number is another observation; its SCOs are the same objects
    a = observations_from_observables("type,value\nip,192.0.2.1\n", "csv")
    b = observations_from_observables("type,value\nip,192.0.2.2\nip,192.0.2.1\n", "csv")
    assert a[0].id != b[1].id and list(a[0].objects) == list(b[1].objects)


STIX2_CLASSES = {
    "ipv4-addr": stix2.IPv4Address,
    "ipv6-addr": stix2.IPv6Address,
    "domain-name": stix2.DomainName,
    "url": stix2.URL,
    "email-addr": stix2.EmailAddress,
    "file": stix2.File,
    "network-traffic": stix2.NetworkTraffic,
}


@pytest.mark.parametrize("name", ["conn.log", "dns.log", "conn.json", "observables.csv"])
def test_sco_ids_are_those_of_the_stix2_library(name: str):
    for obs in iter_observations(DATA / name):
        for sco in obs.objects.values():
            props = {k: v for k, v in sco.items() if k not in ("type", "id", "spec_version")}
            assert STIX2_CLASSES[sco["type"]](**props).id == sco["id"] == sco_id(sco)


def test_file_id_uses_one_hash_by_precedence():
    both = {"type": "file", "hashes": {"SHA-256": "e3b0" * 16, "MD5": "d41d8cd98f00b204e9800998ecf8427e"}}
    assert sco_id(both) == stix2.File(hashes=both["hashes"]).id == observable_sco("md5", both["hashes"]["MD5"])["id"]


CONVERTED = ["conn.log", "dns.log", "conn.json", "dns.json", "observables.csv", "observables.jsonl"]


@pytest.mark.parametrize("name", CONVERTED)
def test_converted_bundles_are_valid_stix(name: str):
    bundles = observations_to_bundles(iter_observations(DATA / name))
    assert bundles
    for bundle in bundles:
        result = validate_instance(bundle, ValidationOptions(version="2.1"))
        assert result.is_valid, [str(e) for e in result.errors]
        for obj in bundle["objects"]:
            assert accord_validate(obj) == [], obj
        sdo = bundle["objects"][0]
        assert sdo["type"] == "observed-data" and sdo["spec_version"] == "2.1"
        assert sdo["object_refs"] == [o["id"] for o in bundle["objects"][1:]]
        assert {"created", "modified", "first_observed", "last_observed", "number_observed"} <= sdo.keys()


def test_bundles_round_trip():
    original = observations_from_zeek(DATA / "dns.log") + observations_from_bundle(load("bundle.json"))
    back = observations_from_bundle(observations_to_bundles(original))
    assert back == original  # ids, times, counts and objects
    assert [o.sdo for o in back] == [o.sdo for o in original]
    bare = Observation(original[0].id, original[0].first_observed, original[0].last_observed, 1, original[0].objects)
    (rebuilt,) = observations_from_bundle(observations_to_bundles([bare]))
    assert rebuilt == bare


def test_bundle_read_does_not_change_the_document():
    doc = load("bundle.json")
    kept = copy.deepcopy(doc)
    observations_from_bundle(doc)
    assert doc == kept


# ----------------------------------------------------------------------------------- streaming, sources


def test_iter_observations_is_lazy_and_reports_progress():
    pulled = []
    template = (DATA / "conn.log").read_text().splitlines()

    def lines() -> Iterator[str]:
        for n, line in enumerate(template, 1):
            pulled.append(n)
            yield line

    seen: list[int] = []
    stats = ImportStats()
    it = iter_observations(lines(), "zeek", on_line=seen.append, stats=stats)
    first = next(it)
    assert first.objects and max(pulled) == 9  # 8 header lines and the first record, nothing more
    assert seen == list(range(1, 10)) and stats.lines == 9
    rest = list(it)
    assert len(rest) == 4 and seen == list(range(1, len(template) + 1))


def test_streamed_problems_come_after_the_good_lines():
    it = iter_observations(["type,value", "ip,192.0.2.1", "ip,bad", "ip,192.0.2.3"], "csv")
    assert values(next(it), "ipv4-addr") == ["192.0.2.1"]
    assert values(next(it), "ipv4-addr") == ["192.0.2.3"]
    with pytest.raises(Invalid) as exc:
        next(it)
    assert problems(exc) == {("value", 3)}


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("bundle.json", "bundle"),
        ("conn.log", "zeek"),
        ("dns.json", "zeek"),
        ("observables.csv", "csv"),
        ("observables.jsonl", "jsonl"),
    ],
)
def test_auto_detects_the_kind(name: str, kind: str):
    def ids(source: Any, kind: str = "auto") -> list[tuple[str, list[str]]]:
        return [(o.id, list(o.objects)) for o in iter_observations(source, kind)]

    path = DATA / name
    auto = ids(path)
    assert auto and auto == ids(path, kind)
    assert ids(str(path)) == auto  # a path as text
    assert ids(path.read_text()) == auto  # the content


def test_auto_on_one_line_bundle_text_and_unknown_content():
    compact = json.dumps(load("bundle.json"))
    assert len(list(iter_observations(compact))) == 2
    with pytest.raises(Invalid):
        list(iter_observations("just some words\n"))
    assert list(iter_observations("")) == []


def test_missing_file_and_bad_json_bundle():
    with pytest.raises(NotFound):
        list(iter_observations(DATA / "nope.log"))
    with pytest.raises(NotFound):
        list(iter_observations("tests/matching/data/inputs/nope.csv"))
    with pytest.raises(Invalid) as exc:
        list(iter_observations('{"type": "bundle",\n "objects": [}', "bundle"))
    assert problems(exc) == {("document", 2)}
    with pytest.raises(ValueError):
        list(iter_observations("", "xml"))


def test_observable_sco_validation():
    assert observable_sco("IP", "::FFFF:192.0.2.1")["type"] == "ipv6-addr"
    assert observable_sco("hostname", "Bücher.example")["value"] == "bücher.example"
    assert observable_sco("url", "mailto:someone@example.org")["value"] == "mailto:someone@example.org"
    assert observable_sco("domain", "_dmarc.example.org")["value"] == "_dmarc.example.org"
    for observable_type, value in [
        ("domain", "a" * 64 + ".example"),
        ("domain", "exa mple.com"),
        ("email", "@example.com"),
        ("url", "https://exa mple.com/"),
        ("sha256", "e3b0" * 15),
        ("ipv4", "192.0.2.1/24"),
    ]:
        with pytest.raises(ValueError):
            observable_sco(observable_type, value)
