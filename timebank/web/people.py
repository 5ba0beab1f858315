"""Who is signed in to the web front, looked up once per request."""

from __future__ import annotations

from flask import current_app, g, session
from sqlalchemy.orm import Session

from api.auth import SESSION_USER_KEY
from timebank import credentials, members
from timebank.members import OwnSettings


def signed_in_person() -> OwnSettings | None:
    """The signed-in person's settings and memberships, or None for a visitor (or someone erased since)."""
    if "signed_in_person" not in g:
        user_id = session.get(SESSION_USER_KEY)
        person = None
        if user_id is not None:
            person = current_app.extensions["timebank"].database.read(_settings_of, user_id=user_id)
        g.signed_in_person = person
    return g.signed_in_person


def _settings_of(*, session: Session, user_id) -> OwnSettings | None:
    caller = credentials.authenticate_session_user(session=session, user_id=user_id)
    return None if caller is None else members.own_settings(session=session, actor=caller.actor)
