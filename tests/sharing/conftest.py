"""A sharing hub on each backend: parties, users, a community with a collection, and TAXII clients."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from accord.auth import service as accounts
from accord.db import make_sessionmaker, unit_of_work
from accord.sharing import service as sharing

from ..conftest_helpers import PASSWORD

TAXII = "application/taxii+json;version=2.1"
GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"


def basic(username: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{PASSWORD}".encode()).decode()
    return {"Authorization": f"Basic {token}", "Accept": TAXII}


def indicator(
    n: int = 0,
    *,
    markings: list[str] | None = None,
    modified: str = "2024-01-01T00:00:00.000Z",
    oid: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    obj = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": oid or f"indicator--{uuid.uuid4()}",
        "created": "2024-01-01T00:00:00.000Z",
        "modified": modified,
        "name": f"Indicator {n}",
        "description": "test indicator",
        "indicator_types": ["malicious-activity"],
        "pattern": f"[ipv4-addr:value = '10.0.0.{n % 250}']",
        "pattern_type": "stix",
        "valid_from": "2024-01-01T00:00:00Z",
        "object_marking_refs": markings if markings is not None else [GREEN],
        **extra,
    }
    if not obj["object_marking_refs"]:
        del obj["object_marking_refs"]  # an empty list is not valid STIX: unmarked means no such property
    return obj


@dataclass
class Hub:
    app: Any
    engine: Any
    collection: str
    users: dict[str, str] = field(default_factory=dict)  # role name -> username
    parties: dict[str, int] = field(default_factory=dict)

    def client(self, who: str) -> TestClient:
        c = TestClient(self.app)
        c.headers.update(basic(self.users[who]))
        return c

    def url(self, tail: str = "") -> str:
        return f"/taxii2/accord/collections/{self.collection}/{tail}"

    def post(self, who: str, objects: list[dict[str, Any]]) -> Any:
        return self.client(who).post(self.url("objects/"), json={"objects": objects}, headers={"Content-Type": TAXII})


def make_hub(app: Any, engine: Any, tag: str) -> Hub:
    """Parties: producer and member (in the community, write / read), outsider (not in it), client (declared
    a client of member)."""
    hub = Hub(app, engine, "")
    with unit_of_work(make_sessionmaker(engine)) as s:
        for name in ("producer", "member", "outsider", "client"):
            party = sharing.create_party(s, key=f"{name}-{tag}", name=f"{name} {tag}", state_code="EE")
            user = accounts.create_user(s, username=f"{name}-{tag}", password=PASSWORD, role="analyst")
            user.party_id = party.id
            hub.users[name], hub.parties[name] = user.username, party.id
        loner = accounts.create_user(s, username=f"noparty-{tag}", password=PASSWORD, role="viewer")
        hub.users["noparty"] = loner.username
        community = sharing.create_community(s, name=f"CSIRTs {tag}")
        sharing.set_member(s, community.id, hub.parties["producer"], can_read=True, can_write=True)
        sharing.set_member(s, community.id, hub.parties["member"], can_read=True, can_write=False)
        sharing.declare_client(s, hub.parties["member"], hub.parties["client"])
        hub.collection = sharing.create_collection(s, community_id=community.id, title=f"Indicators {tag}").id
    return hub


@pytest.fixture
def hub(app: Any, engine: Any, unique: str) -> Hub:
    return make_hub(app, engine, unique)
