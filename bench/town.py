"""A community of many members built through the use cases (as a community centre would), with a personal API
token for every member, plus a coordinator's token for the batch endpoint."""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass

import ledger
from bench.common import say
from tests.world import add_user, join
from timebank import communities, credentials
from timebank.access import Actor
from timebank.database import Database

FLOOR, CEILING, WELCOME = -600, 1200, 60


@dataclass(frozen=True)
class Member:
    membership_id: int
    account_id: int
    token: str


@dataclass
class Town:
    community_id: int
    ledger_id: int
    coordinator: Member
    members: list[Member]

    def pairs(self, rng: random.Random):
        """Random (payer, payee) pairs of two different members, for ever."""
        while True:
            payer, payee = rng.sample(self.members, 2)
            yield payer, payee


def build_town(url: str, size: int) -> Town:
    started = time.perf_counter()
    engine = ledger.create_engine(url)
    try:
        db = Database(engine)
        admin = Actor.for_user(add_user(db, administrator=True))
        community = db.run(
            communities.create_community,
            actor=admin,
            slug=f"bench-{uuid.uuid4().hex[:8]}",
            name="Buurtbank Benchmark",
            default_floor_minutes=FLOOR,
            default_ceiling_minutes=CEILING,
            welcome_credit_minutes=WELCOME,
            auto_confirm_days=7,
        )

        def person(name: str, role: str | None = None) -> Member:
            joined = join(db, admin, community.id, name, role=role)
            issued = db.run(credentials.create_personal_token, actor=joined.actor, name="benchmark")
            return Member(joined.id, joined.account_id, issued.secret)

        coordinator = person("Carla Coördinator", role="coordinator")
        members = []
        for number in range(1, size + 1):
            members.append(person(f"Lid {number}"))
            if number % 250 == 0:
                say(f"town: {number} of {size} members")
        say(f"town of {size} members built in {time.perf_counter() - started:.1f} s")
        return Town(community.id, community.ledger_id, coordinator, members)
    finally:
        engine.dispose()
