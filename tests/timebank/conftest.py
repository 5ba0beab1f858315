"""Fixtures for the application's tests, independent of the ledger's.

Each test gets databases of its own: a SQLite file, and (with ``TIMEBANK_TEST_DATABASE_URL``) a fresh PostgreSQL
schema. Without that variable the PostgreSQL cases are skipped with the reason, except under ``CI=true``,
where CI must prove both databases and a skip is a failure.
"""

from __future__ import annotations

import os
import shutil
import uuid
from urllib.parse import quote

import pytest
import sqlalchemy as sa

import ledger
from tests.conftest import POSTGRESQL_URL_VARIABLE, SKIP_REASON_VARIABLE, postgresql_base_url
from timebank import schema
from timebank.app import create_app

PROBE_TABLE = 'op.create_table("test_probe", sa.Column("id", sa.Integer(), primary_key=True))'

NEXT_MIGRATION = '''"""A revision newer than the shipped ones, for tests only."""

import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = "{down_revision}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    {upgrade_body}


def downgrade() -> None:
    op.drop_table("test_probe")
'''


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """No ``TIMEBANK_`` setting from the shell that runs the tests leaks into them."""
    for name in list(os.environ):
        if name.startswith("TIMEBANK_") and name not in (POSTGRESQL_URL_VARIABLE, SKIP_REASON_VARIABLE):
            monkeypatch.delenv(name)


def with_search_path(url: str, schema_name: str) -> str:
    """``url`` with its connections working in ``schema_name``."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={quote(f'-csearch_path={schema_name}')}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def empty_database_url(request, tmp_path):
    """A new, empty database: a SQLite file, or a PostgreSQL schema dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'timebank-test.sqlite'}"
        return
    base = postgresql_base_url()
    schema_name = f"timebank_test_{uuid.uuid4().hex[:12]}"
    admin = ledger.create_engine(base)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema_name}"'))
    try:
        yield with_search_path(base, schema_name)
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema_name}" CASCADE'))
        admin.dispose()


@pytest.fixture
def migrated_database_url(empty_database_url):
    """A new database at the newest revision."""
    schema.upgrade(empty_database_url)
    return empty_database_url


@pytest.fixture
def engine_for():
    """Make engines that are disposed of after the test."""
    engines = []

    def make(url):
        engine = ledger.create_engine(url)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.dispose()


@pytest.fixture
def make_app(tmp_path):
    """Build apps for testing with the factory (instance folder under ``tmp_path``); disposes their engines."""
    apps = []

    def make(**overrides):
        config = {"ENV": "testing", "TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"), **overrides}
        app = create_app(config)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["timebank"].engine.dispose()


@pytest.fixture
def app(make_app, migrated_database_url):
    """The app on a migrated database of its own; pytest-flask's ``client`` uses it."""
    return make_app(DATABASE_URL=migrated_database_url)


def ship_one_more_revision(tmp_path, monkeypatch, upgrade_body: str) -> tuple[str, str]:
    """Make the code ship a copy of the real migrations plus revision ``9999`` after the real head, whose
    ``upgrade()`` runs ``upgrade_body``; returns (the real head, ``9999``)."""
    migrations = tmp_path / "migrations"
    shutil.copytree(schema.MIGRATIONS_PATH, migrations, ignore=shutil.ignore_patterns("__pycache__"))
    shipped_head = schema.head_revision()
    source = NEXT_MIGRATION.format(revision="9999", down_revision=shipped_head, upgrade_body=upgrade_body)
    (migrations / "versions" / "9999_test_probe.py").write_text(source)
    monkeypatch.setattr(schema, "MIGRATIONS_PATH", migrations)
    return shipped_head, "9999"


@pytest.fixture
def code_one_revision_ahead(tmp_path, monkeypatch):
    """Code one revision ahead of the real migrations: (the real head, the new head)."""
    return ship_one_more_revision(tmp_path, monkeypatch, PROBE_TABLE)


@pytest.fixture
def code_with_a_migration_that_fails_half_way(tmp_path, monkeypatch):
    """Code whose newest migration creates a table, then fails: (the real head, the failing revision)."""
    return ship_one_more_revision(tmp_path, monkeypatch, f"{PROBE_TABLE}\n    raise RuntimeError('half-way')")
