"""Security on every page: headers, cookies, CSRF on every form, no-store on personal pages; the API untouched."""

from __future__ import annotations

import pytest

from tests.api.conftest import issue_tokens
from tests.web.conftest import csrf_token, log_in

EXPECTED_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'"
)


def _answers_to_check(client):
    return {
        "home": client.get("/"),
        "login": client.get("/login"),
        "refused form": client.post("/login", data={"email": "a@example.org", "password": "x"}),
        "not found": client.get("/no-such-page"),
    }


def test_every_page_carries_the_security_headers(client):
    for name, response in _answers_to_check(client).items():
        headers = response.headers
        assert headers["Content-Security-Policy"] == EXPECTED_CSP, name
        assert headers["X-Content-Type-Options"] == "nosniff", name
        assert headers["Referrer-Policy"] == "same-origin", name
        assert headers["X-Frame-Options"] == "DENY", name
        assert "Strict-Transport-Security" not in headers, f"{name}: no HSTS when testing over plain http"


def test_production_pages_add_hsts_and_a_secure_session_cookie(make_app):
    app = make_app(ENV="production", SECRET_KEY="a-long-random-secret-for-this-test")
    response = app.test_client().get("/login")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_in_development_the_cookie_is_not_secure_and_there_is_no_hsts(make_app):
    response = make_app(ENV="development").test_client().get("/login")
    assert "Strict-Transport-Security" not in response.headers
    cookie = response.headers["Set-Cookie"]
    assert "Secure" not in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_the_login_cookie_is_httponly_samesite_lax_and_secure_outside_development(client, world):
    response = log_in(client, world.ans.user.email)
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Expires=" in cookie  # a login lasts SESSION_LIFETIME_MINUTES, not for ever


def test_pages_a_logged_in_person_sees_are_not_stored(client, world):
    assert client.get("/login").headers["Cache-Control"] == "no-store"
    log_in(client, world.ans.user.email)
    for path in ("/", "/login", "/no-such-page"):
        assert client.get(path).headers["Cache-Control"] == "no-store", path


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(client, world):
    refused = client.post("/login", data={"email": world.ans.user.email, "password": "correct horse battery staple"})
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert "Het formulier is niet aangenomen" in page and "er is niets veranderd" in page
    assert "Ingelogd als" not in client.get("/").get_data(as_text=True)


def test_a_form_with_a_wrong_csrf_token_is_refused(client, world):
    refused = client.post(
        "/login", data={"email": world.ans.user.email, "password": "whatever", "csrf_token": "forged"}
    )
    assert refused.status_code == 400


def test_logging_out_without_the_csrf_token_is_refused_and_the_person_stays_logged_in(client, world):
    log_in(client, world.ans.user.email)
    refused = client.post("/logout")
    assert refused.status_code == 400
    assert "er is niets veranderd" in refused.get_data(as_text=True)
    assert f"Ingelogd als {world.ans.user.email}" in client.get("/").get_data(as_text=True)


def test_logging_out_is_a_post(client):
    assert client.get("/logout").status_code == 405


def test_the_api_still_answers_bearer_tokens_without_a_csrf_token(client, world):
    tokens = issue_tokens(world)
    created = client.post("/api/v1/me/tokens", headers=tokens.headers("ans"), json={"name": "no csrf needed"})
    assert created.status_code == 201
    listed = client.get("/api/v1/me/tokens", headers=tokens.headers("ans"))
    assert listed.status_code == 200 and listed.content_type == "application/json"
    assert listed.headers["X-Content-Type-Options"] == "nosniff"
    unauthenticated = client.get("/api/v1/me/tokens")
    assert unauthenticated.status_code == 401 and unauthenticated.content_type == "application/problem+json"


def test_the_api_refuses_a_cookie_write_without_its_csrf_header_as_before(client, world):
    log_in(client, world.ans.user.email)
    assert client.get("/api/v1/me/tokens").status_code == 200
    assert client.post("/api/v1/me/tokens", json={"name": "from a page"}).status_code == 401
    token = csrf_token(client.get("/").get_data(as_text=True))
    created = client.post("/api/v1/me/tokens", json={"name": "from a page"}, headers={"X-CSRF-Token": token})
    assert created.status_code == 201


def test_health_is_unchanged(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": {"reachable": True, "schema": "up_to_date"}}
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/", "/login"])
def test_pages_have_no_inline_script_or_style(client, path):
    page = client.get(path).get_data(as_text=True)
    assert "<script" not in page and "<style" not in page and "style=" not in page
