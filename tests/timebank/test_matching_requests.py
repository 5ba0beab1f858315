"""Requests a member could help with: the mirror of suggesting helpers, on the same three Bs (willing, available,
able), for a member's home page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

# The same scene as for suggesting helpers: listings on a Friday evening, profiles, certificates of conduct.
from tests.timebank.test_matching import NOW, give_check, post, profile
from timebank import errors, exchanges, listings, matching, members

SATURDAY_MORNING = (datetime(2026, 3, 7, 8, 0, tzinfo=UTC), datetime(2026, 3, 7, 10, 0, tzinfo=UTC))  # 9-11 local


def suggest(world, person, **options):
    arguments = {"actor": person.actor, "community_id": world.community_id, "now": NOW} | options
    return world.db.read(matching.suggest_requests_for, **arguments)


def ids(suggestions) -> list[int]:
    return [suggestion.listing.id for suggestion in suggestions]


def codes(suggestion) -> list[str]:
    return [reason.code for reason in suggestion.reasons]


def test_willing_and_available_requests_come_first_then_willing_then_available_newest_first(world):
    profile(world, world.ans, interests=["boodschappen"], availability=["fri-evening"])
    post(world, world.ans, kind="offer", category="vervoer", window=None)
    both = post(world, world.bert)  # an errand (her interest) on Friday evening (when she is free)
    interest_only = post(world, world.cor, window=SATURDAY_MORNING)
    free_only = post(world, world.cor, category="klussen")
    any_time = post(world, world.bert, category="klussen", window=None)
    post(world, world.bert, category="klussen", window=SATURDAY_MORNING)  # neither willing nor available
    offer_only = post(world, world.cor, category="vervoer", window=SATURDAY_MORNING)
    suggestions = suggest(world, world.ans, limit=10)
    assert ids(suggestions) == [both.id, offer_only.id, interest_only.id, any_time.id, free_only.id]
    first, offered, interested, anytime, free = suggestions
    assert codes(first) == [matching.WILLING_INTEREST, matching.AVAILABLE_USUALLY, matching.ABLE]
    assert (first.willing, first.available, first.requester_first_name) == (True, True, "Bert")
    assert codes(offered) == [matching.WILLING_OFFER, matching.ABLE] and not offered.available
    assert codes(interested) == [matching.WILLING_INTEREST, matching.ABLE]
    assert codes(anytime) == [matching.AVAILABLE_ANY_TIME, matching.ABLE] and not anytime.willing
    assert codes(free) == [matching.AVAILABLE_USUALLY, matching.ABLE]
    assert ids(suggest(world, world.ans, limit=2)) == [both.id, offer_only.id]


def test_only_other_members_open_requests_that_fit_under_the_ceiling_are_suggested(world):
    own = post(world, world.ans, window=None)
    post(world, world.bert, kind="offer", window=None)
    closed = post(world, world.bert, window=None)
    world.db.run(listings.close_listing, actor=world.bert.actor, listing_id=closed.id)
    post(world, world.bert, window=None, expires_at=NOW + timedelta(days=1))  # over by the time it is asked
    small = post(world, world.cor, window=None, minutes=60)
    large = post(world, world.cor, window=None, minutes=61)
    assert own.id not in ids(suggest(world, world.ans))
    later = NOW + timedelta(days=2)
    assert ids(suggest(world, world.ans, now=later)) == [large.id, small.id]
    # Ans has 2 h; a ceiling of 3 h leaves room for 1 h.
    world.db.run(
        members.set_member_limits,
        actor=world.coordinator.actor,
        membership_id=world.ans.id,
        floor_minutes=-600,
        ceiling_minutes=180,
        reason="test",
    )
    assert ids(suggest(world, world.ans, now=later)) == [small.id]
    world.db.run(
        members.set_member_limits,
        actor=world.coordinator.actor,
        membership_id=world.ans.id,
        floor_minutes=-600,
        ceiling_minutes=120,
        reason="test",
    )
    assert suggest(world, world.ans, now=later) == []


def test_a_task_with_children_is_suggested_only_to_a_member_with_a_current_check(world):
    babysitting = post(world, world.bert, category="oppassen", window=None)
    assert suggest(world, world.ans) == []
    give_check(world, world.ans)
    [suggestion] = suggest(world, world.ans)
    assert suggestion.listing.id == babysitting.id and matching.ABLE_SAFEGUARDING in codes(suggestion)


def test_requests_the_member_already_helps_with_or_was_invited_to_are_left_out(world):
    helping = post(world, world.bert, window=None)
    invited = post(world, world.cor, window=None)
    other = post(world, world.coordinator, window=None)
    exchange = world.db.run(exchanges.respond_to_listing, actor=world.ans.actor, listing_id=helping.id, now=NOW)
    world.db.run(
        matching.invite_member, actor=world.cor.actor, listing_id=invited.id, membership_id=world.ans.id, now=NOW
    )
    assert ids(suggest(world, world.ans)) == [other.id]
    world.db.run(exchanges.cancel_exchange, actor=world.ans.actor, exchange_id=exchange.id, now=NOW)
    assert ids(suggest(world, world.ans)) == [other.id, helping.id]
    assert ids(suggest(world, world.bert)) == [other.id, invited.id]


def test_only_an_active_member_gets_suggestions_and_the_limit_is_bounded(world, other_world):
    with pytest.raises(errors.NotFound):
        suggest(other_world, world.ans)
    with pytest.raises(errors.NotFound):
        suggest(world, world.admin)
    for limit in (0, matching.MAX_SUGGESTIONS + 1, "5"):
        with pytest.raises(errors.InvalidInput):
            suggest(world, world.ans, limit=limit)
    world.db.run(
        members.suspend_member, actor=world.coordinator.actor, membership_id=world.ans.id, reason="test", now=NOW
    )
    with pytest.raises(errors.MembershipNotActive):
        suggest(world, world.ans)
