"""Running use cases: one database transaction each, retried whole when the database asks.

A use case is a plain function taking ``session`` as a keyword-only argument; it commits once, at its end.
``Database.run`` opens the session (a write transaction: ``BEGIN IMMEDIATE`` on SQLite), calls the use case and
retries it from the start on a serialization failure, deadlock or busy database, a bounded number of times.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
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
            with Session(self._write_engine, expire_on_commit=False) as session:
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
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            return query(session=session, **arguments)
