"""Reversing mistaken transactions, and trade between communities through their clearing accounts, with their
refusals, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

import ledger
from ledger import errors as ledger_errors
from tests.timebank.test_pot import (
    WELCOME,
    assert_books_verify,
    assert_refused,
    audit_entries,
    balance,
    donate,
    fill_pot,
    set_limits,
    state,
    suspend,
)
from tests.world import START, World
from timebank import access, bookkeeping, corrections, errors, pot
from timebank.models import Exchange, ExchangeEvent, ExchangeStatus


def pay(world: World, payer, payee, minutes: int, *, pending: bool = False) -> ledger.Posting:
    """A payment between two members, as an exchange would post it."""

    def work(*, session):
        posting = bookkeeping.post_transfer(
            session,
            community=access.get_community(session, world.community_id),
            debit_account_id=payer.account_id,
            credit_account_id=payee.account_id,
            minutes=minutes,
            kind="exchange",
            actor=payer.actor,
            pending=pending,
            now=START,
        )
        session.commit()
        return posting

    return world.db.run(work)


def confirmed_exchange(world: World, *, helper, helped, minutes: int) -> Exchange:
    """An exchange whose minutes were posted: a payment from the helped member to the helper."""
    posting = pay(world, helped, helper, minutes)

    def work(*, session):
        exchange = Exchange(
            community_id=world.community_id,
            helper_membership_id=helper.id,
            helped_membership_id=helped.id,
            initiated_by_membership_id=helped.id,
            status=ExchangeStatus.CONFIRMED.value,
            helper_agreed=True,
            helped_agreed=True,
            minutes=minutes,
            ledger_transaction_id=posting.id,
            created_at=START,
            recorded_at=START,
            confirmed_at=START,
            updated_at=START,
        )
        session.add(exchange)
        session.commit()
        return exchange

    return world.db.run(work)


def exchange_events(world: World, exchange_id: int) -> list[ExchangeEvent]:
    return world.db.read(
        lambda *, session: list(
            session.execute(
                sa.select(ExchangeEvent).where(ExchangeEvent.exchange_id == exchange_id).order_by(ExchangeEvent.id)
            ).scalars()
        )
    )


def reverse_arguments(world: World, transaction_id: int, **overrides) -> dict:
    return {
        "actor": world.coordinator.actor,
        "community_id": world.community_id,
        "transaction_id": transaction_id,
        "reason": "entered twice by mistake",
        "now": START,
        **overrides,
    }


def reverse(world: World, transaction_id: int, **overrides) -> ledger.Posting:
    return world.db.run(corrections.reverse_transaction, **reverse_arguments(world, transaction_id, **overrides))


# --- reversing a transaction ----------------------------------------------------------------------------------


def test_a_coordinator_reverses_a_mistaken_transaction_naming_the_original_and_the_reason(world):
    mistake = pay(world, world.ans, world.bert, 90)
    reversal = reverse(world, mistake.id)
    assert reversal.transaction.reverses_id == mistake.id
    assert reversal.transaction.memo == "entered twice by mistake"
    assert reversal.transaction.actor == world.coordinator.actor.label
    assert sorted((entry.account_id, entry.amount) for entry in reversal.entries) == sorted(
        [(world.ans.account_id, 90), (world.bert.account_id, -90)]
    )
    assert balance(world, world.ans.account_id) == balance(world, world.bert.account_id) == WELCOME
    original = world.db.read(lambda *, session: ledger.load_posting(session, mistake.id))
    assert original.state == "posted" and len(original.entries) == 2  # never deleted
    [entry] = audit_entries(world, "transaction.reversed")
    assert (entry.subject_id, entry.reason, entry.actor_user_id) == (
        mistake.id,
        "entered twice by mistake",
        world.coordinator.user.id,
    )
    assert entry.details["reversal_transaction_id"] == reversal.id
    assert_books_verify(world)


def test_a_transaction_is_reversed_at_most_once(world):
    mistake = pay(world, world.ans, world.bert, 30)
    reverse(world, mistake.id)
    assert_refused(
        world, ledger_errors.AlreadyReversed, corrections.reverse_transaction, **reverse_arguments(world, mistake.id)
    )
    assert_books_verify(world)


def test_a_pending_transaction_is_not_reversed_but_refused_with_the_ledgers_error(world):
    held = pay(world, world.ans, world.bert, 30, pending=True)
    error = assert_refused(
        world, ledger_errors.TransactionNotPosted, corrections.reverse_transaction, **reverse_arguments(world, held.id)
    )
    assert error.details["state"] == "pending"


def test_a_reversal_obeys_the_balance_rules(world):
    mistake = pay(world, world.ans, world.bert, 60)
    set_limits(world, world.bert, floor_minutes=0)
    donate(world, world.bert, WELCOME + 60)
    assert_refused(
        world, ledger_errors.BalanceBelowFloor, corrections.reverse_transaction, **reverse_arguments(world, mistake.id)
    )


def test_a_grant_from_the_pot_can_be_reversed_back_into_the_pot(world):
    fill_pot(world, 100)
    grant = world.db.run(
        pot.grant_from_pot,
        actor=world.coordinator.actor,
        community_id=world.community_id,
        membership_id=world.cor.id,
        minutes=40,
        reason="help with the move",
        now=START,
    )
    reverse(world, grant.id, reason="granted to the wrong member")
    assert balance(world, world.community.pot_account_id) == 100
    assert balance(world, world.cor.account_id) == WELCOME
    assert_books_verify(world)


def test_reversing_the_payment_of_an_exchange_records_it_in_the_exchanges_history(world):
    exchange = confirmed_exchange(world, helper=world.bert, helped=world.ans, minutes=120)
    reversal = reverse(world, exchange.ledger_transaction_id, reason="the babysitting did not happen")
    [event] = exchange_events(world, exchange.id)
    assert (event.kind, event.minutes, event.note, event.actor_membership_id) == (
        "reversed",
        120,
        "the babysitting did not happen",
        world.coordinator.id,
    )
    assert audit_entries(world, "transaction.reversed")[0].details["exchange_id"] == exchange.id
    stored = world.db.read(lambda *, session: session.get(Exchange, exchange.id))
    assert (stored.status, stored.ledger_transaction_id) == (
        ExchangeStatus.CONFIRMED.value,
        exchange.ledger_transaction_id,
    )
    assert reversal.transaction.reverses_id == exchange.ledger_transaction_id
    assert_books_verify(world)


def test_an_administrator_reverses_an_exchange_payment_without_being_a_member(world):
    exchange = confirmed_exchange(world, helper=world.bert, helped=world.ans, minutes=30)
    reverse(world, exchange.ledger_transaction_id, actor=world.admin.actor)
    [event] = exchange_events(world, exchange.id)
    assert event.actor_membership_id is None
    assert_books_verify(world)


def test_a_transaction_of_another_communitys_ledger_is_not_found(world, other_world):
    elsewhere = pay(other_world, other_world.ans, other_world.bert, 30)
    assert_refused(
        [world, other_world], errors.NotFound, corrections.reverse_transaction, **reverse_arguments(world, elsewhere.id)
    )
    assert_refused(
        [world, other_world],
        errors.NotFound,
        corrections.reverse_transaction,
        **reverse_arguments(world, elsewhere.id + 10_000_000),
    )


@pytest.mark.parametrize("who", ["ans", "officer"])
def test_only_a_coordinator_reverses_a_transaction(world, who):
    mistake = pay(world, world.ans, world.bert, 30)
    assert_refused(
        world,
        errors.NotAllowed,
        corrections.reverse_transaction,
        **reverse_arguments(world, mistake.id, actor=getattr(world, who).actor),
    )


def test_a_coordinator_of_another_community_cannot_reverse_a_transaction_here(world, other_world):
    mistake = pay(world, world.ans, world.bert, 30)
    assert_refused(
        [world, other_world],
        errors.NotFound,
        corrections.reverse_transaction,
        **reverse_arguments(world, mistake.id, actor=other_world.coordinator.actor),
    )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"reason": ""}, "reason"),
        ({"reason": " "}, "reason"),
        ({"reason": "x" * 501}, "reason"),
        ({"transaction_id": "7"}, "transaction_id"),
    ],
)
def test_a_reversal_needs_a_reason_and_a_transaction_id(world, overrides, field):
    mistake = pay(world, world.ans, world.bert, 30)
    error = assert_refused(
        world,
        errors.InvalidInput,
        corrections.reverse_transaction,
        **{**reverse_arguments(world, mistake.id), **overrides},
    )
    assert error.details["field"] == field


def test_a_reversal_retried_with_the_same_key_is_posted_once(world):
    exchange = confirmed_exchange(world, helper=world.bert, helped=world.ans, minutes=30)
    first = reverse(world, exchange.ledger_transaction_id, idempotency_key="reverse-1")
    again = reverse(world, exchange.ledger_transaction_id, idempotency_key="reverse-1")
    assert again.replayed and again.id == first.id
    assert len(exchange_events(world, exchange.id)) == 1
    assert len(audit_entries(world, "transaction.reversed")) == 1


# --- trade between communities --------------------------------------------------------------------------------


def trade_arguments(world: World, other_world: World, **overrides) -> dict:
    return {
        "actor": world.coordinator.actor,
        "paying_community_id": world.community_id,
        "payer_membership_id": world.ans.id,
        "receiving_community_id": other_world.community_id,
        "payee_membership_id": other_world.bert.id,
        "minutes": 60,
        "description": "bike repair across the park",
        "now": START,
        **overrides,
    }


def clearing(world: World) -> int:
    return balance(world, world.community.clearing_account_id)


def test_a_member_of_one_community_pays_a_member_of_another_through_the_clearing_accounts(world, other_world):
    trade = world.db.run(corrections.trade_between_communities, **trade_arguments(world, other_world))
    assert balance(world, world.ans.account_id) == WELCOME - 60
    assert clearing(world) == 60
    assert clearing(other_world) == -60
    assert balance(other_world, other_world.bert.account_id) == WELCOME + 60
    assert trade.sent.transaction.ledger_id == world.community.ledger_id
    assert trade.received.transaction.ledger_id == other_world.community.ledger_id
    assert trade.received.transaction.details["paying_transaction_id"] == trade.sent.id
    [sent] = audit_entries(world, "trade.sent")
    [received] = audit_entries(other_world, "trade.received")
    assert (sent.subject_id, received.subject_id) == (trade.sent.id, trade.received.id)
    assert sent.reason == received.reason == "bike repair across the park"
    assert_books_verify(world, other_world)


def test_a_refusal_on_the_receiving_side_leaves_the_paying_side_unchanged(world, other_world):
    set_limits(other_world, other_world.bert, ceiling_minutes=WELCOME + 59)
    error = assert_refused(
        [world, other_world],
        ledger_errors.BalanceAboveCeiling,
        corrections.trade_between_communities,
        **trade_arguments(world, other_world),
    )
    assert error.details["account_id"] == other_world.bert.account_id
    assert balance(world, world.ans.account_id) == WELCOME
    assert_books_verify(world, other_world)


def test_the_payer_cannot_trade_below_their_floor(world, other_world):
    set_limits(world, world.ans, floor_minutes=0)
    assert_refused(
        [world, other_world],
        ledger_errors.BalanceBelowFloor,
        corrections.trade_between_communities,
        **trade_arguments(world, other_world, minutes=WELCOME + 1),
    )


def test_an_administrator_may_arrange_a_trade(world, other_world):
    world.db.run(corrections.trade_between_communities, **trade_arguments(world, other_world, actor=world.admin.actor))
    assert clearing(world) == 60
    assert_books_verify(world, other_world)


@pytest.mark.parametrize("who", ["ans", "officer"])
def test_only_a_coordinator_of_the_paying_community_arranges_a_trade(world, other_world, who):
    assert_refused(
        [world, other_world],
        errors.NotAllowed,
        corrections.trade_between_communities,
        **trade_arguments(world, other_world, actor=getattr(world, who).actor),
    )


def test_the_receiving_communitys_coordinator_cannot_make_another_community_pay(world, other_world):
    assert_refused(
        [world, other_world],
        errors.NotFound,
        corrections.trade_between_communities,
        **trade_arguments(world, other_world, actor=other_world.coordinator.actor),
    )


def test_a_trade_needs_a_payer_of_the_paying_community_and_a_payee_of_the_receiving_one(world, other_world):
    for overrides in (
        {"payer_membership_id": other_world.ans.id},
        {"payee_membership_id": world.bert.id},
        {"receiving_community_id": other_world.community_id + 10_000_000},
    ):
        assert_refused(
            [world, other_world],
            errors.NotFound,
            corrections.trade_between_communities,
            **trade_arguments(world, other_world, **overrides),
        )


def test_both_members_of_a_trade_are_active(world, other_world):
    suspend(other_world, other_world.bert)
    assert_refused(
        [world, other_world],
        errors.MembershipNotActive,
        corrections.trade_between_communities,
        **trade_arguments(world, other_world),
    )
    suspend(world, world.ans)
    assert_refused(
        [world, other_world],
        errors.MembershipNotActive,
        corrections.trade_between_communities,
        **trade_arguments(world, other_world, payee_membership_id=other_world.cor.id),
    )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"minutes": 0}, "minutes"),
        ({"minutes": 12 * 60 + 1}, "minutes"),
        ({"minutes": 1.5}, "minutes"),
        ({"description": ""}, "description"),
        ({"description": "x" * 501}, "description"),
        ({"receiving_community_id": "2"}, "receiving_community_id"),
    ],
)
def test_a_trade_needs_whole_minutes_and_a_description(world, other_world, overrides, field):
    error = assert_refused(
        [world, other_world],
        errors.InvalidInput,
        corrections.trade_between_communities,
        **trade_arguments(world, other_world, **overrides),
    )
    assert error.details["field"] == field


def test_a_trade_is_between_two_different_communities(world, other_world):
    error = assert_refused(
        [world, other_world],
        errors.InvalidInput,
        corrections.trade_between_communities,
        **trade_arguments(
            world, other_world, receiving_community_id=world.community_id, payee_membership_id=world.bert.id
        ),
    )
    assert error.details["field"] == "receiving_community_id"


def test_a_trade_retried_with_the_same_key_is_made_once(world, other_world):
    arguments = trade_arguments(world, other_world, idempotency_key="trade-1")
    first = world.db.run(corrections.trade_between_communities, **arguments)
    again = world.db.run(corrections.trade_between_communities, **arguments)
    assert again.replayed
    assert (again.sent.id, again.received.id) == (first.sent.id, first.received.id)
    assert clearing(world) == 60 and clearing(other_world) == -60
    assert len(audit_entries(world, "trade.sent")) == 1


# --- correcting a trade ---------------------------------------------------------------------------------------


def make_trade(world: World, other_world: World, **overrides) -> corrections.Trade:
    return world.db.run(corrections.trade_between_communities, **trade_arguments(world, other_world, **overrides))


def reverse_trade_arguments(world: World, trade: corrections.Trade, **overrides) -> dict:
    return {
        "actor": world.coordinator.actor,
        "community_id": world.community_id,
        "transaction_id": trade.sent.id,
        "reason": "paid the wrong Bert",
        "now": START,
        **overrides,
    }


def test_a_trade_is_corrected_by_reversing_both_sides_together(world, other_world):
    trade = make_trade(world, other_world)
    reversal = world.db.run(corrections.reverse_trade, **reverse_trade_arguments(world, trade))
    assert reversal.sent.transaction.reverses_id == trade.sent.id
    assert reversal.received.transaction.reverses_id == trade.received.id
    assert balance(world, world.ans.account_id) == WELCOME
    assert balance(other_world, other_world.bert.account_id) == WELCOME
    assert clearing(world) == clearing(other_world) == 0
    assert audit_entries(world, "trade.reversed.sent")[0].subject_id == trade.sent.id
    assert audit_entries(other_world, "trade.reversed.received")[0].subject_id == trade.received.id
    assert_books_verify(world, other_world)


def test_one_side_of_a_trade_is_never_reversed_alone(world, other_world):
    trade = make_trade(world, other_world)
    assert_refused(
        [world, other_world],
        errors.Conflict,
        corrections.reverse_transaction,
        **reverse_arguments(world, trade.sent.id),
    )
    assert_refused(
        [world, other_world],
        errors.Conflict,
        corrections.reverse_transaction,
        **reverse_arguments(other_world, trade.received.id),
    )
    reversal = world.db.run(corrections.reverse_trade, **reverse_trade_arguments(world, trade))
    assert_refused(
        [world, other_world],
        errors.Conflict,
        corrections.reverse_transaction,
        **reverse_arguments(world, reversal.sent.id),
    )


def test_a_trade_is_not_reversed_when_the_payee_has_spent_the_minutes(world, other_world):
    trade = make_trade(world, other_world)
    set_limits(other_world, other_world.bert, floor_minutes=0)
    donate(other_world, other_world.bert, WELCOME + 60)
    assert_refused(
        [world, other_world],
        ledger_errors.BalanceBelowFloor,
        corrections.reverse_trade,
        **reverse_trade_arguments(world, trade),
    )
    assert_books_verify(world, other_world)


def test_a_trade_is_reversed_at_most_once(world, other_world):
    trade = make_trade(world, other_world)
    world.db.run(corrections.reverse_trade, **reverse_trade_arguments(world, trade))
    assert_refused(
        [world, other_world],
        ledger_errors.AlreadyReversed,
        corrections.reverse_trade,
        **reverse_trade_arguments(world, trade),
    )


def test_only_the_paying_side_names_a_trade_to_reverse(world, other_world):
    trade = make_trade(world, other_world)
    assert_refused(
        [world, other_world],
        errors.Conflict,
        corrections.reverse_trade,
        **reverse_trade_arguments(
            other_world, trade, transaction_id=trade.received.id, actor=other_world.coordinator.actor
        ),
    )
    payment = pay(world, world.ans, world.bert, 10)
    assert_refused(
        [world, other_world],
        errors.Conflict,
        corrections.reverse_trade,
        **reverse_trade_arguments(world, trade, transaction_id=payment.id),
    )


def test_reversing_a_trade_is_for_the_paying_communitys_coordinators(world, other_world):
    trade = make_trade(world, other_world)
    assert_refused(
        [world, other_world],
        errors.NotAllowed,
        corrections.reverse_trade,
        **reverse_trade_arguments(world, trade, actor=world.ans.actor),
    )
    assert_refused(
        [world, other_world],
        errors.NotFound,
        corrections.reverse_trade,
        **reverse_trade_arguments(world, trade, actor=other_world.coordinator.actor),
    )
    assert_refused(
        [world, other_world],
        errors.NotFound,
        corrections.reverse_trade,
        **reverse_trade_arguments(other_world, trade),  # this community's ledger holds no such transaction
    )
    world.db.run(corrections.reverse_trade, **reverse_trade_arguments(world, trade, actor=world.admin.actor))
    assert_books_verify(world, other_world)


def test_a_trade_reversal_needs_a_reason(world, other_world):
    trade = make_trade(world, other_world)
    assert_refused(
        [world, other_world],
        errors.InvalidInput,
        corrections.reverse_trade,
        **reverse_trade_arguments(world, trade, reason=""),
    )


def test_the_state_helper_sees_a_change_so_refusal_checks_can_fail(world):
    before = state(world)
    pay(world, world.ans, world.bert, 5)
    assert state(world) != before


def test_a_caller_that_catches_a_refused_trade_and_commits_still_changes_neither_community(world, other_world):
    set_limits(other_world, other_world.bert, ceiling_minutes=WELCOME + 59)
    before = state(world, other_world)

    def carry_on(*, session):
        with pytest.raises(ledger_errors.BalanceAboveCeiling):
            corrections.trade_between_communities(session=session, **trade_arguments(world, other_world))
        session.commit()

    world.db.run(carry_on)
    assert state(world, other_world) == before
    assert_books_verify(world, other_world)
