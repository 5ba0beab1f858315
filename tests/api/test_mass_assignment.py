"""Mass assignment: no write operation lets a client set ``balance``, ``role``, ``community_id``, ``status`` or any
field it does not name, whatever object of the body the field is slipped into.

The write operations (POST, PUT, PATCH) are read from the spec, so a new one is covered the moment it exists: it
needs a row in ``VALID`` (a valid request for it, in a state where it succeeds), or the first test fails. For each
operation, a fresh world and a valid body; each forbidden field added to each object of the body is refused with a
422 problem naming the field, and the database is unchanged (every table, read whole); then the valid body alone
succeeds and changes the database, which shows both that the body was valid and that the snapshot sees changes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.api import unchanged
from tests.api.conftest import Tokens, issue_tokens
from tests.api.test_exchanges import give_check
from tests.world import World, add_user, build_world
from timebank import credentials
from timebank.access import Actor

# The database of this module's own (tests/api/unchanged.py).
own_app, own_client, own_db, snapshot = unchanged.own_app, unchanged.own_client, unchanged.own_db, unchanged.snapshot

FORBIDDEN = ("balance", "role", "community_id", "status", "is_admin")
WRITE_METHODS = ("post", "put", "patch")
P = "/api/v1"


def write_operations(spec: dict) -> list[str]:
    """Every write operation of the spec, as "METHOD /path"."""
    return sorted(
        f"{method.upper()} {path}" for path, item in spec["paths"].items() for method in item if method in WRITE_METHODS
    )


# --- a scene for each operation: a fresh world and the objects its path names ------------------------------------


@dataclass
class Call:
    """A valid request: who sends it, its body and the values of its path's ids."""

    caller: str | dict
    body: dict
    path: dict = field(default_factory=dict)


@dataclass
class Scene:
    client: object
    world: World
    tokens: Tokens
    newcomer: dict  # headers of a person with no membership in the world's community

    def headers(self, caller: str | dict) -> dict:
        base = caller if isinstance(caller, dict) else self.tokens.headers(caller)
        return {**base, "Idempotency-Key": uuid.uuid4().hex}

    def id(self, name: str) -> str:
        return str(getattr(self.world, name).id)

    def post(self, who: str, path: str, body: dict | None = None) -> dict:
        response = self.client.post(P + path, headers=self.headers(who), json=body or {})
        assert response.status_code in (200, 201), (path, response.get_json())
        return response.get_json()

    def listing(self, *, category: str = "boodschappen") -> str:
        body = {"kind": "request", "title": "Hulp", "category_id": str(self.world.categories[category])}
        return self.post("ans", f"/communities/{self.world.community_id}/listings", {**body, "estimated_minutes": 60})[
            "id"
        ]

    def exchange(self, state: str = "proposed") -> str:
        """An exchange between Ans (helped) and Bert (helper) in ``state``."""
        exchange_id = self.post("bert", f"/listings/{self.listing()}/responses")["id"]
        steps = {
            "agreed": [("ans", "agree", None)],
            "recorded": [("ans", "agree", None), ("bert", "record", {"minutes": 60})],
            "confirmed": [("ans", "agree", None), ("bert", "record", {"minutes": 60}), ("ans", "confirm", None)],
            "disputed": [
                ("ans", "agree", None),
                ("bert", "record", {"minutes": 60}),
                ("ans", "dispute", {"reason": "het was een uur"}),
            ],
        }
        for who, step, body in steps.get(state, []):
            self.post(who, f"/exchanges/{exchange_id}/{step}", body)
        return exchange_id

    def invitation(self) -> str:
        return self.post("ans", f"/listings/{self.listing()}/invitations", {"membership_id": self.id("bert")})["id"]

    def payment(self) -> str:
        body = {"payee_membership_id": self.id("bert"), "minutes": 15}
        return self.post("ans", f"/communities/{self.world.community_id}/payments", body)["transaction_id"]

    def applicant(self) -> str:
        return self.post(
            self.newcomer, f"/communities/{self.world.community_id}/applications", {"display_name": "Nel"}
        )["id"]

    def pot_with(self, minutes: int) -> None:
        self.post("ans", f"/communities/{self.world.community_id}/pot/donations", {"minutes": minutes})

    def suspended(self, name: str) -> str:
        self.post("coordinator", f"/members/{self.id(name)}/suspend", {"reason": "op verzoek"})
        return self.id(name)

    def child_care_response(self) -> str:
        """Bert (with a certificate of conduct) offers to babysit for Ans: the parent accepts the helper next."""
        give_check(self.world, self.world.bert)
        return self.post("bert", f"/listings/{self.listing(category='oppassen')}/responses")["id"]


# --- a valid request for every write operation -------------------------------------------------------------------

C = P + "/communities/{community_id}"
VALID: dict[str, Callable[[Scene], Call]] = {
    # communities, credentials
    f"POST {P}/me/tokens": lambda s: Call("ans", {"name": "laptop"}),
    f"POST {C}/partner-keys": lambda s: Call("coordinator", {"name": "school", "scopes": ["listings:read"]}),
    # members
    f"POST {C}/applications": lambda s: Call(s.newcomer, {"display_name": "Nel Nieuw"}),
    f"POST {C}/offline-members": lambda s: Call("coordinator", {"display_name": "Opa Jan"}),
    f"PATCH {P}/me": lambda s: Call("ans", {"notification_mode": "weekly"}),
    f"PATCH {P}/members/{{membership_id}}/profile": lambda s: Call(
        "ans", {"likes_to_do": "koken", "visibility": {"languages": False}}, {"membership_id": s.id("ans")}
    ),
    f"POST {P}/members/{{membership_id}}/approve": lambda s: Call("coordinator", {}, {"membership_id": s.applicant()}),
    f"POST {P}/members/{{membership_id}}/decline": lambda s: Call(
        "coordinator", {"reason": "onbekend"}, {"membership_id": s.applicant()}
    ),
    f"POST {P}/members/{{membership_id}}/suspend": lambda s: Call(
        "coordinator", {"reason": "op verzoek"}, {"membership_id": s.id("cor")}
    ),
    f"POST {P}/members/{{membership_id}}/reinstate": lambda s: Call(
        "coordinator", {"reason": "terug"}, {"membership_id": s.suspended("cor")}
    ),
    f"PUT {P}/members/{{membership_id}}/limits": lambda s: Call(
        "coordinator",
        {"floor_minutes": -900, "ceiling_minutes": 3000, "reason": "zorg"},
        {"membership_id": s.id("ans")},
    ),
    # listings
    f"POST {C}/listings": lambda s: Call(
        "ans",
        {
            "kind": "offer",
            "title": "Fietsen",
            "category_id": str(s.world.categories["klussen"]),
            "estimated_minutes": 60,
        },
    ),
    f"PATCH {P}/listings/{{listing_id}}": lambda s: Call("ans", {"title": "Nieuwe titel"}, {"listing_id": s.listing()}),
    f"POST {P}/listings/{{listing_id}}/close": lambda s: Call("ans", {}, {"listing_id": s.listing()}),
    f"POST {P}/listings/{{listing_id}}/reopen": lambda s: Call(
        "ans", {}, {"listing_id": s.post("ans", f"/listings/{s.listing()}/close")["id"]}
    ),
    f"POST {P}/listings/{{listing_id}}/invitations": lambda s: Call(
        "ans", {"membership_id": s.id("cor")}, {"listing_id": s.listing()}
    ),
    f"POST {P}/listings/{{listing_id}}/responses": lambda s: Call(
        "bert", {"message": "Ik help"}, {"listing_id": s.listing()}
    ),
    f"POST {P}/invitations/{{invitation_id}}/accept": lambda s: Call("bert", {}, {"invitation_id": s.invitation()}),
    f"POST {P}/invitations/{{invitation_id}}/decline": lambda s: Call("bert", {}, {"invitation_id": s.invitation()}),
    # exchanges
    f"POST {P}/exchanges/{{exchange_id}}/agree": lambda s: Call("ans", {}, {"exchange_id": s.exchange()}),
    f"POST {P}/exchanges/{{exchange_id}}/accept-helper": lambda s: Call(
        "ans", {}, {"exchange_id": s.child_care_response()}
    ),
    f"POST {P}/exchanges/{{exchange_id}}/cancel": lambda s: Call("ans", {}, {"exchange_id": s.exchange()}),
    f"POST {P}/exchanges/{{exchange_id}}/record": lambda s: Call(
        "bert", {"minutes": 60}, {"exchange_id": s.exchange("agreed")}
    ),
    f"POST {P}/exchanges/{{exchange_id}}/confirm": lambda s: Call("ans", {}, {"exchange_id": s.exchange("recorded")}),
    f"POST {P}/exchanges/{{exchange_id}}/dispute": lambda s: Call(
        "ans", {"reason": "het was een uur"}, {"exchange_id": s.exchange("recorded")}
    ),
    f"POST {P}/exchanges/{{exchange_id}}/settle": lambda s: Call(
        "coordinator", {"outcome": "void", "reason": "niet gebeurd"}, {"exchange_id": s.exchange("disputed")}
    ),
    f"POST {P}/exchanges/{{exchange_id}}/thank": lambda s: Call(
        "ans", {"text": "Dank je!"}, {"exchange_id": s.exchange("confirmed")}
    ),
    f"POST {C}/exchanges/on-behalf": lambda s: Call(
        "coordinator",
        {
            "helper_membership_id": s.id("bert"),
            "helped_membership_id": s.id("cor"),
            "minutes": 30,
            "attested": True,
            "reason": "telefonisch",
        },
    ),
    # the ledger
    f"POST {C}/payments": lambda s: Call("ans", {"payee_membership_id": s.id("bert"), "minutes": 15}),
    f"POST {C}/claims": lambda s: Call("ans", {"payer_membership_id": s.id("bert"), "minutes": 15}),
    f"POST {P}/transactions/{{transaction_id}}/reversal": lambda s: Call(
        "coordinator", {"reason": "tikfout"}, {"transaction_id": s.payment()}
    ),
    f"POST {C}/transfers/batch": lambda s: Call(
        "coordinator",
        {
            "atomic": True,
            "transfers": [
                {
                    "payer_membership_id": s.id("bert"),
                    "payee_membership_id": s.id("cor"),
                    "minutes": 5,
                    "description": "x",
                }
            ],
        },
    ),
    f"POST {C}/pot/donations": lambda s: Call("ans", {"minutes": 10}),
    f"POST {C}/pot/grants": lambda s: (
        s.pot_with(30) or Call("coordinator", {"membership_id": s.id("cor"), "minutes": 5, "reason": "welkom"})
    ),
    f"POST {C}/pot/group-events": lambda s: Call(
        "coordinator",
        {"event_name": "Buurtfeest", "participant_ids": [s.id("ans")], "minutes_each": 30, "source": "issuance"},
    ),
}


def new_scene(client, db) -> Scene:
    world = build_world(db)
    outsider = add_user(db)
    secret = db.run(credentials.create_personal_token, actor=Actor.for_user(outsider), name="test").secret
    return Scene(client=client, world=world, tokens=issue_tokens(world), newcomer={"Authorization": f"Bearer {secret}"})


def fill(template: str, values: dict) -> str:
    for name, value in values.items():
        template = template.replace("{" + name + "}", str(value))
    return template


def objects_in(body, where=()):
    """The paths of every JSON object in ``body`` (the body itself first), as tuples of keys and indexes."""
    if isinstance(body, dict):
        yield where
        for name, value in body.items():
            yield from objects_in(value, (*where, name))
    elif isinstance(body, list):
        for index, value in enumerate(body):
            yield from objects_in(value, (*where, index))


def with_field(body, where: tuple, name: str):
    """A copy of ``body`` with ``name`` added to the object at ``where``."""
    if not where:
        return {**body, name: 1 if name == "balance" else "coordinator" if name == "role" else "1"}
    head, *rest = where
    if isinstance(body, dict):
        return {**body, head: with_field(body[head], tuple(rest), name)}
    return [with_field(item, tuple(rest), name) if index == head else item for index, item in enumerate(body)]


def names_the_field(problem: dict, where: tuple, name: str) -> bool:
    errors = (problem.get("errors") or {}).get("json") or {}
    for step in where:
        errors = errors.get(str(step)) if isinstance(errors, dict) else None
    return isinstance(errors, dict) and name in errors


# --- the tests ---------------------------------------------------------------------------------------------------


def test_every_write_operation_has_a_valid_request_in_the_table(own_client):
    spec = own_client.get("/api/v1/openapi.json").get_json()
    found = set(write_operations(spec))
    assert len(found) >= 35
    assert sorted(found - VALID.keys()) == [], "write operations without a valid request in VALID"
    assert sorted(VALID.keys() - found) == [], "rows in VALID for operations the spec does not have"


def test_no_write_operation_accepts_a_field_it_does_not_name_and_a_refusal_changes_nothing(
    own_app, own_db, own_client, snapshot, capsys
):
    spec = own_client.get("/api/v1/openapi.json").get_json()
    failures, refused = [], 0
    for operation in write_operations(spec):
        method, template = operation.split(" ", 1)
        scene = new_scene(own_client, own_db)
        call = VALID[operation](scene)
        path = fill(template, {"community_id": scene.world.community_id, **call.path})
        before = snapshot.take()
        for where in list(objects_in(call.body)):
            for name in FORBIDDEN:
                body = with_field(call.body, where, name)
                response = own_client.open(path, method=method, headers=scene.headers(call.caller), json=body)
                problem = response.get_json(silent=True) or {}
                what = f"{operation} with {name!r} at {list(where) or 'the top'}"
                if response.status_code != 422 or response.content_type != "application/problem+json":
                    failures.append(f"{what}: {response.status_code} {response.get_data(as_text=True)[:200]}")
                elif problem.get("code") != "validation_failed" or not names_the_field(problem, where, name):
                    failures.append(f"{what}: the problem does not name the field: {problem}")
                changed = snapshot.differences(before, snapshot.take())
                if changed:
                    failures.append(f"{what}: changed {changed}")
                refused += 1
        response = own_client.open(path, method=method, headers=scene.headers(call.caller), json=call.body)
        if response.status_code not in (200, 201):
            failures.append(f"{operation}: the valid request was refused: {response.get_data(as_text=True)[:300]}")
        elif not snapshot.differences(before, snapshot.take()):
            failures.append(f"{operation}: the valid request changed nothing the snapshot sees")
    assert failures == []
    with capsys.disabled():
        print(f"\nmass assignment: {len(write_operations(spec))} write operations, {refused} refused requests")
