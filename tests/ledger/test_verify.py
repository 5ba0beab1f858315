"""Verification finds the books intact, and catches edits made behind the ledger's back."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC
from zoneinfo import ZoneInfo

import hypothesis.strategies as st
import pytest
import sqlalchemy as sa
from hypothesis import given, settings

import ledger
from ledger.database import create_engine
from ledger.hashing import transaction_hash
from ledger.verify import _IdOrder
from tests.conftest import new_book


@pytest.fixture
def books(fresh_database):
    """A database of its own with a little history: transfers, a hold, a posted hold, a reversal."""
    engine = create_engine(fresh_database)
    book, (ans, bert, cor) = new_book(engine, accounts=3)

    def history(session):
        ids = []
        for payer, payee, amount in ((ans, bert, 60), (bert, cor, 30), (cor, ans, 10)):
            command = ledger.transfer(ledger_id=book, debit_account_id=payer, credit_account_id=payee, amount=amount)
            ids.append(ledger.post(session, command).id)
        hold = ledger.post(
            session,
            ledger.transfer(ledger_id=book, debit_account_id=ans, credit_account_id=cor, amount=5, pending=True),
        )
        ledger.post_pending(session, transaction_id=hold.id)
        ledger.post(
            session,
            ledger.transfer(ledger_id=book, debit_account_id=ans, credit_account_id=cor, amount=7, pending=True),
        )
        ledger.reverse(session, transaction_id=ids[1], reason="wrong person")
        return ids

    transaction_ids = ledger.transact(engine, history)
    yield engine, transaction_ids, (ans, bert, cor)
    engine.dispose()


def verify(engine):
    with sa.orm.Session(engine) as session:
        return ledger.verify(session)


def tamper(engine, sql, **parameters):
    with engine.begin() as connection:
        connection.execute(sa.text(sql), parameters)


def test_untouched_books_verify(books):
    engine, transaction_ids, _ = books
    report = verify(engine)
    assert report.ok, report.summary()
    assert (report.ledgers, report.accounts, report.transactions, report.entries) == (1, 3, 6, 12)


def test_a_hand_edited_entry_amount_is_caught(books):
    engine, transaction_ids, _ = books
    tamper(
        engine,
        "UPDATE ledger_entry SET amount = amount + 1 WHERE transaction_id = :id AND amount > 0",
        id=transaction_ids[0],
    )
    report = verify(engine)
    assert not report.ok
    assert report.problems[0].table == "ledger_transaction" and report.problems[0].row_id == transaction_ids[0]
    assert "sum" in report.problems[0].message


def test_a_transaction_turned_around_by_hand_is_caught_by_the_hash(books):
    engine, transaction_ids, _ = books
    tamper(engine, "UPDATE ledger_entry SET amount = -amount WHERE transaction_id = :id", id=transaction_ids[0])
    report = verify(engine)
    assert str(report.problems[0]) == f"ledger_transaction id={transaction_ids[0]}: hash does not match its content"


def test_a_deleted_transaction_is_caught(books):
    engine, transaction_ids, _ = books
    tamper(engine, "DELETE FROM ledger_entry WHERE transaction_id = :id", id=transaction_ids[2])
    tamper(engine, "DELETE FROM ledger_transaction WHERE id = :id", id=transaction_ids[2])
    report = verify(engine)
    assert not report.ok
    assert report.problems[0].table == "ledger_transaction"
    assert "sequence" in report.problems[0].message
    assert any(problem.table == "ledger_account" for problem in report.problems)


def test_a_changed_account_balance_is_caught(books):
    engine, _, (ans, _, _) = books
    tamper(engine, "UPDATE ledger_account SET balance = balance + 600 WHERE id = :id", id=ans)
    report = verify(engine)
    assert report.problems[0].table == "ledger_account" and report.problems[0].row_id == ans
    assert report.problems[0].message.startswith("balance is")
    assert any("balances sum to 600" in problem.message for problem in report.problems)


def test_a_changed_memo_breaks_the_hash_chain(books):
    engine, transaction_ids, _ = books
    tamper(engine, "UPDATE ledger_transaction SET memo = 'edited' WHERE id = :id", id=transaction_ids[1])
    report = verify(engine)
    assert str(report.problems[0]) == f"ledger_transaction id={transaction_ids[1]}: hash does not match its content"


def test_a_pending_hold_flipped_to_posted_by_hand_is_caught(books):
    engine, _, _ = books
    tamper(engine, "UPDATE ledger_transaction SET state = 'posted' WHERE state = 'pending'")
    report = verify(engine)
    assert not report.ok
    assert any("pending" in problem.message or "posting" in problem.message for problem in report.problems)


def test_verification_reports_progress(books):
    engine, _, _ = books
    calls = []
    with sa.orm.Session(engine) as session:
        ledger.verify(session, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (6, 6)


@pytest.mark.parametrize(
    ("ids", "flagged"),
    [
        ([1, 2, 3, 7, 9], []),
        ([10, 99, 12, 13], [(99, 2)]),  # one raised: the row before the fall
        ([10, 11, 1, 13], [(1, 3)]),  # one lowered: the row after the fall
        ([10, 13, 12, 11, 14], [(13, 2), (11, 4)]),  # two swapped: both
        ([99, 2, 3], [(99, 1)]),  # at the start the next id decides
        ([10, 5, 12], [(5, 2)]),
        ([10, 5], [(10, 1)]),
    ],
)
def test_ids_out_of_order_with_the_sequence_are_pinned_on_the_odd_row(ids, flagged):
    report = ledger.VerificationReport()
    order = _IdOrder(report)
    for sequence, row_id in enumerate(ids, start=1):
        order.add(row_id, sequence)
    order.finish()
    assert [(problem.row_id, int(problem.message.split()[1])) for problem in report.problems] == flagged


moments = st.datetimes(timezones=st.sampled_from([UTC, ZoneInfo("Asia/Kolkata")]))
texts = st.text(max_size=12)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | texts,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(texts, children, max_size=3),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(
    ledger_id=st.integers(1, 2**40),
    sequence=st.integers(1, 2**40),
    kind=texts,
    memo=texts,
    details=st.dictionaries(texts, json_values, max_size=4),
    actor=texts,
    created_at=moments,
    expires_at=st.none() | moments,
    reverses_id=st.none() | st.integers(1, 2**40),
    idempotency=st.tuples(st.none() | texts, st.none() | texts),
    entries=st.lists(st.tuples(st.integers(1, 2**40), st.integers(-(2**40), 2**40)), max_size=4),
    previous_hash=st.text("0123456789abcdef", min_size=64, max_size=64),
)
def test_a_transaction_hash_is_the_sha256_of_the_canonical_json_of_its_content(**content):
    """The definition of the chain's hash; ``transaction_hash`` makes the text in two parts (``content_prefix``, known
    before a batch locks the ledger, and the chain's part), and must make exactly this text."""
    scope, key = content.pop("idempotency")
    whole = {
        **content,
        "created_at": content["created_at"].isoformat(timespec="microseconds"),
        "expires_at": None
        if content["expires_at"] is None
        else content["expires_at"].isoformat(timespec="microseconds"),
        "idempotency": [scope, key],
        "entries": sorted([account_id, amount] for account_id, amount in content["entries"]),
    }
    text = json.dumps(whole, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    expected = hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert transaction_hash(**content, idempotency_scope=scope, idempotency_key=key) == expected
