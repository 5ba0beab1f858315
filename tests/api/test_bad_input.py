"""Bad input: a clear 4xx problem and no change, for every write operation of the spec and every page size.

For each write operation (read from the spec, with the valid requests of test_mass_assignment.py): bodies over
``MAX_CONTENT_LENGTH`` (with a length and streamed) → 413; JSON nested 100,000 levels deep, or one level more than
api/bodies.py allows → 400; bytes that are not UTF-8, JSON cut short, a key twice, ``NaN``, ``Infinity``, numbers of
5,000 digits or beyond a float, unpaired surrogates, a byte-order mark → 400 with a detail that says so; text, form
and multipart bodies → 415 naming application/json; ids beyond any row in the body → 422 naming the field, and in
the path → 404. The database is read whole before and after (tests/api/unchanged.py): nothing changes. Then the
valid request still succeeds, so the refusals were about the input alone.

Every list with a ``limit`` refuses a million (and 0, -1, 10**30, "ten") with 422 naming ``limit``; a batch of
more transfers than allowed is refused whole.
"""

from __future__ import annotations

import io
import json

from api.bodies import MAX_DEPTH
from tests.api import unchanged
from tests.api.conftest import issue_tokens
from tests.api.test_mass_assignment import VALID, Scene, fill, new_scene, write_operations
from tests.world import build_world
from timebank.batches import MAX_TRANSFERS

# The database of this module's own (tests/api/unchanged.py).
own_app, own_client, own_db, snapshot = unchanged.own_app, unchanged.own_client, unchanged.own_db, unchanged.snapshot

BEYOND_ANY_ROW = "9" * 20  # more than 2**63
PROBLEM = "application/problem+json"


def deep(levels: int, *, objects: bool = False) -> bytes:
    if objects:
        return ('{"a":' * levels + "1" + "}" * levels).encode()
    return ("[" * levels + "]" * levels).encode()


def with_raw(body: dict, member: str) -> bytes:
    """The body as JSON text with one more member written as raw JSON text (``"name": value``)."""
    text = json.dumps(body)
    return (text[:-1] + (", " if body else "") + member + "}").encode()


def malformed_bodies(body: dict, limit: int) -> dict[str, tuple[bytes, str, int, str]]:
    """Bad variants of a valid body: name → (bytes, Content-Type, expected status, a word the detail holds)."""
    twice = f'"{first}": {json.dumps(body[first])}' if (first := next(iter(body), None)) else '"x": 1, "x": 2'
    json_type = "application/json"
    return {
        "over the size limit": (b" " * (limit + 1), json_type, 413, ""),
        "nested 100,000 deep": (deep(100_000), json_type, 400, "nested"),
        "objects nested 100,000 deep": (deep(100_000, objects=True), json_type, 400, "nested"),
        f"nested {MAX_DEPTH + 1} deep": (
            with_raw(body, '"deep": ' + deep(MAX_DEPTH).decode()),
            json_type,
            400,
            "nested",
        ),
        "not UTF-8": (json.dumps(body).encode()[:-1] + b', "x": "\xff\xfe"}', json_type, 400, "UTF-8"),
        "cut short": (json.dumps(body).encode()[:-1], json_type, 400, "not valid JSON"),
        "a key twice": (with_raw(body, twice), json_type, 400, "twice"),
        "NaN": (with_raw(body, '"x": NaN'), json_type, 400, "NaN"),
        "Infinity": (with_raw(body, '"x": -Infinity'), json_type, 400, "Infinity"),
        "5,000 digits": (with_raw(body, '"x": ' + "9" * 5000), json_type, 400, "digits"),
        "beyond a float": (with_raw(body, '"x": 1e400'), json_type, 400, "too large"),
        "an unpaired surrogate": (with_raw(body, '"x": "\\ud800"'), json_type, 400, "surrogate"),
        "a byte-order mark": (b"\xef\xbb\xbf" + json.dumps(body).encode(), json_type, 400, "BOM"),
        "text": (json.dumps(body).encode(), "text/plain", 415, "application/json"),
        "a form": (b"minutes=5", "application/x-www-form-urlencoded", 415, "application/json"),
        "multipart": (
            b'--b\r\nContent-Disposition: form-data; name="minutes"\r\n\r\n5\r\n--b--\r\n',
            "multipart/form-data; boundary=b",
            415,
            "application/json",
        ),
        "no Content-Type": (json.dumps(body).encode(), "", 415, "application/json"),
    }


def id_fields(body, where=()):
    """Paths to every id in the body (a string under a key ending in ``_id`` or inside one ending in ``_ids``)."""
    if isinstance(body, dict):
        for name, value in body.items():
            if isinstance(value, str) and name.endswith("_id"):
                yield (*where, name)
            elif isinstance(value, list) and name.endswith("_ids"):
                yield from ((*where, name, index) for index in range(len(value)))
            else:
                yield from id_fields(value, (*where, name))
    elif isinstance(body, list):
        for index, value in enumerate(body):
            yield from id_fields(value, (*where, index))


def replaced(body, where: tuple, value):
    if not where:
        return value
    head, *rest = where
    if isinstance(body, dict):
        return {**body, head: replaced(body[head], tuple(rest), value)}
    return [replaced(item, tuple(rest), value) if index == head else item for index, item in enumerate(body)]


def error_at(problem: dict, where: tuple) -> bool:
    errors = (problem.get("errors") or {}).get("json") or {}
    for step in where:
        if not isinstance(errors, dict) or str(step) not in errors:
            return False
        errors = errors[str(step)]
    return True


def send(client, scene: Scene, call, method: str, path: str, data: bytes, content_type: str, **extra):
    headers = scene.headers(call.caller)
    if content_type:
        headers["Content-Type"] = content_type
    return client.open(path, method=method, headers=headers, data=data, **extra)


def test_every_write_operation_refuses_bad_bodies_clearly_and_changes_nothing(
    own_app, own_db, own_client, snapshot, capsys
):
    spec = own_client.get("/api/v1/openapi.json").get_json()
    limit = own_app.config["MAX_CONTENT_LENGTH"]
    failures, refused = [], 0
    for operation in write_operations(spec):
        method, template = operation.split(" ", 1)
        scene = new_scene(own_client, own_db)
        call = VALID[operation](scene)
        path = fill(template, {"community_id": scene.world.community_id, **call.path})
        before = snapshot.take()
        answers = []  # (what was sent, the answer, the status expected, a word its detail holds)
        for what, (data, content_type, status, word) in malformed_bodies(call.body, limit).items():
            answers.append((what, send(own_client, scene, call, method, path, data, content_type), status, word))
        streamed = send(
            own_client,
            scene,
            call,
            method,
            path,
            b"",
            "application/json",
            input_stream=io.BytesIO(b"[" * (limit + 1)),
            environ_overrides={"wsgi.input_terminated": True},
        )
        answers.append(("streamed over the size limit", streamed, 413, ""))
        for where in id_fields(call.body):
            body = replaced(call.body, where, BEYOND_ANY_ROW)
            response = own_client.open(path, method=method, headers=scene.headers(call.caller), json=body)
            refused += 1
            if response.status_code != 422 or not error_at(response.get_json(silent=True) or {}, where):
                failures.append(
                    f"{operation}, id {list(where)} beyond any row: {response.get_data(as_text=True)[:200]}"
                )
        for name in call.path:
            far = fill(template, {"community_id": scene.world.community_id, **call.path, name: "1" + "0" * 30})
            response = own_client.open(far, method=method, headers=scene.headers(call.caller), json=call.body)
            answers.append((f"{name} beyond any row in the path", response, 404, ""))
        if "{community_id}" in template:
            far = fill(template, {**call.path, "community_id": "1" + "0" * 30})
            response = own_client.open(far, method=method, headers=scene.headers(call.caller), json=call.body)
            answers.append(("community_id beyond any row in the path", response, 404, ""))
        for what, response, status, word in answers:
            refused += 1
            problem = response.get_json(silent=True) or {}
            if response.status_code != status or response.content_type != PROBLEM:
                failures.append(f"{operation}, {what}: {response.status_code} {response.get_data(as_text=True)[:200]}")
            elif word not in problem.get("detail", ""):
                failures.append(f"{operation}, {what}: the detail does not say {word!r}: {problem.get('detail')}")

        changed = snapshot.differences(before, snapshot.take())
        if changed:
            failures.append(f"{operation}: bad input changed {changed}")
        response = own_client.open(path, method=method, headers=scene.headers(call.caller), json=call.body)
        if response.status_code not in (200, 201):
            failures.append(f"{operation}: the valid request then failed: {response.get_data(as_text=True)[:300]}")
    assert failures == []
    with capsys.disabled():
        print(f"\nbad input: {len(write_operations(spec))} write operations, {refused} refused requests")


def test_an_anonymous_bad_body_is_told_to_authenticate_first(own_client, own_db):
    world = build_world(own_db)
    path = f"/api/v1/communities/{world.community_id}/payments"
    response = own_client.post(path, data=deep(100_000), content_type="application/json")
    assert response.status_code == 401 and response.content_type == PROBLEM


# --- page sizes and batch sizes ----------------------------------------------------------------------------------


def test_every_list_refuses_a_page_size_beyond_its_maximum(own_client, own_db, snapshot):
    spec = own_client.get("/api/v1/openapi.json").get_json()
    world = build_world(own_db)
    tokens = issue_tokens(world)
    scene = Scene(client=own_client, world=world, tokens=tokens, newcomer={})
    values = {"community_id": world.community_id, "membership_id": world.ans.id, "listing_id": scene.listing()}
    required = {
        "community_id": world.community_id,
        "start": "2026-01-01T00:00:00+01:00",
        "end": "2026-12-31T00:00:00+01:00",
    }
    paged = []
    for template, item in spec["paths"].items():
        parameters = {parameter["name"]: parameter for parameter in item.get("get", {}).get("parameters", [])}
        if "limit" in parameters:
            query = {name: required[name] for name, parameter in parameters.items() if parameter.get("required")}
            paged.append((fill(template, values), query, parameters["limit"]["schema"]["maximum"]))
    assert len(paged) >= 8
    before = snapshot.take()
    failures = []
    headers = tokens.headers("coordinator")
    for path, query, maximum in paged:
        for limit in ("1000000", str(maximum + 1), "0", "-1", "1" + "0" * 30, "ten", "2.5"):
            response = own_client.get(path, headers=headers, query_string={**query, "limit": limit})
            problem = response.get_json(silent=True) or {}
            if response.status_code != 422 or "limit" not in (problem.get("errors") or {}).get("query", {}):
                failures.append(f"{path} limit={limit}: {response.status_code} {response.get_data(as_text=True)[:200]}")
        largest = own_client.get(path, headers=headers, query_string={**query, "limit": str(maximum)})
        if largest.status_code != 200:
            failures.append(f"{path} limit={maximum}: {largest.status_code} {largest.get_data(as_text=True)[:200]}")
    assert failures == []
    assert snapshot.differences(before, snapshot.take()) == {}


def test_a_batch_of_more_transfers_than_allowed_is_refused_whole(own_client, own_db, snapshot):
    world = build_world(own_db)
    tokens = issue_tokens(world)
    transfer = {"payer_membership_id": str(world.bert.id), "payee_membership_id": str(world.cor.id), "minutes": 1}
    path = f"/api/v1/communities/{world.community_id}/transfers/batch"
    before = snapshot.take()
    response = own_client.post(
        path,
        headers=tokens.headers("coordinator", **{"Idempotency-Key": "too-many"}),
        json={"atomic": False, "transfers": [{**transfer, "description": str(n)} for n in range(MAX_TRANSFERS + 1)]},
    )
    assert response.status_code == 422 and "transfers" in response.get_json()["errors"]["json"]
    assert snapshot.differences(before, snapshot.take()) == {}
