"""The values that pass between the matching modules: an observation to match, and a match found."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Observation:
    """One STIX 2.1 ``observed-data`` with the cyber-observable objects its ``object_refs`` name (those present
    in the same bundle). ``objects`` maps SCO id -> SCO (parsed JSON); ``sdo`` is the observed-data itself."""

    id: str
    first_observed: dt.datetime  # UTC, aware
    last_observed: dt.datetime
    number_observed: int
    objects: dict[str, dict[str, Any]]
    sdo: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Evidence:
    """A value of an observation that satisfied a comparison of the pattern: the SCO type, the object path
    from the SCO (``value``, ``hashes.'SHA-256'``, ``resolves_to_refs[*].value``) and the value as text."""

    object_type: str
    path: str
    value: str


@dataclass(frozen=True)
class Match:
    """An indicator whose pattern matched: the observations bound to it (one for a pattern of one observation
    expression matched on one unit), when they were seen, how many times, and the values that matched."""

    indicator_id: str
    observed_data_ids: tuple[str, ...]
    first_seen: dt.datetime
    last_seen: dt.datetime
    count: int  # observations (number_observed summed over the bound observed-data)
    evidence: tuple[Evidence, ...] = ()
