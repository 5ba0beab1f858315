"""Exchanges from first contact to agreement, the children's rules, thanks and reading; and the whole life cycle
from a response to confirmed credits."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

import ledger
from tests.world import START
from timebank import errors, exchanges, members, payments
from timebank.bookkeeping import account_figures
from timebank.models import ExchangeStatus, Invitation, Listing, OutboxMessage, SafeguardingCheck

# --- helpers shared with test_payments.py -----------------------------------------------------------------------


def insert(db, row):
    """Commit a model row as it is (listings and invitations belong to another module's use cases)."""

    def work(*, session):
        session.add(row)
        session.commit()
        return row

    return db.run(work)


def post_listing(db, world, owner, *, kind="request", category="boodschappen", status="open", expires_at=None):
    return insert(
        db,
        Listing(
            community_id=world.community_id,
            membership_id=owner.id,
            kind=kind,
            title=f"{kind} for {category}",
            category_id=world.categories[category],
            estimated_minutes=60,
            status=status,
            expires_at=expires_at,
            created_at=START,
            updated_at=START,
        ),
    )


def invite(db, world, listing, invitee, *, invited_by):
    return insert(
        db,
        Invitation(
            community_id=world.community_id,
            listing_id=listing.id,
            membership_id=invitee.id,
            invited_by_membership_id=invited_by.id,
            created_at=START,
        ),
    )


def give_check(db, world, person, *, seen_on=date(2026, 1, 5), review_on=date(2027, 1, 5)):
    """A certificate of conduct seen by the world's safeguarding officer."""
    return insert(
        db,
        SafeguardingCheck(
            community_id=world.community_id,
            membership_id=person.id,
            scheme="vog",
            seen_on=seen_on,
            seen_by_membership_id=world.officer.id,
            review_on=review_on,
            recorded_at=START,
        ),
    )


def figures(db, person_or_account):
    account_id = getattr(person_or_account, "account_id", person_or_account)
    return db.read(lambda *, session: account_figures(session, account_id))


def ledger_verifies(db, world) -> bool:
    report = db.read(lambda *, session: ledger.verify(session, ledger_id=world.community.ledger_id))
    return report.ok


def read_exchange(db, world, exchange_id, *, actor=None):
    actor = actor or world.coordinator.actor
    return db.read(exchanges.get_exchange, actor=actor, exchange_id=exchange_id).exchange


def event_kinds(db, world, exchange_id):
    details = db.read(exchanges.get_exchange, actor=world.coordinator.actor, exchange_id=exchange_id)
    return [event.kind for event in details.events]


def messages_to(db, person):
    """The kinds of the messages about exchanges queued for a person, oldest first (not the welcome message)."""
    query = (
        sa.select(OutboxMessage.kind)
        .where(OutboxMessage.user_id == person.user.id, OutboxMessage.kind != "application_approved")
        .order_by(OutboxMessage.id)
    )
    return db.read(lambda *, session: list(session.scalars(query)))


def respond(db, listing, person, *, now=START):
    return db.run(exchanges.respond_to_listing, actor=person.actor, listing_id=listing.id, now=now)


def agreed_exchange(db, world, *, helper, helped, category="boodschappen"):
    """A request by ``helped``, answered by ``helper`` and agreed (children's tasks: check and acceptance too)."""
    listing = post_listing(db, world, helped, category=category)
    exchange = respond(db, listing, helper)
    if category in ("oppassen", "huiswerk"):
        db.run(exchanges.accept_helper, actor=helped.actor, exchange_id=exchange.id, now=START)
    return db.run(exchanges.agree_exchange, actor=helped.actor, exchange_id=exchange.id, now=START)


def recorded_exchange(db, world, *, helper, helped, minutes=90, recorder=None, category="boodschappen", now=START):
    exchange = agreed_exchange(db, world, helper=helper, helped=helped, category=category)
    return db.run(
        payments.record_minutes, actor=(recorder or helper).actor, exchange_id=exchange.id, minutes=minutes, now=now
    )


# --- the whole life cycle -------------------------------------------------------------------------------------


def test_the_full_life_cycle_moves_the_minutes_from_the_helped_member_to_the_helper(db, world):
    listing = post_listing(db, world, world.ans)
    exchange = respond(db, listing, world.bert)
    assert exchange.status == ExchangeStatus.PROPOSED
    assert (exchange.helper_membership_id, exchange.helped_membership_id) == (world.bert.id, world.ans.id)

    exchange = db.run(exchanges.agree_exchange, actor=world.ans.actor, exchange_id=exchange.id, now=START)
    assert exchange.status == ExchangeStatus.AGREED

    recorded_at = START + timedelta(days=1)
    exchange = db.run(
        payments.record_minutes, actor=world.bert.actor, exchange_id=exchange.id, minutes=150, now=recorded_at
    )
    assert exchange.status == ExchangeStatus.RECORDED
    assert exchange.auto_confirm_at == recorded_at + timedelta(days=7)
    ans, bert = figures(db, world.ans), figures(db, world.bert)
    assert (ans.balance_minutes, ans.pending_debit_minutes, ans.available_minutes) == (120, 150, -30)
    assert (bert.balance_minutes, bert.pending_credit_minutes) == (120, 150)

    exchange = db.run(
        payments.confirm_exchange, actor=world.ans.actor, exchange_id=exchange.id, now=recorded_at + timedelta(hours=2)
    )
    assert exchange.status == ExchangeStatus.CONFIRMED
    assert exchange.confirmed_at == recorded_at + timedelta(hours=2) and exchange.auto_confirm_at is None
    ans, bert = figures(db, world.ans), figures(db, world.bert)
    assert (ans.balance_minutes, ans.pending_debit_minutes) == (-30, 0)
    assert (bert.balance_minutes, bert.pending_credit_minutes) == (270, 0)
    assert ledger_verifies(db, world)
    assert event_kinds(db, world, exchange.id) == ["responded", "agreed", "recorded", "confirmed"]
    assert messages_to(db, world.ans) == ["listing_response", "claim_waiting"]
    assert messages_to(db, world.bert) == ["claim_confirmed"]

    db.run(exchanges.thank_helper, actor=world.ans.actor, exchange_id=exchange.id, text="Dank je wel, Bert!")
    details = db.read(exchanges.get_exchange, actor=world.bert.actor, exchange_id=exchange.id)
    assert details.thank_you.text == "Dank je wel, Bert!"
    assert details.events[-1].kind == "thanked"


# --- responding ------------------------------------------------------------------------------------------------


def test_responding_to_an_offer_makes_the_responder_the_one_who_is_helped(db, world):
    offer = post_listing(db, world, world.bert, kind="offer", category="klussen")
    exchange = respond(db, offer, world.ans)
    assert (exchange.helper_membership_id, exchange.helped_membership_id) == (world.bert.id, world.ans.id)
    assert exchange.helped_agreed and not exchange.helper_agreed
    assert exchange.category_id == world.categories["klussen"] and exchange.listing_id == offer.id
    agreed = db.run(exchanges.agree_exchange, actor=world.bert.actor, exchange_id=exchange.id)
    assert agreed.status == ExchangeStatus.AGREED


def test_a_member_cannot_respond_to_their_own_listing(db, world):
    listing = post_listing(db, world, world.ans)
    with pytest.raises(errors.NotAllowed):
        respond(db, listing, world.ans)


def test_a_member_has_one_exchange_in_progress_per_listing_and_may_respond_again_after_cancelling(db, world):
    listing = post_listing(db, world, world.ans)
    first = respond(db, listing, world.bert)
    with pytest.raises(errors.Conflict) as refused:
        respond(db, listing, world.bert)
    assert refused.value.details["exchange_id"] == first.id
    assert respond(db, listing, world.cor).helper_membership_id == world.cor.id  # others still may
    db.run(exchanges.cancel_exchange, actor=world.bert.actor, exchange_id=first.id, reason="ziek")
    assert respond(db, listing, world.bert).id != first.id


@pytest.mark.parametrize(
    ("status", "expires_in"), [("closed", None), ("expired", None), ("open", timedelta(0)), ("open", -timedelta(1))]
)
def test_a_closed_or_expired_listing_takes_no_responses(db, world, status, expires_in):
    expires_at = None if expires_in is None else START + expires_in
    listing = post_listing(db, world, world.ans, status=status, expires_at=expires_at)
    with pytest.raises(errors.Conflict):
        respond(db, listing, world.bert)


def test_a_member_of_another_community_is_told_the_listing_does_not_exist(db, world, other_world):
    listing = post_listing(db, world, world.ans)
    with pytest.raises(errors.NotFound):
        respond(db, listing, other_world.bert)
    with pytest.raises(errors.NotFound):
        db.run(exchanges.respond_to_listing, actor=world.bert.actor, listing_id=10**9)


def test_a_suspended_member_cannot_respond_nor_be_responded_to(db, world):
    listing = post_listing(db, world, world.ans)
    db.run(members.suspend_member, actor=world.coordinator.actor, membership_id=world.bert.id, reason="onderzoek")
    with pytest.raises(errors.MembershipNotActive):
        respond(db, listing, world.bert)
    bert_listing = post_listing(db, world, world.bert)
    with pytest.raises(errors.MembershipNotActive):
        respond(db, bert_listing, world.cor)


@pytest.mark.parametrize("bad", [{"listing_id": "1"}, {"listing_id": True}, {"message": "x" * 501}])
def test_bad_input_to_a_response_is_refused_naming_the_field(db, world, bad):
    listing = post_listing(db, world, world.ans)
    arguments = {"listing_id": listing.id, "message": ""} | bad
    with pytest.raises(errors.InvalidInput) as refused:
        db.run(exchanges.respond_to_listing, actor=world.bert.actor, **arguments)
    assert refused.value.details["field"] == next(iter(bad))


# --- invitations ---------------------------------------------------------------------------------------------


def test_accepting_the_requesters_invitation_makes_an_agreed_exchange_with_the_invitee_as_helper(db, world):
    listing = post_listing(db, world, world.ans)
    invitation = invite(db, world, listing, world.cor, invited_by=world.ans)
    exchange = db.run(exchanges.accept_invitation, actor=world.cor.actor, invitation_id=invitation.id, now=START)
    assert (exchange.helper_membership_id, exchange.helped_membership_id) == (world.cor.id, world.ans.id)
    assert exchange.status == ExchangeStatus.AGREED
    answered = db.read(lambda *, session: session.get(Invitation, invitation.id))
    assert (answered.status, answered.answered_at) == ("accepted", START)
    assert event_kinds(db, world, exchange.id) == ["invitation_accepted"]


def test_an_invitation_from_a_coordinator_still_needs_the_requesters_agreement(db, world):
    listing = post_listing(db, world, world.ans)
    invitation = invite(db, world, listing, world.cor, invited_by=world.coordinator)
    exchange = db.run(exchanges.accept_invitation, actor=world.cor.actor, invitation_id=invitation.id)
    assert exchange.status == ExchangeStatus.PROPOSED
    assert db.run(exchanges.agree_exchange, actor=world.ans.actor, exchange_id=exchange.id).status == "agreed"


def test_only_the_invited_member_answers_an_invitation_and_only_once(db, world, other_world):
    listing = post_listing(db, world, world.ans)
    invitation = invite(db, world, listing, world.cor, invited_by=world.ans)
    for person in (world.ans, world.coordinator):
        with pytest.raises(errors.NotAllowed):
            db.run(exchanges.accept_invitation, actor=person.actor, invitation_id=invitation.id)
    for person in (world.bert, other_world.cor):
        with pytest.raises(errors.NotFound):
            db.run(exchanges.decline_invitation, actor=person.actor, invitation_id=invitation.id)
    declined = db.run(exchanges.decline_invitation, actor=world.cor.actor, invitation_id=invitation.id, now=START)
    assert declined.status == "declined"
    with pytest.raises(errors.Conflict):
        db.run(exchanges.accept_invitation, actor=world.cor.actor, invitation_id=invitation.id)


def test_an_invitation_to_a_closed_request_cannot_be_accepted(db, world):
    listing = post_listing(db, world, world.ans, status="closed")
    invitation = invite(db, world, listing, world.cor, invited_by=world.ans)
    with pytest.raises(errors.Conflict):
        db.run(exchanges.accept_invitation, actor=world.cor.actor, invitation_id=invitation.id)
    assert db.read(lambda *, session: session.get(Invitation, invitation.id)).status == "open"


# --- agreeing and cancelling ----------------------------------------------------------------------------------


def test_agreeing_twice_changes_nothing_and_only_the_two_members_agree(db, world, other_world):
    exchange = respond(db, post_listing(db, world, world.ans), world.bert)
    db.run(exchanges.agree_exchange, actor=world.bert.actor, exchange_id=exchange.id)  # agreed by responding
    assert read_exchange(db, world, exchange.id).status == ExchangeStatus.PROPOSED
    with pytest.raises(errors.NotAllowed):
        db.run(exchanges.agree_exchange, actor=world.coordinator.actor, exchange_id=exchange.id)
    for outsider in (world.cor, other_world.coordinator):
        with pytest.raises(errors.NotFound):
            db.run(exchanges.agree_exchange, actor=outsider.actor, exchange_id=exchange.id)
    db.run(exchanges.agree_exchange, actor=world.ans.actor, exchange_id=exchange.id)
    db.run(exchanges.agree_exchange, actor=world.ans.actor, exchange_id=exchange.id)
    assert event_kinds(db, world, exchange.id) == ["responded", "agreed"]


def test_a_suspended_member_cannot_agree_nor_be_agreed_with(db, world):
    exchange = respond(db, post_listing(db, world, world.ans), world.bert)
    db.run(members.suspend_member, actor=world.coordinator.actor, membership_id=world.bert.id, reason="onderzoek")
    with pytest.raises(errors.MembershipNotActive):
        db.run(exchanges.agree_exchange, actor=world.ans.actor, exchange_id=exchange.id)
    db.run(members.reinstate_member, actor=world.coordinator.actor, membership_id=world.bert.id, reason="klaar")
    db.run(members.suspend_member, actor=world.coordinator.actor, membership_id=world.ans.id, reason="onderzoek")
    with pytest.raises(errors.MembershipNotActive):
        db.run(exchanges.agree_exchange, actor=world.ans.actor, exchange_id=exchange.id)
    assert read_exchange(db, world, exchange.id).status == ExchangeStatus.PROPOSED


def test_either_side_may_cancel_before_minutes_are_recorded_but_not_after(db, world):
    proposed = respond(db, post_listing(db, world, world.ans), world.bert)
    cancelled = db.run(exchanges.cancel_exchange, actor=world.ans.actor, exchange_id=proposed.id, reason="opgelost")
    assert cancelled.status == ExchangeStatus.CANCELLED
    with pytest.raises(errors.Conflict):
        db.run(exchanges.agree_exchange, actor=world.bert.actor, exchange_id=proposed.id)
    agreed = agreed_exchange(db, world, helper=world.bert, helped=world.ans)
    assert db.run(exchanges.cancel_exchange, actor=world.bert.actor, exchange_id=agreed.id).status == "cancelled"
    recorded = recorded_exchange(db, world, helper=world.bert, helped=world.ans)
    with pytest.raises(errors.Conflict):
        db.run(exchanges.cancel_exchange, actor=world.ans.actor, exchange_id=recorded.id)
    with pytest.raises(errors.NotAllowed):
        db.run(exchanges.cancel_exchange, actor=world.coordinator.actor, exchange_id=recorded.id)
    assert read_exchange(db, world, recorded.id).status == ExchangeStatus.RECORDED
    assert figures(db, world.ans).pending_debit_minutes == 90


# --- children -------------------------------------------------------------------------------------------------


def test_a_helper_without_a_current_check_cannot_take_a_childrens_task(db, world):
    listing = post_listing(db, world, world.ans, category="oppassen")
    exchange = respond(db, listing, world.bert)
    db.run(exchanges.accept_helper, actor=world.ans.actor, exchange_id=exchange.id)
    with pytest.raises(errors.SafeguardingCheckRequired):
        db.run(exchanges.agree_exchange, actor=world.ans.actor, exchange_id=exchange.id, now=START)
    give_check(db, world, world.bert, seen_on=date(2024, 1, 5), review_on=date(2026, 3, 1))  # lapsed the day before
    with pytest.raises(errors.SafeguardingCheckRequired):
        db.run(exchanges.agree_exchange, actor=world.ans.actor, exchange_id=exchange.id, now=START)
    assert read_exchange(db, world, exchange.id).status == ExchangeStatus.PROPOSED
    give_check(db, world, world.bert)
    agreed = db.run(exchanges.agree_exchange, actor=world.ans.actor, exchange_id=exchange.id, now=START)
    assert agreed.status == ExchangeStatus.AGREED


def test_the_parent_must_accept_the_helper_before_a_childrens_task_is_agreed(db, world):
    give_check(db, world, world.bert)
    offer = post_listing(db, world, world.bert, kind="offer", category="huiswerk")
    exchange = respond(db, offer, world.ans)  # Ans, the parent, is helped
    with pytest.raises(errors.ParentAcceptanceRequired):
        db.run(exchanges.agree_exchange, actor=world.bert.actor, exchange_id=exchange.id, now=START)
    with pytest.raises(errors.NotAllowed):
        db.run(exchanges.accept_helper, actor=world.bert.actor, exchange_id=exchange.id)
    accepted = db.run(exchanges.accept_helper, actor=world.ans.actor, exchange_id=exchange.id, now=START)
    assert accepted.parent_accepted_helper and accepted.status == ExchangeStatus.PROPOSED
    agreed = db.run(exchanges.agree_exchange, actor=world.bert.actor, exchange_id=exchange.id, now=START)
    assert agreed.status == ExchangeStatus.AGREED
    assert event_kinds(db, world, exchange.id) == ["responded", "helper_accepted", "agreed"]


def test_an_invited_helper_for_children_waits_for_the_parents_acceptance(db, world):
    give_check(db, world, world.cor)
    listing = post_listing(db, world, world.ans, category="oppassen")
    invitation = invite(db, world, listing, world.cor, invited_by=world.ans)
    exchange = db.run(exchanges.accept_invitation, actor=world.cor.actor, invitation_id=invitation.id, now=START)
    assert exchange.status == ExchangeStatus.PROPOSED
    accepted = db.run(exchanges.accept_helper, actor=world.ans.actor, exchange_id=exchange.id, now=START)
    assert accepted.status == ExchangeStatus.AGREED


def test_accepting_a_helper_is_only_for_childrens_tasks_before_agreement(db, world):
    exchange = respond(db, post_listing(db, world, world.ans), world.bert)
    with pytest.raises(errors.Conflict):
        db.run(exchanges.accept_helper, actor=world.ans.actor, exchange_id=exchange.id)


def test_a_check_that_lapses_after_agreement_stops_the_minutes_being_recorded(db, world):
    give_check(db, world, world.bert, review_on=date(2026, 3, 10))
    exchange = agreed_exchange(db, world, helper=world.bert, helped=world.ans, category="oppassen")
    with pytest.raises(errors.SafeguardingCheckRequired):
        db.run(
            payments.record_minutes,
            actor=world.bert.actor,
            exchange_id=exchange.id,
            minutes=60,
            now=START + timedelta(days=10),
        )
    assert read_exchange(db, world, exchange.id).status == ExchangeStatus.AGREED
    assert figures(db, world.ans).pending_debit_minutes == 0
    recorded = db.run(payments.record_minutes, actor=world.bert.actor, exchange_id=exchange.id, minutes=60, now=START)
    assert recorded.status == ExchangeStatus.RECORDED


# --- thanks ---------------------------------------------------------------------------------------------------


def confirmed_exchange(db, world, *, helper, helped, minutes=60):
    exchange = recorded_exchange(db, world, helper=helper, helped=helped, minutes=minutes)
    return db.run(payments.confirm_exchange, actor=helped.actor, exchange_id=exchange.id)


def test_the_helped_member_thanks_the_helper_once_after_confirmation(db, world):
    recorded = recorded_exchange(db, world, helper=world.bert, helped=world.ans)
    with pytest.raises(errors.Conflict):
        db.run(exchanges.thank_helper, actor=world.ans.actor, exchange_id=recorded.id, text="Dank!")
    db.run(payments.confirm_exchange, actor=world.ans.actor, exchange_id=recorded.id)
    with pytest.raises(errors.NotAllowed):
        db.run(exchanges.thank_helper, actor=world.bert.actor, exchange_id=recorded.id, text="Graag gedaan")
    for text in ("", "   ", "x" * 1001):
        with pytest.raises(errors.InvalidInput):
            db.run(exchanges.thank_helper, actor=world.ans.actor, exchange_id=recorded.id, text=text)
    note = db.run(exchanges.thank_helper, actor=world.ans.actor, exchange_id=recorded.id, text="  Top!  ", now=START)
    assert (note.text, note.to_membership_id, note.from_membership_id) == ("Top!", world.bert.id, world.ans.id)
    with pytest.raises(errors.Conflict):
        db.run(exchanges.thank_helper, actor=world.ans.actor, exchange_id=recorded.id, text="Nog eens!")


def test_thank_you_notes_show_on_a_helpers_profile_only_if_the_helper_allows(db, world, other_world):
    for helped in (world.ans, world.cor):
        exchange = confirmed_exchange(db, world, helper=world.bert, helped=helped)
        db.run(exchanges.thank_helper, actor=helped.actor, exchange_id=exchange.id, text=f"Dank van {helped.id}")
    hidden = db.read(exchanges.thank_you_notes_for, actor=world.ans.actor, membership_id=world.bert.id)
    assert hidden.notes == [] and not hidden.shown
    own = db.read(exchanges.thank_you_notes_for, actor=world.bert.actor, membership_id=world.bert.id, limit=1)
    assert [note.text for note in own.notes] == [f"Dank van {world.cor.id}"]
    assert own.notes[0].from_first_name == "Cor"
    rest = db.read(
        exchanges.thank_you_notes_for, actor=world.bert.actor, membership_id=world.bert.id, before=own.next_cursor
    )
    assert [note.text for note in rest.notes] == [f"Dank van {world.ans.id}"] and rest.next_cursor is None
    db.run(
        members.update_profile,
        actor=world.bert.actor,
        membership_id=world.bert.id,
        visibility={"thank_you_notes": True},
    )
    shown = db.read(exchanges.thank_you_notes_for, actor=world.ans.actor, membership_id=world.bert.id)
    assert len(shown.notes) == 2 and shown.shown
    with pytest.raises(errors.NotFound):
        db.read(exchanges.thank_you_notes_for, actor=other_world.ans.actor, membership_id=world.bert.id)


# --- reading --------------------------------------------------------------------------------------------------


def test_an_exchange_is_seen_by_its_two_members_and_coordinators_and_by_nobody_else(db, world, other_world):
    exchange = respond(db, post_listing(db, world, world.ans), world.bert)
    for person in (world.ans, world.bert, world.coordinator, world.admin):
        assert read_exchange(db, world, exchange.id, actor=person.actor).id == exchange.id
    for person in (world.cor, world.officer, other_world.coordinator):
        with pytest.raises(errors.NotFound):
            read_exchange(db, world, exchange.id, actor=person.actor)
    with pytest.raises(errors.NotFound):
        read_exchange(db, world, 10**9, actor=world.ans.actor)


def test_a_members_exchanges_are_listed_by_what_waits_for_them_newest_first(db, world):
    finished = confirmed_exchange(db, world, helper=world.bert, helped=world.ans)
    waiting = recorded_exchange(db, world, helper=world.bert, helped=world.ans)  # Bert recorded: Ans confirms
    own_record = recorded_exchange(db, world, helper=world.bert, helped=world.ans, recorder=world.ans)
    proposed = respond(db, post_listing(db, world, world.ans), world.bert)

    def listed(which, person=world.ans, **options):
        page = db.read(
            exchanges.list_exchanges, actor=person.actor, community_id=world.community_id, which=which, **options
        )
        return [exchange.id for exchange in page.exchanges]

    assert listed("all") == [proposed.id, own_record.id, waiting.id, finished.id]
    assert listed("in_progress") == [proposed.id, own_record.id, waiting.id]
    assert listed("waiting_for_me") == [waiting.id]
    assert listed("waiting_for_me", person=world.bert) == [own_record.id]
    assert listed("finished") == [finished.id]
    assert listed("all", person=world.cor) == []
    first = db.read(exchanges.list_exchanges, actor=world.ans.actor, community_id=world.community_id, limit=3)
    assert [exchange.id for exchange in first.exchanges] == [proposed.id, own_record.id, waiting.id]
    assert listed("all", before=first.next_cursor) == [finished.id]


def test_only_a_coordinator_lists_another_members_exchanges(db, world, other_world):
    exchange = respond(db, post_listing(db, world, world.ans), world.bert)
    page = db.read(
        exchanges.list_exchanges,
        actor=world.coordinator.actor,
        community_id=world.community_id,
        membership_id=world.ans.id,
    )
    assert [item.id for item in page.exchanges] == [exchange.id]
    with pytest.raises(errors.NotAllowed):
        db.read(
            exchanges.list_exchanges, actor=world.cor.actor, community_id=world.community_id, membership_id=world.ans.id
        )
    with pytest.raises(errors.NotFound):
        db.read(exchanges.list_exchanges, actor=other_world.ans.actor, community_id=world.community_id)
    with pytest.raises(errors.NotFound):
        db.read(
            exchanges.list_exchanges,
            actor=other_world.coordinator.actor,
            community_id=other_world.community_id,
            membership_id=world.ans.id,
        )
    for bad in ({"limit": 0}, {"limit": 101}, {"which": "mine"}):
        with pytest.raises(errors.InvalidInput):
            db.read(exchanges.list_exchanges, actor=world.ans.actor, community_id=world.community_id, **bad)


def test_the_first_names_of_an_exchanges_members_and_of_who_acted_in_it_and_nothing_more(db, world):
    exchange = respond(db, post_listing(db, world, world.ans), world.bert)
    details = db.read(exchanges.get_exchange, actor=world.ans.actor, exchange_id=exchange.id)
    names = db.read(exchanges.party_first_names, exchanges=[details.exchange], events=details.events)
    assert names == {world.ans.id: "Ans", world.bert.id: "Bert"}
    assert db.read(exchanges.party_first_names, exchanges=[]) == {}
