"""The record the dyad network and the tension index read, held as columns: numpy arrays of small integer codes
(states, labels, organisations, joint groups), day numbers and ids, one array per field.

At 100,000 incidents and 300,000 attributions, grouping by sorting arrays takes tens of milliseconds where
dictionaries keyed by tuples take a second; and the columns of the whole record take a few tens of megabytes, so
one copy per state of the database serves every view (:func:`record_of`, remembered while the record is
unchanged), each filter being applied to the columns. Codes are given in order of first appearance; ``-1``
(:data:`NONE`) stands for a missing value (no state, no date, no group).
"""

from __future__ import annotations

import datetime as dt
import gc
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar, cast

import numpy as np
from sqlalchemy import Date, String, event, func, select, type_coerce
from sqlalchemy.orm import Session

from accord.incidents.models import Attribution, Incident, IncidentReceiver, Response

NONE = -1
T = TypeVar("T")


# ---------------------------------------------------------------- the snapshot the computations read


class Inc(NamedTuple):
    id: int
    operation_type: str
    intensity: int | None = None
    start_date: dt.date | None = None
    disclosure_date: dt.date | None = None
    date_precision: str = "day"

    @property
    def date(self) -> dt.date | None:
        """The incident date: start, else disclosure."""
        return self.start_date or self.disclosure_date


class Rec(NamedTuple):
    incident_id: int
    state_code: str | None
    category: str = "government"
    sector: str | None = None


class Att(NamedTuple):
    id: int
    incident_id: int
    by_state: str | None = None
    by_organisation: str | None = None
    by_company: str | None = None
    attributed_state: str | None = None
    date: dt.date | None = None
    joint_group: str | None = None
    form: str = "political_statement"


class Resp(NamedTuple):
    id: int
    incident_id: int
    by_state: str | None = None
    by_organisation: str | None = None
    against_state: str | None = None
    date: dt.date | None = None
    type: str = "statement"
    eu_toolbox: str | None = None


@dataclass(frozen=True)
class Data:
    """Incidents, receivers, attributions and responses as plain rows (loaded by :func:`load`)."""

    incidents: Sequence[Inc]
    receivers: Sequence[Rec] = ()
    attributions: Sequence[Att] = ()
    responses: Sequence[Resp] = ()


@contextmanager
def quiet_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while hundreds of thousands of rows are read and counted. None of them
    form cycles, yet every full collection walks them all: at 100,000 incidents that doubles the time. Reference
    counting still frees everything; the collector is back on afterwards (unless it was off before)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# ---------------------------------------------------------------- a cache for read-mostly data

MEMO_SIZE = 16
_memo: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_memo_lock = threading.Lock()


_FINGERPRINT = "accord.analytics.fingerprint"  # where a session keeps its last fingerprint (Session.info)


def fingerprint(session: Session) -> tuple[Any, ...]:
    """What changes whenever the record the analytics read changes: row counts and the latest change of
    incidents, attributions, responses and commitments, and the count and highest id of receivers (replaced
    receivers get new ids). Five aggregate queries (a few tens of milliseconds at 100,000 incidents); the
    session's own uncommitted changes count too.

    The answer is kept in the session until it flushes, commits or rolls back, so a page that shows the network
    and the tension ranking asks once. Within one transaction another connection's commit is therefore seen only
    at the next transaction (a request is one)."""
    from accord.norms.models import Commitment  # the tension index reads bilateral agreements

    known = session.info.get(_FINGERPRINT)
    if known is not None and not (session.new or session.dirty or session.deleted):
        return cast(tuple[Any, ...], known)
    found: list[Any] = []
    for model in (Incident, Attribution, Response, Commitment):
        found += session.execute(select(func.count(), func.max(model.updated_at))).one()
    found += session.execute(select(func.count(), func.max(IncidentReceiver.id))).one()
    session.info[_FINGERPRINT] = answer = tuple(found)
    return answer


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, _context: Any) -> None:
    session.info.pop(_FINGERPRINT, None)


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, _transaction: Any) -> None:
    session.info.pop(_FINGERPRINT, None)


def clear_memo() -> None:
    """Forget every remembered result (benchmarks measure cold computations with it)."""
    with _memo_lock:
        _memo.clear()


def memo(session: Session, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
    """``compute()``, or its result from the last ``MEMO_SIZE`` computations on the same database in this
    process while its :func:`fingerprint` is unchanged. At 100,000 incidents a network or the tension index
    takes a second or two to compute and a few milliseconds to look up; results are never mutated."""
    full = (str(session.get_bind().url), *key, fingerprint(session))
    with _memo_lock:
        if full in _memo:
            _memo.move_to_end(full)
            return cast(T, _memo[full])
    result = compute()
    with _memo_lock:
        _memo[full] = result
        while len(_memo) > MEMO_SIZE:
            _memo.popitem(last=False)
    return result


# ---------------------------------------------------------------- columns


class Codes:
    """Consecutive small integers for values, in order of first appearance; ``-1`` for None."""

    def __init__(self) -> None:
        self.index: dict[Any, int] = {None: NONE}
        self.values: list[Any] = []

    def of(self, column: Sequence[Any]) -> np.ndarray:
        for value in set(column).difference(self.index):
            self.index[value] = len(self.values)
            self.values.append(value)
        return np.fromiter(map(self.index.__getitem__, column), np.int64, len(column))

    def copy(self) -> Codes:
        """A copy to extend without changing this one."""
        out = Codes()
        out.index, out.values = dict(self.index), list(self.values)
        return out

    def codes(self, values: Sequence[Any]) -> np.ndarray:
        """The codes of ``values`` that have one (a value never seen matches nothing)."""
        return np.array([self.index[v] for v in values if v in self.index and v is not None], np.int64)

    def value(self, code: int) -> Any:
        return None if code < 0 else self.values[code]


def days(column: Sequence[Any]) -> np.ndarray:
    """Day numbers (proleptic ordinals) of dates, or of ISO dates as SQLite returns them unparsed; -1 for None."""
    known = {v: (v if isinstance(v, dt.date) else dt.date.fromisoformat(v)).toordinal() for v in set(column) - {None}}
    known[None] = NONE
    return np.fromiter(map(known.__getitem__, column), np.int64, len(column))


def years(day_numbers: np.ndarray) -> np.ndarray:
    """The calendar year of each day number (-1 stays -1)."""
    found, back = np.unique(day_numbers, return_inverse=True)
    per = np.array([NONE if d == NONE else dt.date.fromordinal(d).year for d in found.tolist()], np.int64)
    return per[back] if len(found) else np.zeros(0, np.int64)


def ints(column: Sequence[Any]) -> np.ndarray:
    """Integers (ids), -1 for None."""
    found = np.array(column, dtype=np.float64)  # None becomes NaN
    return np.where(np.isnan(found), NONE, found).astype(np.int64)


def floats(column: Sequence[Any]) -> np.ndarray:
    """Numbers, NaN for None."""
    return np.array(column, dtype=np.float64)


def runs(keys: np.ndarray) -> np.ndarray:
    """Where each run of equal values starts in the sorted ``keys``."""
    return np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else np.zeros(0, np.int64)


def distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted (by sorting: numpy's hash-based ``unique`` is several times slower on the
    integer keys used here)."""
    found = np.sort(values)
    return found[runs(found)]


def spans(keys: np.ndarray) -> Iterator[tuple[int, int]]:
    """(start, end) of each run of equal values in the sorted ``keys``."""
    starts = runs(keys).tolist()
    yield from zip(starts, [*starts[1:], len(keys)][: len(starts)], strict=True)


def lengths(starts: np.ndarray, size: int) -> np.ndarray:
    """The length of each run, given where the runs start in an array of ``size``."""
    return np.diff(np.r_[starts, size]).astype(np.int64)


def span(*day_numbers: np.ndarray) -> tuple[int, int]:
    """The first day and the number of days from it to the last (1 when there is none)."""
    dated = [d[d != NONE] for d in day_numbers]
    found = np.concatenate(dated) if dated else np.zeros(0, np.int64)
    return (int(found.min()), int(found.max() - found.min()) + 1) if len(found) else (0, 1)


def expand(sorted_keys: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A many-to-many join: for every element of ``keys``, every position in ``sorted_keys`` holding the same key.
    Returns (index into ``keys``, position in ``sorted_keys``), one pair per match, grouped by the first."""
    lo = np.searchsorted(sorted_keys, keys, "left")
    count = np.searchsorted(sorted_keys, keys, "right") - lo
    owner = np.repeat(np.arange(len(keys)), count)
    return owner, np.arange(len(owner)) - np.repeat(np.cumsum(count) - count, count) + np.repeat(lo, count)


def lookup(values: np.ndarray, positions: np.ndarray, missing: Any) -> np.ndarray:
    """``values`` at ``positions``; ``missing`` where a position is -1."""
    out = np.full(len(positions), missing, dtype=values.dtype)
    found = positions >= 0
    out[found] = values[positions[found]]
    return out


def transpose(rows: Sequence[Sequence[Any]], width: int) -> list[Sequence[Any]]:
    """Rows as columns (the first ``width`` at least; rows may carry more fields)."""
    return list(zip(*rows, strict=True)) if rows else [()] * width


class Record:
    """Incidents, receivers, attributions and responses as columns (the field order of :class:`Inc`,
    :class:`Rec`, :class:`Att` and :class:`Resp`), with the codes they share: ``states`` (every state column)
    and ``labels`` (operation types, receiver categories and sectors, attribution forms, response types)."""

    def __init__(self, data: Data) -> None:
        self.states, self.labels, self.organisations = Codes(), Codes(), Codes()
        inc = transpose(data.incidents, 5)
        self.incident_id, self.incident_type = ints(inc[0]), self.labels.of(inc[1])
        self.intensity = floats(inc[2])  # NaN: not assessed
        self.start, self.disclosure = days(inc[3]), days(inc[4])
        self.position = np.full(int(self.incident_id.max(initial=0)) + 1, NONE, np.int64)
        self.position[self.incident_id] = np.arange(len(self.incident_id))
        rec = transpose(data.receivers, 4)
        self.receiver_incident, self.receiver_state = ints(rec[0]), self.states.of(rec[1])
        self.receiver_category, self.receiver_sector = self.labels.of(rec[2]), self.labels.of(rec[3])
        att = transpose(data.attributions, 9)
        self.att_id, self.att_incident = ints(att[0]), ints(att[1])
        self.att_by, self.att_org = self.states.of(att[2]), self.organisations.of(att[3])
        self.att_company, self.att_state = self.organisations.of(att[4]), self.states.of(att[5])
        self.att_day, self.att_group, self.att_form = days(att[6]), Codes().of(att[7]), self.labels.of(att[8])
        resp = transpose(data.responses, 7)
        self.resp_id, self.resp_incident = ints(resp[0]), ints(resp[1])
        self.resp_by, self.resp_against = self.states.of(resp[2]), self.states.of(resp[4])
        self.resp_day, self.resp_type = days(resp[5]), self.labels.of(resp[6])

    @property
    def width(self) -> int:
        """A multiplier that keeps (other code, state) keys apart: more than any state code."""
        return max(len(self.states.values), 1)

    def incident_at(self, ids: np.ndarray) -> np.ndarray:
        """Positions of incident ids in the incident columns; -1 for an incident not loaded."""
        inside = (ids >= 0) & (ids < len(self.position))
        return np.where(inside, self.position[np.where(inside, ids, 0)], NONE)


def _unparsed(column: Any) -> Any:
    """A date column read as the driver gives it: ISO text on SQLite (parsing 400,000 dates would cost a fifth of
    the reading; :func:`days` reads both), dates on PostgreSQL."""
    return type_coerce(column, String).label(column.key) if isinstance(column.type, Date) else column


def read(session: Session) -> Data:
    """Every incident, receiver, attribution and response as rows (the fields :class:`Record` reads)."""
    execute = session.connection().execute
    tables: list[list[Any]] = []
    for model, fields in (
        (Incident, Inc._fields[:5]),
        (IncidentReceiver, Rec._fields),
        (Attribution, Att._fields),
        (Response, Resp._fields[:7]),
    ):
        table = model.__table__
        tables.append(list(execute(select(*[_unparsed(table.c[f]) for f in fields])).all()))
    return Data(*tables)


def record_of(session: Session) -> Record:
    """The whole record from the database as columns, remembered while it is unchanged (:func:`memo`)."""

    def compute() -> Record:
        with quiet_gc():
            return Record(read(session))

    return memo(session, ("record",), compute)
