"""The ``timebank`` command: ``db upgrade``, ``db current`` and ``verify``."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

import ledger
from timebank import schema
from timebank.cli import main


@pytest.fixture
def run(tmp_path):
    """Run ``timebank`` with arguments against a database, as an operator would from a shell."""

    def invoke(database_url, *arguments, environment="testing"):
        env = {
            "TIMEBANK_ENV": environment,
            "TIMEBANK_DATABASE_URL": database_url,
            "TIMEBANK_INSTANCE_PATH": str(tmp_path / "instance"),
        }
        return CliRunner().invoke(main, list(arguments), env=env, catch_exceptions=False)

    return invoke


def test_db_upgrade_migrates_an_empty_database_and_db_current_shows_it(run, empty_database_url):
    head = schema.head_revision()
    result = run(empty_database_url, "db", "upgrade")
    assert result.exit_code == 0, result.output
    assert f"Upgraded the database from revision none (empty) to {head}." in result.stdout
    result = run(empty_database_url, "db", "current")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"current revision: {head} (up_to_date)", f"head revision:    {head}"]


def test_db_current_on_an_empty_database_says_none(run, empty_database_url):
    result = run(empty_database_url, "db", "current")
    assert result.exit_code == 0, result.output
    assert "current revision: none (empty)" in result.stdout


def test_db_upgrade_twice_does_nothing_the_second_time(run, migrated_database_url):
    result = run(migrated_database_url, "db", "upgrade")
    assert result.exit_code == 0, result.output
    assert f"already at revision {schema.head_revision()}; nothing to do" in result.stdout


def test_db_upgrade_brings_an_outdated_database_up_to_the_code(run, empty_database_url, code_one_revision_ahead):
    shipped_head, head = code_one_revision_ahead
    schema.upgrade(empty_database_url, shipped_head)
    result = run(empty_database_url, "db", "upgrade")
    assert result.exit_code == 0, result.output
    assert f"Upgraded the database from revision {shipped_head} to {head}." in result.stdout


def test_db_upgrade_refuses_a_database_newer_than_the_code(run, migrated_database_url):
    engine = ledger.create_engine(migrated_database_url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("UPDATE alembic_version SET version_num = 'from-the-future'"))
    finally:
        engine.dispose()
    result = run(migrated_database_url, "db", "upgrade")
    assert result.exit_code == 1
    assert "(revision from-the-future) is newer than this code knows" in result.stderr


def test_the_command_refuses_the_default_secret_key_in_production(run, migrated_database_url):
    result = run(migrated_database_url, "db", "current", environment="production")
    assert result.exit_code != 0
    assert "Error: TIMEBANK_SECRET_KEY is the development default" in result.stderr
    assert "Traceback" not in result.output


def test_verify_passes_on_a_fresh_database(run, migrated_database_url):
    result = run(migrated_database_url, "verify")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "OK: verified 0 ledgers, 0 accounts, 0 transactions, 0 entries"


def open_books_with_one_transfer(database_url) -> tuple[int, int]:
    """A ledger with two member accounts and one transfer of 90 minutes; returns the two account ids."""
    engine = ledger.create_engine(database_url)

    def work(session):
        book = ledger.create_ledger(session, name="Oosterpark")
        ans = ledger.open_account(session, ledger_id=book.id, kind="member")
        bert = ledger.open_account(session, ledger_id=book.id, kind="member")
        command = ledger.transfer(ledger_id=book.id, debit_account_id=ans.id, credit_account_id=bert.id, amount=90)
        ledger.post(session, command)
        return ans.id, bert.id

    try:
        return ledger.transact(engine, work)
    finally:
        engine.dispose()


def test_verify_passes_on_books_with_a_transfer_and_shows_progress(run, migrated_database_url):
    open_books_with_one_transfer(migrated_database_url)
    result = run(migrated_database_url, "verify")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "OK: verified 1 ledgers, 2 accounts, 1 transactions, 2 entries"
    assert "verified 1 of 1 transactions" in result.stderr


def test_verify_fails_naming_the_account_whose_balance_was_edited_by_hand(run, migrated_database_url):
    ans, _ = open_books_with_one_transfer(migrated_database_url)
    engine = ledger.create_engine(migrated_database_url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("UPDATE ledger_account SET balance = balance + 5 WHERE id = :id"), {"id": ans})
    finally:
        engine.dispose()
    result = run(migrated_database_url, "verify")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("FAILED: 2 problem(s)")
    # Every problem follows the summary, one a line, the first one first (the one the summary names).
    assert lines[1].startswith(f"  ledger_account id={ans}: balance is -85")
    assert lines[0].endswith(lines[1].strip())
    assert lines[2].startswith("  ledger_ledger id=") and "sum to 5" in lines[2]


def test_create_admin_makes_an_administrator_who_can_log_in_and_refuses_a_weak_password(run, migrated_database_url):
    from timebank.database import Database

    result = run(migrated_database_url, "create-admin", "Beheer@Example.org", "--password", "a good long passphrase")
    assert result.exit_code == 0, result.output
    assert "Administrator beheer@example.org created." in result.stdout
    weak = CliRunner().invoke(
        main,
        ["create-admin", "other@example.org", "--password", "password123"],
        env={"TIMEBANK_ENV": "testing", "TIMEBANK_DATABASE_URL": migrated_database_url},
    )
    assert weak.exit_code == 1 and "too common" in weak.output
    engine = ledger.create_engine(migrated_database_url)
    try:
        from timebank import members

        user = Database(engine).run(members.authenticate, email="beheer@example.org", password="a good long passphrase")
        assert user is not None and user.is_administrator
    finally:
        engine.dispose()


def test_demo_if_empty_builds_once_and_then_leaves_the_database_alone(run, migrated_database_url):
    first = run(migrated_database_url, "demo", "--if-empty")
    assert first.exit_code == 0, first.output
    assert "with password 'buurtbank-demo-2026'" in first.stdout and "carla@oosterpark.example" in first.stdout
    second = run(migrated_database_url, "demo", "--if-empty")
    assert second.exit_code == 0 and "no demo data added" in second.stdout
    assert "a coordinator:" in second.stdout and "with password 'buurtbank-demo-2026'" in second.stdout, (
        "every `make run` says how to log in"
    )
    assert run(migrated_database_url, "verify").exit_code == 0


def test_tick_reports_what_it_did(run, migrated_database_url):
    result = run(migrated_database_url, "tick")
    assert result.exit_code == 0, result.output
    assert "listings expired: 0" in result.stdout and "messages sent: 0" in result.stdout
