"""Schemathesis over the whole OpenAPI document, in process, on SQLite and PostgreSQL: no 5xx, every response
matches the spec (status, content type, body), and invalid input is refused with a 4xx.

``API_FUZZ_EXAMPLES`` (default 25) sets how many cases Hypothesis generates per operation; each case is sent by a
coordinator, a member and a partner key with every scope.
"""

from __future__ import annotations

import os

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "25"))
CALLERS = ("coordinator", "ans", "partner_all")
# Valid-looking data can still be refused by the time bank's rules (an id that names nothing is a 404), so
# "positive data is accepted" is not a property of this API; everything else schemathesis checks is.
EXCLUDED = [checks.positive_data_acceptance]


def operations(app):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    results = list(schema.get_all_operations())
    unusable = [str(result.err()) for result in results if type(result).__name__ == "Err"]
    assert unusable == [], "operations schemathesis cannot read from the spec"
    return [result.ok() for result in results]


def test_every_operation_answers_as_its_spec_says(api_app, tokens, capsys):
    found = operations(api_app)
    assert len(found) >= 58
    calls = 0
    for operation in found:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def check(case):
            nonlocal calls
            for caller in CALLERS:
                case.call_and_validate(headers=tokens.headers(caller), excluded_checks=EXCLUDED)
                calls += 1

        check()
    with capsys.disabled():
        print(f"\nschemathesis: {len(found)} operations, {calls} calls")
