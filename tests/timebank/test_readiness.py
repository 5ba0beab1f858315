"""GET /readyz: may a load balancer send this instance requests? 200 when the database answers and its schema is
the code's; else 503, saying which. /healthz keeps its own answer (tests/timebank/test_app.py); the outage under
load is tests/system/test_database_trouble.py. Also the start-up check a gunicorn master makes for its workers."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa

from timebank import schema
from timebank.app import DatabaseUnavailable, check_before_forking_workers

READY = {"status": "ready", "database": {"reachable": True, "schema": "up_to_date"}}


def test_ready_on_a_reachable_database_with_an_up_to_date_schema(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == READY
    assert response.headers["Cache-Control"] == "no-store"


def test_not_ready_on_an_empty_database_says_to_upgrade(make_app, empty_database_url):
    app = make_app(DATABASE_URL=empty_database_url, CHECK_SCHEMA_ON_START=False)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json
    assert (body["status"], body["reason"]) == ("not_ready", "empty")
    assert body["database"] == {"reachable": True, "schema": "empty"}
    assert "timebank db upgrade" in body["detail"]


def test_not_ready_on_a_database_older_than_the_code(make_app, empty_database_url, code_one_revision_ahead):
    shipped_head, _ = code_one_revision_ahead
    schema.upgrade(empty_database_url, shipped_head)
    app = make_app(DATABASE_URL=empty_database_url, CHECK_SCHEMA_ON_START=False)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert (response.json["reason"], response.json["database"]["schema"]) == ("outdated", "outdated")


def test_not_ready_on_a_database_newer_than_the_code(make_app, migrated_database_url, engine_for):
    with engine_for(migrated_database_url).begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = 'from-the-future'"))
    app = make_app(DATABASE_URL=migrated_database_url, CHECK_SCHEMA_ON_START=False)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert (response.json["reason"], response.json["database"]["schema"]) == ("ahead", "ahead")
    assert "newer" in response.json["detail"]


def test_not_ready_when_the_database_cannot_be_opened(make_app, tmp_path):
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'gone' / 'timebank.sqlite'}", CHECK_SCHEMA_ON_START=False)
    client = app.test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json == {
        "status": "not_ready",
        "reason": "unreachable",
        "detail": "the database cannot be reached",
        "database": {"reachable": False, "schema": "unknown"},
    }
    # /healthz says the same in its own words, as before.
    assert client.get("/healthz").json == {"status": "degraded", "database": {"reachable": False, "schema": "unknown"}}


def app_on_a_folder_to_lose(make_app, tmp_path):
    """An app on a migrated SQLite database in a folder of its own, which a test renames to make it unreachable."""
    folder = tmp_path / "db"
    folder.mkdir()
    url = f"sqlite:///{folder / 'timebank.sqlite'}"
    schema.upgrade(url)
    return make_app(DATABASE_URL=url), folder


def test_the_health_checks_answer_with_a_session_cookie_while_the_database_is_down(make_app, tmp_path):
    """A browser's cookie makes the app look up the session; the checks report the database, not a 503 page."""
    app, folder = app_on_a_folder_to_lose(make_app, tmp_path)
    client = app.test_client()
    with client.session_transaction() as session:
        session["session_id"] = "a-session"
    folder.rename(tmp_path / "gone")
    app.extensions["timebank"].engine.dispose()
    assert client.get("/readyz").json["reason"] == "unreachable"
    assert client.get("/healthz").json["status"] == "degraded"


def test_a_signed_in_browser_gets_the_503_page_and_keeps_its_login_while_the_database_is_down(make_app, tmp_path):
    app, folder = app_on_a_folder_to_lose(make_app, tmp_path)
    client = app.test_client()
    with client.session_transaction() as session:
        session.update(session_id="a-session", user_id=1)
    cookie = client.get_cookie("session").value
    folder.rename(tmp_path / "gone")
    app.extensions["timebank"].engine.dispose()
    page = client.get("/c/somewhere/")
    assert page.status_code == 503 and page.headers["Retry-After"] == "5"
    assert "Set-Cookie" not in page.headers and client.get_cookie("session").value == cookie
    api = client.get("/api/v1/me/tokens")
    assert (api.status_code, api.content_type, api.get_json()["code"]) == (
        503,
        "application/problem+json",
        "service_unavailable",
    )
    assert "Set-Cookie" not in api.headers


@pytest.fixture
def master_environment(monkeypatch, tmp_path):
    """The environment of a gunicorn master, restored afterwards (the check switches the workers' check off)."""
    monkeypatch.setenv("TIMEBANK_ENV", "testing")
    monkeypatch.setenv("TIMEBANK_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("TIMEBANK_CHECK_SCHEMA_ON_START", raising=False)
    yield
    os.environ.pop("TIMEBANK_CHECK_SCHEMA_ON_START", None)


def test_a_master_checks_the_database_once_then_lets_its_workers_start_without_it(
    master_environment, monkeypatch, migrated_database_url
):
    monkeypatch.setenv("TIMEBANK_DATABASE_URL", migrated_database_url)
    check_before_forking_workers()
    assert os.environ["TIMEBANK_CHECK_SCHEMA_ON_START"] == "false"


def test_a_master_refuses_to_start_on_a_database_it_cannot_reach(master_environment, monkeypatch, tmp_path):
    monkeypatch.setenv("TIMEBANK_DATABASE_URL", f"sqlite:///{tmp_path / 'gone' / 'timebank.sqlite'}")
    with pytest.raises(DatabaseUnavailable, match="Cannot reach the database"):
        check_before_forking_workers()
    assert "TIMEBANK_CHECK_SCHEMA_ON_START" not in os.environ


def test_a_master_refuses_to_start_on_an_empty_database(master_environment, monkeypatch, empty_database_url):
    monkeypatch.setenv("TIMEBANK_DATABASE_URL", empty_database_url)
    with pytest.raises(schema.SchemaNotCurrent):
        check_before_forking_workers()
    assert "TIMEBANK_CHECK_SCHEMA_ON_START" not in os.environ


def test_a_master_told_not_to_check_does_not(master_environment, monkeypatch, tmp_path):
    monkeypatch.setenv("TIMEBANK_DATABASE_URL", f"sqlite:///{tmp_path / 'gone' / 'timebank.sqlite'}")
    monkeypatch.setenv("TIMEBANK_CHECK_SCHEMA_ON_START", "false")
    check_before_forking_workers()


def test_health_checks_add_nothing_to_the_cache_of_compiled_statements(app, client):
    """Alembic's query for the schema's revision is on a new Table at every check: cached, it would add an entry
    (some 16 KiB) to the engine's cache of compiled statements at every /healthz and /readyz — a worker's memory
    growing for as long as a load balancer asks, up to ~750 entries, and the app's own statements pushed out."""
    cache = app.extensions["timebank"].engine._compiled_cache
    client.get("/healthz")
    client.get("/readyz")
    before = len(cache)
    for _ in range(25):
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200
    assert len(cache) == before
