"""Database trouble: the PostgreSQL server goes away under load, and comes back.

A throwaway PostgreSQL cluster of the test's own (``initdb`` into a temporary directory as the ``postgres`` user,
on a free port) serves the app. Client threads send API reads, API payments (each with an Idempotency-Key) and a
signed-in member's web page, while the test stops the cluster (``pg_ctl stop -m immediate``: every server process
is gone at once, as in a crash) and, a few seconds later, starts it again. Then:

- while it is down, every API answer is 503 problem+json with ``Retry-After`` and its request id, every page is the
  503 page with ``Retry-After``; nothing is a 500, and no request waits longer than ``ANSWER_BOUND_SECONDS``
  (``TIMEBANK_DATABASE_CONNECT_TIMEOUT_SECONDS`` is 2);
- ``/healthz`` and ``/readyz`` report the database unreachable (503), and ready again afterwards;
- once it is back, service resumes by itself, without restarting the app: the connection pool recovers;
- no money was made or lost: every payment answered 201 is in the ledger once, every payment answered 503 is
  retried with its key and then is in it once or was refused, and the ledger verifies.

Once in-process (the Flask app under client threads), once under gunicorn with its workers recycled during the
outage. Figures (requests answered during the outage, time to the first 503, time to recover) are printed and
kept in the test's ``user_properties``. Skipped without PostgreSQL's server programs (a failure under CI=true).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa

import ledger
from ledger.models import transaction_table
from tests.conftest import UNDER_LOAD
from tests.system.servers import Gunicorn, free_port
from tests.web.conftest import csrf_token
from tests.world import PASSWORD, build_world
from timebank import credentials, schema
from timebank.app import create_app
from timebank.database import Database
from timebank.logs import REQUEST_ID_HEADER

pytestmark = [pytest.mark.slow, UNDER_LOAD]

POSTGRESQL_BIN = Path(os.environ.get("TIMEBANK_POSTGRESQL_BIN", "/usr/lib/postgresql/15/bin"))
CONNECT_TIMEOUT_SECONDS = 2
# No answer may take longer than this, database or no database.
ANSWER_BOUND_SECONDS = 10
# How long the app may take to serve again once PostgreSQL accepts connections.
RECOVERY_BOUND_SECONDS = 30
CLIENT_THREADS = int(os.environ.get("DATABASE_TROUBLE_CLIENTS", "6"))
OUTAGE_SECONDS = float(os.environ.get("DATABASE_TROUBLE_OUTAGE_SECONDS", "4"))
KINDS = ("read", "pay", "page")
# How long a payment answered 503 may go on being answered "still in flight" when it is sent again.
IN_FLIGHT_BOUND_SECONDS = float(os.environ.get("DATABASE_TROUBLE_IN_FLIGHT_BOUND_SECONDS", "75"))


# --- a PostgreSQL cluster of the test's own -----------------------------------------------------------------------


def require_postgresql_programs() -> None:
    missing = [name for name in ("initdb", "pg_ctl") if not (POSTGRESQL_BIN / name).exists()]
    if missing:
        message = f"the database trouble test needs PostgreSQL's {', '.join(missing)} in {POSTGRESQL_BIN}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true: {message}", pytrace=False)
        pytest.skip(message)


class Cluster:
    """A PostgreSQL cluster in a temporary directory, owned by ``postgres`` when the test runs as root (initdb
    refuses to run as root), listening on 127.0.0.1 on a free port and on a socket in its own directory."""

    def __init__(self) -> None:
        # Not under pytest's tmp_path: the postgres user must be able to reach it.
        self.root = Path(tempfile.mkdtemp(prefix="timebank-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sockets"
        self.log = self.root / "postgresql.log"
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        self.sockets.mkdir()
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(self.sockets, "postgres", "postgres")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/timebank"

    def _run(self, *arguments: str, timeout: float = 120) -> subprocess.CompletedProcess:
        options = {"user": "postgres", "group": "postgres", "extra_groups": []} if self.as_root else {}
        return subprocess.run(
            [str(POSTGRESQL_BIN / arguments[0]), *arguments[1:]],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
            **options,
        )

    def create(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        self.start()
        admin = ledger.create_engine(self.url.replace("/timebank", "/postgres"))
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text("CREATE DATABASE timebank"))
        admin.dispose()
        schema.upgrade(self.url)

    def start(self) -> None:
        # fsync off: a throwaway cluster on a test machine; an immediate stop kills the server, not the kernel,
        # so every commit that was acknowledged is still in the files.
        options = f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "-t", "60", "start")

    def stop(self, mode: str = "immediate") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def destroy(self) -> None:
        """Stop the server (whatever it is doing) and remove every file."""
        try:
            if self.running():
                with contextlib.suppress(subprocess.SubprocessError):
                    self.stop("immediate")
            pid_file = self.data / "postmaster.pid"
            if pid_file.exists():  # pg_ctl could not stop it: the postmaster by its own pid, nothing else
                with contextlib.suppress(ValueError, ProcessLookupError, OSError):
                    os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return "(no log)"


@pytest.fixture(scope="module")
def cluster():
    require_postgresql_programs()
    server = Cluster()
    try:
        server.create()
        yield server
    finally:
        server.destroy()


# --- the clients --------------------------------------------------------------------------------------------------


@dataclass
class Answer:
    kind: str
    started: float
    elapsed: float
    status: int  # 0: no answer at all (connection refused or reset)
    content_type: str = ""
    retry_after: str | None = None
    request_id: str | None = None
    body: dict | None = None
    key: str | None = None
    payment: dict | None = None
    who: str = ""

    @property
    def ended(self) -> float:
        return self.started + self.elapsed

    @property
    def code(self) -> str | None:
        return (self.body or {}).get("code")

    @property
    def ok(self) -> bool:
        if self.kind == "pay":
            return self.status == 201 or (self.status == 422 and self.code in LIMITS)
        return self.status == 200


LIMITS = {"balance_below_floor", "balance_above_ceiling"}


@dataclass
class Scene:
    """The people, their tokens and what the clients send."""

    community_id: int
    slug: str
    tokens: dict[str, str]
    memberships: dict[str, int]
    emails: dict[str, str]
    names: tuple[str, ...] = ("ans", "bert", "cor")


def build_scene(database: Database) -> Scene:
    world = build_world(database)
    names = ("ans", "bert", "cor")
    tokens = {
        name: database.run(credentials.create_personal_token, actor=getattr(world, name).actor, name="trouble").secret
        for name in names
    }
    return Scene(
        community_id=world.community_id,
        slug=world.community.slug,
        tokens=tokens,
        memberships={name: getattr(world, name).id for name in names},
        emails={name: getattr(world, name).user.email for name in names},
    )


class Transport:
    """How a client sends a request: ``send(method, path, headers, body) -> (status, headers, bytes)``."""

    def send(self, method: str, path: str, headers: dict, body: bytes | None):  # pragma: no cover - interface
        raise NotImplementedError

    def log_in(self, email: str) -> None:
        page = self.send("GET", "/login", {}, None)[2].decode()
        form = f"email={email.replace('@', '%40')}&password={PASSWORD.replace(' ', '+')}&csrf_token={csrf_token(page)}"
        status, _, _ = self.send("POST", "/login", {"Content-Type": "application/x-www-form-urlencoded"}, form.encode())
        assert status == 302, f"logging in answered {status}"


class InProcess(Transport):
    """The Flask test client, over https (the session cookie is Secure), keeping cookies."""

    def __init__(self, app):
        self.client = app.test_client()
        self.client.environ_base["wsgi.url_scheme"] = "https"

    def send(self, method, path, headers, body):
        response = self.client.open(path, method=method, headers=headers, data=body)
        return response.status_code, response.headers, response.get_data()


class OverHttp(Transport):
    """Plain HTTP to gunicorn, one connection per request, keeping the session cookie by hand."""

    def __init__(self, port: int):
        self.port = port
        self.cookie: str | None = None

    def send(self, method, path, headers, body):
        headers = dict(headers)
        if self.cookie:
            headers["Cookie"] = self.cookie
        # gunicorn behind a TLS proxy: the proxy says the request came over https (TRUSTED_PROXIES=1).
        headers["X-Forwarded-Proto"] = "https"
        headers["Referer"] = f"https://127.0.0.1:{self.port}/login"  # CSRF over https checks the referrer too
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=ANSWER_BOUND_SECONDS + 5)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        for value in response.headers.get_all("Set-Cookie") or []:
            if value.startswith("session="):
                self.cookie = value.split(";", 1)[0]
        return response.status, response.headers, data


@dataclass
class Load:
    """Client threads sending reads, payments and page views until told to stop; every answer is kept."""

    scene: Scene
    make_transport: callable
    threads: int = CLIENT_THREADS
    answers: list[Answer] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    failures: list[str] = field(default_factory=list)

    def start(self) -> list[threading.Thread]:
        workers = [threading.Thread(target=self._client, args=(index,), daemon=True) for index in range(self.threads)]
        for worker in workers:
            worker.start()
        self._workers = workers
        return workers

    def stop(self) -> None:
        self.stopping.set()
        for worker in self._workers:
            worker.join(timeout=ANSWER_BOUND_SECONDS * 3)
        assert not any(worker.is_alive() for worker in self._workers), "a client thread hangs"
        assert not self.failures, self.failures

    def _client(self, index: int) -> None:
        try:
            transport = self.make_transport()
            names = self.scene.names
            me = names[index % len(names)]
            transport.log_in(self.scene.emails[me])
            number = 0
            while not self.stopping.is_set():
                kind = KINDS[(index + number) % len(KINDS)]
                other = names[(names.index(me) + 1 + number % 2) % len(names)]
                answer = self.request(transport, kind, me, other)
                with self.lock:
                    self.answers.append(answer)
                number += 1
                time.sleep(0.01)
        except Exception as error:  # noqa: BLE001 - reported by stop()
            self.failures.append(f"client {index}: {error!r}")

    def request(self, transport: Transport, kind: str, me: str, other: str, *, key=None, payment=None) -> Answer:
        scene = self.scene
        headers = {"Authorization": f"Bearer {scene.tokens[me]}"}
        body = None
        if kind == "read":
            method, path = "GET", f"/api/v1/members/{scene.memberships[me]}/balance"
        elif kind == "pay":
            method, path = "POST", f"/api/v1/communities/{scene.community_id}/payments"
            key = key or uuid.uuid4().hex
            payment = payment or {
                "payee_membership_id": str(scene.memberships[other]),
                "minutes": 5,
                "description": "database trouble",
            }
            headers.update({"Idempotency-Key": key, "Content-Type": "application/json"})
            body = json.dumps(payment).encode()
        else:
            method, path, headers = "GET", f"/c/{scene.slug}/", {}
        started = time.monotonic()
        try:
            status, response_headers, data = transport.send(method, path, headers, body)
        except OSError:
            status, response_headers, data = 0, {}, b""
        elapsed = time.monotonic() - started
        content_type = response_headers.get("Content-Type", "")
        parsed = None
        if "json" in content_type:
            with contextlib.suppress(ValueError):
                parsed = json.loads(data)
        return Answer(
            kind=kind,
            started=started,
            elapsed=elapsed,
            status=status,
            content_type=content_type,
            retry_after=response_headers.get("Retry-After"),
            request_id=response_headers.get(REQUEST_ID_HEADER),
            body=parsed,
            key=key,
            payment=payment,
            who=me,
        )

    def since(self, moment: float) -> list[Answer]:
        with self.lock:
            return [answer for answer in self.answers if answer.started >= moment]

    def wait_for(self, condition, *, timeout: float, poll: float = 0.05) -> float:
        """Seconds until ``condition()`` holds; fails after ``timeout``."""
        started = time.monotonic()
        while not condition():
            if time.monotonic() - started > timeout:
                recent = Counter((a.kind, a.status, a.code) for a in self.since(started))
                raise AssertionError(f"not within {timeout} s; answers meanwhile: {dict(recent)}; {self.failures}")
            time.sleep(poll)
        return time.monotonic() - started


# --- the scenario -------------------------------------------------------------------------------------------------


def answers_each_kind_ok(load: Load, moment: float, *, in_a_row: int = 3) -> bool:
    """Whether, since ``moment``, each kind's last ``in_a_row`` answers all went well."""
    recent = load.since(moment)
    for kind in KINDS:
        of_kind = [answer for answer in recent if answer.kind == kind]
        if len(of_kind) < in_a_row or not all(answer.ok for answer in of_kind[-in_a_row:]):
            return False
    return True


def check_outage_answer(answer: Answer) -> list[str]:
    """What is wrong with an answer given while the database was down (nothing: a proper 503)."""
    where = f"{answer.kind} answered {answer.status} after {answer.elapsed:.2f} s"
    problems = []
    if answer.status != 503:
        problems.append(f"{where}, not 503")
    if answer.retry_after is None or not answer.retry_after.isdigit():
        problems.append(f"{where} without a Retry-After")
    if not answer.request_id:
        problems.append(f"{where} without an {REQUEST_ID_HEADER}")
    if answer.kind == "page":
        if not answer.content_type.startswith("text/html"):
            problems.append(f"{where} as {answer.content_type}, not the 503 page")
    elif answer.content_type != "application/problem+json":
        problems.append(f"{where} as {answer.content_type}, not problem+json")
    elif answer.code != "service_unavailable" or answer.body.get("request_id") != answer.request_id:
        problems.append(f"{where} with {answer.body}")
    return problems


def health(transport: Transport, path: str) -> tuple[int, dict, float]:
    started = time.monotonic()
    status, _, data = transport.send("GET", path, {}, None)
    return status, json.loads(data), time.monotonic() - started


def run_outage(cluster: Cluster, load: Load, probe: Transport, figures: dict) -> tuple[float, float]:
    """Load; stop the cluster; keep loading; start it again; wait until service is back. Checks as it goes;
    returns when the outage began and ended (``time.monotonic()``)."""
    load.start()
    try:
        began = time.monotonic()
        load.wait_for(lambda: answers_each_kind_ok(load, began), timeout=30)
        before = load.since(began)
        assert all(answer.ok for answer in before), Counter((a.kind, a.status, a.code) for a in before if not a.ok)

        cluster.stop("immediate")
        stopped = time.monotonic()
        # Until the first 503: requests already past their database work still answer.
        figures["seconds_to_first_503"] = round(
            load.wait_for(lambda: any(a.status == 503 for a in load.since(stopped)), timeout=ANSWER_BOUND_SECONDS), 2
        )
        time.sleep(OUTAGE_SECONDS)
        for path, body_check in (("/healthz", {"status": "degraded"}), ("/readyz", {"status": "not_ready"})):
            status, body, elapsed = health(probe, path)
            assert status == 503 and body_check.items() <= body.items(), (path, status, body)
            assert body["database"] == {"reachable": False, "schema": "unknown"}, (path, body)
            assert elapsed < ANSWER_BOUND_SECONDS, f"{path} took {elapsed:.1f} s with the database down"
        outage_ended = time.monotonic()
        cluster.start()
        back = time.monotonic()
        figures["seconds_to_recover"] = round(
            load.wait_for(lambda: answers_each_kind_ok(load, back), timeout=RECOVERY_BOUND_SECONDS), 2
        )
        for path in ("/healthz", "/readyz"):
            status, body, _ = health(probe, path)
            assert status == 200 and body["database"] == {"reachable": True, "schema": "up_to_date"}, (path, body)
    finally:
        load.stop()

    # Answers to requests sent after the first 503 and before the restart: the outage proper.
    first_503 = min(a.started for a in load.since(stopped) if a.status == 503)
    during = [a for a in load.answers if first_503 <= a.started and a.ended <= outage_ended]
    problems = [problem for answer in during for problem in check_outage_answer(answer)]
    assert not problems, f"{len(problems)} bad answers during the outage, e.g. {problems[:5]}"
    assert {a.kind for a in during} == set(KINDS), Counter(a.kind for a in during)
    everything = load.answers
    unexpected = [a for a in everything if not a.ok and a.status != 503]
    assert not unexpected, Counter((a.kind, a.status, a.code) for a in unexpected)
    slowest = max(a.elapsed for a in everything)
    assert slowest < ANSWER_BOUND_SECONDS, f"an answer took {slowest:.1f} s"
    figures.update(
        requests=len(everything),
        answered_503_during_outage=len(during),
        during_outage_by_kind=dict(Counter(a.kind for a in during)),
        slowest_answer_seconds=round(slowest, 2),
        slowest_during_outage_seconds=round(max(a.elapsed for a in during), 2),
        outage_seconds=round(outage_ended - stopped, 1),
    )
    return stopped, outage_ended


def check_money(cluster: Cluster, load: Load, transport: Transport, figures: dict) -> None:
    """Payments answered 503 are sent again with their key; then every payment answered 201 is in the ledger
    exactly once, every refused one is not, and the ledger verifies."""
    payments = [a for a in load.answers if a.kind == "pay"]
    retried = Counter()
    final: dict[str, Answer] = {}
    for answer in payments:
        final[answer.key] = answer
        if answer.status in (0, 503):
            # "In flight": the first request holds the key, or held it when the database went (its record is
            # taken over once it is stale); wait, and send again.
            deadline = time.monotonic() + IN_FLIGHT_BOUND_SECONDS
            while True:
                again = load.request(transport, "pay", answer.who, "", key=answer.key, payment=answer.payment)
                if again.code != "idempotency_request_in_flight" or time.monotonic() > deadline:
                    break
                time.sleep(1)
            retried[again.status, again.code] += 1
            final[answer.key] = again
    figures.update(
        payments=len(payments),
        payments_acknowledged=sum(1 for a in final.values() if a.status == 201),
        payments_retried_after_503={f"{status} {code or ''}".strip(): n for (status, code), n in retried.items()},
    )
    unclear = Counter((a.status, a.code) for a in final.values() if not a.ok)
    assert not unclear, f"payments without a clear outcome after the outage: {unclear}; {figures}"
    engine = ledger.create_engine(cluster.url)
    try:
        with engine.connect() as connection:
            column = transaction_table.c.idempotency_key
            in_ledger = Counter(connection.execute(sa.select(column).where(column.in_(list(final)))).scalars())
        with sa.orm.Session(engine) as session, session.begin():
            report = ledger.verify(session)
    finally:
        engine.dispose()
    wrong = {key: in_ledger[key] for key, a in final.items() if in_ledger[key] != (1 if a.status == 201 else 0)}
    assert not wrong, f"payments in the ledger not as answered (key: times): {wrong}"
    assert report.ok, report


def report(request, name: str, figures: dict) -> None:
    print(f"\n{name}: {json.dumps(figures)}")
    request.node.user_properties.append((name, figures))


def test_in_process_the_api_and_pages_answer_503_while_postgresql_is_down_and_recover_by_themselves(
    cluster, tmp_path, request
):
    app = create_app(
        {
            "ENV": "production",
            "SECRET_KEY": uuid.uuid4().hex * 2,
            "DATABASE_URL": cluster.url,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "DATABASE_CONNECT_TIMEOUT_SECONDS": CONNECT_TIMEOUT_SECONDS,
        }
    )
    try:
        scene = build_scene(app.extensions["timebank"].database)
        load = Load(scene, lambda: InProcess(app))
        figures: dict = {}
        run_outage(cluster, load, InProcess(app), figures)
        check_money(cluster, load, InProcess(app), figures)
    finally:
        app.extensions["timebank"].engine.dispose()
    report(request, "in process", figures)


def test_under_gunicorn_workers_answer_503_while_postgresql_is_down_and_recover_without_a_restart(
    cluster, tmp_path, request
):
    engine = ledger.create_engine(cluster.url)
    try:
        scene = build_scene(Database(engine))
    finally:
        engine.dispose()
    server = Gunicorn(
        cluster.url,
        tmp_path,
        workers=2,
        TIMEBANK_DATABASE_CONNECT_TIMEOUT_SECONDS=str(CONNECT_TIMEOUT_SECONDS),
        TIMEBANK_TRUSTED_PROXIES="1",
        # Workers are recycled every few dozen requests, so that some are replaced while the database is down.
        GUNICORN_MAX_REQUESTS="40",
    )
    births: dict[int, float] = {}
    watching = threading.Event()

    def watch_workers() -> None:
        while not watching.is_set():
            for pid in server.workers():
                births.setdefault(pid, time.monotonic())
            time.sleep(0.05)

    watcher = threading.Thread(target=watch_workers, daemon=True)
    try:
        server.start()
        master = server.process.pid
        watcher.start()
        load = Load(scene, lambda: OverHttp(server.port))
        figures: dict = {}
        try:
            stopped, outage_ended = run_outage(cluster, load, OverHttp(server.port), figures)
        except (AssertionError, OSError) as error:
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.process.wait(timeout=10)  # a master that is stopping
            if server.process.poll() is not None:  # e.g. "Worker failed to boot": see gunicorn.conf.py's on_starting
                raise AssertionError(
                    f"gunicorn stopped during the outage (exit {server.process.returncode}):\n{server.log_tail(8)}"
                ) from error
            raise
        check_money(cluster, load, OverHttp(server.port), figures)
        assert server.process.poll() is None and server.process.pid == master, server.log_tail()
    finally:
        watching.set()
        server.stop()
    figures["workers_started"] = len(births)
    figures["workers_started_during_outage"] = sum(1 for born in births.values() if stopped < born < outage_ended)
    # The point of recycling: a worker that started while the database was down served, and the server stayed up.
    assert figures["workers_started_during_outage"] >= 1, figures
    report(request, "gunicorn", figures)
