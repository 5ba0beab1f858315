"""A small community to test use cases in: an administrator, a coordinator, a safeguarding officer, members,
categories (one involving children), and a second community next door.

Users are inserted with one shared password hash (hashing with argon2 for every test would make the suite
crawl); ``PASSWORD`` logs any of them in.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache

from sqlalchemy.orm import Session

from timebank import communities, members, passwords
from timebank.access import Actor
from timebank.communities import CategorySpec
from timebank.database import Database
from timebank.models import Community, Membership, User

PASSWORD = "correct horse battery staple"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CATEGORIES = [
    CategorySpec("oppassen", "Babysitting", "Oppassen", involves_children=True),
    CategorySpec("boodschappen", "Errands", "Boodschappen"),
    CategorySpec("huiswerk", "Homework help", "Huiswerkbegeleiding", involves_children=True),
    CategorySpec("klussen", "Odd jobs", "Klussen"),
    CategorySpec("vervoer", "Transport", "Vervoer"),
]


@cache
def password_hash() -> str:
    return passwords.hash_password(PASSWORD)


@dataclass
class Person:
    user: User
    membership: Membership | None = None

    @property
    def actor(self) -> Actor:
        return Actor.for_user(self.user)

    @property
    def id(self) -> int:
        """The membership id, which is what most use cases take."""
        return self.membership.id

    @property
    def account_id(self) -> int:
        return self.membership.account_id


@dataclass
class World:
    db: Database
    community: Community
    admin: Person
    coordinator: Person
    officer: Person
    ans: Person
    bert: Person
    cor: Person
    categories: dict[str, int] = field(default_factory=dict)

    @property
    def community_id(self) -> int:
        return self.community.id


def add_user(db: Database, *, email: str | None = None, administrator: bool = False, language: str = "nl") -> User:
    def create(*, session: Session) -> User:
        user = User(
            email=email or f"{uuid.uuid4().hex[:10]}@example.org",
            password_hash=password_hash(),
            preferred_language=language,
            is_administrator=administrator,
            created_at=START,
        )
        session.add(user)
        session.commit()
        return user

    return db.run(create)


def join(
    db: Database,
    world_admin: Actor,
    community_id: int,
    name: str,
    *,
    role: str | None = None,
    officer: bool = False,
    neighbourhood: str = "Oosterpark",
) -> Person:
    """A new user, applied and approved (by the administrator), with an optional role."""
    user = add_user(db)
    person = Person(user=user)
    membership = db.run(
        members.apply_to_join,
        actor=person.actor,
        community_id=community_id,
        display_name=name,
        neighbourhood=neighbourhood,
        now=START,
    )
    membership = db.run(members.approve_member, actor=world_admin, membership_id=membership.id, now=START)
    if role or officer:
        membership = db.run(
            members.set_role,
            actor=world_admin,
            membership_id=membership.id,
            role=role,
            safeguarding_officer=officer or None,
            now=START,
        )
    person.membership = membership
    return person


def build_world(db: Database, *, welcome_credit_minutes: int = 120) -> World:
    """The world, made by the use cases a person would use, all in one transaction (each in a savepoint of it):
    one commit instead of twenty."""
    with db.transaction() as making:
        world = _make_world(making, welcome_credit_minutes=welcome_credit_minutes)
    world.db = db
    return world


def _make_world(db: Database, *, welcome_credit_minutes: int) -> World:
    admin = Person(user=add_user(db, administrator=True))
    community = db.run(
        communities.create_community,
        actor=admin.actor,
        slug=f"buurt-{uuid.uuid4().hex[:8]}",
        name="Buurtbank Test",
        categories=CATEGORIES,
        default_floor_minutes=-600,
        default_ceiling_minutes=2400,
        welcome_credit_minutes=welcome_credit_minutes,
        auto_confirm_days=7,
        now=START,
    )
    people = {
        "coordinator": join(db, admin.actor, community.id, "Carla Coördinator", role="coordinator"),
        "officer": join(db, admin.actor, community.id, "Olga Veilig", officer=True),
        "ans": join(db, admin.actor, community.id, "Ans de Vries"),
        "bert": join(db, admin.actor, community.id, "Bert Jansen", neighbourhood="Dapperbuurt"),
        "cor": join(db, admin.actor, community.id, "Cor Bakker"),
    }
    category_ids = {
        category.slug: category.id for category in db.read(communities.categories, community_id=community.id)
    }
    return World(db=db, community=community, admin=admin, categories=category_ids, **people)
