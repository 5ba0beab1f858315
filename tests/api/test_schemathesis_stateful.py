"""Schemathesis's stateful runs, in process, on SQLite and PostgreSQL: sequences of linked operations (a new listing →
a response to it → the exchange's steps → its reversal; a payment → its reversal; an application → approve,
suspend, reinstate…) following the OpenAPI links of the spec (api/links.py), each step sent with the bearer token
of a member, the coordinator or a member of another community, drawn by Hypothesis. No step answers 5xx; every
response matches the spec (status, content type, body schema, headers).

Scenarios start where a client does: the list of its communities, its tokens.

Random path ids and text rarely name anything, so the run draws the ids a scenario starts from (the community,
its members and categories) and plausible text, minutes and times from dictionaries; everything after the first
step comes from the responses through the links. Generation is positive only: the per-operation runs
(test_schemathesis.py) cover invalid input.

``API_STATEFUL_EXAMPLES`` (default 25) sets how many scenarios Hypothesis runs, each of up to
``API_STATEFUL_STEPS`` (default 12) steps.
"""

from __future__ import annotations

import collections
import json
import os
import re
import uuid
from datetime import UTC, datetime, timedelta

import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.control import current_build_context
from hypothesis.errors import FlakyStrategyDefinition
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.stateful.state_machine import normalize_name

from api.links import LINKS
from tests.api import unchanged
from tests.api.conftest import issue_tokens
from tests.api.test_schemathesis import EXCLUDED
from tests.world import build_world

own_app, own_db = unchanged.own_app, unchanged.own_db

EXAMPLES = int(os.environ.get("API_STATEFUL_EXAMPLES", "25"))
STEPS = int(os.environ.get("API_STATEFUL_STEPS", "12"))
# Two members and the coordinator of the community, and a member of another community (who may apply to join it,
# and must find nothing else of it).
CALLERS = ("ans", "bert", "coordinator", "outsider")
MAX_RESTARTS = 50
WORDS = ["Boodschappen doen", "Hulp bij de computer", "Dank je wel!", "Lamp ophangen", "fietsband plakken", "ok"]
MINUTES = [5, 15, 30, 60, 90, 120]
TEXT_FIELDS = (
    "title",
    "description",
    "reason",
    "text",
    "message",
    "note",
    "display_name",
    "name",
    "event_name",
    "neighbourhood",
    "likes_to_do",
)
MEMBER_FIELDS = (
    "body.payee_membership_id",
    "body.payer_membership_id",
    "body.helper_membership_id",
    "body.helped_membership_id",
    "body.membership_id",
    "body.participant_ids[*]",
    "body.transfers[*].payer_membership_id",
    "body.transfers[*].payee_membership_id",
    "query.membership_id",
)


def grounded_config(world, now: datetime) -> SchemathesisConfig:
    """Positive generation, no inferred links (only the spec's own), ids and values drawn from the world."""

    def drawn(dictionary: str, probability: float = 0.9) -> dict:
        return {"dictionary": dictionary, "probability": probability}

    people = [str(getattr(world, name).id) for name in ("ans", "bert", "cor", "coordinator")]
    return SchemathesisConfig.from_dict(
        {
            "dictionaries": {
                "communities": {"values": [str(world.community_id)]},
                "members": {"values": people},
                # Whom a path names (to suspend, decline, set limits…): members who never call, so the callers
                # stay active and their scenarios go on.
                "named": {"values": [str(world.cor.id), str(world.officer.id)]},
                "categories": {"values": [str(category) for category in world.categories.values()]},
                "words": {"values": WORDS},
                "minutes": {"values": MINUTES},
                # A listing's window: a morning in the coming weeks; its expiry; a statement's or report's period.
                "window_starts": {"values": [moment(now, days=3, hour=10)]},
                "window_ends": {"values": [moment(now, days=3, hour=12)]},
                "expiries": {"values": [moment(now, days=30, hour=0)]},
                "period_starts": {"values": [moment(now, days=-60, hour=0)]},
                "period_ends": {"values": [moment(now, days=1, hour=0)]},
            },
            "parameters": {
                "path.community_id": drawn("communities", 1.0),
                "query.community_id": drawn("communities", 1.0),
                "body.category_id": drawn("categories"),
                **{field: drawn("members", 0.9) for field in MEMBER_FIELDS},
                "path.membership_id": drawn("named", 0.9),
                **{f"body.{field}": drawn("words") for field in TEXT_FIELDS},
                "body.transfers[*].description": drawn("words"),
                **{f"body.{field}": drawn("minutes") for field in ("minutes", "estimated_minutes", "minutes_each")},
                "body.transfers[*].minutes": drawn("minutes"),
                **{field: drawn("window_starts") for field in ("body.window_start", "query.window_start")},
                **{field: drawn("window_ends") for field in ("body.window_end", "query.window_end")},
                "body.expires_at": drawn("expiries"),
                "query.start": drawn("period_starts"),
                "query.end": drawn("period_ends"),
            },
            "generation": {"mode": "positive", "with-security-parameters": False},
            "phases": {"stateful": {"inference": {"algorithms": []}}},
        }
    )


def moment(now: datetime, *, days: int, hour: int) -> str:
    return (now + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0).isoformat()


def rooted_where_a_client_starts(schema):
    """The state machine, starting scenarios only where a client starts: operations without ids in their path (the
    list of its communities, its tokens). Everything else is reached through the links from the responses that
    made or listed it, not by guessing ids."""
    machine = schema.as_state_machine()
    guessed = {label for label in machine._root_labels if "{" in label}
    dropped = {normalize_name(f"RANDOM -> {label}") for label in guessed}
    assert dropped <= machine.root_rules, "schemathesis names its root rules differently: update this function"
    kept = machine.root_rules - dropped
    assert kept, "no operation to start a scenario from"
    return type("Rooted", (machine,), {"root_rules": kept, **dict.fromkeys(dropped)})


def test_linked_operations_answer_as_the_spec_says(own_app, own_db, capsys):
    # A database of its own: the scenarios leave applications, notifications and pot grants other tests need not see.
    tokens, other_tokens = issue_tokens(build_world(own_db)), issue_tokens(build_world(own_db))
    config = grounded_config(tokens.world, datetime.now(UTC))
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", own_app, config=config)
    headers = {caller: tokens.headers(caller) for caller in CALLERS if caller != "outsider"}
    headers["outsider"] = other_tokens.headers("ans")
    outcomes = collections.Counter()  # (operation, status) → steps
    linked = collections.Counter()  # steps whose ids came from an earlier response, by status class
    scenarios = [0]
    keys, run = [0], uuid.uuid4().hex[:8]

    class Scenario(rooted_where_a_client_starts(schema)):
        def setup(self):
            scenarios[0] += 1

        def step(self, input):
            output = super().step(input)
            if input.transition is not None and input.is_applied:
                linked[output.response.status_code // 100] += 1
            return output

        def get_call_kwargs(self, case):
            # Who sends each step is part of the example: Hypothesis draws it, replays it and shrinks it.
            caller = current_build_context().data.draw(st.sampled_from(CALLERS), label="caller")
            # A client makes a new Idempotency-Key per intended operation (generated ones repeat, and a repeated
            # key with another body is rightly refused: test_foundation.py tests that).
            keys[0] += 1
            return {"headers": {**headers[caller], "Idempotency-Key": f"stateful-{run}-{keys[0]}"}}

        def after_call(self, response, case):
            super().after_call(response, case)
            outcomes[(case.operation.label, response.status_code)] += 1

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(
                response, excluded_checks=EXCLUDED, headers=kwargs.get("headers"), transport_kwargs=kwargs
            )

    restarts = 0
    while scenarios[0] < EXAMPLES:
        try:
            Scenario.run(
                settings=settings(
                    max_examples=EXAMPLES - scenarios[0],
                    stateful_step_count=STEPS,
                    phases=[Phase.generate],
                    deadline=None,
                    suppress_health_check=list(HealthCheck),
                    database=None,
                )
            )
        except FlakyStrategyDefinition:
            # A scenario replayed from Hypothesis's tree met a database its earlier runs had changed (an application
            # already made, a listing already closed): different answers, different next steps. Schemathesis's
            # own runner starts again in that case; so does this test, with the scenarios still to run.
            restarts += 1
            assert restarts <= MAX_RESTARTS, f"{restarts} restarts after {scenarios[0]} scenarios"
            continue
        break
    steps = sum(outcomes.values())
    assert not [key for key in outcomes if key[1] >= 500], "5xx answers"
    # The links lead somewhere: ids taken from earlier responses reach operations that succeed.
    assert linked[2] > 0, f"no linked step succeeded: {dict(linked)}"
    succeeded = {label for (label, status) in outcomes if 200 <= status < 300}
    with capsys.disabled():
        print(
            f"\nschemathesis stateful: {scenarios[0]} scenarios ({restarts} restarts), {steps} steps, "
            f"{sum(linked.values())} linked ({linked[2]} succeeded), {len(succeeded)} operations answered 2xx"
        )
        if os.environ.get("API_STATEFUL_REPORT"):
            print(
                json.dumps(
                    {f"{label} {status}": count for (label, status), count in sorted(outcomes.items())}, indent=1
                )
            )


def test_every_link_leads_to_an_operation_and_fills_its_path(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    links, creates_without = 0, []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, dict):
                continue
            for status, response in operation.get("responses", {}).items():
                found = response.get("links", {})
                if status == "201" and not found:
                    creates_without.append(f"{method.upper()} {path}")
                for name, link in found.items():
                    links += 1
                    assert link["operationRef"].startswith("#/paths/"), name
                    target_path, _, target_method = link["operationRef"][len("#/paths/") :].rpartition("/")
                    target_path = target_path.replace("~1", "/").replace("~0", "~")
                    assert target_method in spec["paths"].get(target_path, {}), f"{name}: no {link['operationRef']}"
                    needed = {f"path.{name}" for name in re.findall(r"{(\w+)}", target_path)}
                    assert set(link["parameters"]) == needed, f"{method} {path} {status} → {name}"
    assert creates_without == [], "operations that create something without links to what it leads to"
    assert links >= 250
    missing = [
        source
        for source in LINKS
        if source[2] not in spec["paths"].get(source[1], {}).get(source[0], {}).get("responses", {})
    ]
    assert missing == [], "links from responses the spec does not have"
