"""A request with an Idempotency-Key that dies after its change but before its answer is stored (a crash, a bug
while building the answer) leaves neither the change nor the key: the client's retry with the same key does it,
once, and gets a proper answer. (tests/system/test_crash.py shows the same with gunicorn killed by SIGKILL.)"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from api.credentials import routes as credential_routes
from api.exchanges import routes as exchange_routes
from ledger.models import transaction_table
from timebank.models import ApiToken, Exchange, ExchangeEvent


class Crash(Exception):
    """Stands for the process dying between the change and the answer."""


def crash_once(monkeypatch, module, name: str) -> None:
    """``module.name`` raises the first time it is called, after the use case has run."""
    original = getattr(module, name)

    def crashing(*args, **kwargs):
        monkeypatch.setattr(module, name, original)
        raise Crash

    monkeypatch.setattr(module, name, crashing)


def test_a_confirmation_cut_off_before_its_answer_is_done_once_by_its_retry(client, tokens, world, monkeypatch):
    claim = client.post(
        f"/api/v1/communities/{world.community_id}/claims",
        headers=tokens.headers("bert", **{"Idempotency-Key": "claim-1"}),
        json={"payer_membership_id": str(world.ans.id), "minutes": 45},
    )
    assert claim.status_code == 201, claim.get_json()
    exchange_id = claim.get_json()["id"]
    path, headers = f"/api/v1/exchanges/{exchange_id}/confirm", tokens.headers("ans", **{"Idempotency-Key": "conf-1"})

    crash_once(monkeypatch, exchange_routes, "_details")
    assert client.post(path, headers=headers).status_code == 500
    assert exchange_status(world, exchange_id) == ("recorded", 0), "the confirmation was rolled back with its key"

    retried = client.post(path, headers=headers)
    assert retried.status_code == 200, retried.get_json()
    assert retried.get_json()["status"] == "confirmed" and "Idempotent-Replayed" not in retried.headers
    again = client.post(path, headers=headers)
    assert (again.status_code, again.get_json()) == (200, retried.get_json())
    assert again.headers["Idempotent-Replayed"] == "true"
    assert exchange_status(world, exchange_id) == ("confirmed", 1)


def test_a_token_cut_off_before_its_answer_is_made_once_by_its_retry(client, tokens, world, monkeypatch):
    headers = tokens.headers("cor", **{"Idempotency-Key": "token-1"})
    crash_once(monkeypatch, credential_routes, "_issued")
    assert client.post("/api/v1/me/tokens", headers=headers, json={"name": "cut off"}).status_code == 500
    retried = client.post("/api/v1/me/tokens", headers=headers, json={"name": "cut off"})
    assert retried.status_code == 201, retried.get_json()
    names = world.db.read(
        lambda *, session: list(
            session.execute(sa.select(ApiToken.name).where(ApiToken.user_id == world.cor.user.id)).scalars()
        )
    )
    assert names.count("cut off") == 1


def exchange_status(world, exchange_id: str) -> tuple[str, int]:
    """The exchange's status and how many times it was confirmed."""

    def query(*, session):
        status = session.execute(sa.select(Exchange.status).where(Exchange.id == int(exchange_id))).scalar_one()
        confirmed = session.execute(
            sa.select(sa.func.count()).where(
                ExchangeEvent.exchange_id == int(exchange_id), ExchangeEvent.kind == "confirmed"
            )
        ).scalar_one()
        return status, confirmed

    return world.db.read(query)


def busy_once(monkeypatch, kind: str) -> list[str]:
    """The first answer to ``kind`` (``claim``: the key's insert; ``finish``: keeping the answer, after the
    operation ran) is the database saying it is busy, as SQLite does when another writer held its lock past the busy
    timeout, or PostgreSQL on a deadlock; returns the list the failures are noted in."""
    from api import idempotency

    original = getattr(idempotency, f"_{kind}")
    failures = []

    def busy(connection, **kwargs):
        if not failures:
            failures.append(kind)
            raise sa.exc.OperationalError("INSERT ...", {}, Exception("database is locked"))
        return original(connection, **kwargs)

    monkeypatch.setattr(idempotency, f"_{kind}", busy)
    return failures


def payment_count(world, key: str) -> int:
    return world.db.read(
        lambda *, session: session.execute(
            sa.select(sa.func.count()).select_from(transaction_table).where(transaction_table.c.idempotency_key == key)
        ).scalar_one()
    )


@pytest.mark.parametrize("kind", ["claim", "finish"])
def test_a_busy_database_makes_a_keyed_write_wait_and_try_again_whole_not_fail(
    client, tokens, world, monkeypatch, kind
):
    failures = busy_once(monkeypatch, kind)
    paid = client.post(
        f"/api/v1/communities/{world.community_id}/payments",
        headers=tokens.headers("ans", **{"Idempotency-Key": f"busy-{kind}"}),
        json={"payee_membership_id": str(world.bert.id), "minutes": 30},
    )
    assert failures == [kind]
    assert paid.status_code == 201, paid.get_json()
    assert payment_count(world, f"busy-{kind}") == 1
