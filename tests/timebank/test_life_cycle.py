"""End to end through the use cases: two exchanges from a request to credits, one disputed and settled by a
coordinator, one confirmed by the tick after the community's days; then the statement, the funder report and
the books agree."""

from __future__ import annotations

from datetime import timedelta

import pytest

import ledger
from ledger.database import create_engine
from tests.world import START, build_world
from timebank import exchanges, listings, payments, reports
from timebank.database import Database
from timebank.tick import run_tick


class NoMail:
    def send(self, email) -> None:
        pass


@pytest.fixture
def quiet_world(fresh_database):
    engine = create_engine(fresh_database)
    yield build_world(Database(engine))
    engine.dispose()


def agreed_exchange(world, *, requester, helper, category, at):
    listing = world.db.run(
        listings.post_listing,
        actor=requester.actor,
        community_id=world.community_id,
        kind="request",
        title="Hulp gevraagd",
        category_id=world.categories[category],
        estimated_minutes=60,
        now=at,
    )
    exchange = world.db.run(exchanges.respond_to_listing, actor=helper.actor, listing_id=listing.id, now=at)
    return world.db.run(exchanges.agree_exchange, actor=requester.actor, exchange_id=exchange.id, now=at)


def balance(world, person):
    return world.db.read(lambda *, session: ledger.get_account(session, person.account_id).balance)


def test_two_exchanges_from_request_to_credits_with_a_dispute_and_an_auto_confirmation(quiet_world):
    world, db = quiet_world, quiet_world.db
    first = agreed_exchange(world, requester=world.ans, helper=world.bert, category="klussen", at=START)
    db.run(payments.record_minutes, actor=world.bert.actor, exchange_id=first.id, minutes=150, now=START)
    db.run(
        payments.dispute_exchange,
        actor=world.ans.actor,
        exchange_id=first.id,
        reason="het was een uur",
        now=START + timedelta(hours=2),
    )
    assert run_tick(db, transport=NoMail(), now=START + timedelta(days=30)).exchanges_confirmed == 0
    settled = db.run(
        payments.settle_dispute,
        actor=world.coordinator.actor,
        exchange_id=first.id,
        outcome="change",
        minutes=60,
        reason="beiden akkoord na telefoontje",
        now=START + timedelta(days=1),
    )
    assert (settled.status, settled.minutes) == ("confirmed", 60)

    second = agreed_exchange(
        world, requester=world.cor, helper=world.ans, category="boodschappen", at=START + timedelta(days=2)
    )
    db.run(
        payments.record_minutes, actor=world.ans.actor, exchange_id=second.id, minutes=45, now=START + timedelta(days=2)
    )
    assert run_tick(db, transport=NoMail(), now=START + timedelta(days=8)).exchanges_confirmed == 0
    assert run_tick(db, transport=NoMail(), now=START + timedelta(days=9)).exchanges_confirmed == 1
    db.run(
        exchanges.thank_helper,
        actor=world.cor.actor,
        exchange_id=second.id,
        text="Dank je wel, Ans!",
        now=START + timedelta(days=9),
    )

    assert [balance(world, person) for person in (world.ans, world.bert, world.cor)] == [120 - 60 + 45, 180, 75]
    statement = db.read(
        reports.member_statement,
        actor=world.ans.actor,
        membership_id=world.ans.id,
        start=START - timedelta(days=1),
        end=START + timedelta(days=10),
    )
    assert [line.amount_minutes for line in statement.lines] == [120, -60, 45]
    assert statement.closing_balance_minutes == 105
    report = db.read(
        reports.funder_report,
        actor=world.coordinator.actor,
        community_id=world.community_id,
        start=START - timedelta(days=1),
        end=START + timedelta(days=10),
    )
    assert (report.total_exchanges, report.total_minutes, report.helper_helped_pairs) == (2, 105, 2)
    verification = db.read(lambda *, session: ledger.verify(session))
    assert verification.ok, verification.summary()
