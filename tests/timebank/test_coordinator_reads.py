"""The reads a coordinator's pages need: the roster of members with balances, counts, one member's details, open
disputes, and the transactions to correct (``members``, ``exchanges``, ``corrections``), on SQLite and PostgreSQL.
Each is for the community's coordinators only, and finds nothing of another community."""

from __future__ import annotations

import pytest

from tests.world import World
from timebank import corrections, errors, exchanges, members, payments, pot


def roster_names(world: World, **filters) -> list[str]:
    found = world.db.read(
        members.member_roster, actor=world.coordinator.actor, community_id=world.community_id, **filters
    )
    return [row.membership.display_name for row in found.rows]


def pay(world: World, payer, payee, minutes: int):
    return world.db.run(payments.pay_directly, actor=payer.actor, payee_membership_id=payee.id, minutes=minutes)


def test_the_roster_finds_members_by_name_and_status_and_orders_them_by_name_or_balance(world):
    pay(world, world.ans, world.bert, 90)
    world.db.run(members.suspend_member, actor=world.coordinator.actor, membership_id=world.cor.id, reason="pauze")
    assert roster_names(world) == ["Ans de Vries", "Bert Jansen", "Carla Coördinator", "Cor Bakker", "Olga Veilig"]
    assert roster_names(world, name="JANS") == ["Bert Jansen"]
    assert roster_names(world, name="%") == [] and roster_names(world, name="_") == []
    assert roster_names(world, status="suspended") == ["Cor Bakker"]
    assert roster_names(world, status="active", order="lowest_balance")[0] == "Ans de Vries"
    assert roster_names(world, order="highest_balance")[0] == "Bert Jansen"
    page = world.db.read(
        members.member_roster, actor=world.coordinator.actor, community_id=world.community_id, limit=2, offset=2
    )
    assert [row.membership.display_name for row in page.rows] == ["Carla Coördinator", "Cor Bakker"]
    assert page.total == 5
    ans = next(row for row in roster_rows(world) if row.membership.id == world.ans.id)
    assert (ans.balance_minutes, ans.floor_minutes, ans.ceiling_minutes) == (30, -600, 2400)


def roster_rows(world: World):
    return world.db.read(members.member_roster, actor=world.coordinator.actor, community_id=world.community_id).rows


def test_the_roster_counts_and_details_are_for_coordinators_of_the_community(world, other_world):
    for read in (members.member_roster, members.member_counts):
        with pytest.raises(errors.NotAllowed):
            world.db.read(read, actor=world.ans.actor, community_id=world.community_id)
        with pytest.raises(errors.NotFound):
            world.db.read(read, actor=other_world.coordinator.actor, community_id=world.community_id)
    with pytest.raises(errors.InvalidInput):
        world.db.read(members.member_roster, actor=world.coordinator.actor, community_id=world.community_id, order="x")
    with pytest.raises(errors.NotFound):
        world.db.read(
            members.member_details,
            actor=world.coordinator.actor,
            community_id=world.community_id,
            membership_id=other_world.ans.id,
        )


def test_member_counts_name_every_status(world):
    counts = world.db.read(members.member_counts, actor=world.coordinator.actor, community_id=world.community_id)
    assert counts == {"applicant": 0, "active": 5, "declined": 0, "suspended": 0, "left": 0}


def test_member_details_hold_the_account_figures(world):
    details = world.db.read(
        members.member_details,
        actor=world.admin.actor,
        community_id=world.community_id,
        membership_id=world.ans.id,
    )
    assert details.membership.display_name == "Ans de Vries"
    assert (details.figures.balance_minutes, details.figures.floor_minutes) == (120, -600)


def test_open_disputes_name_both_sides_and_what_each_said(world, other_world):
    claimed = world.db.run(
        payments.claim_minutes,
        actor=world.bert.actor,
        payer_membership_id=world.ans.id,
        minutes=120,
        description="fiets gemaakt",
    )
    world.db.run(payments.dispute_exchange, actor=world.ans.actor, exchange_id=claimed.id, reason="een uur maar")
    page = world.db.read(exchanges.open_disputes, actor=world.coordinator.actor, community_id=world.community_id)
    assert page.total == 1
    (dispute,) = page.disputes
    assert (dispute.helper_name, dispute.helped_name) == ("Bert Jansen", "Ans de Vries")
    assert (dispute.recorded_by_name, dispute.disputed_by_name) == ("Bert Jansen", "Ans de Vries")
    assert (dispute.exchange.description, dispute.exchange.dispute_reason) == ("fiets gemaakt", "een uur maar")
    with pytest.raises(errors.NotAllowed):
        world.db.read(exchanges.open_disputes, actor=world.ans.actor, community_id=world.community_id)
    other = other_world.db.read(
        exchanges.open_disputes, actor=other_world.coordinator.actor, community_id=other_world.community_id
    )
    assert other.total == 0


def test_recent_transactions_name_who_moved_what_and_what_was_reversed(world):
    payment = pay(world, world.ans, world.bert, 60)
    world.db.run(pot.donate_to_pot, actor=world.cor.actor, community_id=world.community_id, minutes=30)
    reversal = world.db.run(
        corrections.reverse_transaction,
        actor=world.coordinator.actor,
        community_id=world.community_id,
        transaction_id=payment.ledger_transaction_id,
        reason="dubbel",
    )
    coordinator = world.coordinator.actor
    page = world.db.read(corrections.recent_transactions, actor=coordinator, community_id=world.community_id, limit=3)
    assert [t.kind for t in page.transactions] == ["reversal", "pot_donation", "exchange"]
    assert page.next_cursor == page.transactions[-1].id  # the welcome credits are older
    original = page.transactions[2]
    assert (original.reversed_by_id, original.exchange_id) == (reversal.id, payment.id)
    assert [(line.account, line.name, line.amount_minutes) for line in original.lines] == [
        ("member", "Ans de Vries", -60),
        ("member", "Bert Jansen", 60),
    ]
    assert page.transactions[0].reverses_id == original.id
    of_ans = world.db.read(
        corrections.recent_transactions, actor=coordinator, community_id=world.community_id, membership_id=world.ans.id
    )
    assert [t.kind for t in of_ans.transactions] == ["reversal", "exchange", "welcome_credit"]
    of_pot = world.db.read(
        corrections.recent_transactions, actor=coordinator, community_id=world.community_id, pot=True
    )
    assert [[line.account for line in t.lines] for t in of_pot.transactions] == [["member", "pot"]]
    older = world.db.read(
        corrections.recent_transactions, actor=coordinator, community_id=world.community_id, before=page.next_cursor
    )
    assert {t.kind for t in older.transactions} == {"welcome_credit"}


def test_a_transaction_summary_is_found_only_in_its_own_community(world, other_world):
    payment = pay(world, world.ans, world.bert, 60)
    summary = world.db.read(
        corrections.transaction_summary,
        actor=world.coordinator.actor,
        community_id=world.community_id,
        transaction_id=payment.ledger_transaction_id,
    )
    assert (summary.kind, summary.reversed_by_id) == ("exchange", None)
    with pytest.raises(errors.NotFound):
        other_world.db.read(
            corrections.transaction_summary,
            actor=other_world.coordinator.actor,
            community_id=other_world.community_id,
            transaction_id=payment.ledger_transaction_id,
        )
    with pytest.raises(errors.NotAllowed):
        world.db.read(
            corrections.transaction_summary,
            actor=world.ans.actor,
            community_id=world.community_id,
            transaction_id=payment.ledger_transaction_id,
        )
