"""The listings resource: search, post, read, edit, close and reopen; matching suggestions; invitations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from timebank import members
from timebank.models import AuditEntry, Invitation, Listing

LISTING_FIELDS = {
    "id",
    "community_id",
    "kind",
    "title",
    "description",
    "category_id",
    "estimated_minutes",
    "window_start",
    "window_end",
    "place",
    "neighbourhood",
    "status",
    "expires_at",
    "created_at",
    "owner_first_name",
}


def moment(**delta) -> datetime:
    """A moment relative to now, to the second (the API runs on the real clock)."""
    return (datetime.now(UTC) + timedelta(**delta)).replace(microsecond=0)


def stamp(value: datetime) -> str:
    return value.isoformat()


def parsed(text: str) -> datetime:
    return datetime.fromisoformat(text)


def listings_path(world) -> str:
    return f"/api/v1/communities/{world.community_id}/listings"


def new_listing(world, **overrides) -> dict:
    return {
        "kind": "request",
        "title": "Boodschappen op vrijdag",
        "category_id": str(world.categories["boodschappen"]),
        "estimated_minutes": 60,
    } | overrides


def post(client, tokens, who="ans", **overrides) -> dict:
    response = client.post(
        listings_path(tokens.world), headers=tokens.headers(who), json=new_listing(tokens.world, **overrides)
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def stored(world, listing_id) -> Listing:
    return world.db.read(lambda *, session: session.get(Listing, int(listing_id)))


def count(world, model) -> int:
    return world.db.read(
        lambda *, session: session.scalar(
            sa.select(sa.func.count()).select_from(model).where(model.community_id == world.community_id)
        )
    )


def audit_actions(world) -> list[str]:
    return world.db.read(
        lambda *, session: list(
            session.execute(
                sa.select(AuditEntry.action)
                .where(AuditEntry.community_id == world.community_id)
                .order_by(AuditEntry.id)
            ).scalars()
        )
    )


def refused(response, status: int, code: str) -> None:
    assert response.status_code == status, response.get_json()
    assert response.content_type == "application/problem+json"
    assert response.get_json()["code"] == code


# --- posting --------------------------------------------------------------------------------------------------


def test_a_member_posts_a_request_and_it_shows_only_the_first_name_of_who_posted_it(client, tokens):
    world = tokens.world
    body = post(client, tokens, description="Twee tassen")
    assert set(body) == LISTING_FIELDS
    assert body["community_id"] == str(world.community_id) and body["category_id"] == str(
        world.categories["boodschappen"]
    )
    assert (body["kind"], body["title"], body["description"], body["estimated_minutes"]) == (
        "request",
        "Boodschappen op vrijdag",
        "Twee tassen",
        60,
    )
    assert (body["status"], body["place"], body["neighbourhood"]) == ("open", "neighbourhood", "Oosterpark")
    assert body["owner_first_name"] == "Ans"
    assert body["window_start"] is None and body["window_end"] is None
    lifetime = parsed(body["expires_at"]) - parsed(body["created_at"])
    assert lifetime == timedelta(days=30)
    assert stored(world, body["id"]).membership_id == world.ans.id


def test_a_listing_with_a_window_given_with_an_offset_expires_when_the_window_ends(client, tokens):
    start = moment(days=2).astimezone(timezone(timedelta(hours=1)))
    end = start + timedelta(hours=3)
    body = post(
        client,
        tokens,
        kind="offer",
        window_start=stamp(start),
        window_end=stamp(end),
        place="online",
        neighbourhood="Dapperbuurt",
    )
    assert parsed(body["window_start"]) == start and parsed(body["window_end"]) == end
    assert parsed(body["expires_at"]) == end
    assert (body["kind"], body["place"], body["neighbourhood"]) == ("offer", "online", "Dapperbuurt")


def test_a_coordinator_posts_like_any_member(client, tokens):
    assert post(client, tokens, "coordinator")["owner_first_name"] == "Carla"


def test_a_category_may_be_given_by_id_only(client, tokens):
    response = client.post(
        listings_path(tokens.world),
        headers=tokens.headers("ans"),
        json=new_listing(tokens.world, category_id="klussen"),
    )
    refused(response, 422, "validation_failed")


@pytest.mark.parametrize(
    ("overrides", "status", "code", "field"),
    [
        ({"balance": 10}, 422, "validation_failed", "balance"),
        ({"community_id": "1"}, 422, "validation_failed", "community_id"),
        ({"title": None}, 422, "validation_failed", "title"),
        ({"title": "   "}, 422, "invalid_input", "title"),
        ({"title": "x" * 121}, 422, "validation_failed", "title"),
        ({"kind": "gift"}, 422, "validation_failed", "kind"),
        ({"estimated_minutes": 0}, 422, "validation_failed", "estimated_minutes"),
        ({"estimated_minutes": "60"}, 422, "validation_failed", "estimated_minutes"),
        ({"estimated_minutes": 721}, 422, "validation_failed", "estimated_minutes"),
        ({"place": "moon"}, 422, "validation_failed", "place"),
        ({"window_start": "2026-12-01T10:00:00"}, 422, "validation_failed", "window_start"),
        ({"window_start": stamp(moment(days=1))}, 422, "invalid_input", "window_end"),
        (
            {"window_start": stamp(moment(days=1)), "window_end": stamp(moment(days=16))},
            422,
            "invalid_input",
            "window_end",
        ),
        ({"expires_at": stamp(moment(days=-1))}, 422, "invalid_input", "expires_at"),
        ({"expires_at": stamp(moment(days=91))}, 422, "invalid_input", "expires_at"),
        ({"category_id": "999999999"}, 404, "not_found", None),
        ({"category_id": "2147483648"}, 422, "validation_failed", "category_id"),
        ({"category_id": "²"}, 422, "validation_failed", "category_id"),
        ({"expires_at": "0001-01-01T00:00:00+14:00"}, 422, "validation_failed", "expires_at"),
        (
            {"window_start": "9999-12-31T00:00:00-12:00", "window_end": "9999-12-31T23:00:00-12:00"},
            422,
            "validation_failed",
            "window_start",
        ),
    ],
)
def test_a_listing_with_a_bad_value_is_refused_and_nothing_is_posted(client, tokens, overrides, status, code, field):
    world = tokens.world
    response = client.post(listings_path(world), headers=tokens.headers("ans"), json=new_listing(world) | overrides)
    refused(response, status, code)
    problem = response.get_json()
    if code == "validation_failed":
        assert field in problem["errors"]["json"]
    elif field is not None:
        assert problem["field"] == field
    assert count(world, Listing) == 0


def test_a_category_of_another_community_does_not_exist_here(client, tokens, other_world):
    world = tokens.world
    foreign = str(other_world.categories["boodschappen"])
    response = client.post(
        listings_path(world), headers=tokens.headers("ans"), json=new_listing(world, category_id=foreign)
    )
    refused(response, 404, "not_found")
    assert count(world, Listing) == 0


def test_only_members_of_the_community_post_there_and_partner_keys_never_do(client, tokens, other_tokens):
    world, body = tokens.world, new_listing(tokens.world)
    path = listings_path(world)
    refused(client.post(path, headers=other_tokens.headers("ans"), json=body), 404, "not_found")
    refused(client.post(path, headers=other_tokens.headers("coordinator"), json=body), 404, "not_found")
    refused(client.post(path, headers=tokens.headers("partner_all"), json=body), 403, "not_allowed")
    refused(client.post(path, headers=tokens.partner("listings:read"), json=body), 403, "not_allowed")
    refused(client.post(path, json=body), 401, "unauthenticated")
    refused(client.post("/api/v1/communities/abc/listings", headers=tokens.headers("ans"), json=body), 404, "not_found")
    assert count(world, Listing) == 0


def test_a_suspended_member_neither_posts_nor_searches(client, tokens):
    world = tokens.world
    world.db.run(members.suspend_member, actor=world.coordinator.actor, membership_id=world.bert.id, reason="pauze")
    path = listings_path(world)
    refused(client.post(path, headers=tokens.headers("bert"), json=new_listing(world)), 403, "membership_not_active")
    refused(client.get(path, headers=tokens.headers("bert")), 403, "membership_not_active")
    assert count(world, Listing) == 0


def test_posting_honours_an_idempotency_key(client, tokens):
    world = tokens.world
    headers = tokens.headers("bert", **{"Idempotency-Key": "listing-1"})
    first = client.post(listings_path(world), headers=headers, json=new_listing(world))
    again = client.post(listings_path(world), headers=headers, json=new_listing(world))
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
    other = client.post(listings_path(world), headers=headers, json=new_listing(world, title="Anders"))
    refused(other, 422, "idempotency_key_reused")
    assert count(world, Listing) == 1


# --- searching ------------------------------------------------------------------------------------------------


def search(client, tokens, who="ans", **query):
    return client.get(listings_path(tokens.world), headers=tokens.headers(who), query_string=query)


def titles(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [item["title"] for item in response.get_json()["data"]]


def test_search_finds_open_listings_newest_first_by_kind_category_neighbourhood_and_text(client, tokens):
    world = tokens.world
    post(client, tokens, title="Boodschappen", description="twee TASSEN")
    post(client, tokens, "bert", kind="offer", title="Klussen", category_id=str(world.categories["klussen"]))
    post(client, tokens, "cor", title="Vervoer", category_id=str(world.categories["vervoer"]), neighbourhood="Zuid")
    closed = post(client, tokens, title="Dicht")
    assert client.post(f"/api/v1/listings/{closed['id']}/close", headers=tokens.headers("ans")).status_code == 200

    everything = search(client, tokens)
    assert titles(everything) == ["Vervoer", "Klussen", "Boodschappen"]
    assert everything.get_json()["next_cursor"] is None
    assert [item["owner_first_name"] for item in everything.get_json()["data"]] == ["Cor", "Bert", "Ans"]
    assert titles(search(client, tokens, kind="offer")) == ["Klussen"]
    assert titles(search(client, tokens, category="klussen")) == ["Klussen"]
    assert titles(search(client, tokens, category=str(world.categories["vervoer"]))) == ["Vervoer"]
    assert titles(search(client, tokens, neighbourhood="zuid")) == ["Vervoer"]
    assert titles(search(client, tokens, text="tassen")) == ["Boodschappen"]
    assert titles(search(client, tokens, status="closed")) == ["Dicht"]


def test_search_by_window_finds_overlapping_and_any_time_listings(client, tokens):
    start = moment(days=3)
    post(client, tokens, title="Dan", window_start=stamp(start), window_end=stamp(start + timedelta(hours=2)))
    later = start + timedelta(days=5)
    post(client, tokens, title="Later", window_start=stamp(later), window_end=stamp(later + timedelta(hours=2)))
    post(client, tokens, title="Altijd")
    found = search(
        client, tokens, window_start=stamp(start - timedelta(hours=1)), window_end=stamp(start + timedelta(hours=1))
    )
    assert titles(found) == ["Altijd", "Dan"]


def test_search_pages_with_an_opaque_cursor_through_everything_once(client, tokens):
    for number in range(5):
        post(client, tokens, title=f"Klus {number}")
    seen, cursor = [], None
    while True:
        query = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        body = search(client, tokens, **query).get_json()
        seen += [item["title"] for item in body["data"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"Klus {number}" for number in reversed(range(5))]


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ({"cursor": "not-a-cursor"}, 422, "invalid_input"),
        ({"limit": 0}, 422, "validation_failed"),
        ({"limit": 101}, 422, "validation_failed"),
        ({"kind": "gift"}, 422, "validation_failed"),
        ({"status": "deleted"}, 422, "validation_failed"),
        ({"sort": "oldest"}, 422, "validation_failed"),
        ({"window_start": stamp(moment(days=1))}, 422, "invalid_input"),
        ({"window_start": "2026-12-01T10:00:00", "window_end": "2026-12-02T10:00:00"}, 422, "validation_failed"),
        ({"category": "Not A Slug"}, 422, "invalid_input"),
        ({"category": "nothing-here"}, 404, "not_found"),
        ({"category": "9" * 60}, 404, "not_found"),
        ({"category": "0"}, 404, "not_found"),
        ({"category": "2147483648"}, 404, "not_found"),
        ({"category": "²"}, 422, "invalid_input"),
        ({"text": "x" * 101}, 422, "validation_failed"),
        (
            {"window_start": "0001-01-01T00:00:00+14:00", "window_end": "0001-01-02T00:00:00+14:00"},
            422,
            "validation_failed",
        ),
    ],
)
def test_a_search_with_a_bad_filter_is_refused(client, tokens, query, status, code):
    refused(search(client, tokens, **query), status, code)


def test_a_community_is_searched_by_its_members_coordinators_and_its_partner_keys_with_the_scope(
    client, tokens, other_tokens
):
    world = tokens.world
    post(client, tokens, title="Hier")
    path = listings_path(world)
    for headers in (tokens.headers("bert"), tokens.headers("coordinator"), tokens.partner("listings:read")):
        assert titles(client.get(path, headers=headers)) == ["Hier"]
    refused(client.get(path, headers=other_tokens.headers("ans")), 404, "not_found")
    refused(client.get(path, headers=other_tokens.headers("coordinator")), 404, "not_found")
    refused(client.get(path, headers=other_tokens.partner("listings:read")), 404, "not_found")
    refused(client.get(path, headers=tokens.partner("ledger:read")), 403, "insufficient_scope")
    refused(client.get(path), 401, "unauthenticated")
    refused(client.get("/api/v1/communities/0/listings", headers=tokens.headers("ans")), 404, "not_found")


# --- reading one ----------------------------------------------------------------------------------------------


def test_a_listing_is_read_by_its_community_and_is_not_found_by_anyone_else(client, tokens, other_tokens):
    listing = post(client, tokens)
    path = f"/api/v1/listings/{listing['id']}"
    for headers in (tokens.headers("ans"), tokens.headers("bert"), tokens.headers("coordinator")):
        response = client.get(path, headers=headers)
        assert response.status_code == 200 and response.get_json() == listing
    assert client.get(path, headers=tokens.partner("listings:read")).get_json() == listing
    refused(client.get(path, headers=tokens.partner("exchanges:write")), 403, "insufficient_scope")
    refused(client.get(path, headers=other_tokens.headers("ans")), 404, "not_found")
    refused(client.get(path, headers=other_tokens.headers("coordinator")), 404, "not_found")
    refused(client.get(path, headers=other_tokens.partner("listings:read")), 404, "not_found")
    refused(client.get(path), 401, "unauthenticated")
    for missing in ("999999999", "2147483648", "abc", "0", "1" * 19, "²", "\u0661"):
        refused(client.get(f"/api/v1/listings/{missing}", headers=tokens.headers("ans")), 404, "not_found")


# --- editing --------------------------------------------------------------------------------------------------


def test_the_owner_edits_a_listing_and_a_new_window_brings_its_own_expiry(client, tokens):
    world = tokens.world
    listing = post(client, tokens)
    start = moment(days=4)
    changes = {
        "title": "Boodschappen op zaterdag",
        "estimated_minutes": 90,
        "category_id": str(world.categories["vervoer"]),
        "window_start": stamp(start),
        "window_end": stamp(start + timedelta(hours=2)),
    }
    response = client.patch(f"/api/v1/listings/{listing['id']}", headers=tokens.headers("ans"), json=changes)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["title"], body["estimated_minutes"], body["category_id"]) == (
        "Boodschappen op zaterdag",
        90,
        str(world.categories["vervoer"]),
    )
    assert parsed(body["expires_at"]) == start + timedelta(hours=2)
    anytime = client.patch(
        f"/api/v1/listings/{listing['id']}",
        headers=tokens.headers("ans"),
        json={"window_start": None, "window_end": None},
    ).get_json()
    assert anytime["window_start"] is None and anytime["window_end"] is None
    assert parsed(anytime["expires_at"]) > moment(days=29)


@pytest.mark.parametrize(
    ("who", "changes", "status", "code"),
    [
        ("bert", {"title": "Mijn titel"}, 403, "not_allowed"),
        ("coordinator", {"title": "Mijn titel"}, 403, "not_allowed"),
        ("partner_all", {"title": "Mijn titel"}, 403, "not_allowed"),
        ("ans", {"kind": "offer"}, 422, "validation_failed"),
        ("ans", {"status": "closed"}, 422, "validation_failed"),
        ("ans", {}, 422, "invalid_input"),
        ("ans", {"title": ""}, 422, "invalid_input"),
        ("ans", {"title": None}, 422, "validation_failed"),
        ("ans", {"estimated_minutes": 0}, 422, "validation_failed"),
        ("ans", {"window_start": stamp(moment(days=1))}, 422, "invalid_input"),
        ("ans", {"category_id": "999999999"}, 404, "not_found"),
    ],
)
def test_an_edit_is_refused_to_others_and_for_bad_values_and_changes_nothing(
    client, tokens, who, changes, status, code
):
    listing = post(client, tokens)
    response = client.patch(f"/api/v1/listings/{listing['id']}", headers=tokens.headers(who), json=changes)
    refused(response, status, code)
    assert client.get(f"/api/v1/listings/{listing['id']}", headers=tokens.headers("ans")).get_json() == listing


def test_a_listing_of_another_community_cannot_be_edited_and_a_closed_one_must_be_reopened_first(
    client, tokens, other_tokens
):
    listing = post(client, tokens)
    path = f"/api/v1/listings/{listing['id']}"
    refused(client.patch(path, headers=other_tokens.headers("ans"), json={"title": "x"}), 404, "not_found")
    refused(client.patch(path, headers=other_tokens.headers("coordinator"), json={"title": "x"}), 404, "not_found")
    refused(client.patch(path, json={"title": "x"}), 401, "unauthenticated")
    client.post(f"{path}/close", headers=tokens.headers("ans"))
    refused(client.patch(path, headers=tokens.headers("ans"), json={"title": "x"}), 409, "conflict")
    assert stored(tokens.world, listing["id"]).title == listing["title"]


# --- closing and reopening ------------------------------------------------------------------------------------


def test_the_owner_closes_and_reopens_a_listing_without_a_reason_and_without_an_audit_entry(client, tokens):
    listing = post(client, tokens)
    path = f"/api/v1/listings/{listing['id']}"
    closed = client.post(f"{path}/close", headers=tokens.headers("ans"))
    assert closed.status_code == 200 and closed.get_json()["status"] == "closed"
    again = client.post(f"{path}/close", headers=tokens.headers("ans"), json={})
    refused(again, 409, "conflict")
    assert again.get_json()["current_status"] == "closed"
    reopened = client.post(f"{path}/reopen", headers=tokens.headers("ans"))
    assert reopened.status_code == 200 and reopened.get_json()["status"] == "open"
    assert reopened.get_json()["expires_at"] == listing["expires_at"]
    refused(client.post(f"{path}/reopen", headers=tokens.headers("ans")), 409, "conflict")
    assert not [action for action in audit_actions(tokens.world) if action.startswith("listing.")]


def test_reopening_may_give_a_new_expiry(client, tokens):
    listing = post(client, tokens)
    path = f"/api/v1/listings/{listing['id']}"
    client.post(f"{path}/close", headers=tokens.headers("ans"))
    expiry = moment(days=10)
    too_late = {"expires_at": "9999-12-31T23:00:00-12:00"}
    refused(client.post(f"{path}/reopen", headers=tokens.headers("ans"), json=too_late), 422, "validation_failed")
    reopened = client.post(f"{path}/reopen", headers=tokens.headers("ans"), json={"expires_at": stamp(expiry)})
    assert reopened.status_code == 200 and parsed(reopened.get_json()["expires_at"]) == expiry


def test_a_coordinator_closes_and_reopens_someones_listing_only_with_a_reason_which_is_audited(client, tokens):
    listing = post(client, tokens)
    path = f"/api/v1/listings/{listing['id']}"
    headers = tokens.headers("coordinator")
    refused(client.post(f"{path}/close", headers=headers), 422, "invalid_input")
    assert stored(tokens.world, listing["id"]).status == "open"
    closed = client.post(f"{path}/close", headers=headers, json={"reason": "dubbel geplaatst"})
    assert closed.status_code == 200 and closed.get_json()["status"] == "closed"
    refused(client.post(f"{path}/reopen", headers=headers, json={}), 422, "invalid_input")
    reopened = client.post(f"{path}/reopen", headers=headers, json={"reason": "per ongeluk"})
    assert reopened.status_code == 200 and reopened.get_json()["status"] == "open"
    actions = [action for action in audit_actions(tokens.world) if action.startswith("listing.")]
    assert actions == ["listing.closed", "listing.reopened"]


@pytest.mark.parametrize("action", ["close", "reopen"])
def test_closing_and_reopening_are_refused_to_everyone_else(client, tokens, other_tokens, action):
    listing = post(client, tokens)
    path = f"/api/v1/listings/{listing['id']}"
    if action == "reopen":
        client.post(f"{path}/close", headers=tokens.headers("ans"))
    before = stored(tokens.world, listing["id"]).status
    body = {"reason": "omdat"}
    refused(client.post(f"{path}/{action}", headers=tokens.headers("bert"), json=body), 403, "not_allowed")
    refused(client.post(f"{path}/{action}", headers=tokens.headers("partner_all"), json=body), 403, "not_allowed")
    refused(client.post(f"{path}/{action}", headers=other_tokens.headers("ans"), json=body), 404, "not_found")
    refused(client.post(f"{path}/{action}", headers=other_tokens.headers("coordinator"), json=body), 404, "not_found")
    refused(client.post(f"{path}/{action}", json=body), 401, "unauthenticated")
    refused(
        client.post(f"{path}/{action}", headers=tokens.headers("ans"), json={"status": "open"}),
        422,
        "validation_failed",
    )
    refused(client.post(f"/api/v1/listings/abc/{action}", headers=tokens.headers("ans")), 404, "not_found")
    assert stored(tokens.world, listing["id"]).status == before


# --- suggestions ----------------------------------------------------------------------------------------------


def test_the_requester_gets_suggestions_with_reasons_willing_and_available_first(client, tokens):
    world = tokens.world
    request = post(client, tokens)
    post(client, tokens, "bert", kind="offer", title="Ik doe boodschappen")
    response = client.get(f"/api/v1/listings/{request['id']}/suggestions", headers=tokens.headers("ans"))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["next_cursor"] is None
    first = body["data"][0]
    assert first == {
        "membership_id": str(world.bert.id),
        "first_name": "Bert",
        "neighbourhood": "Dapperbuurt",
        "willing": True,
        "available": True,
        "reasons": [
            {"code": "willing_offer", "text": "offers this kind of help"},
            {"code": "available_any_time", "text": "the task can be done any time"},
            {"code": "able", "text": "active member with room for these hours"},
        ],
    }
    suggested = [item["membership_id"] for item in body["data"]]
    assert str(world.ans.id) not in suggested and str(world.cor.id) in suggested
    limited = client.get(
        f"/api/v1/listings/{request['id']}/suggestions", headers=tokens.headers("ans"), query_string={"limit": 1}
    )
    assert [item["first_name"] for item in limited.get_json()["data"]] == ["Bert"]


def test_suggestions_are_for_the_requester_coordinators_and_partner_keys_with_the_scope(client, tokens, other_tokens):
    request = post(client, tokens)
    path = f"/api/v1/listings/{request['id']}/suggestions"
    for headers in (tokens.headers("coordinator"), tokens.partner("listings:read")):
        response = client.get(path, headers=headers)
        assert response.status_code == 200 and response.get_json()["data"]
    refused(client.get(path, headers=tokens.headers("bert")), 403, "not_allowed")
    refused(client.get(path, headers=tokens.partner("members:read")), 403, "insufficient_scope")
    refused(client.get(path, headers=other_tokens.headers("ans")), 404, "not_found")
    refused(client.get(path, headers=other_tokens.headers("coordinator")), 404, "not_found")
    refused(client.get(path, headers=other_tokens.partner("listings:read")), 404, "not_found")
    refused(client.get(path), 401, "unauthenticated")
    refused(client.get(path, headers=tokens.headers("ans"), query_string={"limit": 51}), 422, "validation_failed")
    refused(client.get(path, headers=tokens.headers("ans"), query_string={"cursor": "x"}), 422, "validation_failed")


def test_suggestions_are_for_open_requests_only(client, tokens):
    offer = post(client, tokens, kind="offer")
    refused(client.get(f"/api/v1/listings/{offer['id']}/suggestions", headers=tokens.headers("ans")), 409, "conflict")
    request = post(client, tokens)
    client.post(f"/api/v1/listings/{request['id']}/close", headers=tokens.headers("ans"))
    refused(client.get(f"/api/v1/listings/{request['id']}/suggestions", headers=tokens.headers("ans")), 409, "conflict")


# --- invitations ----------------------------------------------------------------------------------------------


def invite(client, tokens, listing, who="ans", **body):
    return client.post(f"/api/v1/listings/{listing['id']}/invitations", headers=tokens.headers(who), json=body)


def test_the_requester_invites_a_member_who_then_sees_the_invitation(client, tokens):
    world = tokens.world
    request = post(client, tokens)
    response = invite(client, tokens, request, membership_id=str(world.bert.id), message="Zou je willen?")
    assert response.status_code == 201, response.get_json()
    invitation = response.get_json()
    assert invitation | {"id": "", "created_at": ""} == {
        "id": "",
        "community_id": str(world.community_id),
        "listing_id": request["id"],
        "membership_id": str(world.bert.id),
        "message": "Zou je willen?",
        "status": "open",
        "created_at": "",
    }
    mine = client.get(
        "/api/v1/me/invitations", headers=tokens.headers("bert"), query_string={"community_id": world.community_id}
    )
    assert mine.status_code == 200, mine.get_json()
    assert mine.get_json() == {
        "data": [invitation | {"invited_by_first_name": "Ans", "listing": request}],
        "next_cursor": None,
    }
    others = client.get(
        "/api/v1/me/invitations", headers=tokens.headers("cor"), query_string={"community_id": world.community_id}
    )
    assert others.get_json() == {"data": [], "next_cursor": None}


def test_a_coordinator_invites_for_someones_request_and_it_is_audited(client, tokens):
    world = tokens.world
    request = post(client, tokens)
    response = invite(client, tokens, request, "coordinator", membership_id=str(world.cor.id))
    assert response.status_code == 201
    assert "invitation.created" in audit_actions(world)
    mine = client.get(
        "/api/v1/me/invitations", headers=tokens.headers("cor"), query_string={"community_id": world.community_id}
    ).get_json()["data"]
    assert mine[0]["invited_by_first_name"] == "Carla" and mine[0]["listing"]["owner_first_name"] == "Ans"


def test_inviting_honours_an_idempotency_key(client, tokens):
    world = tokens.world
    request = post(client, tokens)
    path = f"/api/v1/listings/{request['id']}/invitations"
    headers = tokens.headers("ans", **{"Idempotency-Key": "invite-bert"})
    first = client.post(path, headers=headers, json={"membership_id": str(world.bert.id)})
    again = client.post(path, headers=headers, json={"membership_id": str(world.bert.id)})
    assert (first.status_code, again.status_code) == (201, 201) and again.get_json() == first.get_json()
    refused(
        client.post(path, headers=headers, json={"membership_id": str(world.cor.id)}), 422, "idempotency_key_reused"
    )
    assert count(world, Invitation) == 1


def test_an_invitation_is_refused_to_others_and_for_the_wrong_member_and_nothing_is_recorded(
    client, tokens, other_tokens
):
    world, other = tokens.world, other_tokens.world
    request = post(client, tokens)
    offer = post(client, tokens, kind="offer")
    babysitting = post(client, tokens, category_id=str(world.categories["oppassen"]))
    bert = {"membership_id": str(world.bert.id)}
    refused(invite(client, tokens, request, "bert", membership_id=str(world.cor.id)), 403, "not_allowed")
    refused(invite(client, tokens, request, "partner_all", **bert), 403, "not_allowed")
    refused(invite(client, other_tokens, request, "ans", **bert), 404, "not_found")
    refused(invite(client, other_tokens, request, "coordinator", **bert), 404, "not_found")
    refused(client.post(f"/api/v1/listings/{request['id']}/invitations", json=bert), 401, "unauthenticated")
    refused(invite(client, tokens, request, membership_id=str(other.bert.id)), 404, "not_found")
    refused(invite(client, tokens, request, membership_id=str(world.ans.id)), 422, "invalid_input")
    refused(invite(client, tokens, request, membership_id=world.bert.id), 422, "validation_failed")
    refused(invite(client, tokens, request, membership_id="2147483648"), 422, "validation_failed")
    refused(invite(client, tokens, request, **bert, listing_id="1"), 422, "validation_failed")
    refused(invite(client, tokens, request, **bert, message="x" * 501), 422, "validation_failed")
    refused(invite(client, tokens, offer, **bert), 409, "conflict")
    refused(invite(client, tokens, babysitting, **bert), 422, "safeguarding_check_required")
    refused(invite(client, tokens, {"id": "abc"}, **bert), 404, "not_found")
    assert count(world, Invitation) == 0
    assert invite(client, tokens, request, **bert).status_code == 201
    refused(invite(client, tokens, request, **bert), 409, "conflict")
    assert count(world, Invitation) == 1


def test_open_invitations_are_paged_newest_first(client, tokens):
    world = tokens.world
    requests = [post(client, tokens, title=f"Vraag {number}") for number in range(3)]
    for request in requests:
        assert invite(client, tokens, request, membership_id=str(world.bert.id)).status_code == 201
    seen, cursor = [], None
    while True:
        query = {"community_id": world.community_id, "limit": 2} | ({"cursor": cursor} if cursor else {})
        body = client.get("/api/v1/me/invitations", headers=tokens.headers("bert"), query_string=query).get_json()
        seen += [item["listing"]["title"] for item in body["data"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == ["Vraag 2", "Vraag 1", "Vraag 0"]


def test_the_invitations_list_is_for_members_of_the_community_only(client, tokens, other_tokens):
    community = tokens.world.community_id
    path = "/api/v1/me/invitations"
    own = {"community_id": community}
    refused(client.get(path, headers=other_tokens.headers("ans"), query_string=own), 404, "not_found")
    refused(client.get(path, headers=other_tokens.headers("coordinator"), query_string=own), 404, "not_found")
    refused(client.get(path, headers=tokens.headers("partner_all"), query_string=own), 403, "not_allowed")
    refused(client.get(path, query_string=own), 401, "unauthenticated")
    refused(client.get(path, headers=tokens.headers("ans")), 422, "validation_failed")
    refused(
        client.get(path, headers=tokens.headers("ans"), query_string={"community_id": "²"}), 422, "validation_failed"
    )
    refused(client.get(path, headers=tokens.headers("ans"), query_string={**own, "cursor": "%%"}), 422, "invalid_input")
    refused(
        client.get(path, headers=tokens.headers("ans"), query_string={**own, "membership_id": "1"}),
        422,
        "validation_failed",
    )


# --- the spec -------------------------------------------------------------------------------------------------


def test_the_spec_lists_every_listings_operation_with_a_summary(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    operations = {
        ("get", "/api/v1/communities/{community_id}/listings"),
        ("post", "/api/v1/communities/{community_id}/listings"),
        ("get", "/api/v1/listings/{listing_id}"),
        ("patch", "/api/v1/listings/{listing_id}"),
        ("post", "/api/v1/listings/{listing_id}/close"),
        ("post", "/api/v1/listings/{listing_id}/reopen"),
        ("get", "/api/v1/listings/{listing_id}/suggestions"),
        ("post", "/api/v1/listings/{listing_id}/invitations"),
        ("get", "/api/v1/me/invitations"),
    }
    for method, path in operations:
        assert paths[path][method]["summary"], f"{method.upper()} {path}"
    create = paths["/api/v1/communities/{community_id}/listings"]["post"]
    assert any(
        parameter["name"] == "Idempotency-Key" and not parameter["required"] for parameter in create["parameters"]
    )
