"""Posting rules and their refusals, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

import ledger
from ledger import errors
from ledger.commands import MAX_AMOUNT, MAX_ENTRIES
from ledger.models import entry_table, transaction_table
from tests.conftest import new_book

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def run(engine, work):
    return ledger.transact(engine, work)


def pay(engine, ledger_id, payer, payee, amount, *, now=NOW, **options):
    command = ledger.transfer(
        ledger_id=ledger_id, debit_account_id=payer, credit_account_id=payee, amount=amount, **options
    )
    return run(engine, lambda session: ledger.post(session, command, now=now))


def account(engine, account_id):
    return run(engine, lambda session: ledger.get_account(session, account_id))


def figures(engine, *account_ids):
    """(balance, pending debits, pending credits) of each account."""
    return [
        (found.balance, found.pending_debits, found.pending_credits)
        for found in (account(engine, account_id) for account_id in account_ids)
    ]


def transaction_count(engine, ledger_id):
    return run(
        engine,
        lambda session: session.execute(
            sa.select(sa.func.count()).select_from(transaction_table).where(transaction_table.c.ledger_id == ledger_id)
        ).scalar_one(),
    )


def assert_refused(engine, ledger_id, accounts, error_type, work):
    """``work`` raises ``error_type`` and leaves every figure and the transaction count as they were."""
    before = figures(engine, *accounts), transaction_count(engine, ledger_id)
    with pytest.raises(error_type) as raised:
        run(engine, work)
    assert (figures(engine, *accounts), transaction_count(engine, ledger_id)) == before
    return raised.value


def test_a_transfer_moves_the_amount_and_records_the_balance_after_each_entry(engine):
    book, (ans, bert) = new_book(engine, accounts=2)
    posting = pay(engine, book, ans, bert, 90)
    assert posting.state == "posted"
    assert figures(engine, ans, bert) == [(-90, 0, 0), (90, 0, 0)]
    assert sorted((entry.account_id, entry.amount, entry.balance_after) for entry in posting.entries) == sorted(
        [(ans, -90, -90), (bert, 90, 90)]
    )
    assert run(engine, lambda session: ledger.ledger_balance_total(session, book)) == 0


@pytest.mark.parametrize(
    ("entries", "error_type"),
    [
        ([], errors.TooFewEntries),
        ([(0, 10)], errors.TooFewEntries),
        ([(0, -10), (1, 20)], errors.EntriesUnbalanced),
        ([(0, 0), (1, 0)], errors.AmountZero),
        ([(0, -10), (0, 10)], errors.AccountRepeated),
        ([(0, -(MAX_AMOUNT + 1)), (1, MAX_AMOUNT + 1)], errors.AmountTooLarge),
    ],
)
def test_a_malformed_transaction_is_refused_whole(engine, entries, error_type):
    book, accounts = new_book(engine, accounts=2, floor=None, ceiling=None)
    command = ledger.PostTransaction(
        ledger_id=book,
        entries=tuple(ledger.EntryRequest(account_id=accounts[index], amount=amount) for index, amount in entries),
    )
    assert_refused(engine, book, accounts, error_type, lambda session: ledger.post(session, command, now=NOW))


def test_a_transaction_may_have_at_most_the_maximum_number_of_entries(engine):
    book, accounts = new_book(engine, accounts=2, floor=None, ceiling=None)
    entries = tuple(
        ledger.EntryRequest(account_id=index, amount=1 if index % 2 else -1) for index in range(MAX_ENTRIES + 2)
    )
    command = ledger.PostTransaction(ledger_id=book, entries=entries)
    assert_refused(engine, book, accounts, errors.TooManyEntries, lambda session: ledger.post(session, command))


@pytest.mark.parametrize(
    ("field", "value"),
    [("memo", "x" * 501), ("kind", ""), ("kind", "k" * 33), ("details", {"n": float("nan")}), ("details", {1: "x"})],
)
def test_bad_text_and_details_are_refused_with_the_field(engine, field, value):
    book, (ans, bert) = new_book(engine, accounts=2)
    command = ledger.transfer(ledger_id=book, debit_account_id=ans, credit_account_id=bert, amount=5, **{field: value})
    refusal = assert_refused(
        engine, book, [ans, bert], errors.InvalidRequest, lambda session: ledger.post(session, command)
    )
    assert refusal.details["field"] == field


def test_a_transfer_below_the_floor_is_refused_with_the_figures_and_changes_nothing(engine):
    book, (ans, bert) = new_book(engine, accounts=2, floor=-600)
    pay(engine, book, ans, bert, 500)
    refusal = assert_refused(
        engine,
        book,
        [ans, bert],
        errors.BalanceBelowFloor,
        lambda session: ledger.post(
            session, ledger.transfer(ledger_id=book, debit_account_id=ans, credit_account_id=bert, amount=101)
        ),
    )
    assert refusal.code == "balance_below_floor"
    assert refusal.details == {
        "account_id": ans,
        "amount": 101,
        "available": -500,
        "floor": -600,
        "available_above_floor": 100,
    }


def test_a_transfer_that_reaches_the_floor_exactly_posts(engine):
    book, (ans, bert) = new_book(engine, accounts=2, floor=-600)
    pay(engine, book, ans, bert, 600)
    assert figures(engine, ans) == [(-600, 0, 0)]


def test_a_transfer_above_the_ceiling_is_refused_and_one_reaching_it_posts(engine):
    book, (ans, bert) = new_book(engine, accounts=2, floor=None, ceiling=300)
    refusal = assert_refused(
        engine,
        book,
        [ans, bert],
        errors.BalanceAboveCeiling,
        lambda session: ledger.post(
            session, ledger.transfer(ledger_id=book, debit_account_id=ans, credit_account_id=bert, amount=301)
        ),
    )
    assert refusal.details["ceiling"] == 300 and refusal.details["room_below_ceiling"] == 300
    pay(engine, book, ans, bert, 300)
    assert figures(engine, bert) == [(300, 0, 0)]


def test_pending_debits_count_against_the_floor(engine):
    book, (ans, bert, cor) = new_book(engine, accounts=3, floor=-100)
    pay(engine, book, ans, bert, 60, pending=True)
    assert figures(engine, ans, bert) == [(0, 60, 0), (0, 0, 60)]
    refusal = assert_refused(
        engine,
        book,
        [ans, cor],
        errors.BalanceBelowFloor,
        lambda session: ledger.post(
            session, ledger.transfer(ledger_id=book, debit_account_id=ans, credit_account_id=cor, amount=41)
        ),
    )
    assert refusal.details["available"] == -60
    pay(engine, book, ans, cor, 40)


def test_pending_credits_count_against_the_ceiling(engine):
    book, (ans, bert, cor) = new_book(engine, accounts=3, floor=None, ceiling=100)
    pay(engine, book, ans, bert, 70, pending=True)
    assert_refused(
        engine,
        book,
        [cor, bert],
        errors.BalanceAboveCeiling,
        lambda session: ledger.post(
            session, ledger.transfer(ledger_id=book, debit_account_id=cor, credit_account_id=bert, amount=31)
        ),
    )
    pay(engine, book, cor, bert, 30)


def test_a_group_event_credits_every_participant_or_none(engine):
    book, (pot, *participants) = new_book(engine, accounts=4, floor=None, ceiling=100)
    entries = (ledger.EntryRequest(account_id=pot, amount=-150),) + tuple(
        ledger.EntryRequest(account_id=member, amount=50) for member in participants
    )
    run(
        engine,
        lambda session: ledger.post(
            session, ledger.PostTransaction(ledger_id=book, entries=entries, kind="group_event")
        ),
    )
    assert figures(engine, *participants) == [(50, 0, 0)] * 3
    too_much = (ledger.EntryRequest(account_id=pot, amount=-120),) + tuple(
        ledger.EntryRequest(account_id=member, amount=amount)
        for member, amount in zip(participants, [30, 30, 60], strict=True)
    )
    assert_refused(
        engine,
        book,
        [pot, *participants],
        errors.BalanceAboveCeiling,
        lambda session: ledger.post(session, ledger.PostTransaction(ledger_id=book, entries=too_much)),
    )


def test_frozen_and_closed_accounts_refuse_new_entries(engine):
    book, (ans, bert, cor) = new_book(engine, accounts=3)
    run(engine, lambda session: ledger.freeze_account(session, account_id=bert))
    for error_type, pending in ((errors.AccountFrozen, False), (errors.AccountFrozen, True)):
        assert_refused(
            engine,
            book,
            [ans, bert],
            error_type,
            lambda session, pending=pending: ledger.post(
                session,
                ledger.transfer(
                    ledger_id=book, debit_account_id=ans, credit_account_id=bert, amount=5, pending=pending
                ),
            ),
        )
    run(engine, lambda session: ledger.unfreeze_account(session, account_id=bert))
    pay(engine, book, ans, bert, 5)
    run(engine, lambda session: ledger.close_account(session, account_id=cor))
    assert_refused(
        engine,
        book,
        [ans, cor],
        errors.AccountClosed,
        lambda session: ledger.post(
            session, ledger.transfer(ledger_id=book, debit_account_id=ans, credit_account_id=cor, amount=5)
        ),
    )
    with pytest.raises(errors.AccountClosed):
        run(engine, lambda session: ledger.unfreeze_account(session, account_id=cor))


def test_only_an_empty_account_can_be_closed(engine):
    book, (ans, bert) = new_book(engine, accounts=2)
    pay(engine, book, ans, bert, 5)
    with pytest.raises(errors.AccountNotEmpty) as refused:
        run(engine, lambda session: ledger.close_account(session, account_id=ans))
    assert refused.value.details["balance"] == -5
    assert account(engine, ans).status == "open"


def test_unknown_accounts_ledgers_and_accounts_of_another_ledger_are_refused(engine):
    book, (ans, bert) = new_book(engine, accounts=2)
    other_book, (stranger,) = new_book(engine, accounts=1)
    cases = [
        (
            ledger.transfer(ledger_id=book, debit_account_id=ans, credit_account_id=10**9, amount=5),
            errors.AccountNotFound,
        ),
        (
            ledger.transfer(ledger_id=book, debit_account_id=ans, credit_account_id=stranger, amount=5),
            errors.LedgersDiffer,
        ),
        (
            ledger.transfer(ledger_id=10**9, debit_account_id=ans, credit_account_id=bert, amount=5),
            errors.LedgerNotFound,
        ),
    ]
    for command, error_type in cases:
        assert_refused(
            engine, book, [ans, bert], error_type, lambda session, command=command: ledger.post(session, command)
        )
    assert figures(engine, stranger) == [(0, 0, 0)]
    assert transaction_count(engine, other_book) == 0


def test_limits_are_checked_when_set(engine):
    book, (ans,) = new_book(engine, accounts=1)
    with pytest.raises(errors.LimitsInvalid):
        run(engine, lambda session: ledger.set_limits(session, account_id=ans, floor=10, ceiling=5))
    with pytest.raises(errors.LimitsInvalid):
        run(engine, lambda session: ledger.open_account(session, ledger_id=book, kind="member", floor=5))
    changed = run(engine, lambda session: ledger.set_limits(session, account_id=ans, floor=-60, ceiling=None))
    assert (changed.floor, changed.ceiling) == (-60, None)


def test_a_naive_time_is_refused(engine):
    book, (ans, bert) = new_book(engine, accounts=2)
    with pytest.raises(errors.InvalidRequest):
        pay(engine, book, ans, bert, 5, now=datetime(2026, 1, 1))


# --- two-phase ------------------------------------------------------------------------------------------------


def test_a_hold_posts_once_and_its_amounts_move_from_pending_to_balance(engine):
    book, (ans, bert) = new_book(engine, accounts=2)
    hold = pay(engine, book, ans, bert, 45, pending=True)
    assert hold.state == "pending" and all(entry.balance_after is None for entry in hold.entries)
    posted = run(engine, lambda session: ledger.post_pending(session, transaction_id=hold.id, now=NOW))
    assert posted.state == "posted"
    assert figures(engine, ans, bert) == [(-45, 0, 0), (45, 0, 0)]
    assert sorted(entry.balance_after for entry in posted.entries) == [-45, 45]
    with pytest.raises(errors.PendingAlreadyPosted):
        run(engine, lambda session: ledger.post_pending(session, transaction_id=hold.id))
    with pytest.raises(errors.PendingAlreadyPosted):
        run(engine, lambda session: ledger.void_pending(session, transaction_id=hold.id))


def test_a_voided_hold_releases_its_amounts_and_cannot_be_posted(engine):
    book, (ans, bert) = new_book(engine, accounts=2)
    hold = pay(engine, book, ans, bert, 45, pending=True)
    voided = run(engine, lambda session: ledger.void_pending(session, transaction_id=hold.id, reason="cancelled"))
    assert voided.state == "voided" and voided.transaction.void_reason == "cancelled"
    assert figures(engine, ans, bert) == [(0, 0, 0), (0, 0, 0)]
    with pytest.raises(errors.PendingAlreadyVoided):
        run(engine, lambda session: ledger.post_pending(session, transaction_id=hold.id))
    with pytest.raises(errors.PendingNotFound):
        run(engine, lambda session: ledger.post_pending(session, transaction_id=10**9))


def test_an_expired_hold_cannot_be_posted_and_is_voided_by_expire_due(engine):
    book, (ans, bert) = new_book(engine, accounts=2)
    hold = pay(engine, book, ans, bert, 30, pending=True, expires_at=NOW + timedelta(days=7))
    later = NOW + timedelta(days=7)
    refusal = assert_refused(
        engine,
        book,
        [ans, bert],
        errors.PendingExpired,
        lambda session: ledger.post_pending(session, transaction_id=hold.id, now=later),
    )
    assert refusal.details["transaction_id"] == hold.id
    expired = run(engine, lambda session: ledger.expire_due(session, now=later))
    assert hold.id in [posting.id for posting in expired]
    assert run(engine, lambda session: ledger.load_posting(session, hold.id)).transaction.void_reason == "expired"
    assert figures(engine, ans, bert) == [(0, 0, 0), (0, 0, 0)]


def test_a_hold_that_is_not_due_is_left_alone_by_expire_due(engine):
    book, (ans, bert) = new_book(engine, accounts=2)
    hold = pay(engine, book, ans, bert, 30, pending=True, expires_at=NOW + timedelta(days=7))
    expired = run(engine, lambda session: ledger.expire_due(session, now=NOW + timedelta(days=6, hours=23)))
    assert hold.id not in [posting.id for posting in expired]
    assert run(engine, lambda session: ledger.load_posting(session, hold.id)).state == "pending"


def test_a_hold_must_expire_in_the_future_and_only_holds_expire(engine):
    book, (ans, bert) = new_book(engine, accounts=2)
    with pytest.raises(errors.ExpiryNotInFuture):
        pay(engine, book, ans, bert, 30, pending=True, expires_at=NOW)
    with pytest.raises(errors.InvalidRequest):
        pay(engine, book, ans, bert, 30, expires_at=NOW + timedelta(days=1))
    assert transaction_count(engine, book) == 0


def test_a_hold_on_a_frozen_account_cannot_be_posted_but_can_be_voided(engine):
    book, (ans, bert) = new_book(engine, accounts=2)
    hold = pay(engine, book, ans, bert, 30, pending=True)
    run(engine, lambda session: ledger.freeze_account(session, account_id=ans))
    assert_refused(
        engine,
        book,
        [ans, bert],
        errors.AccountFrozen,
        lambda session: ledger.post_pending(session, transaction_id=hold.id),
    )
    assert run(engine, lambda session: ledger.load_posting(session, hold.id)).state == "pending"
    run(engine, lambda session: ledger.void_pending(session, transaction_id=hold.id))
    assert figures(engine, ans, bert) == [(0, 0, 0), (0, 0, 0)]


# --- reversal -------------------------------------------------------------------------------------------------


def test_a_reversal_posts_the_opposite_entries_and_names_the_original_and_the_reason(engine):
    book, (ans, bert) = new_book(engine, accounts=2)
    original = pay(engine, book, ans, bert, 120)
    reversal = run(
        engine,
        lambda session: ledger.reverse(
            session, transaction_id=original.id, reason="typed 120 for 20", actor="coordinator:7"
        ),
    )
    assert reversal.transaction.reverses_id == original.id
    assert reversal.transaction.memo == "typed 120 for 20" and reversal.transaction.kind == "reversal"
    assert sorted((entry.account_id, entry.amount) for entry in reversal.entries) == sorted([(ans, 120), (bert, -120)])
    assert figures(engine, ans, bert) == [(0, 0, 0), (0, 0, 0)]
    assert run(engine, lambda session: ledger.load_posting(session, original.id)).state == "posted"


def test_a_transaction_is_reversed_at_most_once(engine):
    book, (ans, bert) = new_book(engine, accounts=2)
    original = pay(engine, book, ans, bert, 120)
    first = run(engine, lambda session: ledger.reverse(session, transaction_id=original.id, reason="mistake"))
    refusal = assert_refused(
        engine,
        book,
        [ans, bert],
        errors.AlreadyReversed,
        lambda session: ledger.reverse(session, transaction_id=original.id, reason="again"),
    )
    assert refusal.details["reversal_id"] == first.id


def test_only_posted_transactions_with_a_reason_can_be_reversed(engine):
    book, (ans, bert) = new_book(engine, accounts=2)
    hold = pay(engine, book, ans, bert, 10, pending=True)
    with pytest.raises(errors.TransactionNotPosted):
        run(engine, lambda session: ledger.reverse(session, transaction_id=hold.id, reason="no"))
    with pytest.raises(errors.TransactionNotFound):
        run(engine, lambda session: ledger.reverse(session, transaction_id=10**9, reason="no"))
    posted = pay(engine, book, ans, bert, 10)
    with pytest.raises(errors.InvalidRequest):
        run(engine, lambda session: ledger.reverse(session, transaction_id=posted.id, reason="  "))


def test_a_reversal_obeys_the_floor_like_any_posting(engine):
    book, (ans, bert, cor) = new_book(engine, accounts=3, floor=-100)
    original = pay(engine, book, ans, bert, 100)
    pay(engine, book, bert, cor, 200)
    assert_refused(
        engine,
        book,
        [ans, bert, cor],
        errors.BalanceBelowFloor,
        lambda session: ledger.reverse(session, transaction_id=original.id, reason="mistake"),
    )


# --- idempotency ----------------------------------------------------------------------------------------------


def test_a_retry_with_the_same_key_and_request_returns_the_original_and_writes_nothing(engine):
    book, (ans, bert) = new_book(engine, accounts=2)
    scope = f"partner:{uuid.uuid4().hex}"
    first = pay(engine, book, ans, bert, 30, idempotency_scope=scope, idempotency_key="abc")
    again = pay(engine, book, ans, bert, 30, idempotency_scope=scope, idempotency_key="abc")
    assert again.replayed and not first.replayed
    assert again.id == first.id and again.transaction.hash == first.transaction.hash
    assert figures(engine, ans) == [(-30, 0, 0)]
    assert transaction_count(engine, book) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": 31}, "entries"),
        ({"memo": "other"}, "memo"),
        ({"kind": "grant"}, "kind"),
        ({"pending": True}, "operation"),
    ],
)
def test_a_retry_with_the_same_key_and_another_request_is_refused_naming_the_field(engine, change, field):
    book, (ans, bert) = new_book(engine, accounts=2)
    scope = f"member:{uuid.uuid4().hex}"
    pay(engine, book, ans, bert, 30, idempotency_scope=scope, idempotency_key="k")
    options = {"amount": 30, "idempotency_scope": scope, "idempotency_key": "k", **change}
    amount = options.pop("amount")
    refusal = assert_refused(
        engine,
        book,
        [ans, bert],
        errors.IdempotencyKeyReused,
        lambda session: ledger.post(
            session,
            ledger.transfer(ledger_id=book, debit_account_id=ans, credit_account_id=bert, amount=amount, **options),
        ),
    )
    assert refusal.details["field"] == field


def test_the_same_key_in_another_scope_is_another_request(engine):
    book, (ans, bert) = new_book(engine, accounts=2)
    first = pay(engine, book, ans, bert, 30, idempotency_scope=f"member:{uuid.uuid4().hex}", idempotency_key="k")
    second = pay(engine, book, ans, bert, 30, idempotency_scope=f"member:{uuid.uuid4().hex}", idempotency_key="k")
    assert first.id != second.id and figures(engine, ans) == [(-60, 0, 0)]


def test_a_key_needs_a_scope(engine):
    book, (ans, bert) = new_book(engine, accounts=2)
    with pytest.raises(errors.InvalidRequest):
        pay(engine, book, ans, bert, 30, idempotency_key="k")


def test_a_retried_reversal_returns_the_reversal_and_another_reason_is_refused(engine):
    book, (ans, bert) = new_book(engine, accounts=2)
    original = pay(engine, book, ans, bert, 30)
    key = {"idempotency_scope": f"coordinator:{uuid.uuid4().hex}", "idempotency_key": "rev-1"}
    first = run(engine, lambda session: ledger.reverse(session, transaction_id=original.id, reason="mistake", **key))
    again = run(engine, lambda session: ledger.reverse(session, transaction_id=original.id, reason="mistake", **key))
    assert again.replayed and again.id == first.id
    with pytest.raises(errors.IdempotencyKeyReused) as refused:
        run(engine, lambda session: ledger.reverse(session, transaction_id=original.id, reason="other", **key))
    assert refused.value.details["field"] == "memo"


# --- batches --------------------------------------------------------------------------------------------------


def _batch(engine, book, moves, *, atomic):
    commands = [
        ledger.transfer(ledger_id=book, debit_account_id=payer, credit_account_id=payee, amount=amount)
        for payer, payee, amount in moves
    ]
    return run(engine, lambda session: ledger.post_batch(session, commands, atomic=atomic, now=NOW))


def test_an_atomic_batch_posts_every_transfer_in_one_database_transaction(engine):
    book, (ans, bert, cor) = new_book(engine, accounts=3)
    results = _batch(engine, book, [(ans, bert, 10), (bert, cor, 5), (cor, ans, 1)], atomic=True)
    assert [result.ok for result in results] == [True, True, True]
    assert figures(engine, ans, bert, cor) == [(-9, 0, 0), (5, 0, 0), (4, 0, 0)]


def test_an_atomic_batch_with_one_refusal_applies_nothing_and_says_which_item_failed(engine):
    book, (ans, bert, cor) = new_book(engine, accounts=3, floor=-100)
    before = figures(engine, ans, bert, cor)
    results = _batch(engine, book, [(ans, bert, 10), (bert, cor, 500), (cor, ans, 1)], atomic=True)
    assert [result.error.code for result in results] == [
        "batch_item_not_applied",
        "balance_below_floor",
        "batch_item_not_applied",
    ]
    assert figures(engine, ans, bert, cor) == before and transaction_count(engine, book) == 0


def test_a_non_atomic_batch_applies_each_item_on_its_own(engine):
    book, (ans, bert, cor) = new_book(engine, accounts=3, floor=-100)
    results = _batch(engine, book, [(ans, bert, 10), (bert, cor, 500), (cor, ans, 1)], atomic=False)
    assert [result.ok for result in results] == [True, False, True]
    assert results[1].error.code == "balance_below_floor"
    assert figures(engine, ans, bert, cor) == [(-9, 0, 0), (10, 0, 0), (-1, 0, 0)]
    assert transaction_count(engine, book) == 2


def test_a_batch_is_bounded(engine):
    book, (ans, bert) = new_book(engine, accounts=2)
    with pytest.raises(errors.BatchTooLarge):
        _batch(engine, book, [(ans, bert, 1)] * (ledger.MAX_BATCH_SIZE + 1), atomic=False)
    assert transaction_count(engine, book) == 0


# --- statements -----------------------------------------------------------------------------------------------


def test_a_statement_pages_newest_first_without_duplicates_or_gaps_while_entries_arrive(engine):
    book, (ans, bert) = new_book(engine, accounts=2)
    for amount in range(1, 8):
        pay(engine, book, bert, ans, amount)
    first = run(engine, lambda session: ledger.statement(session, account_id=ans, limit=3))
    assert [line.amount for line in first.lines] == [7, 6, 5]
    assert [line.balance_after for line in first.lines] == [28, 21, 15]
    pay(engine, book, bert, ans, 100)  # arrives between pages
    seen = list(first.lines)
    cursor = first.next_cursor
    while cursor is not None:
        page = run(
            engine, lambda session, cursor=cursor: ledger.statement(session, account_id=ans, limit=3, before=cursor)
        )
        seen += page.lines
        cursor = page.next_cursor
    assert [line.amount for line in seen] == [7, 6, 5, 4, 3, 2, 1]


def test_a_statement_refuses_a_bad_page_size_or_account(engine):
    book, (ans,) = new_book(engine, accounts=1)
    for bad in ({"limit": 0}, {"limit": 101}, {"before": 0}):
        with pytest.raises(errors.InvalidRequest):
            run(engine, lambda session, bad=bad: ledger.statement(session, account_id=ans, **bad))
    with pytest.raises(errors.AccountNotFound):
        run(engine, lambda session: ledger.statement(session, account_id=10**9))


def test_the_balance_at_a_past_moment_is_the_balance_after_the_last_entry_before_it(engine):
    book, (ans, bert) = new_book(engine, accounts=2)
    for day, amount in ((1, 10), (3, 20), (5, 40)):
        moment = NOW + timedelta(days=day)
        command = ledger.transfer(ledger_id=book, debit_account_id=bert, credit_account_id=ans, amount=amount)
        run(engine, lambda session, command=command, moment=moment: ledger.post(session, command, now=moment))
    expected = {0: 0, 1: 10, 2: 10, 3: 30, 4: 30, 6: 70}
    for day, balance in expected.items():
        moment = NOW + timedelta(days=day)
        assert (
            run(engine, lambda session, moment=moment: ledger.balance_at(session, account_id=ans, moment=moment))
            == balance
        )


def test_entries_are_stored_with_their_ledger_and_posting_order(engine):
    book, (ans, bert) = new_book(engine, accounts=2)
    pay(engine, book, ans, bert, 1)
    pay(engine, book, ans, bert, 2)
    rows = run(
        engine,
        lambda session: session.execute(
            sa.select(entry_table.c.account_sequence, entry_table.c.ledger_id)
            .where(entry_table.c.account_id == ans)
            .order_by(entry_table.c.id)
        ).all(),
    )
    assert [tuple(row) for row in rows] == [(1, book), (2, book)]
