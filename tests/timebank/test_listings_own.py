"""A member's own listings, for their home page: open ones by default, or those closed or expired."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.world import START
from timebank import errors, listings

NOW = START


def post(world, person, title: str, **extra):
    return world.db.run(
        listings.post_listing,
        actor=person.actor,
        community_id=world.community_id,
        kind="request",
        title=title,
        category_id=world.categories["klussen"],
        estimated_minutes=60,
        now=extra.pop("now", NOW),
        **extra,
    )


def own(world, person, **options):
    arguments = {"actor": person.actor, "community_id": world.community_id, "now": NOW} | options
    return [listing.title for listing in world.db.read(listings.own_listings, **arguments)]


def test_a_member_sees_their_own_open_listings_newest_first_and_nobody_elses(world):
    post(world, world.ans, "first", now=NOW - timedelta(hours=2))
    post(world, world.ans, "second", now=NOW - timedelta(hours=1))
    post(world, world.bert, "not hers")
    closed = post(world, world.ans, "closed")
    world.db.run(listings.close_listing, actor=world.ans.actor, listing_id=closed.id, now=NOW)
    post(world, world.ans, "past its expiry", now=NOW - timedelta(days=40), expires_at=NOW - timedelta(days=1))
    assert own(world, world.ans) == ["second", "first"]
    assert own(world, world.ans, limit=1) == ["second"]
    assert own(world, world.ans, status="closed") == ["closed"]
    assert own(world, world.ans, status="expired") == ["past its expiry"]  # the tick has not marked it yet
    world.db.run(listings.expire_listings, now=NOW)
    assert own(world, world.ans, status="expired") == ["past its expiry"]
    assert own(world, world.bert) == ["not hers"]


def test_own_listings_are_for_active_members_with_bounded_arguments(world, other_world):
    with pytest.raises(errors.NotFound):
        own(other_world, world.ans)
    with pytest.raises(errors.NotFound):
        own(world, world.admin)
    with pytest.raises(errors.InvalidInput):
        own(world, world.ans, status="deleted")
    for limit in (0, listings.MAX_PAGE_SIZE + 1):
        with pytest.raises(errors.InvalidInput):
            own(world, world.ans, limit=limit)
