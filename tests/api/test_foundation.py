"""The API's conventions, whatever the resource: problems, authentication, scopes, idempotency, the spec."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from timebank.models import ApiToken


def test_the_spec_is_openapi_3_1_and_every_operation_has_a_summary(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                assert operation.get("summary"), f"{method.upper()} {path} has no summary"


def test_the_reference_page_is_served_without_external_resources(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/api/v1/communities" in html and "http://" not in html and "https://" not in html


def test_errors_are_problems_without_a_stack_trace(client, tokens):
    for response in (
        client.get("/api/v1/nothing-here"),
        client.delete("/api/v1/communities"),
        client.get("/api/v1/communities"),
        client.get("/api/v1/communities/999999999", headers=tokens.headers("ans")),
    ):
        assert response.content_type == "application/problem+json"
        body = response.get_json()
        assert {"type", "title", "status", "detail"} <= body.keys() and body["status"] == response.status_code
        assert "Traceback" not in response.get_data(as_text=True)


def test_an_oversized_body_is_refused_with_413(client, tokens):
    response = client.post(
        "/api/v1/me/tokens",
        headers=tokens.headers("ans"),
        data="x" * (2 * 1024 * 1024),
        content_type="application/json",
    )
    assert response.status_code == 413 and response.content_type == "application/problem+json"


def test_a_bad_or_revoked_token_is_unauthenticated(client, tokens, db):
    assert client.get("/api/v1/communities", headers={"Authorization": "Bearer tb_m_1_nonsense"}).status_code == 401
    assert client.get("/api/v1/communities", headers={"Authorization": "Basic abc"}).status_code == 401
    headers = tokens.headers("ans")
    listed = client.get("/api/v1/me/tokens", headers=headers).get_json()["data"]
    assert client.delete(f"/api/v1/me/tokens/{listed[0]['id']}", headers=headers).status_code == 204
    assert client.get("/api/v1/communities", headers=headers).status_code == 401


def test_secrets_are_shown_once_and_stored_only_as_a_hash(client, tokens, db):
    created = client.post("/api/v1/me/tokens", headers=tokens.headers("bert"), json={"name": "app"})
    assert created.status_code == 201
    secret = created.get_json()["token"]
    stored = db.read(
        lambda *, session: session.execute(
            sa.select(ApiToken).where(ApiToken.id == int(created.get_json()["id"]))
        ).scalar_one()
    )
    # "tb_m_<id>_<secret>": the secret itself may hold "_" (token_urlsafe), so split off only the three first parts.
    prefix, member, token_id, secret_part = secret.split("_", 3)
    assert (prefix, member, token_id) == ("tb", "m", created.get_json()["id"]) and len(secret_part) >= 40
    assert secret_part not in stored.secret_hash and len(stored.secret_hash) == 64
    listed = client.get("/api/v1/me/tokens", headers=tokens.headers("bert")).get_json()["data"]
    assert all("token" not in item for item in listed)


def test_a_partner_key_sees_only_its_community_and_needs_its_scope(client, tokens, other_tokens):
    own = client.get("/api/v1/communities", headers=tokens.partner("listings:read")).get_json()["data"]
    assert [community["id"] for community in own] == [str(tokens.world.community_id)]
    other = other_tokens.world.community_id
    assert client.get(f"/api/v1/communities/{other}", headers=tokens.partner("listings:read")).status_code == 404
    refused = client.get("/api/v1/communities", headers=tokens.partner("ledger:read"))
    assert refused.status_code == 403 and refused.get_json()["code"] == "insufficient_scope"
    assert client.get("/api/v1/me/tokens", headers=tokens.headers("partner_all")).status_code == 403


def test_only_coordinators_make_partner_keys_for_their_own_community(client, tokens, other_tokens):
    community = tokens.world.community_id
    body = {"name": "portal", "scopes": ["listings:read"]}
    path = f"/api/v1/communities/{community}/partner-keys"
    assert client.post(path, headers=tokens.headers("ans"), json=body).status_code == 403
    assert client.post(path, headers=other_tokens.headers("coordinator"), json=body).status_code == 404
    assert (
        client.post(path, headers=tokens.headers("coordinator"), json={**body, "scopes": ["root"]}).status_code == 422
    )
    assert client.post(path, headers=tokens.headers("coordinator"), json=body).status_code == 201


def test_idempotency_same_body_replays_another_body_is_refused(client, tokens):
    headers = tokens.headers("cor", **{"Idempotency-Key": "same-key"})
    first = client.post("/api/v1/me/tokens", headers=headers, json={"name": "a"})
    again = client.post("/api/v1/me/tokens", headers=headers, json={"name": "a"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
    other = client.post("/api/v1/me/tokens", headers=headers, json={"name": "b"})
    assert other.status_code == 422 and other.get_json()["code"] == "idempotency_key_reused"
    listed = client.get("/api/v1/me/tokens", headers=tokens.headers("cor")).get_json()["data"]
    assert [item["name"] for item in listed].count("a") == 1


def test_twenty_concurrent_retries_create_one_thing(api_app, tokens):
    headers = tokens.headers("bert", **{"Idempotency-Key": "concurrent-1"})
    barrier, statuses = threading.Barrier(20), []

    def attempt():
        client = api_app.test_client()
        barrier.wait()
        statuses.append(client.post("/api/v1/me/tokens", headers=headers, json={"name": "race"}).status_code)

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(statuses) <= {201, 409} and 201 in statuses
    listed = api_app.test_client().get("/api/v1/me/tokens", headers=tokens.headers("bert")).get_json()["data"]
    assert [item["name"] for item in listed].count("race") == 1


def test_twenty_concurrent_retries_of_a_payment_make_one_ledger_transaction(api_app, tokens, world, db):
    import ledger
    from ledger.models import transaction_table

    path = f"/api/v1/communities/{world.community_id}/payments"
    headers = tokens.headers("ans", **{"Idempotency-Key": "pay-bert-once"})
    body = {"payee_membership_id": str(world.bert.id), "minutes": 25}
    barrier, answers = threading.Barrier(20), []

    def attempt():
        client = api_app.test_client()
        barrier.wait()
        response = client.post(path, headers=headers, json=body)
        answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {status for status, _ in answers} <= {201, 409}
    created = [answer for status, answer in answers if status == 201]
    assert created and all(answer == created[0] for answer in created)
    payments_made = db.read(
        lambda *, session: session.execute(
            sa.select(sa.func.count()).where(
                transaction_table.c.ledger_id == world.community.ledger_id, transaction_table.c.kind == "exchange"
            )
        ).scalar_one()
    )
    assert payments_made == 1
    assert db.read(lambda *, session: ledger.get_account(session, world.ans.account_id).balance) == 120 - 25


def test_an_unexpected_error_is_a_plain_500_problem(client, tokens, monkeypatch):
    from timebank import communities

    def broken(**_):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(communities, "visible_communities", broken)
    response = client.get("/api/v1/communities", headers=tokens.headers("ans"))
    assert response.status_code == 500 and response.content_type == "application/problem+json"
    assert "secret internals" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


def test_the_browser_front_calls_with_its_session_cookie_and_writes_need_the_csrf_token(api_app, world):
    import flask
    from flask_wtf.csrf import generate_csrf

    client = api_app.test_client()
    from timebank import passwords

    with client.session_transaction() as web_session:
        web_session["user_id"] = world.ans.user.id
    assert client.get("/api/v1/me/tokens").status_code == 401, "a session must carry the password it began with"
    with client.session_transaction() as web_session:
        web_session["password_fingerprint"] = passwords.fingerprint(world.ans.user.password_hash)
    assert client.get("/api/v1/me/tokens").status_code == 200
    refused = client.post("/api/v1/me/tokens", json={"name": "from the page"})
    assert refused.status_code == 401  # a cookie alone cannot write: that is what CSRF would be
    # The web front puts the session's CSRF token in its page; here we make one the same way, in the session.
    with api_app.test_request_context(), client.session_transaction() as web_session:
        token = generate_csrf()
        web_session.update(dict(flask.session))
    created = client.post("/api/v1/me/tokens", json={"name": "from the page"}, headers={"X-CSRF-Token": token})
    assert created.status_code == 201
