"""Who is signed in to the web front, looked up once per request, with the communities they belong to."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app, g, session
from sqlalchemy.orm import Session

from api.auth import SESSION_PASSWORD_KEY, SESSION_USER_KEY
from timebank import credentials, members
from timebank.models import Community, Membership, User


@dataclass(frozen=True)
class Belonging:
    """One of the signed-in person's memberships, with its community."""

    membership: Membership
    community: Community


@dataclass(frozen=True)
class Person:
    """The signed-in person: their account and settings, and every membership (any status), oldest first."""

    user: User
    memberships: list[Belonging]

    def in_community(self, slug: str) -> Belonging | None:
        return next((b for b in self.memberships if b.community.slug == slug), None)


def signed_in_person() -> Person | None:
    """The signed-in person, or None for a visitor (or someone erased or logged out since)."""
    if "signed_in_person" not in g:
        user_id = session.get(SESSION_USER_KEY)
        person = None
        if user_id is not None:
            person = current_app.extensions["timebank"].database.read(
                _person, user_id=user_id, password_fingerprint=session.get(SESSION_PASSWORD_KEY)
            )
        g.signed_in_person = person
    return g.signed_in_person


def forget_signed_in_person() -> None:
    """After a change to the person (login, settings), look them up again."""
    g.pop("signed_in_person", None)


def _person(*, session: Session, user_id, password_fingerprint) -> Person | None:
    caller = credentials.authenticate_session_user(
        session=session, user_id=user_id, password_fingerprint=password_fingerprint
    )
    if caller is None:
        return None
    own = members.own_settings(session=session, actor=caller.actor)
    ids = [m.community_id for m in own.memberships]
    by_id = {c.id: c for c in session.execute(sa.select(Community).where(Community.id.in_(ids))).scalars()}
    return Person(user=own.user, memberships=[Belonging(m, by_id[m.community_id]) for m in own.memberships])


__all__ = ["Belonging", "Person", "User", "forget_signed_in_person", "signed_in_person"]
