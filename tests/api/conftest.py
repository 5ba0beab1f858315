"""Fixtures for the API's tests: the app on the session's database (SQLite and PostgreSQL), a world of people
with personal tokens, and partner keys with and without each scope."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from tests.world import World, build_world
from timebank import credentials
from timebank.app import create_app
from timebank.credentials import SCOPES


@pytest.fixture(scope="session")
def api_app(database_url, tmp_path_factory):
    app = create_app(
        {
            "ENV": "testing",
            "TESTING": True,
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": str(tmp_path_factory.mktemp("instance")),
        }
    )
    yield app
    app.extensions["timebank"].engine.dispose()


@pytest.fixture
def client(api_app):
    return api_app.test_client()


@dataclass
class Tokens:
    """Bearer headers for everyone in a world: ``tokens.headers("ans")``; partner keys by scope."""

    world: World
    people: dict[str, str] = field(default_factory=dict)
    partner_all: str = ""
    partner_none: str = ""
    partner_by_scope: dict[str, str] = field(default_factory=dict)

    def headers(self, who: str, **extra) -> dict:
        token = {"partner_all": self.partner_all, "partner_none": self.partner_none}.get(who) or self.people[who]
        return {"Authorization": f"Bearer {token}", **extra}

    def partner(self, scope: str, **extra) -> dict:
        return {"Authorization": f"Bearer {self.partner_by_scope[scope]}", **extra}


def issue_tokens(world: World) -> Tokens:
    """Every token and key, issued in one transaction (each in a savepoint of it): one commit instead of 14."""
    with world.db.transaction() as db:
        return _issue_tokens(world, db)


def _issue_tokens(world: World, db) -> Tokens:
    tokens = Tokens(world=world)
    for name in ("admin", "coordinator", "officer", "ans", "bert", "cor"):
        person = getattr(world, name)
        tokens.people[name] = db.run(credentials.create_personal_token, actor=person.actor, name="test").secret
    coordinator = world.coordinator.actor

    def key(scopes):
        return db.run(
            credentials.create_partner_key,
            actor=coordinator,
            community_id=world.community_id,
            name="partner",
            scopes=scopes,
        ).secret

    tokens.partner_all = key(list(SCOPES))
    # A key with one scope that no route asks for among those tested, i.e. "without the scope".
    tokens.partner_none = key(["members:read"]) if "members:read" in SCOPES else key([SCOPES[0]])
    tokens.partner_by_scope = {scope: key([scope]) for scope in SCOPES}
    return tokens


@pytest.fixture
def world(db):
    return build_world(db)


@pytest.fixture
def tokens(world) -> Tokens:
    return issue_tokens(world)


@pytest.fixture
def other_tokens(other_world) -> Tokens:
    return issue_tokens(other_world)
