"""bench/floor_app.py, the floor benchmarks' bare WSGI payment server, and bench/floor_flask.py, the same payment
through Flask, flask-smorest and marshmallow, run in process on a small town: a payment answers 201 and makes the
real payment's writes (the chain verifies, the request fingerprint is the ledger's), a replay with the same key
moves nothing, a payment over the floor answers 422 and changes nothing; on PostgreSQL also with the chain advanced
and hashed by the database (``FLOOR_CHAIN=sql``)."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from werkzeug.test import Client

import ledger
from bench import floor_flask
from bench.floor_app import FloorApp
from bench.town import FLOOR, WELCOME, build_town
from ledger.models import account_table, entry_table, ledger_table, transaction_table
from tests.conftest import fresh_database_url
from timebank import schema
from timebank.models import Exchange, ExchangeEvent, IdempotencyRecord


@pytest.fixture(
    params=[
        pytest.param(("sqlite", ""), id="sqlite"),
        pytest.param(("postgresql", ""), id="postgresql", marks=pytest.mark.postgresql),
        pytest.param(("postgresql", "sql"), id="postgresql-chain-in-sql", marks=pytest.mark.postgresql),
    ]
)
def town_url(request, tmp_path, monkeypatch):
    kind, chain = request.param
    monkeypatch.setenv("FLOOR_CHAIN", chain)
    url, drop = fresh_database_url(kind, tmp_path)
    schema.upgrade(url)
    try:
        yield build_town(url, 5), url
    finally:
        drop()


class Served:
    """One of the two floors as a WSGI app on the town's database, and how to close its connection."""

    def __init__(self, kind: str, url: str):
        if kind == "bare":
            self.wsgi = self.floor = FloorApp(url)
        else:
            self.wsgi = floor_flask.create_app(url)
            self.floor = self.wsgi.extensions["floor"]

    def close(self) -> None:
        self.floor.close()


@pytest.fixture(params=["bare", "flask"])
def served(request, town_url):
    served = Served(request.param, town_url[1])
    try:
        yield served
    finally:
        served.close()


def _books(engine, town) -> dict:
    with engine.connect() as connection:
        balances = dict(
            connection.execute(
                sa.select(account_table.c.id, account_table.c.balance).where(
                    account_table.c.ledger_id == town.ledger_id
                )
            ).all()
        )
        count = lambda table, where: connection.execute(sa.select(sa.func.count()).select_from(table).where(where))  # noqa: E731
        return {
            "balances": balances,
            "transactions": count(transaction_table, transaction_table.c.ledger_id == town.ledger_id).scalar_one(),
            "entries": count(entry_table, entry_table.c.ledger_id == town.ledger_id).scalar_one(),
            "exchanges": count(Exchange.__table__, Exchange.community_id == town.community_id).scalar_one(),
            "sequence": connection.execute(
                sa.select(ledger_table.c.last_sequence).where(ledger_table.c.id == town.ledger_id)
            ).scalar_one(),
        }


def _pay(client, town, payer, payee, minutes, key):
    body = {"payee_membership_id": str(payee.membership_id), "minutes": minutes, "description": "boodschappen"}
    return client.post(
        f"/api/v1/communities/{town.community_id}/payments",
        json=body,
        headers={"Authorization": f"Bearer {payer.token}", "Idempotency-Key": key},
    )


def test_a_payment_its_replay_and_a_refusal(town_url, served):
    town, url = town_url
    engine = ledger.create_engine(url)
    client = Client(served.wsgi)
    payer, payee = town.members[0], town.members[1]
    try:
        assert client.get("/healthz").status_code == 200
        before = _books(engine, town)

        answer = _pay(client, town, payer, payee, 45, "floor-1")
        assert answer.status_code == 201, answer.get_data(as_text=True)
        body = answer.get_json()
        assert body["status"] == "confirmed" and body["minutes"] == 45 and body["description"] == "boodschappen"
        assert (body["helped_membership_id"], body["helper_membership_id"]) == (
            str(payer.membership_id),
            str(payee.membership_id),
        )
        after = _books(engine, town)
        assert after["balances"][payer.account_id] == before["balances"][payer.account_id] - 45
        assert after["balances"][payee.account_id] == before["balances"][payee.account_id] + 45
        assert sum(after["balances"].values()) == 0
        assert (after["transactions"], after["entries"], after["exchanges"], after["sequence"]) == (
            before["transactions"] + 1,
            before["entries"] + 2,
            before["exchanges"] + 1,
            before["sequence"] + 1,
        )
        with sa.orm.Session(engine) as session:
            report = ledger.verify(session, ledger_id=town.ledger_id)
            assert report.ok, report.summary()
            transaction = session.execute(
                sa.select(transaction_table).where(transaction_table.c.id == int(body["transaction_id"]))
            ).one()
            command = ledger.transfer(
                ledger_id=town.ledger_id,
                debit_account_id=payer.account_id,
                credit_account_id=payee.account_id,
                amount=45,
                kind="exchange",
                memo="boodschappen",
                actor=payer.label,
                details={
                    "via": "payment",
                    "helper_membership_id": payee.membership_id,
                    "helped_membership_id": payer.membership_id,
                    "category_id": None,
                },
                idempotency_scope=payer.label,
                idempotency_key="floor-1",
            )
            assert transaction.request_fingerprint == command.fingerprint()
            assert (transaction.state, transaction.actor) == ("posted", payer.label)
            entries = session.execute(
                sa.select(entry_table.c.account_id, entry_table.c.amount, entry_table.c.balance_after)
                .where(entry_table.c.transaction_id == transaction.id)
                .order_by(entry_table.c.id)
            ).all()
            assert [tuple(entry) for entry in entries] == [
                (payer.account_id, -45, after["balances"][payer.account_id]),
                (payee.account_id, 45, after["balances"][payee.account_id]),
            ]
            exchange = session.get(Exchange, int(body["id"]))
            found = (exchange.status, exchange.ledger_transaction_id, exchange.minutes)
            assert found == ("confirmed", transaction.id, 45)
            events = session.execute(sa.select(ExchangeEvent.kind).where(ExchangeEvent.exchange_id == exchange.id))
            assert events.scalars().all() == ["paid"]
            record = session.execute(
                sa.select(IdempotencyRecord).where(IdempotencyRecord.key == "floor-1")
            ).scalar_one()
            assert (record.caller, record.state, record.response_status) == (payer.label, "done", 201)
            assert record.response_body == answer.get_data(as_text=True)

        replayed = _pay(client, town, payer, payee, 45, "floor-1")
        assert replayed.status_code == 201 and replayed.headers["Idempotent-Replayed"] == "true"
        assert replayed.get_data() == answer.get_data()
        assert _books(engine, town) == after
        reused = _pay(client, town, payer, payee, 30, "floor-1")
        assert reused.status_code == 422 and reused.get_json()["code"] == "idempotency_key_reused"

        # The payer has WELCOME - 45 minutes; the floor is FLOOR: one more than that is refused.
        too_much = min(720, WELCOME - 45 - FLOOR + 1)
        assert after["balances"][payer.account_id] - too_much < FLOOR
        refused = _pay(client, town, payer, payee, too_much, "floor-2")
        assert refused.status_code == 422, refused.get_data(as_text=True)
        assert refused.get_json()["code"] == "balance_below_floor"
        assert _books(engine, town) == after
        again = _pay(client, town, payer, payee, too_much, "floor-2")
        assert again.status_code == 422 and again.headers["Idempotent-Replayed"] == "true"
        assert json.loads(again.get_data()) == refused.get_json()

        wrong = client.post(
            f"/api/v1/communities/{town.community_id}/payments",
            json={"payee_membership_id": str(payee.membership_id), "minutes": 5},
            headers={"Authorization": f"Bearer {payer.token[:-2]}xx", "Idempotency-Key": "floor-3"},
        )
        assert wrong.status_code == 401
        with sa.orm.Session(engine) as session:
            report = ledger.verify(session, ledger_id=town.ledger_id)
            assert report.ok, report.summary()
    finally:
        engine.dispose()


def test_the_flask_floor_checks_the_token_before_the_body_and_logs_each_request(town_url, caplog):
    town, url = town_url
    served = Served("flask", url)
    client = Client(served.wsgi)
    payer, payee = town.members[0], town.members[1]
    path = f"/api/v1/communities/{town.community_id}/payments"
    try:
        with caplog.at_level("INFO", logger="timebank.request"):
            paid = _pay(client, town, payer, payee, 10, "flask-1")
            assert paid.status_code == 201 and paid.headers["X-Request-Id"]
            wrong_field = client.post(
                path,
                json={"payee_membership_id": str(payee.membership_id), "minutes": 5, "balance": 1},
                headers={"Authorization": f"Bearer {payer.token}", "Idempotency-Key": "flask-2"},
            )
            assert wrong_field.status_code == 422 and wrong_field.get_json()["code"] == "validation_failed"
            not_an_id = client.post(
                path,
                json={"payee_membership_id": payee.membership_id, "minutes": 5},
                headers={"Authorization": f"Bearer {payer.token}", "Idempotency-Key": "flask-3"},
            )
            assert not_an_id.status_code == 422
            # No token: 401 whatever the body; a token but no key: 400.
            anonymous = client.post(path, json={"minutes": "x"}, headers={"Idempotency-Key": "flask-4"})
            assert anonymous.status_code == 401 and anonymous.mimetype == "application/problem+json"
            keyless = client.post(path, json={"minutes": "x"}, headers={"Authorization": f"Bearer {payer.token}"})
            assert keyless.status_code == 400 and keyless.get_json()["code"] == "idempotency_key_missing"
        lines = [record for record in caplog.records if record.name == "timebank.request"]
        assert [(record.method, record.path, record.status) for record in lines] == [
            ("POST", path, status) for status in (201, 422, 422, 401, 400)
        ]
    finally:
        served.close()
