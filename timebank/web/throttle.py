"""Login throttling: a few failed attempts per email and per address, then 429 with Retry-After. The API counts
wrong bearer tokens per address here too (kind "bearer", api/auth.py).

The failures are rows in the database (``web_login_failure``), so every worker counts the same attempts and a
restart forgets nothing. Rows older than the window are deleted whenever a new failure is recorded; a refused
attempt (429) records nothing, so an email or address never has more rows than its limit within the window.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from timebank.database import Database
from timebank.models import LoginFailure

FAILURES_PER_EMAIL = 5
FAILURES_PER_ADDRESS = 20
FAILED_TOKENS_PER_ADDRESS = 20
BEARER = "bearer"
WINDOW_SECONDS = 15 * 60
KEY_MAX_LENGTH = 254


class LoginThrottle:
    """Counts failed logins per email and per address within a sliding window, for every worker alike."""

    def __init__(
        self,
        database: Database,
        *,
        failures_per_email: int = FAILURES_PER_EMAIL,
        failures_per_address: int = FAILURES_PER_ADDRESS,
        failed_tokens_per_address: int = FAILED_TOKENS_PER_ADDRESS,
        window_seconds: int = WINDOW_SECONDS,
        clock: Callable[[], float] = time.time,
    ):
        if min(failures_per_email, failures_per_address, failed_tokens_per_address, window_seconds) < 1:
            raise ValueError("login throttle limits must be positive")
        self._database = database
        self._limits = {"email": failures_per_email, "address": failures_per_address, BEARER: failed_tokens_per_address}
        self._window = timedelta(seconds=window_seconds)
        self.clock = clock

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def retry_after_seconds(self, *, email: str, address: str) -> int | None:
        """Whole seconds until a login for ``email`` from ``address`` may be tried again, or None: go ahead."""
        waits = [self.wait_seconds(kind, key) for kind, key in (("email", email), ("address", address))]
        return max((wait for wait in waits if wait is not None), default=None)

    def wait_seconds(self, kind: str, key: str) -> int | None:
        """Whole seconds until ``key`` (an email, an address) may try again after its failures of ``kind``."""
        return self._database.read(self.wait_seconds_in, kind=kind, key=key)

    def wait_seconds_in(self, *, session: Session, kind: str, key: str) -> int | None:
        """``wait_seconds`` as part of a read the caller runs (one transaction with what else it reads)."""
        now = self._now()
        recent = _recent_failures(
            session=session, kind=kind, key=_key(key), since=now - self._window, limit=self._limits[kind]
        )
        if len(recent) < self._limits[kind]:
            return None
        return max(1, math.ceil((recent[0] + self._window - now).total_seconds()))

    def record_failure(self, *, email: str, address: str) -> None:
        """Count a failed login against the email and against the address."""
        self._database.run(
            _record_failure,
            keys=[("email", _key(email)), ("address", _key(address))],
            now=self._now(),
            window=self._window,
        )

    def record(self, kind: str, key: str) -> None:
        """Count one failure of ``kind`` (e.g. ``BEARER``: a wrong API token) against ``key`` alone."""
        if kind not in self._limits:
            raise ValueError(f"unknown kind of failure: {kind}")
        self._database.run(_record_failure, keys=[(kind, _key(key))], now=self._now(), window=self._window)

    def forget_email(self, email: str) -> None:
        """A successful login clears the email's count (never the address's)."""
        self._database.run(_forget, kind="email", key=_key(email))

    def __len__(self) -> int:
        """How many failures are kept (old ones included until the next failure clears them)."""
        return self._database.read(lambda *, session: session.scalar(sa.select(sa.func.count(LoginFailure.id))))


def _key(value: str) -> str:
    return value[:KEY_MAX_LENGTH]


# Built once: every API request with a token runs it.
_RECENT_FAILURES = (
    sa.select(LoginFailure.at)
    .where(
        LoginFailure.kind == sa.bindparam("b_kind"),
        LoginFailure.key == sa.bindparam("b_key"),
        LoginFailure.at > sa.bindparam("b_since"),
    )
    .order_by(LoginFailure.at.desc())
    .limit(sa.bindparam("b_limit"))
)


def _recent_failures(*, session: Session, kind: str, key: str, since: datetime, limit: int) -> list[datetime]:
    """The latest ``limit`` failures after ``since``, oldest first."""
    parameters = {"b_kind": kind, "b_key": key, "b_since": since, "b_limit": limit}
    return sorted(session.scalars(_RECENT_FAILURES, parameters).all())


def _record_failure(*, session: Session, keys: list[tuple[str, str]], now: datetime, window: timedelta) -> None:
    session.execute(sa.delete(LoginFailure).where(LoginFailure.at <= now - window))
    session.add_all(LoginFailure(kind=kind, key=key, at=now) for kind, key in keys)
    session.commit()


def _forget(*, session: Session, kind: str, key: str) -> None:
    session.execute(sa.delete(LoginFailure).where(LoginFailure.kind == kind, LoginFailure.key == key))
    session.commit()
