"""E-mail to contacts without a node: outbox rows of channel ``email``, sent with the standard library.

The message: ``From`` = ``ACCORD_SMTP_FROM``, ``To`` = the destination, ``Subject`` = ``payload["subject"]``,
plain-text body ``payload["text"]`` (the signed acknowledgement link ``payload["ack_url"]`` is appended if
the text does not already hold it), ``Date``, a ``Message-ID`` derived from the idempotency key and the
address, and ``X-Accord-Key: <key>``. SMTP cannot promise exactly-once: if the sender dies after the
server accepted a message but before the outbox row was marked delivered, the message goes out again after
the lease — with the same ``Message-ID`` and ``X-Accord-Key``, so mail clients and people can tell.

Sending: ``smtplib`` to ``ACCORD_SMTP_HOST:ACCORD_SMTP_PORT``, STARTTLS when ``ACCORD_SMTP_STARTTLS``,
sign-in when ``ACCORD_SMTP_USER`` is set (the password is never logged or put in an error).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from accord.config import Settings
from accord.core.errors import AccordError

TIMEOUT = 20.0  # seconds, per SMTP operation


class MailNotConfigured(AccordError):
    status = 503
    title = "no SMTP server configured"
    slug = "mail-not-configured"


class MailFailed(AccordError):
    status = 502
    title = "e-mail not sent"
    slug = "mail-failed"


class MailUnreachable(MailFailed):
    title = "SMTP server unreachable"
    slug = "mail-unreachable"


def _domain(address: str) -> str:
    _, _, domain = address.rpartition("@")
    return domain.strip(" >") or "localhost"


def message_id(key: str, destination: str, sender: str) -> str:
    """The same Message-ID for every attempt at one e-mail (key + address)."""
    digest = hashlib.sha256(f"{key}\n{destination}".encode()).hexdigest()[:32]
    return f"<accord.{digest}@{_domain(sender)}>"


def build(settings: Settings, *, key: str, destination: str, payload: dict[str, Any], now: dt.datetime) -> EmailMessage:
    text = str(payload.get("text") or "")
    ack_url = payload.get("ack_url")
    if ack_url and str(ack_url) not in text:
        text = f"{text.rstrip()}\n\nTo acknowledge receipt, open this link:\n{ack_url}\n".lstrip()
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = destination
    msg["Subject"] = " ".join(str(payload.get("subject") or "Message from an Accord node").split())[:250]
    msg["Date"] = format_datetime(now.astimezone(dt.UTC))
    msg["Message-ID"] = message_id(key, destination, settings.smtp_from)
    msg["X-Accord-Key"] = key
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text or "(no text)")
    return msg


def send(settings: Settings, msg: EmailMessage, *, timeout: float = TIMEOUT) -> None:
    """Hand one message to the SMTP server; MailNotConfigured / MailFailed otherwise."""
    if not settings.smtp_host:
        raise MailNotConfigured("no SMTP server configured")
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout) as smtp:
            smtp.ehlo()
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if settings.smtp_user:
                password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
                smtp.login(settings.smtp_user, password)
            refused = smtp.send_message(msg)
    # smtplib's exceptions are OSErrors: the specific ones first
    except (smtplib.SMTPConnectError, smtplib.SMTPServerDisconnected) as exc:
        raise MailUnreachable(f"SMTP {where}: {type(exc).__name__}: {exc}"[:500]) from None
    except smtplib.SMTPAuthenticationError as exc:
        raise MailFailed(f"SMTP sign-in refused for {settings.smtp_user!r} (code {exc.smtp_code})") from None
    except smtplib.SMTPResponseException as exc:
        reply = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        raise MailFailed(f"SMTP {where}: {exc.smtp_code} {reply}"[:500]) from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise MailFailed(f"SMTP refused the recipient(s): {', '.join(exc.recipients)}"[:500]) from None
    except smtplib.SMTPException as exc:
        raise MailFailed(f"SMTP {where}: {type(exc).__name__}: {exc}"[:500]) from None
    except OSError as exc:  # refused, unreachable, timeout, TLS failure
        raise MailUnreachable(f"SMTP {where}: {type(exc).__name__}: {exc}"[:500]) from None
    if refused:
        raise MailFailed(f"SMTP refused the recipient(s): {', '.join(refused)}"[:500])


def deliver(settings: Settings, *, key: str, destination: str, payload: dict[str, Any], now: dt.datetime) -> None:
    send(settings, build(settings, key=key, destination=destination, payload=payload, now=now))
