"""Validated value types shared by every capability's schemas."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import pycountry
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, HttpUrl, ValidationInfo, field_validator

_EXTRA_CODES = {"XK": "Kosovo"}  # user-assigned code in common use; not in ISO 3166-1


def _country(value: str) -> str:
    code = value.strip().upper()
    clean_text(code)
    if len(code) != 2 or not code.isalpha():
        raise ValueError("must be an ISO 3166-1 alpha-2 code (two letters)")
    if code not in _EXTRA_CODES and pycountry.countries.get(alpha_2=code) is None:
        raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 country code")
    return code


def _url(value: str) -> str:
    HttpUrl(value)  # raises ValueError with a clear message
    return value


CountryCode = Annotated[str, AfterValidator(_country), Field(examples=["FR"])]
Url = Annotated[str, AfterValidator(_url), Field(max_length=2000, examples=["https://www.un.org/"])]
Sources = Annotated[list[Url], Field(min_length=1, description="Public source URLs (at least one).")]
Code = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")]
Name = Annotated[str, Field(min_length=1, max_length=300)]
Id = Annotated[int, Field(ge=1, le=2**31 - 1, description="record id")]
Precision = Literal["day", "month", "year"]
Text = Annotated[str, Field(max_length=20000)]


def country_name(code: str) -> str | None:
    if code in _EXTRA_CODES:
        return _EXTRA_CODES[code]
    c = pycountry.countries.get(alpha_2=code)
    return getattr(c, "common_name", None) or (c.name if c else None)


def alpha3(code: str) -> str | None:
    c = pycountry.countries.get(alpha_2=code)
    return c.alpha_3 if c else None


def clean_text(value: Any) -> Any:
    """Refuse text no database can store faithfully: NUL characters and unpaired surrogates."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("must not contain NUL characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("must be valid Unicode text (unpaired surrogate)") from None
    elif isinstance(value, list):
        for item in value:
            clean_text(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            clean_text(key)
            clean_text(item)
    return value


class QueryModel(BaseModel):
    """Base of list filters (query parameters)."""

    @field_validator("*", mode="after")
    @classmethod
    def _clean(cls, value: Any) -> Any:
        return clean_text(value)


class Schema(BaseModel):
    """Base of input schemas: unknown fields are errors, strings are stripped and must be storable."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _clean(cls, value: Any) -> Any:
        return clean_text(value)


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
        start = info.data.get(start_field)
        if start is not None and value is not None and value < start:
            raise ValueError(f"{end_field} ({value}) is before {start_field} ({start})")
        return value

    return field_validator(end_field)(_check)
