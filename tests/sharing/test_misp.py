"""MISP interoperability (accord.sharing.misp): conversions through misp-stix, TLP mapping, errors."""

from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path

import pytest

from accord.sharing.misp import misp_event_to_stix, stix_to_misp_events

DATA = Path(__file__).parent / "data" / "misp"

# STIX TLP marking-definition ids (TLP 1.0, and TLP 2.0 through its extension definition)
TLP1 = {
    "white": "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
    "green": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
    "amber": "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
    "red": "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
}
TLP2 = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
TLP2_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"

# the MISP TLP tag of each sample event, and the marking misp-stix maps it to
SAMPLES = {
    "event_tlp_green.json": ("tlp:green", TLP1["green"]),
    "event_tlp_amber.json": ("tlp:amber", TLP1["amber"]),
    "event_tlp_amber_strict.json": ("tlp:amber+strict", TLP2["amber+strict"]),
    "event_tlp_red.json": ("tlp:red", TLP1["red"]),
    "event_tlp_clear.json": ("tlp:clear", TLP2["clear"]),
}
CONTEXT_TYPES = {"marking-definition", "identity"}


def load(name: str) -> dict:
    return json.loads((DATA / name).read_text())


def body(event: dict) -> dict:
    return event.get("Event", event)


def by_type(objects: list[dict], kind: str) -> list[dict]:
    return [o for o in objects if o["type"] == kind]


def tag_names(record: dict) -> list[str]:
    return [t["name"] for t in record.get("Tag") or ()]


# --------------------------------------------------------------------------- MISP -> STIX


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_event_to_stix_is_plain_valid_stix(name):
    from stix2validator import ValidationOptions, validate_instance

    event = load(name)
    objects = misp_event_to_stix(event)
    assert objects and all(isinstance(o, dict) for o in objects)
    json.dumps(objects)  # JSON-able as is
    assert all(o.get("spec_version") == "2.1" or o["type"] in ("marking-definition",) for o in objects)
    assert len({o["id"] for o in objects}) == len(objects)
    (report,) = by_type(objects, "report")  # the sample events are published
    assert report["name"] == body(event)["info"]
    assert report["id"] == f"report--{body(event)['uuid']}"
    ids = {o["id"] for o in objects}
    assert set(report["object_refs"]) <= ids
    options = ValidationOptions(version="2.1")
    for obj in objects:
        result = validate_instance(obj, options)
        assert result.is_valid, (obj["id"], [str(e) for e in result.errors])


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_event_tlp_tag_becomes_object_marking(name):
    _, marking_id = SAMPLES[name]
    objects = misp_event_to_stix(load(name))
    (report,) = by_type(objects, "report")
    assert report["object_marking_refs"] == [marking_id]
    # misp-stix emits the marking definition object itself
    assert marking_id in {o["id"] for o in by_type(objects, "marking-definition")}
    # every object of the event, observables included, carries the event's TLP (or a stricter own one)
    for obj in objects:
        if obj["type"] in CONTEXT_TYPES:
            continue
        assert obj.get("object_marking_refs"), obj["id"]


def test_tlp_mapping_mixes_tlp1_and_tlp2_ids():
    """misp-stix keeps STIX TLP 1.0 ids for white/green/amber/red, TLP 2.0 ids for clear and amber+strict."""
    event = load("event_tlp_red.json")
    expected = {
        "tlp:white": TLP1["white"],
        "tlp:clear": TLP2["clear"],
        "tlp:green": TLP1["green"],
        "tlp:amber": TLP1["amber"],
        "tlp:amber+strict": TLP2["amber+strict"],
        "tlp:red": TLP1["red"],
    }
    for tag, marking_id in expected.items():
        body(event)["Tag"] = [{"name": tag, "colour": "#ffffff", "exportable": True}]
        objects = misp_event_to_stix(event)
        (report,) = by_type(objects, "report")
        assert report["object_marking_refs"] == [marking_id], tag
        (definition,) = [o for o in objects if o["id"] == marking_id]
        if marking_id in TLP2.values():
            assert definition["extensions"][TLP2_EXTENSION]["tlp_2_0"] == tag.removeprefix("tlp:")
        else:
            assert definition["definition"] == {"tlp": tag.removeprefix("tlp:")}


def test_attribute_tlp_tag_wins_over_event_tlp_and_reaches_its_observables():
    objects = misp_event_to_stix(load("event_tlp_green.json"))
    marked = {o["id"]: o.get("object_marking_refs") for o in objects}
    amber_ip = next(o for o in by_type(objects, "indicator") if "198.51.100.23" in o["pattern"])
    assert amber_ip["object_marking_refs"] == [TLP1["amber"]]
    uid = amber_ip["id"].split("--")[1]
    observed = next(o for o in by_type(objects, "observed-data") if o["id"].split("--")[1] == uid)
    assert observed["object_marking_refs"] == [TLP1["amber"]]
    for ref in observed["object_refs"]:  # the SCOs of that attribute are amber, not green
        assert marked[ref] == [TLP1["amber"]], ref
    for rel in by_type(objects, "relationship"):
        ends = {rel["source_ref"], rel["target_ref"]}
        expected = [TLP1["amber"]] if amber_ip["id"] in ends or observed["id"] in ends else [TLP1["green"]]
        assert rel["object_marking_refs"] == expected, rel["id"]
    others = [o for o in by_type(objects, "indicator") if o is not amber_ip]
    assert others and all(o["object_marking_refs"] == [TLP1["green"]] for o in others)


def test_without_propagation_misp_stix_marks_only_the_report():
    objects = misp_event_to_stix(load("event_tlp_red.json"), propagate_tlp=False)
    (report,) = by_type(objects, "report")
    assert report["object_marking_refs"] == [TLP1["red"]]
    assert all("object_marking_refs" not in o for o in by_type(objects, "indicator"))


def test_wrapper_is_optional_and_input_untouched():
    wrapped = load("event_tlp_amber.json")
    before = copy.deepcopy(wrapped)
    with_wrapper = misp_event_to_stix(wrapped)
    assert wrapped == before
    without = misp_event_to_stix(wrapped["Event"])
    assert {o["id"] for o in with_wrapper} == {o["id"] for o in without}
    bare = load("event_tlp_amber_strict.json")
    assert "Event" not in bare
    assert by_type(misp_event_to_stix(bare), "report")


def test_unpublished_event_becomes_a_grouping():
    event = load("event_tlp_clear.json")
    body(event)["published"] = False
    objects = misp_event_to_stix(event)
    assert not by_type(objects, "report")
    (grouping,) = by_type(objects, "grouping")
    assert grouping["object_marking_refs"] == [TLP2["clear"]]
    assert all(o.get("object_marking_refs") == [TLP2["clear"]] for o in by_type(objects, "indicator"))


def test_objects_and_galaxy_are_exported():
    objects = misp_event_to_stix(load("event_tlp_green.json"))
    patterns = [o["pattern"] for o in by_type(objects, "indicator")]
    assert any("file:hashes.MD5 = '098f6bcd4621d373cade4e832627b4f6'" in p and "SHA-256" in p for p in patterns)
    assert any("domain-name:value = 'cdn-update.example'" in p and "192.0.2.77" in p for p in patterns)
    (attack_pattern,) = by_type(objects, "attack-pattern")
    assert "Phishing" in attack_pattern["name"]


# --------------------------------------------------------------------------- round trips


def standalone(event: dict) -> Counter:
    return Counter((a["type"], str(a["value"])) for a in body(event).get("Attribute") or ())


def misp_objects(event: dict) -> dict:
    return {
        o["uuid"]: (o["name"], frozenset((a["object_relation"], a["type"], str(a["value"])) for a in o["Attribute"]))
        for o in body(event).get("Object") or ()
    }


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_round_trip_keeps_attributes_objects_and_tlp(name):
    tlp_tag, _ = SAMPLES[name]
    original = body(load(name))
    events = stix_to_misp_events(misp_event_to_stix(original))
    assert len(events) == 1
    (back,) = events
    json.dumps(back)
    assert back["uuid"] == original["uuid"]
    assert back["info"] == original["info"]
    assert back["published"] is True
    assert back["timestamp"] == original["timestamp"]
    assert back["publish_timestamp"] == original["publish_timestamp"]
    assert tlp_tag in tag_names(back)
    assert standalone(back) == standalone(original)
    # attribute uuids, categories and to_ids survive for standalone attributes
    originals = {a["uuid"]: a for a in original["Attribute"]}
    for attribute in back["Attribute"]:
        source = originals[attribute["uuid"]]
        assert (attribute["category"], attribute["to_ids"]) == (source["category"], source["to_ids"])
    assert misp_objects(back) == misp_objects(original)
    # misp-stix adds its own provenance tags: the producer (Orgc) as a galaxy tag, and its tool label
    assert f'misp-galaxy:producer="{original["Orgc"]["name"]}"' in tag_names(back)


def test_round_trip_keeps_attribute_tlp_and_galaxy():
    original = body(load("event_tlp_green.json"))
    (back,) = stix_to_misp_events(misp_event_to_stix(original))
    amber = next(a for a in back["Attribute"] if a["value"] == "198.51.100.23")
    assert tag_names(amber) == ["tlp:amber"]
    others = [a for a in back["Attribute"] if a is not amber]
    assert all("tlp:amber" not in tag_names(a) for a in others)
    assert 'misp-galaxy:mitre-attack-pattern="Phishing - T1566"' in tag_names(back)
    (galaxy,) = back["Galaxy"]
    assert galaxy["type"] == "mitre-attack-pattern"
    assert galaxy["GalaxyCluster"][0]["value"] == "Phishing - T1566"


def test_round_trip_of_several_events_in_one_collection():
    stix = []
    for name in ("event_tlp_green.json", "event_tlp_red.json"):
        stix.extend(o for o in misp_event_to_stix(load(name)) if o["id"] not in {s["id"] for s in stix})
    events = {e["uuid"]: e for e in stix_to_misp_events(stix)}
    for name in ("event_tlp_green.json", "event_tlp_red.json"):
        original = body(load(name))
        back = events[original["uuid"]]
        assert SAMPLES[name][0] in tag_names(back)
        assert standalone(back) == standalone(original)


# --------------------------------------------------------------------------- STIX -> MISP (external producer)

CREATED = "2026-02-01T10:00:00.000Z"
PRODUCER = {
    "type": "identity",
    "spec_version": "2.1",
    "id": "identity--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
    "created": CREATED,
    "modified": CREATED,
    "name": "CERT-FR",
    "identity_class": "organization",
}


def indicator(uid: str, pattern: str, name: str, marking: str = TLP2["green"]) -> dict:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uid}",
        "created": CREATED,
        "modified": CREATED,
        "created_by_ref": PRODUCER["id"],
        "name": name,
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": "2026-02-01T10:00:00Z",
        "indicator_types": ["malicious-activity"],
        "object_marking_refs": [marking],
    }


def report(uid: str, name: str, refs: list[str], marking: str = TLP2["green"]) -> dict:
    return {
        "type": "report",
        "spec_version": "2.1",
        "id": f"report--{uid}",
        "created": CREATED,
        "modified": "2026-02-02T10:00:00.000Z",
        "published": "2026-02-02T09:00:00Z",
        "name": name,
        "description": f"{name}: indicators shared by CERT-FR.",
        "report_types": ["threat-report"],
        "created_by_ref": PRODUCER["id"],
        "object_refs": refs,
        "object_marking_refs": [marking],
    }


@pytest.fixture
def external_bundle() -> list[dict]:
    ip = indicator("0b6a8f36-4f2d-4a8b-9f35-1b0b2d0c7a11", "[ipv4-addr:value = '203.0.113.5']", "C2 address")
    dom = indicator("1c7b9f47-5a3e-4b9c-8a46-2c1c3e1d8b22", "[domain-name:value = 'update-check.example']", "C2 domain")
    url = indicator(
        "2d8ca058-6b4f-4cad-9b57-3d2d4f2e9c33",
        "[url:value = 'https://update-check.example/a.php']",
        "Dropper URL",
        TLP2["amber"],
    )
    sha = indicator(
        "3e9db169-7c50-4dbe-8c68-4e3e503fad44",
        "[file:hashes.'SHA-256' = 'ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb']",
        "Loader",
    )
    malware = {
        "type": "malware",
        "spec_version": "2.1",
        "id": "malware--4fa0e27a-8d61-4ecf-9d79-5f4f614abe55",
        "created": CREATED,
        "modified": CREATED,
        "name": "DiploLoader",
        "is_family": True,
        "malware_types": ["remote-access-trojan"],
        "object_marking_refs": [TLP2["green"]],
    }
    rel = {
        "type": "relationship",
        "spec_version": "2.1",
        "id": "relationship--5ab1f38b-9e72-4fd0-8e8a-6a5a725bcf66",
        "created": CREATED,
        "modified": CREATED,
        "relationship_type": "indicates",
        "source_ref": sha["id"],
        "target_ref": malware["id"],
        "object_marking_refs": [TLP2["green"]],
    }
    rep = report(
        "6bc2049c-af83-4a01-9f9b-7b6b836cd077",
        "DiploLoader campaign against ministries",
        [ip["id"], dom["id"], url["id"], sha["id"], malware["id"], rel["id"]],
    )
    return [PRODUCER, ip, dom, url, sha, malware, rel, rep]


def test_stix_report_with_indicators_to_misp(external_bundle):
    before = copy.deepcopy(external_bundle)
    (event,) = stix_to_misp_events(external_bundle)
    assert external_bundle == before
    json.dumps(event)
    assert event["uuid"] == "6bc2049c-af83-4a01-9f9b-7b6b836cd077"
    assert event["info"] == "DiploLoader campaign against ministries"
    assert event["published"] is True
    assert event["distribution"] == "0"  # restrictive default: your organisation only
    assert "tlp:green" in tag_names(event)  # TLP 2.0 green id, no definition object in the input
    assert 'misp-galaxy:producer="CERT-FR"' in tag_names(event)
    attrs = {(a["type"], a["value"]): a for a in event["Attribute"]}
    assert set(attrs) == {
        ("ip-dst", "203.0.113.5"),
        ("domain", "update-check.example"),
        ("url", "https://update-check.example/a.php"),
        ("sha256", "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"),
    }
    assert all(a["to_ids"] for a in attrs.values())
    assert tag_names(attrs[("url", "https://update-check.example/a.php")]) == ["tlp:amber"]
    loader = attrs[("sha256", "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb")]
    clusters = [c["value"] for g in loader.get("Galaxy") or () for c in g["GalaxyCluster"]]
    assert clusters == ["DiploLoader"]  # the malware an indicator "indicates" becomes a galaxy cluster
    (description,) = event["EventReport"]
    assert "indicators shared by CERT-FR" in description["content"]


def test_one_event_per_report_and_bundle_dict_accepted(external_bundle):
    second = report("7cd315ad-b094-4b12-a0ac-8c7c947de188", "Second report", [external_bundle[1]["id"]])
    bundle_id = "bundle--a1e0b2f4-2c55-4b1e-9c3a-0e7b8d6f5a41"
    bundle = {"type": "bundle", "id": bundle_id, "objects": [*external_bundle, second]}
    events = stix_to_misp_events(bundle)
    assert sorted(e["info"] for e in events) == ["DiploLoader campaign against ministries", "Second report"]
    (merged,) = stix_to_misp_events(bundle, single_event=True)
    assert len(merged["Attribute"]) == 4


def test_no_report_gives_one_event_for_the_lot(external_bundle):
    loose = [o for o in external_bundle if o["type"] in ("identity", "indicator")]
    (event,) = stix_to_misp_events(loose, distribution=1)
    assert event["distribution"] == "1"
    assert len(event["Attribute"]) == 4
    values = {a["value"]: tag_names(a) for a in event["Attribute"]}
    assert values["203.0.113.5"] == ["tlp:green"]
    assert values["https://update-check.example/a.php"] == ["tlp:amber"]


@pytest.mark.parametrize(
    ("marking_id", "tag"),
    [
        (TLP1["white"], "tlp:white"),
        (TLP1["green"], "tlp:green"),
        (TLP1["amber"], "tlp:amber"),
        (TLP1["red"], "tlp:red"),
        (TLP2["clear"], "tlp:clear"),
        (TLP2["green"], "tlp:green"),
        (TLP2["amber"], "tlp:amber"),
        (TLP2["amber+strict"], "tlp:amber+strict"),
        (TLP2["red"], "tlp:red"),
    ],
)
def test_stix_tlp_markings_become_misp_tlp_tags(marking_id, tag):
    ind = indicator("8de426be-c1a5-4c23-b1bd-9d8da58ef299", "[ipv4-addr:value = '192.0.2.1']", "x", marking_id)
    rep = report("9ef537cf-d2b6-4d34-82ce-ae9eb690f3aa", "TLP check", [ind["id"]], marking_id)
    (event,) = stix_to_misp_events([PRODUCER, ind, rep])
    assert tag in tag_names(event)
    (attribute,) = event["Attribute"]
    assert attribute["value"] == "192.0.2.1"


# --------------------------------------------------------------------------- malformed input


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ("not an event", "JSON object"),
        (["Event"], "JSON object"),
        ({"Event": "x"}, "'Event' member"),
        ({"Event": {"Attribute": []}}, "'info'"),
        ({"info": "   "}, "'info'"),
        ({"info": "x", "Attribute": "oops"}, "'Attribute'"),
        ({"info": "x", "Attribute": ["oops"]}, "'Attribute'"),
        ({"info": "x", "Attribute": [{"type": "ip-dst"}]}, "'value'"),
        ({"info": "x", "Tag": [{"nam": "tlp:red"}]}, "tag"),
        ({"info": "x", "Object": [{"Attribute": []}]}, "'name'"),
        ({"info": "x", "timestamp": "yesterday"}, "could not load"),
        ({"info": "x", "Attribute": [{"type": "no-such-type", "value": "1"}]}, "no-such-type"),
        ({"info": "x", "Attribute": [{"type": "ip-dst", "value": "not an ip"}]}, "IP address"),
        ({"response": [{"Event": {"info": "x"}}]}, "one by one"),
    ],
)
def test_malformed_misp_event_raises_value_error(event, reason):
    with pytest.raises(ValueError) as caught:
        misp_event_to_stix(event)
    message = str(caught.value)
    assert reason in message
    assert "\n" not in message and len(message) <= 300


def test_non_strict_converts_what_misp_stix_can():
    event = {
        "info": "partly broken",
        "Attribute": [{"type": "no-such-type", "value": "1"}, {"type": "domain", "value": "ok.example"}],
    }
    objects = misp_event_to_stix(event, strict=False)
    assert any("ok.example" in o.get("pattern", "") for o in by_type(objects, "indicator"))


@pytest.mark.parametrize(
    ("objects", "reason"),
    [
        ("nope", "list of STIX objects"),
        ([], "no STIX objects"),
        ([42], "#0"),
        ([{"type": "indicator"}], "'type' and 'id'"),
        ([{"type": "indicator", "id": "malware--4fa0e27a-8d61-4ecf-9d79-5f4f614abe55"}], "'type' and 'id'"),
        ([{"type": "bundle", "id": "bundle--a1e0b2f4-2c55-4b1e-9c3a-0e7b8d6f5a41", "objects": []}], "bundle"),
        (
            [{"type": "indicator", "spec_version": "2.1", "id": "indicator--0b6a8f36-4f2d-4a8b-9f35-1b0b2d0c7a11"}],
            "indicator--0b6a8f36",
        ),
    ],
)
def test_malformed_stix_raises_value_error(objects, reason):
    with pytest.raises(ValueError) as caught:
        stix_to_misp_events(objects)
    message = str(caught.value)
    assert reason in message
    assert "\n" not in message


def test_bad_options_raise_value_error(external_bundle):
    with pytest.raises(ValueError, match="classification"):
        stix_to_misp_events(external_bundle, classification="mine")
    with pytest.raises(ValueError, match="distribution"):
        stix_to_misp_events(external_bundle, distribution=7)


def test_invalid_object_skipped_when_not_strict(external_bundle):
    broken = {"type": "indicator", "spec_version": "2.1", "id": "indicator--0c7a4f2d-4a8b-4f35-9b0b-2d0c7a110b6a"}
    events = stix_to_misp_events([*external_bundle, broken], strict=False)
    assert len(events) == 1 and len(events[0]["Attribute"]) == 4
