"""A member's pages: home (balance between floor and ceiling, what waits for me, my listings, suggestions), browsing
and searching listings, a listing's page (respond, invite, answer an invitation, close, reopen), posting and editing.

The people whose pages are read here use English, so that the texts checked do not change when the Dutch catalog
does; one test checks the page language's category names."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import url_for

from tests.web.conftest import csrf_token, sign_in, submit, text
from tests.world import add_user
from timebank import communities, exchanges, listings, matching, members, payments
from timebank.bookkeeping import AccountFigures
from timebank.models import Exchange, Invitation, Listing, SafeguardingCheck
from timebank.web import member
from timebank.web.pages import REFUSALS
from timebank.web.refusals import refusal_text

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


# --- helpers --------------------------------------------------------------------------------------------------


def english(world, *people) -> None:
    for person in people:
        world.db.run(members.update_user_settings, actor=person.actor, preferred_language="en")


def enter(client, world, person) -> None:
    """``person`` logs in, reading English."""
    english(world, person)
    sign_in(client, person.user.email)


def post(world, person, *, kind="request", title="Walk my dog", category="klussen", minutes=90, **extra) -> Listing:
    return world.db.run(
        listings.post_listing,
        actor=person.actor,
        community_id=world.community_id,
        kind=kind,
        title=title,
        category_id=world.categories[category],
        estimated_minutes=minutes,
        **extra,
    )


def listing_now(world, listing_id: int) -> Listing:
    return world.db.read(lambda *, session: session.get(Listing, listing_id))


def exchanges_of(world, listing_id: int) -> list[Exchange]:
    query = sa.select(Exchange).where(Exchange.listing_id == listing_id).order_by(Exchange.id)
    return world.db.read(lambda *, session: list(session.execute(query).scalars()))


def invitations_of(world, listing_id: int) -> list[Invitation]:
    query = sa.select(Invitation).where(Invitation.listing_id == listing_id).order_by(Invitation.id)
    return world.db.read(lambda *, session: list(session.execute(query).scalars()))


def give_check(world, person) -> None:
    """A current safeguarding check, as the officer records it."""

    def record(*, session):
        today = datetime.now(UTC).date()
        session.add(
            SafeguardingCheck(
                community_id=world.community_id,
                membership_id=person.id,
                scheme="vog",
                seen_on=today - timedelta(days=30),
                seen_by_membership_id=world.officer.id,
                review_on=today + timedelta(days=700),
                recorded_at=datetime.now(UTC),
            )
        )
        session.commit()

    world.db.run(record)


def home_url(world) -> str:
    return f"/c/{world.community.slug}/"


def listings_url(world) -> str:
    return f"/c/{world.community.slug}/listings"


def listing_url(world, listing_id: int, action: str = "") -> str:
    return f"/c/{world.community.slug}/listings/{listing_id}" + (f"/{action}" if action else "")


def section(page: str, heading_id: str) -> str:
    """The part of ``page`` in the section labelled by ``heading_id`` ("" when there is none)."""
    start = page.find(f'aria-labelledby="{heading_id}"')
    return "" if start < 0 else page[start : page.index("</section>", start)]


def field_error(page: str, field_id: str) -> str:
    found = re.search(rf'<p class="field-error" id="{re.escape(field_id)}-error">([^<]*)</p>', page)
    return html.unescape(found.group(1)) if found else ""


def problems(page: str) -> list[str]:
    return [html.unescape(found) for found in re.findall(r'<p class="problem" role="alert">([^<]*)</p>', page)]


def refusal(web_app, world, use_case, **arguments) -> str:
    """What a page says (in English) for the refusal ``use_case`` gives with ``arguments``: the page must show
    the use case's own refusal, in the words timebank.web.refusals has for it."""
    with pytest.raises(REFUSALS) as refused:
        world.db.run(use_case, **arguments)
    with web_app.test_request_context(headers={"Accept-Language": "en"}):
        return refusal_text(refused.value)


def local_day(days_ahead: int):
    return (datetime.now(UTC).astimezone(AMSTERDAM) + timedelta(days=days_ahead)).date()


def utc(day, clock: time) -> datetime:
    return datetime.combine(day, clock, tzinfo=AMSTERDAM).astimezone(UTC)


def exchange_page(web_app, world, exchange_id: int) -> str:
    """Where a step that starts an exchange goes on to: the exchange's page (the home page until it exists)."""
    with web_app.test_request_context():
        if "exchange_pages.exchange" in web_app.view_functions:
            return url_for("exchange_pages.exchange", slug=world.community.slug, exchange_id=exchange_id)
        return url_for("member.home", slug=world.community.slug)


LISTING_FORM = {
    "kind": "request",
    "title": "Who can fix my bike?",
    "description": "The back tyre is flat.",
    "category": "",
    "estimated-hours": "1",
    "estimated-minutes": "30",
    "start_date": "",
    "start_time": "",
    "end_date": "",
    "end_time": "",
    "place": "neighbourhood",
    "neighbourhood": "Oosterpark",
    "expires_date": "",
    "expires_time": "",
}


def listing_form(world, **changes) -> dict:
    return {**LISTING_FORM, "category": str(world.categories["klussen"]), **changes}


# --- who may see the pages ------------------------------------------------------------------------------------


def member_paths(world, listing_id: int) -> list[str]:
    return [
        home_url(world),
        listings_url(world),
        listing_url(world, listing_id),
        f"{listings_url(world)}/new",
        listing_url(world, listing_id, "edit"),
    ]


def test_a_visitor_is_sent_to_log_in_from_every_members_page(client, world):
    listing = post(world, world.bert)
    for path in member_paths(world, listing.id):
        response = client.get(path)
        assert response.status_code == 302 and response.location.startswith("/login?next=")


def test_a_member_of_another_community_gets_not_found_everywhere_and_changes_nothing(client, world, other_world):
    listing = post(world, world.bert)
    enter(client, other_world, other_world.ans)
    for path in member_paths(world, listing.id):
        assert client.get(path).status_code == 404, path
    token = csrf_token(text(client.get(f"/c/{other_world.community.slug}/")))
    for action in ("respond", "close", "invite"):
        response = client.post(listing_url(world, listing.id, action), data={"csrf_token": token})
        assert response.status_code == 404
    assert exchanges_of(world, listing.id) == [] and listing_now(world, listing.id).status == "open"


def test_a_listing_of_another_community_is_not_found_under_this_ones_address(client, world, other_world):
    elsewhere = post(other_world, other_world.bert)
    enter(client, world, world.ans)
    assert client.get(listing_url(world, elsewhere.id)).status_code == 404
    assert client.get(f"/c/{world.community.slug}/listings/99999999999").status_code == 404


def test_the_members_pages_are_not_kept_in_any_cache(client, world):
    listing = post(world, world.bert)
    enter(client, world, world.ans)
    for path in member_paths(world, listing.id)[:4]:
        response = client.get(path)
        assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"


# --- home -----------------------------------------------------------------------------------------------------


def test_the_home_page_shows_the_balance_and_where_it_stands_between_floor_and_ceiling(client, world):
    # Both start with a welcome credit of 2 h; Bert pays Ans 1 h 30 min: Ans 3 h 30 min, Bert 30 min.
    world.db.run(payments.pay_directly, actor=world.bert.actor, payee_membership_id=world.ans.id, minutes=90)
    enter(client, world, world.ans)
    page = text(client.get(home_url(world)))
    balance = section(page, "balance-title")
    assert '<strong class="amount">3 h 30 min</strong>' in balance
    assert "You can still spend 13 h 30 min; you can still receive 36 h 30 min." in balance
    assert "Lowest allowed: -10 h" in balance and "Highest allowed: 40 h" in balance
    # The bar runs from the floor (-600) to the ceiling (2400) over 300 units: zero at 60, 210 minutes at 81.
    assert '<rect x="60.0" y="6" width="21.0"' in balance and 'aria-hidden="true"' in balance
    assert "Waiting for confirmation" not in balance

    enter(client, world, world.bert)
    balance = section(text(client.get(home_url(world))), "balance-title")
    assert '<strong class="amount">30 min</strong>' in balance
    assert "You can still spend 10 h 30 min; you can still receive 39 h 30 min." in balance


def test_pending_minutes_are_mentioned_and_counted_in_what_can_still_be_spent_or_received(client, world):
    world.db.run(payments.claim_minutes, actor=world.cor.actor, payer_membership_id=world.ans.id, minutes=60)
    enter(client, world, world.ans)
    balance = section(text(client.get(home_url(world))), "balance-title")
    assert '<strong class="amount">2 h</strong>' in balance
    assert "Waiting for confirmation: 1 h going from you." in balance
    assert "You can still spend 11 h; you can still receive 38 h." in balance
    enter(client, world, world.cor)
    balance = section(text(client.get(home_url(world))), "balance-title")
    assert "Waiting for confirmation: 1 h coming to you." in balance
    assert "You can still spend 12 h; you can still receive 37 h." in balance


def test_a_claim_waits_on_the_home_page_of_the_member_who_must_confirm_it_only(client, world):
    claim = world.db.run(
        payments.claim_minutes,
        actor=world.cor.actor,
        payer_membership_id=world.ans.id,
        minutes=75,
        description="Carried the shopping",
    )
    enter(client, world, world.ans)
    waiting = section(text(client.get(home_url(world))), "waiting-title")
    assert "Cor recorded 1 h 15 min of help for you." in waiting
    assert "Confirm or dispute: Carried the shopping" in waiting
    if "exchange_pages.exchange" in client.application.view_functions:
        assert f'href="{exchange_page(client.application, world, claim.id)}"' in waiting
    enter(client, world, world.cor)
    page = text(client.get(home_url(world)))
    assert "Nothing is waiting for you." in section(page, "waiting-title")
    assert "Carried the shopping" in section(page, "in-progress-title") and "With Ans" in page
    enter(client, world, world.bert)
    page = text(client.get(home_url(world)))
    assert "Carried the shopping" not in page and "Nothing is waiting for you." in page


def test_the_home_page_lists_my_open_listings_invitations_suggestions_and_thank_you_notes(client, world):
    mine = post(world, world.ans, kind="offer", title="I do errands on Monday mornings", category="boodschappen")
    asked = post(world, world.bert, title="Carry a cupboard upstairs")
    world.db.run(matching.invite_member, actor=world.bert.actor, listing_id=asked.id, membership_id=world.ans.id)
    errand = post(world, world.cor, title="Shopping for my neighbour", category="boodschappen", minutes=60)
    closed = post(world, world.ans, title="An old request")
    world.db.run(listings.close_listing, actor=world.ans.actor, listing_id=closed.id)
    claim = world.db.run(payments.claim_minutes, actor=world.ans.actor, payer_membership_id=world.cor.id, minutes=30)
    world.db.run(payments.confirm_exchange, actor=world.cor.actor, exchange_id=claim.id)
    world.db.run(exchanges.thank_helper, actor=world.cor.actor, exchange_id=claim.id, text="You are a star!")
    enter(client, world, world.ans)
    page = text(client.get(home_url(world)))
    own = section(page, "own-listings-title")
    assert f'href="{listing_url(world, mine.id)}">I do errands on Monday mornings</a>' in own
    assert "An old request" not in own
    invitations = section(page, "invitations-title")
    assert "Bert asks if you can help with:" in invitations
    assert f'href="{listing_url(world, asked.id)}">Carry a cupboard upstairs</a>' in invitations
    suggestions = section(page, "suggestions-title")
    assert f'href="{listing_url(world, errand.id)}">Shopping for my neighbour</a>' in suggestions
    assert "Why: you offer this kind of help; it can be done any time" in suggestions
    assert "Carry a cupboard upstairs" not in suggestions  # asked personally already, listed above
    thanks = section(page, "thanks-title")
    assert "You are a star!" in thanks and "From Cor" in thanks


def figures(balance: int, floor: int | None = -600, ceiling: int | None = 2400) -> AccountFigures:
    return AccountFigures(
        account_id=1,
        balance_minutes=balance,
        pending_debit_minutes=0,
        pending_credit_minutes=0,
        available_minutes=balance,
        floor_minutes=floor,
        ceiling_minutes=ceiling,
        status="open",
    )


def test_the_gauge_draws_from_zero_to_the_balance_within_floor_and_ceiling():
    below_zero = member.gauge(figures(-300))
    assert (below_zero.zero_x, below_zero.bar_x, below_zero.bar_width) == (60.0, 30.0, 30.0)
    at_the_ceiling = member.gauge(figures(2400))
    assert (at_the_ceiling.bar_x, at_the_ceiling.bar_width) == (60.0, 240.0)
    assert member.gauge(figures(0, floor=None)) is None and member.gauge(figures(0, ceiling=None)) is None


def test_an_administrator_who_is_not_a_member_sees_a_note_instead_of_a_balance(client, world):
    english(world, world.admin)
    sign_in(client, world.admin.user.email)
    response = client.get(home_url(world))
    page = text(response)
    assert response.status_code == 200 and "You are not a member of this time bank" in page
    assert "balance-title" not in page
    if "coord.index" in client.application.view_functions:
        assert f'href="/c/{world.community.slug}/coordinate"' in page
    assert client.get(f"{listings_url(world)}/new").status_code == 403


# --- browsing and searching -----------------------------------------------------------------------------------


def test_the_listings_page_shows_each_listing_with_what_it_is_and_who_posted_it(client, world):
    window = (datetime.now(UTC) + timedelta(days=2), datetime.now(UTC) + timedelta(days=2, hours=3))
    post(
        world,
        world.bert,
        title="Babysit on Friday",
        category="oppassen",
        minutes=180,
        window_start=window[0],
        window_end=window[1],
    )
    enter(client, world, world.ans)
    page = text(client.get(listings_url(world)))
    results = page[page.index('class="plain-list results"') :]
    assert "Babysit on Friday</a>" in results
    assert 'Request · Babysitting · Dapperbuurt · <span class="amount">3 h</span> · by Bert' in results
    assert "Jansen" not in page  # a first name, never the whole name


def test_categories_are_named_in_the_pages_language(client, world):
    post(world, world.bert, category="klussen")
    sign_in(client, world.ans.user.email)  # Ans reads Dutch
    page = text(client.get(listings_url(world)))
    assert "Klussen" in page and "Odd jobs" not in page
    assert '<strong class="amount">2 u</strong>' in text(client.get(home_url(world)))


def test_the_search_filters_by_kind_category_neighbourhood_and_words(client, world):
    post(world, world.bert, title="Walk my dog", category="klussen")  # Dapperbuurt
    post(world, world.cor, title="I fix bicycles", kind="offer", category="klussen", description="Flat tyres too")
    post(world, world.cor, title="Shopping on Saturday", category="boodschappen")
    enter(client, world, world.ans)

    def found(**query) -> list[str]:
        response = client.get(listings_url(world), query_string=query)
        assert response.status_code == 200
        page = text(response)
        return re.findall(r'<a href="/c/[^/]+/listings/\d+">([^<]+)</a>', page[page.index("<h2>") :])

    assert found() == ["Shopping on Saturday", "I fix bicycles", "Walk my dog"]
    assert found(kind="offer") == ["I fix bicycles"]
    assert found(kind="request") == ["Shopping on Saturday", "Walk my dog"]
    assert found(category=str(world.categories["klussen"])) == ["I fix bicycles", "Walk my dog"]
    assert found(neighbourhood="dapperbuurt") == ["Walk my dog"]
    assert found(text="TYRES") == ["I fix bicycles"]
    assert found(kind="request", category=str(world.categories["klussen"]), text="dog") == ["Walk my dog"]
    assert found(text="piano") == []
    assert "Nothing found." in text(client.get(listings_url(world), query_string={"text": "piano"}))


def test_the_search_goes_a_page_at_a_time_keeping_the_filters(client, world, monkeypatch):
    monkeypatch.setattr(member, "SEARCH_PAGE_SIZE", 2)
    for number in range(1, 6):
        post(world, world.bert, title=f"Errand {number}", category="boodschappen")
    post(world, world.bert, title="Not an errand", category="klussen")
    enter(client, world, world.ans)
    category = str(world.categories["boodschappen"])
    seen, address, pages = [], listings_url(world) + f"?category={category}", 0
    while address:
        page = text(client.get(address))
        seen += re.findall(r'">(Errand \d|Not an errand)</a>', page)
        following = re.search(r'<a href="([^"]+)">Next page</a>', page)
        address = following.group(1).replace("&amp;", "&") if following else None
        if address:
            assert f"category={category}" in address
        pages += 1
    assert seen == [f"Errand {number}" for number in range(5, 0, -1)] and pages == 3
    assert "Back to the first page" in page


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"kind": "both"}, "kind", "Choose requests, offers or both."),
        ({"category": "99999"}, "category", "Choose a category from the list."),
        ({"text": "x" * 101}, "text", "At most 100 characters."),
        ({"neighbourhood": "y" * 81}, "neighbourhood", "At most 80 characters."),
    ],
)
def test_a_search_that_cannot_be_made_says_why_next_to_the_field(client, world, query, field, message):
    enter(client, world, world.ans)
    response = client.get(listings_url(world), query_string=query)
    page = text(response)
    assert response.status_code == 200 and field_error(page, field) == message
    assert "Change the search above and try again." in page


def test_a_cursor_the_search_did_not_give_out_is_refused_in_plain_words(client, world):
    enter(client, world, world.ans)
    response = client.get(listings_url(world), query_string={"cursor": "not-a-cursor"})
    assert response.status_code == 200
    expected = refusal(
        client.application,
        world,
        listings.search_listings,
        actor=world.ans.actor,
        community_id=world.community_id,
        cursor="not-a-cursor",
    )
    assert problems(text(response)) == [expected]


# --- one listing ----------------------------------------------------------------------------------------------


def test_a_listing_page_says_what_when_where_how_long_and_who(client, world):
    start = datetime.combine(local_day(3), time(19, 0), tzinfo=AMSTERDAM).astimezone(UTC)
    listing = post(
        world,
        world.bert,
        title="Babysit on Friday",
        description="Two children, 4 and 6.",
        category="oppassen",
        minutes=180,
        window_start=start,
        window_end=start + timedelta(hours=3),
        place="at_home",
    )
    enter(client, world, world.ans)
    page = text(client.get(listing_url(world, listing.id)))
    assert "<h1>Babysit on Friday</h1>" in page and "Request · Babysitting · Open" in page
    assert "Two children, 4 and 6." in page
    assert f"{local_day(3).day} " in page and "19:00–22:00" in page  # in Amsterdam's time
    assert "At home, Dapperbuurt" in page and '<dd class="amount">3 h</dd>' in page
    assert "<dd>Bert, " in page and "Jansen" not in page
    assert "Would you like to help?" in page


def test_responding_starts_an_exchange_and_goes_to_it(client, world):
    listing = post(world, world.bert)
    enter(client, world, world.ans)
    response = submit(
        client,
        listing_url(world, listing.id),
        listing_url(world, listing.id, "respond"),
        data={"response_message": "I can come on Saturday."},
    )
    [exchange] = exchanges_of(world, listing.id)
    assert exchange.helper_membership_id == world.ans.id and exchange.helped_membership_id == world.bert.id
    assert response.status_code == 302 and response.location == exchange_page(client.application, world, exchange.id)
    page = text(client.get(listing_url(world, listing.id)))
    assert "You have an exchange about this listing in progress." in page and "Would you like to help?" not in page
    enter(client, world, world.bert)
    page = text(client.get(listing_url(world, listing.id)))
    responses = section(page, "exchanges-title")
    assert "Responses" in responses and "With Ans" in responses and "Waiting until both agree" in responses
    invite = section(page, "invite-title")  # Ans is talking with Bert already: no need to ask her
    assert f'value="{world.cor.id}"' in invite and f'value="{world.ans.id}"' not in invite


def test_a_response_to_an_offer_is_a_request_for_that_help(client, world):
    offer = post(world, world.cor, kind="offer", title="I fix bicycles")
    enter(client, world, world.ans)
    assert "Would you like this help?" in text(client.get(listing_url(world, offer.id)))
    submit(client, listing_url(world, offer.id), listing_url(world, offer.id, "respond"))
    [exchange] = exchanges_of(world, offer.id)
    assert exchange.helper_membership_id == world.cor.id and exchange.helped_membership_id == world.ans.id


def test_responding_is_refused_in_plain_words_for_an_own_closed_or_already_answered_listing(client, world):
    own = post(world, world.ans, title="My own request")
    closed = post(world, world.bert, title="A closed request")
    world.db.run(listings.close_listing, actor=world.bert.actor, listing_id=closed.id)
    answered = post(world, world.cor, title="Already answered")
    world.db.run(exchanges.respond_to_listing, actor=world.ans.actor, listing_id=answered.id)
    enter(client, world, world.ans)
    for listing in (own, closed, answered):
        expected = refusal(
            client.application, world, exchanges.respond_to_listing, actor=world.ans.actor, listing_id=listing.id
        )
        response = submit(client, home_url(world), listing_url(world, listing.id, "respond"), data={})
        assert response.status_code == 200 and problems(text(response)) == [expected]
    assert exchanges_of(world, own.id) == [] and exchanges_of(world, closed.id) == []
    assert len(exchanges_of(world, answered.id)) == 1


def test_a_message_too_long_is_refused_next_to_it_and_kept(client, world):
    listing = post(world, world.bert)
    enter(client, world, world.ans)
    typed = "z" * 501
    response = submit(
        client,
        listing_url(world, listing.id),
        listing_url(world, listing.id, "respond"),
        data={"response_message": typed},
    )
    page = text(response)
    assert (
        response.status_code == 200 and field_error(page, "response_message") == "A message is at most 500 characters."
    )
    assert typed in page and exchanges_of(world, listing.id) == []


def test_the_owner_closes_and_reopens_a_listing_and_others_may_not(client, world):
    listing = post(world, world.bert)
    enter(client, world, world.ans)
    page = text(client.get(listing_url(world, listing.id)))
    assert "Close this listing" not in page and "Change this listing" not in page
    expected = refusal(client.application, world, listings.close_listing, actor=world.ans.actor, listing_id=listing.id)
    response = submit(client, listing_url(world, listing.id), listing_url(world, listing.id, "close"))
    assert response.status_code == 200 and problems(text(response)) == [expected]
    assert listing_now(world, listing.id).status == "open"
    enter(client, world, world.bert)
    page = text(client.get(listing_url(world, listing.id)))
    assert "Close this listing" in page and "Change this listing" in page
    response = submit(client, listing_url(world, listing.id), listing_url(world, listing.id, "close"))
    assert response.status_code == 302 and response.location == listing_url(world, listing.id)
    assert listing_now(world, listing.id).status == "closed"
    page = text(client.get(listing_url(world, listing.id)))
    assert "The listing is closed." in page and "Request · Odd jobs · Closed" in page
    expected = refusal(client.application, world, listings.close_listing, actor=world.bert.actor, listing_id=listing.id)
    response = submit(client, listing_url(world, listing.id), listing_url(world, listing.id, "close"))
    assert response.status_code == 200 and problems(text(response)) == [expected]
    response = submit(client, listing_url(world, listing.id), listing_url(world, listing.id, "reopen"))
    assert response.status_code == 302 and listing_now(world, listing.id).status == "open"


def test_an_expired_listing_reopens_only_with_a_new_day_to_show_it_until(client, world):
    long_ago = datetime.now(UTC) - timedelta(days=31)
    listing = post(world, world.bert, now=long_ago)  # shown for 30 days: over yesterday
    world.db.run(listings.expire_listings)
    enter(client, world, world.bert)
    page = text(client.get(listing_url(world, listing.id)))
    assert "Request · Odd jobs · Expired" in page and "Open this listing again" in page
    response = submit(client, listing_url(world, listing.id), listing_url(world, listing.id, "reopen"))
    assert response.status_code == 200
    expected = refusal(
        client.application, world, listings.reopen_listing, actor=world.bert.actor, listing_id=listing.id
    )
    assert field_error(text(response), "reopen_date") == expected
    response = submit(
        client,
        listing_url(world, listing.id),
        listing_url(world, listing.id, "reopen"),
        data={"reopen_date": "2020-01-01"},
    )
    assert field_error(text(response), "reopen_time") == "Fill in the time, or leave both empty."
    day = local_day(10)
    response = submit(
        client,
        listing_url(world, listing.id),
        listing_url(world, listing.id, "reopen"),
        data={"reopen_date": day.isoformat(), "reopen_time": "18:00"},
    )
    assert response.status_code == 302
    reopened = listing_now(world, listing.id)
    assert reopened.status == "open" and reopened.expires_at == utc(day, time(18, 0))


def test_the_requester_invites_a_suggested_member_who_then_says_yes(client, world):
    world.db.run(members.update_profile, actor=world.cor.actor, membership_id=world.cor.id, interests=["klussen"])
    request = post(world, world.bert, title="Carry a cupboard upstairs")
    enter(client, world, world.bert)
    invite = section(text(client.get(listing_url(world, request.id))), "invite-title")
    assert f'value="{world.cor.id}"' in invite and "Cor (Oosterpark): likes to help with this" in invite
    response = submit(
        client,
        listing_url(world, request.id),
        listing_url(world, request.id, "invite"),
        data={"membership_id": str(world.cor.id), "invitation_message": "You are strong, Cor!"},
    )
    assert response.status_code == 302 and "Your invitation was sent." in text(client.get(response.location))
    [invitation] = invitations_of(world, request.id)
    assert invitation.membership_id == world.cor.id and invitation.message == "You are strong, Cor!"

    enter(client, world, world.cor)
    page = text(client.get(listing_url(world, request.id)))
    invited = section(page, "invitation-title")
    assert "Bert asked you personally to help with this request." in invited and "You are strong, Cor!" in invited
    assert "respond-title" not in page
    accept = f"{listing_url(world, request.id)}/invitations/{invitation.id}/accept"
    response = submit(client, listing_url(world, request.id), accept, data={"answer_message": "Saturday at ten?"})
    [exchange] = exchanges_of(world, request.id)
    assert exchange.helper_membership_id == world.cor.id and exchange.status == "agreed"
    assert response.status_code == 302 and response.location == exchange_page(client.application, world, exchange.id)
    assert invitations_of(world, request.id)[0].status == "accepted"


def test_an_invited_member_may_say_no(client, world):
    request = post(world, world.bert)
    invitation = world.db.run(
        matching.invite_member, actor=world.bert.actor, listing_id=request.id, membership_id=world.ans.id
    )
    enter(client, world, world.ans)
    decline = f"{listing_url(world, request.id)}/invitations/{invitation.id}/decline"
    response = submit(client, listing_url(world, request.id), decline)
    assert response.status_code == 302 and invitations_of(world, request.id)[0].status == "declined"
    page = text(client.get(response.location))
    assert "You said no to this invitation." in page and "invitation-title" not in page
    expected = refusal(
        client.application, world, exchanges.decline_invitation, actor=world.ans.actor, invitation_id=invitation.id
    )
    response = submit(client, listing_url(world, request.id), decline)
    assert response.status_code == 200 and problems(text(response)) == [expected]
    assert exchanges_of(world, request.id) == []


def test_an_invitation_to_a_closed_request_cannot_be_accepted(client, world):
    request = post(world, world.bert)
    invitation = world.db.run(
        matching.invite_member, actor=world.bert.actor, listing_id=request.id, membership_id=world.ans.id
    )
    world.db.run(listings.close_listing, actor=world.bert.actor, listing_id=request.id)
    enter(client, world, world.ans)
    accept = f"{listing_url(world, request.id)}/invitations/{invitation.id}/accept"
    expected = refusal(
        client.application, world, exchanges.accept_invitation, actor=world.ans.actor, invitation_id=invitation.id
    )
    response = submit(client, listing_url(world, request.id), accept)
    assert response.status_code == 200 and problems(text(response)) == [expected]
    assert exchanges_of(world, request.id) == []


def test_a_task_with_children_can_only_be_offered_to_someone_with_a_current_check(client, world):
    give_check(world, world.cor)
    request = post(world, world.bert, title="Babysit on Friday", category="oppassen")
    enter(client, world, world.bert)
    invite = section(text(client.get(listing_url(world, request.id))), "invite-title")
    assert f'value="{world.cor.id}"' in invite and "has a current certificate of conduct" in invite
    assert f'value="{world.ans.id}"' not in invite
    response = submit(
        client,
        listing_url(world, request.id),
        listing_url(world, request.id, "invite"),
        data={"membership_id": str(world.ans.id)},
    )
    expected = refusal(
        client.application,
        world,
        matching.invite_member,
        actor=world.bert.actor,
        listing_id=request.id,
        membership_id=world.ans.id,
    )
    assert response.status_code == 200 and problems(text(response)) == [expected]
    assert "safeguarding_check_required" not in text(response)
    assert invitations_of(world, request.id) == []


def test_inviting_is_refused_without_a_choice_twice_or_for_the_requester(client, world):
    request = post(world, world.bert)
    world.db.run(matching.invite_member, actor=world.bert.actor, listing_id=request.id, membership_id=world.ans.id)
    enter(client, world, world.bert)
    page, action = listing_url(world, request.id), listing_url(world, request.id, "invite")
    response = submit(client, page, action, data={"invitation_message": "Please?"})
    assert field_error(text(response), "membership_id") == "Choose whom to ask." and "Please?" in text(response)
    for invitee, shown in ((world.ans, problems), (world.bert, lambda page: field_error(page, "membership_id"))):
        arguments = {"actor": world.bert.actor, "listing_id": request.id, "membership_id": invitee.id}
        expected = refusal(client.application, world, matching.invite_member, **arguments)
        response = submit(client, page, action, data={"membership_id": str(invitee.id)})
        assert response.status_code == 200 and shown(text(response)) in (expected, [expected])
    assert len(invitations_of(world, request.id)) == 1


# --- posting and editing --------------------------------------------------------------------------------------


def test_a_member_posts_a_request_with_a_time_in_the_communitys_time_zone(client, world):
    enter(client, world, world.ans)
    day = local_day(4)
    data = listing_form(world, start_date=day.isoformat(), start_time="19:00", end_time="22:30")
    response = submit(client, f"{listings_url(world)}/new", data=data)
    assert response.status_code == 302
    listing_id = int(response.location.rsplit("/", 1)[1])
    posted = listing_now(world, listing_id)
    assert (posted.kind, posted.title, posted.description) == (
        "request",
        "Who can fix my bike?",
        "The back tyre is flat.",
    )
    assert posted.category_id == world.categories["klussen"] and posted.estimated_minutes == 90
    assert posted.window_start == utc(day, time(19, 0)) and posted.window_end == utc(day, time(22, 30))
    assert posted.expires_at == posted.window_end and posted.place == "neighbourhood"
    assert "Your request is posted." in text(client.get(response.location))


def test_a_listing_for_any_time_with_an_expiry_and_a_window_over_two_days(client, world):
    enter(client, world, world.ans)
    any_time = listing_form(
        world, kind="offer", place="online", expires_date=local_day(5).isoformat(), expires_time="12:00"
    )
    response = submit(client, f"{listings_url(world)}/new", data=any_time)
    posted = listing_now(world, int(response.location.rsplit("/", 1)[1]))
    assert posted.kind == "offer" and posted.window_start is None and posted.place == "online"
    assert posted.expires_at == utc(local_day(5), time(12, 0))
    two_days = listing_form(
        world,
        start_date=local_day(2).isoformat(),
        start_time="20:00",
        end_date=local_day(3).isoformat(),
        end_time="09:00",
    )
    response = submit(client, f"{listings_url(world)}/new", data=two_days)
    posted = listing_now(world, int(response.location.rsplit("/", 1)[1]))
    assert posted.window_start == utc(local_day(2), time(20, 0)) and posted.window_end == utc(local_day(3), time(9, 0))


def test_the_new_listing_form_starts_with_the_members_neighbourhood(client, world):
    enter(client, world, world.bert)
    page = text(client.get(f"{listings_url(world)}/new"))
    assert 'name="neighbourhood" type="text" value="Dapperbuurt"' in page


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"kind": ""}, "kind", "Choose request or offer."),
        ({"title": ""}, "title", "Fill in a title."),
        ({"title": "t" * 121}, "title", "A title is at most 120 characters."),
        ({"category": ""}, "category", "Choose a category."),
        ({"category": "99999"}, "category", "Choose a category from the list."),
        ({"estimated-hours": "", "estimated-minutes": ""}, "estimated", "Fill in how long: hours, minutes or both."),
        ({"estimated-hours": "13", "estimated-minutes": "0"}, "estimated", "At most 12 hours: make it a smaller task."),
        ({"start_date": "2030-01-01"}, "start_time", "Fill in the time it starts."),
        ({"end_time": "10:00"}, "start_date", "Fill in the day, or leave the whole time empty."),
        (
            {"start_date": "not a day", "start_time": "10:00", "end_time": "11:00"},
            "start_date",
            "Not a valid date value.",
        ),
        ({"expires_date": "2030-01-01"}, "expires_time", "Fill in the time, or leave both empty."),
        ({"place": "on the moon"}, "place", "Choose where."),
    ],
)
def test_a_listing_form_with_a_mistake_says_so_next_to_the_field_and_keeps_what_was_typed(
    client, world, changes, field, message
):
    enter(client, world, world.ans)
    response = submit(client, f"{listings_url(world)}/new", data=listing_form(world, **changes))
    page = text(response)
    assert response.status_code == 200 and field_error(page, field) == message
    if "title" not in changes:
        assert 'value="Who can fix my bike?"' in page and "The back tyre is flat." in page
    assert world.db.read(listings.own_listings, actor=world.ans.actor, community_id=world.community_id) == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"start_time": "19:00", "end_time": "18:00"}, "end_date"),  # ends before it starts
        ({"start_date": -3}, "end_date"),  # over already
        ({"end_date": 16, "end_time": "10:00"}, "end_date"),  # longer than two weeks
        ({"expires_date": 2, "expires_time": "12:00"}, "expires_date"),  # shown after the time is over
    ],
)
def test_a_time_the_rules_refuse_is_explained_next_to_it_and_nothing_is_posted(client, world, changes, field):
    typed = {"start_date": 1, "start_time": "10:00", "end_date": None, "end_time": "12:00"} | changes
    days = {
        name: local_day(typed[name]) if typed.get(name) is not None else None
        for name in ("start_date", "end_date", "expires_date")
    }

    def at(day_name: str, time_name: str) -> datetime | None:
        return None if days[day_name] is None else utc(days[day_name], time.fromisoformat(typed[time_name]))

    expected = refusal(
        client.application,
        world,
        listings.post_listing,
        actor=world.ans.actor,
        community_id=world.community_id,
        kind="request",
        title="Who can fix my bike?",
        category_id=world.categories["klussen"],
        estimated_minutes=90,
        window_start=at("start_date", "start_time"),
        window_end=utc(days["end_date"] or days["start_date"], time.fromisoformat(typed["end_time"])),
        expires_at=at("expires_date", "expires_time"),
    )
    form = {name: (days[name].isoformat() if name in days and days[name] else value) for name, value in typed.items()}
    enter(client, world, world.ans)
    response = submit(
        client, f"{listings_url(world)}/new", data=listing_form(world, **{k: v or "" for k, v in form.items()})
    )
    page = text(response)
    assert response.status_code == 200 and field_error(page, field) == expected
    assert 'value="Who can fix my bike?"' in page
    assert world.db.read(listings.own_listings, actor=world.ans.actor, community_id=world.community_id) == []


def test_the_owner_edits_a_listing_starting_from_what_it_says(client, world):
    day = local_day(3)
    listing = post(
        world, world.ans, title="Walk my dog", window_start=utc(day, time(9, 0)), window_end=utc(day, time(10, 0))
    )
    enter(client, world, world.ans)
    edit = listing_url(world, listing.id, "edit")
    page = text(client.get(edit))
    assert 'value="Walk my dog"' in page and f'value="{day.isoformat()}"' in page and 'value="09:00"' in page
    assert 'name="kind"' not in page and "Request" in page
    assert 'id="expires_date" name="expires_date" type="date" value=""' in page  # the default: the window's end
    new_day = local_day(5)
    data = listing_form(
        world, title="Walk my dog twice", start_date=new_day.isoformat(), start_time="09:00", end_time="11:00"
    )
    del data["kind"]
    response = submit(client, edit, data=data)
    assert response.status_code == 302 and response.location == listing_url(world, listing.id)
    edited = listing_now(world, listing.id)
    assert edited.title == "Walk my dog twice" and edited.kind == "request"
    assert edited.window_start == utc(new_day, time(9, 0)) and edited.expires_at == utc(new_day, time(11, 0))
    assert "Your changes are saved." in text(client.get(response.location))


def test_an_edit_the_rules_refuse_changes_nothing(client, world):
    listing = post(world, world.ans)
    enter(client, world, world.ans)
    edit, day = listing_url(world, listing.id, "edit"), local_day(2)
    data = listing_form(world, title="Changed", start_date=day.isoformat(), start_time="12:00", end_time="11:00")
    arguments = {"actor": world.ans.actor, "listing_id": listing.id, "title": "Changed"}
    window = {"window_start": utc(day, time(12, 0)), "window_end": utc(day, time(11, 0))}
    expected = refusal(client.application, world, listings.edit_listing, **arguments, **window)
    response = submit(client, edit, data=data)
    assert response.status_code == 200 and field_error(text(response), "end_date") == expected
    assert 'value="Changed"' in text(response) and listing_now(world, listing.id).title == "Walk my dog"
    world.db.run(listings.close_listing, actor=world.ans.actor, listing_id=listing.id)
    expected = refusal(client.application, world, listings.edit_listing, **arguments)
    response = submit(client, edit, data=listing_form(world, title="Changed"))
    assert response.status_code == 200 and problems(text(response)) == [expected]
    assert listing_now(world, listing.id).title == "Walk my dog"


def test_a_listing_in_a_category_no_longer_in_use_can_still_be_edited_without_changing_it(client, world):
    listing = post(world, world.ans, category="vervoer")
    world.db.run(
        communities.update_category,
        actor=world.coordinator.actor,
        community_id=world.community_id,
        category_id=world.categories["vervoer"],
        active=False,
    )
    enter(client, world, world.ans)
    edit = listing_url(world, listing.id, "edit")
    assert f'<option selected value="{world.categories["vervoer"]}">Transport</option>' in text(client.get(edit))
    assert "Transport" not in text(client.get(f"{listings_url(world)}/new"))
    data = listing_form(world, title="Lift to the station", category=str(world.categories["vervoer"]))
    del data["kind"]
    response = submit(client, edit, data=data)
    assert response.status_code == 302 and listing_now(world, listing.id).title == "Lift to the station"


def test_editing_someone_elses_listing_is_refused_and_changes_nothing(client, world):
    listing = post(world, world.bert)
    enter(client, world, world.ans)
    edit = listing_url(world, listing.id, "edit")
    assert client.get(edit).status_code == 403
    response = submit(client, home_url(world), edit, data=listing_form(world, title="Mine now"))
    assert response.status_code == 403 and listing_now(world, listing.id).title == "Walk my dog"
    assert "Change this listing" not in text(client.get(listing_url(world, listing.id)))


def test_a_signed_in_person_who_belongs_to_no_community_gets_not_found(client, world):
    stranger = add_user(world.db, language="en")
    sign_in(client, stranger.email)
    assert client.get(home_url(world)).status_code == 404
