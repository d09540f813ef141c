"""Property: for any page size and sort, walking the cursors yields every matching row exactly once, in order."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accord.core.records import list_records
from accord.incidents.service import ATTRIBUTIONS, INCIDENTS, IncidentFilter


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    limit=st.integers(1, 40),
    sort=st.sampled_from(["-start_date", "start_date", "name", "-intensity", "id"]),
    type_=st.sampled_from([None, "espionage", "disruption"]),
)
def test_cursor_walk_is_complete_and_ordered(session, limit, sort, type_):
    filters = IncidentFilter(type=type_)
    everything = list_records(session, INCIDENTS, filters=filters, sort=sort, limit=10_000).items
    walked, cursor = [], None
    while True:
        page = list_records(session, INCIDENTS, filters=filters, sort=sort, cursor=cursor, limit=limit)
        assert len(page.items) <= limit
        walked += page.items
        cursor = page.next_cursor
        if cursor is None:
            break
    assert [i.id for i in walked] == [i.id for i in everything]
    assert len({i.id for i in walked}) == len(walked)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(limit=st.integers(1, 60))
def test_attribution_pages_by_date(session, limit):
    seen, cursor = [], None
    while True:
        page = list_records(session, ATTRIBUTIONS, sort="-date", cursor=cursor, limit=limit)
        seen += page.items
        cursor = page.next_cursor
        if cursor is None:
            break
    dated = [a.date for a in seen if a.date]
    assert dated == sorted(dated, reverse=True)
    assert all(a.date is None for a in seen[len(dated) :])  # nulls last
    assert len({a.id for a in seen}) == len(seen)
