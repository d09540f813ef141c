"""Federation: pull peers' collections, push local ones, and propagate revocations and deletions.

A *peer* is another node; a *link* ties a local collection to one collection of a peer, in one direction.

    pull   1. GET {peer}/federation/v1/collections/{remote}/deletions?after=<deletions checkpoint>
              delete the matching local versions that came from that peer (provenance ``peer:<name>``);
           2. GET {peer}/{api root}/collections/{remote}/objects/?added_after=<objects checkpoint>
              &match[version]=all, following ``next``; ingest what may travel (below) with provenance
              ``peer:<name>`` (the store keeps one row per id + version: a repeated page changes nothing).
           Deletions come first so that a version deleted and then re-added on the peer ends up present.
    push   POST local versions added since the push checkpoint to the peer's collection (TAXII Add
           Objects) — never those that came from that peer (no echo) — then DELETE on the peer the
           versions this link sent that were deleted here since the deletion checkpoint.

What may travel: an object leaves (or is taken in) automatically only when its own markings make it
TLP:CLEAR or TLP:GREEN (``tlp.object_level`` with unmarked = red, so unmarked objects stay home), and
fields under stricter granular markings are removed (``tlp.redact``). AMBER, AMBER+STRICT and RED never
travel on their own. Revocations are new versions (``revoked: true``) and travel like any version.

Checkpoints: each page is stored and its checkpoint moved in one transaction, and the transaction
starts by moving the checkpoint with a compare-and-set, so a crash resumes from the last committed page
(nothing lost, nothing stored twice) and two workers never ingest the same page.

Failures: each request is retried a few times with a short exponential back-off; a link whose attempt
still fails records ``last_error`` and is not tried again before ``next_attempt`` (exponential, capped).

Units of work: registry functions take a session and leave committing to the caller; the sync functions
take a sessionmaker and own their transactions (one per page), as a job does.

Errors (``accord.core.errors`` tree):

    AccordError
    └── PeerError (502)          — a peer could not be reached or answered badly
        ├── PeerUnreachable      — network error or timeout
        └── PeerRefused          — an HTTP error status, or a body that is not what TAXII promises
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from accord.audit import service as audit
from accord.audit.service import Actor
from accord.auth.models import Party
from accord.core.errors import AccordError, Invalid, NotFound, Problem
from accord.db import unit_of_work
from accord.directory.models import State
from accord.sharing import service, tlp
from accord.sharing.federation_models import FederationLink, FederationSent, Peer
from accord.sharing.models import Collection, StixDeletion, StixObject

TAXII_21 = "application/taxii+json;version=2.1"
DIRECTIONS = ("pull", "push")
# The levels that may travel between nodes without a human deciding so.
TRAVELS = frozenset(level for level in tlp.LEVELS if tlp.RANK[level] <= tlp.RANK["green"])
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")


class PeerError(AccordError):
    status = 502
    title = "Peer failed"
    slug = "peer-failed"


class PeerUnreachable(PeerError):
    title = "Peer unreachable"
    slug = "peer-unreachable"


class PeerRefused(PeerError):
    title = "Peer refused"
    slug = "peer-refused"


# ---------------------------------------------------------------- the peer's token


def _cipher() -> Any:
    """The node's key for secrets at rest: ACCORD_SECRET_KEY, else ``node.key`` in the data directory
    (created on first use, readable by the owner only)."""
    from cryptography.fernet import Fernet

    from accord.config import Settings

    settings = Settings()
    key = settings.secret_key.get_secret_value() if settings.secret_key else None
    if not key:
        path = settings.data_dir / "node.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(Fernet.generate_key())
            path.chmod(0o600)
        key = path.read_text().strip()
    return Fernet(key.encode())


def seal(token: str) -> str:
    """How a peer's token is stored: encrypted with the node key (Fernet: AES-CBC + HMAC-SHA256)."""
    return "fernet:" + _cipher().encrypt(token.encode()).decode()


def unseal(sealed: str) -> str:
    scheme, _, value = sealed.partition(":")
    if scheme == "fernet":
        from cryptography.fernet import InvalidToken

        try:
            return str(_cipher().decrypt(value.encode()).decode())
        except InvalidToken:
            raise AccordError("the peer's stored token cannot be decrypted with this node's key") from None
    if scheme == "plain":  # written by an earlier release; `accord peer add` again re-seals it
        return value
    raise AccordError(f"unknown token seal {scheme!r}")


# ---------------------------------------------------------------- registry


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise Invalid("invalid peer URL", [Problem("url", "an http(s) base URL, e.g. https://node.example.org")])
    return url.rstrip("/")


def add_peer(
    session: Session,
    *,
    name: str,
    base_url: str,
    token: str,
    public_key: str | None = None,
    api_root: str = "taxii2/accord/",
    party_id: int | None = None,
    state_code: str | None = None,
    actor: Actor = audit.SYSTEM,
) -> Peer:
    """Register a peer. Its party (who produced what is pulled from it) is ``peer-<name>``, made if needed;
    ``state_code`` names the state the peer node speaks for (crisis messages to that state go to it)."""
    if not _NAME.match(name):
        raise Invalid("invalid peer name", [Problem("name", "lower-case letters, digits, '.', '_', '-'")])
    if session.scalar(select(Peer.id).where(Peer.name == name)) is not None:
        raise Invalid("peer exists", [Problem("name", f"{name!r} is taken")])
    _check_token(token)
    url = _check_url(base_url)
    if state_code is not None and session.scalar(select(State.code).where(State.code == state_code)) is None:
        raise Invalid("unknown state", [Problem("state_code", f"no state with code {state_code!r}")])
    if party_id is None:
        key = f"peer-{name}"
        party_id = session.scalar(select(Party.id).where(Party.key == key))
        if party_id is None:
            party_id = service.create_party(
                session, key=key, name=f"Peer node {name}", state_code=state_code, actor=actor
            ).id
    peer = Peer(
        name=name,
        base_url=url,
        api_root=api_root.strip("/") + "/",
        token_sealed=seal(token.strip()),
        public_key=public_key,
        party_id=party_id,
    )
    session.add(peer)
    session.flush()
    audit.record(session, actor, "create", "federation_peers", name, None, {"url": url, "party": party_id})
    return peer


def _check_token(token: str) -> None:
    if not token.strip() or any(ch.isspace() or not ch.isprintable() for ch in token.strip()):
        raise Invalid("invalid token", [Problem("token", "the API token this node presents to the peer, one word")])


def get_peer(session: Session, name: str) -> Peer:
    peer = session.scalar(select(Peer).where(Peer.name == name))
    if peer is None:
        raise NotFound(f"no peer {name!r}")
    return peer


def list_peers(session: Session) -> list[Peer]:
    return list(session.scalars(select(Peer).order_by(Peer.name)))


def set_token(session: Session, name: str, token: str, *, actor: Actor = audit.SYSTEM) -> None:
    """Replace the token presented to a peer (the value itself is never audited)."""
    _check_token(token)
    get_peer(session, name).token_sealed = seal(token.strip())
    audit.record(session, actor, "set-token", "federation_peers", name)


def add_link(
    session: Session,
    *,
    peer: str,
    local_collection: str,
    remote_collection: str,
    direction: str,
    actor: Actor = audit.SYSTEM,
) -> FederationLink:
    """Tie a local collection (id or alias) to a peer's collection (its id), pulled or pushed."""
    if direction not in DIRECTIONS:
        raise Invalid("invalid direction", [Problem("direction", "pull or push")])
    p = get_peer(session, peer)
    coll = service.get_collection(session, local_collection)
    link = FederationLink(
        peer_id=p.id,
        local_collection_id=coll.id,
        remote_collection_id=remote_collection,
        direction=direction,
        objects_after=0,
        deletions_after=0,
        failures=0,
    )
    session.add(link)
    session.flush()
    after = {"local": coll.id, "remote": remote_collection, "direction": direction}
    audit.record(session, actor, "link", "federation_peers", peer, None, after)
    return link


def links(session: Session, peer: str | None = None) -> list[FederationLink]:
    stmt = select(FederationLink).order_by(FederationLink.id)
    if peer is not None:
        stmt = stmt.where(FederationLink.peer_id == get_peer(session, peer).id)
    return list(session.scalars(stmt))


@dataclass(frozen=True)
class LinkStatus:
    """One line of the federation status page."""

    link_id: int
    peer: str
    direction: str
    local_collection: str
    remote_collection: str
    last_attempt: dt.datetime | None
    last_success: dt.datetime | None
    last_error: str | None
    failures: int
    next_attempt: dt.datetime | None
    lag_seconds: float | None  # since the last successful sync; None = never synced

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        for k in ("last_attempt", "last_success", "next_attempt"):
            out[k] = out[k].isoformat() if out[k] else None
        return out


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    return value.replace(tzinfo=dt.UTC) if value is not None and value.tzinfo is None else value


def status(session: Session, now: dt.datetime | None = None) -> list[LinkStatus]:
    now = now or dt.datetime.now(dt.UTC)
    rows = session.execute(select(FederationLink, Peer.name).join(Peer).order_by(Peer.name, FederationLink.id))
    out = []
    for link, name in rows:
        success = _aware(link.last_success)
        out.append(
            LinkStatus(
                link.id,
                name,
                link.direction,
                link.local_collection_id,
                link.remote_collection_id,
                _aware(link.last_attempt),
                success,
                link.last_error,
                link.failures,
                _aware(link.next_attempt),
                (now - success).total_seconds() if success else None,
            )
        )
    return out


# ---------------------------------------------------------------- what may travel


def travelling(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The object as it may leave (or enter) the node automatically, or None if it may not travel."""
    if tlp.object_level(obj, "red") not in TRAVELS:
        return None
    return tlp.redact(obj, TRAVELS)


def deletions_since(
    session: Session, coll: Collection, *, after: int, limit: int, reader: Any = None
) -> tuple[list[StixDeletion], bool]:
    """Tombstones of ``coll`` recorded after ``after`` (microseconds), oldest first, and whether more follow.

    A page never splits the tombstones of one moment, so ``after`` = the last ``deleted_at`` is a safe cursor.
    """
    base = select(StixDeletion).where(StixDeletion.collection_id == coll.id)
    if reader is not None:  # a tombstone reveals an id and a version: only to those who could see the version
        base = base.where(tlp.visibility_clause(reader, StixDeletion))
    rows = list(
        session.scalars(
            base.where(StixDeletion.deleted_at > after).order_by(StixDeletion.deleted_at, StixDeletion.id).limit(limit)
        )
    )
    if not rows:
        return rows, False
    last = rows[-1].deleted_at
    if len(rows) == limit:  # complete the last moment
        seen = {r.id for r in rows}
        rows += [
            r
            for r in session.scalars(base.where(StixDeletion.deleted_at == last).order_by(StixDeletion.id))
            if r.id not in seen
        ]
    more = session.scalar(base.where(StixDeletion.deleted_at > last).limit(1)) is not None
    return rows, more


# ---------------------------------------------------------------- HTTP


@dataclass(frozen=True)
class Retry:
    """Within one attempt: tries per request, and the exponential pause between them (seconds)."""

    tries: int = 3
    base: float = 0.5
    cap: float = 4.0


@dataclass(frozen=True)
class Backoff:
    """Between attempts of a failing link: base * 2^(failures-1) seconds, capped."""

    base: float = 30.0
    cap: float = 3600.0

    def delay(self, failures: int) -> dt.timedelta:
        return dt.timedelta(seconds=min(self.cap, self.base * 2 ** max(0, failures - 1)))


@dataclass
class PeerView:
    """What a sync needs of a peer, read once (the token unsealed only here, in memory)."""

    name: str
    base_url: str
    api_root: str
    token: str
    party_id: int

    @property
    def provenance(self) -> str:
        return f"peer:{self.name}"

    def taxii(self, remote: str, tail: str = "objects/") -> str:
        return f"{self.base_url}/{self.api_root}collections/{quote(remote, safe='')}/{tail}"

    def deletions(self, remote: str) -> str:
        return f"{self.base_url}/federation/v1/collections/{quote(remote, safe='')}/deletions"

    def headers(self, content: bool = False) -> dict[str, str]:
        h = {"Authorization": f"Bearer {self.token}", "Accept": TAXII_21}
        if content:
            h["Content-Type"] = TAXII_21
        return h


def request(client: httpx.Client, method: str, url: str, retry: Retry, ok: tuple[int, ...] = (), **kw: Any) -> Any:
    """One HTTP exchange with retries on network errors, 429 and 5xx; other errors raise at once."""
    error: PeerError = PeerUnreachable(f"{method} {url}: no attempt made")
    for attempt in range(retry.tries):
        try:
            resp = client.request(method, url, **kw)
        except httpx.TransportError as exc:  # connect refused, timeout, reset...
            error = PeerUnreachable(f"{method} {url}: {type(exc).__name__}: {exc}"[:500])
        else:
            if resp.status_code < 400 or resp.status_code in ok:
                return resp
            error = PeerRefused(f"{method} {url}: HTTP {resp.status_code} {resp.text[:300]}")
            if resp.status_code < 500 and resp.status_code != 429:
                raise error
        if attempt + 1 < retry.tries:
            time.sleep(min(retry.cap, retry.base * 2**attempt))
    raise error


def _json(resp: Any) -> dict[str, Any]:
    try:
        body = resp.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise PeerRefused(f"{resp.request.method} {resp.request.url}: the body is not a JSON object")
    return body


def open_client(timeout: float = 10.0) -> httpx.Client:
    """The HTTP client of a sync run: bounded timeouts, no redirects to elsewhere."""
    return httpx.Client(timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)), follow_redirects=False)


# ---------------------------------------------------------------- sync


@dataclass
class SyncReport:
    link_id: int
    peer: str
    direction: str
    objects: int = 0  # versions stored (pull) or sent (push)
    duplicates: int = 0  # versions the receiving store already had
    held_back: int = 0  # versions whose TLP may not travel
    refused: int = 0  # versions the receiving store refused (invalid)
    deleted: int = 0  # versions deleted (pull: here; push: on the peer)
    pages: int = 0
    error: str | None = None
    skipped: bool = False  # in back-off, not attempted
    failures: list[dict[str, str]] = field(default_factory=list)


class _Moved(Exception):
    """Another worker moved the checkpoint first: this run stops, the other one carries on."""


def _advance(session: Session, link_id: int, column: str, old: int, new: int) -> None:
    """Compare-and-set a checkpoint: the first write of its transaction (it takes the row lock)."""
    col = getattr(FederationLink, column)
    moved = session.execute(
        update(FederationLink).where(FederationLink.id == link_id, col == old).values({column: max(old, new)})
    )
    if moved.rowcount != 1:
        raise _Moved()


def _view(session: Session, link: FederationLink) -> PeerView:
    peer = session.get(Peer, link.peer_id)
    assert peer is not None  # the foreign key holds
    return PeerView(peer.name, peer.base_url, peer.api_root, unseal(peer.token_sealed), peer.party_id)


def _apply_deletions(session: Session, link: FederationLink, peer: PeerView, items: list[dict[str, Any]]) -> int:
    """Delete the local versions the peer deleted — only those that came from that peer."""
    wanted: dict[str, set[str]] = {}
    for item in items:
        try:
            wanted.setdefault(str(item["id"]), set()).add(service.canonical(str(item["version"])))
        except (KeyError, ValueError):
            raise PeerRefused(f"malformed deletion from {peer.name}: {str(item)[:200]}") from None
    coll = service.get_collection(session, link.local_collection_id)
    done = 0
    for stix_id, versions in wanted.items():
        present = list(
            session.scalars(
                select(StixObject.version).where(
                    StixObject.collection_id == coll.id,
                    StixObject.stix_id == stix_id,
                    StixObject.version.in_(sorted(versions)),
                    StixObject.provenance == peer.provenance,
                )
            )
        )
        if present:
            done += service.delete_object(
                session,
                coll,
                tlp.Reader(peer.party_id),  # the peer's party produced these rows, so it sees them all
                stix_id,
                service.ObjectQuery(versions=present),
                actor=Actor(peer.provenance),
            )
    return done


def _ingest(session: Session, link: FederationLink, peer: PeerView, objects: list[Any], rep: SyncReport) -> None:
    allowed = []
    for obj in objects:
        ok = travelling(obj) if isinstance(obj, dict) else obj  # not a dict: let validation refuse it
        if ok is None:
            rep.held_back += 1
        else:
            allowed.append(ok)
    if not allowed:
        return
    coll = service.get_collection(session, link.local_collection_id)
    before = _count(session, coll.id)
    result = service.ingest(
        session,
        coll,
        allowed,
        actor=Actor(peer.provenance),
        producer_party_id=peer.party_id,
        provenance=peer.provenance,
        unmarked="red",
    )
    stored = _count(session, coll.id) - before
    rep.objects += stored
    rep.duplicates += len(result.successes) - stored
    rep.refused += len(result.failures)
    rep.failures += result.failures[:20]


def _count(session: Session, coll_id: str) -> int:
    return session.scalar(select(func.count()).select_from(StixObject).where(StixObject.collection_id == coll_id)) or 0


def _pull_deletions(
    sessions: sessionmaker[Session],
    link_id: int,
    peer: PeerView,
    http: httpx.Client,
    opts: SyncOptions,
    rep: SyncReport,
) -> None:
    while True:
        with sessions() as s:
            link = s.get(FederationLink, link_id)
            assert link is not None
            after, remote = link.deletions_after, link.remote_collection_id
        resp = request(
            http,
            "GET",
            peer.deletions(remote),
            opts.retry,
            params={"after": str(after), "limit": str(opts.page_size)},
            headers={**peer.headers(), "Accept": "application/json"},
        )
        body = _json(resp)
        items = body.get("deletions") or []
        last = int(body.get("last") or after)
        with unit_of_work(sessions) as s:
            _advance(s, link_id, "deletions_after", after, last)
            link = s.get(FederationLink, link_id)
            assert link is not None
            rep.deleted += _apply_deletions(s, link, peer, items)
        rep.pages += 1
        if not body.get("more") or last <= after:
            return


def _pull_objects(
    sessions: sessionmaker[Session],
    link_id: int,
    peer: PeerView,
    http: httpx.Client,
    opts: SyncOptions,
    rep: SyncReport,
) -> None:
    with sessions() as s:
        link = s.get(FederationLink, link_id)
        assert link is not None
        after, remote = link.objects_after, link.remote_collection_id
    params = {"match[version]": "all", "limit": str(opts.page_size)}
    if after:
        params["added_after"] = service.micros_to_ts(after)
    token: str | None = None
    while True:
        resp = request(
            http,
            "GET",
            peer.taxii(remote),
            opts.retry,
            params={**params, **({"next": token} if token else {})},
            headers=peer.headers(),
        )
        body = _json(resp)
        objects = body.get("objects") or []
        if not isinstance(objects, list):
            raise PeerRefused(f"{peer.name}: 'objects' is not a list")
        stamp = resp.headers.get("X-TAXII-Date-Added-Last")
        try:
            last = service.ts_to_micros(stamp) if stamp else after
        except ValueError:
            raise PeerRefused(f"{peer.name}: bad X-TAXII-Date-Added-Last {stamp!r}") from None
        with unit_of_work(sessions) as s:
            _advance(s, link_id, "objects_after", after, last)
            link = s.get(FederationLink, link_id)
            assert link is not None
            _ingest(s, link, peer, objects, rep)
        rep.pages += 1
        after = max(after, last)
        token = body.get("next")
        if not body.get("more") or not token:
            return


def _push_objects(
    sessions: sessionmaker[Session],
    link_id: int,
    peer: PeerView,
    http: httpx.Client,
    opts: SyncOptions,
    rep: SyncReport,
) -> None:
    while True:
        with sessions() as s:
            link = s.get(FederationLink, link_id)
            assert link is not None
            after, remote, coll_id = link.objects_after, link.remote_collection_id, link.local_collection_id
            rows = list(
                s.scalars(
                    select(StixObject)
                    .where(StixObject.collection_id == coll_id, StixObject.date_added > after)
                    .order_by(StixObject.date_added, StixObject.id)
                    .limit(opts.page_size)
                )
            )
        if not rows:
            return
        sent: list[dict[str, Any]] = []
        for row in rows:
            obj = travelling(json.loads(row.body)) if row.tlp in TRAVELS else None
            if obj is None:
                rep.held_back += 1
            elif row.provenance != peer.provenance:  # never send a peer its own objects back
                sent.append(obj)
        if sent:
            resp = request(
                http,
                "POST",
                peer.taxii(remote),
                opts.retry,
                content=json.dumps({"objects": sent}, ensure_ascii=False).encode(),
                headers=peer.headers(content=True),
            )
            body = _json(resp)
            rep.refused += int(body.get("failure_count") or 0)
            rep.failures += (body.get("failures") or [])[:20]
        with unit_of_work(sessions) as s:
            _advance(s, link_id, "objects_after", after, rows[-1].date_added)
            _record_sent(s, link_id, sent)
        rep.objects += len(sent)
        rep.pages += 1
        if len(rows) < opts.page_size:
            return


def _record_sent(session: Session, link_id: int, sent: list[dict[str, Any]]) -> None:
    keys = {(o["id"], service.object_version(o, 0)) for o in sent}
    if not keys:
        return
    have = set(
        session.execute(
            select(FederationSent.stix_id, FederationSent.version).where(
                FederationSent.link_id == link_id, FederationSent.stix_id.in_(sorted({k[0] for k in keys}))
            )
        ).all()
    )
    rows = [{"link_id": link_id, "stix_id": i, "version": v} for i, v in sorted(keys - have)]
    if rows:
        session.execute(insert(FederationSent), rows)


def _push_deletions(
    sessions: sessionmaker[Session],
    link_id: int,
    peer: PeerView,
    http: httpx.Client,
    opts: SyncOptions,
    rep: SyncReport,
) -> None:
    while True:
        with sessions() as s:
            link = s.get(FederationLink, link_id)
            assert link is not None
            after, remote = link.deletions_after, link.remote_collection_id
            coll = service.get_collection(s, link.local_collection_id)
            tombs, more = deletions_since(s, coll, after=after, limit=opts.page_size)
            pairs = [(t.stix_id, t.version) for t in tombs if t.deleted_by != peer.provenance]
            sent = set(
                s.execute(
                    select(FederationSent.stix_id, FederationSent.version).where(
                        FederationSent.link_id == link_id,
                        or_(*[and_(FederationSent.stix_id == i, FederationSent.version == v) for i, v in pairs]),
                    )
                ).all()
                if pairs
                else []
            )
        if not tombs:
            return
        for stix_id, version in sorted(sent):
            request(
                http,
                "DELETE",
                peer.taxii(remote, f"objects/{quote(stix_id, safe='')}/"),
                opts.retry,
                ok=(404,),  # already gone there
                params={"match[version]": service.display(version)},
                headers=peer.headers(),
            )
        with unit_of_work(sessions) as s:
            _advance(s, link_id, "deletions_after", after, tombs[-1].deleted_at)
            for stix_id, version in sent:
                s.execute(
                    delete(FederationSent).where(
                        FederationSent.link_id == link_id,
                        FederationSent.stix_id == stix_id,
                        FederationSent.version == version,
                    )
                )
        rep.deleted += len(sent)
        rep.pages += 1
        if not more:
            return


@dataclass(frozen=True)
class SyncOptions:
    page_size: int = 500
    retry: Retry = Retry()
    backoff: Backoff = Backoff()
    timeout: float = 10.0


@contextmanager
def _client(given: httpx.Client | None, timeout: float) -> Iterator[httpx.Client]:
    if given is not None:
        yield given
        return
    with open_client(timeout) as http:
        yield http


def _finish(sessions: sessionmaker[Session], link_id: int, error: str | None, backoff: Backoff) -> None:
    now = dt.datetime.now(dt.UTC)
    with unit_of_work(sessions) as s:
        link = s.get(FederationLink, link_id)
        if link is None:
            return
        link.last_attempt = now
        if error is None:
            link.last_success, link.last_error, link.failures, link.next_attempt = now, None, 0, None
        else:
            link.failures += 1
            link.last_error = error[:2000]
            link.next_attempt = now + backoff.delay(link.failures)


def sync_link(
    sessions: sessionmaker[Session],
    link_id: int,
    *,
    options: SyncOptions = SyncOptions(),
    client: httpx.Client | None = None,
) -> SyncReport:
    """One attempt at one link; its outcome (success, or the error and next attempt) is recorded."""
    with sessions() as s:
        link = s.get(FederationLink, link_id)
        if link is None:
            raise NotFound(f"no federation link {link_id}")
        peer, direction = _view(s, link), link.direction
    rep = SyncReport(link_id, peer.name, direction)
    steps: tuple[Callable[..., None], ...] = (
        (_pull_deletions, _pull_objects) if direction == "pull" else (_push_objects, _push_deletions)
    )
    try:
        with _client(client, options.timeout) as http:
            for step in steps:
                step(sessions, link_id, peer, http, options, rep)
    except _Moved:
        return rep  # another worker is syncing this link; its outcome will be recorded by it
    except PeerError as exc:
        rep.error = exc.detail
    _finish(sessions, link_id, rep.error, options.backoff)
    return rep


def sync(
    sessions: sessionmaker[Session],
    *,
    peer: str | None = None,
    force: bool = False,
    options: SyncOptions = SyncOptions(),
    client: httpx.Client | None = None,
    now: dt.datetime | None = None,
) -> list[SyncReport]:
    """Sync every link (of one peer); links in back-off are skipped unless ``force``."""
    now = now or dt.datetime.now(dt.UTC)
    stmt = select(FederationLink, Peer.name).join(Peer).order_by(FederationLink.id)
    with sessions() as s:
        if peer is not None:
            stmt = stmt.where(Peer.id == get_peer(s, peer).id)
        todo = [(link.id, name, link.direction, _aware(link.next_attempt)) for link, name in s.execute(stmt)]
    reports = []
    for link_id, name, direction, due in todo:
        if not force and due is not None and due > now:
            reports.append(SyncReport(link_id, name, direction, skipped=True))
            continue
        reports.append(sync_link(sessions, link_id, options=options, client=client))
    return reports
