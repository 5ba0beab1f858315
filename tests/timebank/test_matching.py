"""Matching: suggesting helpers for a request on the three Bs (willing, available, able), and personal invitations."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from tests.world import START
from timebank import audit, communities, errors, listings, matching, members
from timebank.bookkeeping import post_transfer
from timebank.models import Invitation, OutboxMessage, SafeguardingCheck

NOW = START  # Monday 2 March 2026, 10:00 in Amsterdam (UTC+1 until 29 March)
FRIDAY_EVENING = (datetime(2026, 3, 6, 18, 0, tzinfo=UTC), datetime(2026, 3, 6, 21, 0, tzinfo=UTC))  # 19-22 local
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def local(*parts) -> datetime:
    return datetime(*parts, tzinfo=AMSTERDAM)


def post(world, person, *, kind="request", category="boodschappen", window=FRIDAY_EVENING, minutes=60, **extra):
    window = window or (None, None)
    return world.db.run(
        listings.post_listing,
        actor=person.actor,
        community_id=world.community_id,
        kind=kind,
        title=f"{kind} {category}",
        category_id=world.categories[category],
        estimated_minutes=minutes,
        window_start=window[0],
        window_end=window[1],
        now=NOW,
        **extra,
    )


def profile(world, person, *, interests=(), availability=()):
    world.db.run(
        members.update_profile,
        actor=person.actor,
        membership_id=person.id,
        interests=list(interests),
        availability=list(availability),
    )


def give_check(world, person, *, seen_on=date(2026, 1, 10), review_on=date(2029, 1, 10)):
    """A safeguarding check as the officer would record it (only the facts, never the document)."""

    def record(*, session):
        session.add(
            SafeguardingCheck(
                community_id=world.community_id,
                membership_id=person.id,
                scheme="vog",
                seen_on=seen_on,
                seen_by_membership_id=world.officer.id,
                review_on=review_on,
                recorded_at=START,
            )
        )
        session.commit()

    world.db.run(record)


def suggest(world, listing, person=None, **options):
    arguments = {"actor": (person or world.ans).actor, "listing_id": listing.id, "now": NOW} | options
    return world.db.read(matching.suggest_helpers, **arguments)


def ids(suggestions) -> list[int]:
    return [suggestion.membership_id for suggestion in suggestions]


def codes(suggestion) -> list[str]:
    return [reason.code for reason in suggestion.reasons]


def invite(world, listing, invitee, person=None, **options):
    arguments = {"actor": (person or world.ans).actor, "listing_id": listing.id, "membership_id": invitee.id}
    return world.db.run(matching.invite_member, **(arguments | {"now": NOW} | options))


def invitation_count(world) -> int:
    return world.db.read(
        lambda *, session: session.scalar(
            sa.select(sa.func.count()).select_from(Invitation).where(Invitation.community_id == world.community_id)
        )
    )


def open_invitations(world, person, **options):
    arguments = {"actor": person.actor, "community_id": world.community_id, "now": NOW} | options
    return world.db.read(matching.list_invitations_for, **arguments)


def invitation_actions(world) -> list[tuple]:
    page = world.db.read(audit.audit_log, actor=world.coordinator.actor, community_id=world.community_id, limit=100)
    return [(entry.action, entry.subject_id, entry.details) for entry in page.entries if entry.action.startswith("inv")]


# --- which slots a window needs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "slots"),
    [
        (local(2026, 3, 6, 19), local(2026, 3, 6, 22), {"fri-evening"}),
        (local(2026, 3, 2, 11), local(2026, 3, 2, 13), {"mon-morning", "mon-afternoon"}),
        (local(2026, 3, 2, 6), local(2026, 3, 2, 12), {"mon-morning"}),
        (local(2026, 3, 2, 8), local(2026, 3, 2, 23, 59), {"mon-morning", "mon-afternoon", "mon-evening"}),
        (local(2026, 3, 7, 22), local(2026, 3, 8, 1), None),
        (local(2026, 3, 2, 5, 30), local(2026, 3, 2, 7), None),
        (local(2026, 3, 28, 18), local(2026, 3, 28, 23), {"sat-evening"}),
    ],
)
def test_a_window_needs_the_slots_it_touches_in_the_communitys_time_zone(start, end, slots):
    expected = None if slots is None else frozenset(slots)
    assert matching.required_slots(start.astimezone(UTC), end.astimezone(UTC), AMSTERDAM) == expected


# --- suggestions ----------------------------------------------------------------------------------------------


def test_willing_and_available_helpers_come_first_then_willing_then_available_each_with_reasons(world):
    request = post(world, world.ans)
    profile(world, world.ans, interests=["boodschappen"], availability=["fri-evening"])
    profile(world, world.bert, interests=["boodschappen"], availability=["fri-evening"])
    post(world, world.cor, kind="offer", window=None)
    profile(world, world.officer, availability=["fri-evening", "sat-morning"])
    profile(world, world.coordinator, interests=["klussen"], availability=["fri-morning"])
    suggestions = suggest(world, request)
    assert ids(suggestions) == [world.bert.id, world.cor.id, world.officer.id]
    bert, cor, officer = suggestions
    assert codes(bert) == [matching.WILLING_INTEREST, matching.AVAILABLE_USUALLY, matching.ABLE]
    assert codes(cor) == [matching.WILLING_OFFER, matching.ABLE]
    assert codes(officer) == [matching.AVAILABLE_USUALLY, matching.ABLE]
    assert [(item.willing, item.available) for item in suggestions] == [(True, True), (True, False), (False, True)]
    assert (bert.first_name, bert.neighbourhood) == ("Bert", "Dapperbuurt")
    assert all(reason.text for suggestion in suggestions for reason in suggestion.reasons)


def test_equally_good_helpers_are_listed_by_membership_id(world):
    request = post(world, world.ans)
    for person in (world.cor, world.bert, world.officer):
        profile(world, person, interests=["boodschappen"])
    assert ids(suggest(world, request)) == sorted([world.cor.id, world.bert.id, world.officer.id])


def test_only_an_open_offer_in_the_same_category_makes_a_member_willing(world, db):
    request = post(world, world.ans)
    post(world, world.bert, kind="offer", category="klussen", window=None)
    closed = post(world, world.cor, kind="offer", window=None)
    db.run(listings.close_listing, actor=world.cor.actor, listing_id=closed.id, now=NOW)
    assert suggest(world, request) == []


def test_availability_is_read_in_the_communitys_time_zone(world, db):
    # 17:30-18:30 in Amsterdam is 16:30-17:30 UTC: in Amsterdam it needs the afternoon and the evening.
    request = post(world, world.ans, window=(local(2026, 3, 6, 17, 30), local(2026, 3, 6, 18, 30)))
    profile(world, world.bert, availability=["fri-afternoon"])
    profile(world, world.cor, availability=["fri-afternoon", "fri-evening"])
    assert ids(suggest(world, request)) == [world.cor.id]
    db.run(
        communities.update_settings,
        actor=world.coordinator.actor,
        community_id=world.community_id,
        time_zone="America/New_York",
    )
    # In New York the same hour is Friday 11:30-12:30: morning and afternoon, which neither has.
    assert suggest(world, request) == []


def test_a_window_reaching_into_the_night_is_covered_by_nobodys_usual_availability(world):
    request = post(world, world.ans, window=(local(2026, 3, 6, 22), local(2026, 3, 7, 0, 30)))
    everything = [f"{day}-{part}" for day in matching.WEEKDAYS for part in ("morning", "afternoon", "evening")]
    profile(world, world.bert, availability=everything)
    profile(world, world.cor, interests=["boodschappen"], availability=everything)
    suggestions = suggest(world, request)
    assert ids(suggestions) == [world.cor.id]
    assert codes(suggestions[0]) == [matching.WILLING_INTEREST, matching.ABLE]


def test_for_an_any_time_request_everyone_able_is_available_and_the_limit_is_kept(world):
    request = post(world, world.ans, window=None)
    profile(world, world.cor, interests=["boodschappen"])
    suggestions = suggest(world, request)
    others = sorted([world.coordinator.id, world.officer.id, world.bert.id])
    assert ids(suggestions) == [world.cor.id, *others]
    assert codes(suggestions[0]) == [matching.WILLING_INTEREST, matching.AVAILABLE_ANY_TIME, matching.ABLE]
    assert codes(suggestions[1]) == [matching.AVAILABLE_ANY_TIME, matching.ABLE]
    assert ids(suggest(world, request, limit=2)) == [world.cor.id, others[0]]


@pytest.mark.parametrize("limit", [0, 51, "5", None])
def test_the_number_of_suggestions_is_bounded(world, limit):
    request = post(world, world.ans)
    with pytest.raises(errors.InvalidInput) as refused:
        suggest(world, request, limit=limit)
    assert refused.value.details["field"] == "limit"


def test_a_member_without_room_under_their_ceiling_counting_pending_credits_is_never_suggested(world, db):
    request = post(world, world.ans, minutes=90)
    profile(world, world.bert, interests=["boodschappen"], availability=["fri-evening"])
    db.run(
        members.set_member_limits,
        actor=world.coordinator.actor,
        membership_id=world.bert.id,
        floor_minutes=-600,
        ceiling_minutes=300,
        reason="test",
    )
    assert ids(suggest(world, request)) == [world.bert.id]  # 300 - 120 = 180 minutes of room

    def hold_a_claim(*, session):
        post_transfer(
            session,
            community=world.community,
            debit_account_id=world.cor.account_id,
            credit_account_id=world.bert.account_id,
            minutes=120,
            kind="claim",
            actor=world.cor.actor,
            pending=True,
            now=NOW,
        )
        session.commit()

    db.run(hold_a_claim)
    assert suggest(world, request) == []  # 300 - 120 - 120 pending = 60 minutes, less than 90


def test_a_suspended_member_is_never_suggested(world, db):
    request = post(world, world.ans)
    profile(world, world.bert, interests=["boodschappen"], availability=["fri-evening"])
    db.run(members.suspend_member, actor=world.coordinator.actor, membership_id=world.bert.id, reason="onderzoek")
    assert suggest(world, request) == []


def test_for_a_childrens_task_only_members_with_a_current_check_on_the_day_are_suggested(world):
    request = post(world, world.ans, category="oppassen")
    for person in (world.bert, world.cor, world.officer, world.coordinator):
        profile(world, person, interests=["oppassen"], availability=["fri-evening"])
    give_check(world, world.cor)
    give_check(world, world.officer, seen_on=date(2023, 3, 1), review_on=date(2026, 3, 5))  # lapses the day before
    give_check(world, world.coordinator, seen_on=date(2026, 3, 9))  # seen only after the task
    suggestions = suggest(world, request)
    assert ids(suggestions) == [world.cor.id]
    assert codes(suggestions[0])[-1] == matching.ABLE_SAFEGUARDING


def test_the_day_of_a_childrens_task_is_the_day_in_the_communitys_time_zone(world):
    # 23:30 UTC on Friday is already Saturday in Amsterdam; a check reviewed on Friday has lapsed by then.
    window = (datetime(2026, 3, 6, 23, 30, tzinfo=UTC), datetime(2026, 3, 7, 0, 30, tzinfo=UTC))
    request = post(world, world.ans, category="oppassen", window=window)
    profile(world, world.bert, interests=["oppassen"])
    profile(world, world.cor, interests=["oppassen"])
    give_check(world, world.bert, review_on=date(2026, 3, 6))
    give_check(world, world.cor, review_on=date(2026, 3, 7))
    assert ids(suggest(world, request)) == [world.cor.id]


def test_for_an_any_time_childrens_task_the_check_must_be_current_today(world):
    request = post(world, world.ans, category="huiswerk", window=None)
    give_check(world, world.bert, review_on=date(2026, 3, 1))  # lapsed yesterday
    give_check(world, world.cor)
    assert ids(suggest(world, request)) == [world.cor.id]
    with pytest.raises(errors.SafeguardingCheckRequired):
        invite(world, request, world.bert)


def test_a_coordinator_and_an_administrator_may_ask_for_suggestions_and_another_member_may_not(world, other_world):
    request = post(world, world.ans)
    profile(world, world.bert, interests=["boodschappen"])
    assert ids(suggest(world, request, world.coordinator)) == [world.bert.id]
    assert ids(suggest(world, request, world.admin)) == [world.bert.id]
    with pytest.raises(errors.NotAllowed):
        suggest(world, request, world.cor)
    with pytest.raises(errors.NotFound):
        suggest(world, request, other_world.coordinator)


def test_suggestions_are_for_open_requests_only(world, db):
    offer = post(world, world.ans, kind="offer")
    with pytest.raises(errors.Conflict):
        suggest(world, offer)
    closed = post(world, world.ans)
    db.run(listings.close_listing, actor=world.ans.actor, listing_id=closed.id, now=NOW)
    with pytest.raises(errors.Conflict):
        suggest(world, closed)
    request = post(world, world.ans)
    with pytest.raises(errors.Conflict):
        suggest(world, request, now=FRIDAY_EVENING[1])  # past its expiry, before the tick marked it


# --- invitations ----------------------------------------------------------------------------------------------


def test_the_requester_invites_a_member_who_then_sees_the_invitation(world):
    request = post(world, world.ans)
    invitation = invite(world, request, world.bert, message="Zou jij kunnen?")
    assert (invitation.status, invitation.listing_id, invitation.membership_id) == ("open", request.id, world.bert.id)
    assert (invitation.invited_by_membership_id, invitation.message) == (world.ans.id, "Zou jij kunnen?")
    page = open_invitations(world, world.bert)
    assert [item.invitation.id for item in page.invitations] == [invitation.id]
    assert (page.invitations[0].listing.id, page.invitations[0].invited_by_name) == (request.id, "Ans")
    assert open_invitations(world, world.cor).invitations == []
    assert invitation_actions(world) == []
    queued = world.db.read(
        lambda *, session: session.execute(
            sa.select(OutboxMessage.kind, OutboxMessage.body).where(OutboxMessage.user_id == world.bert.user.id)
        ).all()
    )
    invitations = [body for kind, body in queued if kind == "invitation"]
    assert len(invitations) == 1 and "Ans" in invitations[0]


def test_an_invitation_by_a_coordinator_is_recorded_in_the_audit_log(world):
    request = post(world, world.ans)
    invitation = invite(world, request, world.bert, world.coordinator)
    assert invitation.invited_by_membership_id == world.coordinator.id
    assert invitation_actions(world) == [
        (
            "invitation.created",
            invitation.id,
            {"actor": world.coordinator.actor.label, "listing_id": request.id, "membership_id": world.bert.id},
        )
    ]


def test_another_member_cannot_invite_anyone_to_a_request(world):
    request = post(world, world.ans)
    with pytest.raises(errors.NotAllowed):
        invite(world, request, world.bert, world.cor)
    assert invitation_count(world) == 0


def test_a_stranger_cannot_find_the_request_to_invite_to(world, other_world):
    request = post(world, world.ans)
    with pytest.raises(errors.NotFound):
        invite(world, request, world.bert, other_world.coordinator)
    assert invitation_count(world) == 0


def test_an_administrator_without_a_membership_cannot_sign_an_invitation(world):
    request = post(world, world.ans)
    with pytest.raises(errors.NotAllowed):
        invite(world, request, world.bert, world.admin)
    assert invitation_count(world) == 0


def test_a_member_of_another_community_cannot_be_invited(world, other_world):
    request = post(world, world.ans)
    with pytest.raises(errors.NotFound):
        invite(world, request, other_world.bert)
    assert invitation_count(world) == 0


def test_a_suspended_member_cannot_be_invited(world, db):
    request = post(world, world.ans)
    db.run(members.suspend_member, actor=world.coordinator.actor, membership_id=world.bert.id, reason="onderzoek")
    with pytest.raises(errors.MembershipNotActive):
        invite(world, request, world.bert)
    assert invitation_count(world) == 0


def test_the_requester_cannot_be_invited_to_their_own_request(world):
    request = post(world, world.ans)
    with pytest.raises(errors.InvalidInput) as refused:
        invite(world, request, world.ans, world.coordinator)
    assert refused.value.details["field"] == "membership_id"
    assert invitation_count(world) == 0


def test_a_member_is_invited_to_a_request_only_once(world):
    request = post(world, world.ans)
    invite(world, request, world.bert)
    with pytest.raises(errors.Conflict):
        invite(world, request, world.bert, world.coordinator)
    assert invitation_count(world) == 1


def test_invitations_are_for_open_requests_only(world, db):
    offer = post(world, world.ans, kind="offer")
    with pytest.raises(errors.Conflict):
        invite(world, offer, world.bert)
    closed = post(world, world.ans)
    db.run(listings.close_listing, actor=world.ans.actor, listing_id=closed.id, now=NOW)
    with pytest.raises(errors.Conflict):
        invite(world, closed, world.bert)
    assert invitation_count(world) == 0


def test_a_helper_without_a_current_check_cannot_be_invited_to_a_childrens_task(world):
    request = post(world, world.ans, category="oppassen")
    with pytest.raises(errors.SafeguardingCheckRequired):
        invite(world, request, world.bert)
    give_check(world, world.bert, review_on=date(2026, 3, 5))
    with pytest.raises(errors.SafeguardingCheckRequired):
        invite(world, request, world.bert)
    assert invitation_count(world) == 0
    give_check(world, world.bert)
    assert invite(world, request, world.bert).membership_id == world.bert.id


def test_an_invitation_message_is_bounded(world):
    request = post(world, world.ans)
    with pytest.raises(errors.InvalidInput) as refused:
        invite(world, request, world.bert, message="x" * 501)
    assert refused.value.details["field"] == "message"
    assert invitation_count(world) == 0


def test_a_member_sees_only_open_invitations_to_open_requests_newest_first_a_page_at_a_time(world, db):
    requests = [post(world, world.ans) for _ in range(4)]
    invitations = [invite(world, request, world.bert) for request in requests]
    db.run(listings.close_listing, actor=world.ans.actor, listing_id=requests[0].id, now=NOW)

    def decline(*, session):
        session.get(Invitation, invitations[1].id).status = "declined"
        session.commit()

    db.run(decline)
    first = open_invitations(world, world.bert, limit=1)
    second = open_invitations(world, world.bert, limit=1, before=first.next_cursor)
    assert [item.invitation.id for item in first.invitations + second.invitations] == [
        invitations[3].id,
        invitations[2].id,
    ]
    assert second.next_cursor is None
    assert open_invitations(world, world.bert, now=FRIDAY_EVENING[1]).invitations == []  # requests past expiry


def test_a_coordinator_sees_an_offline_members_invitations_and_another_member_may_not(world, other_world, db):
    offline = db.run(
        members.add_offline_member, actor=world.coordinator.actor, community_id=world.community_id, display_name="Dora"
    )
    request = post(world, world.ans)
    invitation = db.run(
        matching.invite_member,
        actor=world.coordinator.actor,
        listing_id=request.id,
        membership_id=offline.id,
        now=NOW,
    )
    page = open_invitations(world, world.coordinator, membership_id=offline.id)
    assert [item.invitation.id for item in page.invitations] == [invitation.id]
    with pytest.raises(errors.NotAllowed):
        open_invitations(world, world.bert, membership_id=offline.id)
    with pytest.raises(errors.NotFound):
        open_invitations(world, world.coordinator, membership_id=other_world.bert.id)
    with pytest.raises(errors.NotFound):
        open_invitations(world, other_world.coordinator, membership_id=offline.id)


@pytest.mark.parametrize(
    ("options", "field"), [({"limit": 0}, "limit"), ({"limit": 101}, "limit"), ({"before": 0}, "before")]
)
def test_listing_invitations_is_bounded(world, options, field):
    with pytest.raises(errors.InvalidInput) as refused:
        open_invitations(world, world.bert, **options)
    assert refused.value.details["field"] == field
