"""``service.match_inputs``, which ``POST /api/v1/match`` and ``accord match`` share: observations read from
sources, matched in batches, suppressed matches counted by warning list; a bad line refuses the source."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session

from accord.core.errors import Invalid
from accord.matching import service
from accord.matching.engine import Matcher
from accord.matching.types import Match, Observation

INDICATORS = {
    "indicator--00000000-0000-4000-8000-000000000001": "[ipv4-addr:value = '45.76.12.34']",
    "indicator--00000000-0000-4000-8000-000000000002": "[domain-name:value LIKE '%.evilops.xyz']",
    "indicator--00000000-0000-4000-8000-000000000003": "[ipv4-addr:value = '10.1.1.1']",
}
FIRST = (
    '{"type": "ip", "value": "45.76.12.34", "count": 4}\n'
    '{"type": "domain", "value": "c2.evilops.xyz"}\n'
    '{"type": "ip", "value": "10.1.1.1"}\n'
)
SECOND = '{"type": "domain", "value": "www.evilops.xyz"}\n{"type": "url", "value": "https://harmless.example.org/"}\n'


class Counting(Matcher):
    """A matcher that notes the size of each batch it is given."""

    def __init__(self, indicators: Iterable[tuple[str, str]]) -> None:
        super().__init__(indicators)
        self.batches: list[int] = []

    def match_batch(self, observations: Iterable[Observation]) -> Iterator[Match]:
        batch = list(observations)
        self.batches.append(len(batch))
        return super().match_batch(batch)


def run(sources: list[Any], matcher: Counting | None = None, **kwargs: Any) -> tuple[service.MatchRun, Counting]:
    matcher = matcher or Counting(INDICATORS.items())
    # nothing is recorded, so the session is never used
    found = service.match_inputs(Session(), sources, kind="jsonl", actor=None, matcher=matcher, record=False, **kwargs)
    return found, matcher


def test_match_inputs_counts_and_ranks() -> None:
    lines: list[int] = []
    found, matcher = run([FIRST, SECOND], warninglists="default", on_line=lines.append)
    assert matcher.batches == [3, 2]  # a whole source at once
    assert found.report.observations == 5 and found.report.matches == 4 and found.skipped_lines == 0
    assert found.by_indicator() == [
        ("indicator--00000000-0000-4000-8000-000000000002", 2),
        ("indicator--00000000-0000-4000-8000-000000000001", 1),
        ("indicator--00000000-0000-4000-8000-000000000003", 1),
    ]
    assert sum(found.suppressed_by.values()) == 1  # 10.1.1.1 is a private address
    assert found.recorded is False and found.sightings_created == 0 and found.sightings_updated == 0
    assert lines == [1, 2, 3, 1, 2]


def test_match_inputs_batches_and_warning_lists_off() -> None:
    found, matcher = run([FIRST.splitlines(keepends=True)], warninglists="none", batch=2)
    assert matcher.batches == [2, 1]
    assert found.report.matches == 3 and found.suppressed_by == {}


def test_a_bad_line_refuses_the_source_before_matching() -> None:
    matcher = Counting(INDICATORS.items())
    bad = '{"type": "ip", "value": "45.76.12.34"}\n{"type": "ip", "value": "not-an-ip"}\n'
    with pytest.raises(Invalid) as exc:
        run([bad], matcher, warninglists="none")
    assert [p.line for p in exc.value.problems] == [2]
    assert matcher.batches == []  # nothing of the source was matched
