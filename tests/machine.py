"""Sharing the machine between pytest-xdist's workers.

``make test`` runs the suite on every core (pytest-xdist). Most tests share the machine happily; a test marked
``exclusive`` (a gunicorn server under full load, SIGKILLs, a PostgreSQL outage, a benchmark's own measurements) has
it to itself: it waits until the tests running on the other workers have finished, and no test starts beside it
until it is done.

The workers agree through two files in a directory the controlling process makes (``PYTEST_TIMEBANK_LOCK_DIR``,
inherited by the workers it starts), locked with ``flock``:

- every test holds ``tests.lock`` shared while it runs (setup and teardown included);
- an exclusive test holds it exclusively.
- ``turnstile.lock`` gives a waiting exclusive test priority: every test passes through it before taking its share,
  and an exclusive test holds it from the moment it starts waiting, so the other workers cannot keep it out for ever
  by starting one shared test after another.

Without pytest-xdist (one test run alone, ``TEST_WORKERS=0``) there is nothing to share and nothing is locked.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

LOCK_DIR_VARIABLE = "PYTEST_TIMEBANK_LOCK_DIR"
MARKER = "exclusive"


def make_lock_dir() -> str:
    """In the controlling process, before the workers start: the directory they will lock files in."""
    directory = tempfile.mkdtemp(prefix="timebank-test-locks-")
    os.environ[LOCK_DIR_VARIABLE] = directory
    return directory


def remove_lock_dir(directory: str) -> None:
    os.environ.pop(LOCK_DIR_VARIABLE, None)
    shutil.rmtree(directory, ignore_errors=True)


@contextlib.contextmanager
def _locked(path: Path, operation: int) -> Iterator[None]:
    with open(path, "a+") as file:
        fcntl.flock(file, operation)
        try:
            yield
        finally:
            fcntl.flock(file, fcntl.LOCK_UN)


@contextlib.contextmanager
def machine_share(*, exclusive: bool) -> Iterator[None]:
    """Hold this worker's share of the machine for one test: the whole machine when ``exclusive``."""
    directory = os.environ.get(LOCK_DIR_VARIABLE)
    if not directory or "PYTEST_XDIST_WORKER" not in os.environ:
        yield
        return
    turnstile, tests = Path(directory) / "turnstile.lock", Path(directory) / "tests.lock"
    if exclusive:
        with _locked(turnstile, fcntl.LOCK_EX), _locked(tests, fcntl.LOCK_EX):
            yield
        return
    with _locked(turnstile, fcntl.LOCK_EX):
        share = open(tests, "a+")  # noqa: SIM115 (held past the turnstile, closed below)
        fcntl.flock(share, fcntl.LOCK_SH)
    try:
        yield
    finally:
        fcntl.flock(share, fcntl.LOCK_UN)
        share.close()
