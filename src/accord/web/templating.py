"""The Jinja2 environment of the web pages: autoescaping always on, a few display filters and globals.

Everything users write reaches the page through autoescaping; no template marks user data ``|safe``.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from accord import __version__
from accord.auth.roles import can
from accord.core.types import country_name

TEMPLATES = Path(__file__).parent / "templates"

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def fmt_date(value: Any, precision: str = "day") -> str:
    """``2017-06-27`` → ``27 Jun 2017`` (or ``Jun 2017`` / ``2017`` at coarser precision); '' for none."""
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value[:10])
        except ValueError:
            return value
    if precision == "year":
        return str(value.year)
    if precision == "month":
        return f"{_MONTHS[value.month - 1]} {value.year}"
    return f"{value.day} {_MONTHS[value.month - 1]} {value.year}"


def label(value: Any) -> str:
    """A stored code word for people: ``critical_infrastructure`` → ``critical infrastructure``."""
    if value is None:
        return ""
    return str(value).replace("_", " ")


def state_label(code: str | None, names: dict[str, str] | None = None) -> str:
    if not code:
        return ""
    return (names or {}).get(code) or country_name(code) or code


def query(params: dict[str, Any], **changes: Any) -> str:
    """The query string of ``params`` with ``changes`` applied; empty values are dropped."""
    merged = {**params, **changes}
    return urlencode({k: v for k, v in merged.items() if v not in (None, "")})


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "svg", "xml"], default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(date=fmt_date, label=label, state=state_label)
    env.globals.update(can=can, query=query, accord_version=__version__)
    return env


@lru_cache(maxsize=1)
def templates() -> Jinja2Templates:
    """The shared template renderer (built on first use, not at import time)."""
    return Jinja2Templates(env=_environment())
