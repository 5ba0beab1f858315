"""Listings: posting offers and requests, editing, closing, reopening and expiring them, and finding them."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from ledger.database import create_engine
from tests.world import START, build_world
from timebank import audit, communities, errors, listings, members
from timebank.database import Database
from timebank.models import Listing

NOW = START  # Monday 2 March 2026, 10:00 in Amsterdam
FRIDAY_EVENING = (datetime(2026, 3, 6, 18, 0, tzinfo=UTC), datetime(2026, 3, 6, 21, 0, tzinfo=UTC))


@pytest.fixture
def lonely_world(fresh_database):
    """A community alone in a database of its own, for the tick, which expires listings of every community."""
    engine = create_engine(fresh_database)
    yield build_world(Database(engine))
    engine.dispose()


def post(world, person=None, **overrides) -> Listing:
    arguments = {
        "actor": (person or world.ans).actor,
        "community_id": world.community_id,
        "kind": "request",
        "title": "Boodschappen op vrijdag",
        "category_id": world.categories["boodschappen"],
        "estimated_minutes": 60,
        "now": NOW,
    } | overrides
    return world.db.run(listings.post_listing, **arguments)


def stored(world, listing_id) -> Listing:
    return world.db.read(lambda *, session: session.get(Listing, listing_id))


def listing_count(world) -> int:
    return world.db.read(
        lambda *, session: session.scalar(
            sa.select(sa.func.count()).select_from(Listing).where(Listing.community_id == world.community_id)
        )
    )


def audit_actions(world) -> list[str]:
    page = world.db.read(
        audit.audit_log, actor=world.coordinator.actor, community_id=world.community_id, action=None, limit=100
    )
    return [entry.action for entry in page.entries if entry.action.startswith("listing.")]


def search(world, person=None, **filters):
    arguments = {"actor": (person or world.bert).actor, "community_id": world.community_id, "now": NOW} | filters
    return world.db.read(listings.search_listings, **arguments)


def titles(page) -> list[str]:
    return [listing.title for listing in page.listings]


# --- posting --------------------------------------------------------------------------------------------------


def test_a_member_posts_a_request_for_a_window_and_it_expires_when_the_window_ends(world):
    listing = post(
        world,
        title="  Oppas gezocht vrijdagavond  ",
        description="Twee kinderen, 4 en 7.",
        category_id=world.categories["oppassen"],
        estimated_minutes=180,
        window_start=FRIDAY_EVENING[0],
        window_end=FRIDAY_EVENING[1],
    )
    saved = stored(world, listing.id)
    assert (saved.kind, saved.status, saved.title) == ("request", "open", "Oppas gezocht vrijdagavond")
    assert (saved.membership_id, saved.community_id) == (world.ans.id, world.community_id)
    assert (saved.window_start, saved.window_end) == FRIDAY_EVENING
    assert saved.expires_at == FRIDAY_EVENING[1]
    assert saved.created_at == NOW


def test_an_any_time_offer_expires_thirty_days_after_posting_and_is_placed_in_the_members_neighbourhood(world):
    listing = post(world, world.bert, kind="offer", title="Ik doe boodschappen", place="at_home")
    saved = stored(world, listing.id)
    assert (saved.window_start, saved.window_end) == (None, None)
    assert saved.expires_at == NOW + timedelta(days=30)
    assert (saved.place, saved.neighbourhood) == ("at_home", "Dapperbuurt")


def test_a_listing_may_name_its_own_neighbourhood_and_expiry(world):
    listing = post(world, place="online", neighbourhood="Transvaal", expires_at=NOW + timedelta(days=90))
    saved = stored(world, listing.id)
    assert (saved.place, saved.neighbourhood, saved.expires_at) == ("online", "Transvaal", NOW + timedelta(days=90))


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"kind": "wish"}, "kind"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 121}, "title"),
        ({"description": "x" * 2001}, "description"),
        ({"estimated_minutes": 0}, "estimated_minutes"),
        ({"estimated_minutes": 721}, "estimated_minutes"),
        ({"estimated_minutes": "60"}, "estimated_minutes"),
        ({"estimated_minutes": True}, "estimated_minutes"),
        ({"category_id": "not a slug!"}, "category_id"),
        ({"window_start": FRIDAY_EVENING[0]}, "window_end"),
        ({"window_end": FRIDAY_EVENING[1]}, "window_start"),
        ({"window_start": FRIDAY_EVENING[1], "window_end": FRIDAY_EVENING[0]}, "window_end"),
        ({"window_start": FRIDAY_EVENING[0], "window_end": FRIDAY_EVENING[0]}, "window_end"),
        ({"window_start": NOW + timedelta(days=1), "window_end": NOW + timedelta(days=15, minutes=1)}, "window_end"),
        ({"window_start": NOW - timedelta(hours=3), "window_end": NOW}, "window_end"),
        ({"window_start": NOW + timedelta(days=89), "window_end": NOW + timedelta(days=91)}, "window_end"),
        ({"window_start": datetime(2026, 3, 6, 18), "window_end": FRIDAY_EVENING[1]}, "window_start"),
        ({"place": "moon"}, "place"),
        ({"neighbourhood": "x" * 81}, "neighbourhood"),
        ({"expires_at": NOW}, "expires_at"),
        ({"expires_at": NOW + timedelta(days=90, seconds=1)}, "expires_at"),
        ({"expires_at": datetime(2026, 3, 20)}, "expires_at"),
        (
            {
                "window_start": FRIDAY_EVENING[0],
                "window_end": FRIDAY_EVENING[1],
                "expires_at": FRIDAY_EVENING[1] + timedelta(seconds=1),
            },
            "expires_at",
        ),
    ],
)
def test_a_listing_with_a_bad_value_is_refused_naming_the_field_and_nothing_is_posted(world, overrides, field):
    with pytest.raises(errors.InvalidInput) as refused:
        post(world, **overrides)
    assert refused.value.details["field"] == field
    assert listing_count(world) == 0


def test_a_window_of_exactly_fourteen_days_and_one_partly_past_are_accepted(world):
    post(world, window_start=NOW + timedelta(days=1), window_end=NOW + timedelta(days=15))
    post(world, window_start=NOW - timedelta(hours=1), window_end=NOW + timedelta(hours=1))
    assert listing_count(world) == 2


def test_a_retired_category_takes_no_new_listings(world, db):
    db.run(
        communities.update_category,
        actor=world.coordinator.actor,
        community_id=world.community_id,
        category_id=world.categories["vervoer"],
        active=False,
    )
    with pytest.raises(errors.InvalidInput) as refused:
        post(world, category_id=world.categories["vervoer"])
    assert refused.value.details["field"] == "category_id"
    assert listing_count(world) == 0


def test_a_category_of_another_community_does_not_exist_here(world, other_world):
    with pytest.raises(errors.NotFound):
        post(world, category_id=other_world.categories["boodschappen"])
    assert listing_count(world) == 0


def test_a_suspended_member_cannot_post(world, db):
    db.run(members.suspend_member, actor=world.coordinator.actor, membership_id=world.cor.id, reason="onderzoek")
    with pytest.raises(errors.MembershipNotActive):
        post(world, world.cor)
    assert listing_count(world) == 0


def test_a_member_of_another_community_cannot_post_here(world, other_world):
    with pytest.raises(errors.NotFound):
        post(world, other_world.ans)
    assert listing_count(world) == 0


# --- editing --------------------------------------------------------------------------------------------------


def test_the_owner_edits_a_listing_and_a_new_window_brings_its_own_expiry(world, db):
    listing = post(world)
    later = NOW + timedelta(hours=1)
    db.run(
        listings.edit_listing,
        actor=world.ans.actor,
        listing_id=listing.id,
        title="Boodschappen vrijdagavond",
        estimated_minutes=45,
        window_start=FRIDAY_EVENING[0],
        window_end=FRIDAY_EVENING[1],
        now=later,
    )
    saved = stored(world, listing.id)
    assert (saved.title, saved.estimated_minutes) == ("Boodschappen vrijdagavond", 45)
    assert (saved.window_start, saved.window_end, saved.expires_at) == (*FRIDAY_EVENING, FRIDAY_EVENING[1])
    assert (saved.created_at, saved.updated_at) == (NOW, later)


def test_an_edit_that_leaves_the_window_alone_keeps_the_expiry(world, db):
    listing = post(world, expires_at=NOW + timedelta(days=10))
    db.run(listings.edit_listing, actor=world.ans.actor, listing_id=listing.id, description="Melk en brood", now=NOW)
    saved = stored(world, listing.id)
    assert (saved.description, saved.expires_at) == ("Melk en brood", NOW + timedelta(days=10))


def test_an_edit_can_make_a_listing_any_time(world, db):
    listing = post(world, window_start=FRIDAY_EVENING[0], window_end=FRIDAY_EVENING[1])
    db.run(
        listings.edit_listing,
        actor=world.ans.actor,
        listing_id=listing.id,
        window_start=None,
        window_end=None,
        now=NOW,
    )
    saved = stored(world, listing.id)
    assert (saved.window_start, saved.window_end, saved.expires_at) == (None, None, NOW + timedelta(days=30))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": "offer"}, "kind"),
        ({"membership_id": 1}, "membership_id"),
        ({}, "changes"),
        ({"title": ""}, "title"),
        ({"estimated_minutes": 900}, "estimated_minutes"),
        ({"window_end": FRIDAY_EVENING[1]}, "window_start"),
        ({"expires_at": NOW - timedelta(minutes=1)}, "expires_at"),
    ],
)
def test_a_bad_edit_is_refused_and_changes_nothing(world, db, changes, field):
    listing = post(world)
    with pytest.raises(errors.InvalidInput) as refused:
        db.run(listings.edit_listing, actor=world.ans.actor, listing_id=listing.id, now=NOW, **changes)
    assert refused.value.details["field"] == field
    saved = stored(world, listing.id)
    assert (saved.title, saved.estimated_minutes, saved.kind) == (listing.title, 60, "request")


@pytest.mark.parametrize("who", ["bert", "coordinator"])
def test_only_the_owner_may_edit_a_listing(world, db, who):
    listing = post(world)
    with pytest.raises(errors.NotAllowed):
        db.run(listings.edit_listing, actor=getattr(world, who).actor, listing_id=listing.id, title="Mijn titel")
    assert stored(world, listing.id).title == listing.title


def test_a_member_of_another_community_cannot_find_a_listing_to_edit(world, other_world, db):
    listing = post(world)
    with pytest.raises(errors.NotFound):
        db.run(listings.edit_listing, actor=other_world.ans.actor, listing_id=listing.id, title="Overgenomen")


def test_a_closed_listing_cannot_be_edited(world, db):
    listing = post(world)
    db.run(listings.close_listing, actor=world.ans.actor, listing_id=listing.id, now=NOW)
    with pytest.raises(errors.Conflict):
        db.run(listings.edit_listing, actor=world.ans.actor, listing_id=listing.id, title="Nieuw", now=NOW)


# --- closing and reopening ------------------------------------------------------------------------------------


def test_the_owner_closes_a_listing_without_an_audit_entry(world, db):
    listing = post(world)
    closed = db.run(listings.close_listing, actor=world.ans.actor, listing_id=listing.id, now=NOW)
    assert closed.status == stored(world, listing.id).status == "closed"
    assert audit_actions(world) == []


def test_a_coordinator_closes_someones_listing_with_a_reason_in_the_audit_log(world, db):
    listing = post(world)
    db.run(listings.close_listing, actor=world.coordinator.actor, listing_id=listing.id, reason="dubbel geplaatst")
    assert stored(world, listing.id).status == "closed"
    page = db.read(audit.audit_log, actor=world.coordinator.actor, community_id=world.community_id, limit=5)
    entry = page.entries[0]
    assert (entry.action, entry.subject_type, entry.subject_id, entry.reason) == (
        "listing.closed",
        "listing",
        listing.id,
        "dubbel geplaatst",
    )
    assert entry.actor_user_id == world.coordinator.user.id


def test_a_coordinator_must_say_why_they_close_someones_listing(world, db):
    listing = post(world)
    with pytest.raises(errors.InvalidInput) as refused:
        db.run(listings.close_listing, actor=world.coordinator.actor, listing_id=listing.id)
    assert refused.value.details["field"] == "reason"
    assert stored(world, listing.id).status == "open"


def test_another_member_cannot_close_a_listing(world, db):
    listing = post(world)
    with pytest.raises(errors.NotAllowed):
        db.run(listings.close_listing, actor=world.bert.actor, listing_id=listing.id, reason="weg ermee")
    assert stored(world, listing.id).status == "open"


def test_a_member_of_another_community_cannot_close_a_listing(world, other_world, db):
    listing = post(world)
    with pytest.raises(errors.NotFound):
        db.run(listings.close_listing, actor=other_world.coordinator.actor, listing_id=listing.id, reason="x")
    assert stored(world, listing.id).status == "open"


def test_a_closed_listing_cannot_be_closed_again(world, db):
    listing = post(world)
    db.run(listings.close_listing, actor=world.ans.actor, listing_id=listing.id, now=NOW)
    with pytest.raises(errors.Conflict):
        db.run(listings.close_listing, actor=world.ans.actor, listing_id=listing.id, now=NOW)


def test_the_owner_reopens_a_closed_listing_which_keeps_its_expiry(world, db):
    listing = post(world)
    db.run(listings.close_listing, actor=world.ans.actor, listing_id=listing.id, now=NOW)
    db.run(listings.reopen_listing, actor=world.ans.actor, listing_id=listing.id, now=NOW + timedelta(days=1))
    saved = stored(world, listing.id)
    assert (saved.status, saved.expires_at) == ("open", NOW + timedelta(days=30))
    assert audit_actions(world) == []


def test_reopening_an_expired_listing_needs_a_new_expiry_in_the_future(world, db):
    listing = post(world, expires_at=NOW + timedelta(days=2))
    later = NOW + timedelta(days=3)
    db.run(listings.expire_listings, now=later)
    with pytest.raises(errors.InvalidInput) as refused:
        db.run(listings.reopen_listing, actor=world.ans.actor, listing_id=listing.id, now=later)
    assert refused.value.details["field"] == "expires_at"
    with pytest.raises(errors.InvalidInput):
        db.run(listings.reopen_listing, actor=world.ans.actor, listing_id=listing.id, expires_at=later, now=later)
    assert stored(world, listing.id).status == "expired"
    db.run(
        listings.reopen_listing,
        actor=world.ans.actor,
        listing_id=listing.id,
        expires_at=later + timedelta(days=7),
        now=later,
    )
    saved = stored(world, listing.id)
    assert (saved.status, saved.expires_at) == ("open", later + timedelta(days=7))


def test_a_closed_listing_whose_expiry_has_passed_needs_a_new_one_to_reopen(world, db):
    listing = post(world, expires_at=NOW + timedelta(days=2))
    db.run(listings.close_listing, actor=world.ans.actor, listing_id=listing.id, now=NOW)
    with pytest.raises(errors.InvalidInput):
        db.run(listings.reopen_listing, actor=world.ans.actor, listing_id=listing.id, now=NOW + timedelta(days=3))
    assert stored(world, listing.id).status == "closed"


def test_a_coordinator_reopens_a_listing_with_a_reason_in_the_audit_log(world, db):
    listing = post(world)
    db.run(listings.close_listing, actor=world.ans.actor, listing_id=listing.id, now=NOW)
    with pytest.raises(errors.InvalidInput):
        db.run(listings.reopen_listing, actor=world.coordinator.actor, listing_id=listing.id, now=NOW)
    db.run(
        listings.reopen_listing,
        actor=world.coordinator.actor,
        listing_id=listing.id,
        reason="per ongeluk gesloten",
        now=NOW,
    )
    assert stored(world, listing.id).status == "open"
    assert audit_actions(world) == ["listing.reopened"]


def test_an_open_listing_cannot_be_reopened(world, db):
    listing = post(world)
    with pytest.raises(errors.Conflict):
        db.run(listings.reopen_listing, actor=world.ans.actor, listing_id=listing.id, now=NOW)


def test_a_listing_whose_window_is_over_cannot_be_reopened(world, db):
    listing = post(world, window_start=FRIDAY_EVENING[0], window_end=FRIDAY_EVENING[1])
    db.run(listings.close_listing, actor=world.ans.actor, listing_id=listing.id, now=NOW)
    with pytest.raises(errors.Conflict):
        db.run(
            listings.reopen_listing,
            actor=world.ans.actor,
            listing_id=listing.id,
            expires_at=FRIDAY_EVENING[1] + timedelta(days=2),
            now=FRIDAY_EVENING[1] + timedelta(days=1),
        )
    assert stored(world, listing.id).status == "closed"


@pytest.mark.parametrize(("who", "error"), [("bert", errors.NotAllowed), ("other", errors.NotFound)])
def test_only_the_owner_or_a_coordinator_reopens_a_listing(world, other_world, db, who, error):
    listing = post(world)
    db.run(listings.close_listing, actor=world.ans.actor, listing_id=listing.id, now=NOW)
    actor = world.bert.actor if who == "bert" else other_world.coordinator.actor
    with pytest.raises(error):
        db.run(listings.reopen_listing, actor=actor, listing_id=listing.id, reason="waarom niet", now=NOW)
    assert stored(world, listing.id).status == "closed"


# --- expiring -------------------------------------------------------------------------------------------------


def test_expiring_marks_open_listings_past_their_expiry_and_counts_them(lonely_world):
    world, db = lonely_world, lonely_world.db
    due = post(world, expires_at=NOW + timedelta(days=1))
    windowed = post(world, window_start=FRIDAY_EVENING[0], window_end=FRIDAY_EVENING[1])
    closed = post(world, expires_at=NOW + timedelta(days=1))
    db.run(listings.close_listing, actor=world.ans.actor, listing_id=closed.id, now=NOW)
    later_one = post(world, expires_at=NOW + timedelta(days=20))
    assert db.run(listings.expire_listings, now=NOW + timedelta(hours=23)) == 0
    assert db.run(listings.expire_listings, now=FRIDAY_EVENING[1]) == 2
    statuses = [stored(world, item.id).status for item in (due, windowed, closed, later_one)]
    assert statuses == ["expired", "expired", "closed", "open"]
    assert stored(world, due.id).updated_at == FRIDAY_EVENING[1]
    assert db.run(listings.expire_listings, now=FRIDAY_EVENING[1]) == 0


def test_expiring_takes_at_most_a_batch_and_leaves_the_rest_for_the_next_tick(lonely_world):
    world, db = lonely_world, lonely_world.db
    for _ in range(3):
        post(world, expires_at=NOW + timedelta(days=1))
    later = NOW + timedelta(days=2)
    assert db.run(listings.expire_listings, now=later, limit=2) == 2
    assert db.run(listings.expire_listings, now=later, limit=2) == 1


# --- reading --------------------------------------------------------------------------------------------------


def test_members_and_administrators_see_a_listing_and_others_are_told_it_does_not_exist(world, other_world, db):
    listing = post(world)
    assert db.read(listings.get_listing, actor=world.bert.actor, listing_id=listing.id).title == listing.title
    assert db.read(listings.get_listing, actor=world.admin.actor, listing_id=listing.id).id == listing.id
    with pytest.raises(errors.NotFound):
        db.read(listings.get_listing, actor=other_world.ans.actor, listing_id=listing.id)
    with pytest.raises(errors.NotFound):
        db.read(listings.get_listing, actor=world.ans.actor, listing_id=listing.id + 10_000)


def test_search_shows_open_listings_newest_first_with_first_names(world):
    post(world, title="Eerste", now=NOW)
    post(world, world.bert, title="Tweede", kind="offer", now=NOW + timedelta(minutes=1))
    closed = post(world, title="Gesloten", now=NOW + timedelta(minutes=2))
    world.db.run(listings.close_listing, actor=world.ans.actor, listing_id=closed.id, now=NOW)
    page = search(world, now=NOW + timedelta(minutes=5))
    assert titles(page) == ["Tweede", "Eerste"]
    assert page.owner_names == {world.ans.id: "Ans", world.bert.id: "Bert"}
    assert page.next_cursor is None
    assert titles(search(world, status="closed")) == ["Gesloten"]


def test_search_leaves_out_open_listings_past_their_expiry_before_the_tick_runs(world):
    post(world, title="Bijna weg", expires_at=NOW + timedelta(days=1))
    post(world, title="Blijft")
    assert titles(search(world, now=NOW + timedelta(days=2))) == ["Blijft"]


def test_search_filters_by_kind_category_and_neighbourhood(world):
    post(world, title="Vraag boodschappen", now=NOW)
    post(world, world.bert, kind="offer", title="Aanbod klussen", category_id=world.categories["klussen"])
    post(world, kind="offer", title="Aanbod boodschappen", neighbourhood="Transvaal", now=NOW + timedelta(seconds=1))
    assert titles(search(world, kind="offer")) == ["Aanbod boodschappen", "Aanbod klussen"]
    assert titles(search(world, category="klussen")) == ["Aanbod klussen"]
    assert titles(search(world, category=world.categories["boodschappen"])) == [
        "Aanbod boodschappen",
        "Vraag boodschappen",
    ]
    assert titles(search(world, neighbourhood="dapperbuurt")) == ["Aanbod klussen"]
    assert titles(search(world, kind="request", neighbourhood="OOSTERPARK")) == ["Vraag boodschappen"]


def test_search_finds_text_in_title_or_description_ignoring_case_and_taking_wildcards_literally(world):
    post(world, title="Fiets repareren", now=NOW)
    post(world, title="Hulp gezocht", description="Mijn FIETS heeft een lekke band", now=NOW + timedelta(seconds=1))
    post(world, title="100% zeker", description="snake_case", now=NOW + timedelta(seconds=2))
    assert titles(search(world, text="fiets")) == ["Hulp gezocht", "Fiets repareren"]
    assert titles(search(world, text="%")) == ["100% zeker"]
    assert titles(search(world, text="e_c")) == ["100% zeker"]
    assert titles(search(world, text="a_e")) == []
    assert titles(search(world, text="  ")) == ["100% zeker", "Hulp gezocht", "Fiets repareren"]


def test_search_by_time_window_finds_overlapping_and_any_time_listings(world):
    saturday = (datetime(2026, 3, 7, 9, 0, tzinfo=UTC), datetime(2026, 3, 7, 12, 0, tzinfo=UTC))
    post(world, title="Vrijdagavond", window_start=FRIDAY_EVENING[0], window_end=FRIDAY_EVENING[1])
    post(world, title="Zaterdag", window_start=saturday[0], window_end=saturday[1], now=NOW + timedelta(seconds=1))
    post(world, title="Wanneer je wilt", now=NOW + timedelta(seconds=2))
    friday = (datetime(2026, 3, 6, 0, 0, tzinfo=UTC), datetime(2026, 3, 7, 0, 0, tzinfo=UTC))
    assert titles(search(world, window_start=friday[0], window_end=friday[1])) == ["Wanneer je wilt", "Vrijdagavond"]
    # A window that only touches the end of another does not overlap it.
    touching = search(world, window_start=FRIDAY_EVENING[1], window_end=saturday[0])
    assert titles(touching) == ["Wanneer je wilt"]


def test_search_pages_through_everything_once_even_when_listings_share_a_moment(world):
    for number in range(5):
        post(world, title=f"Listing {number}", now=NOW + timedelta(minutes=number // 2))
    seen, cursor = [], None
    for _ in range(10):
        page = search(world, limit=2, cursor=cursor, now=NOW + timedelta(hours=1))
        seen += titles(page)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == ["Listing 4", "Listing 3", "Listing 2", "Listing 1", "Listing 0"]


def test_a_listing_posted_while_paging_neither_shifts_nor_repeats_the_next_page(world):
    for number in range(4):
        post(world, title=f"Listing {number}", now=NOW + timedelta(minutes=number))
    first = search(world, limit=2, now=NOW + timedelta(hours=1))
    post(world, title="Nieuw", now=NOW + timedelta(minutes=30))
    second = search(world, limit=2, cursor=first.next_cursor, now=NOW + timedelta(hours=1))
    assert titles(first) == ["Listing 3", "Listing 2"]
    assert titles(second) == ["Listing 1", "Listing 0"]
    assert second.next_cursor is None


def cursor_of(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not a cursor",
        "%%%%",
        cursor_of("yesterday|5"),
        cursor_of("2026-03-02T09:00:00|5"),
        cursor_of("2026-03-02T09:00:00+00:00|-5"),
        cursor_of("2026-03-02T09:00:00+00:00|five"),
        cursor_of("2026-03-02T09:00:00+00:00|5|6"),
        "A" * 201,
        12,
    ],
)
def test_a_malformed_cursor_is_refused(world, cursor):
    with pytest.raises(errors.InvalidInput) as refused:
        search(world, cursor=cursor)
    assert refused.value.details["field"] == "cursor"


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"kind": "wish"}, "kind"),
        ({"status": "deleted"}, "status"),
        ({"text": "x" * 101}, "text"),
        ({"neighbourhood": "x" * 81}, "neighbourhood"),
        ({"category": 1.5}, "category"),
        ({"window_start": FRIDAY_EVENING[0]}, "window_end"),
        ({"window_start": FRIDAY_EVENING[1], "window_end": FRIDAY_EVENING[0]}, "window_end"),
        ({"window_start": NOW, "window_end": NOW + timedelta(days=93)}, "window_end"),
        ({"window_start": datetime(2026, 3, 6), "window_end": FRIDAY_EVENING[1]}, "window_start"),
    ],
)
def test_a_search_with_a_bad_filter_is_refused_naming_it(world, filters, field):
    with pytest.raises(errors.InvalidInput) as refused:
        search(world, **filters)
    assert refused.value.details["field"] == field


def test_search_stays_inside_the_community(world, other_world):
    post(world, title="Hier")
    post(other_world, title="Daar")
    assert titles(search(world)) == ["Hier"]
    assert titles(search(world, world.admin)) == ["Hier"]
    with pytest.raises(errors.NotFound):
        search(world, other_world.ans)
    with pytest.raises(errors.NotFound):
        search(world, category=other_world.categories["boodschappen"])
    with pytest.raises(errors.NotFound):
        search(world, category="bestaat-niet")
