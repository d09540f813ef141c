"""Observations to match, from what a CERT actually holds: STIX 2.1 bundles, bulk observable files (JSON lines or
CSV: ``type``, ``value``, optional ``first_seen`` / ``last_seen`` / ``count``) and Zeek ``conn`` / ``dns`` logs
(TSV with ``#`` headers, or JSON lines).

Each input becomes :class:`~accord.matching.types.Observation` values: one STIX ``observed-data`` with the
cyber-observable objects (SCOs) it references. Converted inputs get valid STIX 2.1: SCO ids are the
deterministic UUIDv5 of STIX 2.1 section 2.9 (over the canonical JSON of the ID-contributing properties), and the
observed-data id is a UUIDv5 over the input kind, the line number and the line, so importing the same file twice
gives the same ids. A converted observed-data is dated (``created`` = ``modified``) by the ``last_observed`` it
records, so the same line always produces the same object.

Streaming: :func:`iter_observations` reads a path, a text or any iterable of lines one line at a time and yields
as it goes (bundles excepted: JSON is loaded whole). Problems are collected — field, reason, line — and raised as
one :class:`~accord.core.errors.Invalid` after the last line (at most ``MAX_PROBLEMS`` listed, plus a count), so
a consumer that must not keep half an import (a unit of work) rolls back on that error. The ``observations_from_*``
functions collect first: they return everything or raise.
"""

from __future__ import annotations

import collections
import contextlib
import csv
import datetime as dt
import decimal
import functools
import hashlib
import io
import ipaddress
import json
import os
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from accord.core.errors import Invalid, NotFound, Problem
from accord.matching.types import Observation

STIX_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")  # STIX 2.1 section 2.9
_OBSERVED_DATA_NAMESPACE = uuid.uuid5(STIX_NAMESPACE, "accord.matching.inputs/observed-data")
_BUNDLE_NAMESPACE = uuid.uuid5(STIX_NAMESPACE, "accord.matching.inputs/bundle")
MAX_PROBLEMS = 50
KINDS = ("bundle", "jsonl", "csv", "zeek")

Source = str | os.PathLike[str] | Iterable[str]
OnLine = Callable[[int], None]


@dataclass
class ImportStats:
    """What one read did: physical lines read, observations produced, and Zeek records left out because a
    required field was unset (or the query was no domain name) — those are not errors."""

    lines: int = 0
    observations: int = 0
    skipped: int = 0


# ------------------------------------------------------------------------------------------------ problems


class _Problems:
    """Every problem of one input, the first ``MAX_PROBLEMS`` kept."""

    def __init__(self) -> None:
        self.items: list[Problem] = []
        self.total = 0

    def add(self, field: str, reason: str, line: int | None = None) -> None:
        self.total += 1
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(Problem(field, reason, line))

    def raise_if_any(self, detail: str) -> None:
        if not self.total:
            return
        listed = list(self.items)
        if self.total > len(listed):
            listed.append(Problem("input", f"{self.total - len(listed)} more problems not listed"))
        raise Invalid(f"{detail} ({self.total} problem{'s' if self.total > 1 else ''})", listed)


# ---------------------------------------------------------------------------------------------- timestamps

_STIX_TS_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?Z$")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def parse_stix_timestamp(text: Any) -> dt.datetime:
    """``YYYY-MM-DDTHH:MM:SS[.fraction]Z`` (upper-case T and Z) as an aware UTC datetime; digits beyond the
    microsecond are cut. Raises ValueError."""
    m = _STIX_TS_RE.match(text) if isinstance(text, str) else None
    if m is None:
        raise ValueError("not a STIX timestamp (YYYY-MM-DDTHH:MM:SS[.fraction]Z)")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    micro = int((m.group(7) or "0")[:6].ljust(6, "0"))
    try:
        return dt.datetime(year, month, day, hour, minute, second, micro, tzinfo=dt.UTC)
    except ValueError:
        raise ValueError("not a valid date and time") from None


def format_stix_timestamp(value: dt.datetime) -> str:
    """A STIX timestamp: milliseconds when that loses nothing, else microseconds."""
    v = value.astimezone(dt.UTC)
    frac = f"{v.microsecond:06d}"
    frac = frac[:3] if frac.endswith("000") else frac
    return f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}.{frac}Z"


def _sco_timestamp(value: dt.datetime) -> str:
    """A timestamp inside an SCO, as short as it can be (``…T10:00:01.5Z``, ``…T10:00:04Z``): the text is hashed
    into the id, and this is the form the stix2 library hashes, so both compute the same id."""
    v = value.astimezone(dt.UTC)
    frac = f"{v.microsecond:06d}".rstrip("0")
    return v.strftime("%Y-%m-%dT%H:%M:%S").zfill(19) + (f".{frac}" if frac else "") + "Z"


def _parse_any_timestamp(text: Any) -> dt.datetime:
    """A STIX or ISO 8601 timestamp; without an offset it is taken as UTC."""
    if not isinstance(text, str):
        raise ValueError("not a timestamp")
    with contextlib.suppress(ValueError):
        return parse_stix_timestamp(text)
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError("not a STIX or ISO 8601 timestamp") from None
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def _epoch(value: Any) -> dt.datetime:
    """Zeek's ``time``: seconds since the epoch (number or text), or an ISO 8601 text (JSON logs written with
    ``LogAscii::json_timestamps = JSON::TS_ISO8601``)."""
    seconds = _seconds(value)
    if seconds is None:
        return _parse_any_timestamp(value)
    try:
        return _EPOCH + dt.timedelta(microseconds=int(seconds.scaleb(6).to_integral_value()))
    except OverflowError:
        raise ValueError("timestamp out of range") from None


def _seconds(value: Any) -> decimal.Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        value = repr(value)
    if not isinstance(value, str):
        return None
    try:
        number = decimal.Decimal(value.strip())
    except decimal.InvalidOperation:
        return None
    return number if number.is_finite() else None


# ------------------------------------------------------------------------------------------------------- ids

_ID_PROPERTIES = {
    "ipv4-addr": ("value",),
    "ipv6-addr": ("value",),
    "domain-name": ("value",),
    "url": ("value",),
    "email-addr": ("value",),
    "file": ("hashes", "name", "parent_directory_ref", "extensions"),
    "network-traffic": ("start", "end", "src_ref", "dst_ref", "src_port", "dst_port", "protocols", "extensions"),
}
_HASH_PRECEDENCE = ("MD5", "SHA-1", "SHA-256", "SHA-512")


def _uuid5(namespace: uuid.UUID, name: str) -> str:
    """``str(uuid.uuid5(namespace, name))`` at a third of the cost (it runs several times per log line)."""
    digest = bytearray(hashlib.sha1(namespace.bytes + name.encode("utf-8")).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    x = digest.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


def _canonical_json(value: Any) -> str:
    # RFC 8785 for what SCOs hold here (strings, integers, lists, objects with ASCII keys)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _one_hash(hashes: Mapping[str, str]) -> dict[str, str]:
    """STIX 2.1 section 2.9: of several hashes only one contributes, MD5 first, then SHA-1, SHA-256, SHA-512."""
    for algorithm in _HASH_PRECEDENCE:
        if algorithm in hashes:
            return {algorithm: hashes[algorithm]}
    key = next(iter(hashes))
    return {key: hashes[key]}


def sco_id(sco: Mapping[str, Any]) -> str:
    """The deterministic id of an SCO of a type listed in ``_ID_PROPERTIES`` (STIX 2.1 section 2.9)."""
    if _ID_PROPERTIES[sco["type"]] == ("value",):  # the common case, without building a dict to serialise
        name = '{"value":' + json.dumps(sco["value"], ensure_ascii=False) + "}"
        return f"{sco['type']}--{_uuid5(STIX_NAMESPACE, name)}"
    contributing = {}
    for key in _ID_PROPERTIES[sco["type"]]:
        if key in sco:
            contributing[key] = _one_hash(sco[key]) if key == "hashes" else sco[key]
    return f"{sco['type']}--{_uuid5(STIX_NAMESPACE, _canonical_json(contributing))}"


def _observed_data_id(source: str, line: int, content: str) -> str:
    name = "\x00".join((source, str(line), content))
    return f"observed-data--{_uuid5(_OBSERVED_DATA_NAMESPACE, name)}"


# --------------------------------------------------------------------------------------------------- SCOs

_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_HOSTNAME_RE = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$", re.IGNORECASE)
_SCHEME_RE = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)
_HEX_RE = re.compile(r"^[0-9a-fA-F]+$")
_HASH_LENGTHS = {"MD5": 32, "SHA-1": 40, "SHA-256": 64, "SHA-512": 128}
_OBSERVABLE_TYPES = {
    "ip": "ip",
    "ipv4": "ipv4",
    "ipv4-addr": "ipv4",
    "ipv6": "ipv6",
    "ipv6-addr": "ipv6",
    "domain": "domain",
    "hostname": "domain",
    "domain-name": "domain",
    "url": "url",
    "email": "email",
    "email-addr": "email",
    "md5": "MD5",
    "sha1": "SHA-1",
    "sha-1": "SHA-1",
    "sha256": "SHA-256",
    "sha-256": "SHA-256",
    "sha512": "SHA-512",
    "sha-512": "SHA-512",
}
OBSERVABLE_TYPES = ("ip", "ipv4", "ipv6", "domain", "hostname", "url", "email", "md5", "sha1", "sha256", "sha512")


def _sco(sco_type: str, **properties: Any) -> dict[str, Any]:
    sco: dict[str, Any] = {"type": sco_type, "spec_version": "2.1", "id": "", **properties}
    sco["id"] = sco_id(sco)
    return sco


def _address_sco(text: str, version: int | None = None) -> dict[str, Any]:
    """An ``ipv4-addr`` / ``ipv6-addr`` (value normalised: ``2001:DB8:0::1`` -> ``2001:db8::1``)."""
    sco = _cached_address_sco(text.strip())
    if version is not None and sco["type"] != f"ipv{version}-addr":
        raise ValueError(f"not an IPv{version} address: {text!r}")
    return dict(sco)  # a copy: callers may add properties


@functools.lru_cache(maxsize=65536)  # logs repeat the same few addresses line after line
def _cached_address_sco(text: str) -> dict[str, Any]:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise ValueError(f"not an IP address: {text!r}") from None
    return _sco(f"ipv{address.version}-addr", value=str(address))


def _domain(text: str) -> str:
    """A domain name, lower case without the root dot; ValueError unless it is a sane host name."""
    name = text.strip().rstrip(".").lower()
    ascii_name = name
    if not name.isascii():
        try:
            ascii_name = name.encode("idna").decode("ascii")
        except UnicodeError:
            raise ValueError(f"not a domain name: {text!r}") from None
    if not ascii_name or len(ascii_name) > 253 or not _HOSTNAME_RE.match(ascii_name):
        raise ValueError(f"not a domain name: {text!r}")
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return name
    raise ValueError(f"an IP address, not a domain name: {text!r}")


def _email(text: str) -> str:
    value = text.strip()
    local, at, domain = value.partition("@")
    if not at or "@" in domain or not local or any(c.isspace() for c in value):
        raise ValueError(f"not an e-mail address (one @, no spaces): {text!r}")
    try:
        _domain(domain)
    except ValueError:
        raise ValueError(f"not an e-mail address (bad domain): {text!r}") from None
    return value


def _url(text: str) -> str:
    value = text.strip()
    if not _SCHEME_RE.match(value) or any(c.isspace() for c in value):
        raise ValueError(f"not a URL (scheme:..., no spaces): {text!r}")
    scheme, _, rest = value.partition(":")
    if not rest or (rest.startswith("//") and not rest[2:].split("/", 1)[0]):
        raise ValueError(f"not a URL (nothing after the scheme, or no host): {text!r}")
    return value


def observable_sco(observable_type: str, value: str) -> dict[str, Any]:
    """The SCO for one bulk observable: ``ip`` / ``ipv4`` / ``ipv6`` -> ``ipv4-addr`` / ``ipv6-addr``;
    ``domain`` / ``hostname`` -> ``domain-name``; ``url``; ``email`` -> ``email-addr``; ``md5`` / ``sha1`` /
    ``sha256`` / ``sha512`` -> ``file`` with ``hashes``. Raises ValueError with the reason."""
    kind = _OBSERVABLE_TYPES.get(observable_type.strip().lower())
    if kind is None:
        raise ValueError(f"unknown type {observable_type!r}; expected one of {', '.join(OBSERVABLE_TYPES)}")
    if kind in ("ip", "ipv4", "ipv6"):
        return _address_sco(value, None if kind == "ip" else int(kind[-1]))
    if kind == "domain":
        return _sco("domain-name", value=_domain(value))
    if kind == "url":
        return _sco("url", value=_url(value))
    if kind == "email":
        return _sco("email-addr", value=_email(value))
    digest = value.strip()
    if len(digest) != _HASH_LENGTHS[kind] or not _HEX_RE.match(digest):
        raise ValueError(f"not a {kind} hash ({_HASH_LENGTHS[kind]} hexadecimal digits): {value!r}")
    return _sco("file", hashes={kind: digest.lower()})


# ------------------------------------------------------------------------------------------- observations


def _observation(
    od_id: str, first: dt.datetime, last: dt.datetime, count: int, scos: Iterable[dict[str, Any]]
) -> Observation:
    objects: dict[str, dict[str, Any]] = {}
    for sco in scos:
        objects.setdefault(sco["id"], sco)
    stamp = format_stix_timestamp(last)
    sdo = {
        "type": "observed-data",
        "spec_version": "2.1",
        "id": od_id,
        "created": stamp,
        "modified": stamp,
        "first_observed": format_stix_timestamp(first),
        "last_observed": stamp,
        "number_observed": count,
        "object_refs": list(objects),
    }
    return Observation(od_id, first, last, count, objects, sdo)


def observations_to_bundles(observations: Iterable[Observation]) -> list[dict[str, Any]]:
    """Each observation as a STIX 2.1 bundle: its observed-data, then its SCOs (bundle id derived from the
    observed-data id, so it is stable too)."""
    bundles = []
    for obs in observations:
        values = (obs.id, obs.first_observed, obs.last_observed, obs.number_observed, obs.objects.values())
        sdo = obs.sdo or _observation(*values).sdo
        bundle_id = f"bundle--{uuid.uuid5(_BUNDLE_NAMESPACE, obs.id)}"
        bundles.append({"type": "bundle", "id": bundle_id, "objects": [sdo, *obs.objects.values()]})
    return bundles


# ------------------------------------------------------------------------------------------------ bundles


def observations_from_bundle(doc: Any) -> list[Observation]:
    """Every ``observed-data`` of a parsed STIX 2.1 bundle (or a list of bundles) with the SCOs its
    ``object_refs`` name that are present in the bundle(s). Raises one Invalid listing every problem."""
    problems = _Problems()
    bundles = [(f"[{i}].", b) for i, b in enumerate(doc)] if isinstance(doc, list) else [("", doc)]
    index: dict[str, dict[str, Any]] = {}
    observed: list[tuple[str, dict[str, Any]]] = []
    for prefix, bundle in bundles:
        for path, obj in _bundle_objects(prefix, bundle, problems):
            index.setdefault(obj["id"], obj)
            if obj["type"] == "observed-data":
                observed.append((path, obj))
    observations, seen = [], {}
    for path, sdo in observed:
        key = (sdo["id"], str(sdo.get("modified")))
        if seen.get(key) == sdo:  # the same object twice (a list of overlapping bundles)
            continue
        seen.setdefault(key, sdo)
        obs = _bundle_observation(path, sdo, index, problems)
        if obs is not None:
            observations.append(obs)
    problems.raise_if_any("invalid observed-data in the bundle")
    return observations


def _bundle_objects(prefix: str, bundle: Any, problems: _Problems) -> Iterator[tuple[str, dict[str, Any]]]:
    if not isinstance(bundle, dict) or bundle.get("type") != "bundle":
        problems.add(f"{prefix}type", 'not a STIX bundle (an object with "type": "bundle")')
        return
    objects = bundle.get("objects", [])
    if not isinstance(objects, list):
        problems.add(f"{prefix}objects", "must be a list of STIX objects")
        return
    for i, obj in enumerate(objects):
        path = f"{prefix}objects[{i}]"
        if isinstance(obj, dict) and isinstance(obj.get("type"), str) and isinstance(obj.get("id"), str):
            yield path, obj
        else:
            problems.add(path, "not a STIX object (an object with a string type and id)")


def _bundle_observation(
    path: str, sdo: dict[str, Any], index: Mapping[str, dict[str, Any]], problems: _Problems
) -> Observation | None:
    before = problems.total
    count = sdo.get("number_observed")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 999_999_999:
        problems.add(f"{path}.number_observed", "must be an integer from 1 to 999,999,999")
    first = _stix_property(sdo, "first_observed", path, problems)
    last = _stix_property(sdo, "last_observed", path, problems)
    if first and last and first > last:
        problems.add(f"{path}.last_observed", "is before first_observed")
    refs = sdo.get("object_refs")
    if "objects" in sdo:
        problems.add(
            f"{path}.objects",
            "the embedded 'objects' dictionary is deprecated in STIX 2.1 and not read; "
            "put the SCOs in the bundle and name them in object_refs",
        )
    elif not isinstance(refs, list) or not refs or not all(isinstance(r, str) for r in refs):
        problems.add(f"{path}.object_refs", "must be a non-empty list of object ids")
    if problems.total > before or first is None or last is None:
        return None
    # only SCOs: object_refs may also name relationships (SDOs and SROs carry 'created', SCOs do not)
    objects = {ref: index[ref] for ref in refs if ref in index and "created" not in index[ref]}
    return Observation(sdo["id"], first, last, count, objects, sdo)


def _stix_property(obj: Mapping[str, Any], name: str, path: str, problems: _Problems) -> dt.datetime | None:
    if name not in obj:
        problems.add(f"{path}.{name}", "missing")
        return None
    try:
        return parse_stix_timestamp(obj[name])
    except ValueError as e:
        problems.add(f"{path}.{name}", str(e))
        return None


# ------------------------------------------------------------------------------------------------ sources


class _LineFeed:
    """The lines of a source, numbered, with a look-ahead for format detection; reports progress."""

    def __init__(self, lines: Iterable[str], on_line: OnLine | None, stats: ImportStats) -> None:
        self._lines = iter(lines)
        self._pending: collections.deque[str] = collections.deque()
        self._on_line = on_line
        self._stats = stats
        self.number = 0

    def __iter__(self) -> _LineFeed:
        return self

    def __next__(self) -> str:
        line = self._pending.popleft() if self._pending else self._read()
        self.number += 1
        self._stats.lines = self.number
        if self._on_line is not None:
            self._on_line(self.number)
        return line

    def _read(self) -> str:
        try:
            return next(self._lines)
        except UnicodeDecodeError as e:
            raise Invalid("not UTF-8 text", [Problem("input", str(e), self.number + 1)]) from None

    def first_meaningful(self) -> str:
        """The first non-blank line, left to be read again."""
        while True:
            try:
                line = self._read()
            except StopIteration:
                return ""
            self._pending.append(line)
            if line.strip():
                return line


_PATH_SUFFIXES = {".json", ".jsonl", ".ndjson", ".csv", ".log", ".tsv", ".txt"}


def _is_path(source: Source) -> bool:
    """A ``PathLike``, or a one-line text naming an existing file; a one-line text that looks like a file name
    of a missing file is NotFound rather than read as content."""
    if isinstance(source, os.PathLike):
        return True
    if not isinstance(source, str) or "\n" in source or len(source) > 4096:
        return False
    if os.path.isfile(source):
        return True
    if Path(source).suffix.lower() in _PATH_SUFFIXES and not source.lstrip().startswith(("{", "[", "#")):
        raise NotFound(f"no such file: {source}")
    return False


@contextlib.contextmanager
def _open_lines(source: Source, is_path: bool) -> Iterator[Iterable[str]]:
    if is_path:
        try:
            f = open(source, encoding="utf-8-sig", newline="")  # noqa: SIM115 (closed below)
        except FileNotFoundError:
            raise NotFound(f"no such file: {os.fspath(source)}") from None  # type: ignore[arg-type]
        with f:
            yield f
    elif isinstance(source, str):
        yield io.StringIO(source.removeprefix("\ufeff"), newline="")
    else:
        yield source


# -------------------------------------------------------------------------------------------- the readers


def iter_observations(
    source: Source, kind: str = "auto", *, on_line: OnLine | None = None, stats: ImportStats | None = None
) -> Iterator[Observation]:
    """Observations from ``source`` (a ``Path``, a text, or an iterable of lines), read lazily.

    ``kind``: ``bundle``, ``jsonl``, ``csv``, ``zeek`` or ``auto`` (from the content: Zeek ``#`` headers or
    records, a bundle, observable rows; ``.csv`` files by extension). ``on_line(n)`` is called as line ``n`` is
    read; ``stats`` is filled in as the read goes. Problems raise one Invalid after the last line."""
    if kind not in (*KINDS, "auto"):
        raise ValueError(f"unknown input kind {kind!r}; expected auto, {', '.join(KINDS)}")
    stats = stats if stats is not None else ImportStats()
    is_path = _is_path(source)
    name = os.fspath(source) if is_path else ""  # type: ignore[arg-type]
    with _open_lines(source, is_path) as lines:
        feed = _LineFeed(lines, on_line, stats)
        if kind == "auto":
            kind = _detect(feed.first_meaningful(), name)
        yield from _READERS[kind](feed, stats)


def observations_from_observables(
    text_or_path: Source, fmt: str, *, on_line: OnLine | None = None, stats: ImportStats | None = None
) -> list[Observation]:
    """Every row of a bulk observable file (``fmt``: ``jsonl`` or ``csv`` with a header row) as an observation
    with one SCO; one Invalid listing the bad rows, by line, if there are any."""
    if fmt not in ("jsonl", "csv"):
        raise ValueError(f"unknown observable format {fmt!r}; expected jsonl or csv")
    return list(iter_observations(text_or_path, fmt, on_line=on_line, stats=stats))


def observations_from_zeek(
    text_or_path: Source, *, on_line: OnLine | None = None, stats: ImportStats | None = None
) -> list[Observation]:
    """Every usable record of a Zeek ``conn.log`` or ``dns.log`` (TSV or JSON lines) as an observation."""
    return list(iter_observations(text_or_path, "zeek", on_line=on_line, stats=stats))


_ZEEK_DNS_KEYS = frozenset({"query", "qtype", "qtype_name", "qclass", "rcode", "rcode_name", "trans_id", "answers"})
_ZEEK_CONN_KEYS = frozenset({"conn_state", "history", "orig_bytes", "resp_bytes", "orig_pkts", "missed_bytes"})


def _detect(first: str, name: str) -> str:
    text = first.strip().lstrip("\ufeff")
    if text.startswith("#"):
        return "zeek"
    if text.startswith("["):
        return "bundle"
    if text.startswith("{"):
        try:
            obj = json.loads(text)
        except ValueError:
            return "bundle"  # the first line of a pretty-printed document
        if isinstance(obj, dict) and obj.get("type") == "bundle":
            return "bundle"
        if isinstance(obj, dict) and _zeek_json_kind(obj):
            return "zeek"
        return "jsonl"
    cells = {c.strip().lower() for c in next(csv.reader([text]), [])}
    if name.lower().endswith(".csv") or {"type", "value"} <= cells:
        return "csv"
    if not text:
        return "jsonl"  # nothing to read: any reader yields nothing
    raise Invalid(
        "unknown input format",
        [Problem("kind", "not a STIX bundle, JSON lines or CSV observables, or a Zeek log; say which")],
    )


def _read_bundle(feed: _LineFeed, stats: ImportStats) -> Iterator[Observation]:
    text = "".join(feed)
    if not text.strip():
        return
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise Invalid("the bundle is not JSON", [Problem("document", str(e), getattr(e, "lineno", None))]) from None
    observations = observations_from_bundle(doc)
    stats.observations += len(observations)
    yield from observations


# ---------------------------------------------------------------------------------------- observable rows


def _read_jsonl(feed: _LineFeed, stats: ImportStats) -> Iterator[Observation]:
    problems = _Problems()
    now = dt.datetime.now(dt.UTC)
    for raw in feed:
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as e:
            problems.add("line", f"not JSON: {e}", feed.number)
            continue
        if not isinstance(row, dict):
            problems.add("line", "not a JSON object", feed.number)
            continue
        obs = _row_observation(row, feed.number, line, "jsonl", now, problems)
        if obs is not None:
            stats.observations += 1
            yield obs
    problems.raise_if_any("bad rows in the observable file")


class _Recorder:
    """Hands lines to csv.reader and remembers them, so a record's text and first line are known."""

    def __init__(self, feed: _LineFeed) -> None:
        self.feed = feed
        self.taken: list[str] = []
        self.first_line = 0

    def __iter__(self) -> _Recorder:
        return self

    def __next__(self) -> str:
        line = next(self.feed)
        if not self.taken:
            self.first_line = self.feed.number
        self.taken.append(line)
        return line

    def record(self) -> tuple[int, str]:
        text = "".join(self.taken).rstrip("\r\n")
        self.taken = []
        return self.first_line, text


def _read_csv(feed: _LineFeed, stats: ImportStats) -> Iterator[Observation]:
    problems = _Problems()
    now = dt.datetime.now(dt.UTC)
    recorder = _Recorder(feed)
    reader = csv.reader(recorder)
    header: list[str] | None = None
    try:
        for cells in reader:
            line, text = recorder.record()
            if not any(c.strip() for c in cells):
                continue
            if header is None:
                header = _csv_header(cells, line)
                continue
            row = {name: cell for name, cell in zip(header, cells, strict=False) if cell.strip()}
            obs = _row_observation(row, line, text, "csv", now, problems)
            if obs is not None:
                stats.observations += 1
                yield obs
    except csv.Error as e:
        problems.add("line", f"not CSV: {e}", feed.number)
    problems.raise_if_any("bad rows in the observable file")


def _csv_header(cells: list[str], line: int) -> list[str]:
    header = [c.strip().lower() for c in cells]
    missing = [name for name in ("type", "value") if name not in header]
    if missing:
        reason = f"the header row must name the columns type and value (missing: {', '.join(missing)})"
        raise Invalid("bad CSV header", [Problem("header", reason, line)])
    return header


def _row_observation(
    row: Mapping[str, Any], line: int, content: str, source: str, now: dt.datetime, problems: _Problems
) -> Observation | None:
    before = problems.total
    sco = _row_sco(row, line, problems)
    first = _row_time(row, "first_seen", line, problems)
    last = _row_time(row, "last_seen", line, problems)
    first, last = first or last or now, last or first or now
    if first > last:
        problems.add("last_seen", "is before first_seen", line)
    count = _row_count(row.get("count"), line, problems)
    if problems.total > before or sco is None or count is None:
        return None
    return _observation(_observed_data_id(source, line, content), first, last, count, [sco])


def _row_sco(row: Mapping[str, Any], line: int, problems: _Problems) -> dict[str, Any] | None:
    observable_type, value = row.get("type"), row.get("value")
    if not isinstance(observable_type, str) or not observable_type.strip():
        problems.add("type", "missing", line)
        return None
    if not isinstance(value, str) or not value.strip():
        problems.add("value", "missing (a text value is required)", line)
        return None
    try:
        return observable_sco(observable_type, value)
    except ValueError as e:
        field = "type" if observable_type.strip().lower() not in _OBSERVABLE_TYPES else "value"
        problems.add(field, str(e), line)
        return None


def _row_time(row: Mapping[str, Any], name: str, line: int, problems: _Problems) -> dt.datetime | None:
    value = row.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return _parse_any_timestamp(value)
    except ValueError as e:
        problems.add(name, str(e), line)
        return None


def _row_count(value: Any, line: int, problems: _Problems) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return 1
    if isinstance(value, str) and value.strip().isdecimal():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 999_999_999:
        problems.add("count", "must be an integer from 1 to 999,999,999", line)
        return None
    return value


# ---------------------------------------------------------------------------------------------- Zeek logs

_ZEEK_ESCAPE_RE = re.compile(r"\\x([0-9a-fA-F]{2})|\\\\")
_ZEEK_VECTOR_FIELDS = frozenset({"answers", "TTLs", "tunnel_parents"})  # when a log has no #types header
_ZEEK_FIELDS_READ = frozenset(
    {"ts", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service", "duration"}
    | {"query", "qtype_name", "answers"}
)
_ZEEK_REQUIRED = {
    "conn": ("ts", "id.orig_h", "id.resp_h", "proto"),
    "dns": ("ts", "id.orig_h", "id.resp_h", "query"),
}
_DNS_NAME_ANSWER_QTYPES = frozenset({"A", "AAAA", "CNAME", "*", "ANY"})


def _zeek_unescape(text: str) -> str:
    if "\\" not in text:
        return text
    return _ZEEK_ESCAPE_RE.sub(lambda m: chr(int(m.group(1), 16)) if m.group(1) else "\\", text)


class _ZeekTsv:
    """The header state of a Zeek ASCII log (headers may repeat: concatenated logs)."""

    def __init__(self) -> None:
        self.separator = "\t"
        self.set_separator = ","
        self.empty = "(empty)"
        self.unset = "-"
        self.path: str | None = None
        self.fields: list[str] | None = None
        self.types: list[str] | None = None
        self._plan: list[tuple[int, str, bool]] = []  # (column, field, is a set / vector) of the fields read

    def header(self, text: str, line: int) -> None:
        if text.startswith("#separator"):
            self.separator = _zeek_unescape(text[len("#separator") :].strip(" ")) or "\t"
            return
        name, _, rest = text[1:].partition(self.separator)
        values = rest.split(self.separator) if rest else []
        if name == "set_separator" and values:
            self.set_separator = _zeek_unescape(values[0])
        elif name == "empty_field" and values:
            self.empty = values[0]
        elif name == "unset_field" and values:
            self.unset = values[0]
        elif name == "path" and values:
            self.path = values[0]
            if self.path not in _ZEEK_REQUIRED:
                reason = f"a Zeek {self.path!r} log; only conn and dns logs are read"
                raise Invalid("unsupported Zeek log", [Problem("#path", reason, line)])
        elif name == "fields":
            self.fields, self.types = values, None
            self._make_plan()
        elif name == "types":
            self.types = values
            self._make_plan()

    def _make_plan(self) -> None:
        fields = self.fields or []
        types = self.types if self.types and len(self.types) == len(fields) else None
        self._plan = [
            (i, name, types[i].startswith(("set[", "vector[")) if types else name in _ZEEK_VECTOR_FIELDS)
            for i, name in enumerate(fields)
            if name in _ZEEK_FIELDS_READ
        ]

    def record(self, text: str, line: int, problems: _Problems) -> tuple[str, dict[str, Any]] | None:
        if self.fields is None:
            problems.add("line", "a record before the #fields header", line)
            return None
        cells = text.split(self.separator)
        if len(cells) != len(self.fields):
            problems.add("line", f"{len(cells)} fields where #fields names {len(self.fields)}", line)
            return None
        record: dict[str, Any] = {}
        for i, name, is_set in self._plan:
            cell = cells[i]
            if cell == self.unset:
                continue
            if cell == self.empty:
                record[name] = [] if is_set else ""
            elif is_set:
                record[name] = [_zeek_unescape(v) for v in cell.split(self.set_separator)]
            else:
                record[name] = _zeek_unescape(cell)
        kind = self.path or _zeek_json_kind(dict.fromkeys(self.fields))
        if kind is None:
            problems.add("line", "neither a conn nor a dns record (no #path header)", line)
            return None
        return kind, record


def _zeek_json_kind(record: Mapping[str, Any]) -> str | None:
    path = record.get("_path")
    if path in _ZEEK_REQUIRED:
        return str(path)
    keys = record.keys()
    if not _ZEEK_DNS_KEYS.isdisjoint(keys):
        return "dns"
    if not _ZEEK_CONN_KEYS.isdisjoint(keys) or ("proto" in keys and "duration" in keys):
        return "conn"
    return None


def _zeek_json(text: str, line: int, problems: _Problems) -> tuple[str, dict[str, Any]] | None:
    try:
        obj = json.loads(text)
    except ValueError as e:
        problems.add("line", f"not JSON: {e}", line)
        return None
    if not isinstance(obj, dict):
        problems.add("line", "not a JSON object", line)
        return None
    nested = obj.get("id")
    if isinstance(nested, dict):  # some shippers nest the connection 4-tuple: {"id": {"orig_h": ...}}
        obj = {**{k: v for k, v in obj.items() if k != "id"}, **{f"id.{k}": v for k, v in nested.items()}}
    record = {k: v for k, v in obj.items() if v is not None}
    kind = _zeek_json_kind(record)
    if kind is None:
        problems.add("line", "neither a Zeek conn nor a dns record", line)
        return None
    return kind, record


def _read_zeek(feed: _LineFeed, stats: ImportStats) -> Iterator[Observation]:
    problems = _Problems()
    tsv = _ZeekTsv()
    for raw in feed:
        text = raw.rstrip("\r\n")
        if not text.strip():
            continue
        if text.startswith("#"):
            tsv.header(text, feed.number)
            continue
        if text.lstrip().startswith("{"):
            parsed = _zeek_json(text, feed.number, problems)
        else:
            parsed = tsv.record(text, feed.number, problems)
        if parsed is None:
            continue
        kind, record = parsed
        if any(_zeek_unset(record.get(name)) for name in _ZEEK_REQUIRED[kind]):
            stats.skipped += 1
            continue
        convert = _zeek_conn if kind == "conn" else _zeek_dns
        obs = convert(record, _ZeekLine(feed.number, text, problems, stats))
        if obs is not None:
            stats.observations += 1
            yield obs
    problems.raise_if_any("malformed lines in the Zeek log")


def _zeek_unset(value: Any) -> bool:
    return value is None or value == "" or value == []


@dataclass
class _ZeekLine:
    number: int
    text: str
    problems: _Problems
    stats: ImportStats

    def value(self, name: str, value: Any, parse: Callable[[Any], Any]) -> Any:
        """``parse(value)``, or None (and a problem) when it raises ValueError; None stays None."""
        if value is None:
            return None
        try:
            return parse(value)
        except (ValueError, TypeError) as e:
            self.problems.add(name, str(e), self.number)
            return None


def _port(value: Any) -> int:
    if isinstance(value, str) and value.strip().isdecimal():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
        raise ValueError(f"not a port number: {value!r}")
    return value


def _interval(value: Any) -> dt.timedelta:
    seconds = _seconds(value)
    if seconds is None or seconds < 0:
        raise ValueError(f"not a duration in seconds: {value!r}")
    return dt.timedelta(microseconds=int(seconds.scaleb(6).to_integral_value()))


def _zeek_endpoints(record: Mapping[str, Any], line: _ZeekLine) -> tuple[Any, ...]:
    before = line.problems.total
    start = line.value("ts", record["ts"], _epoch)
    src = line.value("id.orig_h", record["id.orig_h"], _address_sco)
    dst = line.value("id.resp_h", record["id.resp_h"], _address_sco)
    src_port = line.value("id.orig_p", record.get("id.orig_p"), _port)
    dst_port = line.value("id.resp_p", record.get("id.resp_p"), _port)
    return line.problems.total == before, start, src, dst, src_port, dst_port


def _zeek_conn(record: Mapping[str, Any], line: _ZeekLine) -> Observation | None:
    """conn.log: a ``network-traffic`` (orig -> resp, ports, ``[proto, *services]``, start / end) and the two
    addresses; observed from ``ts`` to ``ts + duration``."""
    ok, start, src, dst, src_port, dst_port = _zeek_endpoints(record, line)
    duration = line.value("duration", record.get("duration"), _interval)
    if not ok or (record.get("duration") is not None and duration is None):
        return None
    proto = str(record["proto"]).strip().lower()
    protocols = [proto, *_services(record.get("service"))]
    end = start + duration if duration is not None else None
    ports = (None, None) if proto == "icmp" else (src_port, dst_port)  # Zeek logs ICMP type / code as ports
    traffic = _traffic(start, end, src, dst, ports, protocols)
    od_id = _observed_data_id("zeek", line.number, line.text)
    return _observation(od_id, start, end or start, 1, [traffic, src, dst])


def _services(value: Any) -> list[str]:
    names = value if isinstance(value, list) else str(value or "").split(",")
    # Zeek marks a service whose analyzer failed with a leading '-': not a protocol of the connection
    out = [n.strip().lower() for n in names if n and n.strip() and not n.strip().startswith("-")]
    return list(dict.fromkeys(out))


def _traffic(
    start: dt.datetime,
    end: dt.datetime | None,
    src: dict[str, Any],
    dst: dict[str, Any],
    ports: tuple[int | None, int | None],
    protocols: list[str],
) -> dict[str, Any]:
    props: dict[str, Any] = {"start": _sco_timestamp(start)}
    if end is not None:
        props |= {"end": _sco_timestamp(end), "is_active": False}
    props |= {"src_ref": src["id"], "dst_ref": dst["id"]}
    if ports[0] is not None:
        props["src_port"] = ports[0]
    if ports[1] is not None:
        props["dst_port"] = ports[1]
    props["protocols"] = list(dict.fromkeys(protocols))
    return _sco("network-traffic", **props)


def _zeek_dns(record: Mapping[str, Any], line: _ZeekLine) -> Observation | None:
    """dns.log: a ``domain-name`` for the query resolving to its address answers (and to names for A / AAAA /
    CNAME answers), those SCOs, and the ``network-traffic`` of the query; observed at ``ts``."""
    ok, start, src, dst, src_port, dst_port = _zeek_endpoints(record, line)
    if not ok:
        return None
    try:
        query = _domain(str(record["query"]))
    except ValueError:
        line.stats.skipped += 1  # Zeek logs what was asked, garbage included: not a domain name to match
        return None
    answers = _dns_answers(record)
    if record.get("qtype_name") not in (None, *_DNS_NAME_ANSWER_QTYPES):
        answers = [a for a in answers if a["type"] != "domain-name"]
    domain = _sco("domain-name", value=query)
    if answers:
        domain["resolves_to_refs"] = list(dict.fromkeys(a["id"] for a in answers))
    proto = str(record.get("proto") or "").strip().lower()
    protocols = [proto, "dns"] if proto else ["dns"]
    traffic = _traffic(start, None, src, dst, (src_port, 53 if dst_port is None else dst_port), protocols)
    od_id = _observed_data_id("zeek", line.number, line.text)
    return _observation(od_id, start, start, 1, [domain, *answers, traffic, src, dst])


def _dns_answers(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    raw = record.get("answers") or []
    values = raw if isinstance(raw, list) else str(raw).split(",")
    answers = []
    for value in values:
        text = str(value).strip()
        try:
            answers.append(_address_sco(text))
            continue
        except ValueError:
            pass
        with contextlib.suppress(ValueError):  # TXT, MX preference strings and the like are not names
            answers.append(_sco("domain-name", value=_domain(text)))
    return answers


_READERS: dict[str, Callable[[_LineFeed, ImportStats], Iterator[Observation]]] = {
    "bundle": _read_bundle,
    "jsonl": _read_jsonl,
    "csv": _read_csv,
    "zeek": _read_zeek,
}
