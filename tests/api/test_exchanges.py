"""The exchanges resource: from a response to confirmed minutes through HTTP, each step's refusals and roles,
Idempotency-Key on the ledger writes, records on behalf, lists, and thank-you notes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

import ledger
from ledger.models import transaction_table
from timebank import listings, matching, members, safeguarding
from timebank.models import Exchange

# --- helpers --------------------------------------------------------------------------------------------------


def post_listing(world, owner, *, kind="request", category="boodschappen"):
    """A listing, posted through its use case."""
    return world.db.run(
        listings.post_listing,
        actor=owner.actor,
        community_id=world.community_id,
        kind=kind,
        title=f"{kind} for {category}",
        category_id=world.categories[category],
        estimated_minutes=60,
    )


def give_check(world, person):
    """A current certificate of conduct, recorded by the world's safeguarding officer."""
    today = datetime.now(UTC).date()
    world.db.run(
        safeguarding.record_check,
        actor=world.officer.actor,
        community_id=world.community_id,
        membership_id=person.id,
        scheme="vog",
        seen_on=today - timedelta(days=7),
        review_on=today + timedelta(days=365),
    )


def account(world, person):
    return world.db.read(lambda *, session: ledger.get_account(session, person.account_id))


def figures(world, *people):
    """(balance, pending debits, pending credits) of each person's account."""
    return [
        (found.balance, found.pending_debits, found.pending_credits)
        for found in (account(world, person) for person in people)
    ]


def exchange_transactions(world) -> int:
    columns = transaction_table.c
    query = (
        sa.select(sa.func.count())
        .select_from(transaction_table)
        .where(columns.ledger_id == world.community.ledger_id, columns.kind == "exchange")
    )
    return world.db.read(lambda *, session: session.execute(query).scalar_one())


def exchange_rows(world) -> list[tuple[int, str, int | None]]:
    """The world's exchanges (the database is shared by the session's tests)."""
    query = (
        sa.select(Exchange.id, Exchange.status, Exchange.minutes)
        .where(Exchange.community_id == world.community_id)
        .order_by(Exchange.id)
    )
    return world.db.read(lambda *, session: [tuple(row) for row in session.execute(query)])


def key(value: str) -> dict:
    return {"Idempotency-Key": value}


def respond(client, tokens, listing, who="bert", **body):
    response = client.post(f"/api/v1/listings/{listing.id}/responses", headers=tokens.headers(who), json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def step(client, tokens, exchange_id, action, who, *, json=None, idempotency_key=None):
    headers = tokens.headers(who, **(key(idempotency_key) if idempotency_key else {}))
    return client.post(f"/api/v1/exchanges/{exchange_id}/{action}", headers=headers, json=json)


def agreed(client, tokens, world, *, helper="bert", helped="ans"):
    """A request by ``helped``, answered by ``helper`` and agreed, through HTTP; the exchange's id."""
    exchange = respond(client, tokens, post_listing(world, getattr(world, helped)), helper)
    assert step(client, tokens, exchange["id"], "agree", helped).status_code == 200
    return exchange["id"]


def recorded(client, tokens, world, *, minutes=90, helper="bert", helped="ans"):
    exchange_id = agreed(client, tokens, world, helper=helper, helped=helped)
    response = step(
        client, tokens, exchange_id, "record", helper, json={"minutes": minutes}, idempotency_key=f"rec-{exchange_id}"
    )
    assert response.status_code == 200, response.get_json()
    return exchange_id


def disputed(client, tokens, world):
    exchange_id = recorded(client, tokens, world)
    response = step(client, tokens, exchange_id, "dispute", "ans", json={"reason": "it took an hour"})
    assert response.status_code == 200
    return exchange_id


def refused(response, status: int, code: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == "application/problem+json"
    assert response.get_json()["code"] == code


# --- the whole life cycle -------------------------------------------------------------------------------------


def test_the_full_life_cycle_through_http_moves_the_minutes_from_the_helped_member_to_the_helper(client, tokens, world):
    before = figures(world, world.ans, world.bert)
    listing = post_listing(world, world.ans)

    exchange = respond(client, tokens, listing, "bert", message="Saturday?")
    assert exchange["status"] == "proposed" and exchange["listing_id"] == str(listing.id)
    assert (exchange["helper_membership_id"], exchange["helped_membership_id"]) == (
        str(world.bert.id),
        str(world.ans.id),
    )
    assert exchange["events"][0]["kind"] == "responded" and exchange["events"][0]["note"] == "Saturday?"

    agreed_now = step(client, tokens, exchange["id"], "agree", "ans")
    assert agreed_now.status_code == 200 and agreed_now.get_json()["status"] == "agreed"

    recorded_now = step(client, tokens, exchange["id"], "record", "bert", json={"minutes": 90}, idempotency_key="r1")
    body = recorded_now.get_json()
    assert recorded_now.status_code == 200 and body["status"] == "recorded" and body["minutes"] == 90
    assert body["recorded_by_membership_id"] == str(world.bert.id) and body["auto_confirm_at"]
    assert figures(world, world.ans, world.bert) == [
        (before[0][0], 90, 0),
        (before[1][0], 0, 90),
    ]

    confirmed = step(client, tokens, exchange["id"], "confirm", "ans", idempotency_key="c1")
    body = confirmed.get_json()
    assert confirmed.status_code == 200 and body["status"] == "confirmed" and body["confirmed_at"]
    assert body["ledger_transaction_id"] is not None
    assert figures(world, world.ans, world.bert) == [(before[0][0] - 90, 0, 0), (before[1][0] + 90, 0, 0)]

    thanked = step(client, tokens, exchange["id"], "thank", "ans", json={"text": "Thank you, Bert!"})
    assert thanked.status_code == 201
    read_back = client.get(f"/api/v1/exchanges/{exchange['id']}", headers=tokens.headers("bert")).get_json()
    assert read_back == thanked.get_json()
    assert [event["kind"] for event in read_back["events"]] == [
        "responded",
        "agreed",
        "recorded",
        "confirmed",
        "thanked",
    ]
    assert read_back["events"][2]["minutes"] == 90
    assert read_back["events"][2]["actor_membership_id"] == str(world.bert.id)
    assert read_back["thank_you"]["text"] == "Thank you, Bert!"
    assert read_back["thank_you"]["to_membership_id"] == str(world.bert.id)
    assert datetime.fromisoformat(read_back["created_at"]).utcoffset() is not None


# --- Idempotency-Key on the ledger writes ---------------------------------------------------------------------


def test_recording_again_with_the_same_key_and_body_gives_the_same_answer_and_one_transaction(client, tokens, world):
    exchange_id = agreed(client, tokens, world)
    transactions = exchange_transactions(world)
    first = step(client, tokens, exchange_id, "record", "bert", json={"minutes": 60}, idempotency_key="same")
    again = step(client, tokens, exchange_id, "record", "bert", json={"minutes": 60}, idempotency_key="same")
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
    assert exchange_transactions(world) == transactions + 1
    assert figures(world, world.bert)[0][2] == 60

    other = step(client, tokens, exchange_id, "record", "bert", json={"minutes": 61}, idempotency_key="same")
    refused(other, 422, "idempotency_key_reused")
    assert exchange_transactions(world) == transactions + 1
    assert figures(world, world.bert)[0][2] == 60


def test_confirming_again_with_the_same_key_replays_and_with_a_new_key_is_a_conflict(client, tokens, world):
    exchange_id = recorded(client, tokens, world)
    first = step(client, tokens, exchange_id, "confirm", "ans", idempotency_key="conf")
    again = step(client, tokens, exchange_id, "confirm", "ans", idempotency_key="conf")
    assert (first.status_code, again.status_code) == (200, 200) and again.get_json() == first.get_json()
    refused(step(client, tokens, exchange_id, "confirm", "ans", idempotency_key="conf-2"), 409, "conflict")
    refused(
        step(client, tokens, exchange_id, "confirm", "ans", json={"minutes": 5}, idempotency_key="conf"),
        422,
        "idempotency_key_reused",
    )


@pytest.mark.parametrize(
    ("action", "body"),
    [("record", {"minutes": 30}), ("confirm", None), ("settle", {"outcome": "void", "reason": "r"})],
)
def test_the_ledger_writes_need_an_idempotency_key(client, tokens, world, action, body):
    exchange_id = agreed(client, tokens, world)
    who = "coordinator" if action == "settle" else "bert"
    refused(step(client, tokens, exchange_id, action, who, json=body), 400, "idempotency_key_missing")
    malformed = step(client, tokens, exchange_id, action, who, json=body, idempotency_key="with space")
    refused(malformed, 400, "malformed_request")
    assert exchange_rows(world)[-1][1:] == ("agreed", None)


# --- responding and invitations -------------------------------------------------------------------------------


def test_a_response_to_an_offer_makes_the_responder_the_helped_member(client, tokens, world):
    offer = post_listing(world, world.cor, kind="offer")
    exchange = respond(client, tokens, offer, "ans")
    assert (exchange["helper_membership_id"], exchange["helped_membership_id"]) == (
        str(world.cor.id),
        str(world.ans.id),
    )
    assert exchange["helped_agreed"] is True and exchange["helper_agreed"] is False


def test_a_response_with_an_idempotency_key_is_made_once(client, tokens, world):
    listing = post_listing(world, world.ans)
    path, headers = f"/api/v1/listings/{listing.id}/responses", tokens.headers("bert", **key("resp-1"))
    first = client.post(path, headers=headers, json={"message": "me!"})
    again = client.post(path, headers=headers, json={"message": "me!"})
    assert (first.status_code, again.status_code) == (201, 201) and again.get_json() == first.get_json()
    assert len(exchange_rows(world)) == 1


def test_responding_is_refused_as_the_rules_say_and_changes_nothing(client, tokens, other_tokens, world):
    listing = post_listing(world, world.ans)
    path = f"/api/v1/listings/{listing.id}/responses"
    refused(client.post(path, headers=tokens.headers("ans"), json={}), 403, "not_allowed")  # own listing
    refused(client.post(path, headers=other_tokens.headers("ans"), json={}), 404, "not_found")
    refused(client.post(path, headers=other_tokens.headers("coordinator"), json={}), 404, "not_found")
    refused(client.post(path, headers=tokens.headers("partner_all"), json={}), 403, "not_allowed")
    refused(client.post(path, headers=tokens.partner("exchanges:write"), json={}), 403, "not_allowed")
    refused(client.post(path, json={}), 401, "unauthenticated")
    refused(client.post(path, headers=tokens.headers("bert"), json={"helper": "1"}), 422, "validation_failed")
    refused(client.post(path, headers=tokens.headers("bert"), json={"message": "x" * 501}), 422, "validation_failed")
    refused(client.post("/api/v1/listings/abc/responses", headers=tokens.headers("bert"), json={}), 404, "not_found")
    refused(client.post("/api/v1/listings/999999/responses", headers=tokens.headers("bert"), json={}), 404, "not_found")
    assert exchange_rows(world) == []
    respond(client, tokens, listing, "bert")
    refused(client.post(path, headers=tokens.headers("bert"), json={}), 409, "conflict")  # one open exchange each
    assert len(exchange_rows(world)) == 1
    world.db.run(listings.close_listing, actor=world.ans.actor, listing_id=listing.id)
    refused(client.post(path, headers=tokens.headers("cor"), json={}), 409, "conflict")
    assert len(exchange_rows(world)) == 1


def test_accepting_an_invitation_from_the_requester_makes_an_agreed_exchange(client, tokens, world):
    listing = post_listing(world, world.ans)
    invitation = world.db.run(
        matching.invite_member, actor=world.ans.actor, listing_id=listing.id, membership_id=world.cor.id
    )
    path = f"/api/v1/invitations/{invitation.id}/accept"
    refused(client.post(path, headers=tokens.headers("ans"), json={}), 403, "not_allowed")  # the inviter
    refused(client.post(path, headers=tokens.headers("coordinator"), json={}), 403, "not_allowed")
    refused(client.post(path, headers=tokens.headers("bert"), json={}), 404, "not_found")
    refused(client.post(path, headers=tokens.headers("partner_all"), json={}), 403, "not_allowed")
    refused(client.post(path, headers=tokens.headers("cor"), json={"extra": True}), 422, "validation_failed")
    assert exchange_rows(world) == []

    accepted = client.post(path, headers=tokens.headers("cor"), json={"message": "Glad to"})
    assert accepted.status_code == 201
    body = accepted.get_json()
    assert body["status"] == "agreed" and body["helper_membership_id"] == str(world.cor.id)
    assert body["events"][0]["kind"] == "invitation_accepted"
    refused(client.post(path, headers=tokens.headers("cor"), json={}), 409, "conflict")


def test_declining_an_invitation_is_for_the_member_invited(client, tokens, other_tokens, world):
    listing = post_listing(world, world.ans)
    invitation = world.db.run(
        matching.invite_member, actor=world.ans.actor, listing_id=listing.id, membership_id=world.bert.id
    )
    path = f"/api/v1/invitations/{invitation.id}/decline"
    refused(client.post(path, headers=tokens.headers("ans")), 403, "not_allowed")
    refused(client.post(path, headers=other_tokens.headers("coordinator")), 404, "not_found")
    refused(client.post(path, headers=other_tokens.headers("bert")), 404, "not_found")
    refused(client.post(path, headers=tokens.partner("exchanges:write")), 403, "not_allowed")
    refused(client.post(path), 401, "unauthenticated")
    refused(client.post(path, headers=tokens.headers("bert"), json={"why": "busy"}), 422, "validation_failed")
    declined = client.post(path, headers=tokens.headers("bert"))
    assert declined.status_code == 200
    assert declined.get_json()["status"] == "declined" and declined.get_json()["answered_at"]
    refused(client.post(path, headers=tokens.headers("bert"), json={}), 409, "conflict")
    refused(
        client.post(f"/api/v1/invitations/{invitation.id}/accept", headers=tokens.headers("bert"), json={}),
        409,
        "conflict",
    )
    assert exchange_rows(world) == []


# --- agreeing, the children's rules, cancelling ---------------------------------------------------------------


def test_only_the_two_sides_agree(client, tokens, other_tokens, world):
    exchange = respond(client, tokens, post_listing(world, world.ans), "bert")
    exchange_id = exchange["id"]
    refused(step(client, tokens, exchange_id, "agree", "cor"), 404, "not_found")  # not a party: does not exist
    refused(step(client, tokens, exchange_id, "agree", "coordinator"), 403, "not_allowed")  # sees it, not a side
    refused(step(client, other_tokens, exchange_id, "agree", "ans"), 404, "not_found")
    refused(step(client, other_tokens, exchange_id, "agree", "coordinator"), 404, "not_found")
    refused(step(client, tokens, exchange_id, "agree", "partner_all"), 403, "not_allowed")
    refused(client.post(f"/api/v1/exchanges/{exchange_id}/agree"), 401, "unauthenticated")
    refused(step(client, tokens, exchange_id, "agree", "ans", json={"status": "agreed"}), 422, "validation_failed")
    refused(step(client, tokens, "0", "agree", "ans"), 404, "not_found")
    assert exchange_rows(world)[0][1] == "proposed"
    assert step(client, tokens, exchange_id, "agree", "ans").get_json()["status"] == "agreed"
    assert step(client, tokens, exchange_id, "agree", "bert").status_code == 200  # agreeing twice changes nothing


def test_a_task_with_children_needs_the_helpers_check_and_the_parents_acceptance(client, tokens, world):
    exchange_id = respond(client, tokens, post_listing(world, world.ans, category="oppassen"), "bert")["id"]
    refused(step(client, tokens, exchange_id, "agree", "ans"), 422, "safeguarding_check_required")
    give_check(world, world.bert)
    refused(step(client, tokens, exchange_id, "agree", "ans"), 422, "parent_acceptance_required")
    assert exchange_rows(world)[0][1] == "proposed"

    refused(step(client, tokens, exchange_id, "accept-helper", "bert"), 403, "not_allowed")  # only the parent
    refused(step(client, tokens, exchange_id, "accept-helper", "partner_all"), 403, "not_allowed")
    refused(step(client, tokens, exchange_id, "accept-helper", "cor"), 404, "not_found")
    accepted = step(client, tokens, exchange_id, "accept-helper", "ans")
    assert accepted.status_code == 200
    assert accepted.get_json()["parent_accepted_helper"] is True and accepted.get_json()["status"] == "proposed"
    assert step(client, tokens, exchange_id, "agree", "ans").get_json()["status"] == "agreed"


def test_accepting_a_helper_without_children_is_a_conflict(client, tokens, world):
    exchange_id = respond(client, tokens, post_listing(world, world.ans), "bert")["id"]
    refused(step(client, tokens, exchange_id, "accept-helper", "ans"), 409, "conflict")


def test_either_side_cancels_until_minutes_are_recorded(client, tokens, other_tokens, world):
    exchange_id = agreed(client, tokens, world)
    refused(step(client, tokens, exchange_id, "cancel", "partner_all", json={}), 403, "not_allowed")
    refused(step(client, other_tokens, exchange_id, "cancel", "bert", json={}), 404, "not_found")
    refused(step(client, tokens, exchange_id, "cancel", "coordinator", json={}), 403, "not_allowed")
    refused(step(client, tokens, exchange_id, "cancel", "bert", json={"reason": "x" * 501}), 422, "validation_failed")
    cancelled = step(client, tokens, exchange_id, "cancel", "bert", json={"reason": "ill"})
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert cancelled.get_json()["events"][-1] == {
        **cancelled.get_json()["events"][-1],
        "kind": "cancelled",
        "note": "ill",
    }

    later = recorded(client, tokens, world, helper="cor", helped="ans")
    refused(step(client, tokens, later, "cancel", "ans"), 409, "conflict")
    assert exchange_rows(world)[-1][1] == "recorded"


# --- recording, confirming, disputing, settling ---------------------------------------------------------------


def test_recording_is_refused_as_the_rules_say_and_holds_nothing(client, tokens, other_tokens, world):
    proposed = respond(client, tokens, post_listing(world, world.ans), "bert")["id"]
    before = figures(world, world.ans, world.bert)
    refused(
        step(client, tokens, proposed, "record", "bert", json={"minutes": 30}, idempotency_key="a"), 409, "conflict"
    )
    step(client, tokens, proposed, "agree", "ans")
    for minutes in (0, 721, "60", 1.5):
        response = step(
            client, tokens, proposed, "record", "bert", json={"minutes": minutes}, idempotency_key=f"m{minutes}"
        )
        refused(response, 422, "validation_failed")
    refused(step(client, tokens, proposed, "record", "bert", json={}, idempotency_key="b"), 422, "validation_failed")
    refused(
        step(client, tokens, proposed, "record", "bert", json={"minutes": 30, "balance": 9}, idempotency_key="c"),
        422,
        "validation_failed",
    )
    refused(
        step(client, tokens, proposed, "record", "coordinator", json={"minutes": 30}, idempotency_key="d"),
        403,
        "not_allowed",
    )
    refused(
        step(client, other_tokens, proposed, "record", "coordinator", json={"minutes": 30}, idempotency_key="e"),
        404,
        "not_found",
    )
    refused(
        step(client, tokens, proposed, "record", "partner_all", json={"minutes": 30}, idempotency_key="f"),
        403,
        "not_allowed",
    )
    assert figures(world, world.ans, world.bert) == before
    assert exchange_rows(world)[0][1:] == ("agreed", None)


def test_the_recorder_cannot_confirm_or_dispute_their_own_minutes(client, tokens, world):
    exchange_id = recorded(client, tokens, world)
    refused(step(client, tokens, exchange_id, "confirm", "bert", idempotency_key="own"), 403, "not_allowed")
    refused(step(client, tokens, exchange_id, "dispute", "bert", json={"reason": "no"}), 403, "not_allowed")
    refused(step(client, tokens, exchange_id, "confirm", "coordinator", idempotency_key="co"), 403, "not_allowed")
    refused(step(client, tokens, exchange_id, "confirm", "partner_all", idempotency_key="pa"), 403, "not_allowed")
    refused(step(client, tokens, exchange_id, "dispute", "ans", json={"reason": ""}), 422, "validation_failed")
    refused(step(client, tokens, exchange_id, "dispute", "ans", json={}), 422, "validation_failed")
    assert exchange_rows(world)[0][1] == "recorded"


def test_a_coordinator_settles_a_dispute_by_changing_the_minutes(client, tokens, other_tokens, world):
    exchange_id = disputed(client, tokens, world)
    body = {"outcome": "change", "minutes": 60, "reason": "an hour, both said"}
    before = figures(world, world.ans, world.bert)
    refused(step(client, tokens, exchange_id, "settle", "ans", json=body, idempotency_key="s1"), 403, "not_allowed")
    refused(
        step(client, other_tokens, exchange_id, "settle", "coordinator", json=body, idempotency_key="s2"),
        404,
        "not_found",
    )
    refused(
        step(client, tokens, exchange_id, "settle", "partner_none", json=body, idempotency_key="s3"),
        403,
        "insufficient_scope",
    )
    refused(
        step(
            client,
            tokens,
            exchange_id,
            "settle",
            "coordinator",
            json={**body, "outcome": "split"},
            idempotency_key="s4",
        ),
        422,
        "validation_failed",
    )
    refused(
        step(
            client,
            tokens,
            exchange_id,
            "settle",
            "coordinator",
            json={"outcome": "change", "reason": "r"},
            idempotency_key="s5",
        ),
        422,
        "invalid_input",
    )
    assert figures(world, world.ans, world.bert) == before

    settled = step(client, tokens, exchange_id, "settle", "coordinator", json=body, idempotency_key="s6")
    assert settled.status_code == 200
    assert settled.get_json()["status"] == "confirmed" and settled.get_json()["minutes"] == 60
    assert settled.get_json()["settlement_reason"] == "an hour, both said"
    assert figures(world, world.ans, world.bert) == [(before[0][0] - 60, 0, 0), (before[1][0] + 60, 0, 0)]
    refused(
        step(client, tokens, exchange_id, "settle", "coordinator", json=body, idempotency_key="s7"), 409, "conflict"
    )


def test_a_partner_key_with_exchanges_write_settles_a_dispute(client, tokens, world):
    exchange_id = disputed(client, tokens, world)
    before = figures(world, world.ans, world.bert)
    body = {"outcome": "void", "reason": "nobody remembers"}
    voided = step(client, tokens, exchange_id, "settle", "partner_all", json=body, idempotency_key="v")
    assert voided.status_code == 200 and voided.get_json()["status"] == "voided"
    assert voided.get_json()["events"][-1]["actor_membership_id"] is None
    assert figures(world, world.ans, world.bert) == [(before[0][0], 0, 0), (before[1][0], 0, 0)]


def test_a_dispute_shows_its_reason_and_is_not_confirmed_by_the_disputer(client, tokens, world):
    exchange_id = disputed(client, tokens, world)
    read_back = client.get(f"/api/v1/exchanges/{exchange_id}", headers=tokens.headers("coordinator")).get_json()
    assert read_back["status"] == "disputed" and read_back["dispute_reason"] == "it took an hour"
    assert read_back["auto_confirm_at"] is None
    refused(step(client, tokens, exchange_id, "confirm", "ans", idempotency_key="late"), 409, "conflict")


# --- thanks ---------------------------------------------------------------------------------------------------


def test_thanks_come_once_from_the_helped_member_after_confirmation(client, tokens, world):
    exchange_id = recorded(client, tokens, world)
    refused(step(client, tokens, exchange_id, "thank", "ans", json={"text": "thanks"}), 409, "conflict")
    step(client, tokens, exchange_id, "confirm", "ans", idempotency_key="ok")
    refused(step(client, tokens, exchange_id, "thank", "bert", json={"text": "thanks"}), 403, "not_allowed")
    refused(step(client, tokens, exchange_id, "thank", "partner_all", json={"text": "thanks"}), 403, "not_allowed")
    refused(step(client, tokens, exchange_id, "thank", "ans", json={"text": ""}), 422, "validation_failed")
    refused(step(client, tokens, exchange_id, "thank", "ans", json={"text": "x" * 1001}), 422, "validation_failed")
    assert step(client, tokens, exchange_id, "thank", "ans", json={"text": "thanks"}).status_code == 201
    refused(step(client, tokens, exchange_id, "thank", "ans", json={"text": "again"}), 409, "conflict")


def test_thank_you_notes_show_to_others_only_if_the_helper_allows(client, tokens, other_tokens, world):
    exchange_id = recorded(client, tokens, world)
    step(client, tokens, exchange_id, "confirm", "ans", idempotency_key="ok")
    step(client, tokens, exchange_id, "thank", "ans", json={"text": "Lovely"})
    path = f"/api/v1/members/{world.bert.id}/thank-you-notes"

    own = client.get(path, headers=tokens.headers("bert")).get_json()
    assert own["shown"] is True and own["next_cursor"] is None
    assert [(note["from_first_name"], note["text"], note["exchange_id"]) for note in own["data"]] == [
        ("Ans", "Lovely", exchange_id)
    ]
    hidden = client.get(path, headers=tokens.headers("cor")).get_json()
    assert hidden == {"data": [], "next_cursor": None, "shown": False}

    world.db.run(
        members.update_profile,
        actor=world.bert.actor,
        membership_id=world.bert.id,
        visibility={"thank_you_notes": True},
    )
    assert client.get(path, headers=tokens.headers("cor")).get_json()["data"] == own["data"]
    assert client.get(path, headers=tokens.partner("members:read")).get_json()["data"] == own["data"]
    refused(client.get(path, headers=tokens.partner("ledger:read")), 403, "insufficient_scope")
    refused(client.get(path, headers=other_tokens.headers("ans")), 404, "not_found")
    refused(client.get(path, headers=other_tokens.headers("coordinator")), 404, "not_found")
    refused(client.get(path, headers=other_tokens.partner("members:read")), 404, "not_found")
    refused(client.get(path), 401, "unauthenticated")
    refused(client.get(path + "?limit=0", headers=tokens.headers("bert")), 422, "validation_failed")
    refused(client.get(path + "?sort=asc", headers=tokens.headers("bert")), 422, "validation_failed")


def test_thank_you_notes_come_in_pages(client, tokens, world):
    for helped in ("ans", "cor", "coordinator"):
        exchange_id = recorded(client, tokens, world, helped=helped)
        step(client, tokens, exchange_id, "confirm", helped, idempotency_key=f"ok-{exchange_id}")
        step(client, tokens, exchange_id, "thank", helped, json={"text": f"from {helped}"})
    path, seen, cursor = f"/api/v1/members/{world.bert.id}/thank-you-notes?limit=2", [], None
    while True:
        found = client.get(path + (f"&cursor={cursor}" if cursor else ""), headers=tokens.headers("bert")).get_json()
        seen += [note["text"] for note in found["data"]]
        cursor = found["next_cursor"]
        if cursor is None:
            break
    assert seen == ["from coordinator", "from cor", "from ans"]


# --- reading --------------------------------------------------------------------------------------------------


def test_an_exchange_is_read_by_its_sides_its_coordinators_and_a_partner_key_with_ledger_read(
    client, tokens, other_tokens, world
):
    exchange_id = recorded(client, tokens, world)
    path = f"/api/v1/exchanges/{exchange_id}"
    for headers in (
        tokens.headers("ans"),
        tokens.headers("bert"),
        tokens.headers("coordinator"),
        tokens.partner("ledger:read"),
        tokens.headers("partner_all"),
    ):
        response = client.get(path, headers=headers)
        assert response.status_code == 200 and response.get_json()["id"] == exchange_id
    refused(client.get(path, headers=tokens.headers("cor")), 404, "not_found")
    refused(client.get(path, headers=other_tokens.headers("ans")), 404, "not_found")
    refused(client.get(path, headers=other_tokens.headers("coordinator")), 404, "not_found")
    refused(client.get(path, headers=other_tokens.partner("ledger:read")), 404, "not_found")
    refused(client.get(path, headers=tokens.partner("exchanges:write")), 403, "insufficient_scope")
    refused(client.get(path), 401, "unauthenticated")
    refused(client.get("/api/v1/exchanges/x1", headers=tokens.headers("ans")), 404, "not_found")
    refused(client.get("/api/v1/exchanges/99999999", headers=tokens.headers("ans")), 404, "not_found")


def test_the_list_filters_a_members_exchanges_and_walks_in_pages(client, tokens, world):
    finished = recorded(client, tokens, world)
    step(client, tokens, finished, "confirm", "ans", idempotency_key="fin")
    waiting = recorded(client, tokens, world)
    proposed = respond(client, tokens, post_listing(world, world.ans), "cor")["id"]
    path = f"/api/v1/communities/{world.community_id}/exchanges"

    def ids(query, who="ans"):
        response = client.get(path + query, headers=tokens.headers(who) if isinstance(who, str) else who)
        assert response.status_code == 200, response.get_json()
        return [exchange["id"] for exchange in response.get_json()["data"]]

    assert ids("") == [proposed, waiting, finished]
    assert ids("?which=in_progress") == [proposed, waiting]
    assert ids("?which=waiting_for_me") == [waiting]
    assert ids("?which=waiting_for_me", "bert") == []
    assert ids("?which=finished") == [finished]
    assert ids(f"?membership_id={world.cor.id}", "coordinator") == [proposed]
    assert ids(f"?membership_id={world.cor.id}", tokens.partner("ledger:read")) == [proposed]

    walked, cursor = [], None
    while True:
        query = "?limit=1" + (f"&cursor={cursor}" if cursor else "")
        found = client.get(path + query, headers=tokens.headers("ans")).get_json()
        walked += [exchange["id"] for exchange in found["data"]]
        cursor = found["next_cursor"]
        if cursor is None:
            break
    assert walked == [proposed, waiting, finished]
    assert "events" not in client.get(path, headers=tokens.headers("ans")).get_json()["data"][0]


def test_the_list_is_refused_as_the_rules_say(client, tokens, other_tokens, world):
    path = f"/api/v1/communities/{world.community_id}/exchanges"
    refused(client.get(f"{path}?membership_id={world.ans.id}", headers=tokens.headers("cor")), 403, "not_allowed")
    refused(client.get(path, headers=tokens.partner("ledger:read")), 404, "not_found")  # a key names the member
    refused(client.get(path, headers=tokens.partner("exchanges:write")), 403, "insufficient_scope")
    refused(client.get(path, headers=other_tokens.headers("ans")), 404, "not_found")
    refused(
        client.get(f"{path}?membership_id={world.ans.id}", headers=other_tokens.headers("coordinator")),
        404,
        "not_found",
    )
    refused(
        client.get(f"{path}?membership_id={world.ans.id}", headers=other_tokens.partner("ledger:read")),
        404,
        "not_found",
    )
    refused(client.get(path), 401, "unauthenticated")
    refused(client.get(f"{path}?which=mine", headers=tokens.headers("ans")), 422, "validation_failed")
    refused(client.get(f"{path}?cursor=not-a-cursor", headers=tokens.headers("ans")), 422, "invalid_input")
    refused(client.get(f"{path}?limit=101", headers=tokens.headers("ans")), 422, "validation_failed")
    refused(client.get(f"{path}?status=open", headers=tokens.headers("ans")), 422, "validation_failed")
    refused(client.get("/api/v1/communities/none/exchanges", headers=tokens.headers("ans")), 404, "not_found")


# --- recording on behalf --------------------------------------------------------------------------------------


def on_behalf(client, world, headers, *, idempotency_key="", community_id=None, **changes):
    """POST a record on behalf of Bert (helper) and Ans; a fresh Idempotency-Key unless one is given (None: none)."""
    body = {
        "helper_membership_id": str(world.bert.id),
        "helped_membership_id": str(world.ans.id),
        "minutes": 45,
        "attested": True,
        "description": "groceries",
        "reason": "Ans phoned",
        **changes,
    }
    community_id = community_id or world.community_id
    return client.post(
        f"/api/v1/communities/{community_id}/exchanges/on-behalf",
        headers={**headers, **({} if idempotency_key is None else key(idempotency_key or uuid.uuid4().hex))},
        json=body,
    )


def test_a_coordinator_records_an_attested_exchange_on_behalf_once(client, tokens, world):
    before = figures(world, world.ans, world.bert)
    first = on_behalf(client, world, tokens.headers("coordinator"), idempotency_key="ob-1")
    again = on_behalf(client, world, tokens.headers("coordinator"), idempotency_key="ob-1")
    assert (first.status_code, again.status_code) == (201, 201) and again.get_json() == first.get_json()
    body = first.get_json()
    assert body["status"] == "confirmed" and body["minutes"] == 45 and body["listing_id"] is None
    assert body["events"][0]["kind"] == "recorded_on_behalf"
    assert body["events"][0]["actor_membership_id"] == str(world.coordinator.id)
    assert figures(world, world.ans, world.bert) == [(before[0][0] - 45, 0, 0), (before[1][0] + 45, 0, 0)]
    assert exchange_transactions(world) == 1
    refused(
        on_behalf(client, world, tokens.headers("coordinator"), idempotency_key="ob-1", minutes=46),
        422,
        "idempotency_key_reused",
    )
    assert exchange_transactions(world) == 1


def test_a_record_on_behalf_of_one_side_waits_for_the_other(client, tokens, world):
    created = on_behalf(
        client,
        world,
        tokens.headers("coordinator"),
        attested=False,
        on_behalf_of_membership_id=str(world.bert.id),
        category_id=str(world.categories["klussen"]),
    )
    assert created.status_code == 201
    body = created.get_json()
    assert body["status"] == "recorded" and body["recorded_by_membership_id"] == str(world.bert.id)
    assert body["category_id"] == str(world.categories["klussen"])
    assert figures(world, world.ans)[0][1] == 45
    confirmed = step(client, tokens, body["id"], "confirm", "ans", idempotency_key="confirm-ob")
    assert confirmed.status_code == 200 and confirmed.get_json()["status"] == "confirmed"


def test_a_partner_key_with_exchanges_write_records_on_behalf(client, tokens, world):
    created = on_behalf(client, world, tokens.partner("exchanges:write"))
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["status"] == "confirmed"
    assert created.get_json()["events"][0]["actor_membership_id"] is None


def test_recording_on_behalf_is_refused_as_the_rules_say_and_moves_nothing(client, tokens, other_tokens, world):
    before = figures(world, world.ans, world.bert)
    refused(on_behalf(client, world, tokens.headers("cor")), 403, "not_allowed")
    refused(on_behalf(client, world, tokens.partner("ledger:write")), 403, "insufficient_scope")
    refused(on_behalf(client, world, tokens.headers("partner_none")), 403, "insufficient_scope")
    refused(on_behalf(client, world, other_tokens.headers("coordinator")), 404, "not_found")
    refused(on_behalf(client, world, other_tokens.headers("ans")), 404, "not_found")
    refused(on_behalf(client, world, other_tokens.partner("exchanges:write")), 404, "not_found")
    refused(on_behalf(client, world, {}), 401, "unauthenticated")
    refused(
        on_behalf(client, world, tokens.headers("coordinator"), idempotency_key=None), 400, "idempotency_key_missing"
    )
    # The path names the community: its coordinator cannot record for members of another one through it.
    refused(
        on_behalf(client, other_tokens.world, other_tokens.headers("coordinator"), community_id=world.community_id),
        404,
        "not_found",
    )
    refused(
        on_behalf(client, world, tokens.headers("coordinator"), community_id=other_tokens.world.community_id),
        404,
        "not_found",
    )
    refused(on_behalf(client, world, tokens.headers("coordinator"), balance=10), 422, "validation_failed")
    refused(on_behalf(client, world, tokens.headers("coordinator"), helper_membership_id=7), 422, "validation_failed")
    refused(on_behalf(client, world, tokens.headers("coordinator"), minutes=0), 422, "validation_failed")
    refused(
        on_behalf(client, world, tokens.headers("coordinator"), helped_membership_id=str(world.bert.id)),
        422,
        "invalid_input",
    )
    refused(on_behalf(client, world, tokens.headers("coordinator"), attested=False), 422, "invalid_input")
    refused(
        on_behalf(client, world, tokens.headers("coordinator"), helper_membership_id=str(world.coordinator.id)),
        403,
        "not_allowed",
    )
    refused(
        on_behalf(client, world, tokens.headers("coordinator"), category_id=str(world.categories["oppassen"])),
        422,
        "safeguarding_check_required",
    )
    assert figures(world, world.ans, world.bert) == before and exchange_rows(world) == []


# --- the spec -------------------------------------------------------------------------------------------------


def test_the_spec_lists_every_exchange_operation_with_a_summary(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    expected = {
        ("post", "/api/v1/listings/{listing_id}/responses"),
        ("post", "/api/v1/invitations/{invitation_id}/accept"),
        ("post", "/api/v1/invitations/{invitation_id}/decline"),
        ("get", "/api/v1/exchanges/{exchange_id}"),
        ("get", "/api/v1/communities/{community_id}/exchanges"),
        ("post", "/api/v1/communities/{community_id}/exchanges/on-behalf"),
        ("get", "/api/v1/members/{membership_id}/thank-you-notes"),
        *(
            ("post", f"/api/v1/exchanges/{{exchange_id}}/{action}")
            for action in ("agree", "accept-helper", "cancel", "record", "confirm", "dispute", "settle", "thank")
        ),
    }
    for method, path in expected:
        operation = paths[path][method]
        assert operation["summary"], f"{method} {path}"
    for action in ("record", "confirm", "settle"):
        parameters = paths[f"/api/v1/exchanges/{{exchange_id}}/{action}"]["post"]["parameters"]
        assert {"name": "Idempotency-Key", "required": True}.items() <= next(
            parameter for parameter in parameters if parameter["name"] == "Idempotency-Key"
        ).items()
