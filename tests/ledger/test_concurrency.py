"""Concurrency with real threads, each on its own database connection, on SQLite and PostgreSQL.

``LEDGER_CONCURRENT_TRANSFERS`` (default 2400) sets how many random transfers the threads make in all.
"""

from __future__ import annotations

import os
import random
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

import ledger
from ledger import errors
from ledger.database import create_engine
from ledger.models import account_table, entry_table, transaction_table
from tests.conftest import new_book

THREADS = 16
TRANSFERS = int(os.environ.get("LEDGER_CONCURRENT_TRANSFERS", "2400"))


@pytest.fixture
def pooled_engine(database_url):
    """An engine with a connection for every thread, so threads really run side by side."""
    engine = create_engine(database_url, pool_size=THREADS + 8, max_overflow=8)
    yield engine
    engine.dispose()


def in_threads(count, task):
    """Run ``task(index, barrier)`` in ``count`` threads that start together; return their results in order."""
    barrier = threading.Barrier(count)
    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(lambda index: task(index, barrier), range(count)))


def grant(engine, book, source, target, amount):
    command = ledger.transfer(
        ledger_id=book, debit_account_id=source, credit_account_id=target, amount=amount, kind="grant"
    )
    return ledger.transact(engine, lambda session: ledger.post(session, command))


def test_thousands_of_concurrent_transfers_conserve_money_and_respect_every_bound(pooled_engine):
    book, accounts = new_book(pooled_engine, accounts=6, floor=-300, ceiling=300)
    scope = f"threads-{uuid.uuid4().hex}"
    per_thread = TRANSFERS // THREADS

    def work(index, barrier):
        rng = random.Random(index)
        outcomes = []
        barrier.wait()
        for number in range(per_thread):
            payer, payee = rng.sample(accounts, 2)
            key = f"{index}-{number}"
            command = ledger.transfer(
                ledger_id=book,
                debit_account_id=payer,
                credit_account_id=payee,
                amount=rng.randint(1, 120),
                pending=rng.random() < 0.2,
                idempotency_scope=scope,
                idempotency_key=key,
            )
            try:
                posting = ledger.transact(pooled_engine, lambda session, command=command: ledger.post(session, command))
                outcomes.append((key, posting.id))
            except (errors.BalanceBelowFloor, errors.BalanceAboveCeiling):
                outcomes.append((key, None))
        return outcomes

    outcomes = [outcome for thread in in_threads(THREADS, work) for outcome in thread]
    succeeded = {key: transaction_id for key, transaction_id in outcomes if transaction_id is not None}
    refused = {key for key, transaction_id in outcomes if transaction_id is None}
    assert len(outcomes) == per_thread * THREADS
    assert succeeded and refused, "the bounds are tight enough that both outcomes occur"

    with sa.orm.Session(pooled_engine) as session:
        stored = dict(
            session.execute(
                sa.select(transaction_table.c.idempotency_key, transaction_table.c.id).where(
                    transaction_table.c.idempotency_scope == scope
                )
            ).all()
        )
        assert stored == succeeded  # every success exactly once, no trace of any refusal
        assert not refused & stored.keys()
        balances = session.execute(
            sa.select(account_table.c.balance, account_table.c.pending_debits, account_table.c.pending_credits).where(
                account_table.c.ledger_id == book
            )
        ).all()
        assert sum(row.balance for row in balances) == 0
        assert all(
            row.balance - row.pending_debits >= -300 and row.balance + row.pending_credits <= 300 for row in balances
        )
        extremes = session.execute(
            sa.select(sa.func.min(entry_table.c.balance_after), sa.func.max(entry_table.c.balance_after)).where(
                entry_table.c.ledger_id == book
            )
        ).one()
        assert extremes[0] >= -300 and extremes[1] <= 300  # no balance ever passed a bound, at any moment
        report = ledger.verify(session, ledger_id=book)
        assert report.ok, report.summary()
        assert report.transactions == len(succeeded)


def test_debits_each_affordable_alone_succeed_only_as_far_as_the_balance_allows(pooled_engine):
    attempts = 2 * THREADS
    book, (issuance, spender, receiver) = new_book(pooled_engine, accounts=3, floor=None, ceiling=None)
    ledger.transact(
        pooled_engine, lambda session: ledger.set_limits(session, account_id=spender, floor=0, ceiling=None)
    )
    grant(pooled_engine, book, issuance, spender, 1000)

    def work(index, barrier):
        command = ledger.transfer(ledger_id=book, debit_account_id=spender, credit_account_id=receiver, amount=300)
        barrier.wait()
        try:
            ledger.transact(pooled_engine, lambda session: ledger.post(session, command))
            return "posted"
        except errors.BalanceBelowFloor:
            return "refused"

    results = Counter(in_threads(attempts, work))
    assert results == Counter({"posted": 3, "refused": attempts - 3})
    final = ledger.transact(pooled_engine, lambda session: ledger.get_account(session, spender))
    assert final.balance == 100


def test_twenty_concurrent_retries_of_one_idempotency_key_make_one_transaction(pooled_engine):
    book, (payer, payee) = new_book(pooled_engine, accounts=2)
    scope = f"retry-{uuid.uuid4().hex}"
    command = ledger.transfer(
        ledger_id=book,
        debit_account_id=payer,
        credit_account_id=payee,
        amount=25,
        idempotency_scope=scope,
        idempotency_key="same",
    )

    def work(index, barrier):
        barrier.wait()
        return ledger.transact(pooled_engine, lambda session: ledger.post(session, command))

    postings = in_threads(20, work)
    assert len({posting.id for posting in postings}) == 1
    assert sum(not posting.replayed for posting in postings) == 1
    final = ledger.transact(pooled_engine, lambda session: ledger.get_account(session, payer))
    assert final.balance == -25


def test_concurrent_reversals_of_one_transaction_reverse_it_once(pooled_engine):
    book, (payer, payee) = new_book(pooled_engine, accounts=2)
    original = grant(pooled_engine, book, payer, payee, 40)

    def work(index, barrier):
        barrier.wait()
        try:
            return ledger.transact(
                pooled_engine, lambda session: ledger.reverse(session, transaction_id=original.id, reason=f"r{index}")
            ).id
        except errors.AlreadyReversed:
            return "already"

    results = in_threads(THREADS, work)
    assert results.count("already") == THREADS - 1
    final = ledger.transact(pooled_engine, lambda session: ledger.get_account(session, payee))
    assert final.balance == 0


def test_a_hold_posted_and_voided_at_once_settles_exactly_one_way(pooled_engine):
    book, (payer, payee) = new_book(pooled_engine, accounts=2)
    hold = ledger.transact(
        pooled_engine,
        lambda session: ledger.post(
            session,
            ledger.transfer(ledger_id=book, debit_account_id=payer, credit_account_id=payee, amount=40, pending=True),
        ),
    )

    def work(index, barrier):
        operation = ledger.post_pending if index % 2 else ledger.void_pending
        barrier.wait()
        try:
            return ledger.transact(pooled_engine, lambda session: operation(session, transaction_id=hold.id)).state
        except (errors.PendingAlreadyPosted, errors.PendingAlreadyVoided):
            return "refused"

    results = Counter(in_threads(THREADS, work))
    assert results["refused"] == THREADS - 1
    with sa.orm.Session(pooled_engine) as session:
        assert ledger.verify(session, ledger_id=book).ok
        payer_now = ledger.get_account(session, payer)
    assert payer_now.pending_debits == 0 and payer_now.balance in (0, -40)
