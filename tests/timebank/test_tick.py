"""``timebank tick``: every periodic job, once per run, and nothing twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

import ledger
from ledger.database import create_engine
from tests.world import START, build_world
from timebank import exchanges, listings, payments
from timebank.database import Database
from timebank.models import Exchange, Listing, OutboxMessage
from timebank.tick import run_tick


class RecordingTransport:
    def __init__(self):
        self.sent = []

    def send(self, email) -> None:
        self.sent.append(email)


@pytest.fixture
def quiet_world(fresh_database):
    """A world in a database of its own, so that tick sees only this test's data."""
    engine = create_engine(fresh_database)
    database = Database(engine)
    yield build_world(database)
    engine.dispose()


def recorded_exchange(world, *, minutes=90):
    """Ans asks for help with errands; Bert helps and records the minutes."""
    db = world.db
    listing = db.run(
        listings.post_listing,
        actor=world.ans.actor,
        community_id=world.community_id,
        kind="request",
        title="Boodschappen",
        category_id=world.categories["boodschappen"],
        estimated_minutes=60,
        now=START,
    )
    exchange = db.run(exchanges.respond_to_listing, actor=world.bert.actor, listing_id=listing.id, now=START)
    db.run(exchanges.agree_exchange, actor=world.ans.actor, exchange_id=exchange.id, now=START)
    return db.run(payments.record_minutes, actor=world.bert.actor, exchange_id=exchange.id, minutes=minutes, now=START)


def test_a_claim_is_reminded_once_the_day_before_and_confirms_itself_after_seven_days(quiet_world):
    world, transport = quiet_world, RecordingTransport()
    exchange = recorded_exchange(world)
    early = run_tick(world.db, transport=transport, now=START + timedelta(days=5))
    assert (early.exchanges_confirmed, early.reminders_queued) == (0, 0)
    day_before = run_tick(world.db, transport=transport, now=START + timedelta(days=6, hours=1))
    assert (day_before.exchanges_confirmed, day_before.reminders_queued) == (0, 1)
    again = run_tick(world.db, transport=transport, now=START + timedelta(days=6, hours=2))
    assert again.reminders_queued == 0
    due = run_tick(world.db, transport=transport, now=START + timedelta(days=7))
    assert due.exchanges_confirmed == 1
    assert run_tick(world.db, transport=transport, now=START + timedelta(days=8)).exchanges_confirmed == 0
    stored = world.db.read(lambda *, session: session.get(Exchange, exchange.id))
    assert stored.status == "confirmed"
    balances = world.db.read(
        lambda *, session: [ledger.get_account(session, p.account_id).balance for p in (world.ans, world.bert)]
    )
    assert balances == [120 - 90, 120 + 90]
    subjects = [email.subject for email in transport.sent]
    assert any("morgen" in subject.lower() or "tomorrow" in subject.lower() for subject in subjects)


def test_tick_expires_listings_and_ledger_holds_and_delivers_each_message_once(quiet_world):
    world, transport = quiet_world, RecordingTransport()
    listing = world.db.run(
        listings.post_listing,
        actor=world.cor.actor,
        community_id=world.community_id,
        kind="offer",
        title="Fietsen maken",
        category_id=world.categories["klussen"],
        estimated_minutes=60,
        expires_at=START + timedelta(days=2),
        now=START,
    )

    def hold(*, session):
        command = ledger.transfer(
            ledger_id=world.community.ledger_id,
            debit_account_id=world.ans.account_id,
            credit_account_id=world.cor.account_id,
            amount=30,
            pending=True,
            expires_at=START + timedelta(days=1),
        )
        posting = ledger.post(session, command, now=START)
        session.commit()
        return posting

    held = world.db.run(hold)
    queued = world.db.read(lambda *, session: session.execute(sa.select(sa.func.count(OutboxMessage.id))).scalar_one())
    report = run_tick(world.db, transport=transport, now=START + timedelta(days=3))
    assert (report.listings_expired, report.holds_expired) == (1, 1)
    assert report.delivery.messages_sent == queued
    assert world.db.read(lambda *, session: session.get(Listing, listing.id)).status == "expired"
    assert world.db.read(lambda *, session: ledger.load_posting(session, held.id)).state == "voided"
    sent = len(transport.sent)
    second = run_tick(world.db, transport=transport, now=START + timedelta(days=3, minutes=5))
    assert (second.listings_expired, second.holds_expired, second.delivery.messages_sent) == (0, 0, 0)
    assert len(transport.sent) == sent


def test_idempotency_keys_are_kept_two_days_then_forgotten(quiet_world):
    from timebank.models import IdempotencyRecord
    from timebank.tick import forget_idempotency_keys

    def add(*, session):
        for key, age in (("old", timedelta(hours=49)), ("recent", timedelta(hours=25))):
            session.add(
                IdempotencyRecord(
                    caller="user:1",
                    key=key,
                    method="POST",
                    path="/api/v1/x",
                    request_hash="0" * 64,
                    created_at=START - age,
                )
            )
        session.commit()

    quiet_world.db.run(add)
    assert quiet_world.db.run(forget_idempotency_keys, now=START) == 1
    left = quiet_world.db.read(lambda *, session: session.execute(sa.select(IdempotencyRecord.key)).scalars().all())
    assert left == ["recent"]
