"""Fixtures for the web front's tests: the app on the session's database (SQLite and PostgreSQL), a client,
and helpers to fill in forms the way a browser does (with the CSRF token from the page)."""

from __future__ import annotations

import re
import time

import flask
import pytest
import sqlalchemy as sa

from tests.world import PASSWORD
from timebank.app import create_app
from timebank.models import LoginFailure, RevokedSession, User
from timebank.web import sessions

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


def forget_logins(app) -> None:
    """Failed logins and ended sessions are kept in the database: each test starts without any, and with the
    real clock."""
    with app.extensions["timebank"].engine.begin() as connection:
        connection.execute(sa.delete(LoginFailure))
        connection.execute(sa.delete(RevokedSession))
    web = app.extensions["timebank_web"]
    web.login_throttle.clock = web.revoked_sessions.clock = time.time


@pytest.fixture
def make_app(database_url, tmp_path):
    """Build apps on the session's database (for a test that needs settings of its own); disposes their engines
    afterwards."""
    apps = []

    def make(**overrides):
        app = make_web_app(database_url, tmp_path / "instance", **overrides)
        apps.append(app)
        forget_logins(app)
        return app

    yield make
    for app in apps:
        app.extensions["timebank"].engine.dispose()


@pytest.fixture(scope="session")
def shared_web_app(database_url, tmp_path_factory):
    """The app with the testing settings, built once per database and worker (building one takes ~0.2 s)."""
    app = make_web_app(database_url, tmp_path_factory.mktemp("web-instance"))
    yield app
    app.extensions["timebank"].engine.dispose()


@pytest.fixture
def web_app(shared_web_app):
    """The app, without the login counters and ended sessions of earlier tests. The app keeps nothing else between
    requests: everything it remembers is in the database, where each test has a community of its own.

    Not named ``app``: pytest-flask would keep a request context open around the test, and every request of the
    test client would then share one ``g`` (which caches who is signed in).
    """
    forget_logins(shared_web_app)
    return shared_web_app


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


def sign_in(client, email: str) -> None:
    """Start the client signed in as the user with ``email``, with the session a successful login leaves (made by
    the login's own ``start_session``, server-side). For tests that are not about logging in: the login form (CSRF
    and argon2) is proven by test_login.py and the journeys; this skips its ~40 ms."""
    app = client.application
    user_id = app.extensions["timebank"].database.read(
        lambda *, session: session.scalar(sa.select(User.id).where(User.email == email))
    )
    assert user_id is not None, f"no user {email}"
    with app.test_request_context():
        sessions.start_session(user_id=user_id, revoked=app.extensions["timebank_web"].revoked_sessions)
        made, permanent = dict(flask.session), flask.session.permanent
    with client.session_transaction() as session:
        session.clear()
        session.update(made)
        session.permanent = permanent


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
