"""The bank test over HTTP: real gunicorn with several workers, 32 concurrent clients, thousands of random payments,
claims, confirmations, reversals and balance reads through the public API; then the books are audited against
everything the clients were told (see ``tests.system.load.audit``) and ``timebank verify`` runs.

Sizes: ``SYSTEM_BANK_REQUESTS`` requests on PostgreSQL (default 1500) and ``SYSTEM_BANK_REQUESTS_SQLITE`` on SQLite
(default 1000); ``SYSTEM_BANK_WORKERS`` gunicorn workers (default 4); ``SYSTEM_BANK_SEED`` repeats a run's choices.
"""

from __future__ import annotations

import json
import os

import pytest

from tests.conftest import DATABASE_KINDS, UNDER_LOAD
from tests.system.load import Load, audit, build_bank, environment_number
from tests.system.servers import running_gunicorn, system_database

CLIENTS = 32

pytestmark = [pytest.mark.slow, UNDER_LOAD]


def requests_for(kind: str) -> int:
    if kind == "sqlite":
        return environment_number("SYSTEM_BANK_REQUESTS_SQLITE", 1000)
    return environment_number("SYSTEM_BANK_REQUESTS", 1500)


def seed() -> int | None:
    value = os.environ.get("SYSTEM_BANK_SEED")
    return int(value) if value else None


@pytest.mark.parametrize("kind", DATABASE_KINDS)
def test_money_holds_under_concurrent_load_over_http(kind, tmp_path, request):
    with system_database(kind, tmp_path) as url:
        bank = build_bank(url)
        with running_gunicorn(url, tmp_path, workers=environment_number("SYSTEM_BANK_WORKERS", 4)) as server:
            load = Load(server.url, bank, requests=requests_for(kind), clients=CLIENTS, seed=seed())
            load.run()
        figures = load.figures()
        print(f"\nbank test on {kind} (seed {load.seed}): {json.dumps(figures, indent=1)}")
        assert figures["requests"] == requests_for(kind), load.failures
        # Without faults every request is answered the first time, except those whose client hung up at once; the
        # retry of such a one mostly finds it applied already, and gets its answer.
        assert figures["requests_unanswered_at_first"] == figures["writes_abandoned_at_first"], figures
        assert figures["unanswered_attempts"] == figures["writes_abandoned_at_first"], figures
        assert figures["answered_by_replay_after_retry"] > 0 or not figures["writes_abandoned_at_first"], figures
        outcomes = figures["outcomes"]
        for operation in ("pay 201", "claim 201", "confirm 200", "reverse 201", "balance 200"):
            assert outcomes.get(operation), f"no {operation} in {outcomes}: the load must exercise every operation"
        assert figures["writes_refused"], "some writes must be refused by a balance rule, to check they left no trace"
        audited = audit(url, bank, load)
        print(f"audit: {json.dumps(audited)}")
        request.node.user_properties.append((request.node.name, figures | audited))
