"""The web front's session: Flask's signed cookie, renewed at login and dead after logout.

A signed cookie is valid until it expires, so logging out alone cannot stop a copy of it. Each login therefore
gives the session a random id, and logging out puts that id in the database's list of revoked sessions
(``web_revoked_session``), which the session interface checks before it trusts a cookie. Every worker and every
restart sees the same list; the API, which reads the same session, sees an empty one too. A row may go once the
cookie that carries its id would have expired anyway.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import Flask, current_app, g, request, session
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy.orm import Session

from api.auth import SESSION_PASSWORD_KEY, SESSION_USER_KEY
from timebank import credentials
from timebank.database import Database
from timebank.models import RevokedSession

SESSION_ID_KEY = "session_id"
SESSION_ID_MAX_LENGTH = 64
SESSIONLESS_ENDPOINTS = frozenset({"web.health", "web.ready", "static"})


class RevokedSessions:
    """Ids of sessions that were ended, each kept until its cookie would have expired anyway."""

    def __init__(self, database: Database, *, lifetime_seconds: int, clock: Callable[[], float] = time.time):
        self._database = database
        self._lifetime = timedelta(seconds=lifetime_seconds)
        self.clock = clock

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def revoke(self, session_id: str) -> None:
        """From now on, a cookie carrying ``session_id`` opens an empty session (in every worker)."""
        self._database.run(_revoke, session_id=session_id, now=self._now(), lifetime=self._lifetime)

    def __contains__(self, session_id: object) -> bool:
        if not isinstance(session_id, str) or not 0 < len(session_id) <= SESSION_ID_MAX_LENGTH:
            return False
        return self._database.read(_is_revoked, session_id=session_id, now=self._now())

    def __len__(self) -> int:
        return self._database.read(
            lambda *, session: session.scalar(sa.select(sa.func.count(RevokedSession.session_id)))
        )


def _revoke(*, session: Session, session_id: str, now: datetime, lifetime: timedelta) -> None:
    session.execute(sa.delete(RevokedSession).where(RevokedSession.expires_at <= now))
    row = session.get(RevokedSession, session_id)
    if row is None:
        session.add(RevokedSession(session_id=session_id, expires_at=now + lifetime))
    else:
        row.expires_at = now + lifetime
    session.commit()


def _is_revoked(*, session: Session, session_id: str, now: datetime) -> bool:
    expires_at = session.scalar(sa.select(RevokedSession.expires_at).where(RevokedSession.session_id == session_id))
    return expires_at is not None and expires_at > now


class RevocableSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, except that a revoked session opens empty (and its cookie is removed)."""

    def __init__(self, revoked: RevokedSessions):
        self.revoked = revoked

    def open_session(self, app: Flask, request):
        opened = super().open_session(app, request)
        try:
            revoked = opened is not None and SESSION_ID_KEY in opened and opened.get(SESSION_ID_KEY) in self.revoked
        except (sa.exc.OperationalError, sa.exc.InterfaceError) as error:
            # The database is down. Flask opens the session before it dispatches, where an error would become a
            # bare 500; keep the error for ``raise_session_error`` to raise as the request's first step (a 503).
            # Until then the request has an empty session that is never saved: the cookie stays as it was.
            g.session_database_error = error
            return self.session_class()
        if revoked:
            opened = self.session_class()
            opened.modified = True  # an empty, modified session deletes the cookie in the answer
        return opened

    def save_session(self, app: Flask, session, response) -> None:
        if "session_database_error" in g:
            return  # not the session the cookie holds (an error page's CSRF token must not replace a login)
        super().save_session(app, session, response)


def raise_session_error() -> None:
    """Run before every other step of a request: the database error met while opening its session, if any
    (except for the views that never read the session: the health checks report the database themselves)."""
    error = g.get("session_database_error")
    if error is not None and request.endpoint not in SESSIONLESS_ENDPOINTS:
        raise error


def start_session(*, user_id: int, revoked: RevokedSessions) -> None:
    """Sign ``user_id`` in with a new session: nothing of the old one survives, the CSRF token included."""
    previous = session.get(SESSION_ID_KEY)
    if previous is not None:
        revoked.revoke(previous)
    session.clear()
    g.pop("csrf_token", None)  # Flask-WTF keeps this request's token here; the next form must get a new one
    session[SESSION_ID_KEY] = secrets.token_urlsafe(24)
    session[SESSION_USER_KEY] = user_id
    # The password it began with (a digest of its hash): changing the password ends this session.
    database = current_app.extensions["timebank"].database
    session[SESSION_PASSWORD_KEY] = database.read(credentials.session_fingerprint, user_id=user_id)
    session.permanent = True  # expires after SESSION_LIFETIME_MINUTES, checked from the signed timestamp


def end_session(*, revoked: RevokedSessions) -> None:
    """Sign out: this session's cookie, and any copy of it, no longer signs anyone in."""
    previous = session.get(SESSION_ID_KEY)
    if previous is not None:
        revoked.revoke(previous)
    session.clear()
    g.pop("csrf_token", None)
