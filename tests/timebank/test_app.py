"""The app factory, the home page and the health check."""

from __future__ import annotations

import socket
import time

import pytest
import sqlalchemy as sa

from timebank import schema
from timebank.app import DatabaseUnavailable, create_app
from timebank.config import DEVELOPMENT_SECRET_KEY, ConfigError


def test_the_home_page_says_what_the_service_is(client):
    # Without an Accept-Language the page is in Dutch (tests/web/test_languages.py); here a browser asks for English.
    response = client.get("/", headers={"Accept-Language": "en"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "<main>" in page and "<h1>Timebank</h1>" in page
    assert "A time bank where neighbours exchange help paid in time." in page


def test_the_home_page_has_no_inline_script_or_style(client):
    page = client.get("/").get_data(as_text=True)
    assert "<script" not in page and "<style" not in page and "style=" not in page


def test_health_is_ok_on_a_reachable_database_with_an_up_to_date_schema(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": {"reachable": True, "schema": "up_to_date"}}
    assert response.headers["Cache-Control"] == "no-store"


def test_health_is_degraded_on_an_empty_database(make_app, empty_database_url):
    app = make_app(DATABASE_URL=empty_database_url, CHECK_SCHEMA_ON_START=False)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json == {"status": "degraded", "database": {"reachable": True, "schema": "empty"}}


def test_health_is_degraded_on_a_database_older_than_the_code(make_app, empty_database_url, code_one_revision_ahead):
    shipped_head, _ = code_one_revision_ahead
    schema.upgrade(empty_database_url, shipped_head)
    app = make_app(DATABASE_URL=empty_database_url, CHECK_SCHEMA_ON_START=False)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["database"] == {"reachable": True, "schema": "outdated"}


def test_health_is_degraded_when_the_database_cannot_be_opened(make_app, tmp_path):
    unreachable = f"sqlite:///{tmp_path / 'no-such-folder' / 'timebank.sqlite'}"
    app = make_app(DATABASE_URL=unreachable, CHECK_SCHEMA_ON_START=False)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json == {"status": "degraded", "database": {"reachable": False, "schema": "unknown"}}


def test_health_gives_up_within_the_connect_timeout_on_a_postgresql_server_that_never_answers(make_app):
    # A socket that completes TCP handshakes (the kernel's backlog) but never says a word, like a hung server.
    with socket.socket() as silent_server:
        silent_server.bind(("127.0.0.1", 0))
        silent_server.listen(8)
        port = silent_server.getsockname()[1]
        app = make_app(
            DATABASE_URL=f"postgresql://nobody@127.0.0.1:{port}/timebank",
            CHECK_SCHEMA_ON_START=False,
            DATABASE_CONNECT_TIMEOUT_SECONDS=2,
        )
        started = time.monotonic()
        response = app.test_client().get("/healthz")
        elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.json["database"]["reachable"] is False
    assert elapsed < 15, f"/healthz took {elapsed:.1f} s with a 2 s connect timeout"


def test_the_app_refuses_to_start_in_production_with_the_default_secret_key(make_app, migrated_database_url):
    with pytest.raises(ConfigError, match="TIMEBANK_SECRET_KEY is the development default"):
        make_app(ENV="production", DATABASE_URL=migrated_database_url)


def test_the_app_is_in_production_unless_told_otherwise(monkeypatch, tmp_path):
    monkeypatch.setenv("TIMEBANK_INSTANCE_PATH", str(tmp_path))
    with pytest.raises(ConfigError, match="TIMEBANK_SECRET_KEY"):
        create_app()


def test_the_app_starts_in_production_with_its_own_secret_key(make_app, migrated_database_url):
    app = make_app(ENV="production", SECRET_KEY="a-long-random-secret", DATABASE_URL=migrated_database_url)
    assert app.secret_key == "a-long-random-secret"


@pytest.mark.parametrize("environment", ["development", "testing"])
def test_the_default_secret_key_is_allowed_in_development_and_testing(make_app, migrated_database_url, environment):
    app = make_app(ENV=environment, DATABASE_URL=migrated_database_url)
    assert app.secret_key == DEVELOPMENT_SECRET_KEY


def test_the_app_refuses_to_start_on_an_empty_database_naming_the_upgrade_command(make_app, empty_database_url):
    with pytest.raises(schema.SchemaNotCurrent, match="run `timebank db upgrade`") as refusal:
        make_app(DATABASE_URL=empty_database_url)
    assert refusal.value.state is schema.SchemaState.EMPTY


def test_the_app_refuses_to_start_on_a_schema_older_than_the_code(
    make_app, empty_database_url, code_one_revision_ahead
):
    shipped_head, head = code_one_revision_ahead
    schema.upgrade(empty_database_url, shipped_head)
    with pytest.raises(schema.SchemaNotCurrent) as refusal:
        make_app(DATABASE_URL=empty_database_url)
    message = str(refusal.value)
    assert f"(revision {shipped_head}) is older than the code (revision {head})" in message
    assert "run `timebank db upgrade`" in message


def test_the_app_refuses_to_start_on_a_schema_newer_than_the_code(make_app, migrated_database_url, engine_for):
    with engine_for(migrated_database_url).begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = 'from-the-future'"))
    with pytest.raises(schema.SchemaNotCurrent, match="newer than this code knows"):
        make_app(DATABASE_URL=migrated_database_url)


def test_the_app_refuses_to_start_when_it_cannot_check_the_schema(make_app, tmp_path):
    with pytest.raises(DatabaseUnavailable, match="Cannot reach the database"):
        make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'no-such-folder' / 'timebank.sqlite'}")


def test_the_database_defaults_to_a_sqlite_file_in_the_instance_folder(make_app, tmp_path):
    app = make_app(CHECK_SCHEMA_ON_START=False)
    assert app.instance_path == str(tmp_path / "instance")
    assert (tmp_path / "instance").is_dir()
    assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'instance' / 'timebank.sqlite'}"


def test_environment_variables_override_the_defaults(monkeypatch, make_app, migrated_database_url):
    monkeypatch.setenv("TIMEBANK_DATABASE_URL", migrated_database_url)
    monkeypatch.setenv("TIMEBANK_MAX_CONTENT_LENGTH", "2048")
    monkeypatch.setenv("TIMEBANK_CHECK_SCHEMA_ON_START", "off")
    app = make_app()
    assert app.config["DATABASE_URL"] == migrated_database_url
    assert app.config["MAX_CONTENT_LENGTH"] == 2048
    assert app.config["CHECK_SCHEMA_ON_START"] is False


def test_overrides_given_to_the_factory_win_over_environment_variables(monkeypatch, make_app, migrated_database_url):
    monkeypatch.setenv("TIMEBANK_MAX_CONTENT_LENGTH", "2048")
    app = make_app(DATABASE_URL=migrated_database_url, MAX_CONTENT_LENGTH=4096)
    assert app.config["MAX_CONTENT_LENGTH"] == 4096


def test_an_unexpected_error_answers_500_without_a_stack_trace(make_app, migrated_database_url):
    app = make_app(DATABASE_URL=migrated_database_url, TESTING=False)

    def broken():
        raise RuntimeError("secret detail from deep inside")

    app.add_url_rule("/broken", view_func=broken)
    response = app.test_client().get("/broken")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Traceback" not in body and "secret detail" not in body
