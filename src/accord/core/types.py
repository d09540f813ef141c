"""Validated value types shared by every capability's schemas."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Annotated, Any, Literal

import pycountry
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

_EXTRA_CODES = {"XK": "Kosovo"}  # user-assigned code in common use; not in ISO 3166-1


@lru_cache(maxsize=4096)
def _country(value: str) -> str:
    code = value.strip().upper()
    if len(code) != 2 or not code.isalpha():
        raise ValueError("must be an ISO 3166-1 alpha-2 code (two letters)")
    if code not in _EXTRA_CODES and pycountry.countries.get(alpha_2=code) is None:
        raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 country code")
    return code


@lru_cache(maxsize=65536)
def _url(value: str) -> str:
    HttpUrl(value)  # raises ValueError with a clear message
    return value


Str = Annotated[str, StringConstraints(pattern=r"^[^\x00]*$")]
CountryCode = Annotated[str, AfterValidator(_country), Field(examples=["FR"])]
Url = Annotated[Str, AfterValidator(_url), Field(max_length=2000, examples=["https://www.un.org/"])]
Sources = Annotated[list[Url], Field(min_length=1, description="Public source URLs (at least one).")]
Code = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")]
Name = Annotated[Str, Field(min_length=1, max_length=300)]
Id = Annotated[int, Field(ge=1, le=2**31 - 1, description="record id")]
Precision = Literal["day", "month", "year"]
Text = Annotated[Str, Field(max_length=20000)]


def country_name(code: str) -> str | None:
    if code in _EXTRA_CODES:
        return _EXTRA_CODES[code]
    c = pycountry.countries.get(alpha_2=code)
    return getattr(c, "common_name", None) or (c.name if c else None)


def alpha3(code: str) -> str | None:
    c = pycountry.countries.get(alpha_2=code)
    return c.alpha_3 if c else None


class QueryModel(BaseModel):
    """Base of list filters (query parameters). Text fields use ``Str``."""


class Schema(BaseModel):
    """Base of input schemas: unknown fields are errors, strings are stripped.

    Every text field is ``Str`` (or a type built on it), so text no database can store faithfully
    is refused at the edge: NUL by the pattern, unpaired surrogates by pydantic itself.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OutSchema(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class SourcedIn(Schema):
    sources: Sources
    as_of: dt.date = Field(description="Date the fact was last checked against its sources.")


class SourcedPatch(Schema):
    sources: Sources | None = None
    as_of: dt.date | None = None


def check_order(start_field: str, end_field: str) -> Any:
    """A field validator on ``end_field``: it may not be before ``start_field`` (declared earlier)."""

    def _check(cls: Any, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            return value
        start = info.data.get(start_field)
        if start is not None and value is not None and value < start:
            raise ValueError(f"{end_field} ({value}) is before {start_field} ({start})")
        return value

    return field_validator(end_field)(_check)
