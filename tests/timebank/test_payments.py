"""Minutes and the ledger: recording, confirming, disputing and settling; confirmation after the community's
number of days; direct payments, claims and records on behalf; idempotent retries; and concurrent confirmation."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from ledger import errors as ledger_errors
from ledger.models import Transaction
from tests.timebank.test_exchanges import (
    agreed_exchange,
    event_kinds,
    figures,
    give_check,
    ledger_verifies,
    messages_to,
    read_exchange,
    recorded_exchange,
)
from tests.world import START
from timebank import audit, communities, errors, exchanges, members, payments
from timebank.models import Exchange, ExchangeStatus

DAY = timedelta(days=1)


def tick(db, now):
    """Run ``timebank tick``'s confirmation until it has nothing left to do at ``now`` (the test database is shared,
    so other tests' exchanges may be due too); returns the ids confirmed and the failures."""
    confirmed, failures = [], []
    for _ in range(50):
        report = db.run(payments.confirm_due_exchanges, now=now)
        confirmed += report.confirmed_exchange_ids
        failures += report.failures
        if not report.confirmed_exchange_ids and not report.failures:
            return confirmed, failures
    raise AssertionError("the tick never ran out of due exchanges")


def audit_actions(db, world):
    page = db.read(audit.audit_log, actor=world.coordinator.actor, community_id=world.community_id, limit=100)
    return [entry.action for entry in page.entries]


def transactions_of(db, world):
    def query(*, session):
        rows = session.execute(
            sa.select(Transaction.kind, Transaction.state)
            .where(Transaction.ledger_id == world.community.ledger_id, Transaction.kind == payments.EXCHANGE_KIND)
            .order_by(Transaction.id)
        )
        return [tuple(row) for row in rows]

    return db.read(query)


def set_limits(db, world, person, *, floor_minutes=-600, ceiling_minutes=2400):
    db.run(
        members.set_member_limits,
        actor=world.coordinator.actor,
        membership_id=person.id,
        floor_minutes=floor_minutes,
        ceiling_minutes=ceiling_minutes,
        reason="test",
    )


def suspend(db, world, person):
    db.run(members.suspend_member, actor=world.coordinator.actor, membership_id=person.id, reason="onderzoek")


def run_at_once(count, work):
    """Start ``work`` in ``count`` threads at the same moment; each result or exception, in thread order."""
    barrier = threading.Barrier(count, timeout=30)
    results = [None] * count

    def target(index):
        barrier.wait()
        try:
            results[index] = work()
        except Exception as error:  # noqa: BLE001 - the test inspects what each thread met
            results[index] = error

    threads = [threading.Thread(target=target, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


# --- recording ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("minutes", [0, -5, 721, "60", 1.5, True, None])
def test_minutes_are_a_whole_number_from_one_to_twelve_hours(db, world, minutes):
    exchange = agreed_exchange(db, world, helper=world.bert, helped=world.ans)
    with pytest.raises(errors.InvalidInput) as refused:
        db.run(payments.record_minutes, actor=world.bert.actor, exchange_id=exchange.id, minutes=minutes)
    assert refused.value.details["field"] == "minutes"
    assert read_exchange(db, world, exchange.id).status == ExchangeStatus.AGREED


def test_minutes_are_recorded_only_for_an_agreed_exchange_by_one_of_its_members(db, world, other_world):
    exchange = agreed_exchange(db, world, helper=world.bert, helped=world.ans)
    with pytest.raises(errors.NotAllowed):
        db.run(payments.record_minutes, actor=world.coordinator.actor, exchange_id=exchange.id, minutes=60)
    for outsider in (world.cor, other_world.ans):
        with pytest.raises(errors.NotFound):
            db.run(payments.record_minutes, actor=outsider.actor, exchange_id=exchange.id, minutes=60)
    db.run(payments.record_minutes, actor=world.ans.actor, exchange_id=exchange.id, minutes=60)
    with pytest.raises(errors.Conflict):
        db.run(payments.record_minutes, actor=world.bert.actor, exchange_id=exchange.id, minutes=60)
    assert figures(db, world.ans).pending_debit_minutes == 60


def test_recorded_minutes_count_against_the_floor_of_the_next_exchange(db, world):
    set_limits(db, world, world.ans, floor_minutes=0)
    recorded_exchange(db, world, helper=world.bert, helped=world.ans, minutes=100)  # 20 of Ans's 120 left
    second = agreed_exchange(db, world, helper=world.cor, helped=world.ans)
    with pytest.raises(ledger_errors.BalanceBelowFloor) as refused:
        db.run(payments.record_minutes, actor=world.cor.actor, exchange_id=second.id, minutes=30)
    assert refused.value.details["available_above_floor"] == 20


@pytest.mark.parametrize("refusal", ["floor", "ceiling", "frozen"])
def test_a_ledger_refusal_passes_through_unchanged_and_leaves_the_exchange_as_it_was(db, world, refusal):
    exchange = agreed_exchange(db, world, helper=world.bert, helped=world.ans)
    if refusal == "floor":
        set_limits(db, world, world.ans, floor_minutes=0)
    elif refusal == "ceiling":
        set_limits(db, world, world.bert, ceiling_minutes=150)
    else:
        suspend(db, world, world.bert)
    expected = {
        "floor": ledger_errors.BalanceBelowFloor,
        "ceiling": ledger_errors.BalanceAboveCeiling,
        "frozen": ledger_errors.AccountFrozen,
    }[refusal]
    with pytest.raises(expected):
        db.run(payments.record_minutes, actor=world.ans.actor, exchange_id=exchange.id, minutes=121)
    unchanged = read_exchange(db, world, exchange.id)
    assert (unchanged.status, unchanged.minutes, unchanged.ledger_transaction_id) == ("agreed", None, None)
    assert event_kinds(db, world, exchange.id) == ["responded", "agreed"]
    assert figures(db, world.ans).pending_debit_minutes == 0
    assert transactions_of(db, world) == []


def test_a_retried_record_with_the_same_idempotency_key_holds_the_minutes_once(db, world):
    exchange = agreed_exchange(db, world, helper=world.bert, helped=world.ans)
    record = {"actor": world.bert.actor, "exchange_id": exchange.id, "idempotency_key": "record-1"}
    first = db.run(payments.record_minutes, minutes=90, **record)
    again = db.run(payments.record_minutes, minutes=90, **record)
    assert again.ledger_transaction_id == first.ledger_transaction_id
    with pytest.raises(ledger_errors.IdempotencyKeyReused):
        db.run(payments.record_minutes, minutes=60, **record)
    assert figures(db, world.ans).pending_debit_minutes == 90
    assert transactions_of(db, world) == [("exchange", "pending")]
    assert event_kinds(db, world, exchange.id) == ["responded", "agreed", "recorded"]


# --- confirming and disputing ---------------------------------------------------------------------------------


def test_only_the_side_that_did_not_record_the_minutes_confirms_them_once(db, world):
    exchange = recorded_exchange(db, world, helper=world.bert, helped=world.ans, recorder=world.ans, minutes=45)
    for person, error in ((world.ans, errors.NotAllowed), (world.coordinator, errors.NotAllowed)):
        with pytest.raises(error):
            db.run(payments.confirm_exchange, actor=person.actor, exchange_id=exchange.id)
    with pytest.raises(errors.NotFound):
        db.run(payments.confirm_exchange, actor=world.cor.actor, exchange_id=exchange.id)
    confirmed = db.run(payments.confirm_exchange, actor=world.bert.actor, exchange_id=exchange.id)
    assert confirmed.status == ExchangeStatus.CONFIRMED
    with pytest.raises(errors.Conflict):
        db.run(payments.confirm_exchange, actor=world.bert.actor, exchange_id=exchange.id)
    assert (figures(db, world.ans).balance_minutes, figures(db, world.bert).balance_minutes) == (75, 165)


def test_the_other_side_disputes_with_a_reason_and_the_minutes_then_wait_for_a_coordinator(db, world):
    exchange = recorded_exchange(db, world, helper=world.bert, helped=world.ans, minutes=180)
    with pytest.raises(errors.NotAllowed):
        db.run(payments.dispute_exchange, actor=world.bert.actor, exchange_id=exchange.id, reason="oeps")
    with pytest.raises(errors.InvalidInput):
        db.run(payments.dispute_exchange, actor=world.ans.actor, exchange_id=exchange.id, reason=" ")
    disputed = db.run(
        payments.dispute_exchange, actor=world.ans.actor, exchange_id=exchange.id, reason="het was een uur"
    )
    assert (disputed.status, disputed.dispute_reason, disputed.auto_confirm_at) == ("disputed", "het was een uur", None)
    assert messages_to(db, world.bert) == ["claim_disputed"]
    with pytest.raises(errors.Conflict):
        db.run(payments.confirm_exchange, actor=world.ans.actor, exchange_id=exchange.id)
    confirmed, _ = tick(db, START + 30 * DAY)
    assert exchange.id not in confirmed
    assert read_exchange(db, world, exchange.id).status == ExchangeStatus.DISPUTED
    assert figures(db, world.ans).pending_debit_minutes == 180


# --- settling disputes ----------------------------------------------------------------------------------------


def disputed_exchange(db, world, *, helper, helped, minutes=180):
    exchange = recorded_exchange(db, world, helper=helper, helped=helped, minutes=minutes)
    return db.run(payments.dispute_exchange, actor=helped.actor, exchange_id=exchange.id, reason="te veel")


@pytest.mark.parametrize(
    ("outcome", "minutes", "status", "ans_balance", "bert_balance", "transactions"),
    [
        ("post", None, "confirmed", -60, 300, [("exchange", "posted")]),
        ("change", 60, "confirmed", 60, 180, [("exchange", "voided"), ("exchange", "posted")]),
        ("void", None, "voided", 120, 120, [("exchange", "voided")]),
    ],
)
def test_a_coordinator_settles_a_dispute_by_posting_changing_or_voiding_the_minutes(
    db, world, outcome, minutes, status, ans_balance, bert_balance, transactions
):
    exchange = disputed_exchange(db, world, helper=world.bert, helped=world.ans, minutes=180)
    settled = db.run(
        payments.settle_dispute,
        actor=world.coordinator.actor,
        exchange_id=exchange.id,
        outcome=outcome,
        minutes=minutes,
        reason="na gesprek met beiden",
        now=START + DAY,
    )
    assert (settled.status, settled.settlement_reason) == (status, "na gesprek met beiden")
    ans, bert = figures(db, world.ans), figures(db, world.bert)
    assert (ans.balance_minutes, ans.pending_debit_minutes) == (ans_balance, 0)
    assert (bert.balance_minutes, bert.pending_credit_minutes) == (bert_balance, 0)
    assert transactions_of(db, world) == transactions
    assert ledger_verifies(db, world)
    assert event_kinds(db, world, exchange.id)[-2:] == ["disputed", "settled"]
    assert "exchange.dispute_settled" in audit_actions(db, world)


def test_only_a_coordinator_who_takes_no_part_in_it_settles_a_dispute(db, world, other_world):
    exchange = disputed_exchange(db, world, helper=world.bert, helped=world.ans)
    settle = {"exchange_id": exchange.id, "outcome": "post", "reason": "gezien"}
    with pytest.raises(errors.NotAllowed):
        db.run(payments.settle_dispute, actor=world.ans.actor, **settle)
    for outsider in (world.cor, other_world.coordinator):
        with pytest.raises(errors.NotFound):
            db.run(payments.settle_dispute, actor=outsider.actor, **settle)
    own = disputed_exchange(db, world, helper=world.coordinator, helped=world.cor)
    with pytest.raises(errors.NotAllowed):
        db.run(payments.settle_dispute, actor=world.coordinator.actor, **(settle | {"exchange_id": own.id}))
    settled = db.run(payments.settle_dispute, actor=world.admin.actor, **(settle | {"exchange_id": own.id}))
    assert settled.status == ExchangeStatus.CONFIRMED
    with pytest.raises(errors.Conflict):
        db.run(payments.settle_dispute, actor=world.admin.actor, **(settle | {"exchange_id": own.id}))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"outcome": "change"}, "minutes"),
        ({"outcome": "change", "minutes": 721}, "minutes"),
        ({"outcome": "post", "minutes": 60}, "minutes"),
        ({"outcome": "split"}, "outcome"),
        ({"reason": ""}, "reason"),
    ],
)
def test_a_settlement_needs_a_known_outcome_a_reason_and_minutes_only_to_change_them(db, world, changes, field):
    exchange = disputed_exchange(db, world, helper=world.bert, helped=world.ans)
    arguments = {"exchange_id": exchange.id, "outcome": "post", "reason": "gezien"} | changes
    with pytest.raises(errors.InvalidInput) as refused:
        db.run(payments.settle_dispute, actor=world.coordinator.actor, **arguments)
    assert refused.value.details["field"] == field
    assert read_exchange(db, world, exchange.id).status == ExchangeStatus.DISPUTED


def test_a_changed_amount_the_ledger_refuses_leaves_the_dispute_and_its_hold_as_they_were(db, world):
    exchange = disputed_exchange(db, world, helper=world.bert, helped=world.ans, minutes=60)
    set_limits(db, world, world.bert, ceiling_minutes=200)
    with pytest.raises(ledger_errors.BalanceAboveCeiling):
        db.run(
            payments.settle_dispute,
            actor=world.coordinator.actor,
            exchange_id=exchange.id,
            outcome="change",
            minutes=120,
            reason="twee uur",
        )
    unchanged = read_exchange(db, world, exchange.id)
    assert (unchanged.status, unchanged.minutes) == ("disputed", 60)
    assert transactions_of(db, world) == [("exchange", "pending")]
    assert figures(db, world.bert).pending_credit_minutes == 60


# --- confirming by itself after the community's number of days ------------------------------------------------


def test_recorded_minutes_confirm_themselves_after_the_communitys_number_of_days_and_not_before(db, world):
    db.run(
        communities.update_settings, actor=world.coordinator.actor, community_id=world.community_id, auto_confirm_days=3
    )
    exchange = recorded_exchange(db, world, helper=world.bert, helped=world.ans, minutes=30)
    assert exchange.auto_confirm_at == START + 3 * DAY
    confirmed, _ = tick(db, START + 3 * DAY - timedelta(seconds=1))
    assert exchange.id not in confirmed
    assert read_exchange(db, world, exchange.id).status == ExchangeStatus.RECORDED
    confirmed, _ = tick(db, START + 3 * DAY)
    assert exchange.id in confirmed
    done = read_exchange(db, world, exchange.id)
    assert (done.status, done.confirmed_at) == ("confirmed", START + 3 * DAY)
    assert event_kinds(db, world, exchange.id)[-1] == "auto_confirmed"
    assert (figures(db, world.ans).balance_minutes, figures(db, world.bert).balance_minutes) == (90, 150)
    confirmed, _ = tick(db, START + 4 * DAY)
    assert exchange.id not in confirmed


def test_a_due_exchange_the_ledger_refuses_is_reported_and_does_not_stop_the_others(db, world):
    refused = recorded_exchange(db, world, helper=world.cor, helped=world.ans, minutes=30)
    fine = recorded_exchange(db, world, helper=world.bert, helped=world.ans, minutes=30)
    suspend(db, world, world.cor)  # Cor's account is frozen
    due = START + 7 * DAY
    confirmed, failures = tick(db, due)
    assert fine.id in confirmed and refused.id not in confirmed
    failure = next(failure for failure in failures if failure.exchange_id == refused.id)
    assert failure.code == "account_frozen"
    waiting = read_exchange(db, world, refused.id)
    assert waiting.status == ExchangeStatus.RECORDED and waiting.auto_confirm_at == due + timedelta(hours=1)
    db.run(members.reinstate_member, actor=world.coordinator.actor, membership_id=world.cor.id, reason="klaar")
    confirmed, _ = tick(db, due + timedelta(hours=1))
    assert refused.id in confirmed


def test_reminders_list_the_exchanges_that_will_confirm_themselves_within_a_day(db, world):
    soon = recorded_exchange(db, world, helper=world.bert, helped=world.ans)
    disputed = disputed_exchange(db, world, helper=world.cor, helped=world.ans)
    later = recorded_exchange(db, world, helper=world.cor, helped=world.bert, now=START + 2 * DAY)

    def reminded(now, **options):
        found = db.read(payments.exchanges_confirming_within, now=now, **options)
        return {exchange.id for exchange in found} & {soon.id, disputed.id, later.id}

    assert reminded(START + 6 * DAY + timedelta(hours=1)) == {soon.id}
    assert reminded(START + 5 * DAY) == set()
    assert reminded(START + 5 * DAY, hours=96) == {soon.id, later.id}
    assert reminded(START + 7 * DAY) == set()  # due now: the tick confirms it, no reminder
    for hours in (0, 24 * 7 + 1, "24"):
        with pytest.raises(errors.InvalidInput):
            db.read(payments.exchanges_confirming_within, now=START, hours=hours)


# --- at the same time -----------------------------------------------------------------------------------------


def test_two_confirmations_at_the_same_moment_confirm_the_exchange_once(db, world):
    exchange = recorded_exchange(db, world, helper=world.bert, helped=world.ans, minutes=60)
    results = run_at_once(
        2, lambda: db.run(payments.confirm_exchange, actor=world.ans.actor, exchange_id=exchange.id, now=START)
    )
    assert sorted(type(result).__name__ for result in results) == ["Conflict", "Exchange"]
    assert (figures(db, world.ans).balance_minutes, figures(db, world.bert).balance_minutes) == (60, 180)
    assert event_kinds(db, world, exchange.id).count("confirmed") == 1
    assert ledger_verifies(db, world)


def test_two_ticks_at_the_same_moment_confirm_each_due_exchange_once(db, world):
    # Recorded long before anything else in the shared test database, so these are the first due.
    early = START - 4000 * DAY
    recorded = [
        recorded_exchange(db, world, helper=helper, helped=world.ans, minutes=10, now=early)
        for helper in (world.bert, world.cor, world.bert)
    ]
    due = early + 7 * DAY
    reports = run_at_once(2, lambda: db.run(payments.confirm_due_exchanges, now=due))
    confirmed = [exchange_id for report in reports for exchange_id in report.confirmed_exchange_ids]
    assert sorted(exchange_id for exchange_id in confirmed if exchange_id in {item.id for item in recorded}) == sorted(
        item.id for item in recorded
    )
    assert figures(db, world.ans).balance_minutes == 90
    assert ledger_verifies(db, world)


# --- paying directly ------------------------------------------------------------------------------------------


def test_a_direct_payment_posts_at_once_as_a_confirmed_exchange(db, world):
    exchange = db.run(
        payments.pay_directly,
        actor=world.ans.actor,
        payee_membership_id=world.bert.id,
        minutes=180,
        category_id=world.categories["klussen"],
        description="Fiets gemaakt",
        now=START,
    )
    assert (exchange.status, exchange.helper_membership_id, exchange.helped_membership_id) == (
        "confirmed",
        world.bert.id,
        world.ans.id,
    )
    assert (exchange.minutes, exchange.description, exchange.confirmed_at) == (180, "Fiets gemaakt", START)
    assert (figures(db, world.ans).balance_minutes, figures(db, world.bert).balance_minutes) == (-60, 300)
    assert transactions_of(db, world) == [("exchange", "posted")]
    assert event_kinds(db, world, exchange.id) == ["paid"]
    assert ledger_verifies(db, world)


def test_direct_payments_are_refused_for_the_wrong_people_and_change_nothing(db, world, other_world):
    def pay(actor, payee_membership_id, **options):
        arguments = {"payee_membership_id": payee_membership_id, "minutes": 60} | options
        return db.run(payments.pay_directly, actor=actor, **arguments)

    with pytest.raises(errors.InvalidInput):
        pay(world.ans.actor, world.ans.id)
    with pytest.raises(errors.NotFound):
        pay(world.ans.actor, other_world.bert.id)
    with pytest.raises(errors.NotFound):
        pay(world.ans.actor, world.bert.id, category_id=other_world.categories["klussen"])
    with pytest.raises(errors.NotAllowed):
        pay(world.admin.actor, world.bert.id)  # an administrator has no account here
    suspend(db, world, world.cor)
    with pytest.raises(errors.MembershipNotActive):
        pay(world.cor.actor, world.bert.id)
    with pytest.raises(errors.MembershipNotActive):
        pay(world.ans.actor, world.cor.id)
    set_limits(db, world, world.ans, floor_minutes=0)
    with pytest.raises(ledger_errors.BalanceBelowFloor):
        pay(world.ans.actor, world.bert.id, minutes=121)
    assert transactions_of(db, world) == []
    count = sa.select(sa.func.count()).select_from(Exchange).where(Exchange.community_id == world.community_id)
    assert db.read(lambda *, session: session.scalar(count)) == 0


def test_paying_for_a_childrens_task_needs_the_helpers_current_check(db, world):
    babysitting = {"payee_membership_id": world.bert.id, "minutes": 180, "category_id": world.categories["oppassen"]}
    with pytest.raises(errors.SafeguardingCheckRequired):
        db.run(payments.pay_directly, actor=world.ans.actor, now=START, **babysitting)
    give_check(db, world, world.bert)
    exchange = db.run(payments.pay_directly, actor=world.ans.actor, now=START, **babysitting)
    assert exchange.status == ExchangeStatus.CONFIRMED and exchange.parent_accepted_helper


def test_a_retried_payment_with_the_same_idempotency_key_pays_once(db, world):
    payment = {"payee_membership_id": world.bert.id, "minutes": 60, "idempotency_key": "pay-1"}
    first = db.run(payments.pay_directly, actor=world.ans.actor, **payment)
    again = db.run(payments.pay_directly, actor=world.ans.actor, **payment)
    assert again.id == first.id
    with pytest.raises(ledger_errors.IdempotencyKeyReused):
        db.run(payments.pay_directly, actor=world.ans.actor, **(payment | {"minutes": 90}))
    other_payer = db.run(payments.pay_directly, actor=world.cor.actor, **payment)  # keys are per person
    assert other_payer.id != first.id
    assert figures(db, world.bert).balance_minutes == 240
    with pytest.raises(errors.InvalidInput):
        db.run(payments.pay_directly, actor=world.ans.actor, **(payment | {"idempotency_key": "k" * 201}))


# --- claims ---------------------------------------------------------------------------------------------------


def test_a_claim_waits_for_the_payers_confirmation(db, world):
    claim = db.run(
        payments.claim_minutes,
        actor=world.bert.actor,
        payer_membership_id=world.ans.id,
        minutes=120,
        description="Boodschappen",
        now=START,
    )
    assert (claim.status, claim.recorded_by_membership_id, claim.auto_confirm_at) == (
        "recorded",
        world.bert.id,
        START + 7 * DAY,
    )
    assert (figures(db, world.ans).pending_debit_minutes, figures(db, world.bert).pending_credit_minutes) == (120, 120)
    with pytest.raises(errors.NotAllowed):
        db.run(payments.confirm_exchange, actor=world.bert.actor, exchange_id=claim.id)
    confirmed = db.run(payments.confirm_exchange, actor=world.ans.actor, exchange_id=claim.id)
    assert confirmed.status == ExchangeStatus.CONFIRMED
    assert (figures(db, world.ans).balance_minutes, figures(db, world.bert).balance_minutes) == (0, 240)
    assert event_kinds(db, world, claim.id) == ["claimed", "confirmed"]
    assert (messages_to(db, world.ans), messages_to(db, world.bert)) == (["claim_waiting"], ["claim_confirmed"])


def test_a_claim_may_be_disputed_or_confirm_itself(db, world):
    disputed = db.run(
        payments.claim_minutes, actor=world.bert.actor, payer_membership_id=world.ans.id, minutes=60, now=START
    )
    db.run(payments.dispute_exchange, actor=world.ans.actor, exchange_id=disputed.id, reason="niet gebeurd")
    left = db.run(
        payments.claim_minutes, actor=world.cor.actor, payer_membership_id=world.ans.id, minutes=30, now=START
    )
    confirmed, _ = tick(db, START + 7 * DAY)
    assert left.id in confirmed and disputed.id not in confirmed


def test_a_claim_for_a_childrens_task_waits_for_the_parent_to_accept_the_helper_first(db, world):
    give_check(db, world, world.bert)
    with pytest.raises(errors.ParentAcceptanceRequired):
        db.run(
            payments.claim_minutes,
            actor=world.bert.actor,
            payer_membership_id=world.ans.id,
            minutes=60,
            category_id=world.categories["huiswerk"],
        )
    assert transactions_of(db, world) == []


def test_a_retried_claim_with_the_same_idempotency_key_claims_once(db, world):
    claim = {"payer_membership_id": world.ans.id, "minutes": 60, "idempotency_key": "claim-7"}
    first = db.run(payments.claim_minutes, actor=world.bert.actor, **claim)
    assert db.run(payments.claim_minutes, actor=world.bert.actor, **claim).id == first.id
    assert figures(db, world.ans).pending_debit_minutes == 60


# --- records on behalf ----------------------------------------------------------------------------------------


def offline_neighbour(db, world, name="Mevrouw Jansen"):
    return db.run(
        members.add_offline_member, actor=world.coordinator.actor, community_id=world.community_id, display_name=name
    )


def test_a_coordinator_records_for_an_offline_member_and_the_other_member_confirms(db, world):
    neighbour = offline_neighbour(db, world)
    exchange = db.run(
        payments.record_on_behalf,
        actor=world.coordinator.actor,
        helper_membership_id=world.bert.id,
        helped_membership_id=neighbour.id,
        on_behalf_of_membership_id=neighbour.id,
        minutes=90,
        reason="belde het buurthuis",
        now=START,
    )
    assert (exchange.status, exchange.attested_by_coordinator, exchange.recorded_by_membership_id) == (
        "recorded",
        False,
        neighbour.id,
    )
    confirmed = db.run(payments.confirm_exchange, actor=world.bert.actor, exchange_id=exchange.id)
    assert confirmed.status == ExchangeStatus.CONFIRMED
    assert figures(db, neighbour.account_id).balance_minutes == 30
    assert event_kinds(db, world, exchange.id) == ["recorded_on_behalf", "confirmed"]
    assert messages_to(db, world.bert) == ["claim_waiting"]  # the offline neighbour has no email: nothing
    assert "exchange.recorded_on_behalf" in audit_actions(db, world)


def test_an_attested_record_on_behalf_posts_at_once_and_says_so(db, world):
    helper, helped = offline_neighbour(db, world, "Meneer Ali"), offline_neighbour(db, world)
    exchange = db.run(
        payments.record_on_behalf,
        actor=world.coordinator.actor,
        helper_membership_id=helper.id,
        helped_membership_id=helped.id,
        minutes=60,
        attested=True,
        reason="beiden aan de balie",
        now=START,
    )
    assert (exchange.status, exchange.attested_by_coordinator) == ("confirmed", True)
    assert figures(db, helper.account_id).balance_minutes == 180
    details = db.read(audit.audit_log, actor=world.coordinator.actor, community_id=world.community_id)
    entry = next(entry for entry in details.entries if entry.action == "exchange.recorded_on_behalf")
    assert (entry.subject_id, entry.details["attested"], entry.reason) == (exchange.id, True, "beiden aan de balie")


def test_recording_on_behalf_is_for_coordinators_who_take_no_part_in_it(db, world, other_world):
    record = {"helper_membership_id": world.bert.id, "helped_membership_id": world.ans.id, "minutes": 60}
    on_behalf = record | {"on_behalf_of_membership_id": world.ans.id}
    with pytest.raises(errors.NotAllowed):
        db.run(payments.record_on_behalf, actor=world.cor.actor, **on_behalf)
    with pytest.raises(errors.NotFound):
        db.run(payments.record_on_behalf, actor=other_world.coordinator.actor, **on_behalf)
    with pytest.raises(errors.NotFound):
        db.run(
            payments.record_on_behalf,
            actor=world.coordinator.actor,
            **(on_behalf | {"helped_membership_id": other_world.ans.id}),
        )
    with pytest.raises(errors.NotAllowed):
        db.run(
            payments.record_on_behalf,
            actor=world.coordinator.actor,
            **(record | {"helped_membership_id": world.coordinator.id, "attested": True}),
        )
    with pytest.raises(errors.InvalidInput):
        db.run(payments.record_on_behalf, actor=world.coordinator.actor, **record)  # on whose behalf?
    with pytest.raises(errors.InvalidInput):
        db.run(
            payments.record_on_behalf,
            actor=world.coordinator.actor,
            **(record | {"on_behalf_of_membership_id": world.cor.id}),
        )
    assert transactions_of(db, world) == []


def test_a_childrens_task_is_recorded_on_behalf_only_when_attested_and_the_helper_is_checked(db, world):
    record = {
        "helper_membership_id": world.bert.id,
        "helped_membership_id": world.ans.id,
        "minutes": 60,
        "category_id": world.categories["oppassen"],
        "now": START,
    }
    with pytest.raises(errors.SafeguardingCheckRequired):
        db.run(payments.record_on_behalf, actor=world.coordinator.actor, attested=True, **record)
    give_check(db, world, world.bert, seen_on=date(2025, 6, 1))
    with pytest.raises(errors.ParentAcceptanceRequired):
        db.run(
            payments.record_on_behalf,
            actor=world.coordinator.actor,
            on_behalf_of_membership_id=world.bert.id,
            **record,
        )
    exchange = db.run(payments.record_on_behalf, actor=world.coordinator.actor, attested=True, **record)
    assert exchange.status == ExchangeStatus.CONFIRMED and exchange.parent_accepted_helper


def test_recorded_minutes_may_say_what_was_done_in_the_history(db, world):
    exchange = agreed_exchange(db, world, helper=world.bert, helped=world.ans)
    with pytest.raises(errors.InvalidInput) as refused:
        db.run(payments.record_minutes, actor=world.bert.actor, exchange_id=exchange.id, minutes=60, note="x" * 501)
    assert refused.value.details["field"] == "note"
    db.run(payments.record_minutes, actor=world.bert.actor, exchange_id=exchange.id, minutes=60, note=" Two bags ")
    details = db.read(exchanges.get_exchange, actor=world.ans.actor, exchange_id=exchange.id)
    assert [(event.kind, event.note) for event in details.events][-1] == ("recorded", "Two bags")
