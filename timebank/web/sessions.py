"""The web front's session: Flask's signed cookie, renewed at login and dead after logout.

A signed cookie is valid until it expires, so logging out alone cannot stop a copy of it. Each login therefore
gives the session a random id, and logging out puts that id on a list of revoked sessions that the session
interface checks before it trusts a cookie (the API, which reads the same session, sees an empty one too).
The list lives in this process's memory, bounded, and entries leave it when a cookie that carries them would
have expired anyway. With several workers each keeps its own list: moving it to the database is the next step.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from flask import Flask, g, session
from flask.sessions import SecureCookieSessionInterface

from api.auth import SESSION_USER_KEY

SESSION_ID_KEY = "session_id"
CAPACITY = 100_000


class RevokedSessions:
    """Ids of sessions that were ended, each kept until its cookie would have expired anyway."""

    def __init__(self, *, lifetime_seconds: int, capacity: int = CAPACITY, clock: Callable[[], float] = time.monotonic):
        self._lifetime_seconds = lifetime_seconds
        self._capacity = capacity
        self._expiry_by_id: dict[str, float] = {}
        self.clock = clock

    def revoke(self, session_id: str) -> None:
        """From now on, a cookie carrying ``session_id`` opens an empty session."""
        now = self.clock()
        # Insertion order is expiry order: drop expired entries from the front.
        while self._expiry_by_id and next(iter(self._expiry_by_id.values())) <= now:
            del self._expiry_by_id[next(iter(self._expiry_by_id))]
        while len(self._expiry_by_id) >= self._capacity:
            del self._expiry_by_id[next(iter(self._expiry_by_id))]
        self._expiry_by_id[session_id] = now + self._lifetime_seconds

    def __contains__(self, session_id: object) -> bool:
        expiry = self._expiry_by_id.get(session_id) if isinstance(session_id, str) else None
        return expiry is not None and expiry > self.clock()

    def __len__(self) -> int:
        return len(self._expiry_by_id)


class RevocableSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, except that a revoked session opens empty (and its cookie is removed)."""

    def __init__(self, revoked: RevokedSessions):
        self.revoked = revoked

    def open_session(self, app: Flask, request):
        opened = super().open_session(app, request)
        if opened is not None and opened.get(SESSION_ID_KEY) in self.revoked:
            opened = self.session_class()
            opened.modified = True  # an empty, modified session deletes the cookie in the answer
        return opened


def start_session(*, user_id: int, revoked: RevokedSessions) -> None:
    """Sign ``user_id`` in with a new session: nothing of the old one survives, the CSRF token included."""
    previous = session.get(SESSION_ID_KEY)
    if previous is not None:
        revoked.revoke(previous)
    session.clear()
    g.pop("csrf_token", None)  # Flask-WTF keeps this request's token here; the next form must get a new one
    session[SESSION_ID_KEY] = secrets.token_urlsafe(24)
    session[SESSION_USER_KEY] = user_id
    session.permanent = True  # expires after SESSION_LIFETIME_MINUTES, checked from the signed timestamp


def end_session(*, revoked: RevokedSessions) -> None:
    """Sign out: this session's cookie, and any copy of it, no longer signs anyone in."""
    previous = session.get(SESSION_ID_KEY)
    if previous is not None:
        revoked.revoke(previous)
    session.clear()
    g.pop("csrf_token", None)
