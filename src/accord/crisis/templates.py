"""Message types and their structured templates.

Every crisis message has the same structured fields — sender, recipients, urgency, incident summary,
requested action, deadlines (acknowledgement and substantive reply), TLP, language — and a type that
fixes its purpose. A template gives each type a subject line and a body skeleton in the languages a node
offers, so a diplomat composes from a known form instead of a blank page.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Template:
    kind: str
    label: str
    purpose: str  # one line: what the message is for and which practice it follows
    requested_action: str  # default text of the requested action
    expects_reply: bool  # a substantive reply is asked for (missing it escalates)
    subject: dict[str, str]
    body: dict[str, str]


def _t(kind: str, label: str, purpose: str, action: str, reply: bool, en: str, fr: str, body_en: str, body_fr: str):
    return Template(kind, label, purpose, action, reply, {"en": en, "fr": fr}, {"en": body_en, "fr": body_fr})


TEMPLATES: dict[str, Template] = {
    t.kind: t
    for t in (
        _t(
            "notification",
            "Notification",
            "Inform the counterpart of an incident or measure that affects it (OSCE CBM 3/8 practice).",
            "Acknowledge receipt.",
            False,
            "Notification: {title}",
            "Notification : {title}",
            "We notify you of the following incident, which may concern your territory or systems.",
            "Nous vous notifions l'incident suivant, qui peut concerner votre territoire ou vos systèmes.",
        ),
        _t(
            "request-information",
            "Request for information",
            "Ask the counterpart for information about activity from or affecting its territory.",
            "Share what you know about the activity described, including technical indicators.",
            True,
            "Request for information: {title}",
            "Demande d'information : {title}",
            "We request information about the activity described below.",
            "Nous sollicitons des informations sur l'activité décrite ci-dessous.",
        ),
        _t(
            "request-assistance",
            "Request for assistance",
            "Ask for help to mitigate malicious activity emanating from the counterpart's territory (UN GGE norm (h)).",
            "Take reasonable steps to mitigate the activity and tell us what was done.",
            True,
            "Request for assistance: {title}",
            "Demande d'assistance : {title}",
            "We request your assistance to mitigate the malicious activity described below.",
            "Nous sollicitons votre assistance pour atténuer l'activité malveillante décrite ci-dessous.",
        ),
        _t(
            "request-consultations",
            "Request for consultations",
            "Propose consultations to reduce the risk of misperception and escalation (OSCE CBM 3).",
            "Name a representative and propose a date for consultations.",
            True,
            "Request for consultations: {title}",
            "Demande de consultations : {title}",
            "We propose consultations on the matter described below.",
            "Nous proposons des consultations sur la question décrite ci-dessous.",
        ),
        _t(
            "response",
            "Response",
            "Answer a request substantively.",
            "None; for your information.",
            False,
            "Response: {title}",
            "Réponse : {title}",
            "In reply to your request, we provide the following.",
            "En réponse à votre demande, nous vous communiquons ce qui suit.",
        ),
        _t(
            "clarification",
            "Clarification",
            "Ask for or give a clarification of an earlier message.",
            "Clarify the points listed.",
            True,
            "Clarification: {title}",
            "Clarification : {title}",
            "We seek (or provide) a clarification of the points below.",
            "Nous demandons (ou apportons) une clarification sur les points ci-dessous.",
        ),
        _t(
            "de-escalation",
            "De-escalation proposal",
            "Propose concrete steps to de-escalate.",
            "Consider the proposed steps and state whether you accept them.",
            True,
            "De-escalation proposal: {title}",
            "Proposition de désescalade : {title}",
            "To reduce tension, we propose the following steps.",
            "Afin de réduire les tensions, nous proposons les mesures suivantes.",
        ),
        _t(
            "closure",
            "Closure",
            "Close the case, recording the outcome.",
            "None; the case is closed.",
            False,
            "Case closed: {title}",
            "Clôture du dossier : {title}",
            "We consider this matter closed, with the outcome below.",
            "Nous considérons cette affaire comme close, avec le résultat ci-dessous.",
        ),
    )
}

LANGUAGES = ("en", "fr")


def template(kind: str) -> Template:
    return TEMPLATES[kind]


def draft(kind: str, title: str, language: str = "en") -> dict[str, str]:
    """Subject, body skeleton and requested action of a new message of ``kind`` (language falls back to en)."""
    tpl = TEMPLATES[kind]
    lang = language if language in tpl.subject else "en"
    return {
        "subject": tpl.subject[lang].format(title=title),
        "body": tpl.body[lang],
        "requested_action": tpl.requested_action,
    }
