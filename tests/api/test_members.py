"""The members resource: listing and reading members as the caller may see them, the caller's own settings and
profile, applying to join, and the coordinators' admissions, suspensions, limits and offline neighbours."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

import ledger
from tests.world import add_user
from timebank import credentials, members
from timebank.access import Actor
from timebank.models import Membership, User

ANONYMOUS: dict = {}


def membership(db, membership_id: int) -> Membership:
    return db.read(lambda *, session: session.get(Membership, membership_id))


def user(db, user_id: int) -> User:
    return db.read(lambda *, session: session.get(User, user_id))


def account(db, account_id: int):
    return db.read(lambda *, session: ledger.get_account(session, account_id))


def community_memberships(db, community_id: int) -> list[tuple[int, str]]:
    def query(*, session):
        query = sa.select(Membership.id, Membership.status).where(Membership.community_id == community_id)
        return [tuple(row) for row in session.execute(query.order_by(Membership.id))]

    return db.read(query)


def person_headers(db, person_user: User) -> dict:
    secret = db.run(credentials.create_personal_token, actor=Actor.for_user(person_user), name="test").secret
    return {"Authorization": f"Bearer {secret}"}


def applicant(world, db):
    """A new person who applied to the world's community: (their headers, their membership id)."""
    newcomer = add_user(db)
    headers = person_headers(db, newcomer)
    applied = db.run(
        members.apply_to_join,
        actor=Actor.for_user(newcomer),
        community_id=world.community_id,
        display_name="Nina Nieuw",
    )
    return headers, applied.id


def assert_problem(response, status: int, code: str) -> None:
    assert response.status_code == status, response.get_json()
    assert response.content_type == "application/problem+json"
    assert response.get_json()["code"] == code


def assert_roles_refused(call, tokens, other_tokens) -> None:
    """A coordinator's action: a member is refused, another community's people see nothing, partner keys are
    refused (coordinators act as persons), the anonymous are asked to log in."""
    assert_problem(call(tokens.headers("ans")), 403, "not_allowed")
    assert_problem(call(other_tokens.headers("ans")), 404, "not_found")
    assert_problem(call(other_tokens.headers("coordinator")), 404, "not_found")
    assert_problem(call(tokens.headers("partner_all")), 403, "not_allowed")
    assert_problem(call(ANONYMOUS), 401, "unauthenticated")


# --- listing and reading --------------------------------------------------------------------------------------


def test_a_member_lists_active_members_by_first_name_without_what_they_keep_to_themselves(client, world, tokens):
    response = client.get(f"/api/v1/communities/{world.community_id}/members", headers=tokens.headers("ans"))
    assert response.status_code == 200
    body = response.get_json()
    assert body["next_cursor"] is None
    names = {item["id"]: item["display_name"] for item in body["data"]}
    assert names == {
        str(world.coordinator.id): "Carla",
        str(world.officer.id): "Olga",
        str(world.ans.id): "Ans de Vries",
        str(world.bert.id): "Bert",
        str(world.cor.id): "Cor",
    }
    bert = next(item for item in body["data"] if item["id"] == str(world.bert.id))
    assert bert == {
        "id": str(world.bert.id),
        "community_id": str(world.community_id),
        "display_name": "Bert",
        "neighbourhood": "Dapperbuurt",
        "status": "active",
        "role": "member",
    }
    assert world.bert.user.email not in response.get_data(as_text=True)


def test_the_member_list_walks_page_by_page_without_duplicates_or_gaps(client, world, tokens):
    path = f"/api/v1/communities/{world.community_id}/members"
    headers = tokens.headers("coordinator")
    everyone = [item["id"] for item in client.get(path, headers=headers).get_json()["data"]]
    walked, cursor = [], None
    while True:
        query = {"limit": 2} if cursor is None else {"limit": 2, "cursor": cursor}
        body = client.get(path, headers=headers, query_string=query).get_json()
        assert len(body["data"]) <= 2
        walked += [item["id"] for item in body["data"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert walked == everyone and len(everyone) == 5


def test_the_member_list_refuses_a_bad_cursor_a_bad_limit_and_an_unknown_status(client, world, tokens):
    path = f"/api/v1/communities/{world.community_id}/members"
    headers = tokens.headers("ans")
    assert_problem(client.get(path, headers=headers, query_string={"cursor": "!!nonsense"}), 422, "invalid_input")
    assert_problem(client.get(path, headers=headers, query_string={"limit": 101}), 422, "validation_failed")
    assert_problem(client.get(path, headers=headers, query_string={"status": "royal"}), 422, "validation_failed")


def test_coordinators_see_whole_names_profiles_and_applicants_members_do_not(client, world, tokens, db):
    db.run(members.update_profile, actor=world.bert.actor, membership_id=world.bert.id, likes_to_do="baking")
    _, applicant_id = applicant(world, db)
    path = f"/api/v1/communities/{world.community_id}/members"
    listed = client.get(path, headers=tokens.headers("coordinator")).get_json()["data"]
    bert = next(item for item in listed if item["id"] == str(world.bert.id))
    assert bert["display_name"] == "Bert Jansen" and bert["likes_to_do"] == "baking"
    assert str(applicant_id) not in [item["id"] for item in listed]
    applicants = client.get(path, headers=tokens.headers("coordinator"), query_string={"status": "applicant"})
    assert [item["id"] for item in applicants.get_json()["data"]] == [str(applicant_id)]
    assert [item["status"] for item in applicants.get_json()["data"]] == ["applicant"]
    refused = client.get(path, headers=tokens.headers("ans"), query_string={"status": "applicant"})
    assert_problem(refused, 403, "not_allowed")


def test_the_member_list_is_for_the_community_and_partner_keys_with_members_read(client, world, tokens, other_tokens):
    path = f"/api/v1/communities/{world.community_id}/members"
    assert client.get(path, headers=tokens.headers("coordinator")).status_code == 200
    assert_problem(client.get(path, headers=other_tokens.headers("ans")), 404, "not_found")
    assert_problem(client.get(path, headers=other_tokens.headers("coordinator")), 404, "not_found")
    active = client.get(path, headers=tokens.partner("members:read"))
    assert active.status_code == 200 and len(active.get_json()["data"]) == 5
    applicants = client.get(path, headers=tokens.partner("members:read"), query_string={"status": "applicant"})
    assert_problem(applicants, 403, "not_allowed")  # partner apps see active members only
    assert_problem(client.get(path, headers=other_tokens.partner("members:read")), 404, "not_found")
    assert_problem(client.get(path, headers=tokens.partner("ledger:read")), 403, "insufficient_scope")
    assert_problem(client.get(path, headers=ANONYMOUS), 401, "unauthenticated")
    assert_problem(client.get("/api/v1/communities/0/members", headers=tokens.headers("ans")), 404, "not_found")


def test_a_suspended_member_may_not_list_the_members(client, world, tokens, db):
    db.run(members.suspend_member, actor=world.coordinator.actor, membership_id=world.cor.id, reason="checking")
    refused = client.get(f"/api/v1/communities/{world.community_id}/members", headers=tokens.headers("cor"))
    assert_problem(refused, 403, "membership_not_active")


def test_a_member_reads_another_as_that_member_chose_to_show_themselves(client, world, tokens, db):
    db.run(
        members.update_profile,
        actor=world.bert.actor,
        membership_id=world.bert.id,
        likes_to_do="baking",
        availability=["sat-morning"],
        visibility={"likes_to_do": True},
    )
    path = f"/api/v1/members/{world.bert.id}"
    seen_by_ans = client.get(path, headers=tokens.headers("ans"))
    assert seen_by_ans.status_code == 200
    assert seen_by_ans.get_json() == {
        "id": str(world.bert.id),
        "community_id": str(world.community_id),
        "display_name": "Bert",
        "neighbourhood": "Dapperbuurt",
        "status": "active",
        "role": "member",
        "likes_to_do": "baking",
    }
    for who in ("coordinator", "bert"):
        full = client.get(path, headers=tokens.headers(who)).get_json()
        assert full["display_name"] == "Bert Jansen"
        assert full["availability"] == ["sat-morning"] and full["likes_to_do"] == "baking"
    partner = client.get(path, headers=tokens.partner("members:read")).get_json()
    assert partner["display_name"] == "Bert"  # a partner app sees what members see
    assert partner["likes_to_do"] == "baking" and "availability" not in partner
    assert world.bert.user.email not in client.get(path, headers=tokens.headers("coordinator")).get_data(as_text=True)


def test_a_member_of_another_community_is_not_found(client, world, tokens, other_tokens):
    path = f"/api/v1/members/{world.bert.id}"
    assert_problem(client.get(path, headers=other_tokens.headers("ans")), 404, "not_found")
    assert_problem(client.get(path, headers=other_tokens.headers("coordinator")), 404, "not_found")
    assert_problem(client.get(path, headers=other_tokens.partner("members:read")), 404, "not_found")
    assert_problem(client.get(path, headers=tokens.partner("listings:read")), 403, "insufficient_scope")
    assert_problem(client.get(path, headers=ANONYMOUS), 401, "unauthenticated")
    for nothing in ("999999999", "abc", "0"):
        assert_problem(client.get(f"/api/v1/members/{nothing}", headers=tokens.headers("ans")), 404, "not_found")


# --- the caller's own settings and profile --------------------------------------------------------------------


def test_a_person_reads_their_own_settings_and_memberships(client, world, tokens):
    response = client.get("/api/v1/me", headers=tokens.headers("ans"))
    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == str(world.ans.user.id) and body["email"] == world.ans.user.email
    assert body["preferred_language"] == "nl" and body["notification_mode"] == "immediate"
    [own] = body["memberships"]
    assert own["id"] == str(world.ans.id) and own["display_name"] == "Ans de Vries"
    assert own["status"] == "active" and own["visibility"] == {} and own["managed_offline"] is False
    assert_problem(client.get("/api/v1/me", headers=tokens.headers("partner_all")), 403, "not_allowed")
    assert_problem(client.get("/api/v1/me", headers=ANONYMOUS), 401, "unauthenticated")


def test_a_person_changes_their_language_and_notification_mode(client, world, tokens, db):
    response = client.patch(
        "/api/v1/me", headers=tokens.headers("ans"), json={"preferred_language": "en", "notification_mode": "weekly"}
    )
    assert response.status_code == 200
    assert (response.get_json()["preferred_language"], response.get_json()["notification_mode"]) == ("en", "weekly")
    stored = user(db, world.ans.user.id)
    assert (stored.preferred_language, stored.notification_mode) == ("en", "weekly")


@pytest.mark.parametrize(
    "body",
    [{"preferred_language": "fr"}, {"notification_mode": "hourly"}, {"is_administrator": True}, {"email": "x@y.z"}],
)
def test_settings_refuse_unknown_values_and_fields_and_change_nothing(client, world, tokens, db, body):
    assert_problem(client.patch("/api/v1/me", headers=tokens.headers("ans"), json=body), 422, "validation_failed")
    stored = user(db, world.ans.user.id)
    assert (stored.preferred_language, stored.notification_mode, stored.is_administrator) == ("nl", "immediate", False)
    assert stored.email == world.ans.user.email


def test_partner_keys_and_the_anonymous_have_no_settings_to_change(client, tokens):
    body = {"notification_mode": "weekly"}
    assert_problem(client.patch("/api/v1/me", headers=tokens.headers("partner_all"), json=body), 403, "not_allowed")
    assert_problem(client.patch("/api/v1/me", headers=ANONYMOUS, json=body), 401, "unauthenticated")


def test_a_member_changes_their_own_profile_and_what_others_see(client, world, tokens):
    body = {
        "display_name": "Ans van Vliet",
        "neighbourhood": "Transvaal",
        "likes_to_do": "reading aloud",
        "interests": ["boodschappen"],
        "availability": ["mon-morning", "sat-evening"],
        "languages": ["Nederlands", "English"],
        "visibility": {"likes_to_do": True, "availability": True},
    }
    response = client.patch(f"/api/v1/members/{world.ans.id}/profile", headers=tokens.headers("ans"), json=body)
    assert response.status_code == 200
    assert {name: response.get_json()[name] for name in body} == body
    seen = client.get(f"/api/v1/members/{world.ans.id}", headers=tokens.headers("bert")).get_json()
    assert seen["display_name"] == "Ans" and seen["neighbourhood"] == "Transvaal"
    assert seen["likes_to_do"] == "reading aloud" and seen["availability"] == ["mon-morning", "sat-evening"]
    assert "languages" not in seen and "interests" not in seen


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"role": "coordinator"}, "validation_failed"),
        ({"community_id": "1"}, "validation_failed"),
        ({"display_name": ""}, "validation_failed"),
        ({"display_name": "x" * 81}, "validation_failed"),
        ({"availability": ["someday"]}, "validation_failed"),
        ({"visibility": {"email": True}}, "validation_failed"),
        ({"visibility": {"likes_to_do": "yes"}}, "validation_failed"),
        ({"interests": "klussen"}, "validation_failed"),
        ({"display_name": "   "}, "invalid_input"),  # the use case's rule: a name is more than spaces
    ],
)
def test_a_profile_change_of_the_wrong_shape_is_refused_and_changes_nothing(client, world, tokens, db, body, code):
    response = client.patch(f"/api/v1/members/{world.ans.id}/profile", headers=tokens.headers("ans"), json=body)
    assert_problem(response, 422, code)
    stored = membership(db, world.ans.id)
    assert (stored.display_name, stored.role, stored.availability, stored.visibility) == (
        "Ans de Vries",
        "member",
        [],
        {},
    )


def test_only_the_member_changes_their_profile_and_coordinators_only_an_offline_members(client, world, tokens, db):
    path = f"/api/v1/members/{world.bert.id}/profile"
    body = {"likes_to_do": "nothing"}
    assert_problem(client.patch(path, headers=tokens.headers("ans"), json=body), 403, "not_allowed")
    assert_problem(client.patch(path, headers=tokens.headers("coordinator"), json=body), 403, "not_allowed")
    assert membership(db, world.bert.id).likes_to_do == ""
    offline = db.run(
        members.add_offline_member, actor=world.coordinator.actor, community_id=world.community_id, display_name="Riet"
    )
    changed = client.patch(
        f"/api/v1/members/{offline.id}/profile", headers=tokens.headers("coordinator"), json={"neighbourhood": "Oost"}
    )
    assert changed.status_code == 200 and changed.get_json()["neighbourhood"] == "Oost"


def test_another_communitys_people_partner_keys_and_the_anonymous_cannot_change_a_profile(
    client, world, tokens, other_tokens, db
):
    path = f"/api/v1/members/{world.ans.id}/profile"
    body = {"likes_to_do": "nothing"}
    assert_problem(client.patch(path, headers=other_tokens.headers("ans"), json=body), 404, "not_found")
    assert_problem(client.patch(path, headers=other_tokens.headers("coordinator"), json=body), 404, "not_found")
    assert_problem(client.patch(path, headers=tokens.headers("partner_all"), json=body), 403, "not_allowed")
    assert_problem(client.patch(path, headers=ANONYMOUS, json=body), 401, "unauthenticated")
    assert membership(db, world.ans.id).likes_to_do == ""


# --- applying to join -----------------------------------------------------------------------------------------


def test_a_person_applies_to_join_and_a_retry_with_the_same_key_applies_once(client, world, db):
    newcomer = add_user(db)
    headers = {**person_headers(db, newcomer), "Idempotency-Key": "apply-1"}
    path = f"/api/v1/communities/{world.community_id}/applications"
    body = {"display_name": "Nina Nieuw", "neighbourhood": "Oosterpark", "note": "new in the street"}
    first = client.post(path, headers=headers, json=body)
    assert first.status_code == 201
    created = first.get_json()
    assert created["status"] == "applicant" and created["application_note"] == "new in the street"
    assert created["community_id"] == str(world.community_id)
    again = client.post(path, headers=headers, json=body)
    assert again.status_code == 201 and again.get_json() == created
    assert [status for _, status in community_memberships(db, world.community_id)].count("applicant") == 1


def test_a_member_of_another_community_may_apply_here(client, world, other_tokens):
    path = f"/api/v1/communities/{world.community_id}/applications"
    response = client.post(path, headers=other_tokens.headers("ans"), json={"display_name": "Ans"})
    assert response.status_code == 201 and response.get_json()["status"] == "applicant"


def test_an_application_is_refused_to_members_partner_keys_the_anonymous_and_bad_bodies(client, world, tokens, db):
    path = f"/api/v1/communities/{world.community_id}/applications"
    before = community_memberships(db, world.community_id)
    already = client.post(path, headers=tokens.headers("ans"), json={"display_name": "Ans"})
    assert_problem(already, 409, "already_member")
    assert already.get_json()["membership_id"] == world.ans.id
    assert_problem(
        client.post(path, headers=tokens.headers("partner_all"), json={"display_name": "P"}), 403, "not_allowed"
    )
    assert_problem(client.post(path, headers=ANONYMOUS, json={"display_name": "A"}), 401, "unauthenticated")
    newcomer = person_headers(db, add_user(db))
    for body in ({}, {"display_name": "N", "status": "active"}, {"display_name": "N", "note": "x" * 1001}):
        assert_problem(client.post(path, headers=newcomer, json=body), 422, "validation_failed")
    unknown = client.post("/api/v1/communities/999999999/applications", headers=newcomer, json={"display_name": "N"})
    assert_problem(unknown, 404, "not_found")
    assert community_memberships(db, world.community_id) == before


# --- the coordinators' actions --------------------------------------------------------------------------------


def test_a_coordinator_approves_an_applicant_who_gets_the_welcome_credit(client, world, tokens, db):
    _, applicant_id = applicant(world, db)
    path = f"/api/v1/members/{applicant_id}/approve"
    response = client.post(path, headers=tokens.headers("coordinator"))
    assert response.status_code == 200
    assert response.get_json()["status"] == "active" and response.get_json()["display_name"] == "Nina Nieuw"
    assert account(db, membership(db, applicant_id).account_id).balance == 120
    assert_problem(client.post(path, headers=tokens.headers("coordinator")), 409, "conflict")
    assert account(db, membership(db, applicant_id).account_id).balance == 120


def test_approval_is_for_the_communitys_coordinators_and_takes_no_body(client, world, tokens, other_tokens, db):
    _, applicant_id = applicant(world, db)
    path = f"/api/v1/members/{applicant_id}/approve"
    assert_roles_refused(lambda headers: client.post(path, headers=headers), tokens, other_tokens)
    unknown = client.post(path, headers=tokens.headers("coordinator"), json={"status": "active"})
    assert_problem(unknown, 422, "validation_failed")
    assert membership(db, applicant_id).status == "applicant"
    assert_problem(
        client.post("/api/v1/members/999999999/approve", headers=tokens.headers("coordinator")), 404, "not_found"
    )
    assert client.post(path, headers=tokens.headers("coordinator"), json={}).status_code == 200


def test_a_coordinator_declines_an_application_with_a_reason_the_applicant_reads(
    client, world, tokens, other_tokens, db
):
    applicant_headers, applicant_id = applicant(world, db)
    path = f"/api/v1/members/{applicant_id}/decline"
    reason = {"reason": "we only serve the Oosterpark"}
    assert_roles_refused(lambda headers: client.post(path, headers=headers, json=reason), tokens, other_tokens)
    for body in ({}, {"reason": ""}, {"reason": "x", "status": "left"}):
        assert_problem(client.post(path, headers=tokens.headers("coordinator"), json=body), 422, "validation_failed")
    assert_problem(
        client.post(path, headers=tokens.headers("coordinator"), json={"reason": "  "}), 422, "invalid_input"
    )
    assert membership(db, applicant_id).status == "applicant"
    response = client.post(path, headers=tokens.headers("coordinator"), json=reason)
    assert response.status_code == 200 and response.get_json()["status"] == "declined"
    own = client.get("/api/v1/me", headers=applicant_headers).get_json()["memberships"]
    assert [(item["status"], item["decision_reason"]) for item in own] == [("declined", reason["reason"])]
    assert_problem(client.post(path, headers=tokens.headers("coordinator"), json=reason), 409, "conflict")


def test_a_coordinator_suspends_and_reinstates_a_member_freezing_their_account(client, world, tokens, other_tokens, db):
    suspend, reinstate = f"/api/v1/members/{world.bert.id}/suspend", f"/api/v1/members/{world.bert.id}/reinstate"
    reason = {"reason": "talked it through"}
    assert_roles_refused(lambda headers: client.post(suspend, headers=headers, json=reason), tokens, other_tokens)
    assert_problem(client.post(suspend, headers=tokens.headers("coordinator"), json={}), 422, "validation_failed")
    assert_problem(client.post(reinstate, headers=tokens.headers("coordinator"), json=reason), 409, "conflict")
    assert membership(db, world.bert.id).status == "active"
    suspended = client.post(suspend, headers=tokens.headers("coordinator"), json=reason)
    assert suspended.status_code == 200 and suspended.get_json()["status"] == "suspended"
    assert account(db, world.bert.account_id).status == "frozen"
    assert_problem(client.post(suspend, headers=tokens.headers("coordinator"), json=reason), 409, "conflict")
    assert_roles_refused(lambda headers: client.post(reinstate, headers=headers, json=reason), tokens, other_tokens)
    assert membership(db, world.bert.id).status == "suspended"
    reinstated = client.post(reinstate, headers=tokens.headers("coordinator"), json=reason)
    assert reinstated.status_code == 200 and reinstated.get_json()["status"] == "active"
    assert account(db, world.bert.account_id).status == "open"


def test_a_coordinator_sets_a_members_floor_and_ceiling_with_a_reason(client, world, tokens, other_tokens, db):
    path = f"/api/v1/members/{world.bert.id}/limits"
    body = {"floor_minutes": -900, "ceiling_minutes": 3000, "reason": "helps a lot with the garden"}
    assert_roles_refused(lambda headers: client.put(path, headers=headers, json=body), tokens, other_tokens)
    for wrong in (
        {**body, "floor_minutes": "-900"},
        {**body, "floor_minutes": -1.5},
        {"floor_minutes": -900, "ceiling_minutes": 3000},
        {**body, "balance_minutes": 0},
    ):
        assert_problem(client.put(path, headers=tokens.headers("coordinator"), json=wrong), 422, "validation_failed")
    positive_floor = client.put(path, headers=tokens.headers("coordinator"), json={**body, "floor_minutes": 60})
    assert_problem(positive_floor, 422, "invalid_input")  # the use case's rule, not the schema's
    before = account(db, world.bert.account_id)
    assert (before.floor, before.ceiling) == (-600, 2400)
    response = client.put(path, headers=tokens.headers("coordinator"), json=body)
    assert response.status_code == 200 and response.get_json()["id"] == str(world.bert.id)
    after = account(db, world.bert.account_id)
    assert (after.floor, after.ceiling) == (-900, 3000)


def test_a_coordinator_adds_an_offline_member_once_per_idempotency_key(client, world, tokens, other_tokens, db):
    path = f"/api/v1/communities/{world.community_id}/offline-members"
    body = {"display_name": "Mevrouw Jansen", "neighbourhood": "Dapperbuurt", "preferred_language": "nl"}
    before = community_memberships(db, world.community_id)
    assert_roles_refused(lambda headers: client.post(path, headers=headers, json=body), tokens, other_tokens)
    for wrong in ({}, {**body, "email": "x@example.org"}, {**body, "preferred_language": "de"}):
        assert_problem(client.post(path, headers=tokens.headers("coordinator"), json=wrong), 422, "validation_failed")
    assert community_memberships(db, world.community_id) == before
    headers = tokens.headers("coordinator", **{"Idempotency-Key": "offline-1"})
    first = client.post(path, headers=headers, json=body)
    assert first.status_code == 201
    created = first.get_json()
    assert created["managed_offline"] is True and created["status"] == "active"
    assert created["display_name"] == "Mevrouw Jansen"
    assert client.post(path, headers=headers, json=body).get_json() == created
    assert len(community_memberships(db, world.community_id)) == len(before) + 1
    assert account(db, membership(db, int(created["id"])).account_id).balance == 120


def test_the_spec_lists_every_members_operation_with_a_summary(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    expected = {
        ("get", "/api/v1/communities/{community_id}/members"),
        ("post", "/api/v1/communities/{community_id}/applications"),
        ("post", "/api/v1/communities/{community_id}/offline-members"),
        ("get", "/api/v1/members/{membership_id}"),
        ("patch", "/api/v1/members/{membership_id}/profile"),
        ("post", "/api/v1/members/{membership_id}/approve"),
        ("post", "/api/v1/members/{membership_id}/decline"),
        ("post", "/api/v1/members/{membership_id}/suspend"),
        ("post", "/api/v1/members/{membership_id}/reinstate"),
        ("put", "/api/v1/members/{membership_id}/limits"),
        ("get", "/api/v1/me"),
        ("patch", "/api/v1/me"),
    }
    for method, path in expected:
        assert paths[path][method]["summary"], f"{method.upper()} {path}"
