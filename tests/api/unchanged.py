"""An API app on a database of its own (a few worlds, so that every table can be read whole after each request) and
a snapshot of that database, to show that a refused request changed nothing.

Used by test_mass_assignment.py and test_bad_input.py: import the fixtures ``own_app``, ``own_db``, ``own_client``
and ``snapshot`` into the test module.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.conftest import fresh_database_url
from timebank import schema
from timebank.app import create_app

# A refused request still leaves its Idempotency-Key's record, holding the refusal, so that a retry with the same
# key gets the same answer (api/idempotency.py); that record is the only trace a refusal may leave.
IGNORED_TABLES = {"api_idempotency"}


@pytest.fixture(scope="module")
def own_app(database_kind, tmp_path_factory):
    url, drop = fresh_database_url(database_kind, tmp_path_factory.mktemp("own-db"))
    schema.upgrade(url)
    app = create_app(
        {
            "ENV": "testing",
            "TESTING": True,
            "DATABASE_URL": url,
            "INSTANCE_PATH": str(tmp_path_factory.mktemp("own-instance")),
        }
    )
    yield app
    app.extensions["timebank"].engine.dispose()
    drop()


@pytest.fixture(scope="module")
def own_db(own_app):
    return own_app.extensions["timebank"].database


@pytest.fixture
def own_client(own_app):
    return own_app.test_client()


class Snapshot:
    """Every row of every table of the database (but ``IGNORED_TABLES``), to compare before and after."""

    def __init__(self, engine):
        self.engine = engine
        self.metadata = sa.MetaData()
        self.metadata.reflect(engine)

    def take(self) -> dict[str, list[tuple]]:
        rows = {}
        with self.engine.connect() as connection:
            for name, table in sorted(self.metadata.tables.items()):
                if name in IGNORED_TABLES or name == "alembic_version":
                    continue
                order = list(table.primary_key.columns) or list(table.columns)
                rows[name] = [tuple(row) for row in connection.execute(sa.select(table).order_by(*order))]
        return rows

    @staticmethod
    def differences(before: dict, after: dict) -> dict[str, str]:
        """Which tables differ, and how many rows each has gained or lost, or "changed rows"."""
        found = {}
        for name in before.keys() | after.keys():
            old, new = before.get(name, []), after.get(name, [])
            if old != new:
                found[name] = f"{len(old)} → {len(new)} rows" if len(old) != len(new) else "changed rows"
        return found


@pytest.fixture(scope="module")
def snapshot(own_app) -> Snapshot:
    return Snapshot(own_app.extensions["timebank"].engine)
