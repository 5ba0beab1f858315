"""The community pot and new credit: donations, grants from the pot, documented issuance and group events, with
their refusals, on SQLite and PostgreSQL.

The helpers at the top (``state``, ``assert_refused``, ``assert_books_verify``...) are shared with the other
ledger-work tests.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

import ledger
from ledger import errors as ledger_errors
from ledger.models import account_table, transaction_table
from tests.world import START, World
from timebank import errors, members, pot
from timebank.access import Actor
from timebank.models import AuditEntry, ExchangeEvent, SafeguardingCheck, SafeguardingRead

WELCOME = 120


# --- shared helpers -------------------------------------------------------------------------------------------


def balance(world: World, account_id: int) -> int:
    return world.db.read(lambda *, session: ledger.get_account(session, account_id).balance)


def pot_balance(world: World) -> int:
    return balance(world, world.community.pot_account_id)


def issuance_balance(world: World) -> int:
    return balance(world, world.community.issuance_account_id)


def _count(session, model, community_id: int) -> int:
    return session.execute(
        sa.select(sa.func.count()).select_from(model).where(model.community_id == community_id)
    ).scalar_one()


def state(*worlds: World) -> list:
    """Everything a refusal must leave alone in these communities: every account's figures in their ledgers,
    and the number of transactions, audit entries, exchange events and safeguarding rows."""

    def read(*, session):
        figures = []
        for world in worlds:
            community = world.community
            accounts = session.execute(
                sa.select(
                    account_table.c.id,
                    account_table.c.balance,
                    account_table.c.pending_debits,
                    account_table.c.pending_credits,
                    account_table.c.status,
                )
                .where(account_table.c.ledger_id == community.ledger_id)
                .order_by(account_table.c.id)
            ).all()
            transactions = session.execute(
                sa.select(sa.func.count())
                .select_from(transaction_table)
                .where(transaction_table.c.ledger_id == community.ledger_id)
            ).scalar_one()
            counts = [
                _count(session, model, community.id)
                for model in (AuditEntry, ExchangeEvent, SafeguardingCheck, SafeguardingRead)
            ]
            figures.append(([tuple(row) for row in accounts], transactions, counts))
        return figures

    return worlds[0].db.read(read)


def assert_refused(worlds, error_type, use_case, **arguments):
    """Running ``use_case`` raises ``error_type`` and changes nothing in ``worlds``; returns the error."""
    worlds = worlds if isinstance(worlds, list | tuple) else [worlds]
    before = state(*worlds)
    with pytest.raises(error_type) as raised:
        worlds[0].db.run(use_case, **arguments)
    assert state(*worlds) == before
    return raised.value


def assert_books_verify(*worlds: World) -> None:
    """Each community's ledger verifies from its entries and hash chain, and its balances sum to zero."""

    def check(*, session):
        for world in worlds:
            report = ledger.verify(session, ledger_id=world.community.ledger_id)
            assert report.ok, report.summary()
            assert ledger.ledger_balance_total(session, world.community.ledger_id) == 0

    worlds[0].db.read(check)


def audit_entries(world: World, action: str) -> list[AuditEntry]:
    return world.db.read(
        lambda *, session: list(
            session.execute(
                sa.select(AuditEntry)
                .where(AuditEntry.community_id == world.community_id, AuditEntry.action == action)
                .order_by(AuditEntry.id)
            ).scalars()
        )
    )


def suspend(world: World, person) -> None:
    world.db.run(
        members.suspend_member, actor=world.coordinator.actor, membership_id=person.id, reason="test", now=START
    )


def set_limits(world: World, person, *, floor_minutes: int = -600, ceiling_minutes: int = 2400) -> None:
    world.db.run(
        members.set_member_limits,
        actor=world.coordinator.actor,
        membership_id=person.id,
        floor_minutes=floor_minutes,
        ceiling_minutes=ceiling_minutes,
        reason="test",
        now=START,
    )


def donate(world: World, person, minutes: int, **options) -> ledger.Posting:
    return world.db.run(
        pot.donate_to_pot, actor=person.actor, community_id=world.community_id, minutes=minutes, now=START, **options
    )


def fill_pot(world: World, minutes: int) -> None:
    """Put ``minutes`` in the pot by documented issuance."""
    world.db.run(
        pot.issue_credit,
        actor=world.coordinator.actor,
        community_id=world.community_id,
        minutes=minutes,
        reason="seed the pot",
        to_pot=True,
        now=START,
    )


def grant_arguments(world: World, person, minutes: int = 30, **overrides) -> dict:
    return {
        "actor": world.coordinator.actor,
        "community_id": world.community_id,
        "membership_id": person.id,
        "minutes": minutes,
        "reason": "Mevrouw Smit cannot reciprocate",
        "now": START,
        **overrides,
    }


BAD_MINUTES = [0, -30, 1.5, "30", True, None]


# --- donating to the pot --------------------------------------------------------------------------------------


def test_a_member_donates_minutes_from_their_own_account_to_the_pot(world):
    posting = donate(world, world.ans, 45, note="voor het buurtfeest")
    assert posting.state == "posted"
    assert posting.transaction.kind == pot.DONATION_KIND
    assert posting.transaction.memo == "voor het buurtfeest"
    assert balance(world, world.ans.account_id) == WELCOME - 45
    assert pot_balance(world) == 45
    assert_books_verify(world)


def test_a_member_may_donate_down_to_their_floor_and_not_a_minute_more(world):
    assert_refused(
        world,
        ledger_errors.BalanceBelowFloor,
        pot.donate_to_pot,
        actor=world.ans.actor,
        community_id=world.community_id,
        minutes=WELCOME + 600 + 1,
        now=START,
    )
    donate(world, world.ans, WELCOME + 600)
    assert balance(world, world.ans.account_id) == -600
    assert pot_balance(world) == WELCOME + 600
    assert_books_verify(world)


@pytest.mark.parametrize("minutes", [*BAD_MINUTES, 1000 * 60 + 1])
def test_a_donation_needs_a_positive_whole_number_of_minutes(world, minutes):
    error = assert_refused(
        world,
        errors.InvalidInput,
        pot.donate_to_pot,
        actor=world.ans.actor,
        community_id=world.community_id,
        minutes=minutes,
        now=START,
    )
    assert error.details["field"] == "minutes"


def test_a_donation_note_is_bounded(world):
    assert_refused(
        world,
        errors.InvalidInput,
        pot.donate_to_pot,
        actor=world.ans.actor,
        community_id=world.community_id,
        minutes=10,
        note="x" * 201,
        now=START,
    )


def test_a_suspended_member_cannot_donate(world):
    suspend(world, world.bert)
    assert_refused(
        world,
        errors.MembershipNotActive,
        pot.donate_to_pot,
        actor=world.bert.actor,
        community_id=world.community_id,
        minutes=10,
        now=START,
    )


def test_a_member_of_another_community_cannot_donate_to_this_pot(world, other_world):
    assert_refused(
        [world, other_world],
        errors.NotFound,
        pot.donate_to_pot,
        actor=other_world.ans.actor,
        community_id=world.community_id,
        minutes=10,
        now=START,
    )


def test_a_donation_retried_with_the_same_key_is_made_once(world):
    first = donate(world, world.ans, 20, idempotency_key="donation-1")
    again = donate(world, world.ans, 20, idempotency_key="donation-1")
    assert again.replayed and again.id == first.id
    assert pot_balance(world) == 20
    with pytest.raises(ledger_errors.IdempotencyKeyReused):
        donate(world, world.ans, 25, idempotency_key="donation-1")
    assert pot_balance(world) == 20


# --- granting from the pot ------------------------------------------------------------------------------------


def test_a_coordinator_grants_minutes_from_the_pot_with_a_reason(world):
    donate(world, world.ans, 60)
    posting = world.db.run(pot.grant_from_pot, **grant_arguments(world, world.cor, 45))
    assert posting.transaction.kind == pot.GRANT_KIND
    assert posting.transaction.memo == "Mevrouw Smit cannot reciprocate"
    assert posting.transaction.actor == world.coordinator.actor.label
    assert pot_balance(world) == 15
    assert balance(world, world.cor.account_id) == WELCOME + 45
    [entry] = audit_entries(world, "pot.granted")
    assert (entry.actor_user_id, entry.subject_id, entry.reason) == (
        world.coordinator.user.id,
        posting.id,
        "Mevrouw Smit cannot reciprocate",
    )
    assert entry.details["membership_id"] == world.cor.id and entry.details["minutes"] == 45
    assert_books_verify(world)


def test_the_pot_never_goes_below_zero(world):
    assert_refused(world, ledger_errors.BalanceBelowFloor, pot.grant_from_pot, **grant_arguments(world, world.cor, 1))
    donate(world, world.ans, 30)
    error = assert_refused(
        world, ledger_errors.BalanceBelowFloor, pot.grant_from_pot, **grant_arguments(world, world.cor, 31)
    )
    assert error.details["account_id"] == world.community.pot_account_id
    world.db.run(pot.grant_from_pot, **grant_arguments(world, world.cor, 30))
    assert pot_balance(world) == 0
    assert_books_verify(world)


def test_a_grant_respects_the_recipients_ceiling(world):
    fill_pot(world, 600)
    set_limits(world, world.cor, ceiling_minutes=WELCOME + 10)
    assert_refused(
        world, ledger_errors.BalanceAboveCeiling, pot.grant_from_pot, **grant_arguments(world, world.cor, 11)
    )


def test_an_administrator_may_grant_from_the_pot(world):
    fill_pot(world, 100)
    world.db.run(pot.grant_from_pot, **grant_arguments(world, world.cor, 40, actor=world.admin.actor))
    assert balance(world, world.cor.account_id) == WELCOME + 40
    assert audit_entries(world, "pot.granted")[0].actor_user_id == world.admin.user.id


@pytest.mark.parametrize("who", ["ans", "officer"])
def test_only_a_coordinator_grants_from_the_pot(world, who):
    fill_pot(world, 100)
    actor = getattr(world, who).actor
    assert_refused(world, errors.NotAllowed, pot.grant_from_pot, **grant_arguments(world, world.cor, actor=actor))


def test_a_coordinator_of_another_community_cannot_grant_from_this_pot(world, other_world):
    fill_pot(world, 100)
    assert_refused(
        [world, other_world],
        errors.NotFound,
        pot.grant_from_pot,
        **grant_arguments(world, world.cor, actor=other_world.coordinator.actor),
    )


def test_a_grant_to_a_member_of_another_community_is_refused_as_not_found(world, other_world):
    fill_pot(world, 100)
    assert_refused([world, other_world], errors.NotFound, pot.grant_from_pot, **grant_arguments(world, other_world.cor))


def test_a_grant_goes_only_to_an_active_member(world):
    fill_pot(world, 100)
    suspend(world, world.cor)
    assert_refused(world, errors.MembershipNotActive, pot.grant_from_pot, **grant_arguments(world, world.cor))


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        *[({"minutes": minutes}, "minutes") for minutes in BAD_MINUTES],
        ({"minutes": pot.MAX_GRANT_MINUTES + 1}, "minutes"),
        ({"reason": ""}, "reason"),
        ({"reason": "   "}, "reason"),
        ({"reason": "x" * 501}, "reason"),
        ({"membership_id": "3"}, "membership_id"),
    ],
)
def test_a_grant_needs_whole_minutes_within_bounds_and_a_reason(world, overrides, field):
    fill_pot(world, 100)
    error = assert_refused(
        world, errors.InvalidInput, pot.grant_from_pot, **grant_arguments(world, world.cor, **overrides)
    )
    assert error.details["field"] == field


# --- issuing new credit ---------------------------------------------------------------------------------------


def issue_arguments(world: World, **overrides) -> dict:
    return {
        "actor": world.coordinator.actor,
        "community_id": world.community_id,
        "minutes": 90,
        "reason": "reward: opruimdag Oosterpark",
        "now": START,
        **overrides,
    }


def test_a_coordinator_issues_documented_credit_to_a_member(world):
    before = issuance_balance(world)
    posting = world.db.run(pot.issue_credit, **issue_arguments(world, membership_id=world.bert.id))
    assert posting.transaction.kind == pot.ISSUANCE_KIND
    assert posting.transaction.memo == "reward: opruimdag Oosterpark"
    assert issuance_balance(world) == before - 90
    assert balance(world, world.bert.account_id) == WELCOME + 90
    [entry] = audit_entries(world, "credit.issued")
    assert entry.reason == "reward: opruimdag Oosterpark"
    assert entry.details["membership_id"] == world.bert.id
    assert_books_verify(world)


def test_a_coordinator_issues_documented_credit_to_the_pot(world):
    before = issuance_balance(world)
    world.db.run(pot.issue_credit, **issue_arguments(world, minutes=200 * 60, to_pot=True))
    assert pot_balance(world) == 200 * 60
    assert issuance_balance(world) == before - 200 * 60
    assert audit_entries(world, "credit.issued")[0].details["to"] == "pot"
    assert_books_verify(world)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({}, "membership_id"),
        ({"to_pot": True, "membership_id": 1}, "membership_id"),
        ({"to_pot": "yes"}, "to_pot"),
        ({"to_pot": True, "reason": ""}, "reason"),
        ({"to_pot": True, "minutes": 0}, "minutes"),
        ({"to_pot": True, "minutes": 1000 * 60 + 1}, "minutes"),
    ],
)
def test_issued_credit_goes_to_one_member_or_the_pot_with_a_reason(world, overrides, field):
    error = assert_refused(world, errors.InvalidInput, pot.issue_credit, **issue_arguments(world, **overrides))
    assert error.details["field"] == field


def test_credit_issued_to_one_member_is_bounded_per_grant(world):
    error = assert_refused(
        world,
        errors.InvalidInput,
        pot.issue_credit,
        **issue_arguments(world, membership_id=world.bert.id, minutes=pot.MAX_GRANT_MINUTES + 1),
    )
    assert error.details["field"] == "minutes"


def test_issued_credit_respects_the_members_ceiling(world):
    set_limits(world, world.bert, ceiling_minutes=WELCOME + 60)
    assert_refused(
        world,
        ledger_errors.BalanceAboveCeiling,
        pot.issue_credit,
        **issue_arguments(world, membership_id=world.bert.id),
    )


@pytest.mark.parametrize("who", ["ans", "officer"])
def test_only_a_coordinator_issues_credit(world, who):
    assert_refused(
        world,
        errors.NotAllowed,
        pot.issue_credit,
        **issue_arguments(world, actor=getattr(world, who).actor, to_pot=True),
    )


def test_credit_cannot_be_issued_in_or_into_another_community(world, other_world):
    assert_refused(
        [world, other_world],
        errors.NotFound,
        pot.issue_credit,
        **issue_arguments(world, actor=other_world.coordinator.actor, to_pot=True),
    )
    assert_refused(
        [world, other_world],
        errors.NotFound,
        pot.issue_credit,
        **issue_arguments(world, membership_id=other_world.bert.id),
    )


def test_issuing_credit_retried_with_the_same_key_issues_once_and_is_audited_once(world):
    arguments = issue_arguments(world, membership_id=world.bert.id, idempotency_key="issue-7")
    first = world.db.run(pot.issue_credit, **arguments)
    again = world.db.run(pot.issue_credit, **arguments)
    assert again.replayed and again.id == first.id
    assert balance(world, world.bert.account_id) == WELCOME + 90
    assert len(audit_entries(world, "credit.issued")) == 1


# --- group events ---------------------------------------------------------------------------------------------


def event_arguments(world: World, participants, **overrides) -> dict:
    return {
        "actor": world.coordinator.actor,
        "community_id": world.community_id,
        "event_name": "Opruimdag Oosterpark",
        "participant_ids": [person.id for person in participants],
        "minutes_each": 120,
        "now": START,
        **overrides,
    }


def test_a_group_event_credits_every_participant_in_one_transaction(world):
    participants = [world.ans, world.bert, world.cor]
    before = issuance_balance(world)
    posting = world.db.run(pot.group_event, **event_arguments(world, participants, source="issuance"))
    assert posting.transaction.kind == pot.GROUP_EVENT_KIND
    assert posting.transaction.memo == "Opruimdag Oosterpark"
    assert len(posting.entries) == 4
    assert sorted(entry.amount for entry in posting.entries) == [-360, 120, 120, 120]
    assert [balance(world, person.account_id) for person in participants] == [WELCOME + 120] * 3
    assert issuance_balance(world) == before - 360
    [entry] = audit_entries(world, "pot.group_event")
    assert entry.subject_id == posting.id
    assert entry.details["participant_ids"] == [person.id for person in participants]
    assert entry.details["minutes"] == 360
    assert_books_verify(world)


def test_a_group_event_paid_from_the_pot_needs_enough_in_the_pot_for_everyone(world):
    participants = [world.ans, world.bert, world.cor]
    fill_pot(world, 359)
    assert_refused(world, ledger_errors.BalanceBelowFloor, pot.group_event, **event_arguments(world, participants))
    fill_pot(world, 1)
    world.db.run(pot.group_event, **event_arguments(world, participants))
    assert pot_balance(world) == 0
    assert_books_verify(world)


def test_a_group_event_credits_nobody_if_one_participant_would_pass_their_ceiling(world):
    set_limits(world, world.cor, ceiling_minutes=WELCOME + 119)
    assert_refused(
        world,
        ledger_errors.BalanceAboveCeiling,
        pot.group_event,
        **event_arguments(world, [world.ans, world.bert, world.cor], source="issuance"),
    )


def test_a_group_event_credits_only_active_members(world):
    suspend(world, world.bert)
    error = assert_refused(
        world,
        errors.MembershipNotActive,
        pot.group_event,
        **event_arguments(world, [world.ans, world.bert], source="issuance"),
    )
    assert error.details["membership_id"] == world.bert.id


def test_a_group_event_cannot_credit_a_member_of_another_community(world, other_world):
    assert_refused(
        [world, other_world],
        errors.NotFound,
        pot.group_event,
        **event_arguments(world, [world.ans, other_world.bert], source="issuance"),
    )


def test_a_group_event_holds_at_most_the_maximum_number_of_participants(world, monkeypatch):
    monkeypatch.setattr(pot, "MAX_PARTICIPANTS", 3)
    assert_refused(
        world,
        errors.InvalidInput,
        pot.group_event,
        **event_arguments(world, [world.ans, world.bert, world.cor, world.officer], source="issuance"),
    )
    world.db.run(pot.group_event, **event_arguments(world, [world.ans, world.bert, world.cor], source="issuance"))


def test_a_group_event_refuses_two_hundred_and_one_participants(world):
    assert pot.MAX_PARTICIPANTS == 200
    error = assert_refused(
        world,
        errors.InvalidInput,
        pot.group_event,
        **event_arguments(world, [], participant_ids=list(range(1, 202)), source="issuance"),
    )
    assert error.details["field"] == "participant_ids"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"participant_ids": []}, "participant_ids"),
        ({"participant_ids": "1,2"}, "participant_ids"),
        ({"participant_ids": [1, "2"]}, "participant_ids"),
        ({"event_name": ""}, "event_name"),
        ({"event_name": "x" * 121}, "event_name"),
        ({"minutes_each": 0}, "minutes_each"),
        ({"minutes_each": 12 * 60 + 1}, "minutes_each"),
        ({"source": "clearing"}, "source"),
    ],
)
def test_a_group_event_needs_participants_a_name_minutes_and_a_source(world, overrides, field):
    error = assert_refused(
        world,
        errors.InvalidInput,
        pot.group_event,
        **event_arguments(world, [world.ans], **{"source": "issuance", **overrides}),
    )
    assert error.details["field"] == field


def test_a_group_event_names_each_participant_once(world):
    error = assert_refused(
        world,
        errors.InvalidInput,
        pot.group_event,
        **event_arguments(world, [world.ans, world.bert, world.ans], source="issuance"),
    )
    assert error.details["field"] == "participant_ids"


@pytest.mark.parametrize("who", ["ans", "officer"])
def test_only_a_coordinator_records_a_group_event(world, who):
    assert_refused(
        world,
        errors.NotAllowed,
        pot.group_event,
        **event_arguments(world, [world.ans], source="issuance", actor=getattr(world, who).actor),
    )


def test_a_coordinator_of_another_community_cannot_record_a_group_event_here(world, other_world):
    assert_refused(
        [world, other_world],
        errors.NotFound,
        pot.group_event,
        **event_arguments(world, [world.ans], source="issuance", actor=other_world.coordinator.actor),
    )


def test_an_administrator_may_record_a_group_event(world):
    world.db.run(pot.group_event, **event_arguments(world, [world.ans], source="issuance", actor=world.admin.actor))
    assert balance(world, world.ans.account_id) == WELCOME + 120
    assert_books_verify(world)


def test_a_group_event_retried_with_the_same_key_credits_once(world):
    arguments = event_arguments(world, [world.ans, world.bert], source="issuance", idempotency_key="event-1")
    first = world.db.run(pot.group_event, **arguments)
    again = world.db.run(pot.group_event, **arguments)
    assert again.replayed and again.id == first.id
    assert balance(world, world.ans.account_id) == WELCOME + 120
    assert len(audit_entries(world, "pot.group_event")) == 1


def test_a_system_job_is_no_member_and_cannot_donate(world):
    assert_refused(
        world,
        errors.NotFound,
        pot.donate_to_pot,
        actor=Actor.system_job("tick"),
        community_id=world.community_id,
        minutes=10,
        now=START,
    )


def test_an_administrator_may_issue_credit(world):
    world.db.run(pot.issue_credit, **issue_arguments(world, actor=world.admin.actor, membership_id=world.ans.id))
    assert balance(world, world.ans.account_id) == WELCOME + 90
    assert audit_entries(world, "credit.issued")[0].actor_user_id == world.admin.user.id
    assert_books_verify(world)
