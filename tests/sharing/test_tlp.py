"""TLP 2.0 enforced by the server: hand-worked cases, then a property test across every TAXII face."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from accord.db import make_sessionmaker, unit_of_work
from accord.sharing import federation as sharing_federation
from accord.sharing import service as sharing
from accord.sharing import tlp

from ..conftest_helpers import PASSWORD, login
from .conftest import TAXII, indicator, make_hub

IDS = {level: mid for mid, level in tlp.TLP2_IDS.items()}
TLP1 = {level: mid for mid, level in tlp.TLP1_IDS.items()}
READERS = ("producer", "member", "outsider", "client", "noparty")


def visible_ids(hub, who):
    c = hub.client(who)
    seen, token = set(), None
    while True:
        body = c.get(
            hub.url("objects/"), params={"match[version]": "all", "limit": 50} | ({"next": token} if token else {})
        ).json()
        seen |= {o["id"] for o in body.get("objects", [])}
        if not body["more"]:
            return seen
        token = body["next"]


def test_levels_by_reader(hub):
    objs = {level: indicator(i, markings=[IDS[level]]) for i, level in enumerate(tlp.LEVELS)}
    hub.post("producer", list(objs.values()))
    expected = {
        "producer": set(tlp.LEVELS),  # the producer always sees what it shared
        "member": {"clear", "green", "amber", "amber+strict"},  # AMBER default recipients: the community
        "client": {"clear", "amber"},  # a declared client of a recipient: AMBER, not AMBER+STRICT
        "outsider": {"clear"},
        "noparty": {"clear"},
    }
    for who, levels in expected.items():
        assert visible_ids(hub, who) == {objs[lv]["id"] for lv in levels}, who


def test_tlp1_ids_and_most_restrictive_marking(hub):
    white, amber1 = indicator(1, markings=[TLP1["clear"]]), indicator(2, markings=[TLP1["amber"]])
    both = indicator(3, markings=[IDS["green"], IDS["red"]])
    hub.post("producer", [white, amber1, both])
    assert visible_ids(hub, "outsider") == {white["id"]}
    assert visible_ids(hub, "member") == {white["id"], amber1["id"]}


def test_unmarked_objects_take_the_restrictive_default(hub):
    bare = indicator(1, markings=[])
    assert "object_marking_refs" not in bare
    hub.post("producer", [bare])
    assert visible_ids(hub, "member") == set()
    assert visible_ids(hub, "producer") == {bare["id"]}


def test_red_goes_only_to_named_recipients(hub):
    red = indicator(1, markings=[IDS["red"]])
    with unit_of_work(make_sessionmaker(hub.engine)) as s:
        coll = sharing.get_collection(s, hub.collection)
        sharing.ingest(
            s,
            coll,
            [red],
            actor=sharing.audit.SYSTEM,
            producer_party_id=hub.parties["producer"],
            provenance="test",
            unmarked="red",
            recipients=[hub.parties["outsider"]],
        )
    assert red["id"] in visible_ids(hub, "outsider")
    assert red["id"] not in visible_ids(hub, "member")


def test_granular_marking_removes_the_field(hub):
    obj = indicator(
        1, markings=[IDS["clear"]], granular_markings=[{"marking_ref": IDS["red"], "selectors": ["description"]}]
    )
    hub.post("producer", [obj])
    for who, sees in (("outsider", False), ("producer", True)):
        got = hub.client(who).get(hub.url(f"objects/{obj['id']}/")).json()["objects"][0]
        assert ("description" in got) is sees, who
        assert got["name"] == obj["name"]


# ---------------------------------------------------------------- property test


def reference_visible(level, reader, recipients, producer="producer"):
    """An independent statement of the TLP 2.0 rules (FIRST), for the test oracle."""
    if reader == producer:
        return True
    if level == "clear":
        return True
    if level == "green":
        return reader in ("producer", "member")
    if level in ("amber+strict", "red"):
        return reader in recipients
    if level == "amber":
        return reader in recipients or (reader == "client" and "member" in recipients)
    raise AssertionError(level)


share_plan = st.lists(
    st.tuples(
        st.sampled_from(tlp.LEVELS + ("none",)),
        st.sampled_from(("v1", "v2")),  # TLP 2.0 or 1.0 ids where 1.0 has the level
        st.one_of(st.none(), st.sets(st.sampled_from(("member", "outsider", "client")), max_size=3)),
        st.booleans(),  # a granular RED marking on the description
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(plan=share_plan)
def test_no_face_reveals_what_tlp_excludes(app, engine, plan):
    hub = make_hub(app, engine, uuid.uuid4().hex[:8])
    expected: dict[str, dict[str, bool]] = {}
    granular: dict[str, bool] = {}
    red_readers: dict[str, set[str]] = {}
    objects_by_id: dict[str, dict] = {}
    levels: dict[str, str] = {}
    with unit_of_work(make_sessionmaker(engine)) as s:
        coll = sharing.get_collection(s, hub.collection)
        for i, (level, ids, named, fine) in enumerate(plan):
            marks = [] if level == "none" else [(TLP1 if ids == "v1" and level in TLP1 else IDS)[level]]
            extra = {"granular_markings": [{"marking_ref": IDS["red"], "selectors": ["description"]}]} if fine else {}
            obj = indicator(i, markings=marks, **extra)
            recipients = None if named is None else [hub.parties[n] for n in named]
            sharing.ingest(
                s,
                coll,
                [obj],
                actor=sharing.audit.SYSTEM,
                producer_party_id=hub.parties["producer"],
                provenance="test",
                unmarked="red",
                recipients=recipients,
            )
            effective = "red" if level == "none" else level
            default = {"member"} if effective in ("amber", "amber+strict") else set()
            names = default | {"producer"} if named is None else set(named)
            expected[obj["id"]] = {r: reference_visible(effective, r, names) for r in READERS}
            granular[obj["id"]] = fine
            objects_by_id[obj["id"]] = obj
            levels[obj["id"]] = effective
            red_readers[obj["id"]] = {"producer"} | (set(named) if named is not None else set())
    for reader in READERS:
        c = hub.client(reader)
        allowed = {oid for oid, seen in expected.items() if seen[reader]}
        objects = c.get(hub.url("objects/"), params={"match[version]": "all"}).json().get("objects", [])
        assert {o["id"] for o in objects} == allowed, reader
        manifest = c.get(hub.url("manifest/")).json().get("objects", [])
        assert {m["id"] for m in manifest} == allowed, reader
        for oid in expected:
            one = c.get(hub.url(f"objects/{oid}/"))
            versions = c.get(hub.url(f"objects/{oid}/versions/"))
            assert (one.status_code == 200) is (oid in allowed), (reader, oid)
            assert (versions.status_code == 200) is (oid in allowed), (reader, oid)
            if oid in allowed and granular[oid]:
                body = one.json()["objects"][0]
                sees_red = reader in red_readers[oid]  # a granular RED field: named recipients only
                assert ("description" in body) is sees_red, (reader, oid)
        assert one.headers["content-type"] == TAXII
        # the export face (MISP export and any bulk export read through visible_latest)
        with make_sessionmaker(engine)() as s:
            from accord.auth.models import User

            coll = sharing.get_collection(s, hub.collection)
            account = s.scalar(select(User).where(User.username == hub.users[reader]))
            exported = sharing.visible_latest(s, coll, sharing.reader(s, account, coll))
        assert {o["id"] for o in exported} == allowed, reader
        for o in exported:
            if granular[o["id"]]:
                assert ("description" in o) is (reader in red_readers[o["id"]]), (reader, o["id"])
        # the web face: the object browser and each object page
        browser = TestClient(app)
        assert login(browser, hub.users[reader], PASSWORD).status_code == 303
        page = browser.get(f"/sharing/collections/{hub.collection}").text
        for oid in expected:
            assert (oid in page) is (oid in allowed), (reader, oid, "browser")
            assert (browser.get(f"/sharing/collections/{hub.collection}/objects/{oid}").status_code == 200) is (
                oid in allowed
            ), (reader, oid, "object page")
    # the federation face: only what may leave the node travels, with stricter granular fields removed
    for oid in expected:
        leaves = sharing_federation.travelling(objects_by_id[oid])
        assert (leaves is not None) == (levels[oid] in ("clear", "green")), oid
        if leaves is not None and granular[oid]:
            assert "description" not in leaves


def test_tombstones_follow_tlp_and_peers_get_no_default_amber(hub):
    from fastapi.testclient import TestClient

    from accord.config import Settings
    from accord.sharing.federation_models import Peer
    from accord.web.app import create_app

    red, green = indicator(1, markings=[IDS["red"]]), indicator(2, markings=[IDS["green"]])
    hub.post("producer", [red, green])
    producer = hub.client("producer")
    for obj in (red, green):
        assert producer.delete(hub.url(f"objects/{obj['id']}/")).status_code == 200
    app = create_app(Settings(), engine=hub.engine)
    feed = f"/federation/v1/collections/{hub.collection}/deletions"
    seen = {d["id"] for d in TestClient(app, headers=hub.client("member").headers).get(feed).json()["deletions"]}
    assert seen == {green["id"]}  # the RED tombstone would reveal an id the member never saw
    # a peer node that is a community member is not a default AMBER recipient
    with unit_of_work(make_sessionmaker(hub.engine)) as s:
        s.add(
            Peer(
                name=f"peer-{uuid.uuid4().hex[:6]}",
                base_url="http://127.0.0.1:1",
                api_root="accord",
                token_sealed="plain:x",
                party_id=hub.parties["member"],
            )
        )
    amber = indicator(3, markings=[IDS["amber"]])
    hub.post("producer", [amber])
    assert amber["id"] not in visible_ids(hub, "member")
