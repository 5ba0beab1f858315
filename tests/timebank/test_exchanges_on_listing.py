"""The exchanges started on a listing: all of them for the member who posted it and for coordinators, their own
for the members who responded, none for anyone else."""

from __future__ import annotations

import pytest

from tests.world import START
from timebank import errors, exchanges, listings

NOW = START


@pytest.fixture
def request_with_two_responses(world):
    listing = world.db.run(
        listings.post_listing,
        actor=world.bert.actor,
        community_id=world.community_id,
        kind="request",
        title="Carry a cupboard",
        category_id=world.categories["klussen"],
        estimated_minutes=60,
        now=NOW,
    )
    first = world.db.run(exchanges.respond_to_listing, actor=world.ans.actor, listing_id=listing.id, now=NOW)
    second = world.db.run(exchanges.respond_to_listing, actor=world.cor.actor, listing_id=listing.id, now=NOW)
    return listing, first, second


def on_listing(world, person, listing_id, **options) -> list[int]:
    arguments = {"actor": person.actor, "listing_id": listing_id} | options
    return [exchange.id for exchange in world.db.read(exchanges.exchanges_on_listing, **arguments)]


def test_the_owner_and_coordinators_see_every_exchange_on_a_listing_newest_first(world, request_with_two_responses):
    listing, first, second = request_with_two_responses
    assert on_listing(world, world.bert, listing.id) == [second.id, first.id]
    assert on_listing(world, world.coordinator, listing.id) == [second.id, first.id]
    assert on_listing(world, world.admin, listing.id) == [second.id, first.id]
    assert on_listing(world, world.bert, listing.id, limit=1) == [second.id]


def test_a_responder_sees_only_their_own_exchange_and_another_member_none(world, request_with_two_responses):
    listing, first, second = request_with_two_responses
    assert on_listing(world, world.ans, listing.id) == [first.id]
    assert on_listing(world, world.cor, listing.id) == [second.id]
    assert on_listing(world, world.officer, listing.id) == []


def test_a_listing_of_another_community_does_not_exist_and_arguments_are_bounded(
    world, other_world, request_with_two_responses
):
    listing, _, _ = request_with_two_responses
    with pytest.raises(errors.NotFound):
        on_listing(other_world, other_world.ans, listing.id)
    with pytest.raises(errors.NotFound):
        on_listing(world, world.ans, 2**31 - 1)
    for limit in (0, exchanges.MAX_PAGE_SIZE + 1):
        with pytest.raises(errors.InvalidInput):
            on_listing(world, world.bert, listing.id, limit=limit)
    with pytest.raises(errors.InvalidInput):
        on_listing(world, world.bert, "1")
