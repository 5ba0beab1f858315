"""Profile the batch endpoint in-process (no HTTP server): ``python -m bench.profile_batch [N] [--members M]``.

Builds a community on a fresh PostgreSQL database, then posts N batches of 500 transfers (``atomic: false``)
through the Flask test client under cProfile and prints where the time goes, and the SQL statements one batch
sends (counted by their first words)."""

from __future__ import annotations

import collections
import sys
import tempfile
import time
import uuid

import sqlalchemy as sa

from bench.common import postgresql_database, print_profile
from bench.posting import BATCH_SIZE, batch_plan
from bench.town import town_and_client


def _setting(name: str, default: int) -> int:
    arguments = sys.argv[1:]
    if name in arguments:
        return int(arguments[arguments.index(name) + 1])
    return default


def main() -> None:
    count = int(next((argument for argument in sys.argv[1:2] if argument.isdigit()), 10))
    with tempfile.TemporaryDirectory() as directory, postgresql_database("timebank_profile") as url:
        profile(url, directory, count, _setting("--members", 200))


def profile(url: str, directory: str, count: int, members: int) -> None:
    town, client = town_and_client(url, directory, members)
    plan = batch_plan(town, seed=1)

    def batch():
        _, path, token, body = plan(0)
        response = client.post(
            path, json=body, headers={"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex}
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()["posted_count"]

    for _ in range(2):
        batch()
    statements = []
    engine = client.application.extensions["timebank"].engine

    def before(connection, cursor, statement, parameters, context, executemany):
        context.profile_started = time.perf_counter()

    def after(connection, cursor, statement, parameters, context, executemany):
        statements.append((" ".join(statement.split())[:70], time.perf_counter() - context.profile_started))

    sa.event.listen(engine, "before_cursor_execute", before)
    sa.event.listen(engine, "after_cursor_execute", after)
    began = time.perf_counter()
    batch()
    elapsed = time.perf_counter() - began
    sa.event.remove(engine, "before_cursor_execute", before)
    sa.event.remove(engine, "after_cursor_execute", after)
    kinds = collections.Counter(text for text, _ in statements)
    spent = collections.Counter()
    for text, seconds in statements:
        spent[text] += seconds
    print(
        f"--- one batch of {BATCH_SIZE} sends {len(statements)} statements in {elapsed * 1000:.0f} ms; "
        f"{sum(spent.values()) * 1000:.0f} ms in the driver (count, ms, statement):"
    )
    for text, number in kinds.most_common(40):
        print(f"   {number:5d} {spent[text] * 1000:7.1f}  {text}")
    timings = []
    posted = 0
    for _ in range(count):
        began = time.perf_counter()
        posted += batch()
        timings.append(time.perf_counter() - began)
    timings.sort()
    print(
        f"--- {count} batches without profiler: median {timings[len(timings) // 2] * 1000:.0f} ms, "
        f"{posted / sum(timings):.0f} transfers/s"
    )
    print_profile(batch, count, "batches")
    engine.dispose()


if __name__ == "__main__":
    main()
