"""schemathesis against the OpenAPI schema, bounded examples: no input may cause a server error.

It runs on its own databases (SQLite and PostgreSQL, fixture ``fuzz_app``) because generated
requests create and delete records freely.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

MAX_EXAMPLES = int(os.environ.get("ACCORD_FUZZ_EXAMPLES", "12"))


def _fuzz(operation: Any, token: str) -> list[str]:
    failures: list[str] = []

    @given(case=operation.as_strategy())
    @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case: Any) -> None:
        response = case.call(headers={"Authorization": f"Bearer {token}"})
        if response.status_code >= 500:
            failures.append(
                f"{case.method} {case.formatted_path} {case.query!r} -> {response.status_code}: {response.text[:300]}"
            )

    run()
    return failures


@pytest.mark.slow
def test_no_server_errors(fuzz_app: Any) -> None:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", fuzz_app)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operations += 1
        failures += _fuzz(result.ok(), fuzz_app.state.test_token)
    assert operations > 70
    assert failures == []
