"""Briefing reports: a country brief (one state for a meeting) and a forum brief (a forum and a set of
provisions), assembled as plain records, and rendered as PDF with fpdf2 and the DejaVu fonts (:mod:`accord.core.pdf`;
the HTML page is the web face's template, ``web/templates/briefs``).

**Country brief** — profile (region, UN status, current memberships, agencies, how many points of contact: their
details only for readers who may see contacts), commitments (each instrument's current standing), incidents
(suffered, and attributed to the state, most recent first), alignment (the states closest to it:
:func:`accord.analytics.alignment.closest_states`), tension (its most tense pairs:
:func:`accord.analytics.tension.state_tension`), open crisis cases with it (only for readers who may see crisis
cases, as in the crisis room), capacity needs and maturity (:mod:`accord.capacity.service`).

**Forum brief** — the forum's members and, per chosen provision, who supports it, through
:mod:`accord.analytics.consensus` (standing on the provision's instrument, or a public invocation of it) with
the members to persuade first; if that module is missing, support is computed here from the commitments alone.

The analytics modules are optional: a section whose module is absent says "not available on this node yet";
one whose computation fails says so and the failure is logged — the brief is still delivered. The brief
carries the most restrictive TLP of what it includes (crisis cases); the public record is TLP:CLEAR.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.auth.roles import can
from accord.capacity import service as capacity
from accord.capacity.models import GCI_PILLARS, GFCE_THEMES
from accord.core.errors import Invalid, NotFound, Problem
from accord.core.pdf import Fonts, document, paragraph
from accord.core.types import country_name
from accord.directory import service as directory
from accord.directory.models import Membership, Organisation, State
from accord.incidents import service as incidents
from accord.incidents.models import NormFinding
from accord.norms import service as norms
from accord.norms.models import Commitment, Instrument, Provision
from accord.sharing.tlp import most_restrictive

log = logging.getLogger(__name__)
NOT_YET = "not available on this node yet"
FAILED = "could not be computed on this node (the error has been logged)"
LIMIT = 10  # incidents per list in the brief
SUPPORTING = frozenset({"signed", "ratified", "acceded", "endorsed"})
MAX_PROVISIONS = 60
THRESHOLDS = ("consensus", "two_thirds", "majority")


@dataclass(frozen=True)
class Reader:
    """What the reader of a brief may see beyond the public record."""

    contacts: bool = False  # points of contact: names and roles
    crisis: bool = False  # crisis cases

    @classmethod
    def of(cls, user: Any) -> Reader:
        return cls(contacts=can(user, "contacts:read"), crisis=can(user, "crisis:read"))


@dataclass
class Section:
    """One part of a brief: its rows, or why there are none to show (``note``)."""

    available: bool = True
    note: str = ""
    rows: list[Any] = field(default_factory=list)
    source: str = ""  # how the figures were obtained


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def name_of(code: str | None, names: dict[str, str]) -> str:
    return (names.get(code or "") or country_name(code or "") or code or "") if code else ""


# ---------------------------------------------------------------- optional analytics


def analytics_function(module: str, name: str) -> Callable[..., Any] | None:
    """``accord.analytics.<module>.<name>`` if this node has it, else None (imported when asked, not before)."""
    try:
        found = importlib.import_module(f"accord.analytics.{module}")
    except ImportError:
        return None
    fn = getattr(found, name, None)
    return fn if callable(fn) else None


def _optional(session: Session, module: str, name: str, build: Callable[[Callable[..., Any]], list[Any]]) -> Section:
    fn = analytics_function(module, name)
    if fn is None:
        return Section(False, NOT_YET)
    try:
        return Section(rows=build(fn), source=f"accord.analytics.{module}.{name}")
    except Exception:  # an optional section never takes the brief down; the failure is logged, not hidden
        log.exception("brief section %s.%s failed", module, name)
        session.rollback()  # a failed statement (PostgreSQL) must not poison what the brief reads afterwards
        return Section(False, FAILED)


# ---------------------------------------------------------------- country brief: sections


def _profile(session: Session, state: State, reader: Reader, now: dt.date) -> dict[str, Any]:
    code = state.code
    memberships = directory.memberships_of(session, code)
    contacts = [
        c for c in directory.contacts_of(session, code) if c.valid_to is None or c.valid_to >= now
    ]  # current ones only
    agencies = {a.id: a for a in directory.agencies_of(session, code)}
    return {
        "code": code,
        "name": state.name,
        "region": state.m49_region,
        "subregion": state.m49_subregion,
        "un_status": state.un_status,
        "un_admission": state.un_admission,
        "memberships": [m for m in memberships if m["current"]],
        "past_memberships": [m for m in memberships if not m["current"]],
        "agencies": [{"name": a.name, "kind": a.kind, "website": a.website} for a in agencies.values()],
        "contacts_count": len(contacts),
        "contacts": [
            {"name": c.name, "role": c.role, "agency": agencies[c.agency_id].name if c.agency_id in agencies else None}
            for c in contacts
        ]
        if reader.contacts
        else None,
        "sources": state.sources,
        "as_of": state.as_of,
    }


def _commitments(session: Session, code: str) -> list[dict[str, Any]]:
    """Each instrument the state has a recorded event on: its current standing (latest event wins) and date."""
    by_instrument: dict[str, list[dict[str, Any]]] = {}
    for c in norms.commitments_of(session, code):
        by_instrument.setdefault(c["instrument_code"], []).append(c)
    rows = []
    for inst, events in by_instrument.items():
        standing = norms.current_status([(e["status"], e["date"]) for e in events])
        latest = max((e for e in events if e["status"] == standing), key=lambda e: e["date"] or dt.date.min)
        rows.append({"instrument": inst, "name": events[0]["instrument_name"], "status": standing,
                     "date": latest["date"], "events": len(events)})  # fmt: skip
    return sorted(rows, key=lambda r: r["name"].lower())


def _recent(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda i: (i["start_date"] or dt.date.min, i["id"]), reverse=True)


def _incidents(session: Session, code: str) -> dict[str, Any]:
    record = incidents.record_of_state(session, code)
    suffered, accused = _recent(record["incidents_suffered"]), _recent(record["incidents_attributed_to"])
    return {
        "suffered": suffered[:LIMIT],
        "suffered_total": len(suffered),
        "attributed": accused[:LIMIT],
        "attributed_total": len(accused),
        "attributions_made": len(record["attributions_made"]),
        "responses_received": len(record["responses_received"]),
    }


def _alignment(session: Session, code: str, names: dict[str, str]) -> Section:
    def build(fn: Callable[..., Any]) -> list[Any]:
        return [{"code": c, "name": name_of(c, names), "similarity": s} for c, s in fn(session, code, at=None, limit=5)]

    section = _optional(session, "alignment", "closest_states", build)
    if section.available and not section.rows:
        section.note = "no state shares a recorded commitment with it"
    return section


def _driver_text(d: Any, names: dict[str, str]) -> str:
    describe = analytics_function("tension", "describe")
    if describe is not None:
        try:
            return str(describe(d, names))
        except (AttributeError, TypeError):
            pass
    return str(getattr(d, "what", d))


def _tension(session: Session, code: str, names: dict[str, str]) -> Section:
    def build(fn: Callable[..., Any]) -> list[Any]:
        return [
            {
                "code": t.other,
                "name": name_of(t.other, names),
                "index": round(float(t.index), 2),
                "trend": round(float(t.trend), 2),
                "drivers": [_driver_text(d, names) for d in list(t.drivers)[:3]],
            }
            for t in fn(session, code, at=None, top=5)
        ]

    section = _optional(session, "tension", "state_tension", build)
    if section.available and not section.rows:
        section.note = "no recorded event ties it to another state"
    return section


def _cases(session: Session, code: str, reader: Reader) -> Section:
    if not reader.crisis:
        return Section(False, "not shown: crisis cases are for roles that may read them (analyst, liaison, admin)")
    from accord.crisis import service as crisis  # imported when a reader may see cases

    rows = [
        {
            "uid": c.uid,
            "title": c.title,
            "counterpart": c.counterpart_state,
            "level": c.level,
            "tlp": c.tlp,
            "opened_at": c.opened_at,
        }  # fmt: skip
        for c in crisis.list_cases(session, "open")
        if code in (c.counterpart_state, c.origin_state)
    ]
    return Section(rows=rows, note="" if rows else "no open case with this state")


def _capacity(session: Session, code: str, now: dt.date) -> dict[str, Any]:
    needs = capacity.list_needs(session, capacity.Filters(state=code, status="open"))
    return {
        "needs": [
            {
                "id": n.id,
                "title": n.title,
                "declared_on": n.declared_on,
                "themes": [GFCE_THEMES[t] for t in n.themes],
                "pillars": [GCI_PILLARS[p] for p in n.pillars],
            }
            for n in needs
        ],  # fmt: skip
        "matches": [m.as_dict() for m in capacity.matches(session, state=code, now=now)[:5]],
        "maturity": capacity.maturity_profile(session, code),
    }


# ---------------------------------------------------------------- country brief


def country_brief(session: Session, code: str, *, reader: Reader = Reader(), now: dt.date | None = None) -> dict:
    """Everything a country brief shows, as plain values (module docstring); NotFound for an unknown state."""
    code = code.strip().upper()
    state = session.get(State, code) if len(code) == 2 else None
    if state is None:
        raise NotFound(f"no state with code {code!r}")
    now = now or today()
    names = {c: n for c, n in session.execute(select(State.code, State.name))}
    brief: dict[str, Any] = {
        "kind": "country",
        "generated_on": now,
        "state": {"code": code, "name": state.name},
        "profile": _profile(session, state, reader, now),
        "commitments": _commitments(session, code),
        "incidents": _incidents(session, code),
        "capacity": _capacity(session, code, now),
        "cases": _cases(session, code, reader),
    }
    # the optional analytics come last: a failure there rolls back, and nothing is read after it
    brief["alignment"] = _alignment(session, code, names)
    brief["tension"] = _tension(session, code, names)
    brief["tlp"] = most_restrictive(["clear", *(c["tlp"] for c in brief["cases"].rows)])
    return brief


# ---------------------------------------------------------------- forum brief


def _refs(session: Session, provisions: Sequence[str]) -> list[str]:
    """Provision references as ``INSTRUMENT/code`` (or ``INSTRUMENT``); numeric ids are translated."""
    refs, ids = [], []
    for p in provisions:
        p = p.strip()
        if p.isdecimal() and len(p) < 10:
            ids.append(int(p))
        elif p:
            refs.append(p)
    if ids:
        found = norms.provision_refs(session, ids)
        missing = [str(i) for i in ids if i not in found]
        if missing:
            raise Invalid("unknown provisions", [Problem("provisions", f"no provision with id {', '.join(missing)}")])
        refs += [found[i] for i in ids]
    if not refs:
        raise Invalid("nothing to look at", [Problem("provisions", "choose at least one provision")])
    if len(refs) > MAX_PROVISIONS:
        raise Invalid("too many provisions", [Problem("provisions", f"at most {MAX_PROVISIONS} in one brief")])
    return list(dict.fromkeys(refs))


def forum_brief(
    session: Session, *, forum: str, provisions: Sequence[str], threshold: str = "consensus", now: dt.date | None = None
) -> dict[str, Any]:
    """Who belongs to ``forum`` (an organisation code, or UN) and who supports each of ``provisions``
    (``INSTRUMENT/code``, ``INSTRUMENT`` or provision ids). Invalid naming ``forum`` or ``provisions``."""
    if not (forum or "").strip():
        raise Invalid("no forum", [Problem("forum", "choose a forum")])
    refs = _refs(session, provisions)
    names = {c: n for c, n in session.execute(select(State.code, State.name))}
    consensus = analytics_function("consensus", "consensus")
    if consensus is not None:
        report = consensus(session, provisions=refs, forum=forum.strip(), threshold=threshold, method="greedy")
        body = _from_consensus(report)
        body["source"] = "accord.analytics.consensus: standing on the instrument, or a public invocation"
    else:
        body = _own_support(session, forum.strip(), refs, threshold)
        body["source"] = "computed from commitments and norm findings (accord.analytics.consensus is not on this node)"
    for item in body["support"]:
        item["supporter_names"] = [name_of(c, names) for c in item["supporters"]]
        item["no_record_names"] = [name_of(c, names) for c in item["no_record"]]
    body["member_names"] = sorted(((c, name_of(c, names)) for c in body["members"]), key=lambda cn: cn[1])
    body["persuade_names"] = [(c, name_of(c, names)) for c in body.get("persuade", [])]
    return {"kind": "forum", "generated_on": now or today(), "tlp": "clear", "threshold": threshold, **body}


def _from_consensus(report: Any) -> dict[str, Any]:
    f = report.forum
    return {
        "forum": {"code": f.key, "name": f.name},
        "members": list(f.members),
        "not_counted": dict(f.not_counted),
        "required": report.required,
        "support": [
            {
                "ref": s.item.ref,
                "title": s.item.title,
                "instrument": s.item.instrument,
                "supporters": list(s.supporters),
                "no_record": list(s.no_record),
                "invoked_only": list(s.invoked_only),
                "passes": s.passes,
                "deficit": s.deficit,
            }
            for s in report.items
        ],  # fmt: skip
        "persuade": list(report.persuade),
    }


def _own_members(session: Session, forum: str) -> tuple[str, str, list[str], dict[str, str]]:
    org = session.get(Organisation, forum) or session.get(Organisation, forum.upper())
    if org is None:
        raise Invalid("unknown forum", [Problem("forum", f"no organisation {forum!r}")])
    rows = session.execute(
        select(Membership.state_code, Membership.role).where(
            Membership.organisation_code == org.code, Membership.left.is_(None)
        )
    )
    members, others = set(), {}
    for code, role in rows:
        (members.add(code) if role == "member" else others.__setitem__(code, role))
    return org.code, org.name, sorted(members), {c: r for c, r in sorted(others.items()) if c not in members}


def _own_items(session: Session, refs: list[str]) -> list[dict[str, Any]]:
    items, unknown = [], []
    for ref in refs:
        inst, slash, code = ref.partition("/")
        if not slash:
            instrument = session.get(Instrument, inst)
            if instrument is None:
                unknown.append(ref)
            else:
                items.append({"ref": ref, "title": instrument.short_name or instrument.name, "instrument": inst,
                              "provision_id": None})  # fmt: skip
            continue
        p = session.scalar(select(Provision).where(Provision.instrument_code == inst, Provision.code == code))
        if p is None:
            unknown.append(ref)
        else:
            items.append({"ref": ref, "title": p.title, "instrument": inst, "provision_id": p.id})
    if unknown:
        raise Invalid("unknown provisions", [Problem("provisions", f"unknown: {', '.join(unknown[:20])}")])
    return items


def required(threshold: str, members: int) -> int:
    """Supporters needed to pass: every member (consensus), two thirds (rounded up) or more than half."""
    if threshold not in THRESHOLDS:
        raise Invalid("unknown threshold", [Problem("threshold", f"one of {', '.join(THRESHOLDS)}")])
    return {"consensus": members, "two_thirds": math.ceil(2 * members / 3), "majority": members // 2 + 1}[threshold]


def _own_support(session: Session, forum: str, refs: list[str], threshold: str) -> dict[str, Any]:
    """Support without the consensus module: a member supports a provision when its latest commitment event on
    the instrument is signed, ratified, acceded or endorsed, or when it invoked the provision in a norm finding."""
    key, name, members, others = _own_members(session, forum)
    need = required(threshold, len(members))
    items = _own_items(session, refs)
    events: dict[tuple[str, str], list[tuple[str, Any]]] = {}
    instruments = {i["instrument"] for i in items}
    stmt = select(Commitment.state_code, Commitment.instrument_code, Commitment.status, Commitment.date)
    for code, inst, status, date in session.execute(stmt.where(Commitment.instrument_code.in_(instruments))):
        events.setdefault((code, inst), []).append((status, date))
    ids = [i["provision_id"] for i in items if i["provision_id"]]
    stmt = select(NormFinding.claimed_by_state, NormFinding.provision_id).where(NormFinding.provision_id.in_(ids))
    invoked = {(code, pid) for code, pid in session.execute(stmt)}
    out = []
    for item in items:
        committed = {m for m in members if norms.current_status(events.get((m, item["instrument"]), [])) in SUPPORTING}
        by_invocation = {m for m in members if (m, item["provision_id"]) in invoked} - committed
        backing = committed | by_invocation
        out.append({**item, "supporters": sorted(backing), "no_record": [m for m in members if m not in backing],
                    "invoked_only": sorted(by_invocation), "passes": len(backing) >= need,
                    "deficit": max(0, need - len(backing))})  # fmt: skip
    return {"forum": {"code": key, "name": name}, "members": members, "not_counted": others,
            "required": need, "support": out, "persuade": []}  # fmt: skip


# ---------------------------------------------------------------- PDF


class _Writer:
    """Headings, paragraphs, bullet lists and small tables on an fpdf2 document (:func:`accord.core.pdf.document`)."""

    def __init__(self, pdf: Any, fonts: Fonts) -> None:
        self.pdf, self.fonts = pdf, fonts

    def text(self, value: Any, size: float = 10, style: str = "", height: float = 5.2, colour: int = 0) -> None:
        self.pdf.set_text_color(colour, colour, colour)
        paragraph(self.pdf, self.fonts, value, size, style, height)
        self.pdf.set_text_color(0, 0, 0)

    def heading(self, value: str) -> None:
        if self.pdf.get_y() > self.pdf.h - 40:
            self.pdf.add_page()
        self.pdf.ln(3)
        self.text(value, 13, "B", 7)
        y = self.pdf.get_y()
        self.pdf.set_draw_color(120, 120, 120)
        self.pdf.line(self.pdf.l_margin, y, self.pdf.l_margin + self.pdf.epw, y)
        self.pdf.ln(1.5)

    def bullets(self, lines: Sequence[str], empty: str) -> None:
        if not lines:
            self.text(empty, 9.5, "", colour=90)
        for line in lines:
            self.text(f"• {line}" if self.fonts.unicode else f"- {line}", 9.5)

    def table(self, header: Sequence[str], rows: Sequence[Sequence[Any]], widths: Sequence[int]) -> None:
        if not rows:
            return
        self.pdf.set_font(self.fonts.body, "", 8.5)
        self.pdf.set_draw_color(180, 180, 180)
        with self.pdf.table(col_widths=widths, line_height=4.6, text_align="LEFT", first_row_as_headings=True) as t:
            for row in [header, *rows]:
                r = t.row()
                for cell in row:
                    r.cell(self.fonts.text("" if cell is None else cell))
        self.pdf.ln(1)

    def chart(self, h: Any) -> None:
        """A maturity history as lines (one per pillar or dimension) across the assessments' dates."""
        pdf = self.pdf
        x0, y0, w, hgt = pdf.l_margin + 10, pdf.get_y() + 4, pdf.epw - 60, 42
        pdf.set_draw_color(200, 200, 200)
        pdf.set_font(self.fonts.body, "", 7)
        step = 5 if h.high - h.low > 5 else 1
        v = h.low
        while v <= h.high + 1e-9:
            y = y0 + hgt * (1 - (v - h.low) / (h.high - h.low))
            pdf.line(x0, y, x0 + w, y)
            pdf.text(x0 - 7, y + 1, f"{v:g}")
            v += step
        dates = [dt.date.fromisoformat(a["assessed_on"]) for a in h.assessments]
        first, span = min(dates), max((max(dates) - min(dates)).days, 1)

        def x(d: dt.date) -> float:
            return x0 + w / 2 if len(set(dates)) == 1 else x0 + 3 + (w - 6) * (d - first).days / span

        for d in sorted(set(dates)):
            pdf.text(x(d) - 6, y0 + hgt + 4, d.isoformat())
        colours = ((31, 58, 95), (176, 125, 18), (46, 125, 79), (142, 44, 72), (91, 94, 166))
        for i, ((key, label), rgb) in enumerate(zip(h.parts.items(), colours, strict=True)):
            pts = [(x(d) + (i - 2) * 0.6, y0 + hgt * (1 - (a["scores"][key] - h.low) / (h.high - h.low)))
                   for d, a in zip(dates, h.assessments, strict=True)]  # fmt: skip
            pdf.set_draw_color(*rgb)
            pdf.set_fill_color(*rgb)
            pdf.set_line_width(0.6)
            for (ax, ay), (bx, by) in zip(pts, pts[1:], strict=False):
                pdf.line(ax, ay, bx, by)
            for px, py in pts:
                pdf.circle(x=px, y=py, radius=0.9, style="F")
            pdf.rect(x0 + w + 4, y0 + 2 + i * 7, 3, 3, style="F")
            pdf.set_xy(x0 + w + 8, y0 + 1 + i * 7)
            pdf.multi_cell(44, 3, self.fonts.text(label), new_x="LMARGIN", new_y="NEXT")
        pdf.set_line_width(0.2)
        pdf.set_draw_color(0, 0, 0)
        pdf.set_fill_color(255, 255, 255)
        pdf.set_y(y0 + hgt + 8)


def _header(w: _Writer, brief: dict[str, Any], title: str, subtitle: str) -> None:
    w.text(f"TLP:{brief['tlp'].upper()}", 9, "B")
    w.text(title, 18, "B", 9)
    w.text(subtitle, 10, "", colour=70)
    w.text(f"Generated by Accord on {brief['generated_on'].isoformat()} from the node's record.", 8, "", colour=90)


def _optional_pdf(w: _Writer, section: Section, lines: Callable[[list[Any]], list[str]], empty: str) -> None:
    if not section.available or not section.rows:
        w.text((section.note or empty).capitalize().rstrip(".") + ".", 9.5, "", colour=90)
    else:
        w.bullets(lines(section.rows), "")


def country_pdf(brief: dict[str, Any]) -> bytes:
    """The country brief as a PDF (A4)."""
    p = brief["profile"]
    pdf, fonts = document(f"Country brief: {p['name']}")
    w = _Writer(pdf, fonts)
    where = ", ".join(x for x in (p["subregion"], p["region"]) if x)
    un = f"UN member since {p['un_admission']}" if p["un_status"] == "member" else f"UN status: {p['un_status']}"
    _header(w, brief, f"Country brief: {p['name']} ({p['code']})", f"{where} · {un}")

    w.heading("Profile")
    members = ", ".join(f"{m['organisation_name']} ({m['organisation_code']})" for m in p["memberships"])
    w.text(f"Current memberships: {members or 'none recorded'}.", 9.5)
    agencies = "; ".join(f"{a['name']} ({a['kind'].replace('_', ' ')})" for a in p["agencies"])
    w.text(f"Agencies: {agencies or 'none recorded'}.", 9.5)
    w.text(f"Points of contact: {p['contacts_count']} current.", 9.5)
    if p["contacts"]:
        w.bullets(
            [f"{c['name']} — {c['role']}" + (f", {c['agency']}" if c["agency"] else "") for c in p["contacts"]], ""
        )

    w.heading("Commitments")
    rows = [(c["name"], c["status"], c["date"] or "") for c in brief["commitments"]]
    if rows:
        w.table(("Instrument", "Standing", "Since"), rows, (110, 35, 35))
    else:
        w.text("No commitment recorded.", 9.5, "", colour=90)

    inc = brief["incidents"]
    w.heading("Incidents")
    for key, label in (("suffered", "Suffered"), ("attributed", "Publicly attributed to it")):
        total = inc[f"{key}_total"]
        w.text(f"{label} ({total}{', most recent ' + str(LIMIT) if total > LIMIT else ''})", 10, "B")
        w.bullets([f"{i['start_date'] or 'undated'} — {i['name']} ({i['operation_type'].replace('_', ' ')})"
                   for i in inc[key]], "None recorded.")  # fmt: skip

    w.heading("Alignment")
    _optional_pdf(w, brief["alignment"], lambda rs: [f"{r['name']} ({r['code']}): {r['similarity']:.2f}" for r in rs],
                  "None.")  # fmt: skip
    w.heading("Tension")
    _optional_pdf(w, brief["tension"], lambda rs: [
        f"{r['name']} ({r['code']}): index {r['index']:.2f}, trend {r['trend']:+.2f}"
        + (f" — {'; '.join(r['drivers'])}" if r["drivers"] else "") for r in rs], "None.")  # fmt: skip

    w.heading("Open crisis cases")
    _optional_pdf(w, brief["cases"], lambda rs: [
        f"[TLP:{r['tlp'].upper()}] {r['title']} — level {r['level']}, opened {r['opened_at']:%Y-%m-%d}" for r in rs],
        "None.")  # fmt: skip

    cap = brief["capacity"]
    w.heading("Capacity needs and maturity")
    w.bullets([f"{n['title']} (declared {n['declared_on']}): {'; '.join(n['themes'] + n['pillars'])}"
               for n in cap["needs"]], "No open need recorded.")  # fmt: skip
    if cap["matches"]:
        w.text("Best matching offers", 10, "B")
        w.bullets([f"{m['offer_title']} ({m['provider']}), score {m['score']:.1f}" for m in cap["matches"]], "")
    for h in cap["maturity"]:
        if pdf.get_y() > pdf.h - 110:  # the title, the chart and its table stay together
            pdf.add_page()
        w.text(f"{h.name} (scale {h.low:g}–{h.high:g})", 10, "B")
        w.chart(h)
        latest = h.latest
        w.table(
            ("Part", f"Latest ({latest['assessed_on']})", "Change"),
            [
                (label, f"{latest['scores'][k]:g}", "" if h.change[k] is None else f"{h.change[k]:+g}")
                for k, label in h.parts.items()
            ],  # fmt: skip
            (110, 40, 30),
        )
        pdf.ln(2)
    if not cap["maturity"]:
        w.text("No maturity assessment recorded.", 9.5, "", colour=90)
    return bytes(pdf.output())


def forum_pdf(brief: dict[str, Any]) -> bytes:
    """The forum brief as a PDF (A4)."""
    f = brief["forum"]
    pdf, fonts = document(f"Forum brief: {f['name']}")
    w = _Writer(pdf, fonts)
    _header(w, brief, f"Forum brief: {f['name']} ({f['code']})",
            f"{len(brief['members'])} members · {len(brief['support'])} provision(s)")  # fmt: skip
    w.text(f"Support: {brief['source']}.", 8.5, "", colour=80)
    w.heading("Members")
    w.text(", ".join(f"{n} ({c})" for c, n in brief["member_names"]) or "No member recorded.", 9)
    if brief["not_counted"]:
        w.text("Not counted: " + ", ".join(f"{c} ({r})" for c, r in brief["not_counted"].items()), 9, "", colour=80)
    w.heading("Support per provision")
    n = len(brief["members"])
    for item in brief["support"]:
        share = f"{len(item['supporters'])} of {n}"
        w.text(f"{item['ref']} — {item['title']}: {share} members", 10, "B")
        # the shorter of the two lists, so a provision nearly everyone supports reads as its exceptions
        if item["supporters"] and len(item["no_record"]) <= len(item["supporters"]):
            w.text("Supported by every member except: " + (", ".join(item["no_record_names"]) or "none"), 9)
        else:
            w.text("Supported by: " + (", ".join(item["supporter_names"]) or "no member on record"), 9)
        pdf.ln(1.5)
    if brief["persuade_names"]:
        w.heading("Whom to persuade first")
        w.text(", ".join(f"{n} ({c})" for c, n in brief["persuade_names"]), 9.5)
    return bytes(pdf.output())


def as_json(brief: dict[str, Any]) -> dict[str, Any]:
    """The brief with its sections as plain dicts (for JSON)."""
    out = dict(brief)
    for key in ("alignment", "tension", "cases"):
        if isinstance(out.get(key), Section):
            out[key] = asdict(out[key])
    if "capacity" in out:
        out["capacity"] = {**out["capacity"], "maturity": [asdict(h) for h in out["capacity"]["maturity"]]}
    return out
