"""Operations: structured logs with a request id on every line and in every problem, and no secret in the log.

- Every log line is one JSON object (time, level, logger, message, request_id); the request id is answered in
  ``X-Request-Id`` and in every problem+json body; a trusted proxy's id is kept when it is short and safe.
- ``create_app`` sets up that logging itself (``TIMEBANK_LOG_FORMAT``, ``TIMEBANK_LOG_LEVEL``) unless the process
  configured a handler already — checked in a fresh Python process, as gunicorn's workers are.
- A morning's work — a wrong password, logging in, a personal token, API calls with it and with a guessed one, a
  password reset by mail over SMTP that fails — leaves none of the secrets it used in the log: not the passwords,
  the tokens, the session cookie, the CSRF tokens, the reset link's token or the SMTP password.
"""

from __future__ import annotations

import io
import json
import logging
import re
import subprocess
import sys
import uuid

import pytest
import sqlalchemy as sa

from tests.system.servers import REPOSITORY, free_port, get, running_gunicorn, system_database
from tests.web.conftest import csrf_token
from tests.world import PASSWORD, build_world
from timebank import notifications, schema
from timebank.app import create_app
from timebank.config import ConfigError
from timebank.logs import make_handler
from timebank.models import OutboxMessage

REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")
LINE_KEYS = {"time", "level", "logger", "message", "request_id"}


@pytest.fixture
def make_app(tmp_path):
    """Apps in production mode on one migrated SQLite database; their engines disposed afterwards."""
    url = f"sqlite:///{tmp_path / 'timebank.sqlite'}"
    schema.upgrade(url)
    apps = []

    def make(**overrides):
        config = {
            "ENV": "production",
            "SECRET_KEY": uuid.uuid4().hex * 2,
            "DATABASE_URL": url,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "PUBLIC_URL": "https://tijdbank.example.org",
        }
        apps.append(create_app({**config, **overrides}))
        return apps[-1]

    yield make
    for app in apps:
        app.extensions["timebank"].engine.dispose()


@pytest.fixture
def service(make_app):
    """The app (not named ``app``: pytest-flask would hold a request context open around the test)."""
    return make_app()


@pytest.fixture
def world(service):
    return build_world(service.extensions["timebank"].database)


@pytest.fixture
def client(service):
    client = service.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"  # the session cookie is Secure
    return client


class CapturedLog:
    """The root logger at DEBUG into a JSON handler, as the app sets it up in production."""

    def __init__(self):
        self.stream = io.StringIO()
        self.handler = make_handler("json", stream=self.stream)

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.text.splitlines()]


@pytest.fixture
def captured_log():
    root = logging.getLogger()
    captured, level = CapturedLog(), root.level
    root.addHandler(captured.handler)
    root.setLevel(logging.DEBUG)
    try:
        yield captured
    finally:
        root.removeHandler(captured.handler)
        root.setLevel(level)


def log_in(client, email: str, password: str = PASSWORD):
    page = client.get("/login").get_data(as_text=True)
    token = csrf_token(page)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token}), token


# --- the log's lines ----------------------------------------------------------------------------------------------


def test_every_log_line_is_one_json_object_with_the_request_id_of_its_request(client, world, captured_log):
    answers = [
        client.get("/"),
        client.get("/no-such-page"),
        client.get(f"/api/v1/communities/{world.community_id}/audit-log"),
        client.post("/login", data={"email": "x@example.org", "password": "nope"}),
    ]
    logging.getLogger("timebank.test").warning('a message\nover two lines, with a "quote" and ünïcode')
    text = captured_log.text
    lines = captured_log.lines()
    assert len(lines) == len(text.splitlines()) >= len(answers) + 1
    for line in lines:
        assert line.keys() >= LINE_KEYS, line
        assert line["time"].endswith("+00:00") and line["level"] in {"DEBUG", "INFO", "WARNING", "ERROR"}
    # One line per request, with its id, method, route, status and duration.
    requests = [line for line in lines if line["logger"] == "timebank.request"]
    assert [line["request_id"] for line in requests] == [answer.headers["X-Request-Id"] for answer in answers]
    assert [(line["method"], line["path"], line["status"]) for line in requests] == [
        ("GET", "/", 200),
        ("GET", "/no-such-page", 404),
        ("GET", f"/api/v1/communities/{world.community_id}/audit-log", 401),
        ("POST", "/login", 400),
    ]
    assert all(isinstance(line["duration_ms"], float) for line in requests)
    outside = lines[-1]
    assert outside["message"] == 'a message\nover two lines, with a "quote" and ünïcode'
    assert outside["request_id"] is None


def test_a_line_logged_while_handling_a_request_carries_its_id(service, client, captured_log):
    def broken(**_):
        raise RuntimeError("a bug")

    service.view_functions["web.home"] = broken
    answer = client.get("/")
    assert answer.status_code == 500
    errors = [line for line in captured_log.lines() if line["level"] == "ERROR"]
    assert errors and {line["request_id"] for line in errors} == {answer.headers["X-Request-Id"]}
    assert "RuntimeError: a bug" in errors[0]["exception"]


# --- request ids --------------------------------------------------------------------------------------------------


def test_every_answer_has_a_new_request_id_and_every_problem_quotes_it(client, world):
    community = f"/api/v1/communities/{world.community_id}"
    answers = {
        "page": client.get("/"),
        "not found page": client.get("/nothing-here"),
        "health": client.get("/healthz"),
        "unauthenticated": client.get(f"{community}/audit-log"),
        "not found": client.get("/api/v1/nothing-here"),
        "method": client.delete(f"{community}/audit-log"),
        "bad token": client.get(f"{community}/audit-log", headers={"Authorization": "Bearer guessed"}),
        "bad json": client.post(f"{community}/payments", data="{", content_type="application/json"),
        "too large": client.post(f"{community}/payments", data="x" * (2 * 1024 * 1024)),
    }
    ids = {name: answer.headers.get("X-Request-Id") for name, answer in answers.items()}
    assert all(REQUEST_ID.match(value or "") for value in ids.values()), ids
    assert len(set(ids.values())) == len(ids)
    problems = {name: answer for name, answer in answers.items() if answer.content_type == "application/problem+json"}
    assert set(problems) >= {"unauthenticated", "not found", "method", "bad token", "bad json", "too large"}
    for name, answer in problems.items():
        assert answer.get_json()["request_id"] == ids[name], name


@pytest.mark.parametrize(
    ("offered", "kept"),
    [
        ("4bf92f3577b34da6a3ce929d0e0e4736", True),
        ("req-2026.03.02:0001_a", True),
        ("x" * 64, True),
        ("x" * 65, False),
        ("", False),
        ("two words", False),
        ("tab\there", False),
        ('quote"', False),
        ("ünïcode", False),
        ("{json}", False),
    ],
)
def test_a_trusted_proxys_request_id_is_kept_only_when_short_and_safe(make_app, offered, kept):
    answer = make_app(TRUSTED_PROXIES=1).test_client().get("/healthz", headers={"X-Request-Id": offered})
    got = answer.headers["X-Request-Id"]
    assert (got == offered) is kept
    if not kept:
        assert REQUEST_ID.match(got)


def test_without_a_trusted_proxy_a_clients_request_id_is_not_taken(client):
    answer = client.get("/healthz", headers={"X-Request-Id": "chosen-by-the-client"})
    assert REQUEST_ID.match(answer.headers["X-Request-Id"])


def test_a_trusted_proxys_request_id_reaches_the_problem_and_the_log(make_app, captured_log):
    answer = make_app(TRUSTED_PROXIES=1).test_client().get("/api/v1/nothing", headers={"X-Request-Id": "nginx-0042"})
    assert answer.headers["X-Request-Id"] == "nginx-0042" and answer.get_json()["request_id"] == "nginx-0042"
    assert [line["request_id"] for line in captured_log.lines() if line["logger"] == "timebank.request"] == [
        "nginx-0042"
    ]


# --- the app sets up logging in a process of its own --------------------------------------------------------------

SHOW_LOG = """
import logging, sys
from timebank.app import create_app
app = create_app({"ENV": sys.argv[1], "DATABASE_URL": sys.argv[2], "INSTANCE_PATH": sys.argv[3]})
client = app.test_client()
client.get("/healthz")
client.get("/api/v1/nothing-here")
logging.getLogger("timebank.example").debug("a debug line")
logging.getLogger("timebank.example").warning("a warning")
"""


def run_app_process(tmp_path, environment: str, **variables) -> subprocess.CompletedProcess:
    url = f"sqlite:///{tmp_path / 'process.sqlite'}"
    schema.upgrade(url)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPOSITORY), **variables}
    return subprocess.run(
        [sys.executable, "-c", SHOW_LOG, environment, url, str(tmp_path / "instance")],
        cwd=REPOSITORY,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def test_in_a_process_of_its_own_the_app_logs_json_lines_to_stderr(tmp_path):
    result = run_app_process(tmp_path, "testing", TIMEBANK_LOG_LEVEL="INFO")
    assert result.stdout == ""
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert lines and all(line.keys() >= LINE_KEYS for line in lines)
    messages = [(line["logger"], line["message"]) for line in lines]
    assert ("timebank.request", "GET /api/v1/nothing-here 404") in messages
    assert ("timebank.example", "a warning") in messages and ("timebank.example", "a debug line") not in messages
    # The health check that went well has no line of its own (load balancers ask every few seconds).
    assert not [line for line in lines if line.get("path") == "/healthz"]


def test_in_development_the_log_is_text_and_the_level_can_be_raised_or_lowered(tmp_path):
    text = run_app_process(tmp_path, "development", TIMEBANK_LOG_LEVEL="DEBUG").stderr
    assert "DEBUG timebank.example [-] a debug line" in text
    assert re.search(r"INFO timebank\.request \[[0-9a-f]{32}\] GET /api/v1/nothing-here 404", text)
    quiet = run_app_process(tmp_path, "production", TIMEBANK_LOG_LEVEL="warning", TIMEBANK_SECRET_KEY="s" * 40)
    assert [json.loads(line)["message"] for line in quiet.stderr.splitlines()] == ["a warning"]
    chosen = run_app_process(tmp_path, "development", TIMEBANK_LOG_FORMAT="json").stderr
    assert all(json.loads(line) for line in chosen.splitlines())


def test_a_process_that_configured_logging_keeps_its_own(tmp_path):
    script = "import logging; logging.basicConfig(format='OWN %(message)s', level='INFO')\n" + SHOW_LOG
    url = f"sqlite:///{tmp_path / 'own.sqlite'}"
    schema.upgrade(url)
    result = subprocess.run(
        [sys.executable, "-c", script, "testing", url, str(tmp_path / "instance")],
        cwd=REPOSITORY,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPOSITORY)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "OWN GET /api/v1/nothing-here 404" in result.stderr.splitlines()


@pytest.mark.parametrize(
    ("variable", "value"), [("TIMEBANK_LOG_FORMAT", "xml"), ("TIMEBANK_LOG_LEVEL", "LOUD"), ("TIMEBANK_LOG_LEVEL", "")]
)
def test_a_malformed_log_setting_stops_the_app_naming_the_variable(monkeypatch, tmp_path, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=variable):
        create_app({"ENV": "testing", "INSTANCE_PATH": str(tmp_path), "CHECK_SCHEMA_ON_START": False})


# --- no secrets in the log ----------------------------------------------------------------------------------------


def test_no_password_token_cookie_or_link_reaches_the_log(service, client, world, captured_log):
    secrets = {"password": PASSWORD}
    community = f"/api/v1/communities/{world.community_id}"
    email = world.ans.user.email

    secrets["wrong password"] = "Wr0ng but secret passphrase"
    refused, secrets["login form's CSRF token"] = log_in(client, email, secrets["wrong password"])
    assert refused.status_code == 200
    logged_in, _ = log_in(client, email)
    assert logged_in.status_code == 302
    page = client.get(f"/c/{world.community.slug}/").get_data(as_text=True)
    secrets["page's CSRF token"] = csrf_token(page)
    secrets["session cookie"] = client.get_cookie("session").value
    with client.session_transaction() as session:
        secrets["session's CSRF secret"] = session["csrf_token"]
        secrets["session id"] = session["session_id"]
    created = client.post(
        "/api/v1/me/tokens", json={"name": "phone"}, headers={"X-CSRF-Token": secrets["page's CSRF token"]}
    )
    assert created.status_code == 201
    secrets["personal token"] = created.get_json()["token"]

    bearer = {"Authorization": f"Bearer {secrets['personal token']}"}
    assert client.get(f"/api/v1/members/{world.ans.id}/balance", headers=bearer).status_code == 200
    paid = client.post(
        f"{community}/payments",
        json={"payee_membership_id": str(world.bert.id), "minutes": 30, "description": "boodschappen"},
        headers={**bearer, "Idempotency-Key": "morning-errands"},
    )
    assert paid.status_code == 201
    assert client.get(f"{community}/audit-log", headers=bearer).status_code == 403
    secrets["guessed token"] = "tb_m_1_GuessedButSecretish0123456789abcdef"
    guessed = {"Authorization": f"Bearer {secrets['guessed token']}"}
    assert client.get(f"/api/v1/members/{world.ans.id}/balance", headers=guessed).status_code == 401

    # A forgotten password: the link goes out by SMTP (to a server that is not there), and is used.
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/").get_data(as_text=True))})
    form = client.get("/password/forgotten").get_data(as_text=True)
    asked = client.post("/password/forgotten", data={"email": email, "csrf_token": csrf_token(form)})
    assert asked.status_code == 302
    database = service.extensions["timebank"].database
    body = database.read(
        lambda *, session: session.scalars(sa.select(OutboxMessage.body).order_by(OutboxMessage.id.desc())).first()
    )
    link = re.search(r"https://tijdbank\.example\.org(/password/reset/(\S+))", body)
    assert link, body
    path, secrets["reset token"] = link.group(1), link.group(2)
    secrets["SMTP password"] = "smtp-Secret-4711"
    smtp = notifications.SmtpTransport(
        host="127.0.0.1",
        port=free_port(),
        username="tijdbank",
        password=secrets["SMTP password"],
        use_starttls=False,
        sender="tijdbank@example.org",
        timeout_seconds=2,
    )
    report = notifications.deliver_due(database, now=None, transport=smtp)
    assert report.emails_sent == 0 and report.retries_scheduled >= 1
    # Paths under the link that match no route (a trailing slash, a wrong method) are logged without it too.
    assert client.get(f"{path}/").status_code == 404
    assert client.put(path).status_code in {400, 405}
    reset_form = client.get(path).get_data(as_text=True)
    secrets["new password"] = "a brand new secret passphrase 42"
    reset = client.post(
        path,
        data={
            "password": secrets["new password"],
            "password_again": secrets["new password"],
            "csrf_token": csrf_token(reset_form),
        },
    )
    assert reset.status_code == 302, reset.get_data(as_text=True)[:2000]

    text = captured_log.text
    lines = captured_log.lines()
    # The capture saw the morning: every request's line, the failed delivery, the reset link's route.
    assert sum(1 for line in lines if line["logger"] == "timebank.request") >= 12
    assert any(line["logger"] == "timebank.notifications" and line["level"] == "WARNING" for line in lines), text
    assert any(line.get("path") == "/password/reset/<token>" for line in lines)
    leaked = {name for name, secret in secrets.items() if secret and secret in text}
    assert not leaked, f"in the log: {sorted(leaked)}"


def test_a_database_error_in_the_log_does_not_show_the_statements_parameters(service, client, captured_log):
    secret = "a-password-hash-or-a-note-$argon2id$v=19"

    def insert_twice(**_):
        with service.extensions["timebank"].engine.begin() as connection:
            connection.execute(
                sa.text("INSERT INTO alembic_version (version_num) SELECT :value UNION ALL SELECT :value"),
                {"value": secret},
            )

    service.view_functions["web.home"] = insert_twice
    assert client.get("/").status_code == 500
    errors = [line for line in captured_log.lines() if line["level"] == "ERROR"]
    assert errors and "IntegrityError" in errors[0]["exception"]
    assert secret not in captured_log.text


def test_in_production_without_smtp_a_reset_link_is_not_written_to_the_log(service, client, world, captured_log):
    form = client.get("/password/forgotten").get_data(as_text=True)
    email = world.ans.user.email
    assert client.post("/password/forgotten", data={"email": email, "csrf_token": csrf_token(form)}).status_code == 302
    database = service.extensions["timebank"].database
    body = database.read(
        lambda *, session: session.scalars(sa.select(OutboxMessage.body).order_by(OutboxMessage.id.desc())).first()
    )
    token = re.search(r"/password/reset/(\S+)", body).group(1)
    transport = notifications.transport_from_settings(service.config)
    assert notifications.deliver_due(database, now=None, transport=transport).emails_sent >= 1
    mail_lines = [line for line in captured_log.lines() if line["logger"] == "timebank.mail"]
    assert mail_lines and all(line["level"] == "WARNING" for line in mail_lines)
    assert any(email in line["message"] and "TIMEBANK_SMTP_HOST" in line["message"] for line in mail_lines)
    assert token not in captured_log.text


def test_in_development_without_smtp_the_mail_with_its_link_is_logged_on_purpose(make_app, captured_log):
    development = make_app(ENV="development")
    transport = notifications.transport_from_settings(development.config)
    message = notifications.Email(
        recipient="ans@example.org",
        language="nl",
        subject="Nieuw wachtwoord",
        body="https://tijdbank.example.org/password/reset/the-token",
        message_ids=(1,),
    )
    transport.send(message)
    assert "/password/reset/the-token" in captured_log.text


def test_under_gunicorn_the_log_names_every_request_but_never_a_reset_links_token(tmp_path):
    """gunicorn.conf.py leaves gunicorn's access log off (it would write the path whole); the app's own request line,
    with the token left out, is all that reaches the server's output — and gunicorn believes no X-Forwarded-* header
    by itself (only the app's TIMEBANK_TRUSTED_PROXIES decides)."""
    token = "secret-" + uuid.uuid4().hex
    with system_database("sqlite", tmp_path) as url, running_gunicorn(url, tmp_path, workers=1) as server:
        status, _ = get(server.url, f"/password/reset/{token}")
        assert status == 200  # the page that says the link is no longer valid
        output = server.log_path.read_text()
        environment = server.environment
    assert token not in output
    request_lines = [json.loads(line) for line in output.splitlines() if '"timebank.request"' in line]
    assert [line["path"] for line in request_lines if line["path"].startswith("/password")] == [
        "/password/reset/<token>"
    ]
    config = subprocess.run(
        [str(REPOSITORY / ".venv/bin/gunicorn"), "-c", "gunicorn.conf.py", "--print-config", "wsgi:app"],
        cwd=REPOSITORY,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    settings = {
        name.strip(): value.strip()
        for name, value in (line.split("=", 1) for line in config.splitlines() if "=" in line)
    }
    assert settings["accesslog"] == "None"
    assert settings["forwarded_allow_ips"] == "[]"
