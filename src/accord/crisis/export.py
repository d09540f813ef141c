"""A case for the archive: its messages, its full ledger and the ledger's verification result, as a plain
record (JSON), a self-contained HTML page, or a PDF (fpdf2, pure Python; Debian's DejaVu fonts for non-Latin scripts:
:mod:`accord.core.pdf`).

The export states when it was made, by which node key, and what ``ledger.verify`` found at that moment; the
ledger entries are included with their hashes and signatures so the archive copy can be checked again.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from jinja2 import Environment, select_autoescape
from sqlalchemy.orm import Session

from accord.config import Settings
from accord.core.pdf import document, paragraph
from accord.crisis import ledger
from accord.crisis.models import Case
from accord.crisis.node import identity, own_keys


def _t(value: dt.datetime | None) -> str | None:
    return ledger.iso(value) if value else None


def case_record(session: Session, case: Case, settings: Settings, now: dt.datetime | None = None) -> dict[str, Any]:
    from accord.crisis.service import messages_of

    check = ledger.verify(session, case, own_keys(settings))
    node = identity(settings)
    return {
        "exported_at": ledger.iso(now or dt.datetime.now(dt.UTC)),
        "node": {"title": settings.node_title, "key_id": node.key_id, "state": settings.node_state},
        "case": {
            "uid": case.uid,
            "title": case.title,
            "counterpart_state": case.counterpart_state,
            "origin_state": case.origin_state,
            "incident_id": case.incident_id,
            "status": case.status,
            "level": case.level,
            "tlp": case.tlp,
            "language": case.language,
            "ladder": case.ladder,
            "opened_at": _t(case.opened_at),
            "closed_at": _t(case.closed_at),
        },
        "messages": [
            {
                "uid": m.uid,
                "direction": m.direction,
                "kind": m.kind,
                "level": m.level,
                "subject": m.subject,
                "sender": m.sender_name,
                "recipients": ", ".join(f"{r.get('name')} ({r.get('channel', 'node')})" for r in m.recipients),
                "urgency": m.urgency,
                "tlp": m.tlp,
                "language": m.language,
                "incident_summary": m.incident_summary,
                "requested_action": m.requested_action,
                "body": m.body,
                "sent_at": _t(m.created_at),
                "ack_due": _t(m.ack_due),
                "acknowledged_at": _t(m.acknowledged_at),
                "acknowledged_by": m.acknowledged_by,
                "reply_due": _t(m.reply_due),
                "replied_at": _t(m.replied_at),
                "escalated_at": _t(m.escalated_at),
                "escalated_from": m.escalated_from,
            }
            for m in messages_of(session, case)
        ],
        "ledger": [
            {
                "seq": e.seq,
                "kind": e.kind,
                "at": e.at,
                "actor": e.actor,
                "data": e.data,
                "prev_hash": e.prev_hash,
                "hash": e.hash,
                "kid": e.kid,
                "signature": e.signature,
            }
            for e in ledger.entries(session, case)
        ],
        "verification": {
            "ok": check.ok,
            "entries": check.entries,
            "problems": check.problems,
            "summary": check.summary(),
        },
    }


_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Case {{ case.title }} — archive export</title>
<style>
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;color:#1b1f24;line-height:1.45}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ccd}
table{border-collapse:collapse;width:100%;font-size:.85rem}td,th{border:1px solid #ccd;padding:.3rem;text-align:left;
vertical-align:top}code{font-size:.75rem;word-break:break-all}.ok{color:#0a6b2d}.bad{color:#a4161a;font-weight:bold}
.msg{border:1px solid #ccd;padding:.6rem 1rem;margin:.8rem 0}.tlp{font-weight:bold}
</style></head><body>
<p class="tlp">TLP:{{ case.tlp | upper }}</p>
<h1>{{ case.title }}</h1>
<p>Case <code>{{ case.uid }}</code> between {{ case.origin_state or "this node" }} and {{ case.counterpart_state }};
status {{ case.status }}, level {{ case.level }}; opened {{ case.opened_at }}{% if case.closed_at %},
closed {{ case.closed_at }}{% endif %}.</p>
<p>Exported {{ exported_at }} by node “{{ node.title }}” (key <code>{{ node.key_id }}</code>).</p>
<h2>Ledger verification</h2>
<p class="{{ 'ok' if verification.ok else 'bad' }}">{{ verification.summary }}</p>
{% if verification.problems %}<ul>{% for p in verification.problems %}<li>{{ p }}</li>{% endfor %}</ul>{% endif %}
<h2>Messages</h2>
{% for m in messages %}<div class="msg">
<strong>{{ m.subject }}</strong> — {{ m.kind }}, {{ 'sent' if m.direction == 'out' else 'received' }} {{ m.sent_at }},
level {{ m.level }}, urgency {{ m.urgency }}, TLP:{{ m.tlp | upper }}<br>
From {{ m.sender }} to {{ m.recipients or "—" }}<br>
Acknowledgement due {{ m.ack_due }}: {{ m.acknowledged_at and ("acknowledged " ~ m.acknowledged_at ~ " by "
~ m.acknowledged_by) or "not acknowledged" }}.
Reply due {{ m.reply_due }}: {{ m.replied_at and ("replied " ~ m.replied_at) or "no reply" }}.
{% if m.escalated_at %}Escalated {{ m.escalated_at }}.{% endif %}
{% if m.incident_summary %}<p><em>Incident summary.</em> {{ m.incident_summary }}</p>{% endif %}
{% if m.requested_action %}<p><em>Requested action.</em> {{ m.requested_action }}</p>{% endif %}
{% if m.body %}<p>{{ m.body }}</p>{% endif %}
</div>{% endfor %}
<h2>Ledger ({{ ledger | length }} entries)</h2>
<table><tr><th>#</th><th>at (UTC)</th><th>event</th><th>by</th><th>hash / signature</th></tr>
{% for e in ledger %}<tr><td>{{ e.seq }}</td><td>{{ e.at }}</td><td>{{ e.kind }}</td><td>{{ e.actor }}</td>
<td><code>{{ e.hash }}</code><br><code>{{ e.signature }}</code></td></tr>{% endfor %}
</table>
</body></html>
"""

_env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))


def to_html(record: dict[str, Any]) -> str:
    return _env.from_string(_HTML).render(**record)


def to_pdf(record: dict[str, Any]) -> bytes:
    case, check = record["case"], record["verification"]
    pdf, fonts = document(f"Case {case['title']}")
    width = pdf.epw

    def line(text: Any, size: float = 10, style: str = "", height: float = 5.5) -> None:
        paragraph(pdf, fonts, text, size, style, height)

    line(f"TLP:{case['tlp'].upper()}", 9, "B")
    line(case["title"], 16, "B", 8)
    line(
        f"Case {case['uid']} between {case['origin_state'] or 'this node'} and {case['counterpart_state']}; "
        f"status {case['status']}, level {case['level']}; opened {case['opened_at']}"
        + (f", closed {case['closed_at']}" if case["closed_at"] else "")
    )
    line(f"Exported {record['exported_at']} by node {record['node']['title']} (key {record['node']['key_id']}).", 8)
    pdf.ln(3)
    line("Ledger verification", 12, "B", 7)
    pdf.set_text_color(10, 107, 45) if check["ok"] else pdf.set_text_color(164, 22, 26)
    line(check["summary"], 10, "B")
    pdf.set_text_color(0, 0, 0)
    for problem in check["problems"]:
        line(f"- {problem}", 9)
    pdf.ln(3)
    line("Messages", 12, "B", 7)
    for m in record["messages"]:
        direction = "sent" if m["direction"] == "out" else "received"
        line(m["subject"], 10, "B")
        line(
            f"{m['kind']}, {direction} {m['sent_at']}, level {m['level']}, urgency {m['urgency']}, "
            f"TLP:{m['tlp'].upper()}. From {m['sender']} to {m['recipients'] or '-'}.",
            9,
        )
        ack = (
            f"acknowledged {m['acknowledged_at']} by {m['acknowledged_by']}"
            if m["acknowledged_at"]
            else "not acknowledged"
        )
        reply = f"replied {m['replied_at']}" if m["replied_at"] else "no reply"
        line(f"Acknowledgement due {m['ack_due']}: {ack}. Reply due {m['reply_due']}: {reply}.", 9)
        if m["escalated_at"]:
            line(f"Escalated {m['escalated_at']}.", 9)
        for label in ("incident_summary", "requested_action", "body"):
            if m[label]:
                line(f"{label.replace('_', ' ').capitalize()}: {m[label]}", 9)
        pdf.ln(2)
    line(f"Ledger ({len(record['ledger'])} entries)", 12, "B", 7)
    for e in record["ledger"]:
        line(f"{e['seq']}. {e['at']}  {e['kind']}  by {e['actor']}", 9, "B")
        pdf.set_font(fonts.mono, "", 7)
        pdf.multi_cell(width, 3.5, f"hash {e['hash']}\nsig  {e['signature']}", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
