"""The coordinators' audit log, queried: by action, by who acted, and by period, alone and together.

The world's people were approved by the administrator at START (2 March 2026); the coordinator made the partner
keys of the API tests just now. Each filter must select exactly the entries that satisfy it, so a filter and its
complement partition the log.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tests.world import START


def audit_path(world) -> str:
    return f"/api/v1/communities/{world.community_id}/audit-log"


def entries(client, world, tokens, **query) -> list[dict]:
    """Every entry the query selects, walking the pages."""
    found, cursor = [], None
    while True:
        page_query = {"limit": 7, **query, **({"cursor": cursor} if cursor else {})}
        response = client.get(audit_path(world), query_string=page_query, headers=tokens.headers("coordinator"))
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        found.extend(body["data"])
        cursor = body["next_cursor"]
        if cursor is None:
            return found


def ids(found: list[dict]) -> list[str]:
    return [entry["id"] for entry in found]


def test_the_audit_log_filters_by_who_acted(client, world, tokens):
    everything = entries(client, world, tokens)
    admin, coordinator = f"user:{world.admin.user.id}", f"user:{world.coordinator.user.id}"
    by_admin = entries(client, world, tokens, actor=admin)
    by_coordinator = entries(client, world, tokens, actor=coordinator)
    assert by_admin and by_coordinator
    assert {entry["actor"] for entry in by_admin} == {admin}
    assert {entry["actor"] for entry in by_coordinator} == {coordinator}
    assert ids(by_admin) == [entry["id"] for entry in everything if entry["actor"] == admin]
    assert ids(by_coordinator) == [entry["id"] for entry in everything if entry["actor"] == coordinator]
    assert entries(client, world, tokens, actor=f"user:{world.ans.user.id}") == []
    assert entries(client, world, tokens, actor="system:tick") == []


def test_the_audit_log_filters_by_period_and_a_moment_splits_it_in_two(client, world, tokens):
    everything = entries(client, world, tokens)
    moment = (START + timedelta(days=1)).isoformat()
    before = entries(client, world, tokens, until=moment)
    after = entries(client, world, tokens, since=moment)
    assert before and after
    assert sorted(ids(before) + ids(after), key=int) == sorted(ids(everything), key=int)
    assert all(datetime.fromisoformat(entry["at"]) < START + timedelta(days=1) for entry in before)
    assert all(datetime.fromisoformat(entry["at"]) >= START + timedelta(days=1) for entry in after)
    # The world's approvals happened at START exactly: a period of one second around it holds them, since included.
    at_start = entries(client, world, tokens, since=START.isoformat(), until=(START + timedelta(seconds=1)).isoformat())
    assert at_start and {datetime.fromisoformat(entry["at"]) for entry in at_start} == {START}
    # The same moment in another offset selects the same entries.
    amsterdam = START.astimezone(timezone(timedelta(hours=1))).isoformat()
    assert ids(entries(client, world, tokens, since=amsterdam, until=moment)) == ids(before)


def test_the_audit_log_filters_combine(client, world, tokens):
    admin = f"user:{world.admin.user.id}"
    found = entries(
        client,
        world,
        tokens,
        action="member.approved",
        actor=admin,
        since=START.isoformat(),
        until=datetime.now(UTC).isoformat(),
    )
    assert len(found) == 5 and {(entry["action"], entry["actor"]) for entry in found} == {("member.approved", admin)}
    assert entries(client, world, tokens, action="member.approved", actor=f"user:{world.coordinator.user.id}") == []
    assert entries(client, world, tokens, action="partner_key.created", until=START.isoformat()) == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"actor": "root"}, "actor"),
        ({"actor": "user:0"}, "actor"),
        ({"actor": "user:twelve"}, "actor"),
        ({"actor": "user:1 OR 1=1"}, "actor"),
        ({"actor": "partner:" + "9" * 30}, "actor"),
        ({"actor": "system:Tick!"}, "actor"),
        ({"since": "2026-03-02T09:00:00"}, "since"),
        ({"since": "yesterday"}, "since"),
        ({"until": "0001-01-01T00:00:00+00:00"}, "until"),
        ({"until": "9999-12-31T23:59:59+00:00"}, "until"),
    ],
)
def test_malformed_audit_log_filters_are_refused_naming_the_field(client, world, tokens, query, field):
    response = client.get(audit_path(world), query_string=query, headers=tokens.headers("coordinator"))
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "validation_failed" and field in body["errors"]["query"]


@pytest.mark.parametrize("gap", [timedelta(0), timedelta(days=-1)])
def test_a_period_that_ends_before_it_starts_is_refused(client, world, tokens, gap):
    query = {"since": START.isoformat(), "until": (START + gap).isoformat()}
    response = client.get(audit_path(world), query_string=query, headers=tokens.headers("coordinator"))
    assert response.status_code == 422
    body = response.get_json()
    assert (body["code"], body["field"]) == ("invalid_input", "until")


def test_filters_do_not_reach_another_communitys_entries(client, world, other_world, tokens):
    other_admin = f"user:{other_world.admin.user.id}"
    assert entries(client, world, tokens, actor=other_admin) == []
