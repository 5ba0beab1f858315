"""A community of many members built through the use cases (as a community centre would), with a personal API
token for every member, plus a coordinator's token for the batch endpoint: the system tests' town
(tests/system/load.py), bigger."""

from __future__ import annotations

import random
import secrets
import time

import ledger
from bench.common import say
from tests.system import load
from timebank import schema
from timebank.app import create_app
from timebank.database import Database

FLOOR, CEILING, WELCOME = -600, 1200, 60


class Town(load.Town):
    def pairs(self, rng: random.Random):
        """Random (payer, payee) pairs of two different members, for ever."""
        while True:
            payer, payee = rng.sample(self.members, 2)
            yield payer, payee


def build_town(url: str, size: int) -> Town:
    started = time.perf_counter()
    engine = ledger.create_engine(url)
    try:
        built = load.build_town(
            Database(engine),
            size,
            floor=FLOOR,
            ceiling=CEILING,
            welcome=WELCOME,
            progress=lambda number: say(f"town: {number} of {size} members"),
        )
        say(f"town of {size} members built in {time.perf_counter() - started:.1f} s")
        return Town(built.community_id, built.ledger_id, built.coordinator, built.members)
    finally:
        engine.dispose()


def town_and_client(url: str, directory: str, size: int):
    """For the profiling scripts: a town of ``size`` members in a new database at ``url`` (migrated here), and a
    Flask test client of the app in production mode on it (``client.application``: the app)."""
    schema.upgrade(url)
    town = build_town(url, size)
    app = create_app(
        {"ENV": "production", "SECRET_KEY": secrets.token_urlsafe(48), "DATABASE_URL": url, "INSTANCE_PATH": directory}
    )
    return town, app.test_client()
