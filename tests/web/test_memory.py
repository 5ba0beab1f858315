"""The in-memory login counters and ended sessions: right answers, and bounded."""

from __future__ import annotations

import pytest

from timebank.web.sessions import RevokedSessions
from timebank.web.throttle import LoginThrottle


class FakeClock:
    def __init__(self):
        self.now = 5_000.0

    def __call__(self) -> float:
        return self.now


def test_the_throttle_waits_until_the_oldest_failure_leaves_the_window():
    clock = FakeClock()
    throttle = LoginThrottle(failures_per_email=2, failures_per_address=10, window_seconds=60, clock=clock)
    throttle.record_failure(email="a@example.org", address="198.51.100.1")
    clock.now += 10
    throttle.record_failure(email="a@example.org", address="198.51.100.1")
    assert throttle.retry_after_seconds(email="a@example.org", address="198.51.100.1") == 50
    assert throttle.retry_after_seconds(email="b@example.org", address="198.51.100.1") is None
    clock.now += 50
    assert throttle.retry_after_seconds(email="a@example.org", address="198.51.100.1") is None


def test_the_throttle_remembers_a_bounded_number_of_emails_and_addresses():
    clock = FakeClock()
    throttle = LoginThrottle(failures_per_email=1, failures_per_address=100, capacity=10, clock=clock)
    for number in range(50):
        throttle.record_failure(email=f"{number}@example.org", address="198.51.100.1")
    assert len(throttle) <= 10
    assert throttle.retry_after_seconds(email="49@example.org", address="203.0.113.1") is not None


def test_the_throttle_refuses_limits_that_are_not_positive():
    with pytest.raises(ValueError):
        LoginThrottle(failures_per_email=0)


def test_an_ended_session_stays_revoked_until_its_cookie_would_have_expired():
    clock = FakeClock()
    revoked = RevokedSessions(lifetime_seconds=100, clock=clock)
    revoked.revoke("first")
    assert "first" in revoked and "second" not in revoked and None not in revoked
    clock.now += 100
    assert "first" not in revoked
    revoked.revoke("second")
    assert len(revoked) == 1, "expired entries are dropped"


def test_the_ended_sessions_are_bounded():
    revoked = RevokedSessions(lifetime_seconds=100, capacity=5, clock=FakeClock())
    for number in range(20):
        revoked.revoke(f"session-{number}")
    assert len(revoked) == 5 and "session-19" in revoked
