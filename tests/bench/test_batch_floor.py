"""bench/batch_floor.py, the floor of ``post_batch_pg`` (PostgreSQL alone making a batch's writes), on a town of 10
members: one batch of 20 transfers moves the balances as the app's batch would (every account's balance and entry
count are its entries', the ledger sums to zero), the chain verifies, and every row the app's batch writes is there
and looks like the app's (the same batch through the real endpoint first, compared row by row); a replayed request
key moves nothing; an item over the floor is refused as the app refuses it."""

from __future__ import annotations

import json
import random
import secrets
import uuid
from collections import Counter

import orjson
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

import ledger
from bench.batch_floor import BatchFloor, BatchRequest, post_batch
from bench.town import build_town
from ledger.models import account_table, entry_table, ledger_table, transaction_table
from tests.conftest import fresh_database_url
from timebank import schema
from timebank.app import create_app
from timebank.models import AuditEntry, Exchange, ExchangeEvent, IdempotencyRecord

TRANSFERS = 20


@pytest.fixture
def town_url(tmp_path):
    url, drop = fresh_database_url("postgresql", tmp_path)
    schema.upgrade(url)
    try:
        yield build_town(url, 10), url
    finally:
        drop()


def _batch(town) -> dict:
    """20 transfers among the first nine members, and one (the last) that takes the tenth below its floor."""
    rng = random.Random(11)
    transfers = []
    for _ in range(TRANSFERS - 1):
        payer, payee = rng.sample(town.members[:9], 2)
        transfers.append(
            {
                "payer_membership_id": str(payer.membership_id),
                "payee_membership_id": str(payee.membership_id),
                "minutes": rng.choice((5, 10, 15, 20, 30, 45, 60)),
                "description": "tuinieren",
            }
        )
    transfers.append(
        {
            "payer_membership_id": str(town.members[9].membership_id),
            "payee_membership_id": str(town.members[0].membership_id),
            "minutes": 720,
            "description": "te veel",
        }
    )
    return {"atomic": False, "transfers": transfers}


def _books(connection, town) -> dict:
    """The ledger's accounts (balance, entry count) and how many rows of each kind the community has."""
    accounts = {
        row.id: (row.balance, row.entry_count)
        for row in connection.execute(sa.select(account_table).where(account_table.c.ledger_id == town.ledger_id))
    }
    count = lambda table, where: connection.execute(sa.select(sa.func.count()).select_from(table).where(where))  # noqa: E731
    return {
        "accounts": accounts,
        "transactions": count(transaction_table, transaction_table.c.ledger_id == town.ledger_id).scalar_one(),
        "entries": count(entry_table, entry_table.c.ledger_id == town.ledger_id).scalar_one(),
        "exchanges": count(Exchange.__table__, Exchange.community_id == town.community_id).scalar_one(),
        "events": count(ExchangeEvent.__table__, ExchangeEvent.community_id == town.community_id).scalar_one(),
        "audit": count(AuditEntry.__table__, AuditEntry.action == "transfers.batch_posted").scalar_one(),
        "keys": count(IdempotencyRecord.__table__, IdempotencyRecord.state == "done").scalar_one(),
    }


def _rows(connection, answer: dict) -> list[dict]:
    """Each posted item's transaction, entries, exchange and events, without what differs between two postings of
    the same item (ids, moments, the chain's place, the request's key and the balances it found)."""
    rows = []
    for result in answer["results"]:
        if result["status"] != "posted":
            rows.append({"index": result["index"], "problem": result["problem"]["code"]})
            continue
        transaction = connection.execute(
            sa.select(transaction_table).where(transaction_table.c.id == int(result["transaction_id"]))
        ).one()
        entries = connection.execute(
            sa.select(entry_table.c.account_id, entry_table.c.amount)
            .where(entry_table.c.transaction_id == transaction.id)
            .order_by(entry_table.c.id)
        ).all()
        exchange = connection.execute(
            sa.select(Exchange.__table__).where(Exchange.id == int(result["exchange_id"]))
        ).one()
        events = connection.execute(
            sa.select(ExchangeEvent.__table__).where(ExchangeEvent.exchange_id == exchange.id)
        ).all()
        assert exchange.ledger_transaction_id == transaction.id
        assert transaction.created_at == transaction.posted_at == exchange.confirmed_at
        drop = {"id", "sequence", "created_at", "posted_at", "previous_hash", "hash", "idempotency_key"}
        rows.append(
            {
                "index": result["index"],
                "transaction": {name: value for name, value in transaction._asdict().items() if name not in drop},
                "entries": [tuple(entry) for entry in entries],
                "exchange": {
                    name: value
                    for name, value in exchange._asdict().items()
                    if name not in {"id", "ledger_transaction_id", "created_at", "recorded_at", "confirmed_at"}
                    and name != "updated_at"
                },
                "events": [
                    {name: value for name, value in event._asdict().items() if name not in {"id", "exchange_id", "at"}}
                    for event in events
                ],
            }
        )
    return rows


@pytest.mark.postgresql
def test_a_floor_batch_writes_what_the_app_writes(town_url, tmp_path):
    town, url = town_url
    engine = ledger.create_engine(url)
    body = _batch(town)
    path = f"/api/v1/communities/{town.community_id}/transfers/batch"
    app = create_app(
        {
            "ENV": "production",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DATABASE_URL": url,
            "INSTANCE_PATH": str(tmp_path),
        }
    )
    floor = BatchFloor(url)
    try:
        # The same batch through the app, then through the floor.
        response = app.test_client().post(
            path,
            json=body,
            headers={"Authorization": f"Bearer {town.coordinator.token}", "Idempotency-Key": uuid.uuid4().hex},
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        by_app = response.get_json()
        with engine.connect() as connection:
            before = _books(connection, town)
        request = BatchRequest(path, town.coordinator.token, uuid.uuid4().hex, orjson.dumps(body))
        answer = post_batch(floor, request)
        assert answer.status == 200, answer.body
        by_floor = json.loads(answer.body)
        assert answer.body.endswith("}\n")
        assert (by_floor["posted_count"], by_floor["refused_count"]) == (TRANSFERS - 1, 1) == (answer.posted, 1)
        assert (by_app["posted_count"], by_app["refused_count"]) == (TRANSFERS - 1, 1)
        refused = by_floor["results"][-1]
        assert refused["problem"] | {"request_id": None} == by_app["results"][-1]["problem"] | {"request_id": None}

        with engine.connect() as connection:
            after = _books(connection, town)
            # Every write: one transaction, two entries, one exchange and its event per posted transfer, one audit
            # entry, the request's key finished with the answer, the ledger's head at the last transaction.
            posted = TRANSFERS - 1
            assert after["transactions"] - before["transactions"] == posted
            assert after["entries"] - before["entries"] == 2 * posted
            assert after["exchanges"] - before["exchanges"] == posted
            assert after["events"] - before["events"] == posted
            assert after["audit"] - before["audit"] == 1
            assert after["keys"] - before["keys"] == 1
            stored = connection.execute(
                sa.select(IdempotencyRecord.__table__).where(IdempotencyRecord.key == request.key)
            ).one()
            assert (stored.caller, stored.state, stored.response_status) == (town.coordinator.label, "done", 200)
            assert stored.response_body == answer.body
            audit = connection.execute(
                sa.select(AuditEntry.details).order_by(AuditEntry.id.desc()).limit(1)
            ).scalar_one()
            assert audit["posted_count"] == posted and audit["refused_count"] == 1 and audit["atomic"] is False
            assert audit["transaction_ids"] == [int(item["transaction_id"]) for item in by_floor["results"][:-1]]
            assert audit["minutes"] == sum(transfer["minutes"] for transfer in body["transfers"][:-1])
            head = connection.execute(sa.select(ledger_table).where(ledger_table.c.id == town.ledger_id)).one()
            last = connection.execute(
                sa.select(transaction_table.c.sequence, transaction_table.c.hash).where(
                    transaction_table.c.id == int(by_floor["results"][-2]["transaction_id"])
                )
            ).one()
            assert (head.last_sequence, head.head_hash) == tuple(last)

            # The balances moved as the transfers say, each account's figures are its entries', the ledger sums to 0.
            accounts = {member.membership_id: member.account_id for member in town.members}
            moved = Counter()
            for transfer in body["transfers"][:-1]:
                moved[accounts[int(transfer["payer_membership_id"])]] -= transfer["minutes"]
                moved[accounts[int(transfer["payee_membership_id"])]] += transfer["minutes"]
            counted = Counter()
            for transfer in body["transfers"][:-1]:
                counted[accounts[int(transfer["payer_membership_id"])]] += 1
                counted[accounts[int(transfer["payee_membership_id"])]] += 1
            for account_id, (balance, entry_count) in after["accounts"].items():
                old_balance, old_count = before["accounts"][account_id]
                assert (balance - old_balance, entry_count - old_count) == (moved[account_id], counted[account_id])
            sums = dict(
                connection.execute(
                    sa.select(entry_table.c.account_id, sa.func.sum(entry_table.c.amount))
                    .where(entry_table.c.ledger_id == town.ledger_id)
                    .group_by(entry_table.c.account_id)
                ).all()
            )
            assert all(sums.get(account_id, 0) == balance for account_id, (balance, _) in after["accounts"].items())
            assert sum(balance for balance, _ in after["accounts"].values()) == 0

            # The rows look like the app's for the same items.
            assert _rows(connection, by_floor) == _rows(connection, by_app)
            # The fingerprints and hashes are the ledger's own (the verification recomputes every hash).
            fingerprints = connection.execute(
                sa.select(transaction_table.c.request_fingerprint, transaction_table.c.idempotency_scope).where(
                    transaction_table.c.idempotency_key == request.key
                )
            ).all()
            assert len(fingerprints) == posted
        with Session(engine) as session:
            report = ledger.verify(session)
        assert report.ok, report.summary()

        # The same request again answers the stored answer and moves nothing.
        again = post_batch(floor, request)
        assert (again.status, again.body) == (200, answer.body)
        with engine.connect() as connection:
            assert _books(connection, town) == after
    finally:
        floor.close()
        engine.dispose()
        app.extensions["timebank"].engine.dispose()


def test_the_floor_fingerprint_is_the_ledgers():
    """The floor writes PostTransaction.fingerprint's text from a template."""
    from bench.batch_floor import FINGERPRINT

    details = {"via": "batch", "helper_membership_id": 7, "helped_membership_id": 3, "category_id": None}
    for memo in ("b", 'een "zin" met é'):
        command = ledger.transfer(
            ledger_id=4,
            debit_account_id=12,
            credit_account_id=9,
            amount=30,
            kind="exchange",
            memo=memo,
            details=details,
            actor="user:2",
            idempotency_scope="user:2:batch:0",
            idempotency_key="k",
        )
        made = FINGERPRINT.format(ledger=4, entries="[[9,30],[12,-30]]", memo=json.dumps(memo), helped=3, helper=7)
        assert made == command.fingerprint()
