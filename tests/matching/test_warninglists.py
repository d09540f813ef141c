"""Warning lists: built-in and MISP lists, each matcher type, kinds, selection, speed."""

from __future__ import annotations

import json

import pytest

from accord.core.errors import Invalid
from accord.matching.warninglists import (
    BUILTIN_LISTS,
    DEFAULT_MISP_LISTS,
    Hit,
    WarningLists,
    available_lists,
    infer_kind,
    misp_catalog,
)
from accord.matching.warninglists import _misp_root as misp_root


@pytest.fixture(scope="module")
def builtin() -> WarningLists:
    return WarningLists("builtin")


@pytest.fixture(scope="module")
def default() -> WarningLists:
    return WarningLists.default()


def ids(hits: list[Hit]) -> list[str]:
    return [h.list_id for h in hits]


# ------------------------------------------------------------------------------------------ built-in lists

BUILTIN_CASES = {
    "accord:private-addresses": (
        ["10.0.0.1", "10.255.255.255", "172.16.0.1", "172.31.255.255", "192.168.1.1", "fd12:3456::1", "fc00::1"],
        ["11.0.0.1", "172.32.0.1", "172.15.255.255", "192.169.0.1", "fe00::1"],
    ),
    "accord:loopback": (["127.0.0.1", "127.255.0.1", "::1"], ["128.0.0.1", "::2"]),
    "accord:link-local": (["169.254.10.20", "fe80::1", "febf::1"], ["169.253.0.1", "fec0::1"]),
    "accord:shared-address-space": (["100.64.0.1", "100.127.255.255"], ["100.63.255.255", "100.128.0.0"]),
    "accord:multicast": (["224.0.0.251", "239.255.255.250", "ff02::fb"], ["223.255.255.255"]),
    "accord:documentation": (
        ["192.0.2.1", "198.51.100.200", "203.0.113.9", "2001:db8::1", "3fff::1"],
        ["192.0.3.1", "198.51.101.1", "2001:db9::1"],
    ),
    "accord:benchmarking": (["198.18.0.1", "198.19.255.255", "2001:2::1"], ["198.20.0.1", "198.17.255.255"]),
    "accord:reserved-addresses": (["0.0.0.0", "192.0.0.8", "240.0.0.1", "255.255.255.255", "::"], ["1.0.0.0"]),
    "accord:public-resolvers": (["8.8.8.8", "1.1.1.1", "9.9.9.9", "2620:fe::fe"], ["8.8.8.9", "1.1.1.4"]),
    "accord:reserved-tlds": (
        ["foo.test", "printer.local", "LOCALHOST", "x.invalid", "router.home.arpa", "svc.internal", "a.example"],
        ["test.com", "mytest", "local.com", "home.arpa.net"],
    ),
    "accord:example-domains": (
        ["example.com", "www.example.net", "a.b.example.org."],
        ["notexample.com", "example.co"],
    ),
    "accord:private-reverse-zones": (
        ["4.3.2.10.in-addr.arpa", "1.0.17.172.in-addr.arpa", "1.0.168.192.in-addr.arpa", "1.0.8.e.f.ip6.arpa"],
        ["4.3.2.11.in-addr.arpa", "1.0.32.172.in-addr.arpa", "1.0.0.0.ip6.arpa"],
    ),
}


def test_every_builtin_list_is_tested_and_documented():
    assert {wl.id for wl in BUILTIN_LISTS} == set(BUILTIN_CASES)
    for wl in BUILTIN_LISTS:
        assert wl.name and wl.description and wl.source.startswith("https://") and wl.entries


@pytest.mark.parametrize("list_id", sorted(BUILTIN_CASES))
def test_builtin_hits_and_near_misses(builtin: WarningLists, list_id: str):
    hits, misses = BUILTIN_CASES[list_id]
    for value in hits:
        assert list_id in ids(builtin.check(value)), value
    for value in misses:
        assert list_id not in ids(builtin.check(value)), value


def test_hit_names_the_list_and_the_entry(builtin: WarningLists):
    assert builtin.check("10.1.2.3") == [Hit("accord:private-addresses", "Private-use addresses", "10.0.0.0/8")]
    assert builtin.check("www.example.com") == [
        Hit("accord:example-domains", "Example second-level domains", "example.com")
    ]


def test_ipv4_mapped_ipv6_is_checked_as_ipv4(builtin: WarningLists):
    assert ids(builtin.check("::ffff:192.168.7.1")) == ["accord:private-addresses"]
    assert builtin.check("::ffff:93.184.216.34") == []


def test_urls_and_email_addresses_are_checked_by_their_host(builtin: WarningLists):
    assert ids(builtin.check("http://www.example.com/index.html")) == ["accord:example-domains"]
    assert ids(builtin.check("https://10.0.0.5:8443/admin")) == ["accord:private-addresses"]
    assert ids(builtin.check("https://[::1]/")) == ["accord:loopback"]
    assert ids(builtin.check("alice@mail.example.org")) == ["accord:example-domains"]
    assert builtin.check("https://evil.example.net.attacker.ru/x") == []
    # given as a domain, a URL or an address is reduced to its host
    assert ids(builtin.check("https://www.example.org/login", "domain")) == ["accord:example-domains"]
    assert ids(builtin.check("bob@printer.local", "domain")) == ["accord:reserved-tlds"]
    assert ids(builtin.check("http://127.0.0.1/", "domain")) == ["accord:loopback"]
    assert ids(builtin.check("192.168.0.1", "domain")) == ["accord:private-addresses"]


# ------------------------------------------------------------------------------------- MISP list types


def test_misp_cidr_list():
    wl = WarningLists(["misp:cloudflare"])
    assert wl.check("104.16.1.1") == [Hit("misp:cloudflare", "List of known Cloudflare IP ranges", "104.16.0.0/13")]
    assert ids(wl.check("2606:4700:4700::1111")) == ["misp:cloudflare"]
    assert wl.check("104.28.0.1") == []
    assert wl.check("104.16.1.1", "hash") == []  # an address list says nothing about hashes


def test_misp_string_list_is_exact():
    wl = WarningLists(["misp:cisco_top10k"])
    assert ids(wl.check("google.com")) == ["misp:cisco_top10k"]
    assert ids(wl.check("Google.COM.")) == ["misp:cisco_top10k"]  # DNS names are case-insensitive
    assert wl.check("evil.google.com") == []
    assert wl.check("notgoogle.com") == []
    # a URL is compared whole: a payload on a top site is not benign
    assert wl.check("https://raw.githubusercontent.com/evil/payload.ps1") == []
    assert ids(wl.check("https://raw.githubusercontent.com/evil/payload.ps1", "domain")) == ["misp:cisco_top10k"]


def test_misp_string_entry_with_leading_dot_is_a_suffix():
    wl = WarningLists(["misp:google"])
    assert wl.check("www.google.ad") == [Hit("misp:google", "List of known google domains", ".google.ad")]
    assert ids(wl.check("google.ad")) == ["misp:google"]
    assert wl.check("notgoogle.ad") == []


def test_misp_hostname_list_matches_subdomains():
    wl = WarningLists(["misp:url-shortener"])
    assert wl.check("bit.ly")[0].matched == "bit.ly"
    assert ids(wl.check("x.bit.ly")) == ["misp:url-shortener"]
    assert ids(wl.check("https://bit.ly/3abcDEF")) == ["misp:url-shortener"]
    assert wl.check("bit.ly.evil.com") == []
    assert wl.check("rabbit.ly") == []


def test_misp_substring_lists():
    wl = WarningLists(["misp:automated-malware-analysis", "misp:disposable-email"])
    assert wl.check("https://app.any.run/tasks/1234") == [
        Hit(
            "misp:automated-malware-analysis",
            "List of known domains used by automated malware analysis services & security vendors",
            "app.any.run",
        )
    ]
    assert ids(wl.check("www.joesandbox.com")) == ["misp:automated-malware-analysis"]
    assert ids(wl.check("someone@mailinator.com")) == ["misp:disposable-email"]
    assert wl.check("someone@example.org") == []
    assert wl.check("any.run.example") == []


def test_misp_regex_list():
    wl = WarningLists(["misp:common-contact-emails"])
    assert ids(wl.check("abuse@example.org")) == ["misp:common-contact-emails"]
    assert ids(wl.check("SOC@Example.org")) == ["misp:common-contact-emails"]  # the /i flag
    assert wl.check("alice@example.org") == []
    assert wl.check("abuse.example.org") == []  # a domain: the list is for e-mail addresses


def test_hash_lists_are_case_insensitive(default: WarningLists):
    empty_md5 = "D41D8CD98F00B204E9800998ECF8427E"
    assert ids(default.check(empty_md5)) == ["misp:empty-hashes", "misp:common-ioc-false-positive"]
    assert ids(default.check("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "hash"))[0] == (
        "misp:empty-hashes"
    )
    assert default.check("0" * 64) == []


def test_our_verdicts_agree_with_pymispwarninglists():
    from pymispwarninglists import WarningList as MispList

    values = [
        "104.16.1.1",
        "104.28.0.1",
        "2606:4700:4700::1111",
        "bit.ly",
        "x.bit.ly",
        "rabbit.ly",
        "google.com",
        "evil.google.com",
        "www.joesandbox.com",
        "example.org",
    ]
    for name in ["cloudflare", "url-shortener", "cisco_top10k", "automated-malware-analysis"]:
        raw = json.loads((misp_root() / name / "list.json").read_text())
        theirs = MispList(raw, slow_search=True)
        ours = WarningLists([f"misp:{name}"])
        for value in values:
            kind = "ip" if value[0].isdigit() else "domain"
            assert bool(ours.check(value, kind)) == (value in theirs), (name, value)


# --------------------------------------------------------------------------------------- selection, kinds


def test_default_lists(default: WarningLists):
    assert [wl.id for wl in default.lists] == [wl.id for wl in BUILTIN_LISTS] + list(DEFAULT_MISP_LISTS)
    assert ids(default.check("8.8.8.8")) == ["accord:public-resolvers"]
    assert ids(default.check("104.16.1.1")) == ["misp:cloudflare"]
    assert ids(default.check("www.google.com")) == ["misp:cisco_top10k"]
    assert ids(default.check("com")) == ["misp:tlds", "misp:second-level-tlds"]
    for indicator in ["evil.github.io", "https://raw.githubusercontent.com/x/y.ps1", "45.33.32.156", "c2.duckdns.org"]:
        assert default.check(indicator) == [], indicator


def test_none_suppresses_nothing(default: WarningLists):
    benign = ["10.0.0.1", "8.8.8.8", "www.example.com", "http://localhost/", "d41d8cd98f00b204e9800998ecf8427e"]
    assert all(default.check(v) for v in benign)
    for wl in (WarningLists("none"), WarningLists(), WarningLists([])):
        assert wl.lists == []
        assert [wl.check(v) for v in benign] == [[]] * len(benign)


def test_select_by_misp_name_and_refuse_unknown_lists():
    (wl,) = WarningLists(["List of RFC 1918 CIDR blocks", "misp:rfc1918"]).lists
    assert wl.id == "misp:rfc1918" and wl.type == "cidr" and "ip" in wl.kinds
    assert len(WarningLists("misp:rfc1918").lists) == 1
    with pytest.raises(Invalid) as exc:
        WarningLists(["accord:private-addresses", "misp:nope", "nothing"])
    assert [(p.field, p.reason) for p in exc.value.problems] == [
        ("lists", "unknown warning list 'misp:nope'"),
        ("lists", "unknown warning list 'nothing'"),
    ]
    with pytest.raises(ValueError):
        WarningLists("builtin").check("10.0.0.1", "address")


def test_catalog_reads_the_misp_lists_metadata():
    catalog = misp_catalog()
    assert len(catalog) > 100 and all(i.startswith("misp:") for i in catalog)
    for name in ["rfc1918", "tlds", "cloudflare", "common-contact-emails", "google", "empty-hashes"]:
        raw = json.loads((misp_root() / name / "list.json").read_text())
        info = catalog[f"misp:{name}"]
        assert (info.name, info.type, info.description) == (raw["name"], raw["type"], raw["description"])
    assert catalog["misp:empty-hashes"].kinds == {"hash"}  # md5 … sha512, filename|md5 …, ssdeep
    assert catalog["misp:common-contact-emails"].kinds == {"email"}
    assert catalog["misp:cisco_top10k"].kinds == {"domain", "url", "ip"}
    assert [wl.id for wl in available_lists()][: len(BUILTIN_LISTS)] == [wl.id for wl in BUILTIN_LISTS]


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("192.0.2.1", "ip"),
        ("2001:db8::1", "ip"),
        ("[2001:db8::1]", "ip"),
        ("fe80::1%eth0", "ip"),
        ("example.com", "domain"),
        ("Example.COM.", "domain"),
        ("localhost", "domain"),
        ("_dmarc.example.org", "domain"),
        ("bücher.example", "domain"),
        ("https://example.com/a?b=c", "url"),
        ("ftp://192.0.2.1/file", "url"),
        ("alice@example.com", "email"),
        ("d41d8cd98f00b204e9800998ecf8427e", "hash"),
        ("DA39A3EE5E6B4B0D3255BFEF95601890AFD80709", "hash"),
        ("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "hash"),
        ("deadbeef", "domain"),
        ("1.2.3", "domain"),
        ("a@b@c", "other"),
        ("+1 555 0100", "other"),
        ("", "other"),
    ],
)
def test_kind_inference(value: str, kind: str):
    assert infer_kind(value) == kind
