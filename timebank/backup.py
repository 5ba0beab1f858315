"""``timebank backup``: a consistent copy of the live SQLite database, taken while the service keeps writing.

SQLite's online backup API copies the database a number of pages at a time. The source connection holds one read
transaction from the first page to the last, so every page comes from the same moment (in WAL mode writers carry
on meanwhile; without that transaction SQLite would start the copy over whenever someone wrote). The copy goes to a
temporary file beside the destination, is switched out of WAL mode so that it is one self-contained file, passes
``PRAGMA integrity_check``, is synced to disk and only then takes the destination's name, atomically; a failed
or interrupted backup leaves the destination as it was. The copy is readable by its owner only.

PostgreSQL is backed up with its own tools (``pg_dump``), as the README's "Deploying" section says.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa

DEFAULT_STEP_PAGES = 1024
BUSY_TIMEOUT_SECONDS = 10
POSTGRESQL_ROUTE = (
    "timebank backup copies the embedded SQLite database only. Back up PostgreSQL with pg_dump, e.g. "
    "`pg_dump --format=custom --file=timebank.dump DATABASE`, and restore with pg_restore: "
    'see "Deploying" in the README.'
)

Progress = Callable[[int, int], None]


class BackupError(Exception):
    """The backup was refused or failed; the message says why. The destination is left as it was."""


@dataclass(frozen=True)
class BackupSummary:
    source: Path
    destination: Path
    size_bytes: int
    pages: int
    page_size: int
    seconds: float
    integrity: str
    transactions: int | None
    last_transaction_id: int | None

    def describe(self) -> str:
        if self.transactions is None:
            ledger = "It holds no ledger."
        elif self.last_transaction_id is None:
            ledger = "It holds no ledger transactions yet."
        else:
            ledger = (
                f"It holds {self.transactions} ledger transactions; the last one included is id "
                f"{self.last_transaction_id}."
            )
        return (
            f"Backed up {self.source} to {self.destination}: {_size(self.size_bytes)}, {self.pages} pages of "
            f"{self.page_size} bytes, in {self.seconds:.2f} s. Integrity check of the copy: {self.integrity}. "
            f"{ledger}"
        )


def _size(size_bytes: int) -> str:
    size = float(size_bytes)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size_bytes} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def sqlite_file(database_url: str) -> Path:
    """The file of a SQLite URL; refuses PostgreSQL (pointing to pg_dump), other databases and in-memory ones."""
    url = sa.make_url(database_url)
    backend = url.get_backend_name()
    if backend == "postgresql":
        raise BackupError(POSTGRESQL_ROUTE)
    if backend != "sqlite":
        raise BackupError(f"timebank backup copies SQLite databases only; this one is {backend}.")
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise BackupError("The database is not a SQLite file (in memory or a URI); there is nothing to copy.")
    return Path(url.database)


def backup_sqlite(
    source: Path,
    destination: Path,
    *,
    force: bool = False,
    step_pages: int = DEFAULT_STEP_PAGES,
    progress: Progress | None = None,
) -> BackupSummary:
    """Copy the SQLite database ``source`` to ``destination`` as of one moment, ``step_pages`` pages at a time,
    calling ``progress(pages_done, pages_total)`` after each step; check the copy and return what it holds."""
    if step_pages < 1:
        raise BackupError("Pages per step must be at least 1.")
    source, destination = Path(source).absolute(), Path(destination).absolute()
    if not source.is_file():
        raise BackupError(f"There is no database at {source}.")
    _check_destination(source, destination, force=force)
    started = time.monotonic()
    descriptor, temporary_name = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.", suffix=".tmp")
    os.close(descriptor)
    temporary = Path(temporary_name)
    try:
        _copy(source, temporary, step_pages=step_pages, progress=progress)
        figures = _check_copy(temporary)
        _sync(temporary)
        _move_into_place(temporary, destination, force=force)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise
    return BackupSummary(
        source=source,
        destination=destination,
        size_bytes=destination.stat().st_size,
        seconds=time.monotonic() - started,
        **figures,
    )


def _check_destination(source: Path, destination: Path, *, force: bool) -> None:
    if destination.is_dir():
        raise BackupError(f"{destination} is a folder; give the name of the backup file to write.")
    if not destination.parent.is_dir():
        raise BackupError(f"The folder {destination.parent} does not exist.")
    if destination.exists():
        if destination.samefile(source):
            raise BackupError(f"{destination} is the database itself.")
        if not force:
            raise BackupError(f"{destination} exists already; pass --force to replace it.")


def _copy(source: Path, target: Path, *, step_pages: int, progress: Progress | None) -> None:
    # mode=rw: never create an empty database where the source was expected.
    source_connection = sqlite3.connect(
        f"file:{quote(str(source))}?mode=rw", uri=True, isolation_level=None, timeout=BUSY_TIMEOUT_SECONDS
    )
    target_connection = sqlite3.connect(target, isolation_level=None)
    try:
        # One read transaction for the whole copy: every step sees the moment of this first read.
        source_connection.execute("BEGIN")
        source_connection.execute("SELECT count(*) FROM sqlite_master").fetchone()

        def step_done(_status, remaining: int, total: int) -> None:
            if progress is not None:
                progress(total - remaining, total)

        source_connection.backup(target_connection, pages=step_pages, progress=step_done)
        source_connection.execute("COMMIT")
        # The copy is one file of its own, not a WAL database waiting for its -wal file.
        target_connection.execute("PRAGMA journal_mode=DELETE").fetchone()
    except sqlite3.Error as error:
        raise BackupError(f"The copy failed: {error}") from error
    finally:
        target_connection.close()
        source_connection.close()


def _check_copy(path: Path) -> dict:
    connection = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)
    try:
        problems = [row[0] for row in connection.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            raise BackupError("The copy failed its integrity check: " + "; ".join(problems[:10]))
        has_ledger = connection.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'ledger_transaction'"
        ).fetchone()[0]
        transactions = last_transaction_id = None
        if has_ledger:
            transactions, last_transaction_id = connection.execute(
                "SELECT count(*), max(id) FROM ledger_transaction"
            ).fetchone()
        return {
            "pages": connection.execute("PRAGMA page_count").fetchone()[0],
            "page_size": connection.execute("PRAGMA page_size").fetchone()[0],
            "integrity": "ok",
            "transactions": transactions,
            "last_transaction_id": last_transaction_id,
        }
    except sqlite3.Error as error:
        raise BackupError(f"The copy could not be checked: {error}") from error
    finally:
        connection.close()


def _sync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _move_into_place(temporary: Path, destination: Path, *, force: bool) -> None:
    """Give the finished copy the destination's name in one step; without ``force`` never over another file, even
    one that appeared during the copy."""
    if force:
        os.replace(temporary, destination)
    else:
        try:
            os.link(temporary, destination)
        except FileExistsError:
            raise BackupError(f"{destination} exists already; pass --force to replace it.") from None
        except OSError:
            # A file system without hard links: check, then rename (a file appearing in between is replaced).
            if destination.exists():
                raise BackupError(f"{destination} exists already; pass --force to replace it.") from None
            os.replace(temporary, destination)
        else:
            temporary.unlink()
    directory = os.open(destination.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
