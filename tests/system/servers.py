"""Real servers for the system tests: gunicorn serving ``wsgi:app`` with the repository's ``gunicorn.conf.py``, as
in production, on a database of its own.

- ``system_database(kind, directory)``: a migrated database that nothing else uses — a SQLite file, or a new
  PostgreSQL database (``timebank_sys_<random>``) created on the server of ``TIMEBANK_TEST_DATABASE_URL`` and
  dropped afterwards. Without that variable PostgreSQL runs are skipped (a failure under ``CI=true``).
- ``Gunicorn``: the master in a process group of its own, on a free port; ``start`` waits until ``/healthz``
  answers 200, ``stop`` shuts it down gracefully, ``kill`` sends SIGKILL to the master and every worker at once
  (``os.killpg``) and waits until none is left, ``restart`` starts it again on the same port.
- ``running_gunicorn(...)``: the same as a context manager that never leaks a process.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

import ledger
from tests.conftest import postgresql_base_url
from timebank import schema

REPOSITORY = Path(__file__).resolve().parents[2]
GUNICORN = REPOSITORY / ".venv" / "bin" / "gunicorn"
CONFIG = REPOSITORY / "gunicorn.conf.py"
HOST = "127.0.0.1"
# Settings of the shell running the tests that must not reach the server: it gets exactly what the test gives.
FOREIGN_SETTINGS = ("PORT", "WEB_CONCURRENCY", "GUNICORN_CMD_ARGS")


# --- databases ----------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def system_database(kind: str, directory: Path) -> Iterator[str]:
    """The URL of a new, migrated database of ``kind`` ("sqlite" or "postgresql"), dropped afterwards."""
    if kind == "sqlite":
        url = f"sqlite:///{directory / f'system-{uuid.uuid4().hex[:8]}.sqlite'}"
        schema.upgrade(url)
        yield url
        return
    with throwaway_postgresql_database(postgresql_base_url(), "timebank_sys") as url:
        schema.upgrade(url)
        yield url


@contextlib.contextmanager
def throwaway_postgresql_database(base_url: str, prefix: str, *, drivername: str | None = None) -> Iterator[str]:
    """A new, empty database on the server of ``base_url``, named ``prefix`` and a random part, dropped (with any
    connection still open) afterwards; yields its URL (with ``drivername`` if given, e.g. "postgresql" for libpq)."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = ledger.create_engine(base_url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            url = sa.make_url(base_url).set(database=name)
            if drivername is not None:
                url = url.set(drivername=drivername)
            yield url.render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


# --- processes ----------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def group_members(group: int) -> list[int]:
    """The live processes (not zombies) in process group ``group``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses, so split after the last ")".
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] not in ("Z", "X") and int(fields[2]) == group:
            found.append(int(entry.name))
    return found


def get(base_url: str, path: str, *, timeout: float = 5) -> tuple[int, dict | None]:
    """GET ``path`` and its JSON body (None if it has none); raises OSError when nothing answers."""
    host, port = base_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    try:
        return response.status, json.loads(body)
    except ValueError:
        return response.status, None


class Gunicorn:
    """``gunicorn -c gunicorn.conf.py wsgi:app`` in production mode, in its own process group (``app``: another WSGI
    target, e.g. bench/floor_app.py's, with the same configuration)."""

    def __init__(
        self,
        database_url: str,
        directory: Path,
        *,
        workers: int = 4,
        threads: int = 1,
        app: str = "wsgi:app",
        **settings: str,
    ):
        self.app = app
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.directory = directory
        self.log_path = directory / "gunicorn.log"
        self.process: subprocess.Popen | None = None
        self.starts = 0
        environment = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("TIMEBANK_", "GUNICORN_")) and name not in FOREIGN_SETTINGS
        }
        environment.update(
            TIMEBANK_ENV="production",
            TIMEBANK_SECRET_KEY=secrets.token_urlsafe(48),
            TIMEBANK_DATABASE_URL=database_url,
            TIMEBANK_INSTANCE_PATH=str(directory / "instance"),
            PORT=str(self.port),
            GUNICORN_WORKERS=str(workers),
            GUNICORN_THREADS=str(threads),
            GUNICORN_LOG_LEVEL="warning",
            **settings,
        )
        self.environment = environment

    @property
    def group(self) -> int:
        assert self.process is not None
        return self.process.pid  # the master leads its own group (start_new_session)

    def start(self, *, timeout: float = 60) -> None:
        assert self.process is None or self.process.poll() is not None, "already running"
        with self.log_path.open("ab") as log:
            log.write(f"--- start {self.starts + 1}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                [str(GUNICORN), "-c", str(CONFIG), self.app],
                cwd=REPOSITORY,
                env=self.environment,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.starts += 1
        try:
            self.wait_healthy(timeout=timeout)
        except BaseException:
            self.kill()
            raise

    def wait_healthy(self, *, timeout: float = 60) -> None:
        """Until ``/healthz`` answers 200; fails with the log's tail if the master dies or time runs out."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                # Patiently: once the master listens, this waits in its queue behind clients' requests.
                status, body = get(self.url, "/healthz", timeout=max(1.0, min(15.0, deadline - time.monotonic())))
                if status == 200:
                    return
                last = (status, body)
            except OSError as error:
                last = error
            time.sleep(0.1)
        raise TimeoutError(f"/healthz not ready after {timeout} s (last: {last!r}):\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL to the master and all its workers at once, as a power cut would; returns when none is left."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.group, signal.SIGKILL)
        self.process.wait()
        self._wait_group_gone(timeout=10)

    def stop(self, *, timeout: float = 30) -> None:
        """A graceful shutdown (SIGTERM to the master); SIGKILL for whatever is still there after ``timeout``."""
        if self.process is None or self.process.poll() is not None:
            self.kill()
            return
        self.process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=timeout)
        self.kill()

    def restart(self, *, timeout: float = 60) -> None:
        self.start(timeout=timeout)

    def workers(self) -> list[int]:
        """The worker processes now running (the group without the master)."""
        return [pid for pid in group_members(self.group) if pid != self.group]

    def _wait_group_gone(self, *, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while group_members(self.group):
            if time.monotonic() > deadline:
                raise RuntimeError(f"processes of gunicorn's group {self.group} still alive after SIGKILL")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.group, signal.SIGKILL)
            time.sleep(0.05)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@contextlib.contextmanager
def running_gunicorn(database_url: str, directory: Path, **options) -> Iterator[Gunicorn]:
    """A started ``Gunicorn``, stopped (and its process group killed) however the test ends."""
    server = Gunicorn(database_url, directory, **options)
    try:
        server.start()
        yield server
    finally:
        server.stop()
