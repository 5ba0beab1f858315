"""Fixtures for the web front's tests: the app on the session's database (SQLite and PostgreSQL), a client,
and helpers to fill in forms the way a browser does (with the CSRF token from the page)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from tests.world import PASSWORD
from timebank.app import create_app
from timebank.models import LoginFailure, RevokedSession

CSRF_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def make_web_app(database_url: str, instance_path, **overrides):
    config = {
        "ENV": "testing",
        "TESTING": True,
        "DATABASE_URL": database_url,
        "INSTANCE_PATH": str(instance_path),
        **overrides,
    }
    return create_app(config)


@pytest.fixture
def make_app(database_url, tmp_path):
    """Build apps on the session's database; disposes their engines afterwards."""
    apps = []

    def make(**overrides):
        app = make_web_app(database_url, tmp_path / "instance", **overrides)
        apps.append(app)
        # Failed logins and ended sessions are kept in the database: each test starts without any.
        with app.extensions["timebank"].engine.begin() as connection:
            connection.execute(sa.delete(LoginFailure))
            connection.execute(sa.delete(RevokedSession))
        return app

    yield make
    for app in apps:
        app.extensions["timebank"].engine.dispose()


@pytest.fixture
def web_app(make_app):
    """An app of its own per test, without the login counters and ended sessions of earlier tests.

    Not named ``app``: pytest-flask would keep a request context open around the test, and every request of the
    test client would then share one ``g`` (which caches who is signed in).
    """
    return make_app()


@pytest.fixture
def client(web_app):
    return web_app.test_client()


def csrf_token(page: str) -> str:
    """The CSRF token of the (first) form in ``page``."""
    found = CSRF_FIELD.search(page)
    assert found, "the page has no CSRF token"
    return found.group(1) or found.group(2)


def log_in(client, email: str, password: str = PASSWORD, **request_options):
    """Open the login page and submit it, as a browser does; returns the answer to the POST."""
    page = client.get("/login", **request_options).get_data(as_text=True)
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": csrf_token(page)}, **request_options
    )


def log_out(client):
    page = client.get("/").get_data(as_text=True)
    return client.post("/logout", data={"csrf_token": csrf_token(page)})


def session_cookie(client, app) -> str | None:
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    return None if cookie is None else cookie.value


def submit(client, form_page: str, action: str | None = None, data: dict | None = None, **request_options):
    """Open ``form_page``, take its CSRF token and post ``data`` to ``action`` (default: the same address)."""
    page = client.get(form_page, **request_options).get_data(as_text=True)
    return client.post(action or form_page, data={**(data or {}), "csrf_token": csrf_token(page)}, **request_options)


def text(response) -> str:
    return response.get_data(as_text=True)
