"""Running use cases: one database transaction each, retried whole when the database asks.

A use case is a plain function taking ``session`` as a keyword-only argument; it commits once, at its end.
``Database.run`` opens the session (a write transaction: ``BEGIN IMMEDIATE`` on SQLite), calls the use case and
retries it from the start on a serialization failure, deadlock or busy database, a bounded number of times.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from ledger.database import is_retryable, write_engine

T = TypeVar("T")
MAX_ATTEMPTS = 8


class Database:
    """The engine, with a way to run use cases (writes) and queries (reads) on it."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._write_engine = write_engine(engine)

    def run(self, use_case: Callable[..., T], /, **arguments) -> T:
        """Run a use case that writes; it commits itself. Retried whole on transient database errors."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            with self._session(write=True) as session:
                try:
                    return use_case(session=session, **arguments)
                except sa.exc.DBAPIError as error:
                    session.rollback()
                    retry = is_retryable(error) or isinstance(error, sa.exc.IntegrityError)
                    if not retry or attempt == MAX_ATTEMPTS:
                        raise
            time.sleep(random.uniform(0, 0.002 * 2**attempt))
        raise AssertionError("unreachable")

    def read(self, query: Callable[..., T], /, **arguments) -> T:
        """Run a query that only reads, in one transaction (one snapshot on SQLite)."""
        with self._session(write=False) as session, session.begin():
            return query(session=session, **arguments)

    def _session(self, *, write: bool) -> Session:
        return Session(self._write_engine if write else self.engine, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """One write transaction around several use cases and reads: the ``Database`` it yields runs each of them
        in a savepoint of it (a use case's commit releases its savepoint; a refusal rolls back to it), and they all
        commit together when the block ends, or none of them does (an exception, a killed process)."""
        with self._write_engine.connect() as connection, connection.begin():
            yield _InTransaction(self.engine, connection)


class _InTransaction(Database):
    """``Database.transaction``'s runner: every session joins the one open transaction of ``connection``."""

    def __init__(self, engine: Engine, connection: sa.Connection):
        super().__init__(engine)
        self._connection = connection

    @property
    def connection(self) -> sa.Connection:
        """The open transaction's connection, for a statement that needs no savepoint of its own (one whose
        failure ends the whole transaction anyway)."""
        return self._connection

    def _session(self, *, write: bool) -> Session:
        return Session(bind=self._connection, join_transaction_mode="create_savepoint", expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        yield self
