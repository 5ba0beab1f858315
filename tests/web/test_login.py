"""Logging in and out: the session renewed at login and dead after logout; the same answer for an unknown email
and a wrong password; throttling with 429 and Retry-After."""

from __future__ import annotations

import re
import time
from types import SimpleNamespace

import itsdangerous.timed
import pytest

from api.auth import SESSION_USER_KEY
from tests.web.conftest import csrf_token, log_in, log_out, session_cookie
from tests.world import PASSWORD
from timebank.config import ConfigError, check_config, defaults
from timebank.web.sessions import SESSION_ID_KEY

CSRF_VALUE = re.compile(r'(name="csrf_token"(?: type="hidden")? value=")[^"]+"')


class FakeClock:
    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def _signed_in_as(client, email: str) -> bool:
    return f"Ingelogd als {email}" in client.get("/").get_data(as_text=True)


def test_logging_in_stores_the_user_in_the_session_and_goes_home(client, world):
    response = log_in(client, world.ans.user.email)
    assert response.status_code == 302 and response.headers["Location"] == f"/c/{world.community.slug}/", (
        "a member of one community lands on its home page"
    )
    with client.session_transaction() as session:
        assert session[SESSION_USER_KEY] == world.ans.user.id
        assert session[SESSION_ID_KEY]
    assert _signed_in_as(client, world.ans.user.email)


def test_the_email_is_found_whatever_its_case_and_surrounding_spaces(client, world):
    assert log_in(client, f"  {world.bert.user.email.upper()} ").status_code == 302
    assert _signed_in_as(client, world.bert.user.email)


def test_logging_in_renews_the_session_and_its_csrf_token(client, web_app, world):
    before_page = client.get("/login").get_data(as_text=True)
    cookie_before = session_cookie(client, web_app)
    with client.session_transaction() as session:
        raw_token_before = session["csrf_token"]
    client.post(
        "/login", data={"email": world.ans.user.email, "password": PASSWORD, "csrf_token": csrf_token(before_page)}
    )
    with client.session_transaction() as session:
        assert session.get("csrf_token") != raw_token_before
    assert session_cookie(client, web_app) != cookie_before
    # The token of the page from before the login is no longer accepted...
    stale = client.post("/logout", data={"csrf_token": csrf_token(before_page)})
    assert stale.status_code == 400 and _signed_in_as(client, world.ans.user.email)
    # ...and the cookie from before the login signs no one in (no session fixation).
    visitor = web_app.test_client()
    visitor.set_cookie(web_app.config["SESSION_COOKIE_NAME"], cookie_before)
    assert not _signed_in_as(visitor, world.ans.user.email)


def test_logging_in_again_ends_the_previous_session(client, web_app, world):
    log_in(client, world.ans.user.email)
    first_cookie = session_cookie(client, web_app)
    log_in(client, world.bert.user.email)
    replay = web_app.test_client()
    replay.set_cookie(web_app.config["SESSION_COOKIE_NAME"], first_cookie)
    assert not _signed_in_as(replay, world.ans.user.email)


def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(client, world):
    wrong_password = log_in(client, world.ans.user.email, "not the password")
    unknown_email = log_in(client, "nobody-at-all@example.org", "not the password")
    assert wrong_password.status_code == unknown_email.status_code == 200

    def normalised(response, email):
        page = response.get_data(as_text=True).replace(email, "EMAIL")
        return CSRF_VALUE.sub(r'\1TOKEN"', page)

    assert normalised(wrong_password, world.ans.user.email) == normalised(unknown_email, "nobody-at-all@example.org")
    page = wrong_password.get_data(as_text=True)
    assert "Het e-mailadres of het wachtwoord klopt niet." in page
    assert f'value="{world.ans.user.email}"' in page, "the form keeps the email typed"
    assert "not the password" not in page, "never the password"
    with client.session_transaction() as session:
        assert SESSION_USER_KEY not in session


def test_an_empty_form_says_what_is_missing_next_to_each_field(client):
    page = client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    refused = client.post(
        "/login", data={"email": "", "password": "", "csrf_token": csrf_token(page)}, headers={"Accept-Language": "en"}
    )
    body = refused.get_data(as_text=True)
    assert refused.status_code == 200
    assert 'id="email-error">Fill in your email address.' in body
    assert 'id="password-error">Fill in your password.' in body
    assert 'aria-describedby="email-error"' in body


def test_an_overlong_email_is_refused_by_the_form(client):
    page = client.get("/login").get_data(as_text=True)
    refused = client.post(
        "/login", data={"email": "a" * 250 + "@example.org", "password": "x", "csrf_token": csrf_token(page)}
    )
    assert "Een e-mailadres is hooguit 254 tekens lang." in refused.get_data(as_text=True)


def test_five_failures_for_one_email_throttle_it_known_or_not(client, web_app, world):
    throttle = web_app.extensions["timebank_web"].login_throttle
    throttle.clock = clock = FakeClock()
    for email in (world.ans.user.email, "nobody-at-all@example.org"):
        for _ in range(5):
            assert log_in(client, email, "wrong").status_code == 200
        refused = log_in(client, email, PASSWORD)  # even the right password now waits
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "900"
        assert "Te vaak geprobeerd in te loggen." in refused.get_data(as_text=True)
    clock.now += 600
    assert log_in(client, world.ans.user.email, PASSWORD).headers["Retry-After"] == "300"
    clock.now += 300
    assert log_in(client, world.ans.user.email, PASSWORD).status_code == 302


def test_the_throttled_answer_is_the_same_for_a_known_and_an_unknown_email(client, web_app, world):
    web_app.extensions["timebank_web"].login_throttle.clock = FakeClock()
    answers = []
    for email in (world.cor.user.email, "nobody-else@example.org"):
        for _ in range(5):
            log_in(client, email, "wrong")
        answer = log_in(client, email, "wrong")
        page = CSRF_VALUE.sub(r'\1TOKEN"', answer.get_data(as_text=True).replace(email, "EMAIL"))
        answers.append((answer.status_code, answer.headers["Retry-After"], page))
    assert answers[0] == answers[1]


def test_twenty_failures_from_one_address_throttle_every_email_from_it(client, web_app, world):
    web_app.extensions["timebank_web"].login_throttle.clock = FakeClock()
    for attempt in range(20):
        assert log_in(client, f"guess-{attempt}@example.org", "wrong").status_code == 200
    assert log_in(client, world.ans.user.email, PASSWORD).status_code == 429
    elsewhere = web_app.test_client()
    assert (
        log_in(elsewhere, world.ans.user.email, PASSWORD, environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 302
    )


def test_a_successful_login_clears_the_count_for_that_email(client, web_app, world):
    web_app.extensions["timebank_web"].login_throttle.clock = FakeClock()
    for _ in range(4):
        log_in(client, world.ans.user.email, "wrong")
    assert log_in(client, world.ans.user.email).status_code == 302
    log_out(client)
    for _ in range(4):
        assert log_in(client, world.ans.user.email, "wrong").status_code == 200


def test_logging_out_ends_the_session_and_a_copy_of_its_cookie_is_dead(client, web_app, world):
    log_in(client, world.ans.user.email)
    copied_cookie = session_cookie(client, web_app)
    assert log_out(client).status_code == 302
    assert not _signed_in_as(client, world.ans.user.email)
    replay = web_app.test_client()
    replay.set_cookie(web_app.config["SESSION_COOKIE_NAME"], copied_cookie)
    home = replay.get("/")
    assert "Ingelogd als" not in home.get_data(as_text=True) and "Inloggen" in home.get_data(as_text=True)
    assert replay.get("/api/v1/me/tokens").status_code == 401, "the API no longer takes the old cookie either"


def test_a_session_past_its_lifetime_signs_no_one_in(make_app, world, monkeypatch):
    web_app = make_app(SESSION_LIFETIME_MINUTES=1)
    client = web_app.test_client()
    log_in(client, world.ans.user.email)
    assert _signed_in_as(client, world.ans.user.email)
    # The cookie's signed timestamp is checked on the server: move the signer's clock on instead of sleeping.
    started = time.time()
    monkeypatch.setattr(itsdangerous.timed, "time", SimpleNamespace(time=lambda: started + 61))
    assert not _signed_in_as(client, world.ans.user.email)


def test_forwarded_addresses_are_trusted_only_behind_the_configured_proxies(make_app, world):
    """Behind one proxy, the throttle counts per forwarded address; without, a forged header changes nothing."""
    for proxies, separate in ((0, False), (1, True)):
        app = make_app(TRUSTED_PROXIES=proxies)
        app.extensions["timebank_web"].login_throttle._limits["address"] = 2
        for number in range(2):
            forwarded = {"X-Forwarded-For": f"198.51.100.{number}"}
            log_in(app.test_client(), f"nobody{number}@example.org", "wrong", headers=forwarded)
        answer = log_in(app.test_client(), world.ans.user.email, headers={"X-Forwarded-For": "198.51.100.9"})
        assert (answer.status_code == 302) is separate, f"TRUSTED_PROXIES={proxies}"


def test_the_number_of_trusted_proxies_is_checked():
    with pytest.raises(ConfigError):
        check_config({**defaults(), "ENV": "testing", "TRUSTED_PROXIES": 9})


@pytest.mark.parametrize(
    ("next_page", "lands_on"),
    [
        ("/account", "/account"),
        ("//evil.example/x", None),
        ("https://evil.example/x", None),
        ("/\\evil.example", None),
        ("javascript:alert(1)", None),
    ],
)
def test_after_logging_in_a_person_goes_back_to_the_page_they_asked_for_on_this_site_only(
    client, world, next_page, lands_on
):
    page = client.get("/login", query_string={"next": next_page}).get_data(as_text=True)
    answer = client.post(
        "/login",
        query_string={"next": next_page},
        data={"email": world.ans.user.email, "password": PASSWORD, "csrf_token": csrf_token(page)},
    )
    assert answer.status_code == 302
    assert answer.headers["Location"] == (lands_on or f"/c/{world.community.slug}/")


def test_a_page_for_members_sends_a_visitor_to_log_in_and_back(client, world):
    answer = client.get(f"/c/{world.community.slug}/listings")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login?next=")
    assert f"/c/{world.community.slug}/listings" in answer.headers["Location"].replace("%2F", "/")


def test_the_language_switch_sets_the_visitors_language_and_the_persons_setting(client, world):
    page = client.get("/").get_data(as_text=True)
    switched = client.post("/language", data={"language": "en", "next": "/login", "csrf_token": csrf_token(page)})
    assert switched.status_code == 302 and switched.headers["Location"] == "/login"
    assert '<html lang="en">' in client.get("/login").get_data(as_text=True)
    log_in(client, world.cor.user.email)
    page = client.get("/").get_data(as_text=True)
    client.post("/language", data={"language": "en", "csrf_token": csrf_token(page)})
    assert (
        world.db.read(lambda *, session: session.get(type(world.cor.user), world.cor.user.id)).preferred_language
        == "en"
    )
    refused = client.post("/language", data={"language": "fr", "csrf_token": csrf_token(page)})
    assert refused.status_code == 302, "an unknown language changes nothing"
    assert (
        world.db.read(lambda *, session: session.get(type(world.cor.user), world.cor.user.id)).preferred_language
        == "en"
    )
    assert client.post("/language", data={"language": "nl"}).status_code == 400, "the switch needs its CSRF token"
