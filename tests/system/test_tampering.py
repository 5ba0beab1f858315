"""Tampering: ledger rows edited, deleted or reordered by hand in the database are reported by ``timebank verify``
(the command an operator runs, exit status 1), and the first problem it lists names the first bad row.

The books are a real community's, written through the use cases: welcome credits, direct payments, a pending
claim and a coordinator's reversal. Each case tampers the way someone with write access to the database would
(foreign keys out of the way: SQLite's are off on a plain connection, PostgreSQL's are switched off with
``session_replication_role``), then runs ``timebank verify`` and reads its first problem. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import timedelta

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

import ledger
from ledger.hashing import transaction_hash
from ledger.models import entry_table, transaction_table
from tests.world import START, build_world
from timebank import corrections, payments
from timebank.cli import main
from timebank.database import Database


@dataclass
class Books:
    url: str
    engine: sa.Engine
    ledger_id: int
    # Transaction ids in sequence order, and what some of them are.
    chain: list[int]
    payments: list[int]
    claim: int
    reversal: int
    ans_account: int


@pytest.fixture
def books(fresh_database):
    engine = ledger.create_engine(fresh_database)
    db = Database(engine)
    world = build_world(db)
    paid = []
    for payer, payee, minutes in ((world.ans, world.bert, 60), (world.bert, world.cor, 30), (world.cor, world.ans, 15)):
        exchange = db.run(
            payments.pay_directly, actor=payer.actor, payee_membership_id=payee.id, minutes=minutes, now=START
        )
        paid.append(exchange.ledger_transaction_id)
    claim = db.run(
        payments.claim_minutes, actor=world.cor.actor, payer_membership_id=world.bert.id, minutes=20, now=START
    ).ledger_transaction_id
    reversal = db.run(
        corrections.reverse_transaction,
        actor=world.coordinator.actor,
        community_id=world.community_id,
        transaction_id=paid[1],
        reason="paid the wrong neighbour",
        now=START,
    ).transaction.id
    for payer, payee, minutes in ((world.ans, world.cor, 45), (world.bert, world.ans, 10)):
        exchange = db.run(
            payments.pay_directly, actor=payer.actor, payee_membership_id=payee.id, minutes=minutes, now=START
        )
        paid.append(exchange.ledger_transaction_id)
    ledger_id = world.community.ledger_id
    with engine.connect() as connection:
        chain = list(
            connection.execute(
                sa.select(transaction_table.c.id)
                .where(transaction_table.c.ledger_id == ledger_id)
                .order_by(transaction_table.c.sequence)
            ).scalars()
        )
    # Welcome credits, three payments, the claim, the reversal, two more payments.
    assert len(chain) == 5 + 3 + 1 + 1 + 2
    assert chain[-4:] == [claim, reversal, paid[3], paid[4]]
    books = Books(fresh_database, engine, ledger_id, chain, paid, claim, reversal, world.ans.account_id)
    result = verify(books)
    assert result.exit_code == 0, result.output
    assert "12 transactions" in result.stdout
    yield books
    engine.dispose()


def verify(books: Books):
    environment = {
        "TIMEBANK_ENV": "testing",
        "TIMEBANK_DATABASE_URL": books.url,
        "TIMEBANK_INSTANCE_PATH": "",
    }
    return CliRunner().invoke(main, ["verify"], env=environment, catch_exceptions=False)


def tamper(books: Books, *statements: str, **parameters) -> None:
    """Run SQL as someone with write access to the database would: one transaction, no foreign keys in the way."""
    if books.engine.dialect.name == "sqlite":
        connection = sqlite3.connect(books.engine.url.database, isolation_level=None)
        try:
            connection.execute("BEGIN")
            for statement in statements:
                connection.execute(statement, parameters)
            connection.execute("COMMIT")
        finally:
            connection.close()
        return
    with books.engine.begin() as connection:
        connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
        for statement in statements:
            connection.execute(sa.text(statement), parameters)


def rehash(books: Books, transaction_id: int) -> None:
    """What a careful forger does after an edit: recompute the transaction's own hash from its new content."""
    with books.engine.begin() as connection:
        row = connection.execute(sa.select(transaction_table).where(transaction_table.c.id == transaction_id)).one()
        entries = connection.execute(
            sa.select(entry_table.c.account_id, entry_table.c.amount).where(
                entry_table.c.transaction_id == transaction_id
            )
        ).all()
        digest = transaction_hash(
            ledger_id=row.ledger_id,
            sequence=row.sequence,
            kind=row.kind,
            memo=row.memo,
            details=row.details or {},
            actor=row.actor,
            created_at=row.created_at,
            expires_at=row.expires_at,
            reverses_id=row.reverses_id,
            idempotency_scope=row.idempotency_scope,
            idempotency_key=row.idempotency_key,
            entries=[tuple(entry) for entry in entries],
            previous_hash=row.previous_hash,
        )
        connection.execute(
            transaction_table.update().where(transaction_table.c.id == transaction_id).values(hash=digest)
        )


def swap_transaction_ids(books: Books, first: int, second: int) -> None:
    """Give two transactions each other's id, moving their entries and the exchanges that point at them along."""
    references = (
        ("ledger_entry", "transaction_id"),
        ("ledger_transaction", "reverses_id"),
        ("exchange", "ledger_transaction_id"),
    )
    statements = []
    for table, column in (("ledger_transaction", "id"), *references):
        statements += [
            f"UPDATE {table} SET {column} = :temporary WHERE {column} = :first",
            f"UPDATE {table} SET {column} = :first WHERE {column} = :second",
            f"UPDATE {table} SET {column} = :second WHERE {column} = :temporary",
        ]
    tamper(books, *statements, first=first, second=second, temporary=10**9)


def first_problem(result) -> str:
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("FAILED: "), result.output
    # The summary names the first problem, which is also the first one listed.
    assert lines[0].endswith(lines[1].strip())
    return lines[1].strip()


def transaction_problem(transaction_id: int) -> str:
    return f"ledger_transaction id={transaction_id}: "


def test_an_entry_amount_edited_by_hand_is_reported_on_its_transaction(books):
    target = books.payments[2]
    tamper(books, "UPDATE ledger_entry SET amount = amount + 30 WHERE transaction_id = :id AND amount > 0", id=target)
    assert first_problem(verify(books)) == f"{transaction_problem(target)}entries sum to 30, not zero"


def test_both_entry_amounts_of_a_payment_raised_alike_break_its_hash(books):
    target = books.payments[0]
    tamper(books, "UPDATE ledger_entry SET amount = amount * 10 WHERE transaction_id = :id", id=target)
    assert first_problem(verify(books)) == f"{transaction_problem(target)}hash does not match its content"


def test_an_edited_memo_breaks_the_transactions_hash(books):
    target = books.reversal
    tamper(books, "UPDATE ledger_transaction SET memo = 'a gift' WHERE id = :id", id=target)
    assert first_problem(verify(books)) == f"{transaction_problem(target)}hash does not match its content"


def test_an_edited_memo_with_its_hash_recomputed_is_still_reported_on_the_edited_transaction(books):
    target = books.payments[1]
    tamper(books, "UPDATE ledger_transaction SET memo = 'a gift' WHERE id = :id", id=target)
    rehash(books, target)
    problem = first_problem(verify(books))
    assert problem.startswith(transaction_problem(target)), problem
    following = books.chain[books.chain.index(target) + 1]
    assert f"transaction id={following}" in problem


def test_a_transaction_moved_a_day_earlier_breaks_its_hash(books):
    target = books.payments[3]
    with books.engine.begin() as connection:
        connection.execute(
            transaction_table.update()
            .where(transaction_table.c.id == target)
            .values(created_at=START - timedelta(days=1))
        )
    assert first_problem(verify(books)) == f"{transaction_problem(target)}hash does not match its content"


def test_a_deleted_transaction_is_reported_on_the_one_after_the_gap(books):
    target = books.payments[1]
    position = books.chain.index(target)
    tamper(
        books,
        "DELETE FROM ledger_entry WHERE transaction_id = :id",
        "DELETE FROM ledger_transaction WHERE id = :id",
        id=target,
    )
    problem = first_problem(verify(books))
    following = books.chain[position + 1]
    sequence = position + 1
    assert problem == (
        f"{transaction_problem(following)}sequence {sequence + 1} where {sequence} was due; "
        f"sequence {sequence} is missing"
    )


def test_a_deleted_last_transaction_is_reported_on_the_ledgers_head(books):
    target = books.chain[-1]
    tamper(
        books,
        "DELETE FROM ledger_entry WHERE transaction_id = :id",
        "DELETE FROM exchange WHERE ledger_transaction_id = :id",
        "DELETE FROM ledger_transaction WHERE id = :id",
        id=target,
    )
    problem = first_problem(verify(books))
    last = len(books.chain)
    assert problem.startswith(f"ledger_ledger id={books.ledger_id}: head is sequence {last} "), problem
    assert problem.endswith(f"sequence {last} is missing"), problem


def test_two_transactions_with_their_sequence_numbers_swapped_are_reported_at_the_earlier_place(books):
    first, second = books.payments[0], books.payments[2]
    first_sequence, second_sequence = books.chain.index(first) + 1, books.chain.index(second) + 1
    tamper(
        books,
        "UPDATE ledger_transaction SET sequence = -1 WHERE id = :first",
        "UPDATE ledger_transaction SET sequence = :first_sequence WHERE id = :second",
        "UPDATE ledger_transaction SET sequence = :second_sequence WHERE id = :first",
        first=first,
        second=second,
        first_sequence=first_sequence,
        second_sequence=second_sequence,
    )
    problem = first_problem(verify(books))
    assert problem == f"{transaction_problem(second)}previous hash does not match the transaction before it"


def test_two_transactions_with_their_ids_swapped_are_reported_at_the_earlier_place(books):
    first, second = books.payments[0], books.payments[2]
    swap_transaction_ids(books, first, second)
    problem = first_problem(verify(books))
    sequence = books.chain.index(first) + 1
    assert problem.startswith(f"{transaction_problem(second)}sequence {sequence} has id {second}"), problem


def test_a_transaction_moved_to_the_end_by_a_new_id_is_reported(books):
    target = books.payments[1]
    moved = books.chain[-1] + 1000
    tamper(
        books,
        "UPDATE ledger_transaction SET id = :moved WHERE id = :id",
        "UPDATE ledger_entry SET transaction_id = :moved WHERE transaction_id = :id",
        "UPDATE ledger_transaction SET reverses_id = :moved WHERE reverses_id = :id",
        "UPDATE exchange SET ledger_transaction_id = :moved WHERE ledger_transaction_id = :id",
        id=target,
        moved=moved,
    )
    problem = first_problem(verify(books))
    assert problem.startswith(f"{transaction_problem(moved)}sequence {books.chain.index(target) + 1} has id {moved}")


def test_an_edited_account_balance_is_reported_on_the_account(books):
    tamper(books, "UPDATE ledger_account SET balance = balance + 600 WHERE id = :id", id=books.ans_account)
    assert first_problem(verify(books)).startswith(f"ledger_account id={books.ans_account}: balance is ")


def test_an_edited_balance_after_an_entry_is_reported_on_the_entry_and_its_transaction(books):
    target = books.payments[2]
    with books.engine.connect() as connection:
        entry = connection.execute(
            sa.select(entry_table.c.id).where(entry_table.c.transaction_id == target, entry_table.c.amount > 0)
        ).scalar_one()
    tamper(books, "UPDATE ledger_entry SET balance_after = balance_after + 600 WHERE id = :id", id=entry)
    problem = first_problem(verify(books))
    assert problem.startswith(f"ledger_entry id={entry}: balance after is "), problem
    assert f"transaction id={target}" in problem


def test_a_pending_claim_voided_by_hand_is_reported_on_the_payers_pending_minutes(books):
    # A transaction's state is outside its hash (holds post and void after the fact), so the figures show it.
    with books.engine.connect() as connection:
        payer = connection.execute(
            sa.select(entry_table.c.account_id).where(
                entry_table.c.transaction_id == books.claim, entry_table.c.amount < 0
            )
        ).scalar_one()
    tamper(
        books,
        "UPDATE ledger_transaction SET state = 'voided', voided_at = created_at WHERE id = :id",
        id=books.claim,
    )
    assert first_problem(verify(books)) == f"ledger_account id={payer}: pending_debits is 20 but its entries say 0"
