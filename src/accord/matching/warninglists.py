"""Warning lists: values known to be benign (private addresses, reserved names, top sites, CDN ranges, hashes of
empty files) that should not raise a sighting when an indicator happens to match them.

Two sources of lists:

* built-in lists written here (id ``accord:…``), from the IANA special-purpose address registries and the
  special-use domain names of RFC 2606 / 6761 / 6762 / 8375, plus a short list of the big public resolvers;
* the MISP warninglists bundled with the ``pymispwarninglists`` package (id ``misp:<directory>``, e.g.
  ``misp:cisco_top10k``; they may also be selected by their MISP ``name``).

Each list has a MISP matcher type — ``cidr`` (network contains the address), ``string`` (exact value),
``substring`` (entry occurs in the value), ``hostname`` (the value is the entry or a sub-domain of it) or
``regex`` — and the kinds of value it applies to (``ip``, ``domain``, ``url``, ``email``, ``hash``, ``other``),
taken from MISP's ``matching_attributes``. A MISP ``string`` entry that starts with a dot (``.google.ad``) is read
as a suffix, as its authors meant.

How a value is checked (MISP's semantics, so that a hit here is a hit in MISP):

* ``ip``: ``cidr`` lists hold the address (IPv4-mapped IPv6 addresses are checked as IPv4 too);
  exact / substring / regex lists compare the address text.
* ``domain``: ``hostname`` lists by suffix, the others by the whole (lower-cased) name. A URL or e-mail address
  given as a domain is checked by its host.
* ``url``: ``hostname`` and ``cidr`` lists by the URL's host, the others by the whole URL — so
  ``https://raw.githubusercontent.com/x/payload`` is *not* benign because ``raw.githubusercontent.com`` is a top
  site, while ``http://www.example.com/a`` is (reserved name).
* ``email``: ``hostname`` lists by the domain part, the others by the whole address.
* ``hash``: exact (lower-cased) lists.

Indexes are built once per :class:`WarningLists`: CIDRs as one set of network integers per prefix length,
host names as a set probed with each suffix of the value, strings as a dict, substrings as one regular expression
compiled from a character trie (confirmed entry by entry on the rare hit), regexes compiled.

The MISP lists are read from the package's files only when enabled (all of them together are 65 MB), which is
why ``pymispwarninglists.WarningLists`` itself (which loads every list) is not used.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import ipaddress
import json
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from accord.core.errors import Invalid, Problem

log = logging.getLogger(__name__)
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address

KINDS = ("ip", "domain", "url", "email", "hash", "other")
MATCHER_TYPES = ("cidr", "string", "substring", "hostname", "regex")
_HASH_LENGTHS = frozenset({32, 40, 56, 64, 96, 128})
_HEX_RE = re.compile(r"^[0-9a-f]+$")
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_HOSTNAME_RE = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$", re.IGNORECASE)
_IPV4_RE = re.compile(r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$")
_SCHEME_RE = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)

# ------------------------------------------------------------------------------------------------ the values


@dataclass(frozen=True)
class Hit:
    """A warning list that holds the value: its id and name, and the entry that matched."""

    list_id: str
    name: str
    matched: str


@dataclass(frozen=True)
class WarningList:
    """One list: identity, provenance, matcher type, the kinds of value it applies to, and its entries."""

    id: str
    name: str
    description: str
    source: str
    type: str
    kinds: frozenset[str]
    entries: tuple[str, ...] = field(default=(), repr=False)


# ------------------------------------------------------------------------------------------ built-in lists

_IANA_V4 = "https://www.iana.org/assignments/iana-ipv4-special-registry/"
_IANA_V6 = "https://www.iana.org/assignments/iana-ipv6-special-registry/"
_SPECIAL_NAMES = "https://www.iana.org/assignments/special-use-domain-names/"
_ADDRESS_KINDS = frozenset({"ip", "url"})
_NAME_KINDS = frozenset({"domain", "url", "email"})


def _builtin(ident: str, name: str, description: str, source: str, kind: str, entries: Sequence[str]) -> WarningList:
    kinds = _ADDRESS_KINDS if kind == "cidr" else _NAME_KINDS
    return WarningList(f"accord:{ident}", name, description, source, kind, kinds, tuple(entries))


BUILTIN_LISTS: tuple[WarningList, ...] = (
    _builtin(
        "private-addresses",
        "Private-use addresses",
        "RFC 1918 private IPv4 networks and RFC 4193 unique-local IPv6 addresses.",
        _IANA_V4,
        "cidr",
        ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"],
    ),
    _builtin(
        "loopback",
        "Loopback addresses",
        "IPv4 loopback (RFC 1122) and the IPv6 loopback address (RFC 4291).",
        _IANA_V4,
        "cidr",
        ["127.0.0.0/8", "::1/128"],
    ),
    _builtin(
        "link-local",
        "Link-local addresses",
        "IPv4 link-local (RFC 3927) and IPv6 link-scoped unicast (RFC 4291).",
        _IANA_V4,
        "cidr",
        ["169.254.0.0/16", "fe80::/10"],
    ),
    _builtin(
        "shared-address-space",
        "Shared address space (carrier-grade NAT)",
        "The RFC 6598 range used between carrier-grade NAT and subscribers.",
        _IANA_V4,
        "cidr",
        ["100.64.0.0/10"],
    ),
    _builtin(
        "multicast",
        "Multicast addresses",
        "IPv4 multicast (RFC 5771) and IPv6 multicast (RFC 4291).",
        "https://www.iana.org/assignments/multicast-addresses/",
        "cidr",
        ["224.0.0.0/4", "ff00::/8"],
    ),
    _builtin(
        "documentation",
        "Documentation addresses",
        "TEST-NET-1/2/3 (RFC 5737) and the IPv6 documentation prefixes (RFC 3849, RFC 9637).",
        _IANA_V6,
        "cidr",
        ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32", "3fff::/20"],
    ),
    _builtin(
        "benchmarking",
        "Benchmarking addresses",
        "Network interconnect device benchmark testing ranges (RFC 2544, RFC 5180).",
        _IANA_V4,
        "cidr",
        ["198.18.0.0/15", "2001:2::/48"],
    ),
    _builtin(
        "reserved-addresses",
        "Other reserved and non-routable addresses",
        '"This network" (RFC 791), IETF protocol assignments (RFC 6890), reserved 240/4 and the limited broadcast '
        "address (RFC 1112, RFC 919), the IPv6 unspecified address, discard-only prefix (RFC 6666), local-use "
        "IPv4/IPv6 translation prefix (RFC 8215), deprecated ORCHID (RFC 4843) and SRv6 SIDs (RFC 9602).",
        _IANA_V6,
        "cidr",
        [
            "0.0.0.0/8",
            "192.0.0.0/24",
            "240.0.0.0/4",
            "::/128",
            "100::/64",
            "64:ff9b:1::/48",
            "2001:10::/28",
            "5f00::/16",
        ],
    ),
    _builtin(
        "public-resolvers",
        "Well-known public DNS resolvers",
        "The anycast addresses of the big public resolvers (Google, Cloudflare, Quad9, OpenDNS, AdGuard): "
        "every network talks to them, so they are never an indicator by themselves.",
        "https://developers.google.com/speed/public-dns/docs/using",
        "cidr",
        [
            "8.8.8.8",
            "8.8.4.4",
            "2001:4860:4860::8888",
            "2001:4860:4860::8844",
            "1.1.1.1",
            "1.0.0.1",
            "1.1.1.2",
            "1.0.0.2",
            "1.1.1.3",
            "1.0.0.3",
            "2606:4700:4700::1111",
            "2606:4700:4700::1001",
            "9.9.9.9",
            "149.112.112.112",
            "9.9.9.10",
            "149.112.112.10",
            "9.9.9.11",
            "149.112.112.11",
            "2620:fe::fe",
            "2620:fe::9",
            "208.67.222.222",
            "208.67.220.220",
            "208.67.222.123",
            "208.67.220.123",
            "2620:119:35::35",
            "2620:119:53::53",
            "94.140.14.14",
            "94.140.15.15",
        ],
    ),
    _builtin(
        "reserved-tlds",
        "Reserved and special-use top-level names",
        "Top-level names that never resolve on the public Internet: example, test, invalid, localhost "
        "(RFC 2606, RFC 6761), local (mDNS, RFC 6762), home.arpa (RFC 8375) and internal (ICANN, 2024).",
        _SPECIAL_NAMES,
        "hostname",
        ["example", "test", "invalid", "localhost", "local", "home.arpa", "internal"],
    ),
    _builtin(
        "example-domains",
        "Example second-level domains",
        "example.com, example.net and example.org, reserved for documentation (RFC 2606 section 3).",
        "https://www.rfc-editor.org/rfc/rfc2606",
        "hostname",
        ["example.com", "example.net", "example.org"],
    ),
    _builtin(
        "private-reverse-zones",
        "Reverse DNS zones of private address space",
        "The in-addr.arpa / ip6.arpa zones of RFC 1918, shared, loopback, link-local and unique-local addresses "
        "(RFC 6761 section 6.1, RFC 6762, RFC 7793): PTR look-ups every local resolver answers.",
        "https://www.rfc-editor.org/rfc/rfc6761#section-6.1",
        "hostname",
        [
            "10.in-addr.arpa",
            *(f"{n}.172.in-addr.arpa" for n in range(16, 32)),
            "168.192.in-addr.arpa",
            *(f"{n}.100.in-addr.arpa" for n in range(64, 128)),
            "127.in-addr.arpa",
            "254.169.in-addr.arpa",
            "c.f.ip6.arpa",
            "d.f.ip6.arpa",
            "8.e.f.ip6.arpa",
            "9.e.f.ip6.arpa",
            "a.e.f.ip6.arpa",
            "b.e.f.ip6.arpa",
        ],
    ),
)

# Lists ``default()`` turns on beyond the built-in ones (see ``WarningLists.default``).
DEFAULT_MISP_LISTS = (
    "misp:cisco_top10k",
    "misp:tlds",
    "misp:second-level-tlds",
    "misp:akamai",
    "misp:cloudflare",
    "misp:fastly",
    "misp:empty-hashes",
    "misp:common-ioc-false-positive",
)

# ------------------------------------------------------------------------------------------------ MISP lists

_MISP_KINDS = {
    "ip-src": ("ip",),
    "ip-dst": ("ip",),
    "ip-src|port": ("ip",),
    "ip-dst|port": ("ip",),
    "domain|ip": ("domain", "ip"),
    "domain": ("domain",),
    "hostname": ("domain",),
    "hostname|port": ("domain",),
    "url": ("url",),
    "uri": ("url",),
    "link": ("url",),
    "email": ("email",),
    "email-src": ("email",),
    "email-dst": ("email",),
    "target-email": ("email",),
    "whois-registrant-email": ("email",),
    "dns-soa-email": ("email",),
}
_MISP_HASH_ATTRIBUTES = re.compile(r"^(filename\|)?(md5|sha\d+|sha3-\d+|ssdeep|tlsh|imphash|x509-fingerprint-\w+)$")
_MISP_DEFAULT_KINDS = {
    "cidr": frozenset({"ip"}),
    "hostname": frozenset({"domain", "url", "email"}),
}


def _misp_root() -> Path:
    # find_spec, not import: the package imports jsonschema and requests (2 s) and we only need its data files
    spec = importlib.util.find_spec("pymispwarninglists")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("pymispwarninglists is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "misp-warninglists" / "lists"


def _misp_kinds(list_type: str, attributes: Iterable[str] | None) -> frozenset[str]:
    if not attributes:
        return _MISP_DEFAULT_KINDS.get(list_type, frozenset(KINDS))
    kinds: set[str] = set()
    for attribute in attributes:
        if attribute in _MISP_KINDS:
            kinds.update(_MISP_KINDS[attribute])
        elif _MISP_HASH_ATTRIBUTES.match(attribute):
            kinds.add("hash")
        else:
            kinds.add("other")
    return frozenset(kinds)


def _misp_header(path: Path) -> dict[str, Any]:
    """A list's metadata without parsing its entries: the files are written with sorted keys, so the
    ``description`` opens the file and ``matching_attributes`` / ``name`` / ``type`` close it."""
    with path.open("rb") as f:
        head = f.read(4096).decode("utf-8", "replace")
        f.seek(0, 2)
        f.seek(max(0, f.tell() - 4096))
        tail = f.read().decode("utf-8", "replace")
    try:
        start = tail.index('"matching_attributes"') if '"matching_attributes"' in tail else tail.rindex('"name"')
        meta = json.loads("{" + tail[start:])
        description = json.loads(head[: head.index('"list"')].rstrip().rstrip(",") + "}")["description"]
        return {**meta, "description": description}
    except (ValueError, KeyError):
        with path.open(encoding="utf-8") as f:
            return {k: v for k, v in json.load(f).items() if k != "list"}


@functools.cache
def misp_catalog() -> dict[str, WarningList]:
    """The MISP warninglists bundled with ``pymispwarninglists``, by id (``misp:<directory>``), entries not loaded."""
    catalog = {}
    for path in sorted(_misp_root().glob("*/list.json")):
        meta = _misp_header(path)
        ident = f"misp:{path.parent.name}"
        catalog[ident] = WarningList(
            id=ident,
            name=meta["name"],
            description=meta.get("description", ""),
            source=f"https://github.com/MISP/misp-warninglists/tree/main/lists/{path.parent.name}",
            type=meta["type"],
            kinds=_misp_kinds(meta["type"], meta.get("matching_attributes")),
        )
    return catalog


def _load_misp(info: WarningList) -> WarningList:
    path = _misp_root() / info.id.removeprefix("misp:") / "list.json"
    with path.open(encoding="utf-8") as f:
        entries = json.load(f)["list"]
    return dataclasses.replace(info, entries=tuple(str(e) for e in entries))


def available_lists() -> list[WarningList]:
    """Every list that can be turned on (built-in first, then MISP by id); MISP entries are not loaded."""
    return [*BUILTIN_LISTS, *misp_catalog().values()]


def _resolve(selection: str | Iterable[str]) -> list[WarningList]:
    builtin = {wl.id: wl for wl in BUILTIN_LISTS}
    if isinstance(selection, str):
        if selection == "none":
            return []
        if selection == "all":
            return [*BUILTIN_LISTS, *(_load_misp(wl) for wl in misp_catalog().values())]
        if selection == "builtin":
            return list(BUILTIN_LISTS)
        selection = [selection]
    by_name = {wl.name: wl for wl in misp_catalog().values()}
    chosen: dict[str, WarningList] = {}
    problems = []
    for ident in selection:
        if ident in builtin:
            chosen[ident] = builtin[ident]
        elif ident in misp_catalog() or ident in by_name:
            info = misp_catalog().get(ident) or by_name[ident]
            if info.id not in chosen:
                chosen[info.id] = _load_misp(info)
        else:
            problems.append(Problem("lists", f"unknown warning list {ident!r}"))
    if problems:
        raise Invalid("unknown warning list", problems)
    return list(chosen.values())


# ------------------------------------------------------------------------------------------ value handling


def _as_ip(text: str) -> _Address | None:
    """An address (IPv6 may be bracketed or carry a zone), or None — without paying for exceptions on the
    common non-address values (host names, hashes)."""
    try:
        if ":" in text:
            return ipaddress.IPv6Address(text[1:-1] if text.startswith("[") and text.endswith("]") else text)
        if _IPV4_RE.match(text):
            return ipaddress.IPv4Address(text)
    except ValueError:
        pass
    return None


def _is_hostname(name: str) -> bool:
    if not name or len(name) > 253:
        return False
    if _HOSTNAME_RE.match(name):
        return True
    if name.isascii():
        return False
    try:
        return bool(_HOSTNAME_RE.match(name.encode("idna").decode("ascii")))
    except UnicodeError:
        return False


def _norm_host(name: str) -> str:
    return name.strip().rstrip(".").lower()


def url_host(url: str) -> str | None:
    """The host of a URL (lower case, no brackets or port), or None."""
    try:
        host = urlsplit(url.strip() if "://" in url else "//" + url.strip()).hostname
    except ValueError:
        return None
    return host.rstrip(".") if host else None


def infer_kind(value: str) -> str:
    """What a bare value looks like: ``ip``, ``url``, ``email``, ``hash``, ``domain`` or ``other``."""
    return _infer(value.strip())[0]


def _infer(text: str) -> tuple[str, _Address | None]:
    if "://" in text and _SCHEME_RE.match(text):
        return "url", None
    addr = _as_ip(text)
    if addr is not None:
        return "ip", addr
    if "@" in text:
        local, _, domain = text.rpartition("@")
        return ("email" if local and "@" not in local and _is_hostname(_norm_host(domain)) else "other"), None
    low = text.lower()
    if len(low) in _HASH_LENGTHS and _HEX_RE.match(low):
        return "hash", None
    if _is_hostname(_norm_host(text)):
        return "domain", None
    return "other", None


def _php_regex(entry: str) -> re.Pattern[str] | None:
    """A MISP (PHP PCRE) ``/body/flags`` entry as a Python pattern; None when Python cannot compile it."""
    body, flags = entry, 0
    m = re.match(r"^(.)(.*)\1([a-zA-Z]*)$", entry, re.DOTALL)
    if m and not m.group(1).isalnum():
        body = m.group(2)
        table = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}
        for flag in m.group(3):
            flags |= table.get(flag, 0)
    body = body.replace("(?<", "(?P<").replace("(?P<=", "(?<=").replace("(?P<!", "(?<!")
    try:
        return re.compile(body, flags)
    except re.error:
        return None


# ------------------------------------------------------------------------------------------------ indexes

_Ref = tuple[int, str]  # (list index, entry as written in the list)
_Entries = tuple[int, tuple[str, ...]]  # (list index, the list's substring entries)
_TRIE_MAX = 200


def _trie_regex(words: Iterable[str]) -> re.Pattern[str] | None:
    """One pattern matching any of ``words``, shaped as a character trie so the regex engine branches per
    character instead of trying every word at every position."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}
    if not trie:
        return None

    def render(node: dict[str, Any]) -> str:
        ends = "" in node
        branches = [re.escape(ch) + render(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if ends:
            body = "(?:" + body + ")?"
        return body

    return re.compile(render(trie))


class _Index:
    """All enabled lists, one structure per matcher type; a hit is then kept only for lists of the value's kind."""

    def __init__(self, lists: Sequence[WarningList]) -> None:
        self.lists = lists
        self.kind_mask = {kind: frozenset(i for i, wl in enumerate(lists) if kind in wl.kinds) for kind in KINDS}
        self.nets: dict[int, dict[int, dict[int, list[_Ref]]]] = {4: {}, 6: {}}  # version -> prefix -> net -> refs
        self.prefixes: dict[int, list[tuple[int, dict[int, list[_Ref]]]]] = {4: [], 6: []}  # (shift, table)
        self.strings: dict[str, list[_Ref]] = {}
        self.hosts: dict[str, list[_Ref]] = {}
        self.substrings: list[_Entries] = []
        self.regexes: list[tuple[int, str, re.Pattern[str]]] = []
        # substring and regex lists are scanned, not looked up: only those of the value's kind
        self.substrings_by_kind: dict[str, tuple[re.Pattern[str] | None, tuple[str, ...], list[_Entries]]] = {}
        self.regexes_by_kind: dict[str, list[tuple[int, str, re.Pattern[str]]]] = {}
        for i, wl in enumerate(lists):
            self._add(i, wl)
        for version, bits in ((4, 32), (6, 128)):
            self.prefixes[version] = [(bits - p, table) for p, table in sorted(self.nets[version].items())]
        for kind, mask in self.kind_mask.items():
            subs = [(i, entries) for i, entries in self.substrings if i in mask]
            words = sorted({e for _, entries in subs for e in entries})
            # very long entries would nest the trie too deep for re: they are tested one by one
            long_words = tuple(w for w in words if len(w) > _TRIE_MAX)
            self.substrings_by_kind[kind] = (_trie_regex(w for w in words if len(w) <= _TRIE_MAX), long_words, subs)
            self.regexes_by_kind[kind] = [r for r in self.regexes if r[0] in mask]

    def _add(self, i: int, wl: WarningList) -> None:
        add = {
            "cidr": self._add_cidr,
            "string": self._add_string,
            "hostname": self._add_host,
            "substring": self._add_substring,
            "regex": self._add_regex,
        }.get(wl.type)
        if add is None:
            log.warning("warning list %s has unknown type %r; ignored", wl.id, wl.type)
            return
        add(i, wl)

    def _add_cidr(self, i: int, wl: WarningList) -> None:
        bad = 0
        for entry in wl.entries:
            try:
                net = ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                bad += 1
                continue
            bits = net.max_prefixlen - net.prefixlen
            table = self.nets[net.version].setdefault(net.prefixlen, {})
            table.setdefault(int(net.network_address) >> bits, []).append((i, entry))
        if bad:
            log.warning("warning list %s: %d entries are not networks; ignored", wl.id, bad)

    def _add_string(self, i: int, wl: WarningList) -> None:
        for entry in wl.entries:
            key = entry.strip().lower()
            if key.startswith(".") and len(key) > 1:  # '.google.ad': a suffix, as the list's authors meant
                self.hosts.setdefault(key.strip("."), []).append((i, entry))
            elif key:
                self.strings.setdefault(key, []).append((i, entry))

    def _add_host(self, i: int, wl: WarningList) -> None:
        for entry in wl.entries:
            key = entry.strip().strip(".").lower()
            if key:
                self.hosts.setdefault(key, []).append((i, entry))

    def _add_substring(self, i: int, wl: WarningList) -> None:
        self.substrings.append((i, tuple(e.lower() for e in wl.entries if e)))

    def _add_regex(self, i: int, wl: WarningList) -> None:
        for entry in wl.entries:
            pattern = _php_regex(entry)
            if pattern is None:
                log.warning("warning list %s: regex %r does not compile in Python; ignored", wl.id, entry)
            else:
                self.regexes.append((i, entry, pattern))

    # -- probes: each appends (list index, entry) pairs to ``out``

    def probe_ip(self, addr: _Address, out: list[_Ref]) -> None:
        mapped = getattr(addr, "ipv4_mapped", None)
        if mapped is not None:
            self.probe_ip(mapped, out)
        number = int(addr)
        for shift, table in self.prefixes[addr.version]:
            refs = table.get(number >> shift)
            if refs:
                out.extend(refs)

    def probe_host(self, host: str, out: list[_Ref]) -> None:
        hosts, start = self.hosts, 0
        if not hosts:
            return
        while True:
            refs = hosts.get(host[start:] if start else host)
            if refs:
                out.extend(refs)
            start = host.find(".", start) + 1
            if not start:
                return

    def probe_text(self, text: str, low: str, kind: str, out: list[_Ref]) -> None:
        refs = self.strings.get(low)
        if refs:
            out.extend(refs)
        substring_re, long_words, subs = self.substrings_by_kind[kind]
        if (substring_re is not None and substring_re.search(low)) or any(w in low for w in long_words):
            for i, entries in subs:
                out.extend((i, e) for e in entries if e in low)
        for i, entry, pattern in self.regexes_by_kind[kind]:
            if pattern.search(text):
                out.append((i, entry))


# ------------------------------------------------------------------------------------------------ the face


class WarningLists:
    """The enabled warning lists, indexed for fast ``check``.

    ``lists``: ``"none"``, ``"all"`` (built-in and every MISP list — slow to load, large), ``"builtin"``, or
    an iterable of list ids (``accord:private-addresses``, ``misp:tranco10k``) or MISP list names.
    """

    def __init__(self, lists: str | Iterable[str] = "none") -> None:
        self._index = _Index(_resolve(lists))

    @classmethod
    def default(cls) -> WarningLists:
        """The built-in lists plus the MISP lists judged real false-positive sources (``DEFAULT_MISP_LISTS``):

        * ``misp:cisco_top10k`` — the 10,000 most queried host names (Cisco Umbrella). Exact names only: it is
          what fills DNS logs, and an exact list does not whitelist a whole hosting platform
          (``tranco10k`` / ``majestic_million`` hold ``github.io``, ``duckdns.org``, ``ngrok.io`` … and would).
        * ``misp:tlds``, ``misp:second-level-tlds`` — a bare ``com`` or ``co.uk`` is never an indicator.
        * ``misp:akamai``, ``misp:cloudflare``, ``misp:fastly`` — CDN edge ranges shared by millions of sites
          (not the cloud VM ranges of AWS, Azure or GCP, where attackers rent machines).
        * ``misp:empty-hashes``, ``misp:common-ioc-false-positive`` — hashes of empty files and hashes that
          commonly slip into IOC lists.

        Public resolvers come from the built-in ``accord:public-resolvers``: MISP's ``public-dns-v4`` holds every
        open resolver seen on the Internet (62,000 addresses, many of them misconfigured or compromised hosts),
        which is no false-positive list.
        """
        return cls([wl.id for wl in BUILTIN_LISTS] + list(DEFAULT_MISP_LISTS))

    @property
    def lists(self) -> Sequence[WarningList]:
        """The enabled lists (with their entries)."""
        return self._index.lists

    def check(self, value: str, kind: str | None = None) -> list[Hit]:
        """The enabled lists that hold ``value`` (checked as ``kind``, inferred when None), each once, with the
        first entry that matched. An empty list means: not known to be benign."""
        value = value.strip()
        addr = None
        if kind is None:
            kind, addr = _infer(value)
        elif kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
        elif kind == "domain":
            if "@" in value or "/" in value or ":" in value:
                # a URL or e-mail address given as a domain: its host
                value = url_host(value.rpartition("@")[2] if "://" not in value else value) or value
            addr = _as_ip(value)  # a host that is an address literal is checked as an address
            kind = "domain" if addr is None else "ip"
        refs: list[_Ref] = []
        self._probe(value, kind, addr, refs)
        return self._hits(refs, kind) if refs else []

    def _probe(self, value: str, kind: str, addr: _Address | None, out: list[_Ref]) -> None:
        index = self._index
        if kind == "ip":
            addr = addr if addr is not None else _as_ip(value)
            if addr is not None:
                index.probe_ip(addr, out)
                value = str(addr)
            index.probe_text(value, value.lower(), kind, out)
        elif kind == "domain":
            host = _norm_host(value)
            index.probe_host(host, out)
            index.probe_text(host, host, kind, out)
        elif kind == "url":
            host = url_host(value)
            addr = _as_ip(host) if host else None
            if addr is not None:
                index.probe_ip(addr, out)
            elif host:
                index.probe_host(host, out)
            index.probe_text(value, value.lower(), kind, out)
        elif kind == "email":
            index.probe_host(_norm_host(value.rpartition("@")[2]), out)
            index.probe_text(value, value.lower(), kind, out)
        else:
            index.probe_text(value, value.lower(), kind, out)

    def _hits(self, refs: Iterable[_Ref], kind: str) -> list[Hit]:
        mask, lists = self._index.kind_mask[kind], self._index.lists
        seen: dict[int, Hit] = {}
        for i, entry in refs:
            if i in mask and i not in seen:
                seen[i] = Hit(lists[i].id, lists[i].name, entry)
        return [seen[i] for i in sorted(seen)]
