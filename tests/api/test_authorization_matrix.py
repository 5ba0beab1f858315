"""The authorisation matrix: every API route × every kind of caller, with what each may do.

Callers: anonymous, a member (Ans, who owns the objects the paths name), the community's coordinator, a member and a
coordinator of another community, a partner key with the route's scope and one without it. An expectation is
``OK`` (let through: the request reaches the use case, whatever it then says about the body) or the refusal
401, 403 or 404. A route of the app that has no row here fails the test, so the matrix grows with the API.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import pytest

from tests.api.conftest import issue_tokens
from tests.world import build_world
from timebank import credentials, exchanges, listings, matching, payments
from timebank.credentials import SCOPES

OK = "ok"
CALLERS = ("anonymous", "member", "coordinator", "other_member", "other_coordinator", "scoped_key", "unscoped_key")
REFUSALS = {401, 403, 404}


@dataclass(frozen=True)
class Row:
    method: str
    rule: str
    scope: str | None
    expect: dict
    body: object = None  # a function of the targets' values, giving the JSON body
    query: dict = field(default_factory=dict)


def expect(*, member, coordinator, scoped_key, other=404, anonymous=401, unscoped_key=403) -> dict:
    """What each caller gets; a member or coordinator of another community gets ``other`` (404 by default)."""
    return {
        "anonymous": anonymous,
        "member": member,
        "coordinator": coordinator,
        "other_member": other,
        "other_coordinator": other,
        "scoped_key": scoped_key,
        "unscoped_key": unscoped_key,
    }


EVERYONE_IN_COMMUNITY = expect(member=OK, coordinator=OK, scoped_key=OK)
PEOPLE_IN_COMMUNITY = expect(member=OK, coordinator=OK, scoped_key=403)
COORDINATORS = expect(member=403, coordinator=OK, scoped_key=OK)
COORDINATOR_PEOPLE = expect(member=403, coordinator=OK, scoped_key=403)
OWNER_ONLY = expect(member=OK, coordinator=404, scoped_key=403)
ANY_PERSON = expect(member=OK, coordinator=OK, scoped_key=403, other=OK)
# Ans is one of the two parties of the exchange the paths name; the coordinator is not.
PARTIES = expect(member=OK, coordinator=403, scoped_key=403)

PERIOD = {"start": "2026-01-01T00:00:00+01:00", "end": "2026-12-31T00:00:00+01:00"}
COMMUNITY = "/api/v1/communities/<community_id>"
MEMBER = "/api/v1/members/<membership_id>"
EXCHANGE = "/api/v1/exchanges/<exchange_id>"
LISTING = "/api/v1/listings/<listing_id>"


def reason(values):
    return {"reason": "matrix"}


def empty(values):
    return {}


ROWS = [
    # communities and credentials
    Row("GET", "/api/v1/communities", "listings:read", expect(member=OK, coordinator=OK, scoped_key=OK, other=OK)),
    Row("GET", COMMUNITY, "listings:read", EVERYONE_IN_COMMUNITY),
    Row("GET", "/api/v1/me/tokens", None, ANY_PERSON),
    Row("POST", "/api/v1/me/tokens", None, ANY_PERSON, body=lambda v: {"name": "matrix"}),
    Row("DELETE", "/api/v1/me/tokens/<token_id>", None, OWNER_ONLY),
    Row("GET", COMMUNITY + "/partner-keys", None, COORDINATOR_PEOPLE),
    Row(
        "POST",
        COMMUNITY + "/partner-keys",
        None,
        COORDINATOR_PEOPLE,
        body=lambda v: {"name": "matrix", "scopes": ["listings:read"]},
    ),
    Row("DELETE", COMMUNITY + "/partner-keys/<key_id>", None, COORDINATOR_PEOPLE),
    # members
    Row("GET", COMMUNITY + "/members", "members:read", EVERYONE_IN_COMMUNITY),
    Row("GET", MEMBER, "members:read", EVERYONE_IN_COMMUNITY),
    Row("GET", "/api/v1/me", None, ANY_PERSON),
    Row("PATCH", "/api/v1/me", None, ANY_PERSON, body=lambda v: {"notification_mode": "weekly"}),
    Row("PATCH", MEMBER + "/profile", None, {**OWNER_ONLY, "coordinator": 403}, body=lambda v: {"likes_to_do": "x"}),
    Row("POST", COMMUNITY + "/applications", None, ANY_PERSON, body=lambda v: {"display_name": "Matrix"}),
    Row("POST", COMMUNITY + "/offline-members", None, COORDINATOR_PEOPLE, body=lambda v: {"display_name": "Matrix"}),
    Row("POST", MEMBER + "/approve", None, COORDINATOR_PEOPLE, body=empty),
    Row("POST", MEMBER + "/decline", None, COORDINATOR_PEOPLE, body=reason),
    Row("POST", MEMBER + "/suspend", None, COORDINATOR_PEOPLE, body=reason),
    Row("POST", MEMBER + "/reinstate", None, COORDINATOR_PEOPLE, body=reason),
    Row(
        "PUT",
        MEMBER + "/limits",
        None,
        COORDINATOR_PEOPLE,
        body=lambda v: {"floor_minutes": -900, "ceiling_minutes": 3000, "reason": "matrix"},
    ),
    # listings
    Row("GET", COMMUNITY + "/listings", "listings:read", EVERYONE_IN_COMMUNITY),
    Row(
        "POST",
        COMMUNITY + "/listings",
        None,
        PEOPLE_IN_COMMUNITY,
        body=lambda v: {
            "kind": "offer",
            "title": "Matrix",
            "category_id": str(v["category_id"]),
            "estimated_minutes": 60,
        },
    ),
    Row("GET", LISTING, "listings:read", EVERYONE_IN_COMMUNITY),
    Row("PATCH", LISTING, None, {**OWNER_ONLY, "coordinator": 403}, body=lambda v: {"title": "Matrix"}),
    Row("POST", LISTING + "/close", None, PEOPLE_IN_COMMUNITY, body=reason),
    Row("POST", LISTING + "/reopen", None, PEOPLE_IN_COMMUNITY, body=reason),
    Row("GET", LISTING + "/suggestions", "listings:read", EVERYONE_IN_COMMUNITY),
    Row(
        "POST",
        LISTING + "/invitations",
        None,
        PEOPLE_IN_COMMUNITY,
        body=lambda v: {"membership_id": str(v["cor_id"])},
    ),
    Row("GET", "/api/v1/me/invitations", None, ANY_PERSON),
    # exchanges
    # Ans cannot respond to her own request (403); another member could.
    Row("POST", LISTING + "/responses", None, {**PEOPLE_IN_COMMUNITY, "member": 403}, body=empty),
    # The invitation is Bert's: Ans (who invited him) and the coordinator see it but cannot answer it.
    Row(
        "POST",
        "/api/v1/invitations/<invitation_id>/accept",
        None,
        COORDINATOR_PEOPLE | {"coordinator": 403},
        body=empty,
    ),
    Row(
        "POST",
        "/api/v1/invitations/<invitation_id>/decline",
        None,
        COORDINATOR_PEOPLE | {"coordinator": 403},
        body=empty,
    ),
    Row("GET", EXCHANGE, "ledger:read", EVERYONE_IN_COMMUNITY),
    Row(
        "GET",
        COMMUNITY + "/exchanges",
        "ledger:read",
        EVERYONE_IN_COMMUNITY,
        query={"membership_id": "<membership_id>"},
    ),
    Row("POST", EXCHANGE + "/agree", None, PARTIES, body=empty),
    Row("POST", EXCHANGE + "/accept-helper", None, PARTIES, body=empty),
    Row("POST", EXCHANGE + "/cancel", None, PARTIES, body=empty),
    Row("POST", EXCHANGE + "/record", None, PARTIES, body=lambda v: {"minutes": 30}),
    Row("POST", EXCHANGE + "/confirm", None, PARTIES, body=empty),
    Row("POST", EXCHANGE + "/dispute", None, PARTIES, body=reason),
    Row("POST", EXCHANGE + "/thank", None, PARTIES, body=lambda v: {"text": "Dank je"}),
    Row(
        "POST",
        EXCHANGE + "/settle",
        "exchanges:write",
        COORDINATORS,
        body=lambda v: {"outcome": "void", "reason": "matrix"},
    ),
    Row(
        "POST",
        COMMUNITY + "/exchanges/on-behalf",
        "exchanges:write",
        COORDINATORS,
        body=lambda v: {
            "helper_membership_id": str(v["bert_id"]),
            "helped_membership_id": str(v["cor_id"]),
            "minutes": 30,
            "attested": True,
            "reason": "matrix",
        },
    ),
    Row("GET", MEMBER + "/thank-you-notes", "members:read", EVERYONE_IN_COMMUNITY),
    # the ledger
    Row("GET", MEMBER + "/balance", "ledger:read", EVERYONE_IN_COMMUNITY),
    Row("GET", MEMBER + "/statement", "ledger:read", EVERYONE_IN_COMMUNITY, query=PERIOD),
    Row("GET", MEMBER + "/statement.csv", "ledger:read", EVERYONE_IN_COMMUNITY, query=PERIOD),
    Row(
        "POST",
        COMMUNITY + "/payments",
        None,
        PEOPLE_IN_COMMUNITY,
        body=lambda v: {"payee_membership_id": str(v["bert_id"]), "minutes": 5},
    ),
    Row(
        "POST",
        COMMUNITY + "/claims",
        None,
        PEOPLE_IN_COMMUNITY,
        body=lambda v: {"payer_membership_id": str(v["bert_id"]), "minutes": 5},
    ),
    Row("POST", "/api/v1/transactions/<transaction_id>/reversal", "ledger:write", COORDINATORS, body=reason),
    Row(
        "POST",
        COMMUNITY + "/transfers/batch",
        "ledger:write",
        COORDINATORS,
        body=lambda v: {
            "atomic": True,
            "transfers": [
                {
                    "payer_membership_id": str(v["bert_id"]),
                    "payee_membership_id": str(v["cor_id"]),
                    "minutes": 5,
                    "description": "matrix",
                }
            ],
        },
    ),
    Row("GET", COMMUNITY + "/pot", "ledger:read", COORDINATORS),
    Row("POST", COMMUNITY + "/pot/donations", None, PEOPLE_IN_COMMUNITY, body=lambda v: {"minutes": 5}),
    Row(
        "POST",
        COMMUNITY + "/pot/grants",
        "ledger:write",
        COORDINATORS,
        body=lambda v: {"membership_id": str(v["membership_id"]), "minutes": 5, "reason": "matrix"},
    ),
    Row(
        "POST",
        COMMUNITY + "/pot/group-events",
        "ledger:write",
        COORDINATORS,
        body=lambda v: {
            "event_name": "matrix",
            "participant_ids": [str(v["membership_id"])],
            "minutes_each": 5,
            "source": "issuance",
        },
    ),
    # reports
    Row("GET", COMMUNITY + "/reports/funder", "reports:read", COORDINATORS, query=PERIOD),
    Row("GET", COMMUNITY + "/reports/funder.csv", "reports:read", COORDINATORS, query=PERIOD),
    Row("GET", COMMUNITY + "/audit-log", None, COORDINATOR_PEOPLE),
]
IGNORED_RULES = {"/api/v1/openapi.json", "/api/v1/docs", "/api/v1/problems/<slug>"}


@dataclass
class Targets:
    """A world, another world, and one object of each kind for the paths to name (most of them Ans's)."""

    tokens: object
    other_tokens: object
    values: dict


def build_targets(db) -> Targets:
    world, other_world = build_world(db), build_world(db)
    tokens, other_tokens = issue_tokens(world), issue_tokens(other_world)
    ans, bert = world.ans, world.bert
    request = db.run(
        listings.post_listing,
        actor=ans.actor,
        community_id=world.community_id,
        kind="request",
        title="Hulp gevraagd",
        category_id=world.categories["klussen"],
        estimated_minutes=60,
    )
    invitation = db.run(matching.invite_member, actor=ans.actor, listing_id=request.id, membership_id=bert.id)
    exchange = db.run(exchanges.respond_to_listing, actor=bert.actor, listing_id=request.id)
    paid = db.run(payments.pay_directly, actor=ans.actor, payee_membership_id=bert.id, minutes=15)
    token = db.run(credentials.personal_tokens, actor=ans.actor)[0]
    key = db.run(
        credentials.create_partner_key,
        actor=world.coordinator.actor,
        community_id=world.community_id,
        name="target",
        scopes=["listings:read"],
    ).credential
    values = {
        "community_id": world.community_id,
        "membership_id": ans.id,
        "listing_id": request.id,
        "invitation_id": invitation.id,
        "exchange_id": exchange.id,
        "transaction_id": paid.ledger_transaction_id,
        "token_id": token.id,
        "key_id": key.id,
        "category_id": world.categories["klussen"],
        "bert_id": bert.id,
        "cor_id": world.cor.id,
    }
    return Targets(tokens=tokens, other_tokens=other_tokens, values=values)


def headers_for(targets: Targets, caller: str, scope: str | None) -> dict:
    tokens, other = targets.tokens, targets.other_tokens
    key = {"Idempotency-Key": uuid.uuid4().hex}
    if caller == "anonymous":
        return key
    if caller in ("scoped_key", "unscoped_key"):
        wanted = scope or SCOPES[0]
        chosen = wanted if caller == "scoped_key" else next(s for s in SCOPES if s != wanted)
        return tokens.partner(chosen, **key)
    person = {"member": "ans", "coordinator": "coordinator"}.get(caller)
    if person:
        return tokens.headers(person, **key)
    return other.headers("ans" if caller == "other_member" else "coordinator", **key)


def api_rules(app) -> set[tuple[str, str]]:
    return {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/") and rule.rule not in IGNORED_RULES
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_every_api_route_has_a_row_in_the_matrix(api_app):
    covered = {(row.method, row.rule) for row in ROWS}
    missing = sorted(api_rules(api_app) - covered)
    assert missing == [], f"routes without a row in the authorisation matrix: {missing}"
    assert not covered - api_rules(api_app), "rows for routes that do not exist"


def fill(template: str, values: dict) -> str:
    for name, value in values.items():
        template = template.replace(f"<{name}>", str(value))
    return template


@pytest.mark.parametrize("row", ROWS, ids=[f"{row.method} {row.rule}" for row in ROWS])
def test_each_caller_gets_what_the_matrix_says(api_app, db, row):
    targets = build_targets(db)
    path = fill(row.rule, targets.values)
    query = {name: fill(value, targets.values) for name, value in row.query.items()}
    client = api_app.test_client()
    outcomes = {}
    for caller in CALLERS:
        body = row.body(targets.values) if row.body else None
        response = client.open(
            path, method=row.method, headers=headers_for(targets, caller, row.scope), json=body, query_string=query
        )
        outcomes[caller] = response.status_code if response.status_code in REFUSALS else OK
    assert outcomes == row.expect
