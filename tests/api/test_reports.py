"""The reports resource: the funder report as JSON and CSV, and the coordinators' audit log."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest

from api.common import encode_cursor
from tests.world import START
from timebank import exchanges, listings, payments

# March 2026 in Amsterdam, where the world's people joined (START is 2 March).
MARCH = {"start": "2026-03-01T00:00:00+01:00", "end": "2026-04-01T00:00:00+02:00"}
REPORT_PATHS = ("/api/v1/communities/{}/reports/funder", "/api/v1/communities/{}/reports/funder.csv")


def report_path(world, *, csv_file: bool = False) -> str:
    return REPORT_PATHS[csv_file].format(world.community_id)


def audit_path(world) -> str:
    return f"/api/v1/communities/{world.community_id}/audit-log"


def confirmed_exchange(world, *, minutes: int):
    """Ans asks for help with errands, Bert helps and records the minutes a day later, Ans confirms: through the
    use cases, as the web front and the exchanges resource would."""
    db, ans, bert = world.db, world.ans.actor, world.bert.actor
    listing = db.run(
        listings.post_listing,
        actor=ans,
        community_id=world.community_id,
        kind="request",
        title="Boodschappen doen",
        category_id=world.categories["boodschappen"],
        estimated_minutes=60,
        now=START,
    )
    exchange = db.run(exchanges.respond_to_listing, actor=bert, listing_id=listing.id, now=START)
    db.run(exchanges.agree_exchange, actor=ans, exchange_id=exchange.id, now=START)
    recorded_at = START + timedelta(days=1)
    db.run(payments.record_minutes, actor=bert, exchange_id=exchange.id, minutes=minutes, now=recorded_at)
    return db.run(payments.confirm_exchange, actor=ans, exchange_id=exchange.id, now=recorded_at + timedelta(hours=2))


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


# --- the funder report --------------------------------------------------------------------------------------------


def test_the_funder_report_counts_a_confirmed_exchange(client, world, tokens):
    confirmed_exchange(world, minutes=90)
    response = client.get(report_path(world), query_string=MARCH, headers=tokens.headers("coordinator"))
    assert response.status_code == 200
    report = response.get_json()
    assert report["community_id"] == str(world.community_id) and report["community_name"] == "Buurtbank Test"
    assert (report["start"], report["end"]) == ("2026-02-28T23:00:00+00:00", "2026-03-31T22:00:00+00:00")
    assert (report["total_exchanges"], report["total_minutes"]) == (1, 90)
    assert report["minutes_by_month"] == [{"month": "2026-03", "exchanges": 1, "minutes": 90}]
    errands = [item for item in report["minutes_by_category"] if item["slug"] == "boodschappen"]
    assert errands == [{"slug": "boodschappen", "name": "Boodschappen", "exchanges": 1, "minutes": 90}]
    assert len(report["minutes_by_category"]) == 5
    assert report["minutes_by_month_and_category"] == [
        {"month": "2026-03", "slug": "boodschappen", "exchanges": 1, "minutes": 90}
    ]
    assert (report["helper_helped_pairs"], report["active_members"], report["new_members"]) == (1, 2, 5)
    assert (report["requests_with_an_exchange"], report["median_days_to_first_exchange"]) == (1, 1.0)
    # An exchange does not close its request: posted on 2 March, it is still open at the end of the month.
    assert report["open_requests_older_than_14_days"] == 1
    assert isinstance(report["members_within_an_hour_of_floor"], int)


def test_an_empty_period_reports_zeros_and_no_median(client, world, tokens):
    period = {"start": "2025-01-01T00:00:00+01:00", "end": "2025-02-01T00:00:00+01:00"}
    report = client.get(report_path(world), query_string=period, headers=tokens.headers("coordinator")).get_json()
    assert (report["total_exchanges"], report["total_minutes"], report["new_members"]) == (0, 0, 0)
    assert report["minutes_by_month"] == [{"month": "2025-01", "exchanges": 0, "minutes": 0}]
    assert report["median_days_to_first_exchange"] is None


def test_the_funder_report_as_csv_is_an_attachment_with_the_same_figures(client, world, tokens):
    confirmed_exchange(world, minutes=90)
    response = client.get(report_path(world, csv_file=True), query_string=MARCH, headers=tokens.partner("reports:read"))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    slug = world.community.slug
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="funder-report-{slug}-2026-03-01-2026-04-01.csv"'
    )
    rows = csv_rows(response)
    assert rows[0] == ["Funder report", "Buurtbank Test", "2026-03-01 00:00", "2026-04-01 00:00", "Europe/Amsterdam"]
    assert ["Minutes exchanged per month"] in rows and ["month", "exchanges", "minutes", "hours"] in rows
    assert ["2026-03", "1", "90", "1:30"] in rows
    assert ["total_minutes", "90"] in rows


ALLOWED_TO_READ_REPORTS = ["coordinator", "admin", "partner_all", "reports:read"]


def caller_headers(tokens, who: str) -> dict:
    if ":" in who:
        return tokens.partner(who)
    return tokens.headers(who)


@pytest.mark.parametrize("csv_file", [False, True], ids=["json", "csv"])
@pytest.mark.parametrize("who", ALLOWED_TO_READ_REPORTS)
def test_coordinators_administrators_and_partner_keys_with_the_scope_read_the_report(
    client, world, tokens, who, csv_file
):
    response = client.get(
        report_path(world, csv_file=csv_file), query_string=MARCH, headers=caller_headers(tokens, who)
    )
    assert response.status_code == 200


@pytest.mark.parametrize("csv_file", [False, True], ids=["json", "csv"])
@pytest.mark.parametrize(
    ("who", "status", "code"),
    [
        ("ans", 403, "not_allowed"),
        ("officer", 403, "not_allowed"),
        ("ledger:read", 403, "insufficient_scope"),
        ("partner_none", 403, "insufficient_scope"),
    ],
)
def test_members_and_partner_keys_without_the_scope_may_not_read_the_report(
    client, world, tokens, who, status, code, csv_file
):
    response = client.get(
        report_path(world, csv_file=csv_file), query_string=MARCH, headers=caller_headers(tokens, who)
    )
    assert response.status_code == status and response.content_type == "application/problem+json"
    assert response.get_json()["code"] == code


@pytest.mark.parametrize("csv_file", [False, True], ids=["json", "csv"])
@pytest.mark.parametrize("who", ["coordinator", "ans", "reports:read", "partner_all"])
def test_another_communitys_people_and_keys_are_told_the_community_does_not_exist(
    client, world, other_tokens, who, csv_file
):
    response = client.get(
        report_path(world, csv_file=csv_file), query_string=MARCH, headers=caller_headers(other_tokens, who)
    )
    assert response.status_code == 404 and response.get_json()["code"] == "not_found"


@pytest.mark.parametrize("csv_file", [False, True], ids=["json", "csv"])
def test_an_anonymous_caller_must_authenticate_for_the_report(client, world, csv_file):
    response = client.get(report_path(world, csv_file=csv_file), query_string=MARCH)
    assert response.status_code == 401 and response.get_json()["code"] == "unauthenticated"


@pytest.mark.parametrize("community_id", ["abc", "0", "999999999"])
def test_a_report_of_a_community_that_does_not_exist_is_not_found(client, tokens, community_id):
    for path in REPORT_PATHS:
        response = client.get(path.format(community_id), query_string=MARCH, headers=tokens.headers("admin"))
        assert response.status_code == 404 and response.get_json()["code"] == "not_found"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"end": MARCH["end"]}, "start"),
        ({"start": MARCH["start"]}, "end"),
        ({**MARCH, "start": "2026-03-01T00:00:00"}, "start"),
        ({**MARCH, "end": "next week"}, "end"),
        ({**MARCH, "start": "0001-01-01T00:00:00+14:00"}, "start"),
        ({**MARCH, "end": "9999-12-31T23:00:00-12:00"}, "end"),
        ({**MARCH, "community_id": "2"}, "community_id"),
    ],
)
def test_a_malformed_period_is_refused_naming_the_field(client, world, tokens, query, field):
    for csv_file in (False, True):
        response = client.get(
            report_path(world, csv_file=csv_file), query_string=query, headers=tokens.headers("coordinator")
        )
        assert response.status_code == 422 and response.content_type == "application/problem+json"
        body = response.get_json()
        assert body["code"] == "validation_failed" and field in body["errors"]["query"]


@pytest.mark.parametrize(
    "period",
    [
        {"start": "2026-04-01T00:00:00+02:00", "end": "2026-03-01T00:00:00+01:00"},
        {"start": "2026-03-01T00:00:00+01:00", "end": "2026-02-28T23:00:00Z"},
        {"start": "2024-01-01T00:00:00Z", "end": "2026-01-03T00:00:00Z"},
    ],
    ids=["backwards", "empty", "longer-than-two-years"],
)
def test_a_period_the_use_case_refuses_is_422_naming_the_end(client, world, tokens, period):
    for csv_file in (False, True):
        response = client.get(
            report_path(world, csv_file=csv_file), query_string=period, headers=tokens.headers("coordinator")
        )
        assert response.status_code == 422
        body = response.get_json()
        assert (body["code"], body["field"]) == ("invalid_input", "end")


def test_a_two_year_period_is_allowed(client, world, tokens):
    period = {"start": "2024-03-01T00:00:00+01:00", "end": "2026-03-01T00:00:00+01:00"}
    response = client.get(report_path(world), query_string=period, headers=tokens.headers("coordinator"))
    assert response.status_code == 200 and len(response.get_json()["minutes_by_month"]) == 24


def test_the_spec_documents_the_report_as_json_and_as_csv(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    json_operation = paths["/api/v1/communities/{community_id}/reports/funder"]["get"]
    csv_operation = paths["/api/v1/communities/{community_id}/reports/funder.csv"]["get"]
    audit_operation = paths["/api/v1/communities/{community_id}/audit-log"]["get"]
    for operation in (json_operation, csv_operation, audit_operation):
        assert operation["summary"] and {"200", "401", "403", "404", "422"} <= operation["responses"].keys()
    assert "application/json" in json_operation["responses"]["200"]["content"]
    assert list(csv_operation["responses"]["200"]["content"]) == ["text/csv"]
    assert "Content-Disposition" in csv_operation["responses"]["200"]["headers"]
    required = {parameter["name"] for parameter in csv_operation["parameters"] if parameter.get("required")}
    assert required == {"start", "end"}


# --- the audit log ------------------------------------------------------------------------------------------------


def test_a_coordinator_reads_the_audit_log_newest_first(client, world, tokens):
    response = client.get(audit_path(world), query_string={"limit": 100}, headers=tokens.headers("coordinator"))
    assert response.status_code == 200
    body = response.get_json()
    ids = [int(entry["id"]) for entry in body["data"]]
    assert ids == sorted(ids, reverse=True) and body["next_cursor"] is None
    # The world's keys were made last, by the coordinator: they are the newest entries.
    newest = body["data"][0]
    assert newest["action"] == "partner_key.created" and newest["actor"] == f"user:{world.coordinator.user.id}"
    assert newest["subject_type"] == "partner_key" and newest["details"]["scopes"] == ["reports:read"]
    assert {"id", "at", "action", "actor", "subject_type", "subject_id", "reason", "details"} == newest.keys()
    assert datetime.fromisoformat(newest["at"]).utcoffset() == timedelta(0)


def test_the_audit_log_filters_by_action_and_shows_only_the_communitys_entries(client, world, other_world, tokens):
    response = client.get(
        audit_path(world), query_string={"action": "member.approved"}, headers=tokens.headers("coordinator")
    )
    entries = response.get_json()["data"]
    assert {entry["action"] for entry in entries} == {"member.approved"}
    members = (world.coordinator, world.officer, world.ans, world.bert, world.cor)
    assert sorted(entry["subject_id"] for entry in entries) == sorted(str(person.id) for person in members)
    assert {entry["actor"] for entry in entries} == {f"user:{world.admin.user.id}"}


def test_the_audit_log_pages_join_up_without_duplicates_or_gaps(client, world, tokens):
    headers = tokens.headers("coordinator")
    everything = client.get(audit_path(world), query_string={"limit": 100}, headers=headers).get_json()["data"]
    walked, cursor = [], None
    for _ in range(len(everything)):
        query = {"limit": 3} if cursor is None else {"limit": 3, "cursor": cursor}
        body = client.get(audit_path(world), query_string=query, headers=headers).get_json()
        assert len(body["data"]) <= 3
        walked.extend(entry["id"] for entry in body["data"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert walked == [entry["id"] for entry in everything] and len(walked) > 3


def test_an_administrator_may_read_the_audit_log_too(client, world, tokens):
    assert client.get(audit_path(world), headers=tokens.headers("admin")).status_code == 200


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [
        ("ans", 403, "not_allowed"),
        ("officer", 403, "not_allowed"),
        ("partner_all", 403, "not_allowed"),
        ("reports:read", 403, "not_allowed"),
    ],
)
def test_members_and_partner_keys_may_not_read_the_audit_log(client, world, tokens, who, status, code):
    response = client.get(audit_path(world), headers=caller_headers(tokens, who))
    assert response.status_code == status and response.get_json()["code"] == code


@pytest.mark.parametrize("who", ["coordinator", "ans"])
def test_another_communitys_people_are_told_the_community_has_no_audit_log(client, world, other_tokens, who):
    response = client.get(audit_path(world), headers=other_tokens.headers(who))
    assert response.status_code == 404 and response.get_json()["code"] == "not_found"


def test_an_anonymous_caller_must_authenticate_for_the_audit_log(client, world):
    response = client.get(audit_path(world))
    assert response.status_code == 401 and response.get_json()["code"] == "unauthenticated"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"action": "Member Approved"}, "action"),
        ({"action": "member.\x00"}, "action"),
        ({"action": "x" * 65}, "action"),
        ({"cursor": "x" * 201}, "cursor"),
        ({"before": "12"}, "before"),
    ],
)
def test_malformed_audit_log_arguments_are_refused_naming_the_field(client, world, tokens, query, field):
    response = client.get(audit_path(world), query_string=query, headers=tokens.headers("coordinator"))
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "validation_failed" and field in body["errors"]["query"]


@pytest.mark.parametrize("cursor", ["not a cursor!", encode_cursor("12"), encode_cursor(0), encode_cursor(10**30)])
def test_a_cursor_this_api_did_not_give_is_refused(client, world, tokens, cursor):
    response = client.get(audit_path(world), query_string={"cursor": cursor}, headers=tokens.headers("coordinator"))
    assert response.status_code == 422
    body = response.get_json()
    assert (body["code"], body["field"]) == ("invalid_input", "cursor")
