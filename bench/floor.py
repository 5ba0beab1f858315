"""The floor of the posting benchmarks: ``post_pg`` and ``post_sqlite`` with the app replaced by the lightest server
that does the same job (bench/floor_app.py: a bare WSGI app making the real payment's reads and writes in one
transaction, in 3 round trips on PostgreSQL), under the same gunicorn configuration, clients, members, seconds,
workers and baselines (measured in the same run). What the app could reach on this machine if it cost nothing:
the distance between ``post_pg`` and ``post_pg_floor`` is the app's own cost, the rest is the database's and the
machine's. Each result says where the CPU went, as the posting benchmarks do (``app`` is the floor's server).

- ``post_pg_floor``: on the town of ``post_pg``'s stage (bench/posting.py ``postgresql_stage``), a second
  gunicorn serving the floor; baseline pgbench tpcb-like (8 clients) before and after, and 1 client.
- ``post_sqlite_floor``: on the town of ``post_sqlite``'s stage (``sqlite_stage``); baseline the plain sqlite3 loop
  (``SqliteLoop``) before and after.
- ``post_pg_flask_floor``, ``post_sqlite_flask_floor``: the same with bench/floor_flask.py, the same SQL behind
  Flask, a flask-smorest route, marshmallow schemas and the request's log line: what the leanest route written in
  the brief's stack reaches.

``FLOOR_CHAIN=sql`` in the environment runs ``post_pg_floor`` (and ``post_pg_flask_floor``) on bench/floor_app.py's
variant that advances and hashes the chain in the database (2 round trips, none while the ledger's row is locked):
what the chain's lock costs when no client round trip happens under it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from bench.common import Result, say
from bench.posting import postgresql_payments, postgresql_stage, sqlite_payments, workers
from tests.system.servers import running_gunicorn

FLOOR_APP = "bench.floor_app:app"
TARGET = "reference: the lightest server making the same writes (no target)"


def _pg_round_trips() -> int:
    """bench/floor_app.py's round trips to PostgreSQL for one payment: (read), (claim, chain, balances), (writes,
    commit); with the chain in the database, (read, claim), (lock, writes, commit)."""
    return 2 if os.environ.get("FLOOR_CHAIN") == "sql" else 3


def _pg_payments(name: str, app: str, *, seed: int, target: str) -> Result:
    """``name``: the payments of ``post_pg`` served by ``app`` (a second gunicorn on the stage's town)."""
    stage = postgresql_stage()
    with tempfile.TemporaryDirectory(prefix="timebank-floor-") as directory:
        say(f"gunicorn: {workers()} workers serving {app} on PostgreSQL")
        with running_gunicorn(stage.url, Path(directory), workers=workers(), app=app) as server:
            return postgresql_payments(
                name,
                server,
                seed=seed,
                target=target,
                round_trips_per_payment=_pg_round_trips(),
                chain="database" if _pg_round_trips() == 2 else "client",
            )


def post_pg_floor() -> Result:
    return _pg_payments("post_pg_floor", FLOOR_APP, seed=5, target=TARGET)


def post_sqlite_floor() -> Result:
    return sqlite_payments("post_sqlite_floor", app=FLOOR_APP, seed=6, target=TARGET)


# The floor in the brief's stack (bench/floor_flask.py): Flask, a flask-smorest route, marshmallow loading the body
# and dumping the answer, the request's JSON log line, and the same hand-written SQL as the bare floor: what the
# leanest route written with the brief's stack reaches.
FLASK_FLOOR_APP = "bench.floor_flask:app"
FLASK_TARGET = "reference: the leanest route in the brief's stack (no target)"


def post_pg_flask_floor() -> Result:
    return _pg_payments("post_pg_flask_floor", FLASK_FLOOR_APP, seed=7, target=FLASK_TARGET)


def post_sqlite_flask_floor() -> Result:
    return sqlite_payments("post_sqlite_flask_floor", app=FLASK_FLOOR_APP, seed=8, target=FLASK_TARGET)
