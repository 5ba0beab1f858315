"""The login counters and ended sessions live in the database: right answers, shared by every worker (every app
on the same database), and old rows deleted."""

from __future__ import annotations

import pytest

from tests.web.conftest import log_in, log_out, session_cookie
from tests.world import PASSWORD
from timebank import members
from timebank.web.sessions import RevokedSessions
from timebank.web.throttle import LoginThrottle


class FakeClock:
    def __init__(self):
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def database(web_app):
    return web_app.extensions["timebank"].database


def test_the_throttle_waits_until_the_oldest_failure_leaves_the_window(database):
    clock = FakeClock()
    throttle = LoginThrottle(database, failures_per_email=2, failures_per_address=10, window_seconds=60, clock=clock)
    throttle.record_failure(email="a@example.org", address="198.51.100.1")
    clock.now += 10
    throttle.record_failure(email="a@example.org", address="198.51.100.1")
    assert throttle.retry_after_seconds(email="a@example.org", address="198.51.100.1") == 50
    assert throttle.retry_after_seconds(email="b@example.org", address="198.51.100.1") is None
    clock.now += 50
    assert throttle.retry_after_seconds(email="a@example.org", address="198.51.100.1") is None


def test_two_workers_count_the_same_failures(database):
    clock = FakeClock()
    first, second = (
        LoginThrottle(database, failures_per_email=3, failures_per_address=100, clock=clock) for _ in range(2)
    )
    first.record_failure(email="a@example.org", address="198.51.100.1")
    second.record_failure(email="a@example.org", address="198.51.100.2")
    assert first.retry_after_seconds(email="a@example.org", address="198.51.100.3") is None
    first.record_failure(email="a@example.org", address="198.51.100.3")
    assert second.retry_after_seconds(email="a@example.org", address="198.51.100.4") is not None
    second.forget_email("a@example.org")
    assert first.retry_after_seconds(email="a@example.org", address="198.51.100.4") is None


def test_failures_older_than_the_window_are_deleted_when_a_new_one_comes(database):
    clock = FakeClock()
    throttle = LoginThrottle(database, failures_per_email=1, failures_per_address=100, window_seconds=60, clock=clock)
    for number in range(50):
        throttle.record_failure(email=f"{number}@example.org", address="198.51.100.1")
    assert len(throttle) == 100
    assert throttle.retry_after_seconds(email="49@example.org", address="203.0.113.1") is not None
    clock.now += 61
    throttle.record_failure(email="late@example.org", address="198.51.100.1")
    assert len(throttle) == 2


def test_the_throttle_refuses_limits_that_are_not_positive(database):
    with pytest.raises(ValueError):
        LoginThrottle(database, failures_per_email=0)


def test_an_ended_session_stays_revoked_until_its_cookie_would_have_expired(database):
    clock = FakeClock()
    revoked = RevokedSessions(database, lifetime_seconds=100, clock=clock)
    revoked.revoke("first")
    assert "first" in revoked and "second" not in revoked and None not in revoked and "x" * 65 not in revoked
    clock.now += 100
    assert "first" not in revoked
    revoked.revoke("second")
    assert len(revoked) == 1, "expired rows are deleted"


def test_a_logout_in_one_worker_ends_the_session_in_another(make_app, world):
    first_worker, second_worker = make_app(), make_app()
    browser = first_worker.test_client()
    log_in(browser, world.ans.user.email)
    cookie = session_cookie(browser, first_worker)
    other = second_worker.test_client()
    other.set_cookie(second_worker.config["SESSION_COOKIE_NAME"], cookie)
    assert "Uitloggen" in other.get("/").get_data(as_text=True), "the other worker trusts the cookie"
    log_out(browser)
    stolen = second_worker.test_client()
    stolen.set_cookie(second_worker.config["SESSION_COOKIE_NAME"], cookie)
    assert "Uitloggen" not in stolen.get("/").get_data(as_text=True), "after logout no worker trusts a copy"


def test_the_login_throttle_holds_across_workers(make_app, world):
    first_worker, second_worker = make_app(), make_app()
    for attempt in range(5):
        worker = (first_worker, second_worker)[attempt % 2]
        assert log_in(worker.test_client(), world.bert.user.email, "wrong").status_code == 200
    refused = log_in(second_worker.test_client(), world.bert.user.email)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0


def test_a_changed_password_ends_every_other_session(make_app, world):
    """Sessions carry a digest of the password they began with: after a change (or a reset) they sign nobody in,
    neither on the pages nor on the API."""
    app = make_app()
    laptop, phone = app.test_client(), app.test_client()
    log_in(laptop, world.bert.user.email)
    log_in(phone, world.bert.user.email)
    assert "Uitloggen" in phone.get("/").get_data(as_text=True)
    assert phone.get("/api/v1/me/tokens").status_code == 200
    world.db.run(
        members.change_password,
        actor=world.bert.actor,
        current_password=PASSWORD,
        new_password="a new long passphrase 42",
    )
    for browser in (laptop, phone):
        assert "Uitloggen" not in browser.get("/").get_data(as_text=True)
        assert browser.get("/api/v1/me/tokens").status_code == 401
    log_in(laptop, world.bert.user.email, "a new long passphrase 42")
    assert "Uitloggen" in laptop.get("/").get_data(as_text=True), "a new login works with the new password"
