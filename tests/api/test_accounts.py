"""The ledger through the API: balances, statements (pages and CSV), payments, claims, reversals, batches and
the pot; each operation's success, refusals and roles, idempotency, and statement pages that stay whole while
transfers are posted between them."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from tests.timebank.test_pot import WELCOME, assert_books_verify, state
from tests.world import START
from timebank import payments, pot
from timebank.models import Exchange

PERIOD = {"start": "2026-01-01T00:00:00+01:00", "end": "2027-01-01T00:00:00+01:00"}


def keyed(tokens, who: str, key: str | None = None) -> dict:
    """A caller's headers with a fresh (or the given) Idempotency-Key."""
    extra = {"Idempotency-Key": key or uuid.uuid4().hex}
    if who.startswith("ledger:") or who.startswith("members:"):
        return tokens.partner(who, **extra)
    return tokens.headers(who, **extra)


def unchanged(world, other_world=None):
    """Everything a refusal must leave alone: accounts, transactions, audit, events, and the exchanges."""
    worlds = [world] if other_world is None else [world, other_world]

    def count(*, session):
        return [
            session.scalar(
                sa.select(sa.func.count()).select_from(Exchange).where(Exchange.community_id == w.community_id)
            )
            for w in worlds
        ]

    return state(*worlds), world.db.read(count)


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == "application/problem+json"
    body = response.get_json()
    assert body["code"] == code and body["status"] == status
    return body


def balance_of(client, tokens, person) -> dict:
    response = client.get(f"/api/v1/members/{person.id}/balance", headers=tokens.headers("coordinator"))
    assert response.status_code == 200
    return response.get_json()


# --- balances -----------------------------------------------------------------------------------------------------


def test_a_member_reads_their_own_balance_in_minutes(client, tokens, world):
    world.db.run(payments.claim_minutes, actor=world.bert.actor, payer_membership_id=world.ans.id, minutes=30)
    response = client.get(f"/api/v1/members/{world.ans.id}/balance", headers=tokens.headers("ans"))
    assert response.status_code == 200
    assert response.get_json() == {
        "account_id": str(world.ans.account_id),
        "balance_minutes": WELCOME,
        "pending_debit_minutes": 30,
        "pending_credit_minutes": 0,
        "available_minutes": WELCOME - 30,
        "floor_minutes": -600,
        "ceiling_minutes": 2400,
        "status": "open",
        "membership_id": str(world.ans.id),
        "community_id": str(world.community_id),
    }


def test_a_balance_is_for_its_member_coordinators_and_keys_with_ledger_read(client, tokens, other_tokens, world):
    path = f"/api/v1/members/{world.ans.id}/balance"
    for headers in (tokens.headers("coordinator"), tokens.partner("ledger:read"), tokens.headers("partner_all")):
        assert client.get(path, headers=headers).status_code == 200
    for headers in (tokens.headers("bert"), other_tokens.headers("ans"), other_tokens.headers("coordinator")):
        assert_problem(client.get(path, headers=headers), 404, "not_found")
    assert_problem(client.get(path, headers=other_tokens.partner("ledger:read")), 404, "not_found")
    assert_problem(client.get(path, headers=tokens.partner("ledger:write")), 403, "insufficient_scope")
    assert_problem(client.get(path), 401, "unauthenticated")
    for nonsense in ("abc", "0", "99999999999999"):
        assert_problem(
            client.get(f"/api/v1/members/{nonsense}/balance", headers=tokens.headers("ans")), 404, "not_found"
        )


# --- statements ---------------------------------------------------------------------------------------------------


def statement(client, headers, person, **query):
    return client.get(f"/api/v1/members/{person.id}/statement", headers=headers, query_string={**PERIOD, **query})


def test_a_statement_gives_the_balance_after_each_entry(client, tokens, world):
    for minutes in (30, 45):
        world.db.run(
            payments.pay_directly, actor=world.ans.actor, payee_membership_id=world.bert.id, minutes=minutes, now=START
        )
    body = statement(client, tokens.headers("ans"), world.ans).get_json()
    assert body["opening_balance_minutes"] == 0 and body["closing_balance_minutes"] == WELCOME - 75
    assert [(line["amount_minutes"], line["balance_minutes"]) for line in body["data"]] == [
        (WELCOME, WELCOME),
        (-30, WELCOME - 30),
        (-45, WELCOME - 75),
    ]
    assert body["data"][1]["other_party_first_name"] == "Bert" and body["next_cursor"] is None
    assert body["membership_id"] == str(world.ans.id) and isinstance(body["data"][1]["transaction_id"], str)


def test_a_statement_is_for_its_member_coordinators_and_keys_with_ledger_read(client, tokens, other_tokens, world):
    for headers in (tokens.headers("coordinator"), tokens.partner("ledger:read")):
        assert statement(client, headers, world.ans).status_code == 200
    for headers in (tokens.headers("bert"), other_tokens.headers("ans"), other_tokens.headers("coordinator")):
        assert_problem(statement(client, headers, world.ans), 404, "not_found")
    assert_problem(statement(client, other_tokens.partner("ledger:read"), world.ans), 404, "not_found")
    assert_problem(statement(client, tokens.headers("partner_none"), world.ans), 403, "insufficient_scope")
    for nonsense in ("abc", "99999999999999"):
        response = client.get(
            f"/api/v1/members/{nonsense}/statement", headers=tokens.headers("ans"), query_string=PERIOD
        )
        assert_problem(response, 404, "not_found")
    assert_problem(statement(client, {}, world.ans), 401, "unauthenticated")


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"start": None}, "validation_failed"),
        ({"end": "2026-05-01T00:00:00"}, "validation_failed"),
        ({"balance": "1"}, "validation_failed"),
        ({"limit": "101"}, "validation_failed"),
        ({"limit": "0"}, "validation_failed"),
        ({"cursor": "not-a-cursor"}, "invalid_input"),
        ({"end": "2025-12-01T00:00:00+01:00"}, "invalid_input"),
        ({"end": "2029-01-01T00:00:00+01:00"}, "invalid_input"),
    ],
)
def test_a_statement_needs_a_period_of_at_most_two_years_and_a_sound_page(client, tokens, world, query, code):
    arguments = {**PERIOD, **query}
    arguments = {name: value for name, value in arguments.items() if value is not None}
    response = client.get(
        f"/api/v1/members/{world.ans.id}/statement", headers=tokens.headers("ans"), query_string=arguments
    )
    assert_problem(response, 422, code)


def test_walking_a_statement_while_transfers_are_posted_yields_no_duplicate_and_no_gap(client, tokens, world):
    for minutes in range(1, 6):
        world.db.run(payments.pay_directly, actor=world.bert.actor, payee_membership_id=world.ans.id, minutes=minutes)
    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": 2} if cursor is None else {"limit": 2, "cursor": cursor}
        body = statement(client, tokens.headers("ans"), world.ans, **query).get_json()
        seen += [(line["transaction_id"], line["balance_minutes"]) for line in body["data"]]
        pages += 1
        if pages <= 3:  # new transfers land while the client is between pages
            paid = client.post(
                f"/api/v1/communities/{world.community_id}/payments",
                headers=keyed(tokens, "cor"),
                json={"payee_membership_id": str(world.ans.id), "minutes": 7},
            )
            assert paid.status_code == 201
        cursor = body["next_cursor"]
        if cursor is None:
            break
    whole = statement(client, tokens.headers("ans"), world.ans, limit=100).get_json()
    expected = [(line["transaction_id"], line["balance_minutes"]) for line in whole["data"]]
    assert len(expected) == 1 + 5 + 3
    assert seen == expected and len({transaction for transaction, _ in seen}) == len(seen)
    assert seen[-1][1] == whole["closing_balance_minutes"]


def test_a_statement_downloads_as_csv(client, tokens, other_tokens, world):
    path = f"/api/v1/members/{world.ans.id}/statement.csv"
    response = client.get(path, headers=tokens.headers("ans"), query_string=PERIOD)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="statement-{world.ans.id}-20260101-20270101.csv"'
    )
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0].startswith("date,description,minutes") and "Opening balance" in lines[1]
    assert "Closing balance" in lines[-1]
    assert client.get(path, headers=tokens.partner("ledger:read"), query_string=PERIOD).status_code == 200
    assert_problem(client.get(path, headers=tokens.headers("bert"), query_string=PERIOD), 404, "not_found")
    assert_problem(client.get(path, headers=other_tokens.headers("coordinator"), query_string=PERIOD), 404, "not_found")
    assert_problem(
        client.get(path, headers=tokens.headers("partner_none"), query_string=PERIOD), 403, "insufficient_scope"
    )
    assert_problem(client.get(path, query_string=PERIOD), 401, "unauthenticated")
    assert_problem(client.get(path, headers=tokens.headers("ans")), 422, "validation_failed")


# --- payments and claims ------------------------------------------------------------------------------------------


def payments_path(world) -> str:
    return f"/api/v1/communities/{world.community_id}/payments"


def test_a_member_pays_another_and_the_minutes_post_at_once(client, tokens, world):
    body = {"payee_membership_id": str(world.bert.id), "minutes": 90, "description": "boodschappen"}
    response = client.post(payments_path(world), headers=keyed(tokens, "ans"), json=body)
    assert response.status_code == 201
    exchange = response.get_json()
    assert exchange["status"] == "confirmed" and exchange["minutes"] == 90
    assert (exchange["helper_membership_id"], exchange["helped_membership_id"]) == (
        str(world.bert.id),
        str(world.ans.id),
    )
    assert balance_of(client, tokens, world.bert)["balance_minutes"] == WELCOME + 90
    assert balance_of(client, tokens, world.ans)["balance_minutes"] == WELCOME - 90
    by_coordinator = client.post(payments_path(world), headers=keyed(tokens, "coordinator"), json=body)
    assert by_coordinator.status_code == 201  # a coordinator pays as the member they also are
    assert balance_of(client, tokens, world.bert)["balance_minutes"] == WELCOME + 180


def test_a_payment_retried_with_its_key_posts_once_and_another_body_is_refused(client, tokens, world):
    headers = keyed(tokens, "ans", "payment-1")
    body = {"payee_membership_id": str(world.bert.id), "minutes": 60}
    first = client.post(payments_path(world), headers=headers, json=body)
    again = client.post(payments_path(world), headers=headers, json=body)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
    assert balance_of(client, tokens, world.bert)["balance_minutes"] == WELCOME + 60
    assert_problem(
        client.post(payments_path(world), headers=headers, json={**body, "minutes": 61}), 422, "idempotency_key_reused"
    )
    assert balance_of(client, tokens, world.bert)["balance_minutes"] == WELCOME + 60


def test_payments_are_refused_for_the_wrong_callers_and_bodies_and_change_nothing(
    client, tokens, other_tokens, world, other_world
):
    body = {"payee_membership_id": str(world.bert.id), "minutes": 60}
    before = unchanged(world, other_world)
    path = payments_path(world)
    assert_problem(client.post(path, headers=tokens.headers("ans"), json=body), 400, "idempotency_key_missing")
    assert_problem(client.post(path, headers=keyed(tokens, "partner_all"), json=body), 403, "not_allowed")
    assert_problem(client.post(path, headers={"Idempotency-Key": "k"}, json=body), 401, "unauthenticated")
    assert_problem(client.post(path, headers=keyed(other_tokens, "ans"), json=body), 404, "not_found")
    assert_problem(client.post(path, headers=keyed(other_tokens, "coordinator"), json=body), 404, "not_found")
    stranger = {**body, "payee_membership_id": str(other_world.bert.id)}
    assert_problem(client.post(path, headers=keyed(tokens, "ans"), json=stranger), 404, "not_found")
    elsewhere = payments_path(other_world)
    assert_problem(client.post(elsewhere, headers=keyed(tokens, "ans"), json=body), 404, "not_found")
    self_payment = {**body, "payee_membership_id": str(world.ans.id)}
    assert_problem(client.post(path, headers=keyed(tokens, "ans"), json=self_payment), 422, "invalid_input")
    for bad in (
        {**body, "balance": 5},
        {**body, "minutes": 721},
        {**body, "minutes": "60"},
        {"minutes": 60},
        {**body, "payee_membership_id": "99999999999999"},
        {**body, "category_id": "99999999999999"},
    ):
        assert_problem(client.post(path, headers=keyed(tokens, "ans"), json=bad), 422, "validation_failed")
    assert_problem(
        client.post(path, headers=keyed(tokens, "ans"), json={**body, "payee_membership_id": 5}),
        422,
        "validation_failed",
    )
    assert unchanged(world, other_world) == before


def test_a_payment_past_the_floor_is_refused_with_the_figures(client, tokens, world):
    for _ in range(2):  # 720 leaves Ans at -600, her floor
        world.db.run(payments.pay_directly, actor=world.ans.actor, payee_membership_id=world.cor.id, minutes=360)
    before = unchanged(world)
    body = {"payee_membership_id": str(world.bert.id), "minutes": 1}
    problem = assert_problem(
        client.post(payments_path(world), headers=keyed(tokens, "ans"), json=body), 422, "balance_below_floor"
    )
    assert problem["type"].endswith("/balance-below-floor") and problem["account_id"] == world.ans.account_id
    assert unchanged(world) == before


def claims_path(world) -> str:
    return f"/api/v1/communities/{world.community_id}/claims"


def test_a_helper_claims_minutes_that_wait_for_the_payer(client, tokens, other_tokens, world, other_world):
    body = {"payer_membership_id": str(world.ans.id), "minutes": 45, "description": "tuin"}
    response = client.post(claims_path(world), headers=keyed(tokens, "bert"), json=body)
    assert response.status_code == 201
    claim = response.get_json()
    assert claim["status"] == "recorded" and claim["auto_confirm_at"] is not None
    assert balance_of(client, tokens, world.ans)["pending_debit_minutes"] == 45
    before = unchanged(world, other_world)
    assert_problem(
        client.post(claims_path(world), headers=tokens.headers("bert"), json=body), 400, "idempotency_key_missing"
    )
    assert_problem(client.post(claims_path(world), headers=keyed(tokens, "partner_all"), json=body), 403, "not_allowed")
    assert_problem(client.post(claims_path(world), json=body, headers={"Idempotency-Key": "k"}), 401, "unauthenticated")
    assert_problem(client.post(claims_path(world), headers=keyed(other_tokens, "bert"), json=body), 404, "not_found")
    assert_problem(client.post(claims_path(other_world), headers=keyed(tokens, "bert"), json=body), 404, "not_found")
    assert_problem(
        client.post(claims_path(world), headers=keyed(tokens, "bert"), json={**body, "role": "coordinator"}),
        422,
        "validation_failed",
    )
    children = {**body, "category_id": str(world.categories["oppassen"])}
    assert_problem(
        client.post(claims_path(world), headers=keyed(tokens, "bert"), json=children), 422, "parent_acceptance_required"
    )
    assert unchanged(world, other_world) == before


def test_a_claim_retried_with_its_key_claims_once(client, tokens, world):
    headers, body = keyed(tokens, "bert", "claim-1"), {"payer_membership_id": str(world.ans.id), "minutes": 45}
    first = client.post(claims_path(world), headers=headers, json=body)
    assert client.post(claims_path(world), headers=headers, json=body).get_json() == first.get_json()
    assert balance_of(client, tokens, world.ans)["pending_debit_minutes"] == 45
    assert_problem(
        client.post(claims_path(world), headers=headers, json={**body, "minutes": 5}), 422, "idempotency_key_reused"
    )


# --- reversals ----------------------------------------------------------------------------------------------------


def paid(world, minutes=30) -> int:
    exchange = world.db.run(
        payments.pay_directly, actor=world.ans.actor, payee_membership_id=world.bert.id, minutes=minutes
    )
    return exchange.ledger_transaction_id


def test_a_coordinator_reverses_a_payment_once(client, tokens, world):
    transaction_id = paid(world)
    path = f"/api/v1/transactions/{transaction_id}/reversal"
    response = client.post(path, headers=keyed(tokens, "coordinator"), json={"reason": "paid to the wrong member"})
    assert response.status_code == 201
    reversal = response.get_json()
    assert reversal["reverses_id"] == str(transaction_id) and reversal["kind"] == "reversal"
    assert sorted(entry["amount_minutes"] for entry in reversal["entries"]) == [-30, 30]
    assert balance_of(client, tokens, world.ans)["balance_minutes"] == WELCOME
    again = client.post(path, headers=keyed(tokens, "coordinator"), json={"reason": "twice"})
    assert_problem(again, 409, "already_reversed")
    assert_books_verify(world)


def test_reversals_are_for_coordinators_and_keys_with_ledger_write(client, tokens, other_tokens, world, other_world):
    transaction_id = paid(world)
    path, body = f"/api/v1/transactions/{transaction_id}/reversal", {"reason": "mistake"}
    before = unchanged(world, other_world)
    assert_problem(client.post(path, headers=keyed(tokens, "ans"), json=body), 403, "not_allowed")
    for headers in (
        keyed(other_tokens, "coordinator"),
        keyed(other_tokens, "ans"),
        keyed(other_tokens, "ledger:write"),
    ):
        assert_problem(client.post(path, headers=headers, json=body), 404, "not_found")
    assert_problem(client.post(path, headers=keyed(tokens, "ledger:read"), json=body), 403, "insufficient_scope")
    assert_problem(client.post(path, headers={"Idempotency-Key": "k"}, json=body), 401, "unauthenticated")
    assert_problem(client.post(path, headers=tokens.headers("coordinator"), json=body), 400, "idempotency_key_missing")
    assert_problem(client.post(path, headers=keyed(tokens, "coordinator"), json={}), 422, "validation_failed")
    assert_problem(
        client.post(path, headers=keyed(tokens, "coordinator"), json={**body, "minutes": 1}), 422, "validation_failed"
    )
    for nonsense in ("999999999999", "abc"):
        missing = client.post(
            f"/api/v1/transactions/{nonsense}/reversal", headers=keyed(tokens, "coordinator"), json=body
        )
        assert_problem(missing, 404, "not_found")
    assert unchanged(world, other_world) == before
    assert client.post(path, headers=keyed(tokens, "ledger:write"), json=body).status_code == 201


def test_a_reversal_retried_with_its_key_reverses_once(client, tokens, world):
    transaction_id = paid(world)
    path, headers = f"/api/v1/transactions/{transaction_id}/reversal", keyed(tokens, "coordinator", "reverse-1")
    first = client.post(path, headers=headers, json={"reason": "mistake"})
    again = client.post(path, headers=headers, json={"reason": "mistake"})
    assert (first.status_code, again.status_code) == (201, 201) and again.get_json() == first.get_json()
    assert_problem(client.post(path, headers=headers, json={"reason": "other"}), 422, "idempotency_key_reused")
    assert balance_of(client, tokens, world.ans)["balance_minutes"] == WELCOME


# --- batches ------------------------------------------------------------------------------------------------------


def batch_path(world) -> str:
    return f"/api/v1/communities/{world.community_id}/transfers/batch"


def transfer(payer, payee, minutes, description="buurthuis") -> dict:
    return {
        "payer_membership_id": str(payer.id),
        "payee_membership_id": str(payee.id),
        "minutes": minutes,
        "description": description,
    }


def test_a_coordinator_posts_a_batch_with_one_result_per_transfer(client, tokens, world):
    body = {"atomic": True, "transfers": [transfer(world.ans, world.bert, 60), transfer(world.bert, world.cor, 30)]}
    response = client.post(batch_path(world), headers=keyed(tokens, "coordinator"), json=body)
    assert response.status_code == 200
    answer = response.get_json()
    assert (answer["atomic"], answer["posted_count"], answer["refused_count"]) == (True, 2, 0)
    assert [(item["index"], item["status"]) for item in answer["results"]] == [(0, "posted"), (1, "posted")]
    assert all(isinstance(item["exchange_id"], str) and "problem" not in item for item in answer["results"])
    assert balance_of(client, tokens, world.cor)["balance_minutes"] == WELCOME + 30
    assert_books_verify(world)


def test_one_transfer_past_the_floor_stops_an_atomic_batch_and_not_the_others_of_a_free_one(client, tokens, world):
    # Ans has 120 - 700 = -580 minutes left above her floor of -600: 21 more are refused.
    world.db.run(payments.pay_directly, actor=world.ans.actor, payee_membership_id=world.cor.id, minutes=700)
    items = [
        transfer(world.bert, world.cor, 30),
        transfer(world.ans, world.cor, 21),
        transfer(world.cor, world.bert, 10),
    ]
    before = unchanged(world)
    answer = client.post(
        batch_path(world), headers=keyed(tokens, "coordinator"), json={"atomic": True, "transfers": items}
    ).get_json()
    assert [item["status"] for item in answer["results"]] == ["not_applied", "refused", "not_applied"]
    assert answer["results"][1]["problem"]["code"] == "balance_below_floor"
    assert answer["results"][1]["problem"]["status"] == 422
    assert answer["results"][0]["problem"]["code"] == "batch_item_not_applied"
    assert answer["results"][0]["problem"]["failed_index"] == 1
    assert unchanged(world) == before
    answer = client.post(
        batch_path(world), headers=keyed(tokens, "coordinator"), json={"atomic": False, "transfers": items}
    ).get_json()
    assert [item["status"] for item in answer["results"]] == ["posted", "refused", "posted"]
    assert (answer["posted_count"], answer["refused_count"]) == (2, 1)
    assert_books_verify(world)


def test_five_hundred_transfers_post_in_one_request_and_five_hundred_and_one_are_refused(client, tokens, world):
    one = transfer(world.ans, world.bert, 1)
    before = unchanged(world)
    too_many = client.post(
        batch_path(world), headers=keyed(tokens, "coordinator"), json={"atomic": True, "transfers": [one] * 501}
    )
    assert_problem(too_many, 422, "validation_failed")
    assert unchanged(world) == before
    response = client.post(
        batch_path(world), headers=keyed(tokens, "coordinator"), json={"atomic": True, "transfers": [one] * 500}
    )
    assert response.status_code == 200 and response.get_json()["posted_count"] == 500
    assert balance_of(client, tokens, world.bert)["balance_minutes"] == WELCOME + 500
    assert_books_verify(world)


def test_batches_are_for_coordinators_and_keys_with_ledger_write(client, tokens, other_tokens, world, other_world):
    body = {"atomic": False, "transfers": [transfer(world.ans, world.bert, 20)]}
    path = batch_path(world)
    before = unchanged(world, other_world)
    assert_problem(client.post(path, headers=keyed(tokens, "ans"), json=body), 403, "not_allowed")
    for headers in (
        keyed(other_tokens, "coordinator"),
        keyed(other_tokens, "ans"),
        keyed(other_tokens, "ledger:write"),
    ):
        assert_problem(client.post(path, headers=headers, json=body), 404, "not_found")
    assert_problem(client.post(path, headers=keyed(tokens, "ledger:read"), json=body), 403, "insufficient_scope")
    assert_problem(client.post(path, headers={"Idempotency-Key": "k"}, json=body), 401, "unauthenticated")
    assert_problem(client.post(path, headers=tokens.headers("coordinator"), json=body), 400, "idempotency_key_missing")
    for bad in (
        {**body, "dry_run": True},
        {"transfers": body["transfers"]},
        {"atomic": True, "transfers": []},
        {"atomic": True, "transfers": [{**body["transfers"][0], "balance": 1}]},
        {"atomic": True, "transfers": [{**body["transfers"][0], "minutes": 0}]},
    ):
        assert_problem(client.post(path, headers=keyed(tokens, "coordinator"), json=bad), 422, "validation_failed")
    assert unchanged(world, other_world) == before
    answer = client.post(path, headers=keyed(tokens, "ledger:write"), json=body).get_json()
    assert answer["results"][0]["status"] == "posted"


def test_a_batch_retried_with_its_key_posts_once_and_another_body_is_refused(client, tokens, world):
    headers = keyed(tokens, "coordinator", "sheet-2026-03")
    body = {"atomic": True, "transfers": [transfer(world.ans, world.bert, 40), transfer(world.cor, world.bert, 20)]}
    first = client.post(batch_path(world), headers=headers, json=body)
    again = client.post(batch_path(world), headers=headers, json=body)
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
    changed = {**body, "transfers": [transfer(world.ans, world.bert, 41), body["transfers"][1]]}
    assert_problem(client.post(batch_path(world), headers=headers, json=changed), 422, "idempotency_key_reused")
    assert balance_of(client, tokens, world.bert)["balance_minutes"] == WELCOME + 60


# --- the pot ------------------------------------------------------------------------------------------------------


def pot_path(world, what: str = "") -> str:
    return f"/api/v1/communities/{world.community_id}/pot{what}"


def test_the_pots_figures_are_for_coordinators_and_keys_with_ledger_read(client, tokens, other_tokens, world):
    response = client.get(pot_path(world), headers=tokens.headers("coordinator"))
    assert response.status_code == 200
    figures = response.get_json()
    assert figures["balance_minutes"] == 0 and figures["floor_minutes"] == 0
    assert figures["account_id"] == str(world.community.pot_account_id)
    assert client.get(pot_path(world), headers=tokens.partner("ledger:read")).status_code == 200
    assert_problem(client.get(pot_path(world), headers=tokens.headers("ans")), 403, "not_allowed")
    assert_problem(client.get(pot_path(world), headers=other_tokens.headers("coordinator")), 404, "not_found")
    assert_problem(client.get(pot_path(world), headers=other_tokens.headers("ans")), 404, "not_found")
    assert_problem(client.get(pot_path(world), headers=other_tokens.partner("ledger:read")), 404, "not_found")
    assert_problem(client.get(pot_path(world), headers=tokens.headers("partner_none")), 403, "insufficient_scope")
    assert_problem(client.get(pot_path(world)), 401, "unauthenticated")


def test_a_member_donates_to_the_pot(client, tokens, other_tokens, world, other_world):
    path, body = pot_path(world, "/donations"), {"minutes": 45, "note": "voor het buurtfeest"}
    response = client.post(path, headers=keyed(tokens, "ans"), json=body)
    assert response.status_code == 201 and response.get_json()["kind"] == pot.DONATION_KIND
    assert client.get(pot_path(world), headers=tokens.headers("coordinator")).get_json()["balance_minutes"] == 45
    before = unchanged(world, other_world)
    assert_problem(client.post(path, headers=tokens.headers("ans"), json=body), 400, "idempotency_key_missing")
    assert_problem(client.post(path, headers=keyed(tokens, "partner_all"), json=body), 403, "not_allowed")
    assert_problem(client.post(path, headers={"Idempotency-Key": "k"}, json=body), 401, "unauthenticated")
    for other in ("ans", "coordinator"):
        assert_problem(client.post(path, headers=keyed(other_tokens, other), json=body), 404, "not_found")
    assert_problem(
        client.post(path, headers=keyed(tokens, "ans"), json={"minutes": WELCOME - 45 + 601}),
        422,
        "balance_below_floor",
    )
    assert_problem(client.post(path, headers=keyed(tokens, "ans"), json={**body, "pot": 1}), 422, "validation_failed")
    assert unchanged(world, other_world) == before


def test_grants_from_the_pot_are_for_coordinators_and_keys_with_ledger_write(
    client, tokens, other_tokens, world, other_world
):
    path, body = pot_path(world, "/grants"), {"membership_id": str(world.cor.id), "minutes": 30, "reason": "winter"}
    before = unchanged(world, other_world)
    assert_problem(client.post(path, headers=keyed(tokens, "coordinator"), json=body), 422, "balance_below_floor")
    assert_problem(client.post(path, headers=keyed(tokens, "ans"), json=body), 403, "not_allowed")
    for other in ("coordinator", "ans", "ledger:write"):
        assert_problem(client.post(path, headers=keyed(other_tokens, other), json=body), 404, "not_found")
    assert_problem(client.post(path, headers=keyed(tokens, "ledger:read"), json=body), 403, "insufficient_scope")
    assert_problem(client.post(path, headers={"Idempotency-Key": "k"}, json=body), 401, "unauthenticated")
    assert_problem(client.post(path, headers=tokens.headers("coordinator"), json=body), 400, "idempotency_key_missing")
    assert_problem(
        client.post(path, headers=keyed(tokens, "coordinator"), json={**body, "reason": ""}), 422, "validation_failed"
    )
    stranger = {**body, "membership_id": str(other_world.cor.id)}
    assert unchanged(world, other_world) == before
    client.post(pot_path(world, "/donations"), headers=keyed(tokens, "ans"), json={"minutes": 60})
    assert_problem(client.post(path, headers=keyed(tokens, "coordinator"), json=stranger), 404, "not_found")
    for who in ("coordinator", "ledger:write"):
        response = client.post(path, headers=keyed(tokens, who), json=body)
        assert response.status_code == 201 and response.get_json()["kind"] == pot.GRANT_KIND
    assert balance_of(client, tokens, world.cor)["balance_minutes"] == WELCOME + 60
    assert_books_verify(world)


def test_a_group_event_credits_every_participant_or_none(client, tokens, other_tokens, world, other_world):
    path = pot_path(world, "/group-events")
    body = {
        "event_name": "Opruimen Oosterpark",
        "participant_ids": [str(world.ans.id), str(world.bert.id)],
        "minutes_each": 120,
        "source": "issuance",
    }
    before = unchanged(world, other_world)
    assert_problem(
        client.post(path, headers=keyed(tokens, "coordinator"), json={**body, "source": "pot"}),
        422,
        "balance_below_floor",
    )
    stranger = {**body, "participant_ids": [str(world.ans.id), str(other_world.bert.id)]}
    assert_problem(client.post(path, headers=keyed(tokens, "coordinator"), json=stranger), 404, "not_found")
    assert_problem(client.post(path, headers=keyed(tokens, "ans"), json=body), 403, "not_allowed")
    for other in ("coordinator", "ans", "ledger:write"):
        assert_problem(client.post(path, headers=keyed(other_tokens, other), json=body), 404, "not_found")
    assert_problem(client.post(path, headers=keyed(tokens, "ledger:read"), json=body), 403, "insufficient_scope")
    assert_problem(client.post(path, headers={"Idempotency-Key": "k"}, json=body), 401, "unauthenticated")
    assert_problem(client.post(path, headers=tokens.headers("coordinator"), json=body), 400, "idempotency_key_missing")
    assert_problem(
        client.post(path, headers=keyed(tokens, "coordinator"), json={**body, "source": "bank"}),
        422,
        "validation_failed",
    )
    assert unchanged(world, other_world) == before
    for who in ("coordinator", "ledger:write"):
        response = client.post(path, headers=keyed(tokens, who), json=body)
        assert response.status_code == 201 and response.get_json()["kind"] == pot.GROUP_EVENT_KIND
    assert balance_of(client, tokens, world.bert)["balance_minutes"] == WELCOME + 240
    assert_books_verify(world)


def test_every_ledger_operation_is_in_the_spec_with_a_summary(client):
    spec = client.get("/api/v1/openapi.json").get_json()["paths"]
    operations = [
        ("get", "/api/v1/members/{membership_id}/balance"),
        ("get", "/api/v1/members/{membership_id}/statement"),
        ("get", "/api/v1/members/{membership_id}/statement.csv"),
        ("post", "/api/v1/communities/{community_id}/payments"),
        ("post", "/api/v1/communities/{community_id}/claims"),
        ("post", "/api/v1/transactions/{transaction_id}/reversal"),
        ("post", "/api/v1/communities/{community_id}/transfers/batch"),
        ("get", "/api/v1/communities/{community_id}/pot"),
        ("post", "/api/v1/communities/{community_id}/pot/donations"),
        ("post", "/api/v1/communities/{community_id}/pot/grants"),
        ("post", "/api/v1/communities/{community_id}/pot/group-events"),
    ]
    for method, path in operations:
        operation = spec[path][method]
        assert operation["summary"]
        if method == "post":
            (header,) = [parameter for parameter in operation["parameters"] if parameter["name"] == "Idempotency-Key"]
            assert header["required"] is True
