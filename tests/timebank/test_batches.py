"""Batches of transfers posted by a coordinator or a partner key, all or nothing or each on its own, on SQLite and
PostgreSQL; and the ledger reads and addressed writes of ``timebank.balances``."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

import ledger
from ledger import errors as ledger_errors
from tests.timebank.test_exchanges import give_check
from tests.timebank.test_pot import (
    WELCOME,
    assert_books_verify,
    assert_refused,
    audit_entries,
    balance,
    set_limits,
    state,
    suspend,
)
from tests.world import START
from timebank import balances, batches, errors, payments
from timebank.access import Actor
from timebank.batches import Transfer
from timebank.models import Exchange, ExchangeEvent, ExchangeStatus


def run_batch(world, transfers, *, atomic, actor=None, **options):
    return world.db.run(
        batches.post_transfer_batch,
        actor=actor or world.coordinator.actor,
        community_id=world.community_id,
        transfers=transfers,
        atomic=atomic,
        now=START,
        **options,
    )


def exchanges_of(world) -> list[Exchange]:
    return world.db.read(
        lambda *, session: list(
            session.execute(
                sa.select(Exchange).where(Exchange.community_id == world.community_id).order_by(Exchange.id)
            ).scalars()
        )
    )


def partner(world) -> Actor:
    return Actor.partner(key_id=1, community_id=world.community_id)


# --- posting a batch ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("atomic", [True, False])
def test_every_transfer_of_a_valid_batch_is_posted_as_a_confirmed_attested_exchange(world, atomic):
    transfers = [
        Transfer(payer_membership_id=world.ans.id, payee_membership_id=world.bert.id, minutes=60, description="tuin"),
        Transfer(
            payer_membership_id=world.bert.id,
            payee_membership_id=world.cor.id,
            minutes=30,
            category_id=world.categories["klussen"],
        ),
    ]
    results = run_batch(world, transfers, atomic=atomic)
    assert [(result.index, result.status) for result in results] == [(0, "posted"), (1, "posted")]
    assert balance(world, world.ans.account_id) == WELCOME - 60
    assert balance(world, world.bert.account_id) == WELCOME + 60 - 30
    assert balance(world, world.cor.account_id) == WELCOME + 30
    stored = exchanges_of(world)
    assert [(exchange.helper_membership_id, exchange.helped_membership_id) for exchange in stored] == [
        (world.bert.id, world.ans.id),
        (world.cor.id, world.bert.id),
    ]
    assert all(exchange.status == ExchangeStatus.CONFIRMED and exchange.attested_by_coordinator for exchange in stored)
    assert [exchange.ledger_transaction_id for exchange in stored] == [result.transaction_id for result in results]
    assert stored[0].description == "tuin" and stored[1].category_id == world.categories["klussen"]
    (entry,) = audit_entries(world, "transfers.batch_posted")
    assert entry.details["posted_count"] == 2 and entry.details["minutes"] == 90
    assert_books_verify(world)


def test_one_transfer_past_the_floor_stops_an_all_or_nothing_batch(world):
    set_limits(world, world.ans, floor_minutes=0)
    transfers = [
        Transfer(payer_membership_id=world.bert.id, payee_membership_id=world.cor.id, minutes=30),
        Transfer(payer_membership_id=world.ans.id, payee_membership_id=world.cor.id, minutes=WELCOME + 1),
        Transfer(payer_membership_id=world.cor.id, payee_membership_id=world.bert.id, minutes=10),
    ]
    before = state(world)
    results = run_batch(world, transfers, atomic=True)
    assert [result.status for result in results] == ["not_applied", "refused", "not_applied"]
    assert isinstance(results[1].error, ledger_errors.BalanceBelowFloor)
    assert results[0].error.details["failed_index"] == 1
    assert state(world) == before and exchanges_of(world) == []
    assert audit_entries(world, "transfers.batch_posted") == []
    assert_books_verify(world)


def test_each_transfer_stands_on_its_own_when_the_batch_is_not_atomic(world):
    set_limits(world, world.ans, floor_minutes=0)
    transfers = [
        Transfer(payer_membership_id=world.bert.id, payee_membership_id=world.cor.id, minutes=30),
        Transfer(payer_membership_id=world.ans.id, payee_membership_id=world.cor.id, minutes=WELCOME + 1),
        Transfer(payer_membership_id=world.cor.id, payee_membership_id=world.bert.id, minutes=10),
    ]
    results = run_batch(world, transfers, atomic=False)
    assert [result.status for result in results] == ["posted", "refused", "posted"]
    assert isinstance(results[1].error, ledger_errors.BalanceBelowFloor) and results[1].exchange is None
    assert balance(world, world.ans.account_id) == WELCOME
    assert balance(world, world.cor.account_id) == WELCOME + 30 - 10
    assert len(exchanges_of(world)) == 2
    (entry,) = audit_entries(world, "transfers.batch_posted")
    assert (entry.details["posted_count"], entry.details["refused_count"]) == (2, 1)
    assert_books_verify(world)


def test_items_are_checked_before_the_ledger_and_each_refusal_says_why(world, other_world):
    suspend(world, world.cor)
    ans, bert = world.ans.id, world.bert.id
    bad = [
        (Transfer(payer_membership_id=ans, payee_membership_id=ans, minutes=30), errors.InvalidInput),
        (Transfer(payer_membership_id=ans, payee_membership_id=bert, minutes=0), errors.InvalidInput),
        (Transfer(payer_membership_id=ans, payee_membership_id=bert, minutes=721), errors.InvalidInput),
        (Transfer(payer_membership_id=ans, payee_membership_id=world.cor.id, minutes=30), errors.MembershipNotActive),
        (Transfer(payer_membership_id=ans, payee_membership_id=other_world.bert.id, minutes=30), errors.NotFound),
        (Transfer(payer_membership_id=world.coordinator.id, payee_membership_id=bert, minutes=30), errors.NotAllowed),
        (Transfer(payer_membership_id=2**40, payee_membership_id=bert, minutes=30), errors.NotFound),
        (Transfer(payer_membership_id="1", payee_membership_id=bert, minutes=30), errors.InvalidInput),
        (
            Transfer(payer_membership_id=ans, payee_membership_id=bert, minutes=30, description="x" * 501),
            errors.InvalidInput,
        ),
        (
            Transfer(
                payer_membership_id=ans,
                payee_membership_id=bert,
                minutes=30,
                category_id=other_world.categories["klussen"],
            ),
            errors.NotFound,
        ),
        (
            Transfer(
                payer_membership_id=ans, payee_membership_id=bert, minutes=30, category_id=world.categories["oppassen"]
            ),
            errors.SafeguardingCheckRequired,
        ),
    ]
    good = Transfer(payer_membership_id=bert, payee_membership_id=ans, minutes=15)
    before = state(world, other_world)
    results = run_batch(world, [good, *(transfer for transfer, _ in bad)], atomic=True)
    assert results[0].status == "not_applied" and results[0].error.details["failed_index"] == 1
    for result, (_, error_type) in zip(results[1:], bad, strict=True):
        assert result.status == "refused" and isinstance(result.error, error_type), result
    assert state(world, other_world) == before
    results = run_batch(world, [good, *(transfer for transfer, _ in bad)], atomic=False)
    assert [result.status for result in results] == ["posted"] + ["refused"] * len(bad)
    assert balance(world, world.ans.account_id) == WELCOME + 15


def test_a_childrens_task_in_a_batch_needs_the_helpers_current_check(world):
    give_check(world.db, world, world.bert)
    babysitting = Transfer(
        payer_membership_id=world.ans.id,
        payee_membership_id=world.bert.id,
        minutes=120,
        category_id=world.categories["oppassen"],
    )
    (result,) = run_batch(world, [babysitting], atomic=True)
    assert result.status == "posted" and result.exchange.parent_accepted_helper


def test_a_partner_key_posts_a_batch_for_its_own_community_only(world, other_world):
    transfer = Transfer(payer_membership_id=world.ans.id, payee_membership_id=world.bert.id, minutes=20)
    (result,) = run_batch(world, [transfer], atomic=True, actor=partner(world))
    assert result.status == "posted"
    assert result.exchange.recorded_by_membership_id is None
    assert result.exchange.initiated_by_membership_id == world.ans.id
    assert_refused(
        [world, other_world],
        errors.NotFound,
        batches.post_transfer_batch,
        actor=partner(other_world),
        community_id=world.community_id,
        transfers=[transfer],
        atomic=True,
    )


def test_only_coordinators_post_batches(world, other_world):
    transfer = Transfer(payer_membership_id=world.ans.id, payee_membership_id=world.bert.id, minutes=20)
    arguments = {"community_id": world.community_id, "transfers": [transfer], "atomic": False}
    assert_refused(world, errors.NotAllowed, batches.post_transfer_batch, actor=world.cor.actor, **arguments)
    assert_refused(
        [world, other_world],
        errors.NotFound,
        batches.post_transfer_batch,
        actor=other_world.coordinator.actor,
        **arguments,
    )


@pytest.mark.parametrize(
    ("transfers", "atomic"),
    [([], True), (None, True), ("abc", False), ([{"minutes": 5}], True), ("size", False), ("one", "yes")],
)
def test_a_batch_holds_one_to_five_hundred_transfers_and_says_whether_it_is_atomic(world, transfers, atomic):
    one = Transfer(payer_membership_id=world.ans.id, payee_membership_id=world.bert.id, minutes=1)
    if transfers in ("size", "one"):
        transfers = [one] * (batches.MAX_TRANSFERS + 1) if transfers == "size" else [one]
    assert_refused(
        world,
        errors.InvalidInput,
        batches.post_transfer_batch,
        actor=world.coordinator.actor,
        community_id=world.community_id,
        transfers=transfers,
        atomic=atomic,
    )


def test_five_hundred_transfers_post_in_one_batch(world):
    transfers = [
        Transfer(payer_membership_id=world.ans.id, payee_membership_id=world.bert.id, minutes=1)
        for _ in range(batches.MAX_TRANSFERS)
    ]
    results = run_batch(world, transfers, atomic=True)
    assert all(result.status == "posted" for result in results) and len(results) == 500
    assert balance(world, world.bert.account_id) == WELCOME + 500
    assert_books_verify(world)


def test_a_retried_batch_with_the_same_key_posts_nothing_twice(world):
    transfers = [
        Transfer(payer_membership_id=world.ans.id, payee_membership_id=world.bert.id, minutes=40),
        Transfer(payer_membership_id=world.cor.id, payee_membership_id=world.bert.id, minutes=20),
    ]
    first = run_batch(world, transfers, atomic=True, idempotency_key="sheet-1")
    again = run_batch(world, transfers, atomic=True, idempotency_key="sheet-1")
    assert [result.exchange.id for result in again] == [result.exchange.id for result in first]
    assert balance(world, world.bert.account_id) == WELCOME + 60
    assert len(exchanges_of(world)) == 2
    assert len(audit_entries(world, "transfers.batch_posted")) == 1
    changed = [transfers[0], Transfer(payer_membership_id=world.cor.id, payee_membership_id=world.bert.id, minutes=25)]
    results = run_batch(world, changed, atomic=True, idempotency_key="sheet-1")
    assert [result.status for result in results] == ["not_applied", "refused"]
    assert isinstance(results[1].error, ledger_errors.IdempotencyKeyReused)
    assert balance(world, world.bert.account_id) == WELCOME + 60


def test_members_paying_and_earning_several_times_in_one_batch_get_one_exchange_and_event_per_item(world):
    ans, bert, cor = world.ans, world.bert, world.cor
    moves = [(ans, bert, 10), (bert, cor, 5), (ans, cor, 3), (cor, ans, 1), (ans, bert, 700), (bert, ans, 2)]
    set_limits(world, ans, floor_minutes=-100)
    transfers = [
        Transfer(payer_membership_id=payer.id, payee_membership_id=payee.id, minutes=minutes, description=f"n{n}")
        for n, (payer, payee, minutes) in enumerate(moves)
    ]
    results = run_batch(world, transfers, atomic=False)
    assert [result.status for result in results] == ["posted"] * 4 + ["refused", "posted"]
    assert balance(world, ans.account_id) == WELCOME - 10 - 3 + 1 + 2
    stored = {exchange.id: exchange for exchange in exchanges_of(world)}
    posted = [result for result in results if result.status == "posted"]
    assert sorted(stored) == sorted(result.exchange.id for result in posted)
    for result in posted:
        exchange = stored[result.exchange.id]
        assert exchange.model_dump() == result.exchange.model_dump()
        assert exchange.ledger_transaction_id == result.transaction_id
        assert exchange.description == f"n{result.index}"

    def events(*, session):
        rows = session.execute(
            sa.select(
                ExchangeEvent.exchange_id, ExchangeEvent.kind, ExchangeEvent.minutes, ExchangeEvent.actor_membership_id
            )
            .where(ExchangeEvent.community_id == world.community_id)
            .order_by(ExchangeEvent.id)
        ).all()
        return [tuple(row) for row in rows]

    assert world.db.read(events) == [
        (result.exchange.id, "recorded_on_behalf", moves[result.index][2], world.coordinator.id) for result in posted
    ]

    def statement(*, session):
        page = ledger.statement(session, account_id=ans.account_id, limit=10)
        return [(line.amount, line.balance_after) for line in page.lines]

    assert world.db.read(statement)[:4] == [
        (2, WELCOME - 10),
        (1, WELCOME - 12),
        (-3, WELCOME - 13),
        (-10, WELCOME - 10),
    ]
    assert_books_verify(world)


def test_a_posted_batch_item_appears_in_the_exchange_history(world):
    transfer = Transfer(payer_membership_id=world.ans.id, payee_membership_id=world.bert.id, minutes=20)
    (result,) = run_batch(world, [transfer], atomic=False)
    kinds = world.db.read(
        lambda *, session: list(
            session.execute(
                sa.select(ExchangeEvent.kind).where(ExchangeEvent.exchange_id == result.exchange.id)
            ).scalars()
        )
    )
    assert kinds == ["recorded_on_behalf"]


# --- balances, the pot, and writes addressed by community or transaction --------------------------------------


def test_a_member_reads_their_own_balance_and_a_coordinator_any_of_the_community(world, other_world):
    world.db.run(
        payments.claim_minutes, actor=world.bert.actor, payer_membership_id=world.ans.id, minutes=30, now=START
    )
    own = world.db.read(balances.member_balance, actor=world.ans.actor, membership_id=world.ans.id)
    assert own.figures.balance_minutes == WELCOME and own.figures.pending_debit_minutes == 30
    assert own.figures.available_minutes == WELCOME - 30 and own.figures.floor_minutes == -600
    for actor in (world.coordinator.actor, partner(world)):
        assert world.db.read(balances.member_balance, actor=actor, membership_id=world.ans.id) == own
    for actor in (world.bert.actor, other_world.coordinator.actor, partner(other_world)):
        with pytest.raises(errors.NotFound):
            world.db.read(balances.member_balance, actor=actor, membership_id=world.ans.id)
    suspend(world, world.ans)
    suspended = world.db.read(balances.member_balance, actor=world.ans.actor, membership_id=world.ans.id)
    assert suspended.figures.status == "frozen"


def test_coordinators_read_the_pots_figures(world, other_world):
    figures = world.db.read(balances.pot_figures, actor=world.coordinator.actor, community_id=world.community_id)
    assert figures.figures.balance_minutes == 0 and figures.figures.floor_minutes == 0
    with pytest.raises(errors.NotAllowed):
        world.db.read(balances.pot_figures, actor=world.ans.actor, community_id=world.community_id)
    with pytest.raises(errors.NotFound):
        world.db.read(balances.pot_figures, actor=other_world.coordinator.actor, community_id=world.community_id)


def test_a_payment_or_claim_names_a_member_of_the_community_it_is_addressed_to(world, other_world):
    for use_case, field in (
        (balances.pay_in_community, "payee_membership_id"),
        (balances.claim_in_community, "payer_membership_id"),
    ):
        assert_refused(
            [world, other_world],
            errors.NotFound,
            use_case,
            actor=world.ans.actor,
            community_id=other_world.community_id,
            minutes=30,
            **{field: world.bert.id},
        )
    paid = world.db.run(
        balances.pay_in_community,
        actor=world.ans.actor,
        community_id=world.community_id,
        payee_membership_id=world.bert.id,
        minutes=30,
    )
    assert paid.status == ExchangeStatus.CONFIRMED and paid.minutes == 30


def test_a_reversal_named_by_transaction_finds_its_community(world, other_world):
    paid = world.db.run(
        payments.pay_directly, actor=world.ans.actor, payee_membership_id=world.bert.id, minutes=30, now=START
    )
    transaction_id = paid.ledger_transaction_id
    arguments = {"transaction_id": transaction_id, "reason": "wrong member"}
    for actor in (other_world.coordinator.actor, partner(other_world), world.coordinator.actor):
        if actor != world.coordinator.actor:
            error = assert_refused(
                [world, other_world], errors.NotFound, balances.reverse_transaction_by_id, actor=actor, **arguments
            )
            assert error.message == "no such transaction"
    assert_refused(world, errors.NotAllowed, balances.reverse_transaction_by_id, actor=world.cor.actor, **arguments)
    assert_refused(
        world,
        errors.NotFound,
        balances.reverse_transaction_by_id,
        actor=world.coordinator.actor,
        transaction_id=2**62,
        reason="x",
    )
    reversal = world.db.run(balances.reverse_transaction_by_id, actor=partner(world), **arguments)
    assert reversal.transaction.reverses_id == transaction_id
    assert balance(world, world.ans.account_id) == WELCOME
    assert_books_verify(world)
