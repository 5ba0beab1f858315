"""Reading a listing with the first name of the member who posted it (what the API shows of them)."""

from __future__ import annotations

import pytest

from tests.world import START
from timebank import errors, listings


def post(world, person, *, title="Boodschappen"):
    return world.db.run(
        listings.post_listing,
        actor=person.actor,
        community_id=world.community_id,
        kind="request",
        title=title,
        category_id=world.categories["boodschappen"],
        estimated_minutes=60,
        now=START,
    )


def test_a_listing_is_viewed_with_only_the_first_name_of_who_posted_it(world):
    listing = post(world, world.ans)
    for person in (world.bert, world.coordinator, world.admin):
        view = world.db.read(listings.view_listing, actor=person.actor, listing_id=listing.id)
        assert (view.listing.id, view.owner_name) == (listing.id, "Ans")


def test_a_listing_of_another_community_is_not_there_to_view(world, other_world):
    listing = post(world, world.ans)
    with pytest.raises(errors.NotFound):
        other_world.db.read(listings.view_listing, actor=other_world.ans.actor, listing_id=listing.id)


def test_owner_first_names_are_given_by_membership_and_none_for_no_listings(world):
    mine, theirs = post(world, world.ans), post(world, world.bert)
    names = world.db.read(listings.owner_first_names, listings=[mine, theirs, mine])
    assert names == {world.ans.id: "Ans", world.bert.id: "Bert"}
    assert world.db.read(listings.owner_first_names, listings=[]) == {}
