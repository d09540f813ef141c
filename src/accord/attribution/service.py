"""The attribution workbench of one incident: hypotheses, graded evidence, ratings, observed techniques and
software — validated, audited — and :func:`board`, everything for one incident in one call (confidence,
analysis of competing hypotheses, missing evidence, sponsor states).

Functions take a session and never commit; every change is written to the audit log in the same
transaction. Bad input raises :class:`~accord.core.errors.Invalid` (422) naming the fields, before anything
is written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from accord.attribution import ach, confidence, sponsors
from accord.attribution import schemas as s
from accord.attribution.models import EVIDENCE_CLASSES, Evidence, Hypothesis, Observation, Rating
from accord.audit import service as audit
from accord.audit.service import SYSTEM, Actor
from accord.core import records
from accord.core.errors import (
    Conflict,
    Duplicate,
    Invalid,
    NotFound,
    Problem,
    ReferenceNotFound,
)
from accord.core.records import problems_from_validation
from accord.directory.models import State
from accord.incidents.models import Incident, ThreatActor

M = TypeVar("M", bound=BaseModel)
MAX_UPLOAD = 2_000_000  # bytes
_ATTACK_REF = re.compile(r"\b(T\d{4}(?:\.\d{3})?|S\d{4})\b")
_NEEDS = {  # kind -> alternatives of required fields (each alternative: all of its fields)
    "state": (("state_code",),),
    "unit": (("state_code", "label"),),
    "intrusion-set": (("actor_id",), ("label",)),
    "non-state": (("actor_id",), ("label",)),
    "unknown": ((),),
}


# ---------------------------------------------------------------- helpers


def _parse(schema: type[M], values: dict[str, Any]) -> M:
    try:
        return schema.model_validate(values)
    except ValidationError as exc:
        raise Invalid(f"{exc.error_count()} problem(s) in the input", problems_from_validation(exc)) from exc


etag = records.etag  # "<version>", as every editable record of the node


def hypothesis_json(h: Hypothesis) -> dict[str, Any]:
    return s.HypothesisOut.model_validate(h).model_dump(mode="json")


def evidence_json(e: Evidence) -> dict[str, Any]:
    return {**s.EvidenceOut.model_validate(e).model_dump(mode="json"), "grade": f"{e.reliability}{e.credibility}"}


def rating_json(r: Rating) -> dict[str, Any]:
    return {
        "evidence_id": r.evidence_id,
        "hypothesis_id": r.hypothesis_id,
        "rating": r.rating,
        "diagnosticity": r.diagnosticity,
    }


def observation_json(o: Observation) -> dict[str, Any]:
    return s.ObservationOut.model_validate(o).model_dump(mode="json")


# ---------------------------------------------------------------- reading


def get_incident(session: Session, incident_id: int) -> Incident:
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(f"no incident with id {incident_id}")
    return incident


def get_hypothesis(session: Session, incident_id: int, hypothesis_id: int) -> Hypothesis:
    h = session.get(Hypothesis, hypothesis_id)
    if h is None or h.incident_id != incident_id:
        raise NotFound(f"no hypothesis {hypothesis_id} in incident {incident_id}")
    return h


def get_evidence(session: Session, incident_id: int, evidence_id: int) -> Evidence:
    e = session.get(Evidence, evidence_id)
    if e is None or e.incident_id != incident_id:
        raise NotFound(f"no evidence {evidence_id} in incident {incident_id}")
    return e


def hypotheses_of(session: Session, incident_id: int) -> list[Hypothesis]:
    get_incident(session, incident_id)
    stmt = select(Hypothesis).where(Hypothesis.incident_id == incident_id)
    return list(session.scalars(stmt.order_by(Hypothesis.id)))


def evidence_of(session: Session, incident_id: int) -> list[Evidence]:
    get_incident(session, incident_id)
    return list(session.scalars(select(Evidence).where(Evidence.incident_id == incident_id).order_by(Evidence.id)))


def ratings_of(session: Session, incident_id: int) -> list[Rating]:
    get_incident(session, incident_id)
    stmt = (
        select(Rating)
        .join(Evidence, Evidence.id == Rating.evidence_id)
        .where(Evidence.incident_id == incident_id)
        .order_by(Rating.evidence_id, Rating.hypothesis_id)
    )
    return list(session.scalars(stmt))


def observations_of(session: Session, incident_id: int) -> list[Observation]:
    get_incident(session, incident_id)
    stmt = select(Observation).where(Observation.incident_id == incident_id)
    return list(session.scalars(stmt.order_by(Observation.kind.desc(), Observation.ref)))


def _delete_with_ratings(
    session: Session, row: Hypothesis | Evidence, column: Any, table: str, before: dict[str, Any], actor: Actor
) -> None:
    """Delete a hypothesis or an evidence item with its ratings, auditing what was there."""
    ratings = session.scalars(select(Rating).where(column == row.id)).all()
    before["ratings"] = [rating_json(r) for r in ratings]
    for r in ratings:
        session.expunge(r)
    # the ratings go first, in SQL: the unit of work does not order rows of tables with no relationship
    session.execute(delete(Rating).where(column == row.id))
    key = row.id
    session.delete(row)
    session.flush()
    audit.record(session, actor, "delete", table, key, before, None)


def _patched(row: Hypothesis | Evidence, create: Any, update: Any, changes: dict[str, Any]) -> tuple[dict, dict]:
    """(the fields the patch sets, the whole record as it would be) — both validated."""
    patch = _parse(update, changes).model_dump(exclude_unset=True)
    current = {f: getattr(row, f) for f in create.model_fields}
    return patch, _parse(create, {**current, **patch}).model_dump()


# ---------------------------------------------------------------- hypotheses


def _candidate_problems(session: Session, data: dict[str, Any]) -> tuple[list[Problem], list[Problem]]:
    """(fields the kind needs but lacks, names of records that do not exist)."""
    kind = data["kind"]
    options = _NEEDS[kind]
    reason = f"a hypothesis of kind {kind!r} must name its candidate"
    if not any(all(data.get(f) is not None for f in option) for option in options):
        if len(options) > 1:
            either = " or ".join(o[0] for o in options)
            return [Problem(o[0], f"{reason}: give {either}") for o in options], []
        return [Problem(f, f"{reason}: required") for f in options[0] if data.get(f) is None], []
    unknown = []
    if data.get("state_code") and session.get(State, data["state_code"]) is None:
        unknown.append(Problem("state_code", f"no state {data['state_code']!r} in the directory"))
    if data.get("actor_id") and session.get(ThreatActor, data["actor_id"]) is None:
        unknown.append(Problem("actor_id", f"no threat actor with id {data['actor_id']}"))
    return [], unknown


def _check_hypothesis(session: Session, incident_id: int, data: dict[str, Any], exclude: int | None = None) -> None:
    missing, unknown = _candidate_problems(session, data)
    if missing:
        raise Invalid("the hypothesis does not name its candidate", missing)
    if unknown:
        raise ReferenceNotFound("the hypothesis names records that do not exist", unknown)
    same = select(Hypothesis.id).where(
        Hypothesis.incident_id == incident_id,
        Hypothesis.kind == data["kind"],
        *(
            getattr(Hypothesis, f).is_(None) if data.get(f) is None else getattr(Hypothesis, f) == data[f]
            for f in ("state_code", "actor_id", "label")
        ),
    )
    if exclude is not None:
        same = same.where(Hypothesis.id != exclude)
    if session.scalar(same.limit(1)) is not None:
        raise Duplicate("this incident already has that hypothesis", [Problem("kind", "same candidate already listed")])


def create_hypothesis(
    session: Session,
    *,
    incident_id: int,
    kind: str,
    state_code: str | None = None,
    actor_id: int | None = None,
    label: str | None = None,
    note: str | None = None,
    actor: Actor = SYSTEM,
) -> Hypothesis:
    """Add a hypothesis naming a candidate: a state, a unit or agency of a state, an intrusion set, a
    non-state actor, or "unknown"."""
    payload = _parse(
        s.HypothesisCreate,
        {"kind": kind, "state_code": state_code, "actor_id": actor_id, "label": label, "note": note},
    )
    get_incident(session, incident_id)
    data = payload.model_dump()
    _check_hypothesis(session, incident_id, data)
    h = Hypothesis(incident_id=incident_id, created_by=actor.name, **data)
    session.add(h)
    session.flush()
    audit.record(session, actor, "create", "attribution_hypotheses", h.id, None, hypothesis_json(h))
    return h


def update_hypothesis(
    session: Session,
    *,
    incident_id: int,
    hypothesis_id: int,
    if_match: str | None,
    actor: Actor = SYSTEM,
    **changes: Any,
) -> Hypothesis:
    """Change some fields of a hypothesis (``If-Match`` required); the result must still name a candidate."""
    h = get_hypothesis(session, incident_id, hypothesis_id)
    records.check_etag(h, if_match)
    patch, data = _patched(h, s.HypothesisCreate, s.HypothesisUpdate, changes)
    _check_hypothesis(session, incident_id, data, exclude=h.id)
    before = hypothesis_json(h)
    for name in patch:
        setattr(h, name, data[name])
    session.flush()
    audit.record(session, actor, "update", "attribution_hypotheses", h.id, before, hypothesis_json(h))
    return h


def delete_hypothesis(
    session: Session, *, incident_id: int, hypothesis_id: int, if_match: str | None = None, actor: Actor = SYSTEM
) -> None:
    """Remove a hypothesis and its ratings."""
    h = get_hypothesis(session, incident_id, hypothesis_id)
    records.check_etag(h, if_match, required=False)
    _delete_with_ratings(session, h, Rating.hypothesis_id, "attribution_hypotheses", hypothesis_json(h), actor)


# ---------------------------------------------------------------- evidence


def create_evidence(session: Session, *, incident_id: int, actor: Actor = SYSTEM, **values: Any) -> Evidence:
    """Add an evidence item: title, evidence_class, reliability (A–F), credibility (1–6), and optionally
    description, source, observed_on and urls."""
    data = _parse(s.EvidenceCreate, values).model_dump()
    get_incident(session, incident_id)
    e = Evidence(incident_id=incident_id, created_by=actor.name, **data)
    session.add(e)
    session.flush()
    audit.record(session, actor, "create", "attribution_evidence", e.id, None, evidence_json(e))
    return e


def update_evidence(
    session: Session, *, incident_id: int, evidence_id: int, if_match: str | None, actor: Actor = SYSTEM, **changes: Any
) -> Evidence:
    """Change some fields of an evidence item (``If-Match`` required)."""
    e = get_evidence(session, incident_id, evidence_id)
    records.check_etag(e, if_match)
    patch, data = _patched(e, s.EvidenceCreate, s.EvidenceUpdate, changes)
    before = evidence_json(e)
    for name in patch:
        setattr(e, name, data[name])
    session.flush()
    audit.record(session, actor, "update", "attribution_evidence", e.id, before, evidence_json(e))
    return e


def delete_evidence(
    session: Session, *, incident_id: int, evidence_id: int, if_match: str | None = None, actor: Actor = SYSTEM
) -> None:
    """Remove an evidence item and its ratings."""
    e = get_evidence(session, incident_id, evidence_id)
    records.check_etag(e, if_match, required=False)
    _delete_with_ratings(session, e, Rating.evidence_id, "attribution_evidence", evidence_json(e), actor)


# ---------------------------------------------------------------- ratings


def set_rating(
    session: Session,
    *,
    incident_id: int,
    evidence_id: int,
    hypothesis_id: int,
    rating: str | None,
    diagnosticity: str = "medium",
    actor: Actor = SYSTEM,
) -> Rating | None:
    """Rate an item against a hypothesis (both of this incident); ``rating=None`` removes the rating.
    Returns the rating, or None when it was removed."""
    payload = _parse(
        s.RatingIn,
        {"evidence_id": evidence_id, "hypothesis_id": hypothesis_id, "rating": rating, "diagnosticity": diagnosticity},
    )
    get_incident(session, incident_id)
    problems = []
    e, h = session.get(Evidence, evidence_id), session.get(Hypothesis, hypothesis_id)
    if e is None or e.incident_id != incident_id:
        problems.append(Problem("evidence_id", f"no evidence {evidence_id} in incident {incident_id}"))
    if h is None or h.incident_id != incident_id:
        problems.append(Problem("hypothesis_id", f"no hypothesis {hypothesis_id} in incident {incident_id}"))
    if problems:
        raise ReferenceNotFound("the rating names items of no such incident", problems)
    key = f"{evidence_id}/{hypothesis_id}"
    row = session.scalar(select(Rating).where(Rating.evidence_id == evidence_id, Rating.hypothesis_id == hypothesis_id))
    before = rating_json(row) if row else None
    if payload.rating is None:
        if row is not None:
            session.delete(row)
            session.flush()
            audit.record(session, actor, "delete", "attribution_ratings", key, before, None)
        return None
    if row is None:
        row = Rating(evidence_id=evidence_id, hypothesis_id=hypothesis_id)
        session.add(row)
    row.rating, row.diagnosticity = payload.rating, payload.diagnosticity
    try:
        session.flush()
    except IntegrityError as exc:  # another request rated the same pair at the same moment
        problem = Problem("evidence_id", "rated meanwhile")
        raise Conflict("the rating changed meanwhile; read it again", [problem]) from exc
    after = rating_json(row)
    if before != after:
        audit.record(session, actor, "update" if before else "create", "attribution_ratings", key, before, after)
    return row


# ---------------------------------------------------------------- observations


def _kind(ref: str) -> str:
    return "technique" if ref.startswith("T") else "software"


def add_observations(
    session: Session, *, incident_id: int, refs: Sequence[str], origin: str = "typed", actor: Actor = SYSTEM
) -> tuple[list[Observation], list[str]]:
    """Record observed ATT&CK techniques (``T1566.001``) and software (``S0002``). Returns the new
    observations and the refs that were already recorded."""
    payload = _parse(s.ObservationsIn, {"refs": list(refs)})
    get_incident(session, incident_id)
    wanted = list(dict.fromkeys(payload.refs))
    have = set(
        session.scalars(
            select(Observation.ref).where(Observation.incident_id == incident_id, Observation.ref.in_(wanted))
        )
    )
    added = [Observation(incident_id=incident_id, kind=_kind(r), ref=r, origin=origin) for r in wanted if r not in have]
    session.add_all(added)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict("observations changed meanwhile; try again", [Problem("refs", "added meanwhile")]) from exc
    if added:
        audit.record(
            session, actor, "create", "attribution_observations", incident_id, None,
            {"origin": origin, "refs": [o.ref for o in added]},
        )  # fmt: skip
    return added, [r for r in wanted if r in have]


def _stix_refs(bundle: dict[str, Any]) -> list[str]:
    objects = bundle.get("objects") or []
    if not isinstance(objects, list):
        raise Invalid("not a STIX bundle", [Problem("file", "the bundle's objects must be a list")])
    refs = []
    for obj in objects:
        if not isinstance(obj, dict) or obj.get("type") not in ("attack-pattern", "malware", "tool"):
            continue
        references = obj.get("external_references") or []
        for ext in references if isinstance(references, list) else []:
            if isinstance(ext, dict) and ext.get("source_name") == "mitre-attack":
                ref = str(ext.get("external_id") or "")
                if _ATTACK_REF.fullmatch(ref):
                    refs.append(ref)
    return refs


def parse_upload(data: bytes) -> tuple[list[str], str]:
    """ATT&CK ids in an uploaded file: a STIX 2.1 bundle (``origin`` "stix"), or any text — one id per line, a
    JSON list, a CSV column (``origin`` "upload")."""
    if len(data) > MAX_UPLOAD:
        raise Invalid("file too large", [Problem("file", f"larger than {MAX_UPLOAD} bytes")])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid("not a text file", [Problem("file", "must be UTF-8 text or a STIX bundle")]) from exc
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    if isinstance(doc, dict) and doc.get("type") == "bundle":
        refs, origin = _stix_refs(doc), "stix"
    else:
        refs, origin = _ATTACK_REF.findall(text.upper()), "upload"
    if not refs:
        raise Invalid("nothing to add", [Problem("file", "no ATT&CK technique (T…) or software (S…) ids found")])
    return list(dict.fromkeys(refs)), origin


def delete_observation(session: Session, *, incident_id: int, observation_id: int, actor: Actor = SYSTEM) -> None:
    o = session.get(Observation, observation_id)
    if o is None or o.incident_id != incident_id:
        raise NotFound(f"no observation {observation_id} in incident {incident_id}")
    before = observation_json(o)
    session.delete(o)
    session.flush()
    audit.record(session, actor, "delete", "attribution_observations", incident_id, {"refs": [before["ref"]]}, None)


# ---------------------------------------------------------------- the board


def _round(value: Any, places: int = 4) -> Any:
    if isinstance(value, float):
        return round(value, places)
    if isinstance(value, dict):
        return {k: _round(v, places) for k, v in value.items()}
    if isinstance(value, list):
        return [_round(v, places) for v in value]
    return value


def candidate_names(session: Session, hypotheses: Sequence[Hypothesis]) -> dict[int, str]:
    """A readable name of each hypothesis's candidate ("Russia — GRU Unit 26165", "APT28", "unknown")."""
    codes = {h.state_code for h in hypotheses if h.state_code}
    actor_ids = {h.actor_id for h in hypotheses if h.actor_id}
    states = dict(session.execute(select(State.code, State.name).where(State.code.in_(codes))).all())
    actors = dict(session.execute(select(ThreatActor.id, ThreatActor.name).where(ThreatActor.id.in_(actor_ids))).all())
    out = {}
    for h in hypotheses:
        parts = [states.get(h.state_code or "", h.state_code), actors.get(h.actor_id or 0), h.label]
        named = " — ".join(dict.fromkeys(p for p in parts if p))
        out[h.id] = named or ("unknown" if h.kind == "unknown" else h.kind)
    return out


def _inputs(
    hyps: list[Hypothesis], evidence: list[Evidence], ratings: list[Rating]
) -> tuple[list[int], list[confidence.Item], list[confidence.Mark]]:
    items = [confidence.Item(e.id, e.evidence_class, e.reliability, e.credibility, e.title) for e in evidence]
    marks = [confidence.Mark(r.evidence_id, r.hypothesis_id, r.rating, r.diagnosticity) for r in ratings]
    return [h.id for h in hyps], items, marks


def _ach_json(analysis: ach.Analysis) -> dict[str, Any]:
    return {
        "ranking": [asdict(r) for r in analysis.ranking],
        "leaders": analysis.leaders,
        "matrix": [
            {
                "evidence_id": row.evidence_id,
                "title": row.title,
                "evidence_class": row.evidence_class,
                "grade": row.grade,
                "diagnostic": row.diagnostic,
                "cells": [None if c is None else {"hypothesis_id": h, **asdict(c)} for h, c in row.cells.items()],
            }
            for row in analysis.matrix
        ],
        "sensitivity": [{**asdict(x), "critical": x.critical, "reorders": x.reorders} for x in analysis.sensitivity],
        "critical": analysis.critical,
    }


def _sponsors_json(session: Session, hyps: list[Hypothesis], result: confidence.Result) -> dict[str, Any] | None:
    pairs = [(h.actor_id, result.of(h.id).score / 100.0) for h in hyps if h.actor_id]
    if not pairs or sum(w for _a, w in pairs) <= 0:
        return None
    return asdict(sponsors.roll_up(session, pairs, total=1.0))


def board(session: Session, incident_id: int) -> dict[str, Any]:
    """Everything the attribution board of one incident shows, ready for JSON: hypotheses with their
    confidence (score, ODNI level, drivers, contradicting items, missing classes) and ACH rank; evidence
    with grades and ratings; observations; the ACH matrix, ranking and sensitivity; the evidence classes
    with no item at all; and the sponsor-state roll-up of the hypotheses that name a threat actor."""
    incident = get_incident(session, incident_id)
    hyps, evidence = hypotheses_of(session, incident_id), evidence_of(session, incident_id)
    ratings, observations = ratings_of(session, incident_id), observations_of(session, incident_id)
    ids, items, marks = _inputs(hyps, evidence, ratings)
    result = confidence.assess(ids, items, marks, residual=not any(h.kind == "unknown" for h in hyps))
    analysis = ach.analyse(ids, items, marks)
    names = candidate_names(session, hyps)
    ranks = {r.hypothesis_id: asdict(r) for r in analysis.ranking}
    by_evidence: dict[int, list[dict[str, Any]]] = {}
    for r in ratings:
        by_evidence.setdefault(r.evidence_id, []).append(rating_json(r))
    present = {e.evidence_class for e in evidence}
    return _round(
        {
            "incident": {"id": incident.id, "slug": incident.slug, "name": incident.name},
            "hypotheses": [
                {
                    **hypothesis_json(h),
                    "candidate": names[h.id],
                    "confidence": asdict(result.of(h.id)),
                    "ach": ranks[h.id],
                }
                for h in hyps
            ],
            "evidence": [
                {
                    **evidence_json(e),
                    "weight": confidence.item_weight(e.reliability, e.credibility),
                    "ratings": by_evidence.get(e.id, []),
                }
                for e in evidence
            ],
            "observations": [observation_json(o) for o in observations],
            "confidence": {"prior": result.prior, "residual": result.residual, "residual_score": result.residual_score},
            "ach": _ach_json(analysis),
            "missing_classes": [c for c in confidence.CORE_CLASSES if c not in present],
            "evidence_classes": list(EVIDENCE_CLASSES),
            "sponsors": _sponsors_json(session, hyps, result),
        }
    )
