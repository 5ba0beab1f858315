"""Database fixtures shared by every test package.

Database tests run once on SQLite and once on PostgreSQL. PostgreSQL needs ``TIMEBANK_TEST_DATABASE_URL``;
without it those tests are skipped with the reason, except under ``CI=true`` where a skip is a failure, because
CI must prove both databases. Each test session gets its own PostgreSQL schema, dropped at the end.
"""

from __future__ import annotations

import os
import uuid
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from hypothesis import settings

import ledger
from ledger.database import create_engine
from timebank import schema

POSTGRESQL_URL_VARIABLE = "TIMEBANK_TEST_DATABASE_URL"
# Why there is no PostgreSQL to test on, when scripts/run-tests (make test) could not find or start one.
SKIP_REASON_VARIABLE = "TIMEBANK_TEST_SKIP_REASON"

# CI explores the same generated examples on every run, so that a submission lands or not on its own merits;
# developers' runs draw new examples each time and find what CI would not.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")


def postgresql_base_url() -> str:
    """The PostgreSQL test database, or skip (fail under CI) when none is configured."""
    url = os.environ.get(POSTGRESQL_URL_VARIABLE)
    if url:
        return url
    message = os.environ.get(SKIP_REASON_VARIABLE) or (
        f"PostgreSQL tests need {POSTGRESQL_URL_VARIABLE} (e.g. postgresql://root@/timebank_test?host=/var/run/postgresql)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true: {message}; CI must run the PostgreSQL tests", pytrace=False)
    pytest.skip(message)


POSTGRESQL_SKIPS = pytest.StashKey[int]()


def pytest_terminal_summary(terminalreporter, config):
    """Count the tests skipped for want of PostgreSQL (said last, in ``pytest_unconfigure``)."""
    config.stash[POSTGRESQL_SKIPS] = sum(
        POSTGRESQL_URL_VARIABLE in str(report.longrepr) or "PostgreSQL" in str(report.longrepr)
        for report in terminalreporter.stats.get("skipped", [])
    )


def pytest_unconfigure(config):
    """The run's very last line, below the counts: how many tests were skipped for want of PostgreSQL, and why."""
    skipped = config.stash.get(POSTGRESQL_SKIPS, 0)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if skipped and reporter is not None:
        reason = os.environ.get(SKIP_REASON_VARIABLE) or f"{POSTGRESQL_URL_VARIABLE} is not set"
        reporter.write_line(
            f"{skipped} {'test was' if skipped == 1 else 'tests were'} skipped for want of PostgreSQL: {reason}. "
            "Everything else ran; CI runs them all.",
            yellow=True,
            bold=True,
        )


def _with_search_path(url: str, schema_name: str) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={quote(f'-csearch_path={schema_name}')}"


def fresh_postgresql_url() -> tuple[str, callable]:
    """A URL whose connections work in a new, empty schema, and a function that drops it."""
    base = postgresql_base_url()
    schema_name = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema_name}"'))

    def drop() -> None:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema_name}" CASCADE'))
        admin.dispose()

    return _with_search_path(base, schema_name), drop


def fresh_database_url(kind: str, directory) -> tuple[str, callable]:
    """A new, empty database of ``kind`` ("sqlite" or "postgresql") and its clean-up."""
    if kind == "sqlite":
        return f"sqlite:///{directory / f'test-{uuid.uuid4().hex[:8]}.sqlite'}", lambda: None
    return fresh_postgresql_url()


# The tests that load the whole machine (a gunicorn server under 32 clients, SIGKILLs, a PostgreSQL outage, writes
# during a backup): under pytest-xdist (make test) they all run on one worker, one after the other, so that no two
# of them run beside each other; the other worker meanwhile runs ordinary tests.
UNDER_LOAD = pytest.mark.xdist_group("under_load")

DATABASE_KINDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgresql),
]


@pytest.fixture(scope="session", params=DATABASE_KINDS)
def database_kind(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def database_url(database_kind, tmp_path_factory):
    """A migrated database shared by the session's tests of this kind; tests keep apart by using own ledgers."""
    url, drop = fresh_database_url(database_kind, tmp_path_factory.mktemp("db"))
    schema.upgrade(url)
    yield url
    drop()


@pytest.fixture(scope="session")
def engine(database_url):
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def fresh_database(database_kind, tmp_path):
    """A migrated database of its own, for tests that look at the whole database (verify, tampering)."""
    url, drop = fresh_database_url(database_kind, tmp_path)
    schema.upgrade(url)
    yield url
    drop()


@pytest.fixture
def session(engine):
    """A session in one open transaction, rolled back at the end."""
    with sa.orm.Session(engine) as session, session.begin():
        yield session
        session.rollback()


def new_book(engine, *, accounts: int, floor: int | None = -600, ceiling: int | None = 2400):
    """A committed ledger with ``accounts`` member accounts; returns (ledger_id, [account ids])."""

    def work(session):
        book = ledger.create_ledger(session, name=f"book-{uuid.uuid4().hex[:6]}")
        opened = [
            ledger.open_account(session, ledger_id=book.id, kind="member", floor=floor, ceiling=ceiling).id
            for _ in range(accounts)
        ]
        return book.id, opened

    return ledger.transact(engine, work)


@pytest.fixture(scope="session")
def db(engine):
    """The time bank's use-case runner on the session's database."""
    from timebank.database import Database

    return Database(engine)


@pytest.fixture
def world(db):
    """A fresh community with an administrator, a coordinator, a safeguarding officer and three members."""
    from tests.world import build_world

    return build_world(db)


@pytest.fixture
def other_world(db):
    """A second community, for checks that one community's people cannot reach another's objects."""
    from tests.world import build_world

    return build_world(db)
