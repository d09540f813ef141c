"""The domain error tree. Faces render these as RFC 9457 problem+json, CLI lines or HTML.

    AccordError (500)
    ├── BadRequest (400)
    │   └── InvalidCursor
    ├── Unauthorized (401)            — not signed in (or bad credentials)
    ├── Forbidden (403)               — signed in, but the role may not do this
    ├── NotFound (404)
    ├── Conflict (409)
    ├── PreconditionFailed (412)      — If-Match does not match the current ETag
    ├── PreconditionRequired (428)    — an update came without If-Match
    ├── Invalid (422)                 — field-level problems; carries ``problems``
    │   ├── ReferenceNotFound
    │   └── Duplicate
    ├── TooManyAttempts (429)         — login throttled
    └── NotMigrated (503)             — the database schema is not at the code's head revision

Domain code raises these; it never raises HTTP exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: where (field, optional line) and why."""

    field: str
    reason: str
    line: int | None = None

    def as_dict(self) -> dict[str, object]:
        d: dict[str, object] = {"field": self.field, "reason": self.reason}
        if self.line is not None:
            d["line"] = self.line
        return d

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        return f"{where}{self.field}: {self.reason}"


class AccordError(Exception):
    status = 500
    title = "Internal error"
    slug = "internal-error"

    def __init__(self, detail: str = "", problems: list[Problem] | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.problems = problems or []


class BadRequest(AccordError):
    status = 400
    title = "Bad request"
    slug = "bad-request"


class InvalidCursor(BadRequest):
    title = "Invalid cursor"
    slug = "invalid-cursor"


class Unauthorized(AccordError):
    status = 401
    title = "Authentication required"
    slug = "unauthorized"


class Forbidden(AccordError):
    status = 403
    title = "Forbidden"
    slug = "forbidden"


class TooManyAttempts(AccordError):
    status = 429
    title = "Too many attempts"
    slug = "too-many-attempts"


class NotFound(AccordError):
    status = 404
    title = "Not found"
    slug = "not-found"


class Conflict(AccordError):
    status = 409
    title = "Conflict"
    slug = "conflict"


class PreconditionFailed(AccordError):
    status = 412
    title = "Precondition failed"
    slug = "precondition-failed"


class PreconditionRequired(AccordError):
    status = 428
    title = "Precondition required"
    slug = "precondition-required"


class Invalid(AccordError):
    status = 422
    title = "Invalid input"
    slug = "invalid-input"


class ReferenceNotFound(Invalid):
    title = "Unknown reference"
    slug = "unknown-reference"


class Duplicate(Invalid):
    title = "Duplicate record"
    slug = "duplicate"


class NotMigrated(AccordError):
    status = 503
    title = "Database not migrated"
    slug = "not-migrated"
