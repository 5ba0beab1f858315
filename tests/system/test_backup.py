"""Backups under write load: ``timebank backup`` of a live SQLite database, and the PostgreSQL route (pg_dump and
pg_restore), each taken while threads keep posting payments through the use cases.

Every payment's acknowledgement (the use case returned, so it committed) is recorded with its time. Afterwards
the copy passes ``timebank verify``, holds every payment acknowledged before the backup started, holds exactly the
ledger as it was at one moment (all transactions up to its last one and none after, each with its exchange), and
every ledger in it sums to zero.

Sizes: ``BACKUP_PREFILL_PAYMENTS`` payments before the backup (default 300), ``BACKUP_WRITERS`` threads posting
during it (default 4).
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

import ledger
from ledger import errors as ledger_errors
from tests.conftest import UNDER_LOAD, postgresql_base_url
from tests.system.servers import throwaway_postgresql_database
from tests.world import START, build_world, join
from timebank import backup, errors, payments, schema
from timebank.cli import main
from timebank.database import Database

REPOSITORY = Path(__file__).resolve().parents[2]
TIMEBANK = REPOSITORY / ".venv" / "bin" / "timebank"
PREFILL_PAYMENTS = int(os.environ.get("BACKUP_PREFILL_PAYMENTS", "300"))
WRITERS = int(os.environ.get("BACKUP_WRITERS", "4"))
# Small steps, so that the copy takes many of them while the writers write.
STEP_PAGES = 8


# --- load ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ack:
    transaction_id: int
    exchange_id: int
    at: float  # time.monotonic() when the use case returned


@dataclass
class PaymentLoad:
    """Threads paying each other random minutes through ``payments.pay_directly`` until stopped."""

    db: Database
    people: list
    acks: list[Ack] = field(default_factory=list)
    refused: int = 0
    failures: list[BaseException] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    def pay_once(self, chance: random.Random) -> None:
        payer, payee = chance.sample(self.people, 2)
        try:
            exchange = self.db.run(
                payments.pay_directly,
                actor=payer.actor,
                payee_membership_id=payee.id,
                minutes=chance.randint(1, 30),
                now=START,
            )
        except (ledger_errors.LedgerError, errors.DomainError):
            with self._lock:
                self.refused += 1
            return
        acked = time.monotonic()
        with self._lock:
            self.acks.append(Ack(exchange.ledger_transaction_id, exchange.id, acked))

    def _work(self, seed: int) -> None:
        chance = random.Random(seed)
        try:
            while not self._stop.is_set():
                self.pay_once(chance)
        except BaseException as error:  # reported by stop(), not lost in a thread
            self.failures.append(error)

    def start(self, writers: int) -> None:
        for seed in range(writers):
            thread = threading.Thread(target=self._work, args=(seed,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def wait_for(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acks) < count:
            assert not self.failures, self.failures
            assert time.monotonic() < deadline, f"only {len(self.acks)} of {count} payments in {timeout} s"
            time.sleep(0.01)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in self._threads)
        assert not self.failures, self.failures


@contextlib.contextmanager
def payment_load(db: Database, people: list) -> Iterator[PaymentLoad]:
    load = PaymentLoad(db, people)
    chance = random.Random(1)
    for _ in range(PREFILL_PAYMENTS):
        load.pay_once(chance)
    load.start(WRITERS)
    try:
        yield load
    finally:
        load.stop()


def community(db: Database) -> list:
    """A community of eight members, each with the welcome credit."""
    world = build_world(db)
    extra = [join(db, world.admin.actor, world.community_id, f"Buur {number}") for number in range(3)]
    return [world.coordinator, world.officer, world.ans, world.bert, world.cor, *extra]


# --- what a copy holds ----------------------------------------------------------------------------------------------


@dataclass
class Held:
    transaction_ids: set[int]
    exchange_pairs: set[tuple[int, int]]  # (exchange id, ledger transaction id) of the exchanges that posted
    exchange_transactions: set[int]  # ledger transactions of kind "exchange"
    ledger_sums: list[int]


def held(engine: sa.Engine) -> Held:
    with engine.connect() as connection:
        return Held(
            transaction_ids=set(connection.execute(sa.text("SELECT id FROM ledger_transaction")).scalars()),
            exchange_pairs={
                tuple(row)
                for row in connection.execute(
                    sa.text("SELECT id, ledger_transaction_id FROM exchange WHERE ledger_transaction_id IS NOT NULL")
                )
            },
            exchange_transactions=set(
                connection.execute(sa.text("SELECT id FROM ledger_transaction WHERE kind = 'exchange'")).scalars()
            ),
            ledger_sums=list(
                connection.execute(
                    sa.text("SELECT sum(balance) FROM ledger_account GROUP BY ledger_id ORDER BY ledger_id")
                ).scalars()
            ),
        )


def run_cli(database_url: str, *arguments: str, instance: Path):
    environment = {
        "TIMEBANK_ENV": "testing",
        "TIMEBANK_DATABASE_URL": database_url,
        "TIMEBANK_INSTANCE_PATH": str(instance),
    }
    return CliRunner().invoke(main, list(arguments), env=environment, catch_exceptions=False)


def check_copy(copy: Held, live: Held, acks: list[Ack], started: float) -> dict:
    """The checks every backup must pass; returns figures for the report."""
    before = [ack for ack in acks if ack.at < started]
    missing = [ack for ack in before if ack.transaction_id not in copy.transaction_ids]
    assert not missing, f"{len(missing)} payments acknowledged before the backup started are not in it: {missing[:5]}"
    assert {(ack.exchange_id, ack.transaction_id) for ack in before} <= copy.exchange_pairs
    # One moment of the ledger: every transaction up to the copy's last one, none after it.
    last = max(copy.transaction_ids)
    assert copy.transaction_ids == {id_ for id_ in live.transaction_ids if id_ <= last}
    # Nothing half-written across tables: each exchange posting has its exchange, and the other way round.
    assert {transaction for _, transaction in copy.exchange_pairs} == copy.exchange_transactions
    assert copy.exchange_pairs == {pair for pair in live.exchange_pairs if pair[1] <= last}
    assert copy.ledger_sums and all(total == 0 for total in copy.ledger_sums), copy.ledger_sums
    return {"acked_before": len(before), "last": last, "transactions": len(copy.transaction_ids)}


# --- SQLite: timebank backup ----------------------------------------------------------------------------------------


@pytest.fixture
def live_sqlite(tmp_path):
    """A migrated SQLite file (WAL, as the service opens it) with a community; yields (url, engine, db, people)."""
    url = f"sqlite:///{tmp_path / 'live.sqlite'}"
    schema.upgrade(url)
    engine = ledger.create_engine(url)
    db = Database(engine)
    try:
        people = community(db)
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        yield url, engine, db, people
    finally:
        engine.dispose()


SUMMARY = re.compile(
    r"Backed up (?P<source>\S+) to (?P<destination>\S+): (?P<size>[\d.]+ \w+), (?P<pages>\d+) pages of \d+ bytes, "
    r"in (?P<seconds>[\d.]+) s\. Integrity check of the copy: ok\. It holds (?P<transactions>\d+) ledger "
    r"transactions; the last one included is id (?P<last>\d+)\."
)


@UNDER_LOAD
def test_timebank_backup_under_write_load_is_a_consistent_copy_that_verifies(live_sqlite, tmp_path):
    url, engine, db, people = live_sqlite
    destination = tmp_path / "backups" / "timebank-backup.sqlite"
    destination.parent.mkdir()
    environment = {
        **{name: value for name, value in os.environ.items() if not name.startswith("TIMEBANK_")},
        "TIMEBANK_ENV": "testing",
        "TIMEBANK_DATABASE_URL": url,
        "TIMEBANK_INSTANCE_PATH": str(tmp_path / "instance"),
    }
    with payment_load(db, people) as load:
        load.wait_for(PREFILL_PAYMENTS + 20)
        started = time.monotonic()
        command = subprocess.run(
            [str(TIMEBANK), "backup", str(destination), "--step-pages", str(STEP_PAGES)],
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )
        ended = time.monotonic()
        acked_at_end = len(load.acks)
        load.wait_for(acked_at_end + 20)
    assert command.returncode == 0, command.stderr
    summary = SUMMARY.fullmatch(command.stdout.strip())
    assert summary, command.stdout
    assert summary["destination"] == str(destination)
    # Progress on stderr, one report per step of the copy.
    steps = re.findall(r"copied (\d+) of (\d+) pages", command.stderr)
    assert len(steps) > 1 and steps[-1][0] == steps[-1][1] == summary["pages"], command.stderr

    # The copy is one file of its own; the temporary file is gone.
    assert sorted(path.name for path in destination.parent.iterdir()) == [destination.name]
    assert destination.read_bytes()[18:20] == b"\x01\x01"  # the header's rollback-journal (not WAL) mode
    copy_url = f"sqlite:///{destination}"
    result = run_cli(copy_url, "verify", instance=tmp_path / "instance")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().startswith("OK: verified 1 ledgers")
    copy_engine = sa.create_engine(copy_url)
    try:
        copy = held(copy_engine)
    finally:
        copy_engine.dispose()
    figures = check_copy(copy, held(engine), load.acks, started)
    assert int(summary["last"]) == figures["last"] and int(summary["transactions"]) == figures["transactions"]
    assert f"{figures['transactions']} transactions" in result.stdout
    during = [ack for ack in load.acks if started <= ack.at <= ended]
    after_snapshot = [ack for ack in during if ack.transaction_id > figures["last"]]
    # The writers kept writing while the command ran, and past the moment the copy shows.
    assert during and after_snapshot
    print(
        f"\nbackup under load: {summary['size']}, {summary['pages']} pages in {len(steps)} steps, copy and check "
        f"{summary['seconds']} s, command {ended - started:.2f} s; {figures['transactions']} transactions checked by "
        f"verify; {figures['acked_before']} payments acknowledged before the start, all present; {len(during)} "
        f"acknowledged while the command ran ({len(after_snapshot)} after the copy's moment); {load.refused} refused"
    )


def test_writes_between_the_copys_steps_neither_restart_it_nor_enter_it(live_sqlite, tmp_path):
    """Deterministic: a payment commits after each step of the copy. The copy still finishes in one pass and is
    the database as it was when it began."""
    url, engine, db, people = live_sqlite
    load = PaymentLoad(db, people)
    chance = random.Random(2)
    for _ in range(PREFILL_PAYMENTS):
        load.pay_once(chance)
    before, acked_before = held(engine), len(load.acks)
    reports = []

    def progress(done: int, total: int) -> None:
        reports.append((done, total))
        # Bounded, so that a copy that restarted after each write (as SQLite's does without the read transaction
        # held across steps) would still end, with the later writes in it.
        if len(reports) <= 50:
            load.pay_once(chance)

    summary = backup.backup_sqlite(
        Path(sa.make_url(url).database), tmp_path / "copy.sqlite", step_pages=STEP_PAGES, progress=progress
    )
    # One pass: the pages done only grow, to the whole; a restarted copy would start counting again.
    assert len(reports) > 10
    assert [done for done, _ in reports] == sorted({done for done, _ in reports})
    assert reports[-1] == (summary.pages, summary.pages)
    written_during = load.acks[acked_before:]
    assert len(written_during) > 10
    copy_engine = sa.create_engine(f"sqlite:///{tmp_path / 'copy.sqlite'}")
    try:
        copy = held(copy_engine)
    finally:
        copy_engine.dispose()
    assert copy == before
    assert not {ack.transaction_id for ack in written_during} & copy.transaction_ids
    assert summary.last_transaction_id == max(before.transaction_ids)
    result = run_cli(f"sqlite:///{tmp_path / 'copy.sqlite'}", "verify", instance=tmp_path / "instance")
    assert result.exit_code == 0, result.output


def test_backup_refuses_to_overwrite_without_force_and_replaces_with_it(live_sqlite, tmp_path):
    url, _, _, _ = live_sqlite
    destination = tmp_path / "existing.sqlite"
    destination.write_text("yesterday's backup")
    result = run_cli(url, "backup", str(destination), instance=tmp_path / "instance")
    assert result.exit_code == 1
    assert f"{destination} exists already; pass --force to replace it." in result.stderr
    assert destination.read_text() == "yesterday's backup"
    result = run_cli(url, "backup", str(destination), "--force", instance=tmp_path / "instance")
    assert result.exit_code == 0, result.output
    assert "Integrity check of the copy: ok." in result.stdout
    assert run_cli(f"sqlite:///{destination}", "verify", instance=tmp_path / "instance").exit_code == 0
    # Restoring is putting the file in place: the restored database is current and serves.
    result = run_cli(f"sqlite:///{destination}", "db", "current", instance=tmp_path / "instance")
    assert "(up_to_date)" in result.stdout
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".existing")] == []


def test_backup_refuses_a_missing_folder_the_database_itself_and_a_missing_database(live_sqlite, tmp_path):
    url, _, _, _ = live_sqlite
    source = sa.make_url(url).database
    for database_url, destination, message in (
        (url, tmp_path / "no-such-folder" / "copy.sqlite", "does not exist"),
        (url, Path(source), "is the database itself"),
        (url, tmp_path, "is a folder"),
        (f"sqlite:///{tmp_path / 'nothing.sqlite'}", tmp_path / "copy.sqlite", "There is no database at"),
    ):
        result = run_cli(database_url, "backup", str(destination), "--force", instance=tmp_path / "instance")
        assert result.exit_code == 1 and message in result.stderr, result.output
    assert not (tmp_path / "nothing.sqlite").exists() and not (tmp_path / "copy.sqlite").exists()


def test_backup_of_postgresql_points_to_pg_dump(tmp_path):
    result = run_cli("postgresql://timebank@db.invalid/timebank", "backup", str(tmp_path / "copy"), instance=tmp_path)
    assert result.exit_code == 1
    assert "pg_dump" in result.stderr and '"Deploying" in the README' in result.stderr
    assert not (tmp_path / "copy").exists()


# --- PostgreSQL: pg_dump and pg_restore -----------------------------------------------------------------------------


def postgresql_tool(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    message = f"the PostgreSQL route needs {name} (apt-get install postgresql-client)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true: {message}", pytrace=False)
    pytest.skip(message)


@contextlib.contextmanager
def new_postgresql_database() -> Iterator[str]:
    """A new, empty database on the test server (libpq URL), dropped afterwards."""
    with throwaway_postgresql_database(postgresql_base_url(), "timebank_backup", drivername="postgresql") as url:
        yield url


@UNDER_LOAD
@pytest.mark.postgresql
def test_pg_dump_under_write_load_restores_into_a_new_database_that_verifies(tmp_path):
    pg_dump, pg_restore = postgresql_tool("pg_dump"), postgresql_tool("pg_restore")
    dump = tmp_path / "timebank.dump"
    with new_postgresql_database() as source_url, new_postgresql_database() as restored_url:
        schema.upgrade(source_url)
        engine = ledger.create_engine(source_url)
        try:
            db = Database(engine)
            with payment_load(db, community(db)) as load:
                load.wait_for(PREFILL_PAYMENTS + 20)
                started = time.monotonic()
                dumped = subprocess.run(
                    [pg_dump, "--format=custom", f"--file={dump}", source_url],
                    capture_output=True,
                    text=True,
                    timeout=120,
                )
                ended = time.monotonic()
                load.wait_for(len(load.acks) + 20)
            assert dumped.returncode == 0, dumped.stderr
            live = held(engine)
        finally:
            engine.dispose()
        restored = subprocess.run(
            [pg_restore, "--no-owner", "--exit-on-error", f"--dbname={restored_url}", str(dump)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert restored.returncode == 0, restored.stderr
        result = run_cli(restored_url, "verify", instance=tmp_path / "instance")
        assert result.exit_code == 0, result.output
        assert "(up_to_date)" in run_cli(restored_url, "db", "current", instance=tmp_path / "instance").stdout
        restored_engine = ledger.create_engine(restored_url)
        try:
            figures = check_copy(held(restored_engine), live, load.acks, started)
        finally:
            restored_engine.dispose()
    during = [ack for ack in load.acks if started <= ack.at <= ended]
    assert during
    print(
        f"\npg_dump under load: {dump.stat().st_size / 1024:.1f} KiB in {ended - started:.2f} s; "
        f"{figures['transactions']} transactions restored and verified; {figures['acked_before']} acknowledged "
        f"before the dump, all present; {len(during)} acknowledged while it ran"
    )
