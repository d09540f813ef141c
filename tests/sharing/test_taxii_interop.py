"""Interoperability with the OASIS taxii2-client, against the node served over real HTTP."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from taxii2client.v21 import ApiRoot, Collection, Server, as_pages

from ..conftest_helpers import PASSWORD
from .conftest import indicator, make_hub


@pytest.fixture
def served(app: Any, engine: Any, unique: str) -> Iterator[tuple[str, Any]]:
    import uvicorn

    hub = make_hub(app, engine, unique)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            httpx.get(f"{base}/healthz", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.05)
    yield base, hub
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


def test_taxii2_client_round_trip(served):
    base, hub = served
    user = hub.users["producer"]
    server = Server(f"{base}/taxii2/", user=user, password=PASSWORD)
    assert server.title and server.api_roots
    root: ApiRoot = server.default
    assert root.versions == ["application/taxii+json;version=2.1"]
    coll: Collection = next(c for c in root.collections if c.id == hub.collection)
    assert coll.can_read and coll.can_write
    objects = [indicator(i) for i in range(25)]
    status = coll.add_objects({"objects": objects}, wait_for_completion=True)
    assert status.status == "complete" and status.success_count == 25
    got = [o for page in as_pages(coll.get_objects, per_request=7) for o in page.get("objects", [])]
    assert sorted(o["id"] for o in got) == sorted(o["id"] for o in objects)
    manifest = coll.get_manifest()
    assert len(manifest["objects"]) == 25
    one = coll.get_object(objects[0]["id"])
    assert one["objects"][0]["id"] == objects[0]["id"]
    versions = coll.object_versions(objects[0]["id"])
    assert versions["versions"] == [objects[0]["modified"]]
    coll.delete_object(objects[0]["id"])
    assert len(coll.get_manifest()["objects"]) == 24


def test_taxii2_client_sees_only_what_tlp_allows(served):
    base, hub = served
    red = indicator(1, markings=["marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"])
    clear = indicator(2, markings=["marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"])
    hub.post("producer", [red, clear])
    outsider = Server(f"{base}/taxii2/", user=hub.users["outsider"], password=PASSWORD)
    coll = next(c for c in outsider.default.collections if c.id == hub.collection)
    assert not coll.can_write
    assert [o["id"] for o in coll.get_objects().get("objects", [])] == [clear["id"]]
