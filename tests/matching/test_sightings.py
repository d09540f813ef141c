"""Sightings, the domain service (SQLite and PostgreSQL, real databases): aggregation over batches, idempotence per
observed-data, suppression by warning lists, atomic batches, incident links, valid STIX, sharing into the hub
under the indicator's TLP (checked through the hub's own query functions), refusals, and who may see what."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select
from stix2validator import ValidationOptions, validate_instance

from accord.audit.models import AuditEntry
from accord.audit.service import SYSTEM, Actor
from accord.auth import service as accounts
from accord.config import Settings
from accord.core.errors import Conflict, Forbidden, Invalid, NotFound, ReferenceNotFound
from accord.db import make_sessionmaker, unit_of_work
from accord.incidents.models import Incident
from accord.matching import sightings
from accord.matching.models import Sighting, SightingObservation
from accord.matching.types import Evidence, Match
from accord.sharing import service as sharing
from accord.sharing import tlp
from accord.sharing.models import ShareRecipient, StixObject

from ..conftest_helpers import PASSWORD

T0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)
MARK = {level: mid for mid, level in tlp.TLP2_IDS.items()}
ACTOR = Actor("matcher")


def sid(kind: str) -> str:
    return f"{kind}--{uuid.uuid4()}"


def at(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


def match(indicator: str, ods: list[str], start: float, end: float, count: int, *values: str) -> Match:
    evidence = tuple(Evidence("ipv4-addr", "value", v) for v in values)
    return Match(indicator, tuple(ods), at(start), at(end), count, evidence)


@dataclass(frozen=True)
class Hit:
    list_id: str
    name: str
    matched: str


class WarningLists:
    """A tiny real warning-list checker: exact values per list (the shape of accord.matching.warninglists)."""

    def __init__(self, lists: dict[str, tuple[str, set[str]]]) -> None:
        self.lists = lists
        self.asked: list[tuple[str, str | None]] = []

    def check(self, value: str, kind: str | None = None) -> list[Hit]:
        self.asked.append((value, kind))
        return [Hit(lid, name, value) for lid, (name, values) in self.lists.items() if value in values]


class Broken:
    def check(self, value: str, kind: str | None = None) -> list[Hit]:
        raise RuntimeError("the warning lists could not be read")


@dataclass
class Hub:
    engine: Any
    collection: str
    parties: dict[str, int]
    users: dict[str, Any]


def make_hub(engine: Any, tag: str) -> Hub:
    """A community collection: the indicators' producer (read/write), a member (read), this node's CERT
    (read/write: it shares sightings back), an outsider, and a client declared by the member."""
    parties, users = {}, {}
    with unit_of_work(make_sessionmaker(engine)) as s:
        for name in ("producer", "member", "cert", "outsider", "client"):
            party = sharing.create_party(s, key=f"{name}-{tag}", name=f"{name} {tag}", state_code="EE")
            user = accounts.create_user(s, username=f"{name}-{tag}", password=PASSWORD, role="analyst")
            user.party_id = party.id
            parties[name], users[name] = party.id, accounts.get_user(s, user.username)
        community = sharing.create_community(s, name=f"Sightings {tag}")
        for name, write in (("producer", True), ("member", False), ("cert", True)):
            sharing.set_member(s, community.id, parties[name], can_read=True, can_write=write)
        sharing.declare_client(s, parties["member"], parties["client"])
        coll = sharing.create_collection(s, community_id=community.id, title=f"Indicators {tag}").id
    return Hub(engine, coll, parties, users)


def indicator(level: str | None, n: int = 1) -> dict[str, Any]:
    obj = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": sid("indicator"),
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "name": f"C2 server {n}",
        "pattern": f"[ipv4-addr:value = '198.51.100.{n}']",
        "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
    }
    if level:
        obj["object_marking_refs"] = [MARK[level]]
    return obj


def publish(hub: Hub, obj: dict[str, Any], recipients: list[str] | None = None) -> str:
    """The producer shares an indicator into the collection (through the hub's ingest)."""
    with unit_of_work(make_sessionmaker(hub.engine)) as s:
        coll = sharing.get_collection(s, hub.collection)
        result = sharing.ingest(
            s,
            coll,
            [obj],
            actor=SYSTEM,
            producer_party_id=hub.parties["producer"],
            provenance="test",
            unmarked="red",
            recipients=None if recipients is None else [hub.parties[r] for r in recipients],
        )
        assert not result.failures, result.failures
    return str(obj["id"])


def record(engine: Any, matches: list[Match], lists: Any = None) -> sightings.RecordResult:
    with unit_of_work(make_sessionmaker(engine)) as s:
        return sightings.record(s, matches, warning_lists=lists, actor=ACTOR)


def load(engine: Any, indicator_id: str) -> Sighting:
    with make_sessionmaker(engine)() as s:
        row = s.scalar(select(Sighting).where(Sighting.indicator_id == indicator_id))
        assert row is not None
        row.observations, row.shares  # noqa: B018 - loaded before the session closes
        return row


def visible_ids(hub: Hub, who: str) -> set[str]:
    """What ``who`` may see in the collection, through the hub's own query function."""
    with make_sessionmaker(hub.engine)() as s:
        coll = sharing.get_collection(s, hub.collection)
        rdr = sharing.reader(s, hub.users[who], coll)
        page = sharing.query_objects(s, coll, rdr, sharing.ObjectQuery(versions=["all"]), limit=1000)
        return {r.stix_id for r in page.rows}


def stix_valid(obj: dict[str, Any]) -> None:
    result = validate_instance(obj, ValidationOptions(version="2.1"))
    assert result.is_valid, (obj, [str(e) for e in result.errors])


def new_incident(engine: Any, tag: str) -> int:
    with unit_of_work(make_sessionmaker(engine)) as s:
        incident = Incident(
            slug=f"sightings-{tag}",
            name=f"Sightings test {tag}",
            operation_type="espionage",
            sources=["https://example.org/incident"],
            as_of=dt.date(2026, 1, 1),  # a complete record: the dataset checks run on this database too
        )
        s.add(incident)
        s.flush()
        return incident.id


# ---------------------------------------------------------------- aggregation and idempotence


def test_batches_aggregate_into_one_sighting_per_indicator(engine: Any) -> None:
    ind, other = sid("indicator"), sid("indicator")
    od = [sid("observed-data") for _ in range(4)]
    first = record(
        engine,
        [match(ind, [od[0]], 1, 2, 2, "198.51.100.1"), match(ind, [od[1]], 3, 4, 3, "198.51.100.1"),
         match(other, [od[0]], 0, 1, 1, "203.0.113.9")],
    )  # fmt: skip
    assert (first.created, first.observations, first.duplicates) == (2, 3, 0)
    s1 = load(engine, ind)
    assert (s1.count, s1.first_seen, s1.last_seen, s1.suppressed) == (5, at(1), at(4), False)
    assert s1.stix_id.startswith("sighting--") and s1.created == s1.modified
    assert s1.where_sighted_ref == sightings.node_identity(Settings())["id"]

    # the second batch repeats od[1] and brings a match binding od[1] (again) and two new observed-data
    second = record(engine, [match(ind, [od[1]], 3, 4, 3), match(ind, [od[1], od[2], od[3]], 0.5, 9, 7)])
    assert (second.created, second.observations, second.duplicates) == (0, 2, 2)
    s2 = load(engine, ind)
    # 7 split over three observed-data: 3, 2, 2; the already-counted first third is not counted again
    assert (s2.count, s2.first_seen, s2.last_seen) == (5 + 2 + 2, at(0.5), at(9))
    assert sorted(o.observed_data_id for o in s2.observations) == sorted(od)
    assert s2.created == s1.created and s2.modified > s1.modified
    assert load(engine, other).count == 1


def test_recording_the_same_batch_twice_counts_once(engine: Any) -> None:
    ind = sid("indicator")
    batch = [match(ind, [sid("observed-data")], 1, 2, 4, "198.51.100.7") for _ in range(3)]
    record(engine, batch)
    before = load(engine, ind)
    again = record(engine, batch)
    after = load(engine, ind)
    assert (again.created, again.observations, again.duplicates) == (0, 0, 3)
    assert (after.count, after.modified, len(after.observations)) == (12, before.modified, 3)


def test_a_malformed_batch_writes_nothing(engine: Any) -> None:
    good, bad_od = sid("indicator"), sid("observed-data")
    batch = [
        match(good, [sid("observed-data")], 1, 2, 1),
        Match("indicator--not-a-uuid", (bad_od,), at(1), at(2), 1),
        Match(sid("indicator"), (), at(1), at(2), 0),
        Match(sid("indicator"), ("malware--" + str(uuid.uuid4()),), at(3), at(2), 1),
        Match(sid("indicator"), (sid("observed-data"),), dt.datetime(2026, 1, 1), at(2), 1),
    ]
    with pytest.raises(Invalid) as caught:
        record(engine, batch)
    fields = {p.field for p in caught.value.problems}
    assert fields == {
        "matches[1].indicator_id",
        "matches[2].observed_data_ids",
        "matches[2].count",
        "matches[3].observed_data_ids",
        "matches[3].last_seen",
        "matches[4].first_seen",
    }
    with make_sessionmaker(engine)() as s:
        assert s.scalar(select(Sighting.id).where(Sighting.indicator_id == good)) is None


def test_a_failing_warning_list_writes_nothing(engine: Any) -> None:
    ind = sid("indicator")
    batch = [match(sid("indicator"), [sid("observed-data")], 1, 2, 1, "x"), match(ind, [sid("observed-data")], 1, 2, 1)]
    with pytest.raises(RuntimeError):
        record(engine, batch, Broken())
    with make_sessionmaker(engine)() as s:
        assert s.scalar(select(func.count()).select_from(Sighting).where(Sighting.indicator_id == ind)) == 0


# ---------------------------------------------------------------- warning lists


def test_matches_on_warning_lists_are_suppressed_counted_apart_and_explained(engine: Any) -> None:
    lists = WarningLists({"dns": ("Public DNS resolvers", {"8.8.8.8", "1.1.1.1"}), "cdn": ("CDN ranges", {"1.1.1.1"})})
    quiet, mixed = sid("indicator"), sid("indicator")
    result = record(
        engine,
        [
            match(quiet, [sid("observed-data")], 1, 2, 3, "8.8.8.8"),
            match(quiet, [sid("observed-data")], 5, 6, 1, "1.1.1.1"),
            match(mixed, [sid("observed-data")], 1, 2, 2, "8.8.8.8", "198.51.100.66"),  # one value not listed
            match(mixed, [sid("observed-data")], 7, 8, 4, "8.8.8.8"),
            match(mixed, [sid("observed-data")], 9, 9, 1),  # no values: nothing to suppress on
        ],
        lists,
    )
    assert (result.observations, result.suppressed) == (2, 3)
    assert ("8.8.8.8", "ip") in lists.asked  # each value is asked as the kind its SCO type says
    s = load(engine, quiet)
    assert (s.suppressed, s.count, s.suppressed_count) == (True, 0, 4)
    assert (s.first_seen, s.last_seen) == (at(1), at(6))
    assert s.suppressed_by == [
        {"list_id": "dns", "name": "Public DNS resolvers", "value": "8.8.8.8"},
        {"list_id": "dns", "name": "Public DNS resolvers", "value": "1.1.1.1"},
        {"list_id": "cdn", "name": "CDN ranges", "value": "1.1.1.1"},
    ]
    by_time = {o.first_seen: o for o in s.observations}
    assert [h["name"] for h in by_time[at(5)].suppressed_by] == ["Public DNS resolvers", "CDN ranges"]
    m = load(engine, mixed)
    assert (m.suppressed, m.count, m.suppressed_count, m.first_seen, m.last_seen) == (False, 3, 4, at(1), at(9))
    assert m.suppressed_by == [{"list_id": "dns", "name": "Public DNS resolvers", "value": "8.8.8.8"}]
    stix = sightings.to_stix(m)
    assert stix["count"] == 3 and len(stix["observed_data_refs"]) == 2  # suppressed observed-data left out


def test_the_built_in_warning_lists_suppress_private_addresses(engine: Any) -> None:
    from accord.matching.warninglists import WarningLists as Lists

    private, public, named = sid("indicator"), sid("indicator"), sid("indicator")
    resolved = Evidence("ipv4-addr", "resolves_to_refs[*].value", "10.1.2.3")
    dns = (Evidence("domain-name", "value", "c2.evil-corp.net"), resolved)  # one value listed, one not
    record(
        engine,
        [match(private, [sid("observed-data")], 1, 2, 1, "10.1.2.3", "192.168.0.7"),
         match(public, [sid("observed-data")], 1, 2, 1, "10.1.2.3", "45.142.212.61"),
         Match(named, (sid("observed-data"),), at(1), at(2), 1, dns)],
        Lists("builtin"),
    )  # fmt: skip
    s = load(engine, private)
    assert s.suppressed and {h["list_id"] for h in s.suppressed_by} == {"accord:private-addresses"}
    assert {h["value"] for h in s.suppressed_by} == {"10.1.2.3", "192.168.0.7"}
    assert not load(engine, public).suppressed and not load(engine, named).suppressed
    assert sightings.value_kind("file", "hashes.'SHA-256'") == "hash"


def test_without_warning_lists_nothing_is_suppressed(engine: Any) -> None:
    ind = sid("indicator")
    record(engine, [match(ind, [sid("observed-data")], 1, 2, 3, "8.8.8.8")])
    assert (load(engine, ind).suppressed, load(engine, ind).count) == (False, 3)


# ---------------------------------------------------------------- incidents


def test_link_and_unlink_an_incident_are_audited(engine: Any, unique: str) -> None:
    ind = sid("indicator")
    record(engine, [match(ind, [sid("observed-data")], 1, 2, 1)])
    incident = new_incident(engine, unique)
    factory = make_sessionmaker(engine)
    with unit_of_work(factory) as s:
        row = sightings.get_sighting(s, load(engine, ind).stix_id)
        modified = row.modified
        sightings.link_incident(s, row, incident_id=incident, actor=ACTOR)
        with pytest.raises(ReferenceNotFound) as caught:
            sightings.link_incident(s, row, incident_id=2**31 - 1, actor=ACTOR)
        assert [p.field for p in caught.value.problems] == ["incident_id"]
    with factory() as s:
        page = sightings.list_sightings(s, user=None, filters=sightings.SightingFilter(incident=incident))
        assert [x.indicator_id for x in page.items] == [ind]
        assert page.items[0].modified == modified  # the STIX object does not change with the link
    with unit_of_work(factory) as s:
        sightings.unlink_incident(s, sightings.get_sighting(s, load(engine, ind).id), actor=ACTOR)
    with factory() as s:
        assert sightings.list_sightings(s, user=None, filters=sightings.SightingFilter(incident=incident)).items == []
        key = load(engine, ind).stix_id
        query = select(AuditEntry).where(AuditEntry.resource == "sightings", AuditEntry.key == key)
        entries = s.scalars(query.order_by(AuditEntry.id)).all()
        assert [(e.action, e.before, e.after) for e in entries] == [
            ("link-incident", {"incident_id": None}, {"incident_id": incident}),
            ("unlink-incident", {"incident_id": incident}, {"incident_id": None}),
        ]


# ---------------------------------------------------------------- STIX


def test_sightings_are_valid_stix(engine: Any, unique: str) -> None:
    hub = make_hub(engine, unique)
    shared = publish(hub, indicator("amber"))
    local = sid("indicator")
    lists = WarningLists({"dns": ("Public DNS resolvers", {"8.8.8.8"})})
    quiet = sid("indicator")
    record(
        engine,
        [match(shared, [sid("observed-data"), sid("observed-data")], 1, 3, 5, "198.51.100.1"),
         match(local, [sid("observed-data")], 2, 2, 1, "203.0.113.5"),
         match(quiet, [sid("observed-data")], 2, 2, 1, "8.8.8.8")],
        lists,
    )  # fmt: skip
    marked, unmarked, suppressed = (sightings.to_stix(load(engine, i)) for i in (shared, local, quiet))
    for obj in (marked, unmarked, suppressed, sightings.node_identity(Settings())):
        stix_valid(obj)
    assert marked["object_marking_refs"] == [MARK["amber"]]
    assert (marked["sighting_of_ref"], marked["count"], len(marked["observed_data_refs"])) == (shared, 5, 2)
    assert marked["where_sighted_refs"] == [sightings.node_identity(Settings())["id"]]
    assert (marked["first_seen"], marked["last_seen"]) == ("2026-03-01T09:00:00.000000Z", "2026-03-01T11:00:00.000000Z")
    assert "object_marking_refs" not in unmarked
    assert suppressed["count"] == 0 and "observed_data_refs" not in suppressed


def test_the_node_identity_is_deterministic() -> None:
    a = sightings.node_identity(Settings(public_url="https://node.example.org/"))
    b = sightings.node_identity(Settings(public_url="https://node.example.org", node_title="Renamed"))
    c = sightings.node_identity(Settings(public_url="https://other.example.org"))
    assert a["id"] == b["id"] != c["id"] and a["id"].startswith("identity--")


# ---------------------------------------------------------------- sharing back through the hub


def share(hub: Hub, indicator_id: str, who: str = "cert") -> Any:
    with unit_of_work(make_sessionmaker(hub.engine)) as s:
        row = sightings.get_sighting(s, load(hub.engine, indicator_id).id)
        user = hub.users[who]
        return sightings.share(
            s, row, actor=Actor.of(user), party_id=user.party_id, identity=sightings.node_identity(Settings())
        )


def test_a_green_sighting_is_shared_into_the_indicators_collection(engine: Any, unique: str) -> None:
    hub = make_hub(engine, unique)
    ind = publish(hub, indicator("green"))
    record(engine, [match(ind, [sid("observed-data")], 1, 2, 2, "198.51.100.1")])
    s = load(engine, ind)
    assert (s.collection_id, s.tlp, s.producer_party_id) == (hub.collection, "green", hub.parties["producer"])
    row = share(hub, ind)
    assert (row.collection_id, row.tlp, row.recipients) == (hub.collection, "green", [])
    assert row.shared_by == f"cert-{unique}"
    assert row.version == sightings.stix_time(s.modified)
    for who, sees in (("member", True), ("producer", True), ("cert", True), ("outsider", False), ("client", False)):
        assert (s.stix_id in visible_ids(hub, who)) is sees, who
    with make_sessionmaker(engine)() as db:
        stored = db.scalar(select(StixObject).where(StixObject.stix_id == s.stix_id))
        assert stored is not None and stored.tlp == "green" and stored.producer_party_id == hub.parties["cert"]
        stix_valid(json.loads(stored.body))
        assert db.scalar(select(AuditEntry.after).where(AuditEntry.action == "share", AuditEntry.key == s.stix_id)) == {
            "collection": hub.collection,
            "version": row.version,
            "tlp": "green",
            "recipients": [],
        }
    assert sightings.node_identity(Settings())["id"] in visible_ids(hub, "member")  # where_sighted_refs resolves

    # the same version again is refused; a new observation makes a new version, shared as such
    with pytest.raises(Conflict, match="already shared"):
        share(hub, ind)
    record(engine, [match(ind, [sid("observed-data")], 5, 6, 1)])
    share(hub, ind)
    with make_sessionmaker(engine)() as db:
        versions = db.scalars(select(StixObject.version).where(StixObject.stix_id == s.stix_id)).all()
        assert len(versions) == 2
    assert len(load(engine, ind).shares) == 2


def test_a_red_sighting_reaches_only_the_indicators_producer(engine: Any, unique: str) -> None:
    hub = make_hub(engine, unique)
    ind = publish(hub, indicator("red"), recipients=["cert"])  # RED, named to this node's CERT
    record(engine, [match(ind, [sid("observed-data")], 1, 2, 1, "198.51.100.1")])
    row = share(hub, ind)
    assert (row.tlp, row.recipients) == ("red", [hub.parties["producer"]])
    stix_id = load(engine, ind).stix_id
    seen = {who: stix_id in visible_ids(hub, who) for who in ("producer", "cert", "member", "outsider", "client")}
    assert seen == {"producer": True, "cert": True, "member": False, "outsider": False, "client": False}
    assert ind not in visible_ids(hub, "member")  # as the indicator itself


def test_an_amber_sighting_goes_to_the_producer_only(engine: Any, unique: str) -> None:
    hub = make_hub(engine, unique)
    ind = publish(hub, indicator("amber"))  # AMBER to the community by default: member and its client see it
    assert ind in visible_ids(hub, "member") and ind in visible_ids(hub, "client")
    record(engine, [match(ind, [sid("observed-data")], 1, 2, 1)])
    share(hub, ind)
    stix_id = load(engine, ind).stix_id
    seen = {who: stix_id in visible_ids(hub, who) for who in ("producer", "cert", "member", "outsider", "client")}
    assert seen == {"producer": True, "cert": True, "member": False, "outsider": False, "client": False}
    with make_sessionmaker(engine)() as db:
        share_id = db.scalar(select(StixObject.share_id).where(StixObject.stix_id == stix_id))
        named = select(ShareRecipient.party_id, ShareRecipient.named).where(ShareRecipient.share_id == share_id)
        recipients = db.execute(named).all()
        assert recipients == [(hub.parties["producer"], True)]


def test_refusals_write_nothing_to_the_hub(engine: Any, unique: str) -> None:
    hub = make_hub(engine, unique)
    listed = publish(hub, indicator("green", 1))
    green = publish(hub, indicator("green", 2))
    local = sid("indicator")
    record(
        engine,
        [match(listed, [sid("observed-data")], 1, 2, 1, "8.8.8.8"), match(local, [sid("observed-data")], 1, 2, 1),
         match(green, [sid("observed-data")], 1, 2, 1)],
        WarningLists({"dns": ("Public DNS resolvers", {"8.8.8.8"})}),
    )  # fmt: skip

    def hub_rows() -> int:
        with make_sessionmaker(engine)() as db:
            return int(db.scalar(select(func.count()).select_from(StixObject)) or 0)

    before = hub_rows()
    with pytest.raises(Conflict, match="warning list"):
        share(hub, listed)
    with pytest.raises(Conflict, match="known only to this node"):
        share(hub, local)
    with pytest.raises(Forbidden, match="may not add objects"):
        share(hub, green, who="member")  # read-only member of the community
    with pytest.raises(Forbidden):
        share(hub, green, who="outsider")
    assert hub_rows() == before
    with make_sessionmaker(engine)() as db:
        assert sightings.share_refusal(db, sightings.get_sighting(db, load(engine, green).id)) is None


# ---------------------------------------------------------------- who sees which sighting


def test_readers_see_the_sightings_of_the_indicators_they_may_see(engine: Any, unique: str) -> None:
    hub = make_hub(engine, unique)
    red = publish(hub, indicator("red"), recipients=["cert"])
    green = publish(hub, indicator("green"))
    local = sid("indicator")
    record(engine, [match(i, [sid("observed-data")], 1, 2, 1) for i in (red, green, local)])
    with make_sessionmaker(engine)() as s:

        def seen(who: str) -> set[str]:
            user = hub.users[who]
            mine = {red, green, local}
            return {x.indicator_id for x in sightings.list_sightings(s, user=user, limit=1000).items} & mine

        assert seen("cert") == seen("producer") == {red, green, local}
        assert seen("member") == {green, local}
        assert seen("outsider") == {local}
        red_id = load(engine, red).id
        with pytest.raises(NotFound):
            sightings.get_sighting(s, red_id, user=hub.users["member"])
        views = sightings.indicator_views(s, [red, green, local], user=hub.users["member"])
        assert (views[green].visible, views[green].name, views[green].tlp) == (True, "C2 server 1", "green")
        assert (views[red].in_hub, views[red].visible, views[red].name) == (True, False, "")
        assert (views[local].in_hub, views[local].visible) == (False, False)
        with pytest.raises(NotFound):
            sightings.indicator_view(s, red, user=hub.users["outsider"])


def test_filters_and_pages(engine: Any, unique: str) -> None:
    incident = new_incident(engine, unique)
    inds = [sid("indicator") for _ in range(5)]
    lists = WarningLists({"dns": ("Public DNS resolvers", {"8.8.8.8"})})
    batch = [match(i, [sid("observed-data")], n, n + 0.5, 1, "8.8.8.8" if n == 4 else "x") for n, i in enumerate(inds)]
    record(engine, batch, lists)
    factory = make_sessionmaker(engine)
    with unit_of_work(factory) as s:
        for i in inds:
            sightings.link_incident(s, sightings.get_sighting(s, load(engine, i).id), incident_id=incident, actor=ACTOR)
    with factory() as s:
        f = sightings.SightingFilter(incident=incident)
        walked, cursor = [], None
        while True:
            page = sightings.list_sightings(s, user=None, filters=f, cursor=cursor, limit=2)
            walked += [x.indicator_id for x in page.items]
            if not page.next_cursor:
                break
            cursor = page.next_cursor
        assert walked == inds[::-1]  # most recently seen first, each once
        assert sightings.count_sightings(s, user=None, filters=f) == 5

        def ids(**extra: Any) -> list[str]:
            flt = sightings.SightingFilter(incident=incident, **extra)
            return [x.indicator_id for x in sightings.list_sightings(s, user=None, filters=flt).items]

        assert ids(suppressed=True) == [inds[4]]
        assert ids(suppressed=False, since=at(2)) == [inds[3], inds[2]]
        assert ids(indicator=inds[1]) == [inds[1]]
        assert ids(shared=True) == []
        with pytest.raises(sightings.InvalidCursor):
            sightings.list_sightings(s, user=None, filters=f, cursor="bm9wZQ")


def test_observations_are_unique_per_sighting(engine: Any) -> None:
    """The database itself refuses a second row for the same (sighting, observed-data)."""
    from sqlalchemy.exc import IntegrityError

    ind, od = sid("indicator"), sid("observed-data")
    record(engine, [match(ind, [od], 1, 2, 1)])
    with make_sessionmaker(engine)() as s:
        row = SightingObservation(sighting_id=load(engine, ind).id, observed_data_id=od, count=1)
        s.add(row)
        row.first_seen = row.last_seen = at(1)
        with pytest.raises(IntegrityError):
            s.flush()
