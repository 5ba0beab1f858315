"""Batches posted set-based (``ledger.post_batch``), on SQLite and PostgreSQL: the same answers and rows as posting
each item in turn with ``ledger.post``, items touching one account many times, refusals mid-batch, idempotent
replays (whole, partly changed, a key repeated within the batch), and batches racing single payments in threads.
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

import ledger
from ledger import errors
from ledger.models import account_table, entry_table, ledger_table, transaction_table
from tests.conftest import new_book
from tests.ledger.test_concurrency import in_threads, pooled_engine  # noqa: F401 (a fixture)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MISSING = 10**9


def run(engine, work):
    return ledger.transact(engine, work)


def reference_batch(session, commands, *, atomic, now):
    """The specification: each item posted in turn with ``ledger.post`` after locking the ledgers, as
    ``post_batch`` did item by item before it became set-based."""
    ledger.core.lock_ledgers(
        session, {command.ledger_id for command in commands if isinstance(command.ledger_id, int)}, missing_ok=True
    )

    def item(index, command):
        try:
            return ledger.BatchResult(index=index, posting=ledger.post(session, command, now=now))
        except errors.LedgerError as error:
            return ledger.BatchResult(index=index, error=error)

    if not atomic:
        return [item(index, command) for index, command in enumerate(commands)]
    outer = session.begin_nested()
    results = []
    for index, command in enumerate(commands):
        result = item(index, command)
        if not result.ok:
            outer.rollback()
            stopped = errors.BatchItemNotApplied("not applied", failed_index=index)
            return [
                result if other == index else ledger.BatchResult(index=other, error=stopped)
                for other in range(len(commands))
            ]
        results.append(result)
    outer.commit()
    return results


# --- the same answers and rows as item by item ----------------------------------------------------------------


class Book:
    """A ledger of six tight accounts (the last frozen), with an account of another ledger nearby; commands are
    written against positions, so that two books can be given the same batch."""

    def __init__(self, engine, foreign_account):
        self.engine = engine
        self.id, self.accounts = new_book(engine, accounts=6, floor=-50, ceiling=80)
        run(engine, lambda session: ledger.freeze_account(session, account_id=self.accounts[5]))
        self.scope = f"batch-{uuid.uuid4().hex}"
        self.foreign = foreign_account
        self.index = {account_id: position for position, account_id in enumerate(self.accounts)}
        self.index[foreign_account] = "foreign"

    def account(self, position):
        return {"foreign": self.foreign, "missing": MISSING}.get(
            position, self.accounts[position] if isinstance(position, int) else position
        )

    def command(self, spec):
        ledger_id = MISSING if spec["ledger"] == "missing" else self.id
        key = spec.get("key")
        return ledger.PostTransaction(
            ledger_id=ledger_id,
            entries=tuple(
                ledger.EntryRequest(account_id=self.account(position), amount=amount)
                for position, amount in spec["entries"]
            ),
            kind="transfer",
            memo=spec.get("memo", ""),
            details={"n": spec.get("n", 0)},
            pending=spec.get("pending", False),
            expires_at=NOW + timedelta(days=1) if spec.get("pending") else None,
            idempotency_scope=None if key is None else f"{self.scope}:{key[0]}",
            idempotency_key=None if key is None else key[1],
        )

    def sequence_of(self, session, transaction_id):
        return session.execute(
            sa.select(transaction_table.c.sequence).where(transaction_table.c.id == transaction_id)
        ).scalar_one()

    def normalise_result(self, session, result):
        if result.error is not None:
            details = dict(result.error.details)
            if "account_id" in details:
                details["account_id"] = self.index.get(details["account_id"], details["account_id"])
            if "transaction_id" in details:
                details["transaction_id"] = self.sequence_of(session, details["transaction_id"])
            if details.get("ledger_id") == self.id:
                details["ledger_id"] = "book"
            return ("refused", type(result.error).__name__, result.error.code, details)
        posting = result.posting
        return (
            "posted",
            posting.replayed,
            self.normalise_transaction(posting.transaction),
            self.normalise_entries(session, posting.entries),
        )

    def normalise_transaction(self, transaction):
        scope = transaction.idempotency_scope
        return (
            transaction.sequence,
            transaction.kind,
            transaction.state,
            transaction.memo,
            dict(transaction.details),
            transaction.actor,
            transaction.created_at,
            transaction.posted_at,
            transaction.expires_at,
            None if scope is None else scope.removeprefix(self.scope),
            transaction.idempotency_key,
            self.normalise_fingerprint(transaction.request_fingerprint),
        )

    def normalise_fingerprint(self, text):
        if text is None:
            return None
        request = json.loads(text)
        request["ledger_id"] = "book" if request["ledger_id"] == self.id else request["ledger_id"]
        request["entries"] = [[self.index.get(account, account), amount] for account, amount in request["entries"]]
        return request

    def normalise_entries(self, session, entries):
        return [
            (self.index[entry.account_id], entry.amount, entry.account_sequence, entry.balance_after, entry.posted_at)
            for entry in entries
        ]

    def stored(self):
        """Everything the book holds, without its ids."""

        def read(session):
            accounts = session.execute(
                sa.select(
                    account_table.c.id,
                    account_table.c.balance,
                    account_table.c.pending_debits,
                    account_table.c.pending_credits,
                    account_table.c.entry_count,
                    account_table.c.version,
                    account_table.c.status,
                )
                .where(account_table.c.ledger_id == self.id)
                .order_by(account_table.c.id)
            ).all()
            transactions = session.execute(
                sa.select(transaction_table)
                .where(transaction_table.c.ledger_id == self.id)
                .order_by(transaction_table.c.id)
            ).all()
            sequences = {row.id: row.sequence for row in transactions}
            entries = session.execute(
                sa.select(entry_table).where(entry_table.c.ledger_id == self.id).order_by(entry_table.c.id)
            ).all()
            head = session.execute(
                sa.select(ledger_table.c.last_sequence).where(ledger_table.c.id == self.id)
            ).scalar_one()
            report = ledger.verify(session, ledger_id=self.id)
            assert report.ok, report.summary()
            return {
                "accounts": [tuple(row)[1:] for row in accounts],
                "transactions": [
                    self.normalise_transaction(ledger.models.Transaction(**row._mapping)) for row in transactions
                ],
                "entries": [
                    (
                        sequences[row.transaction_id],
                        self.index[row.account_id],
                        row.amount,
                        row.account_sequence,
                        row.balance_after,
                        row.posted_at,
                    )
                    for row in entries
                ],
                "last_sequence": head,
            }

        return run(self.engine, read)


def random_specs(rng: random.Random, count: int) -> tuple[list[dict], list[dict]]:
    """Keyed items posted before the batch, and the batch: transfers (some held, some on the frozen account),
    three-way splits, malformed items, unknown or foreign accounts, an unknown ledger, and idempotency keys
    that repeat an earlier request, change it, or come back within the batch."""
    before = [
        {"ledger": "book", "entries": [(0, -10), (1, 10)], "key": ("early", f"k{number}"), "n": number}
        for number in range(3)
    ]
    specs = []
    for number in range(count):
        roll = rng.random()
        payer, payee, third = rng.sample(range(6), 3)
        amount = rng.randint(1, 45)
        if roll < 0.6:
            spec = {"ledger": "book", "entries": [(payer, -amount), (payee, amount)], "pending": rng.random() < 0.2}
        elif roll < 0.7:
            part = rng.randint(0, amount - 1) if amount > 1 else 0
            entries = [(payer, -amount), (payee, amount - part)] + ([(third, part)] if part else [])
            spec = {"ledger": "book", "entries": entries}
        elif roll < 0.75:
            spec = {"ledger": "book", "entries": rng.choice([[(payer, 0), (payee, 0)], [(payer, -1), (payer, 1)]])}
        elif roll < 0.82:
            other = rng.choice(["foreign", "missing"])
            spec = {"ledger": "book", "entries": sorted([(payer, -amount), (other, amount)], key=str)}
        elif roll < 0.85:
            spec = {"ledger": "missing", "entries": [(payer, -amount), (payee, amount)]}
        elif roll < 0.9 and specs:
            spec = dict(rng.choice(specs))  # the same request again, under the same key if it had one
        else:
            spec = {"ledger": "book", "entries": [(payer, -amount), (payee, amount)]}
        spec.setdefault("n", number)
        if "key" not in spec and rng.random() < 0.5:
            pool = rng.choice(["early", "batch"])
            spec["key"] = (pool, f"k{rng.randrange(3)}") if pool == "early" else ("batch", f"k{rng.randrange(8)}")
        specs.append(spec)
    return before, specs


@pytest.mark.parametrize("atomic", [False, True])
@pytest.mark.parametrize("seed", range(6))
def test_a_batch_answers_and_writes_what_posting_each_item_in_turn_would(engine, seed, atomic):
    foreign_book, (foreign,) = new_book(engine, accounts=1)
    first, second = Book(engine, foreign), Book(engine, foreign)
    before, specs = random_specs(random.Random(seed), 60)
    if atomic and seed % 2:
        specs = [spec for spec in specs if spec["ledger"] == "book" and not spec.get("key")][:20]
    outcomes = []
    for book, post in ((first, ledger.post_batch), (second, reference_batch)):
        for spec in before:
            run(engine, lambda session, spec=spec, book=book: ledger.post(session, book.command(spec), now=NOW))
        commands = [book.command(spec) for spec in specs]

        def work(session, book=book, commands=commands, post=post):
            results = post(session, commands, atomic=atomic, now=NOW)
            session.flush()
            return [book.normalise_result(session, result) for result in results]

        outcomes.append(run(engine, work))
    batch, reference = outcomes
    assert batch == reference
    assert first.stored() == second.stored()
    kinds = {item[0] for item in batch}
    assert atomic or kinds == {"posted", "refused"}


# --- examples -------------------------------------------------------------------------------------------------


def move(book, payer, payee, amount, **options):
    return ledger.transfer(ledger_id=book, debit_account_id=payer, credit_account_id=payee, amount=amount, **options)


def entries_of(engine, account_id):
    return run(
        engine,
        lambda session: [
            tuple(row)
            for row in session.execute(
                sa.select(entry_table.c.amount, entry_table.c.account_sequence, entry_table.c.balance_after)
                .where(entry_table.c.account_id == account_id)
                .order_by(entry_table.c.id)
            )
        ],
    )


def verified(engine, book):
    report = run(engine, lambda session: ledger.verify(session, ledger_id=book))
    assert report.ok, report.summary()
    return report


def test_items_touching_one_account_many_times_number_its_entries_and_balances_in_order(engine):
    book, (ans, bert, cor) = new_book(engine, accounts=3)
    ledger_commands = [
        move(book, ans, bert, 10),
        move(book, bert, cor, 5),
        move(book, ans, cor, 3),
        move(book, cor, ans, 1),
    ]
    results = run(engine, lambda session: ledger.post_batch(session, ledger_commands, atomic=True, now=NOW))
    assert all(result.ok for result in results)
    assert entries_of(engine, ans) == [(-10, 1, -10), (-3, 2, -13), (1, 3, -12)]
    assert entries_of(engine, bert) == [(10, 1, 10), (-5, 2, 5)]
    assert entries_of(engine, cor) == [(5, 1, 5), (3, 2, 8), (-1, 3, 7)]
    assert [entry.balance_after for entry in results[2].posting.entries] == [-13, 8]
    assert [result.posting.transaction.sequence for result in results] == [1, 2, 3, 4]
    report = verified(engine, book)
    assert report.transactions == 4 and report.entries == 8


def test_a_refused_item_of_a_non_atomic_batch_leaves_the_balances_as_they_were_for_the_next(engine):
    book, (ans, bert) = new_book(engine, accounts=2, floor=-100)
    commands = [move(book, ans, bert, 60), move(book, ans, bert, 60), move(book, ans, bert, 40)]
    results = run(engine, lambda session: ledger.post_batch(session, commands, atomic=False, now=NOW))
    assert [result.ok for result in results] == [True, False, True]
    assert results[1].error.details == {
        "account_id": ans,
        "amount": 60,
        "available": -60,
        "floor": -100,
        "available_above_floor": 40,
    }
    assert entries_of(engine, ans) == [(-60, 1, -60), (-40, 2, -100)]
    verified(engine, book)


def test_holds_in_a_batch_count_against_the_floor_of_later_items(engine):
    book, (ans, bert) = new_book(engine, accounts=2, floor=-100)
    commands = [
        move(book, ans, bert, 70, pending=True),
        move(book, ans, bert, 40),
        move(book, ans, bert, 30),
    ]
    results = run(engine, lambda session: ledger.post_batch(session, commands, atomic=False, now=NOW))
    assert [result.ok for result in results] == [True, False, True]
    assert results[0].posting.state == "pending" and results[0].posting.entries[0].balance_after is None
    account = run(engine, lambda session: ledger.get_account(session, ans))
    assert (account.balance, account.pending_debits, account.entry_count) == (-30, 70, 1)
    verified(engine, book)


def keyed(book, scope, payer, payee, amounts):
    return [
        move(book, payer, payee, amount, idempotency_scope=f"{scope}:{index}", idempotency_key="batch-1")
        for index, amount in enumerate(amounts)
    ]


def test_a_retried_batch_replays_every_item_and_a_changed_item_is_refused(engine):
    book, (ans, bert) = new_book(engine, accounts=2)
    scope = f"coordinator-{uuid.uuid4().hex}"
    first = run(
        engine,
        lambda session: ledger.post_batch(session, keyed(book, scope, ans, bert, [10, 20, 30]), atomic=True, now=NOW),
    )
    again = run(
        engine,
        lambda session: ledger.post_batch(session, keyed(book, scope, ans, bert, [10, 20, 30]), atomic=True, now=NOW),
    )
    assert [result.posting.id for result in again] == [result.posting.id for result in first]
    assert all(result.posting.replayed for result in again) and not any(result.posting.replayed for result in first)
    figures = lambda results: [  # noqa: E731
        [
            (entry.account_id, entry.amount, entry.account_sequence, entry.balance_after)
            for entry in result.posting.entries
        ]
        for result in results
    ]
    assert figures(again) == figures(first)
    changed = run(
        engine,
        lambda session: ledger.post_batch(
            session, keyed(book, scope, ans, bert, [10, 25, 30, 40]), atomic=False, now=NOW
        ),
    )
    assert changed[0].posting.replayed and changed[2].posting.replayed
    assert isinstance(changed[1].error, errors.IdempotencyKeyReused)
    assert changed[1].error.details["transaction_id"] == first[1].posting.id
    assert changed[3].ok and not changed[3].posting.replayed
    assert entries_of(engine, ans) == [(-10, 1, -10), (-20, 2, -30), (-30, 3, -60), (-40, 4, -100)]
    verified(engine, book)


@pytest.mark.parametrize("atomic", [False, True])
def test_a_key_repeated_within_a_batch_replays_the_first_item(engine, atomic):
    book, (ans, bert) = new_book(engine, accounts=2)
    key = {"idempotency_scope": f"member-{uuid.uuid4().hex}", "idempotency_key": "same"}
    commands = [move(book, ans, bert, 10, **key), move(book, bert, ans, 1), move(book, ans, bert, 10, **key)]
    results = run(engine, lambda session: ledger.post_batch(session, commands, atomic=atomic, now=NOW))
    assert [result.ok for result in results] == [True, True, True]
    assert results[2].posting.replayed and results[2].posting.id == results[0].posting.id
    assert entries_of(engine, ans) == [(-10, 1, -10), (1, 2, -9)]
    verified(engine, book)


def test_an_atomic_batch_undoes_items_written_for_a_repeated_key_when_a_later_item_is_refused(engine):
    book, (ans, bert) = new_book(engine, accounts=2, floor=-100)
    key = {"idempotency_scope": f"member-{uuid.uuid4().hex}", "idempotency_key": "same"}
    commands = [move(book, ans, bert, 10, **key), move(book, ans, bert, 10, **key), move(book, ans, bert, 500)]
    results = run(engine, lambda session: ledger.post_batch(session, commands, atomic=True, now=NOW))
    assert [result.error.code for result in results] == [
        "batch_item_not_applied",
        "batch_item_not_applied",
        "balance_below_floor",
    ]
    assert entries_of(engine, ans) == []
    report = verified(engine, book)
    assert report.transactions == 0


def test_a_key_repeated_within_a_batch_for_another_request_is_refused(engine):
    book, (ans, bert) = new_book(engine, accounts=2)
    key = {"idempotency_scope": f"member-{uuid.uuid4().hex}", "idempotency_key": "same"}
    commands = [move(book, ans, bert, 10, **key), move(book, ans, bert, 11, **key)]
    results = run(engine, lambda session: ledger.post_batch(session, commands, atomic=False, now=NOW))
    assert results[0].ok and isinstance(results[1].error, errors.IdempotencyKeyReused)
    assert results[1].error.details["field"] == "entries"


def test_a_batch_refuses_accounts_it_cannot_use_with_the_rule_that_refused_them(engine):
    book, (ans, bert, cor) = new_book(engine, accounts=3)
    other, (stranger,) = new_book(engine, accounts=1)
    run(engine, lambda session: ledger.freeze_account(session, account_id=cor))
    commands = [
        move(book, ans, stranger, 5),
        move(book, ans, MISSING, 5),
        move(book, ans, cor, 5),
        move(MISSING, ans, bert, 5),
    ]
    results = run(engine, lambda session: ledger.post_batch(session, commands, atomic=False, now=NOW))
    assert [type(result.error) for result in results] == [
        errors.LedgersDiffer,
        errors.AccountNotFound,
        errors.AccountFrozen,
        errors.LedgerNotFound,
    ]
    assert run(engine, lambda session: ledger.get_account(session, stranger)).version == 1


# --- concurrency ----------------------------------------------------------------------------------------------


def test_batches_and_single_payments_racing_in_threads_conserve_money_and_keep_the_books(pooled_engine):  # noqa: F811
    book, accounts = new_book(pooled_engine, accounts=12, floor=-200, ceiling=200)
    threads, rounds = 6, 6

    def work(index, barrier):
        rng = random.Random(index)
        posted = refused = 0
        barrier.wait()
        for _ in range(rounds):
            if index % 2:
                commands = [move(book, *rng.sample(accounts, 2), rng.randint(1, 80)) for _ in range(40)]
                results = ledger.transact(
                    pooled_engine, lambda session, commands=commands: ledger.post_batch(session, commands, atomic=False)
                )
                posted += sum(result.ok for result in results)
                refused += sum(not result.ok for result in results)
            else:
                for _ in range(10):
                    command = move(book, *rng.sample(accounts, 2), rng.randint(1, 80))
                    try:
                        ledger.transact(pooled_engine, lambda session, command=command: ledger.post(session, command))
                        posted += 1
                    except (errors.BalanceBelowFloor, errors.BalanceAboveCeiling):
                        refused += 1
        return posted, refused

    outcomes = in_threads(threads, work)
    posted = sum(outcome[0] for outcome in outcomes)
    assert posted and sum(outcome[1] for outcome in outcomes)

    def check(session):
        rows = (
            session.execute(sa.select(account_table.c.balance).where(account_table.c.ledger_id == book)).scalars().all()
        )
        assert sum(rows) == 0 and all(-200 <= balance <= 200 for balance in rows)
        report = ledger.verify(session, ledger_id=book)
        assert report.ok, report.summary()
        assert report.transactions == posted

    run(pooled_engine, check)


def test_a_fingerprint_is_the_canonical_json_of_each_field_whatever_its_type():
    from ledger.commands import fingerprint
    from ledger.hashing import canonical_json

    fields = {
        "text": 'é\u2028"x\\',
        "whole": 10**20,
        "none": None,
        "flag": True,
        "fraction": 1.5,
        "mapping": {"z": 1, "a": [1, "ü", {"y": None, "b": 2}]},
        "entries": [[3, -1], [1, 2]],
        "empty": "",
    }
    expected = json.dumps(
        {name: json.loads(canonical_json(value)) for name, value in fields.items()}, separators=(",", ":")
    )
    assert fingerprint(fields) == expected


def test_bulk_inserts_store_each_value_as_given_and_refuse_a_naive_moment(engine):
    """``insert_rows`` (PostgreSQL: one JSON document of the rows) keeps texts, JSON details, ids and moments (with
    any offset) as an ORM insert would, and refuses a naive moment before writing anything."""
    from zoneinfo import ZoneInfo

    from ledger.database import insert_rows

    book, _accounts = new_book(engine, accounts=2)
    amsterdam = datetime(2026, 3, 1, 13, 30, 0, 250, tzinfo=ZoneInfo("Europe/Amsterdam"))
    row = {
        "ledger_id": book,
        "sequence": 1,
        "kind": "exchange",
        "state": "posted",
        "memo": 'é\u2028"x\\ \n',
        "details": {"mapping": {"z": 1, "a": [1, "ü", None]}, "whole": 2**62},
        "actor": "user:1",
        "created_at": amsterdam,
        "posted_at": NOW,
        "voided_at": None,
        "void_reason": "",
        "expires_at": None,
        "reverses_id": None,
        "idempotency_scope": None,
        "idempotency_key": None,
        "request_fingerprint": None,
        "previous_hash": "0" * 64,
        "hash": "1" * 64,
    }

    def insert(session):
        return insert_rows(session, transaction_table, [row], returning_ids=True)

    [transaction_id] = run(engine, insert)
    with engine.connect() as connection:
        stored = (
            connection.execute(sa.select(transaction_table).where(transaction_table.c.id == transaction_id))
            .one()
            ._mapping
        )
    assert {name: stored[name] for name in row} == row
    assert stored["created_at"] == datetime(2026, 3, 1, 12, 30, 0, 250, tzinfo=UTC)

    naive = {**row, "sequence": 2, "posted_at": datetime(2026, 3, 1, 12, 0)}
    with pytest.raises((ValueError, sa.exc.StatementError), match="naive"):
        run(engine, lambda session: insert_rows(session, transaction_table, [naive]))
    with engine.connect() as connection:
        assert (
            connection.execute(
                sa.select(sa.func.count()).select_from(transaction_table).where(transaction_table.c.ledger_id == book)
            ).scalar()
            == 1
        )


def test_a_key_taken_between_the_reading_of_keys_and_the_lock_retries_the_batch_which_replays_it(engine, monkeypatch):
    """A batch reads which keys exist before it locks the ledger; a rival that posts under one of its keys in between
    makes its INSERT fail, and the retried unit of work replays that item (on SQLite the write lock comes first)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite takes its write lock before the batch reads anything")
    book, (ans, bert) = new_book(engine, accounts=2)
    key = {"idempotency_scope": f"member-{uuid.uuid4().hex}", "idempotency_key": "raced"}
    commands = [move(book, ans, bert, 10, **key), move(book, bert, ans, 3)]
    lock_chains, rival, attempts = ledger.batches._lock_chains, [], []

    def lock_after_a_rival(session, ledger_ids):
        if not rival:
            rival.append(run(engine, lambda other: ledger.post(other, move(book, ans, bert, 10, **key), now=NOW)))
        return lock_chains(session, ledger_ids)

    def work(session):
        attempts.append(session)
        return ledger.post_batch(session, commands, atomic=False, now=NOW)

    monkeypatch.setattr(ledger.batches, "_lock_chains", lock_after_a_rival)
    results = run(engine, work)
    assert len(attempts) == 2
    assert results[0].posting.replayed and results[0].posting.id == rival[0].id
    assert results[1].ok and not results[1].posting.replayed
    assert entries_of(engine, ans) == [(-10, 1, -10), (3, 2, -7)]
    verified(engine, book)
