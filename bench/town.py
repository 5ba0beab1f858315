"""A community of many members built through the use cases (as a community centre would), with a personal API
token for every member, plus a coordinator's token for the batch endpoint: the system tests' town
(tests/system/load.py), bigger."""

from __future__ import annotations

import random
import time

import ledger
from bench.common import say
from tests.system import load
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
