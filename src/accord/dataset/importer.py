"""Bulk import of records in the dataset format (FORMAT.md): validate everything, then write in bulk.

An import is all-or-nothing: every record is validated (schema, references, duplicates) before the
first row is written, and the caller commits the whole import as one transaction. Problems carry the
record's location (file line for JSONL/CSV, JSON path otherwise).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.bulk import insert_returning_ids, insert_rows
from accord.core.errors import Invalid, Problem
from accord.core.records import problems_from_validation
from accord.directory.models import Membership, Organisation, State
from accord.directory.schemas import MembershipCreate, OrganisationCreate, StateCreate
from accord.incidents.models import (
    Attribution,
    Incident,
    IncidentActor,
    IncidentReceiver,
    NormFinding,
    Response,
    ThreatActor,
)
from accord.incidents.schemas import (
    AttributionCreate,
    IncidentCreate,
    NormFindingCreate,
    ResponseCreate,
    ThreatActorCreate,
)
from accord.norms.models import Commitment, Instrument, Provision
from accord.norms.schemas import CommitmentCreate, InstrumentCreate, ProvisionCreate

Progress = Callable[[int], None]
SECTIONS = ("states", "organisations", "instruments", "actors", "incidents")
BATCH = 5000


@dataclass
class Record:
    """One input record with where it came from (``where`` names it in problems)."""

    data: dict[str, Any]
    where: str
    line: int | None = None


@dataclass
class Report:
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, n: int) -> None:
        self.counts[name] = self.counts.get(name, 0) + n


class _Checker:
    """Collects problems and resolves references against the database plus the records being imported."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.problems: list[Problem] = []
        self.states = set(session.scalars(select(State.code)))
        self.orgs = set(session.scalars(select(Organisation.code)))
        self.instruments = set(session.scalars(select(Instrument.code)))
        self.provisions: dict[str, int | None] = {
            f"{i}/{c}": pid
            for pid, i, c in session.execute(select(Provision.id, Provision.instrument_code, Provision.code))
        }
        self.actors: dict[str, int | None] = {}
        for aid, name, attack in session.execute(select(ThreatActor.id, ThreatActor.name, ThreatActor.attack_id)):
            self.actors[name] = aid
            if attack:
                self.actors[attack] = aid
        self.slugs = set(session.scalars(select(Incident.slug)))

    def problem(self, rec: Record, path: str, reason: str) -> None:
        self.problems.append(Problem(f"{rec.where}.{path}" if path else rec.where, reason, rec.line))

    def validate(self, rec: Record, schema: type[BaseModel], data: dict[str, Any], path: str = "") -> Any:
        try:
            return schema.model_validate(data)
        except ValidationError as exc:
            prefix = [f"{rec.where}{'.' + path if path else ''}"]
            self.problems += problems_from_validation(exc, prefix, rec.line)
            return None

    def ref(self, rec: Record, path: str, value: Any, known: Any, what: str) -> None:
        if value is not None and value not in known:
            self.problem(rec, path, f"unknown {what} {value!r}")


def _split(data: dict[str, Any], *names: str) -> tuple[dict[str, Any], list[Any]]:
    data = dict(data)
    return data, [data.pop(n, None) for n in names]


def _date(value: Any) -> Any:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


# ---------------------------------------------------------------- per section: validate -> rows


def _states(ck: _Checker, recs: list[Record]) -> list[dict[str, Any]]:
    from accord.core.types import alpha3, country_name

    rows = []
    for rec in recs:
        data = dict(rec.data)
        code = str(data.get("code", "")).upper()
        data.setdefault("name", country_name(code) or code)
        data.setdefault("alpha3", alpha3(code))
        obj = ck.validate(rec, StateCreate, data)
        if obj is None:
            continue
        if obj.code in ck.states:
            ck.problem(rec, "code", f"state {obj.code!r} already exists")
        ck.states.add(obj.code)
        rows.append(obj.model_dump())
    return rows


def _organisations(ck: _Checker, recs: list[Record]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    orgs, members = [], []
    for rec in recs:
        data, (mems,) = _split(rec.data, "members")
        obj = ck.validate(rec, OrganisationCreate, data)
        if obj is None:
            continue
        if obj.code in ck.orgs:
            ck.problem(rec, "code", f"organisation {obj.code!r} already exists")
        ck.orgs.add(obj.code)
        orgs.append(obj.model_dump())
        seen = set()
        for i, m in enumerate(mems or []):
            mdata = {("state_code" if k == "state" else k): v for k, v in m.items()} | {"organisation_code": obj.code}
            mobj = ck.validate(rec, MembershipCreate, mdata, f"members.{i}")
            if mobj is None:
                continue
            ck.ref(rec, f"members.{i}.state", mobj.state_code, ck.states, "state")
            key = (mobj.state_code, mobj.joined)
            if key in seen:
                ck.problem(rec, f"members.{i}", "duplicate membership (same state and joined date)")
            seen.add(key)
            members.append(mobj.model_dump())
    return orgs, members


def _instruments(ck: _Checker, recs: list[Record]) -> tuple[list[Any], list[Any], list[Any]]:
    insts, provs, comms = [], [], []
    for rec in recs:
        data, (provisions, commitments, org, _precision) = _split(
            rec.data, "provisions", "commitments", "organisation", "date_precision"
        )
        if org is not None:
            data.setdefault("organisation_code", org)
        obj = ck.validate(rec, InstrumentCreate, data)
        if obj is None:
            continue
        if obj.code in ck.instruments:
            ck.problem(rec, "code", f"instrument {obj.code!r} already exists")
        ck.instruments.add(obj.code)
        ck.ref(rec, "organisation_code", obj.organisation_code, ck.orgs, "organisation")
        insts.append(obj.model_dump())
        for i, p in enumerate(provisions or []):
            pobj = ck.validate(
                rec, ProvisionCreate, {"position": i, **p, "instrument_code": obj.code}, f"provisions.{i}"
            )
            if pobj is None:
                continue
            ref = f"{obj.code}/{pobj.code}"
            if ref in ck.provisions:
                ck.problem(rec, f"provisions.{i}.code", f"duplicate provision {ref!r}")
            ck.provisions[ref] = None
            provs.append(pobj.model_dump())
        seen = set()
        for i, c in enumerate(commitments or []):
            cdata = {("state_code" if k == "state" else k): v for k, v in c.items()} | {"instrument_code": obj.code}
            cobj = ck.validate(rec, CommitmentCreate, cdata, f"commitments.{i}")
            if cobj is None:
                continue
            ck.ref(rec, f"commitments.{i}.state", cobj.state_code, ck.states, "state")
            key = (cobj.state_code, cobj.status, cobj.date)
            if key in seen:
                ck.problem(rec, f"commitments.{i}", "duplicate commitment (same state, status and date)")
            seen.add(key)
            comms.append(cobj.model_dump())
    return insts, provs, comms


def _actors(ck: _Checker, recs: list[Record]) -> list[dict[str, Any]]:
    rows = []
    for rec in recs:
        obj = ck.validate(rec, ThreatActorCreate, rec.data)
        if obj is None:
            continue
        ck.ref(rec, "sponsor_state", obj.sponsor_state, ck.states, "state")
        for key in (obj.name, obj.attack_id):
            if key and key in ck.actors:
                ck.problem(rec, "name" if key == obj.name else "attack_id", f"actor {key!r} already exists")
        ck.actors[obj.name] = None
        if obj.attack_id:
            ck.actors[obj.attack_id] = None
        rows.append(obj.model_dump())
    return rows


def _party(
    ck: _Checker, rec: Record, path: str, obj: Any, state_fields: tuple[str, ...], org_fields: tuple[str, ...]
) -> None:
    for f in state_fields:
        ck.ref(rec, f"{path}.{f}", getattr(obj, f), ck.states, "state")
    for f in org_fields:
        ck.ref(rec, f"{path}.{f}", getattr(obj, f), ck.orgs, "organisation")


def _incidents(
    ck: _Checker, recs: list[Record]
) -> list[tuple[dict[str, Any], list[Any], list[Any], list[Any], list[Any], list[str]]]:
    out = []
    for rec in recs:
        data, (attributions, responses, findings, actors) = _split(
            rec.data, "attributions", "responses", "norm_findings", "actors"
        )
        data["receivers"] = [
            {("state_code" if k == "state" else k): v for k, v in r.items()} for r in data.get("receivers") or []
        ]
        obj = ck.validate(rec, IncidentCreate, data)
        if obj is None:
            continue
        if obj.slug in ck.slugs:
            ck.problem(rec, "slug", f"incident {obj.slug!r} already exists")
        ck.slugs.add(obj.slug)
        for i, r in enumerate(obj.receivers):
            ck.ref(rec, f"receivers.{i}.state", r.state_code, ck.states, "state")
        actor_refs = [str(a) for a in actors or []]
        for i, a in enumerate(actor_refs):
            ck.ref(rec, f"actors.{i}", a, ck.actors, "threat actor")
        atts = []
        for i, a in enumerate(attributions or []):
            adata, (actor,) = _split(a, "attributed_actor")
            aobj = ck.validate(rec, AttributionCreate, adata | {"incident_id": 1}, f"attributions.{i}")
            if aobj is None:
                continue
            _party(ck, rec, f"attributions.{i}", aobj, ("by_state", "attributed_state"), ("by_organisation",))
            ck.ref(rec, f"attributions.{i}.attributed_actor", actor, ck.actors, "threat actor")
            atts.append((aobj.model_dump(exclude={"incident_id"}), actor))
        resps = []
        for i, r in enumerate(responses or []):
            robj = ck.validate(rec, ResponseCreate, r | {"incident_id": 1}, f"responses.{i}")
            if robj is None:
                continue
            _party(ck, rec, f"responses.{i}", robj, ("by_state", "against_state"), ("by_organisation",))
            resps.append(robj.model_dump(exclude={"incident_id"}))
        finds = []
        for i, f in enumerate(findings or []):
            fdata, (prov,) = _split(f, "provision")
            fobj = ck.validate(
                rec, NormFindingCreate, fdata | {"incident_id": 1, "provision_id": 1}, f"norm_findings.{i}"
            )
            if fobj is None:
                continue
            _party(ck, rec, f"norm_findings.{i}", fobj, ("claimed_by_state",), ("claimed_by_organisation",))
            ck.ref(rec, f"norm_findings.{i}.provision", prov, ck.provisions, "provision")
            finds.append((fobj.model_dump(exclude={"incident_id", "provision_id"}), prov))
        plain = obj.model_dump(exclude={"actor_ids"})
        out.append((plain, obj.receivers, atts, resps, finds, actor_refs))
    return out


# ---------------------------------------------------------------- writing


def _bulk(session: Session, model: Any, rows: list[dict[str, Any]], progress: Progress | None = None) -> None:
    """Bulk insert in batches (COPY / executemany: no ORM unit-of-work overhead)."""
    conn = session.connection()
    for i in range(0, len(rows), BATCH):
        chunk = rows[i : i + BATCH]
        insert_rows(conn, model.__table__, chunk)
        if progress:
            progress(len(chunk))


def _write_incidents(session: Session, items: list[Any], progress: Progress | None) -> dict[str, int]:
    actor_ids = {
        **{n: i for i, n in session.execute(select(ThreatActor.id, ThreatActor.name))},
        **{a: i for i, a in session.execute(select(ThreatActor.id, ThreatActor.attack_id)) if a},
    }
    prov_ids = {
        f"{i}/{c}": pid
        for pid, i, c in session.execute(select(Provision.id, Provision.instrument_code, Provision.code))
    }
    counts = {"incidents": 0, "attributions": 0, "responses": 0, "norm_findings": 0}
    conn = session.connection()
    for start in range(0, len(items), BATCH):
        chunk = items[start : start + BATCH]
        rows = [{k: v for k, v in plain.items() if k != "receivers"} for plain, *_ in chunk]
        ids = insert_returning_ids(conn, Incident.__table__, rows, "slug")
        recs, links, atts, resps, finds = [], [], [], [], []
        for plain, receivers, a_list, r_list, f_list, actor_refs in chunk:
            iid = ids[plain["slug"]]
            recs += [r.model_dump() | {"incident_id": iid} for r in receivers]
            links += [{"incident_id": iid, "actor_id": a} for a in dict.fromkeys(actor_ids[x] for x in actor_refs)]
            atts += [
                a | {"incident_id": iid, "attributed_actor_id": actor_ids.get(actor) if actor else None}
                for a, actor in a_list
            ]
            resps += [r | {"incident_id": iid} for r in r_list]
            finds += [f | {"incident_id": iid, "provision_id": prov_ids[p]} for f, p in f_list]
        for model, batch in (
            (IncidentReceiver, recs),
            (IncidentActor, links),
            (Attribution, atts),
            (Response, resps),
            (NormFinding, finds),
        ):
            insert_rows(conn, model.__table__, batch)
        counts["incidents"] += len(chunk)
        counts["attributions"] += len(atts)
        counts["responses"] += len(resps)
        counts["norm_findings"] += len(finds)
        if progress:
            progress(len(chunk))
    return counts


def import_bundle(session: Session, bundle: dict[str, list[Record]], progress: Progress | None = None) -> Report:
    """Validate and write a bundle of records; raise :class:`Invalid` (nothing written) on any problem."""
    ck = _Checker(session)
    states = _states(ck, bundle.get("states", []))
    orgs, members = _organisations(ck, bundle.get("organisations", []))
    insts, provs, comms = _instruments(ck, bundle.get("instruments", []))
    actors = _actors(ck, bundle.get("actors", []))
    incidents = _incidents(ck, bundle.get("incidents", []))
    if ck.problems:
        raise Invalid(f"{len(ck.problems)} problem(s); nothing was imported", ck.problems)
    report = Report()
    for name, model, rows in (
        ("states", State, states),
        ("organisations", Organisation, orgs),
        ("memberships", Membership, members),
        ("instruments", Instrument, insts),
        ("provisions", Provision, provs),
        ("commitments", Commitment, comms),
        ("actors", ThreatActor, actors),
    ):
        _bulk(session, model, rows, progress)
        report.add(name, len(rows))
    for name, n in _write_incidents(session, incidents, progress).items():
        report.add(name, n)
    session.flush()
    return report


def bundle_size(bundle: dict[str, list[Record]]) -> int:
    """Units of progress an import of this bundle reports (for a progress bar's total)."""
    n = sum(len(bundle.get(k, [])) for k in ("states", "organisations", "instruments", "actors", "incidents"))
    n += sum(len(r.data.get("members") or []) for r in bundle.get("organisations", []))
    n += sum(
        len(r.data.get("provisions") or []) + len(r.data.get("commitments") or [])
        for r in bundle.get("instruments", [])
    )
    return n


def records_from(items: Iterable[dict[str, Any]], section: str) -> list[Record]:
    return [Record(item, f"{section}[{i}]") for i, item in enumerate(items)]
