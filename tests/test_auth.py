"""Accounts and access: the role-by-endpoint matrix, tokens, sessions, CSRF, throttling, audit, headers."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from accord.audit.models import AuditEntry
from accord.auth import service as accounts
from accord.auth.models import WebSession
from accord.db import make_sessionmaker, unit_of_work
from accord.web.api import RESOURCES

from .conftest_helpers import PASSWORD, login

WRITERS = {"kb:write": {"analyst", "admin"}, "contacts:write": {"liaison", "admin"}}
ALL = ("anonymous", "viewer", "analyst", "liaison", "admin")


@pytest.mark.parametrize("res", RESOURCES, ids=lambda r: r.name)
def test_write_matrix(role_clients, res):
    """Each write is refused (401 anonymous, 403 wrong role) before anything is parsed or written."""
    allowed = WRITERS[res.write_permission]
    missing = "ZZZZ" if res.key == "code" else "2147483000"
    for who in ALL:
        c = role_clients[who]
        calls = {
            "POST": c.post(f"/api/v1/{res.name}", json={}),
            "PATCH": c.patch(f"/api/v1/{res.name}/{missing}", json={}, headers={"If-Match": '"1"'}),
            "DELETE": c.delete(f"/api/v1/{res.name}/{missing}"),
        }
        for method, r in calls.items():
            if who == "anonymous":
                assert r.status_code == 401, (who, method, res.name, r.text)
                assert r.headers["www-authenticate"].startswith("Bearer")
            elif who in allowed:
                assert r.status_code in (404, 422), (who, method, res.name, r.text)
            else:
                assert r.status_code == 403, (who, method, res.name, r.text)
                assert r.headers["content-type"].startswith("application/problem+json")


def test_read_matrix(role_clients):
    for who in ALL:
        c = role_clients[who]
        assert c.get("/api/v1/incidents").status_code == 200  # public dataset
        contacts = c.get("/api/v1/points-of-contact").status_code
        expected = {"anonymous": 401, "viewer": 403}.get(who, 200)
        assert contacts == expected, who
        profile = c.get("/api/v1/states/EE/profile").json()
        assert ("points_of_contact" in profile) == (who in ("analyst", "liaison", "admin")), who


def test_private_node_hides_everything_from_anonymous(engine):
    from accord.config import Settings
    from accord.web.app import create_app

    private = TestClient(create_app(Settings(public_read=False), engine=engine))
    assert private.get("/api/v1/incidents").status_code == 401
    assert private.get("/api/v1/search", params={"q": "x"}).status_code == 401
    for page in ("/", "/states/FR", "/incidents", "/search?q=x"):
        r = private.get(page, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), page
    assert private.get("/login").status_code == 200
    assert login(private, "viewer", PASSWORD).status_code == 303
    assert private.get("/states/FR").status_code == 200


def test_token_scopes_and_revocation(app, engine, unique):
    factory = make_sessionmaker(engine)
    with unit_of_work(factory) as s:
        accounts.create_user(s, username=f"tok-{unique}", password=PASSWORD, role="analyst")
        ro, ro_secret = accounts.create_token(s, f"tok-{unique}", name="ro", scopes=["read"])
        rw, rw_secret = accounts.create_token(s, f"tok-{unique}", name="rw", scopes=["read", "write"])
        rw_id = rw.id
    c = TestClient(app)
    body = {
        "code": f"T{unique}".upper(),
        "name": "Token test",
        "kind": "regional",
        "sources": ["https://example.org"],
        "as_of": "2026-01-01",
    }
    r = c.post("/api/v1/organisations", json=body, headers={"Authorization": f"Bearer {ro_secret}"})
    assert r.status_code == 403 and "read-only" in r.json()["detail"]
    r = c.post("/api/v1/organisations", json=body, headers={"Authorization": f"Bearer {rw_secret}"})
    assert r.status_code == 201
    with unit_of_work(factory) as s:
        accounts.revoke_token(s, rw_id)
    r = c.get("/api/v1/incidents", headers={"Authorization": f"Bearer {rw_secret}"})
    assert r.status_code == 401  # a bad token is an error even where anonymous reads are allowed
    assert c.get("/api/v1/incidents", headers={"Authorization": "Bearer acc_forged"}).status_code == 401


def test_tokens_and_passwords_hashed_at_rest(engine, unique):
    with unit_of_work(make_sessionmaker(engine)) as s:
        user = accounts.create_user(s, username=f"hash-{unique}", password=PASSWORD, role="viewer")
        token, secret = accounts.create_token(s, user.username, name="x", scopes=["read"])
        assert PASSWORD not in user.password_hash and user.password_hash.startswith("$argon2")
        assert secret not in token.secret_hash and token.secret_hash == accounts.digest(secret)


def test_disabled_user_loses_access(app, engine, unique):
    factory = make_sessionmaker(engine)
    with unit_of_work(factory) as s:
        accounts.create_user(s, username=f"dis-{unique}", password=PASSWORD, role="analyst")
        _t, secret = accounts.create_token(s, f"dis-{unique}", name="x", scopes=["read", "write"])
    c = TestClient(app)
    assert c.get("/api/v1/points-of-contact", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    with unit_of_work(factory) as s:
        accounts.set_active(s, f"dis-{unique}", False)
    assert c.get("/api/v1/points-of-contact", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    with unit_of_work(factory) as s:
        assert accounts.authenticate(s, f"dis-{unique}", PASSWORD, "test") is None


def test_login_throttling(engine, unique):
    factory = make_sessionmaker(engine)
    with unit_of_work(factory) as s:
        accounts.create_user(s, username=f"thr-{unique}", password=PASSWORD, role="viewer")
    for _ in range(5):
        with unit_of_work(factory) as s:
            assert accounts.authenticate(s, f"thr-{unique}", "wrong password!", "10.0.0.1") is None
    from accord.core.errors import TooManyAttempts

    with pytest.raises(TooManyAttempts), unit_of_work(factory) as s:  # even the right password now
        accounts.authenticate(s, f"thr-{unique}", PASSWORD, "10.0.0.1")


def test_session_login_csrf_and_logout(app, engine, unique):
    with unit_of_work(make_sessionmaker(engine)) as s:
        accounts.create_user(s, username=f"web-{unique}", password=PASSWORD, role="analyst")
    c = TestClient(app)
    r = c.post("/login", data={"username": f"web-{unique}", "password": PASSWORD})  # no CSRF token
    assert r.status_code == 403 and "accord_session" not in c.cookies
    r = login(c, f"web-{unique}", "not the password")
    assert r.status_code == 401 and "wrong username or password" in r.text and "accord_session" not in c.cookies
    r = login(c, f"web-{unique}", PASSWORD)
    assert r.status_code == 303 and "accord_session" in c.cookies
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    # a cookie-authenticated API write needs the CSRF header as well
    body = {
        "code": f"W{unique}".upper(),
        "name": "Web",
        "kind": "regional",
        "sources": ["https://example.org"],
        "as_of": "2026-01-01",
    }
    assert c.post("/api/v1/organisations", json=body).status_code == 403
    r = c.post("/api/v1/organisations", json=body, headers={"X-CSRF-Token": c.cookies["accord_csrf"]})
    assert r.status_code == 201
    r = c.post("/logout", data={"csrf_token": c.cookies["accord_csrf"]}, follow_redirects=False)
    assert r.status_code == 303
    assert c.get("/api/v1/points-of-contact").status_code == 401


def test_expired_session_is_explained(app, engine, unique):
    with unit_of_work(make_sessionmaker(engine)) as s:
        accounts.create_user(s, username=f"exp-{unique}", password=PASSWORD, role="admin")
    c = TestClient(app)
    assert login(c, f"exp-{unique}", PASSWORD).status_code == 303
    with unit_of_work(make_sessionmaker(engine)) as s:
        s.execute(update(WebSession).values(expires_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC)))
    r = c.get("/admin/users", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    assert "session has expired" in c.get(r.headers["location"]).text


def test_every_write_is_audited(client, engine, unique):
    body = {
        "code": f"A{unique}".upper(),
        "name": "Audited",
        "kind": "regional",
        "sources": ["https://example.org"],
        "as_of": "2026-01-01",
    }
    code = body["code"]
    assert client.post("/api/v1/organisations", json=body).status_code == 201
    etag = client.get(f"/api/v1/organisations/{code}").headers["etag"]
    r = client.patch(f"/api/v1/organisations/{code}", json={"name": "Renamed"}, headers={"If-Match": etag})
    assert r.status_code == 200
    assert client.delete(f"/api/v1/organisations/{code}").status_code == 204
    with make_sessionmaker(engine)() as s:
        entries = s.scalars(select(AuditEntry).where(AuditEntry.key == code).order_by(AuditEntry.id)).all()
    assert [e.action for e in entries] == ["create", "update", "delete"]
    assert all(e.actor == "admin" for e in entries)
    assert entries[1].before["name"] == "Audited" and entries[1].after["name"] == "Renamed"
    assert entries[2].after is None


def test_audit_log_has_no_write_face(role_clients, app):
    paths = {getattr(route, "path", "") for route in app.routes}
    assert not any("audit" in p for p in paths if p.startswith("/api/"))
    admin = role_clients["admin"]
    for method in ("post", "patch", "delete", "put"):
        assert getattr(admin, method)("/admin/audit").status_code in (403, 405)


def test_security_headers(role_clients):
    for path in ("/api/v1/incidents", "/login"):
        r = role_clients["anonymous"].get(path)
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"


def test_one_time_password_must_be_changed(app, engine, unique):
    name = f"otp-{unique}"
    with unit_of_work(make_sessionmaker(engine)) as s:
        accounts.create_user(s, username=name, password=PASSWORD, role="viewer", must_change_password=True)
    c = TestClient(app)
    r = login(c, name, PASSWORD)
    assert r.status_code == 303 and r.headers["location"].startswith("/account/password")
    form = {"current": PASSWORD, "new": "short", "repeat": "short", "csrf_token": c.cookies["accord_csrf"]}
    r = c.post("/account/password", data=form)
    assert r.status_code == 422 and "12" in r.text
    form |= {"new": "a much better passphrase", "repeat": "a much better passphrase"}
    assert c.post("/account/password", data=form, follow_redirects=False).status_code == 303
    c2 = TestClient(app)
    assert login(c2, name, "a much better passphrase").headers["location"] == "/"


def test_admin_pages(app, engine, unique):
    admin, viewer = TestClient(app), TestClient(app)
    assert login(admin, "admin", PASSWORD).status_code == 303
    assert login(viewer, "viewer", PASSWORD).status_code == 303
    assert viewer.get("/admin/users").status_code == 403
    assert viewer.get("/admin/audit").status_code == 403
    r = admin.post(
        "/admin/users",
        data={
            "username": f"new-{unique}",
            "role": "analyst",
            "state_code": "EE",
            "csrf_token": admin.cookies["accord_csrf"],
        },
    )
    assert r.status_code == 201 and "one-time password" in r.text
    r = admin.post("/admin/users", data={"username": f"new-{unique}", "role": "analyst"})  # no CSRF token
    assert r.status_code == 403
    page = admin.get("/admin/audit", params={"resource": "users", "key": f"new-{unique}"})
    assert page.status_code == 200 and f"new-{unique}" in page.text and "create" in page.text
