"""Connecting to the database and running a unit of work in one database transaction, retried as a whole.

SQLite: every connection gets WAL, ``synchronous=FULL``, foreign keys and a busy timeout; write transactions
open with ``BEGIN IMMEDIATE`` so two writers never deadlock upgrading a read lock.
PostgreSQL (psycopg 3): READ COMMITTED with row locks and guarded updates; serialization failures and deadlocks
retry the whole unit of work, a bounded number of times.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

import orjson
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MILLISECONDS = 10_000
MAX_ATTEMPTS = 8
# SQLSTATEs after which PostgreSQL asks the client to retry the whole transaction.
RETRYABLE_SQLSTATES = {"40001", "40P01"}
WRITE_OPTION = "ledger_write"


def create_engine(url: str, **kwargs) -> Engine:
    """An engine for ``url``, configured for the ledger's durability and concurrency rules."""
    url_object = sa.make_url(url)
    if url_object.get_backend_name() == "sqlite":
        return _create_sqlite_engine(url_object, **kwargs)
    if url_object.get_backend_name() == "postgresql" and url_object.drivername == "postgresql":
        url_object = url_object.set(drivername="postgresql+psycopg")
    kwargs.setdefault("pool_pre_ping", True)
    return sa.create_engine(url_object, **kwargs)


def _create_sqlite_engine(url: sa.URL, **kwargs) -> Engine:
    connect_args = kwargs.pop("connect_args", {})
    connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_MILLISECONDS / 1000)
    # Leave transaction control to us (``BEGIN`` / ``BEGIN IMMEDIATE`` below), not to the sqlite3 module.
    connect_args["isolation_level"] = None
    connect_args.setdefault("check_same_thread", False)
    engine = sa.create_engine(url, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _configure_connection(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        if url.database and url.database != ":memory:":
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MILLISECONDS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection):
        immediate = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def write_engine(engine: Engine) -> Engine:
    """The same engine, marked so that its transactions take SQLite's write lock up front."""
    return engine.execution_options(**{WRITE_OPTION: True})


def is_retryable(error: BaseException) -> bool:
    """Whether ``error`` asks for the whole transaction to be tried again."""
    if not isinstance(error, sa.exc.DBAPIError):
        return False
    original = error.orig
    sqlstate = getattr(original, "sqlstate", None)
    if sqlstate in RETRYABLE_SQLSTATES:
        return True
    # SQLite: the busy timeout ran out while another writer held the lock.
    return "database is locked" in str(original)


def transact(engine: Engine, work: Callable[[Session], T], *, attempts: int = MAX_ATTEMPTS) -> T:
    """Run ``work(session)`` in one write transaction and commit it; retry the whole of it when the database
    asks (serialization failure, deadlock, busy) or when a unique key was taken concurrently, at most
    ``attempts`` times. Domain errors raised by ``work`` roll back and propagate at once."""
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    bound = write_engine(engine)
    for attempt in range(1, attempts + 1):
        try:
            with Session(bound, expire_on_commit=False) as session, session.begin():
                return work(session)
        except sa.exc.IntegrityError:
            # A concurrent transaction took the same idempotency key or reversed the same transaction first;
            # the next attempt sees its row and answers as a retry would.
            if attempt == attempts:
                raise
        except sa.exc.DBAPIError as error:
            if not is_retryable(error) or attempt == attempts:
                raise
        time.sleep(random.uniform(0, 0.002 * 2**attempt))
    raise AssertionError("unreachable")


# --- bulk inserts -------------------------------------------------------------------------------------------------

_JSON_INSERTS: dict[tuple, sa.TextClause] = {}


def _json_insert(table: sa.Table, names: tuple[str, ...], returning: bool) -> sa.TextClause:
    """PostgreSQL: ``INSERT ... SELECT`` from one JSON array of the rows, in its order. One parameter of fixed
    text: a multi-row VALUES list of thousands of parameters, or one array per column, costs the driver more to
    build than the server to run."""
    cache_key = (table.name, names, returning)
    if cache_key not in _JSON_INSERTS:
        dialect = postgresql.dialect()
        preparer = dialect.identifier_preparer
        columns = ", ".join(preparer.quote(name) for name in names)
        definitions = ", ".join(
            f"{preparer.quote(name)} {table.c[name].type.compile(dialect=dialect)}" for name in names
        )
        text = (
            f"INSERT INTO {preparer.format_table(table)} ({columns}) SELECT {columns} "
            f"FROM ROWS FROM (json_to_recordset(CAST(:rows AS json)) AS ({definitions})) "
            f"WITH ORDINALITY AS given ({columns}, position) ORDER BY position"
        )
        if returning:
            text += " RETURNING id"
        _JSON_INSERTS[cache_key] = sa.text(text)
    return _JSON_INSERTS[cache_key]


def _refuse_naive_moments(table: sa.Table, rows: list[dict]) -> None:
    """A naive moment is refused, as ``ledger.models.UTCDateTime`` refuses it (the server would read it in its own
    time zone); only the table's date-time columns are looked at."""
    for name in rows[0]:
        kind = table.c[name].type
        moments = isinstance(getattr(kind, "impl", kind), sa.DateTime)
        if moments and any(row[name] is not None and row[name].tzinfo is None for row in rows):
            raise ValueError("naive datetime given to the ledger; pass an aware datetime")


def insert_rows(session: Session, table: sa.Table, rows: list[dict], *, returning_ids: bool = False) -> list[int]:
    """Insert ``rows`` (mappings with the same keys) with one statement, their ids taken in the rows' order;
    with ``returning_ids``, those ids, in the rows' order."""
    if not rows:
        return []
    if session.get_bind().dialect.name == "postgresql":
        names = tuple(rows[0])
        _refuse_naive_moments(table, rows)
        # orjson: a moment as ISO text with its offset; 10 times faster than json.dumps on a batch's rows.
        document = orjson.dumps(rows, option=orjson.OPT_NON_STR_KEYS).decode()
        result = session.execute(_json_insert(table, names, returning_ids), {"rows": document})
        # The SELECT's ORDER BY hands the rows over in order, so the ids are taken in order: ascending.
        return sorted(result.scalars().all()) if returning_ids else []
    if not returning_ids:
        session.execute(table.insert(), rows)
        return []
    return session.execute(table.insert().returning(table.c.id, sort_by_parameter_order=True), rows).scalars().all()
