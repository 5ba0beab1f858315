"""Guessing tokens and keys is throttled per address (api/auth.py): after ``FAILED_TOKENS_PER_ADDRESS`` wrong
tokens of the right form within the window, every bearer request from that address is answered 429 with
Retry-After — a right token too — until the oldest failure leaves the window. Other addresses, session cookies and
malformed tokens are not affected; every worker counts the same failures (they are in the database).
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from api.auth import THROTTLE_EXTENSION
from tests.api import unchanged
from tests.api.conftest import issue_tokens
from tests.world import build_world
from timebank.app import create_app
from timebank.models import LoginFailure
from timebank.web.throttle import BEARER, FAILED_TOKENS_PER_ADDRESS, WINDOW_SECONDS, LoginThrottle

# The database of this module's own (tests/api/unchanged.py).
own_app, own_db = unchanged.own_app, unchanged.own_db

GUESSER, NEIGHBOUR = "198.51.100.7", "203.0.113.9"


class FakeClock:
    def __init__(self):
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(own_app, own_db):
    """A throttle on a clock the test turns, in place of the app's; the failures of earlier tests forgotten."""
    with own_app.extensions["timebank"].engine.begin() as connection:
        connection.execute(sa.delete(LoginFailure))
    clock = FakeClock()
    own_app.extensions[THROTTLE_EXTENSION] = LoginThrottle(own_db, clock=clock)
    yield clock
    own_app.extensions.pop(THROTTLE_EXTENSION)


@pytest.fixture
def tokens(own_db):
    return issue_tokens(build_world(own_db))


def call(app, token: str, address: str):
    return app.test_client().get(
        "/api/v1/communities", headers={"Authorization": f"Bearer {token}"}, environ_base={"REMOTE_ADDR": address}
    )


def guesses(count: int) -> list[str]:
    """Wrong tokens of the right form: personal tokens and partner keys with made-up secrets."""
    return [f"tb_{'mp'[n % 2]}_{n + 1}_{'x' * 40}{n}" for n in range(count)]


def test_an_address_that_keeps_guessing_is_refused_until_the_window_passes(own_app, clock, tokens):
    right = tokens.people["ans"]
    for guess in guesses(FAILED_TOKENS_PER_ADDRESS):
        assert call(own_app, guess, GUESSER).status_code == 401
    assert call(own_app, right, GUESSER).status_code == 429, "a right token is refused too: no oracle for guessers"
    refused = call(own_app, guesses(1)[0], GUESSER)
    assert refused.status_code == 429 and refused.content_type == "application/problem+json"
    problem = refused.get_json()
    assert problem["code"] == "too_many_requests" and problem["type"].endswith("/too-many-requests")
    assert 0 < int(refused.headers["Retry-After"]) <= WINDOW_SECONDS == problem["retry_after_seconds"]

    assert call(own_app, right, NEIGHBOUR).status_code == 200, "another address is not affected"
    assert call(own_app, tokens.partner_all, NEIGHBOUR).status_code == 200

    clock.now += WINDOW_SECONDS - 1
    assert int(call(own_app, right, GUESSER).headers["Retry-After"]) == 1
    clock.now += 1
    assert call(own_app, right, GUESSER).status_code == 200, "once the failures leave the window"


def test_the_wait_runs_from_the_oldest_failure_in_the_window(own_app, clock, tokens):
    for guess in guesses(FAILED_TOKENS_PER_ADDRESS):
        assert call(own_app, guess, GUESSER).status_code == 401
        clock.now += 10
    wait = int(call(own_app, tokens.people["ans"], GUESSER).headers["Retry-After"])
    assert wait == WINDOW_SECONDS - 10 * FAILED_TOKENS_PER_ADDRESS
    clock.now += wait
    assert call(own_app, tokens.people["ans"], GUESSER).status_code == 200
    assert call(own_app, guesses(1)[0], GUESSER).status_code == 401, "one failure left the window: one more try"
    assert call(own_app, tokens.people["ans"], GUESSER).status_code == 429


def test_one_failure_short_of_the_limit_right_tokens_still_work(own_app, clock, tokens):
    for guess in guesses(FAILED_TOKENS_PER_ADDRESS - 1):
        assert call(own_app, guess, GUESSER).status_code == 401
    assert call(own_app, tokens.people["ans"], GUESSER).status_code == 200
    assert call(own_app, tokens.partner_all, GUESSER).status_code == 200


def test_malformed_tokens_cannot_be_right_and_do_not_count(own_app, clock, tokens):
    junk_tokens = [
        "nonsense",
        "tb_x_1_abc",
        "tb_m_",
        "tb_m_abc_def",
        "tb_m_\u00b2_abc",
        "tb_p_\u00b9_x",
        "Basic",
        "x" * 300,
    ]
    for junk in junk_tokens * 10:
        assert call(own_app, junk, GUESSER).status_code == 401
    assert call(own_app, tokens.people["ans"], GUESSER).status_code == 200


def test_revoked_tokens_count_as_wrong_ones(own_app, own_db, clock, tokens):
    client = own_app.test_client()
    revoked = []
    for _ in range(FAILED_TOKENS_PER_ADDRESS):
        issued = client.post("/api/v1/me/tokens", headers=tokens.headers("bert"), json={"name": "x"}).get_json()
        assert client.delete(f"/api/v1/me/tokens/{issued['id']}", headers=tokens.headers("bert")).status_code == 204
        revoked.append(issued["token"])
    for secret in revoked:
        assert call(own_app, secret, GUESSER).status_code == 401
    assert call(own_app, tokens.people["bert"], GUESSER).status_code == 429


def test_every_worker_counts_the_same_failures(own_app, own_db, clock, tokens):
    second_worker = create_app(
        {
            "ENV": "testing",
            "TESTING": True,
            "DATABASE_URL": str(own_app.extensions["timebank"].engine.url.render_as_string(hide_password=False)),
            "INSTANCE_PATH": own_app.instance_path,
        }
    )
    second_worker.extensions[THROTTLE_EXTENSION] = LoginThrottle(
        second_worker.extensions["timebank"].database, clock=clock
    )
    try:
        for number, guess in enumerate(guesses(FAILED_TOKENS_PER_ADDRESS)):
            assert call((own_app, second_worker)[number % 2], guess, GUESSER).status_code == 401
        assert call(second_worker, tokens.people["ans"], GUESSER).status_code == 429
        assert call(own_app, tokens.people["ans"], GUESSER).status_code == 429
    finally:
        second_worker.extensions["timebank"].engine.dispose()


def test_the_spec_documents_the_429_on_every_authenticated_operation(own_app):
    spec = own_app.test_client().get("/api/v1/openapi.json").get_json()
    authenticated = [
        (method, path)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and operation.get("security")
    ]
    assert len(authenticated) >= 58
    assert [(m, p) for m, p in authenticated if "429" not in spec["paths"][p][m]["responses"]] == []
    too_many = spec["components"]["responses"]["TOO_MANY_REQUESTS"]
    assert "Retry-After" in too_many["headers"] and "application/problem+json" in too_many["content"]


def test_wrong_tokens_and_failed_logins_are_counted_apart(own_db):
    throttle, address = LoginThrottle(own_db, clock=FakeClock()), "192.0.2.55"
    for _ in range(FAILED_TOKENS_PER_ADDRESS):
        throttle.record(BEARER, address)
    assert throttle.wait_seconds(BEARER, address) == WINDOW_SECONDS
    assert throttle.retry_after_seconds(email="ans@example.org", address=address) is None, "logins are not held"
    with pytest.raises(ValueError):
        throttle.record("guesses", address)
