"""The incident form: raw form values ⇄ service payloads, and problems keyed by form field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, get_args

from accord.core.errors import Problem
from accord.incidents import schemas as s

TEXT_FIELDS = (
    "slug",
    "name",
    "description",
    "start_date",
    "end_date",
    "disclosure_date",
    "date_precision",
    "operation_type",
    "intensity",
    "as_of",
)
LIST_FIELDS = ("aliases", "sources")  # one item per line
RECEIVER_PARTS = ("state_code", "category", "sector")
BLANK_ROWS = 2
MAX_ROWS = 200


def blank_values() -> dict[str, Any]:
    values: dict[str, Any] = dict.fromkeys(TEXT_FIELDS + LIST_FIELDS, "")
    values["date_precision"] = "day"
    values["receivers"] = []
    return values


def values_of(incident: Any) -> dict[str, Any]:
    """Form values showing a stored incident."""
    values = {name: "" if getattr(incident, name) is None else str(getattr(incident, name)) for name in TEXT_FIELDS}
    values["aliases"] = "\n".join(incident.aliases or [])
    values["sources"] = "\n".join(incident.sources or [])
    values["receivers"] = [{p: getattr(r, p) or "" for p in RECEIVER_PARTS} for r in incident.receivers]
    return values


def values_from_form(form: Mapping[str, Any]) -> dict[str, Any]:
    """Form values as posted (blank receiver rows dropped, so row numbers match the problems)."""
    values = {name: str(form.get(name) or "").strip() for name in TEXT_FIELDS + LIST_FIELDS}
    rows = []
    for i in range(MAX_ROWS):
        row = {p: str(form.get(f"receivers-{i}-{p}") or "").strip() for p in RECEIVER_PARTS}
        if any(row.values()):
            rows.append(row)
    for row in rows:
        row["state_code"] = row["state_code"].upper()
    values["receivers"] = rows
    values["version"] = str(form.get("version") or "").strip()
    return values


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def payload(values: Mapping[str, Any], *, with_slug: bool) -> dict[str, Any]:
    """The service payload of some form values: blanks become None, lists are split per line."""
    data: dict[str, Any] = {name: values[name] or None for name in TEXT_FIELDS}
    if not with_slug:
        del data["slug"]
    data.update({name: _lines(values[name]) for name in LIST_FIELDS})
    data["receivers"] = [{p: row[p] or None for p in RECEIVER_PARTS} for row in values["receivers"]]
    return data


def field_of(problem: Problem) -> str:
    """The form field a problem belongs to: ``receivers.0.state_code`` stays, ``sources.2`` → ``sources``."""
    parts = problem.field.split(".")
    if parts[0] == "receivers" and len(parts) >= 3:
        return ".".join(parts[:3])
    return parts[0]


def errors_by_field(problems: list[Problem]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for p in problems:
        errors.setdefault(field_of(p), []).append(p.reason)
    return errors


def choices() -> dict[str, tuple[str, ...]]:
    return {
        "operation_type": get_args(s.OperationType),
        "category": get_args(s.ReceiverCategory),
        "sector": get_args(s.Sector),
        "date_precision": ("day", "month", "year"),
        "intensity": ("1", "2", "3", "4", "5"),
    }
